"""Tests of gradcourse.diagnostics: every number checked against an independent computation."""
import math
import warnings

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import diagnostics as D
from gradcourse import nn
from gradcourse.autograd import ShapeError
from gradcourse.diagnostics import GradientFlow, GradientWarning


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def two_layer_net(seed=0):
    """Linear(3, 4) -> Tanh -> Linear(4, 2) -> Sigmoid, with a fixed input batch of 5."""
    gc.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())
    x = np.random.default_rng(seed + 100).standard_normal((5, 3))
    return net, x


def hand_backprop(net, x):
    """Forward and backward of two_layer_net with loss mean(y^2), written out in numpy."""
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    h = np.tanh(x @ W1 + b1)
    y = sigmoid(h @ W2 + b2)
    dy = 2 * y / y.size                      # dL/dy for L = mean(y^2)
    dz2 = dy * y * (1 - y)
    dh = dz2 @ W2.T                          # gradient reaching the Tanh's output
    dz1 = dh * (1 - h ** 2)
    grads = {"0.weight": x.T @ dz1, "0.bias": dz1.sum(0), "2.weight": h.T @ dz2, "2.bias": dz2.sum(0)}
    return {"h": h, "y": y, "dh": dh, "dy": dy, "grads": grads}


def forward_backward(net, x):
    net.zero_grad()
    out = net(gc.tensor(x))
    loss = (out * out).mean()
    loss.backward()
    return loss


# ----- gradient_norms ------------------------------------------------------------------------
def test_gradient_norms_equal_norms_of_hand_computed_gradients():
    net, x = two_layer_net()
    forward_backward(net, x)
    expected = {name: np.linalg.norm(g) for name, g in hand_backprop(net, x)["grads"].items()}
    norms = D.gradient_norms(net)
    assert list(norms) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # layer order
    for name, value in expected.items():
        assert norms[name] == pytest.approx(value, rel=1e-12), name


def test_gradient_norms_skip_parameters_without_gradient():
    net, x = two_layer_net()
    assert D.gradient_norms(net) == {}
    forward_backward(net, x)
    net[0].bias.grad = None
    assert "0.bias" not in D.gradient_norms(net)


# ----- GradientFlow: the gradient reaching each layer -------------------------------------------
def test_gradient_flow_default_layers_are_the_activations():
    net, _ = two_layer_net()
    flow = GradientFlow(net)
    assert flow.layer_names == ["1", "3"]
    assert flow.weight_names == ["0.weight", "2.weight"]
    assert [name for name, _ in D.default_layers(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))] == ["0", "1"]


def test_default_layers_are_the_blocks_of_a_model_that_has_blocks():
    class Blocks(nn.Module):
        def __init__(self):
            self.blocks = [nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(3)]

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x
    model = Blocks()
    assert [name for name, _ in D.default_layers(model)] == ["blocks.0", "blocks.1", "blocks.2"]
    m = D.measure_at_init(model, np.ones((4, 2)))
    assert np.all(np.isnan(m["saturated"])) and np.all(np.isfinite(m["dead"]))  # found the inner ReLU


def test_recorded_gradient_norm_equals_hand_backprop_and_activation_stats_match():
    net, x = two_layer_net()
    with GradientFlow(net) as flow:
        forward_backward(net, x)
        row = flow.record()
    hand = hand_backprop(net, x)
    assert row["grad_norm"][0] == pytest.approx(np.linalg.norm(hand["dh"]), rel=1e-12)
    assert row["grad_norm"][1] == pytest.approx(np.linalg.norm(hand["dy"]), rel=1e-12)
    assert row["act_mean"] == pytest.approx([hand["h"].mean(), hand["y"].mean()], rel=1e-12)
    assert row["act_std"] == pytest.approx([hand["h"].std(), hand["y"].std()], rel=1e-12)


