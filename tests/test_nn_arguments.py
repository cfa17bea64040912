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
     "Sequential.append: module must be a Module, got 5"),
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
     TypeError, "Sequential: module 1 must be a Module, got <ufunc 'tanh'>"),
    ("Residual block", lambda: nn.Residual(lambda x: x), TypeError, "Residual: block must be a Module"),
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
     ValueError, r"mse_loss: prediction must be a non-empty shape.*got \(0,\)"),
    ("cross_entropy no batch", lambda: F.cross_entropy(ones(0, 3), np.zeros(0, dtype=int)), ValueError,
     r"cross_entropy: logits must be a non-empty shape.*got \(0, 3\)"),
    ("cross_entropy no class", lambda: F.cross_entropy(ones(2, 0), np.zeros(2, dtype=int)), ValueError,
     r"cross_entropy: logits must be a non-empty shape.*got \(2, 0\)"),
    ("cross_entropy str targets", lambda: F.cross_entropy(ones(2, 3), np.array(["0", "1"])), TypeError,
     "cross_entropy: targets must be integers or floats"),
    ("cross_entropy bool targets", lambda: F.cross_entropy(ones(2, 3), np.array([True, False])), TypeError,
     "cross_entropy: targets must be integers or floats"),
    ("bce empty", lambda: F.binary_cross_entropy_with_logits(ones(0), ones(0)), ValueError,
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
    ("log_softmax 0-d", lambda: F.log_softmax(np.float64(2.0)), ValueError, "log_softmax: x must be at least 1-D"),
    ("leaky_relu slope", lambda: F.leaky_relu(ones(2), "0.1"),
     TypeError, "leaky_relu: negative_slope must be a finite number"),
    ("gelu approximate", lambda: F.gelu(ones(2), approximate="erf"),
     ValueError, "gelu: approximate must be one of 'none', 'tanh'"),
    ("linear 1-D weight", lambda: F.linear(ones(4, 3), w(3)), ValueError,
     r"linear: weight must be 2-D, \(in_features, out_features\), got \(3,\)"),
    ("linear 3-D weight", lambda: F.linear(ones(4, 3), w(2, 3, 2)),
     ValueError, r"linear: weight must be 2-D.*got \(2, 3, 2\)"),
    ("linear batch bias", lambda: F.linear(ones(4, 3), w(3, 2), w(4, 2)), ValueError,
     r"linear: bias must be of shape \(out_features,\) = \(2,\).*got \(4, 2\)"),
    ("linear (1, out) bias", lambda: F.linear(ones(4, 3), w(3, 2), w(1, 2)),
     ValueError, r"linear: bias must be .*got \(1, 2\)"),
    ("linear 0-d input", lambda: F.linear(np.float64(1.0), w(3, 2)),
     ValueError, r"linear: input must be at least 1-D.*got \(\)"),
    ("linear features", lambda: F.linear(ones(5, 4), w(3, 2)),
     ValueError, r"linear: input of shape \(5, 4\) has 4 features.*\(3, 2\)"),
    ("linear_activation bias", lambda: F.linear_activation(w(4, 3), w(3, 2), w(4, 2), "tanh"), ValueError,
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
