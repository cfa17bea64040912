"""Bad sizes, shapes and choices for layers, initialisers and functional: each a named error.

Every case asserts the exception type and that the message names the function, the argument
and the rule ("<where>: <name> must be <rule>, got <value>", from `gradcourse.validation`).
"""
import math

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import init, nn
from gradcourse.autograd import ShapeError

NAN, INF = float("nan"), float("inf")


def w(*shape):
    return gc.tensor(np.zeros(shape), requires_grad=True)


def ones(*shape):
    return np.ones(shape)


CASES = [
    # ----- layers
    ("Linear bool", lambda: nn.Linear(True, 2),
     TypeError, "Linear: in_features must be a positive integer, got True"),
    ("Linear float", lambda: nn.Linear(2.0, 3), TypeError, "Linear: in_features must be a positive integer"),
    ("Linear zero", lambda: nn.Linear(3, 0), ValueError, "Linear: out_features must be a positive integer, got 0"),
    ("Linear negative", lambda: nn.Linear(-1, 2), ValueError, "Linear: in_features must be a positive integer"),
    ("Linear init name", lambda: nn.Linear(3, 2, init="he"),
     ValueError, "Linear: init must be None, a function fn\\(W\\) or a scheme name, one of 'default'"),
    ("Linear init kind", lambda: nn.Linear(3, 2, init=3), TypeError, "Linear: init must be .* scheme name"),
    ("MLP init name", lambda: nn.MLP(2, 3, 1, 1, init="he"), ValueError, "MLP: init must be"),
    ("reset_parameters init", lambda: nn.Linear(2, 2).reset_parameters("he"), ValueError,
     "Linear.reset_parameters: init must be"),
    ("Linear bias flag", lambda: nn.Linear(2, 2, bias="no"), TypeError, "Linear: bias must be True or False"),
    ("MLP residual flag", lambda: nn.MLP(2, 3, 1, 1, residual=1), TypeError, "MLP: residual must be True or False"),
    ("MLP zero_init_residual flag", lambda: nn.MLP(2, 3, 1, 1, residual=True, zero_init_residual="yes"),
     TypeError, "MLP: zero_init_residual must be True or False"),
    ("train mode string (torch ValueError)", lambda: nn.Linear(2, 2).train("no"), ValueError,
     "Linear.train: mode must be True or False \\(training mode is expected to be boolean"),
    ("train mode int", lambda: nn.Linear(2, 2).train(1), ValueError, "mode must be True or False"),
    ("zero_grad flag", lambda: nn.Linear(2, 2).zero_grad("no"), TypeError,
     "Linear.zero_grad: set_to_none must be True or False"),
    ("load_state_dict strict flag", lambda: nn.Linear(2, 2).load_state_dict(nn.Linear(2, 2).state_dict(), strict="no"),
     TypeError, "load_state_dict: strict must be True or False"),
    ("Sequential.append non-module (torch TypeError)", lambda: nn.Sequential(nn.Linear(2, 2)).append(5), TypeError,
     r"Sequential.append: module must be an nn.Module \(a layer or a network"),
    ("Sequential index kind", lambda: nn.Sequential(nn.Linear(2, 2))["0"], TypeError,
     "Sequential: index must be an integer or a slice"),
    ("Sequential index range", lambda: nn.Sequential(nn.Linear(2, 2))[3], IndexError, "Sequential: index must be in"),
    ("forward hook not callable", lambda: nn.Linear(2, 2).register_forward_hook(5), TypeError,
     "register_forward_hook: hook must be a function"),
    ("LSTM state not a pair", lambda: nn.LSTM(2, 3)(np.zeros((1, 2, 2)), np.zeros((1, 3))), TypeError,
     "LSTM: state must be None or a pair"),
    ("norm_module features", lambda: nn.norm_module("layer", 0), ValueError, "norm_module: features must be"),
    ("RNN zero hidden", lambda: nn.RNN(3, 0), ValueError, "RNN: hidden_size must be a positive integer, got 0"),
    ("RNN zero input", lambda: nn.RNN(0, 3), ValueError, "RNN: input_size must be a positive integer"),
    ("RNN nonlinearity", lambda: nn.RNN(3, 2, nonlinearity="sigmoid"), ValueError,
     "RNN: nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"),
    ("LSTM negative hidden", lambda: nn.LSTM(3, -2),
     ValueError, "LSTM: hidden_size must be a positive integer, got -2"),
    ("LSTM forget_bias", lambda: nn.LSTM(3, 2, forget_bias="1"),
     TypeError, "LSTM: forget_bias must be a finite number"),
    ("LayerNorm zero", lambda: nn.LayerNorm(0), ValueError, "LayerNorm: normalized_shape must be a positive integer"),
    ("LayerNorm float", lambda: nn.LayerNorm(2.5),
     TypeError, "LayerNorm: normalized_shape must be a positive integer"),
    ("LayerNorm empty", lambda: nn.LayerNorm(()), ValueError, r"LayerNorm: normalized_shape must be .*, got \(\)"),
    ("LayerNorm axis 0", lambda: nn.LayerNorm((3, 0)),
     ValueError, "LayerNorm: normalized_shape must be a positive integer, got 0"),
    ("LayerNorm eps", lambda: nn.LayerNorm(3, eps=0), ValueError, "LayerNorm: eps must be a number > 0, got 0"),
    ("BatchNorm1d features", lambda: nn.BatchNorm1d(0),
     ValueError, "BatchNorm1d: num_features must be a positive integer"),
    ("BatchNorm1d eps", lambda: nn.BatchNorm1d(3, eps=-1e-5), ValueError, "BatchNorm1d: eps must be a number > 0"),
    ("BatchNorm1d momentum > 1", lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError,
     r"BatchNorm1d: momentum must be a number in \[0, 1\], got 1.5"),
    ("BatchNorm1d momentum nan", lambda: nn.BatchNorm1d(3, momentum=NAN),
     ValueError, "BatchNorm1d: momentum must be"),
    ("BatchNorm1d momentum str", lambda: nn.BatchNorm1d(3, momentum="0.1"),
     TypeError, "BatchNorm1d: momentum must be"),
    ("LeakyReLU str", lambda: nn.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope must be a finite number"),
    ("LeakyReLU nan", lambda: nn.LeakyReLU(NAN), ValueError, "LeakyReLU: negative_slope must be a finite number"),
    ("GELU approximate", lambda: nn.GELU("erf"),
     ValueError, "GELU: approximate must be one of 'none', 'tanh', got 'erf'"),
    ("Residual scale str", lambda: nn.Residual(nn.Identity(), scale="2"),
     TypeError, "Residual: scale must be a finite number"),
    ("Residual scale inf", lambda: nn.Residual(nn.Identity(), scale=INF),
     ValueError, "Residual: scale must be a finite number"),
    ("Sequential non-module", lambda: nn.Sequential(nn.Linear(3, 2), np.tanh),
     TypeError, r"Sequential: modules\[1\] must be an nn.Module .*got <ufunc 'tanh'>"),
    ("Residual block", lambda: nn.Residual(lambda x: x), TypeError, "Residual: block must be an nn.Module"),
    ("MLP in_features", lambda: nn.MLP(0, 4, 2, 1), ValueError, "MLP: in_features must be a positive integer, got 0"),
    ("MLP hidden", lambda: nn.MLP(3, -4, 2, 1), ValueError, "MLP: hidden must be a positive integer, got -4"),
    ("MLP out_features", lambda: nn.MLP(3, 4, True, 1),
     TypeError, "MLP: out_features must be a positive integer, got True"),
    ("MLP num_blocks float", lambda: nn.MLP(3, 4, 2, 1.5),
     TypeError, "MLP: num_blocks must be a non-negative integer"),
    ("MLP activation", lambda: nn.MLP(3, 4, 2, 1, activation="swish"), ValueError,
     "MLP: activation must be one of 'sigmoid', 'tanh', 'relu'.*got 'swish'"),
    ("MLP branch_scale", lambda: nn.MLP(3, 4, 2, 1, residual=True, branch_scale=NAN), ValueError,
     "MLP: branch_scale must be a finite number"),
    ("activation_module", lambda: nn.activation_module("swish"),
     ValueError, "activation_module: activation must be one of"),
    ("norm_module", lambda: nn.norm_module("group", 3),
     ValueError, "norm_module: norm must be one of 'layer', 'batch'"),
    # ----- initialisers
    ("orthogonal_ empty", lambda: init.orthogonal_(w(0, 3)), ValueError,
     r"orthogonal_: tensor.shape must be .*none of size 0.*got \(0, 3\)"),
    ("orthogonal_ 1-D", lambda: init.orthogonal_(w(4)),
     ValueError, r"orthogonal_: tensor.shape must be .*2 dimensions.*got \(4,\)"),
    ("orthogonal_ gain", lambda: init.orthogonal_(w(3, 3), gain="2"),
     TypeError, "orthogonal_: gain must be a finite number"),
    ("xavier gain negative", lambda: init.xavier_uniform_(w(3, 3), gain=-1),
     ValueError, "xavier_uniform_: gain must be a number >= 0"),
    ("xavier gain nan", lambda: init.xavier_normal_(w(3, 3), gain=NAN), ValueError, "xavier_normal_: gain must be"),
    ("kaiming empty", lambda: init.kaiming_normal_(w(3, 0)),
     ValueError, r"kaiming_normal_: tensor.shape must be .*got \(3, 0\)"),
    ("kaiming 1-D", lambda: init.kaiming_uniform_(w(5)), ValueError, r"kaiming_uniform_: tensor.shape must be"),
    ("kaiming mode", lambda: init.kaiming_uniform_(w(3, 3), mode="fan_avg"),
     ValueError, "kaiming_uniform_: mode must be one of"),
    ("fan of 0-d", lambda: init.calculate_fan_in_and_fan_out(w()), ValueError,
     r"calculate_fan_in_and_fan_out: tensor.shape must be .*got \(\)"),
    ("uniform_ a > b", lambda: init.uniform_(w(3), 2.0, 1.0),
     ValueError, "uniform_: b must be a number >= a = 2, got 1.0"),
    ("uniform_ nan", lambda: init.uniform_(w(3), NAN, 1.0), ValueError, "uniform_: a must be a finite number"),
    ("normal_ std < 0", lambda: init.normal_(w(3), std=-1.0),
     ValueError, "normal_: std must be a number >= 0, got -1.0"),
    ("normal_ mean inf", lambda: init.normal_(w(3), mean=INF), ValueError, "normal_: mean must be a finite number"),
    ("constant_ str", lambda: init.constant_(w(3), "1"), TypeError, "constant_: val must be a finite number"),
    ("fill an array", lambda: init.zeros_(np.ones(3)), TypeError, "zeros_: tensor must be a Tensor"),
    ("gain unknown", lambda: init.calculate_gain("swish"),
     ValueError, "calculate_gain: nonlinearity must be one of .*got 'swish'"),
    ("gain param nan", lambda: init.calculate_gain("leaky_relu", NAN),
     ValueError, "calculate_gain: param must be a finite number"),
    # ----- functional
    ("mse_loss empty", lambda: F.mse_loss(ones(0), ones(0)),
     ShapeError, r"mse_loss: pred must be a non-empty shape.*got \(0,\)"),
    ("cross_entropy no batch", lambda: F.cross_entropy(ones(0, 3), np.zeros(0, dtype=int)), ShapeError,
     r"cross_entropy: logits must be a non-empty shape.*got \(0, 3\)"),
    ("cross_entropy no class", lambda: F.cross_entropy(ones(2, 0), np.zeros(2, dtype=int)), ShapeError,
     r"cross_entropy: logits must be a non-empty shape.*got \(2, 0\)"),
    ("cross_entropy str targets", lambda: F.cross_entropy(ones(2, 3), np.array(["0", "1"])), TypeError,
     "cross_entropy: targets must be integers or floats"),
    ("cross_entropy bool targets", lambda: F.cross_entropy(ones(2, 3), np.array([True, False])), TypeError,
     "cross_entropy: targets must be integers or floats"),
    ("bce empty", lambda: F.binary_cross_entropy_with_logits(ones(0), ones(0)), ShapeError,
     "binary_cross_entropy_with_logits: logits must be a non-empty shape"),
    ("bce target > 1", lambda: F.binary_cross_entropy_with_logits(ones(2), np.array([0.5, 1.5])), ValueError,
     r"binary_cross_entropy_with_logits: targets must be probabilities in \[0, 1\]"),
    ("bce target nan", lambda: F.binary_cross_entropy_with_logits(ones(2), np.array([0.5, NAN])), ValueError,
     r"targets must be probabilities in \[0, 1\]"),
    ("bce str targets", lambda: F.binary_cross_entropy_with_logits(ones(2), ["0", "1"]), TypeError,
     "binary_cross_entropy_with_logits: targets must be integers or floats"),
    ("softmax axis 2", lambda: F.softmax(ones(2, 3), axis=2), IndexError,
     r"^softmax: axis 2 is out of range for a 2-D tensor"),
    ("log_softmax axis -3", lambda: F.log_softmax(ones(2, 3), axis=-3),
     ValueError, r"log_softmax: axis -3 is out of range"),
    ("log_softmax axis float", lambda: F.log_softmax(ones(2, 3), axis=1.0),
     TypeError, "log_softmax: axis must be an integer"),
    ("log_softmax 0-d", lambda: F.log_softmax(np.float64(2.0)), ShapeError, "log_softmax: x must be at least 1-D"),
    ("leaky_relu slope", lambda: F.leaky_relu(ones(2), "0.1"),
     TypeError, "leaky_relu: negative_slope must be a finite number"),
    ("gelu approximate", lambda: F.gelu(ones(2), approximate="erf"),
     ValueError, "gelu: approximate must be one of 'none', 'tanh'"),
    ("linear 1-D weight", lambda: F.linear(ones(4, 3), w(3)), ShapeError,
     r"linear: weight must be 2-D, \(in_features, out_features\), got \(3,\)"),
    ("linear 3-D weight", lambda: F.linear(ones(4, 3), w(2, 3, 2)),
     ShapeError, r"linear: weight must be 2-D.*got \(2, 3, 2\)"),
    ("linear batch bias", lambda: F.linear(ones(4, 3), w(3, 2), w(4, 2)), ShapeError,
     r"linear: bias must be of shape \(out_features,\) = \(2,\).*got \(4, 2\)"),
    ("linear (1, out) bias", lambda: F.linear(ones(4, 3), w(3, 2), w(1, 2)),
     ShapeError, r"linear: bias must be .*got \(1, 2\)"),
    ("linear 0-d input", lambda: F.linear(np.float64(1.0), w(3, 2)),
     ShapeError, r"linear: input must be at least 1-D.*got \(\)"),
    ("linear features", lambda: F.linear(ones(5, 4), w(3, 2)),
     ShapeError, r"linear: input must be \(\.\.\., 3\): 3 features .*weight of shape \(3, 2\).*got \(5, 4\)"),
    ("linear_activation features", lambda: F.linear_activation(ones(4, 3), w(2, 2), None, "tanh"),
     ShapeError, r"linear: input must be \(\.\.\., 2\).*got \(4, 3\)"),
    ("mse_loss shapes", lambda: F.mse_loss(ones(5, 1), ones(5)), ShapeError,
     r"mse_loss: target must be of the prediction's shape \(5, 1\) \(reshape .*got \(5,\)"),
    ("cross_entropy 1-D logits", lambda: F.cross_entropy(ones(3), np.zeros(3, dtype=int)), ShapeError,
     r"cross_entropy: logits must be \(batch, classes\), 2-D, got \(3,\)"),
    ("cross_entropy targets shape", lambda: F.cross_entropy(ones(4, 3), np.zeros(3, dtype=int)), ShapeError,
     r"cross_entropy: targets must be \(4,\), one class index per row .*got \(3,\)"),
    ("cross_entropy fractional targets", lambda: F.cross_entropy(ones(2, 3), np.array([0.5, 1.0])), ValueError,
     r"cross_entropy: targets must be integer class indices \(whole numbers\), got array\(\[0\.5, 1\. *\]\)"),
    ("cross_entropy class 3 of 3", lambda: F.cross_entropy(ones(2, 3), np.array([0, 3])), ValueError,
     r"cross_entropy: targets must be class indices in \[0, 2\] for 3 classes, got array\(\[0, 3\]\)"),
    ("bce shapes", lambda: F.binary_cross_entropy_with_logits(ones(4, 1), ones(4)), ShapeError,
     r"binary_cross_entropy_with_logits: targets must be of the logits' shape \(4, 1\), got \(4,\)"),
    ("stack shapes", lambda: F.stack([ones(2), ones(3)]), ShapeError,
     r"stack: the shapes of tensors must be all equal, got \[\(2,\), \(3,\)\]"),
    ("concatenate other axes", lambda: F.concatenate([ones(2, 3), ones(2, 4)], axis=0), ShapeError,
     r"concatenate: the shapes of tensors must be equal on every axis but axis=0, got \[\(2, 3\), \(2, 4\)\]"),
    # ----- layer input shapes (ShapeError, as matmul's)
    ("Linear forward features", lambda: nn.Linear(3, 2)(ones(4, 5)), ShapeError, r"linear: input must be \(\.\.\., 3\)"),
    ("Linear forward strings", lambda: nn.Linear(3, 2)(np.array([["a", "b", "c"]])), TypeError,
     r"linear: x must be an array of real numbers"),
    ("Residual shape", lambda: nn.Residual(nn.Linear(3, 4))(ones(5, 3)), ShapeError,
     r"Residual: block\(x\) must be of the input's shape \(5, 3\) .*got \(5, 4\)"),
    ("Residual strings", lambda: nn.Residual(nn.Identity())("x"), TypeError, "Residual: x must be an array of real numbers"),
    ("LayerNorm features", lambda: nn.LayerNorm(5)(ones(4, 6)), ShapeError,
     r"LayerNorm: x must be \(\.\.\., 5\): normalized_shape on the last axes, got \(4, 6\)"),
    ("LayerNorm strings", lambda: nn.LayerNorm(2)(["a", "b"]), TypeError, "LayerNorm: x must be an array of real numbers"),
    ("BatchNorm1d features", lambda: nn.BatchNorm1d(3)(ones(4, 2)), ShapeError,
     r"BatchNorm1d: x must be \(batch, num_features\) = \(batch, 3\) or \(batch, num_features, length\).*got \(4, 2\)"),
    ("BatchNorm1d 4-D", lambda: nn.BatchNorm1d(3)(ones(4, 3, 2, 2)), ShapeError, r"BatchNorm1d: x must be .*got \(4, 3, 2, 2\)"),
    ("BatchNorm1d batch of one", lambda: nn.BatchNorm1d(3)(ones(1, 3)), ShapeError,
     r"BatchNorm1d: x must be .*more than one value per feature \(batch >= 2.*in training mode.*got \(1, 3\)"),
    ("BatchNorm1d strings", lambda: nn.BatchNorm1d(1)([["a"], ["b"]]), TypeError, "BatchNorm1d: x must be an array"),
    ("RNN sequence", lambda: nn.RNN(3, 2)(ones(4, 5, 2)), ShapeError,
     r"RNN: x must be \(batch, time, input_size\) = \(batch, time, 3\).*got \(4, 5, 2\)"),
    ("RNN empty time", lambda: nn.RNN(3, 2)(ones(4, 0, 3)), ShapeError, r"RNN: x must be .*time >= 1.*got \(4, 0, 3\)"),
    ("RNN strings", lambda: nn.RNN(1, 2)([[["a"]]]), TypeError, "RNN: x must be an array of real numbers"),
    ("RNN h0 shape", lambda: nn.RNN(3, 2)(ones(4, 5, 3), ones(4, 3)), ShapeError,
     r"RNN: h0 must be \(batch, hidden_size\) = \(4, 2\), an initial state.s shape, got \(4, 3\)"),
    ("RNN h0 strings", lambda: nn.RNN(3, 2)(ones(4, 5, 3), "h"), TypeError, "RNN: h0 must be an array of real numbers"),
    ("LSTM c0 shape", lambda: nn.LSTM(3, 2)(ones(4, 5, 3), (ones(4, 2), ones(2))), ShapeError,
     r"LSTM: c0 must be \(batch, hidden_size\) = \(4, 2\), an initial state.s shape, got \(2,\)"),
    ("LSTM sequence", lambda: nn.LSTM(3, 2)(ones(4, 3)), ShapeError, r"LSTM: x must be \(batch, time, input_size\)"),
    # ----- MLP settings that need residual=True
    ("MLP branch_scale plain", lambda: nn.MLP(2, 3, 1, 1, branch_scale=0.5), ValueError,
     r"MLP: branch_scale must be 1.0 unless residual=True .*got 0.5"),
    ("MLP zero_init_residual plain", lambda: nn.MLP(2, 3, 1, 1, zero_init_residual=True), ValueError,
     r"MLP: zero_init_residual must be False unless residual=True .*got True"),
    ("MLP norm kind", lambda: nn.MLP(2, 3, 1, 1, norm=3), TypeError, r"MLP: norm must be one of None, 'none', 'layer', 'batch', got 3"),
    ("MLP norm name", lambda: nn.MLP(2, 3, 1, 1, norm="group"), ValueError, "MLP: norm must be one of None, 'none'"),
    # ----- check_module, the one model check
    ("check_module", lambda: nn.check_module("model", [nn.Linear(2, 2)], "fit"), TypeError,
     r"^fit: model must be an nn.Module \(a layer or a network, e.g. nn.MLP\(\.\.\.\)\), got \[Linear"),
    ("linear_activation bias", lambda: F.linear_activation(w(4, 3), w(3, 2), w(4, 2), "tanh"), ShapeError,
     r"linear: bias must be .*got \(4, 2\)"),
    ("linear_activation name", lambda: F.linear_activation(ones(4, 3), w(3, 2), None, "gelu"), ValueError,
     "linear_activation: activation must be one of 'tanh', 'sigmoid', 'relu', got 'gelu'"),
]


@pytest.mark.parametrize("call, error, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_argument_is_a_named_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_axis_out_of_range_is_both_an_index_error_as_in_pytorch_and_a_value_error():
    with pytest.raises(IndexError):
        F.log_softmax(ones(2, 3), axis=2)
    with pytest.raises(ValueError):
        F.log_softmax(ones(2, 3), axis=2)


# ----- the edge cases that are not errors ----------------------------------------------------------
def test_softmax_over_an_empty_axis_is_empty_as_in_pytorch():
    x = gc.tensor(np.zeros((2, 0)), requires_grad=True)
    out = F.log_softmax(x, axis=1)
    assert out.shape == (2, 0)
    out.sum().backward()
    assert x.grad.shape == (2, 0)
    assert F.softmax(np.zeros((0, 3))).shape == (0, 3)


def test_linear_takes_a_single_example_and_keeps_its_gradients():
    x, weight, bias = w(3), w(3, 2), w(2)
    x.data[:] = [1.0, 2.0, 3.0]
    weight.data[:] = np.arange(6.0).reshape(3, 2)
    out = F.linear(x, weight, bias)
    np.testing.assert_array_equal(out.data, x.data @ weight.data)
    out.sum().backward()
    np.testing.assert_array_equal(bias.grad, [1.0, 1.0])
    np.testing.assert_array_equal(weight.grad, np.outer(x.data, [1.0, 1.0]))
    np.testing.assert_array_equal(x.grad, weight.data.sum(axis=1))


@pytest.mark.parametrize("momentum", [0, 1, 0.5, None])
def test_batch_norm_momentum_accepts_the_closed_interval_and_none(momentum):
    assert nn.BatchNorm1d(2, momentum=momentum).momentum == momentum


def test_sizes_may_be_numpy_integers():
    layer = nn.Linear(np.int64(3), np.int32(2))
    assert layer.weight.shape == (3, 2) and nn.LayerNorm(np.int64(4)).normalized_shape == (4,)


def test_layer_norm_accepts_a_list_for_the_last_axes():
    assert nn.LayerNorm([2, 3]).normalized_shape == (2, 3)


def test_kaiming_leaky_slope_is_checked_through_calculate_gain():
    with pytest.raises(TypeError, match="calculate_gain: param must be a finite number"):
        init.kaiming_normal_(w(3, 3), a="0.2")
    assert math.isfinite(init.kaiming_normal_(w(3, 3), a=0.2).data.sum())