def test_recorded_gradient_norm_is_the_slope_of_the_loss_along_the_gradient():
    """Finite differences: nudge the layer's output by eps along the unit gradient direction u;
    the loss changes by eps * |dL/dh| (to second order), whatever the layers in between."""
    gc.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2), nn.Sigmoid())
    x = np.random.default_rng(3).standard_normal((7, 3))
    with GradientFlow(net) as flow:
        forward_backward(net, x)
        row = flow.record()
        grads = [out.grad.copy() for out in flow._outputs]
    for i, layer in enumerate(flow.layers):
        u = grads[i] / np.linalg.norm(grads[i])
        losses = []
        for eps in (1e-6, -1e-6):
            handle = layer.register_forward_hook(lambda m, inp, out, eps=eps: out + eps * u)
            with gc.no_grad():
                out = net(gc.tensor(x))
                losses.append(float(np.mean(out.data ** 2)))
            handle.remove()
        slope = (losses[0] - losses[1]) / 2e-6
        assert slope == pytest.approx(row["grad_norm"][i], rel=1e-5), flow.layer_names[i]


# ----- saturated and dead units ------------------------------------------------------------------
def one_activation_net(activation, width):
    """Linear(width, width) with W = I, b = 0, then the activation: the activation sees x itself."""
    net = nn.Sequential(nn.Linear(width, width), activation)
    net[0].weight.data[...] = np.eye(width)
    net[0].bias.data[...] = 0.0
    return net


def test_saturated_fraction_of_tanh_on_constructed_inputs():
    # atanh(0.97) = 2.09: entries beyond +-2.09 are saturated -> 3 of 8
    x = np.array([[3.0, 0.1], [-3.0, 0.2], [0.5, 5.0], [2.0, -2.0]])
    net = one_activation_net(nn.Tanh(), 2)
    m = D.measure_at_init(net, x)
    assert m["saturated"][0] == pytest.approx(3 / 8)
    assert math.isnan(m["dead"][0])


def test_saturated_fraction_of_sigmoid_on_constructed_inputs():
    # logit(0.97) = 3.48: sigma(x) leaves [0.03, 0.97] for |x| > 3.48 -> 2 of 6
    x = np.array([[4.0, -4.0, 3.0], [-3.0, 0.0, 1.0]])
    net = one_activation_net(nn.Sigmoid(), 3)
    assert D.measure_at_init(net, x)["saturated"][0] == pytest.approx(2 / 6)
    assert D.saturated_fraction(np.array([0.02, 0.5, 0.98, 0.97]), "sigmoid") == pytest.approx(0.5)
    assert math.isnan(D.saturated_fraction(np.array([0.5]), "relu"))


def test_dead_fraction_counts_relu_units_that_are_zero_for_every_example():
    # unit 0: always negative (dead); unit 1: mixed; unit 2: always positive; unit 3: always 0 (dead)
    x = np.array([[-1.0, -1.0, 1.0, 0.0], [-2.0, 3.0, 2.0, 0.0], [-0.5, 1.0, 0.1, 0.0]])
    net = one_activation_net(nn.ReLU(), 4)
    m = D.measure_at_init(net, x)
    assert m["dead"][0] == pytest.approx(2 / 4)
    assert math.isnan(m["saturated"][0])
    # a (batch, time, units) activation: a unit is dead if 0 at every example and every step
    assert D.dead_fraction(np.array([[[0.0, 1.0]], [[0.0, 0.0]]])) == pytest.approx(0.5)


def test_activation_argument_measures_saturation_on_the_layer_output():
    x = np.array([[3.0, 0.1], [-3.0, 0.2]])
    net = nn.Sequential(one_activation_net(nn.Tanh(), 2))
    m = D.measure_at_init(net, x, layers=[net[0]], activation="tanh")
    assert m["saturated"][0] == pytest.approx(0.5)


# ----- update-to-data ratio and the history ------------------------------------------------------
def test_update_to_data_ratio_follows_the_formula_and_history_has_steps_by_layers():
    net, x = two_layer_net()
    opt = gc.optim.SGD(net.parameters(), lr=0.1)
    expected = []
    with GradientFlow(net) as flow:
        for _ in range(3):
            forward_backward(net, x)
            flow.record(opt.lr)
            expected.append([0.1 * np.std(p.grad) / np.std(p.data) for p in (net[0].weight, net[2].weight)])
            opt.step()
    history = flow.history
    assert history["update_ratio"] == pytest.approx(np.array(expected), rel=1e-12)
    assert history["grad_norm"].shape == (3, 2) and history["update_ratio"].shape == (3, 2)
    assert list(history["step"]) == [0, 1, 2]
    assert flow.as_dict().keys() == history.keys()
    assert not np.allclose(history["grad_norm"][0], history["grad_norm"][2])  # training changed it


def test_update_ratio_is_nan_without_a_learning_rate_and_steps_can_be_named():
    net, x = two_layer_net()
    flow = GradientFlow(net)
    forward_backward(net, x)
    flow.record(step=37)
    assert np.all(np.isnan(flow.history["update_ratio"]))
    assert list(flow.history["step"]) == [37]
    assert GradientFlow(net).history["grad_norm"].shape == (0, 2)


def test_to_frame_needs_pandas():
    net, x = two_layer_net()
    flow = GradientFlow(net)
    forward_backward(net, x)
    flow.record(0.1)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            flow.to_frame()
        return
    frame = flow.to_frame()
    assert frame["grad_norm"].shape == (1, 2)
    assert list(frame["update_ratio"].columns) == ["0.weight", "2.weight"]


def test_remove_detaches_and_no_grad_forwards_are_ignored():
    net, x = two_layer_net()
    flow = GradientFlow(net)
    forward_backward(net, x)
    captured = flow._outputs[0]
    with gc.no_grad():
        net(gc.tensor(x + 1.0))  # an evaluation pass must not replace the training outputs
    assert flow._outputs[0] is captured
    flow.remove()
    forward_backward(net, x)
    assert flow._outputs[0] is None  # remove() forgot the captured pass and nothing new is captured
    flow.attach()
    assert "attached" in repr(flow)


def test_record_before_backward_says_what_to_do():
    net, x = two_layer_net()
    flow = GradientFlow(net)
    with pytest.raises(RuntimeError, match="forward pass"):
        flow.record()
    net(gc.tensor(x))
    with pytest.raises(RuntimeError, match="backward"):
        flow.record()


def test_measure_at_init_with_a_target_and_a_loss_function():
    net, x = two_layer_net()
    y = np.zeros((5, 2))
    a = D.measure_at_init(net, x, y, loss="mse")
    b = D.measure_at_init(net, x)  # mean(output^2) equals mse against zeros
    c = D.measure_at_init(net, x, y, loss=lambda out, t: ((out - t) ** 2).mean())
    assert a["loss"] == pytest.approx(b["loss"]) and c["loss"] == pytest.approx(b["loss"])
    np.testing.assert_allclose(a["grad_norm"], b["grad_norm"], rtol=1e-12)
    np.testing.assert_allclose(c["grad_norm"], b["grad_norm"], rtol=1e-12)
    assert a["layers"] == ["1", "3"]
    assert not net[0]._forward_hooks  # measuring leaves no hook behind
    with pytest.raises(ValueError, match="loss must be"):
        D.measure_at_init(net, x, loss="hinge")


# ----- the input-output Jacobian ---------------------------------------------------------------
def test_jacobian_of_a_linear_net_is_the_product_of_its_weights():
    gc.manual_seed(1)
    net = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3))
    x = np.random.default_rng(1).standard_normal(5)
    W = net[0].weight.data @ net[1].weight.data       # y = x W1 W2 + ..., so J = (W1 W2)^T
    np.testing.assert_allclose(D.input_output_jacobian(net, x), W.T, rtol=1e-12)
    np.testing.assert_allclose(D.jacobian_singular_values(net, x[None, :]),
                               np.linalg.svd(W, compute_uv=False), rtol=1e-12)


def test_orthogonal_linear_net_is_an_isometry():
    gc.manual_seed(2)
    net = nn.Sequential(*[nn.Linear(8, 8, init="orthogonal") for _ in range(10)])
    s = D.jacobian_singular_values(net, np.ones(8))
    np.testing.assert_allclose(s, np.ones(8), rtol=1e-10)


def test_jacobian_matches_finite_differences_and_keeps_parameter_gradients():
    net, x = two_layer_net()
    forward_backward(net, x)
    before = [p.grad.copy() for p in net.parameters()]
    x0 = x[0]
    J = D.input_output_jacobian(net, x0)
    eps = 1e-6
    with gc.no_grad():
        numeric = np.stack([(net(gc.tensor(x0 + eps * e[None])).data - net(gc.tensor(x0 - eps * e[None])).data)[0]
                            / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-9)
    s = D.jacobian_singular_values(net, x0)
    assert np.all(np.diff(s) <= 0)  # sorted, largest first
    for p, g in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)
    with pytest.raises(ValueError, match="single input"):
        D.jacobian_singular_values(net, x)


# ----- check_gradients --------------------------------------------------------------------------
def three_linear_layers():
    gc.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))


def set_grads(net, scales):
    for p, scale in zip(net.parameters(), scales):
        p.grad = np.full(p.shape, scale)


def test_check_gradients_warns_about_a_vanishing_gradient_naming_layers_and_step():
    net = three_linear_layers()
    set_grads(net, [1e-12, 1e-12, 1e-3, 1e-3, 1e-3, 1e-3])
    with pytest.warns(GradientWarning, match=r"step 37: vanishing gradient: the first layer's weight "
                                             r"gradient \(0\.weight, norm 4e-12\) is 2e-09 of the last "
                                             r"layer's \(4\.weight, norm 0\.002\)"):
        problems = D.check_gradients(net, 37)
    assert len(problems) == 1 and problems[0].startswith("step 37: vanishing")


def test_check_gradients_catches_the_vanishing_gradient_of_a_deep_sigmoid_net():
    gc.manual_seed(0)
    net = nn.Sequential(*[m for _ in range(20) for m in (nn.Linear(16, 16, init="xavier_normal"), nn.Sigmoid())])
    forward_backward(net, np.random.default_rng(0).standard_normal((32, 16)))
    with pytest.warns(GradientWarning, match=r"step 0: vanishing gradient.*\(0\.weight.*\(38\.weight"):
        D.check_gradients(net, step=0)


def test_check_gradients_warns_about_an_exploding_gradient():
    net = three_linear_layers()
    set_grads(net, [1.0, 1.0, 3e6, 1.0, 1.0, 1.0])
    with pytest.warns(GradientWarning, match=r"step 5: exploding gradient: 2\.weight has gradient norm 1\.2e\+07"):
        problems = D.check_gradients(net, 5)
    assert len(problems) == 1


def test_check_gradients_warns_about_a_non_finite_gradient():
    net = three_linear_layers()
    set_grads(net, [1.0, 1.0, 1.0, np.nan, 1.0, np.inf])
    with pytest.warns(GradientWarning, match=r"step 12: non-finite gradient \(nan or inf\) in 2 of 6 "
                                             r"parameters, first in 2\.bias"):
        problems = D.check_gradients(net, 12)
    assert len(problems) == 1


def test_check_gradients_is_quiet_for_a_healthy_net():
    net, x = two_layer_net()
    forward_backward(net, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert D.check_gradients(net, 1) == []


# ----- nn.MLP: the blocks are the layers -------------------------------------------------------------
def test_gradient_flow_on_an_mlp_measures_each_block_and_its_activation():
    gc.manual_seed(4)
    mlp = nn.MLP(3, 5, 2, num_blocks=3, activation="tanh", init="xavier_normal")
    x = 3 * np.random.default_rng(4).standard_normal((6, 3))
    with GradientFlow(mlp) as flow:
        forward_backward(mlp, x)
        row = flow.record(lr=0.01)
    assert flow.layer_names == ["blocks.0", "blocks.1", "blocks.2"]
    assert flow.weight_names[0] == "input_layer.0.weight" and flow.weight_names[-1] == "output_layer.weight"
    hidden = []                                   # the blocks' outputs, recomputed in numpy
    h = np.tanh(x @ mlp.input_layer[0].weight.data + mlp.input_layer[0].bias.data)
    for block in mlp.blocks:
        h = np.tanh(h @ block[0].weight.data + block[0].bias.data)
        hidden.append(h)
    assert row["act_std"] == pytest.approx([np.std(h) for h in hidden], rel=1e-12)
    assert row["act_spread"] == pytest.approx([np.mean(np.std(h, axis=0)) for h in hidden], rel=1e-12)
    assert row["saturated"] == pytest.approx([np.mean(np.abs(h) > 0.97) for h in hidden])
    assert np.all(np.isnan(row["dead"]))


def test_residual_mlp_blocks_measure_the_sum_and_the_branch_relu():
    gc.manual_seed(5)
    mlp = nn.MLP(4, 6, 1, num_blocks=2, activation="relu", init="kaiming_normal", residual=True)
    x = np.random.default_rng(5).standard_normal((8, 4))
    m = D.measure_at_init(mlp, x)
    h = np.maximum(x @ mlp.input_layer[0].weight.data + mlp.input_layer[0].bias.data, 0)
    inner = np.maximum(h @ mlp.blocks[0].block[0].weight.data + mlp.blocks[0].block[0].bias.data, 0)
    out = h + inner @ mlp.blocks[0].block[2].weight.data + mlp.blocks[0].block[2].bias.data
    assert m["act_std"][0] == pytest.approx(np.std(out), rel=1e-12)
    assert m["dead"][0] == pytest.approx(np.mean(np.all(inner == 0, axis=0)))


# ----- the weight gradient dL/dW_l = h_{l-1}^T dL/dz_l, next to dL/dh_l ------------------------------
def test_weight_gradient_is_the_layer_input_times_the_gradient_at_its_preactivation():
    net, x = two_layer_net()
    forward_backward(net, x)
    hand = hand_backprop(net, x)
    dz2 = hand["dy"] * hand["y"] * (1 - hand["y"])
    W2 = net.parameters()[2]
    np.testing.assert_allclose(W2.grad, hand["h"].T @ dz2, rtol=1e-12)   # h_1^T dL/dz_2


def test_history_weight_grad_norm_is_the_frobenius_norm_of_each_weight_gradient_at_record_time():
    gc.manual_seed(3)
    model = nn.MLP(4, 6, 2, num_blocks=3, activation="relu", init="kaiming_normal")
    x = np.random.default_rng(0).standard_normal((8, 4))
    optimizer = gc.optim.SGD(model.parameters(), lr=0.05)
    weights = dict(model.named_parameters())
    expected = []
    with GradientFlow(model) as flow:
        for _ in range(3):
            optimizer.zero_grad()
            (model(gc.tensor(x)) ** 2).mean().backward()
            flow.record(lr=0.05)
            expected.append([np.sqrt(np.sum(weights[name].grad ** 2)) for name in flow.weight_names])
            optimizer.step()
    history = flow.history
    assert flow.weight_names == [name for name, p in model.named_parameters() if p.data.ndim == 2]
    assert history["weight_grad_norm"].shape == (3, len(flow.weight_names))
    np.testing.assert_allclose(history["weight_grad_norm"], expected, rtol=1e-12)
    assert len(set(np.round(history["weight_grad_norm"][:, 0], 12))) == 3   # the steps differ


def test_measure_at_init_groups_weight_gradients_by_layer():
    gc.manual_seed(0)
    plain = nn.MLP(5, 7, 3, num_blocks=4, activation="tanh", init="xavier_normal")
    row = D.measure_at_init(plain, np.random.default_rng(1).standard_normal((6, 5)))
    params = dict(plain.named_parameters())
    blocks = [np.linalg.norm(params[f"blocks.{i}.0.weight"].grad) for i in range(4)]
    np.testing.assert_allclose(row["layer_weight_grad_norm"], blocks, rtol=1e-12)
    assert row["weight_names"][0] == "input_layer.0.weight" and row["weight_names"][-1] == "output_layer.weight"

    gc.manual_seed(0)
    residual = nn.MLP(5, 7, 3, num_blocks=2, activation="relu", residual=True)
    row = D.measure_at_init(residual, np.random.default_rng(1).standard_normal((6, 5)))
    params = dict(residual.named_parameters())
    both = [np.hypot(np.linalg.norm(params[f"blocks.{i}.block.0.weight"].grad),
                     np.linalg.norm(params[f"blocks.{i}.block.2.weight"].grad)) for i in range(2)]
    np.testing.assert_allclose(row["layer_weight_grad_norm"], both, rtol=1e-12)


def test_per_layer_is_nan_for_a_layer_without_weights_and_checks_lengths():
    values = D.per_layer([3.0, 4.0, 1.0], ["a.0.weight", "a.1.weight", "b.weight"], ["a", "b", "act"])
    np.testing.assert_allclose(values[:2], [5.0, 1.0])
    assert math.isnan(values[2])
    assert math.isnan(D.per_layer([2.0], ["ab.weight"], ["a"])[0])   # "ab" is not inside "a"
    with pytest.raises(ValueError, match=r"per_layer: weight_values must be one value for each of the 1 weight names"):
        D.per_layer([1.0, 2.0], ["a.weight"], ["a"])


def test_a_scaled_relu_net_changes_the_backward_signal_but_not_the_weight_gradient_profile():
    """Zero biases and a positively homogeneous activation: weights c times larger multiply
    dL/dh_l by c^(L - l) but the layer's input by c^(l - 1), so dL/dW_l changes by the same
    factor in every layer. Xavier and Kaiming draw the same matrices up to the scale sqrt(2)."""
    from gradcourse import experiments
    xavier = experiments.depth_profile(num_blocks=12, width=32, activation="relu", init="xavier_normal")
    kaiming = experiments.depth_profile(num_blocks=12, width=32, activation="relu", init="kaiming_normal")
    assert xavier.ratio / kaiming.ratio == pytest.approx(2 ** -5.5, rel=1e-9)   # (1/sqrt 2)^(12 - 1)
    assert xavier.weight_ratio == pytest.approx(kaiming.weight_ratio, rel=1e-9)
    sigmoid_x = experiments.depth_profile(num_blocks=12, width=32, activation="sigmoid", init="xavier_normal")
    sigmoid_k = experiments.depth_profile(num_blocks=12, width=32, activation="sigmoid", init="kaiming_normal")
    assert sigmoid_x.weight_ratio / sigmoid_k.weight_ratio < 0.5      # a saturating net: no such cancellation


# ----- bad arguments (issue 17, hostile round): every function taking a model checks it, ----------
# ----- empty inputs and mismatched shapes raise, the caller's argument is named -------------------
def _small_net():
    gc.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))


@pytest.mark.parametrize("call", [
    lambda m: D.gradient_norms(m), lambda m: GradientFlow(m), lambda m: D.measure_at_init(m, np.ones((2, 2))),
    lambda m: D.input_output_jacobian(m, np.ones(2)), lambda m: D.jacobian_singular_values(m, np.ones(2)),
    lambda m: D.check_gradients(m, 1), lambda m: D.default_layers(m)])
@pytest.mark.parametrize("not_a_model", [5, "net", None])
def test_every_function_taking_a_model_rejects_a_non_module_naming_model(call, not_a_model):
    with pytest.raises(TypeError, match=r"model must be an nn\.Module"):
        call(not_a_model)


@pytest.mark.parametrize("fraction", [lambda v: D.saturated_fraction(v, "tanh"), lambda v: D.dead_fraction(v),
                                      D.spread_across_examples])
def test_a_fraction_of_empty_values_raises_instead_of_nan(fraction):
    with pytest.raises(ValueError, match="values must be a non-empty array"):
        fraction(np.array([]))
    with pytest.raises(TypeError, match="values must be an array of real numbers"):
        fraction(np.array(["a", "b"]))


def test_update_to_data_ratio_checks_lr_and_shapes_and_documents_a_constant_weight():
    w, g = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    with pytest.raises(ValueError, match="update_to_data_ratio: lr must be a number >= 0"):
        D.update_to_data_ratio(w, g, -1)
    with pytest.raises(ValueError, match="lr must be"):
        D.update_to_data_ratio(w, g, math.nan)
    with pytest.raises(ShapeError, match=r"update_to_data_ratio: grad.shape must be the weight's shape \(2,\).*got \(3,\)"):
        D.update_to_data_ratio(w, np.array([1.0, 3.0, 5.0]), 0.1)
    with pytest.raises(ValueError, match="weight must be a non-empty array"):
        D.update_to_data_ratio(np.array([]), np.array([]), 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: the inf and nan are the documented answers
        assert D.update_to_data_ratio(np.zeros(2), g, 0.1) == math.inf
        assert math.isnan(D.update_to_data_ratio(np.zeros(2), np.zeros(2), 0.1))
    assert D.update_to_data_ratio(w, g, 0.1) == pytest.approx(0.1 * np.std(g) / np.std(w))


def test_gradient_flow_checks_layers_and_the_record_arguments():
    net = _small_net()
    with pytest.raises(TypeError, match=r"GradientFlow: layers\[0\] must be an nn\.Module"):
        GradientFlow(net, layers=[5])
    with pytest.raises(TypeError, match="GradientFlow: layers must be a list"):
        GradientFlow(net, layers=net[1])
    with pytest.raises(ValueError, match="layers must be a non-empty list"):
        GradientFlow(net, layers=[])
    with GradientFlow(net) as flow:
        net(gc.tensor(np.ones((2, 2)))).sum().backward()
        with pytest.raises(ValueError, match="GradientFlow.record: lr must be a number >= 0"):
            flow.record(lr=-0.1)
        with pytest.raises(ValueError, match="GradientFlow.record: step must be a non-negative integer"):
            flow.record(0.1, step=-1)
        assert flow.record(0.1, step=3)["grad_norm"].shape == (1,)


# ----- round 3: one rule per argument, under the name of the function called -----------------------
def test_measure_at_init_takes_the_loss_names_of_functional_plus_mean_square():
    net, x = _small_net(), np.ones((3, 2))
    with pytest.raises(TypeError, match="measure_at_init: loss must be one of 'mean_square', .*'mse'"):
        D.measure_at_init(net, x, loss=3)
    with pytest.raises(TypeError, match="measure_at_init: loss must be one of"):
        D.measure_at_init(net, x, loss=["mse"])   # not "unhashable type"
    with pytest.raises(ValueError, match="measure_at_init: loss must be one of .*got 'msee'"):
        D.measure_at_init(net, x, loss="msee")
    y = np.zeros((3, 2))
    assert D.measure_at_init(net, x, y, loss="mse")["loss"] == pytest.approx(
        D.measure_at_init(net, x, y, loss="mean_square")["loss"])            # against y: the mse
    out = net(gc.tensor(x)).data
    assert D.measure_at_init(net, x)["loss"] == pytest.approx(np.mean(out ** 2))


def test_measure_at_init_names_itself_for_x_layers_and_activation():
    net = _small_net()
    with pytest.raises(TypeError, match="measure_at_init: x must be"):
        D.measure_at_init(net, "abc")
    with pytest.raises(TypeError, match="measure_at_init: layers must be"):
        D.measure_at_init(net, np.ones((3, 2)), layers=5)
    with pytest.raises(ValueError, match="measure_at_init: activation must be one of 'sigmoid', 'tanh', 'relu'"):
        D.measure_at_init(net, np.ones((3, 2)), activation="Tanh")


@pytest.mark.parametrize("fraction", [D.saturated_fraction, D.dead_fraction])
def test_a_misspelt_activation_kind_is_an_error_not_a_silent_nan(fraction):
    with pytest.raises(ValueError, match=f"{fraction.__name__}: kind must be one of 'sigmoid', 'tanh', 'relu'"):
        fraction(np.ones((2, 2)), "Tanh")
    with pytest.raises(TypeError, match=f"{fraction.__name__}: kind must be one of"):
        fraction(np.ones((2, 2)), None)


def test_every_measured_activation_is_measured_by_one_of_the_two_fractions():
    """MEASURED_ACTIVATIONS names activations of nn; each one saturates or has dead units."""
    for name in D.MEASURED_ACTIVATIONS:
        y = nn.ACTIVATIONS[name]()(gc.tensor(np.array([[-50.0, 0.0], [-50.0, 50.0]]))).data
        measured = [D.saturated_fraction(y, name), D.dead_fraction(y, name)]
        assert any(np.isfinite(measured)) and max(np.nan_to_num(measured)) > 0, name


@pytest.mark.parametrize("jacobian", [D.input_output_jacobian, D.jacobian_singular_values])
def test_the_jacobian_functions_check_x_under_their_own_names(jacobian):
    net, where = _small_net(), jacobian.__name__
    with pytest.raises(TypeError, match=f"{where}: x must be an array of real numbers"):
        jacobian(net, "abc")
    with pytest.raises(ShapeError, match=rf"{where}: x.shape must be \(features,\) or \(1, features\)"):
        jacobian(net, np.ones((2, 2)))
    with pytest.raises(ShapeError, match=rf"{where}: model\(x\).shape must be \(1, outputs\)"):
        jacobian(_Flat(), np.ones(2))


class _Flat(nn.Module):
    """A model whose output for one input is 1-D: not (1, outputs)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)

    def forward(self, x):
        return self.linear(x).sum(axis=0)


@pytest.mark.parametrize("call", [
    lambda net, x: D.measure_at_init(net, x),
    lambda net, x: D.input_output_jacobian(net, x[:1]),
    lambda net, x: D.jacobian_singular_values(net, x[:1]),
])
def test_a_nan_or_inf_input_is_a_value_error_naming_x(call):
    net, x = two_layer_net()
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"x\[0, 0\] must be a finite number"):
            call(net, np.full_like(x, bad))


def _pass(net, x):
    (net(gc.tensor(x)) ** 2).mean().backward()


def test_the_gradient_flow_lifecycle_is_checked_at_every_record():
    net, x = two_layer_net()
    flow = GradientFlow(net)
    with pytest.raises(RuntimeError, match="no layer output was captured"):
        flow.record()                                   # before any forward
    _pass(net, x)
    first = flow.record()
    with pytest.raises(RuntimeError, match="recorded already"):
        flow.record()                                   # twice for one backward
    hooks = len(flow._handles)
    assert flow.attach() is flow and len(flow._handles) == hooks   # attaching twice adds no hooks
    flow.remove()
    _pass(net, x)                                       # hooks gone: this pass is not captured
    with pytest.raises(RuntimeError, match="GradientFlow.record: the hooks were removed; call attach()"):
        flow.record()
    assert all(out is None for out in flow._outputs)    # remove() forgot the captured pass
    flow.attach()
    with pytest.raises(RuntimeError, match="no layer output was captured"):
        flow.record()
    net.zero_grad()
    _pass(net, x)
    second = flow.record()
    assert np.allclose(first["grad_norm"], second["grad_norm"]) and len(flow.history["step"]) == 2
