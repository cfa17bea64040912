"""Layers: every forward against an independent numpy computation, every backward by gradcheck."""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import nn
from gradcourse.autograd import ShapeError, Tensor, gradcheck

BATCH, TIME, FEATURES, HIDDEN = 3, 4, 2, 3


def randn(*shape, seed=0, requires_grad=False):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ----- stack and concatenate -------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_matches_numpy_and_passes_gradcheck(axis):
    a, b, c = (randn(2, 3, seed=s, requires_grad=True) for s in range(3))
    np.testing.assert_array_equal(F.stack([a, b, c], axis=axis).data,
                                  np.stack([a.data, b.data, c.data], axis=axis))
    assert gradcheck(lambda a, b, c: F.stack([a, b, c], axis=axis), a, b, c)


@pytest.mark.parametrize("axis", [0, 1])
def test_concatenate_matches_numpy_and_passes_gradcheck(axis):
    a, b = randn(2, 3, seed=1, requires_grad=True), randn(2, 3, seed=2, requires_grad=True)
    c = randn(1, 3, seed=3, requires_grad=True) if axis == 0 else randn(2, 4, seed=3, requires_grad=True)
    np.testing.assert_array_equal(F.concatenate([a, b, c], axis=axis).data,
                                  np.concatenate([a.data, b.data, c.data], axis=axis))
    assert gradcheck(lambda a, b, c: F.concatenate([a, b, c], axis=axis), a, b, c)


def test_stack_and_concatenate_name_the_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        F.stack([randn(2, 3), randn(2, 4)])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 4\)"):
        F.concatenate([randn(2, 3), randn(3, 4)], axis=0)


def test_stack_accepts_constants_among_tensors():
    a = randn(2, seed=1, requires_grad=True)
    F.stack([a, np.ones(2)]).sum().backward()
    np.testing.assert_array_equal(a.grad, np.ones(2))


# ----- Residual ------------------------------------------------------------------------------
def small_branch():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3))


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_residual_forward_is_x_plus_scaled_branch_and_passes_gradcheck(scale):
    gc.manual_seed(0)
    block = nn.Residual(small_branch(), scale=scale)
    x = randn(5, 3, requires_grad=True)
    np.testing.assert_allclose(block(x).data, x.data + scale * block.block(x).data, rtol=1e-14)
    assert gradcheck(lambda x, *params: block(x), x, *block.parameters())


def test_residual_with_a_zeroed_branch_passes_the_gradient_unchanged():
    gc.manual_seed(1)
    block = nn.Residual(small_branch())
    nn.init.zeros_(block.block[2].weight)  # the branch's last layer W2 = 0: its Jacobian is 0
    x = randn(5, 3, requires_grad=True)
    upstream = np.random.default_rng(1).standard_normal((5, 3))
    block(x).backward(upstream)
    np.testing.assert_array_equal(x.grad, upstream)


def test_residual_input_gradient_is_upstream_plus_the_branch_vjp():
    gc.manual_seed(2)
    block = nn.Residual(small_branch(), scale=0.5)
    upstream = np.random.default_rng(2).standard_normal((5, 3))
    x = randn(5, 3, requires_grad=True)
    block(x).backward(upstream)
    x_alone = randn(5, 3, requires_grad=True)
    block.block(x_alone).backward(upstream)  # the branch's own vector-Jacobian product
    np.testing.assert_allclose(x.grad - upstream, 0.5 * x_alone.grad, rtol=1e-12, atol=1e-15)


def test_residual_shape_mismatch_names_both_shapes():
    with pytest.raises(ShapeError, match=r"\(5, 3\).*preserve the shape.*got \(5, 4\)"):
        nn.Residual(nn.Linear(3, 4))(randn(5, 3))


# ----- LayerNorm -------------------------------------------------------------------------------
def layer_norm_reference(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_layer_norm_starts_as_pure_standardisation():
    x = randn(6, 5) * 3.0 + 2.0
    y = nn.LayerNorm(5)(x).data
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-4)  # var / (var + eps), eps = 1e-5


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
def test_layer_norm_matches_numpy_and_passes_gradcheck(shape):
    norm = nn.LayerNorm(5, eps=1e-3)
    norm.weight.data[:] = np.random.default_rng(1).standard_normal(5)
    norm.bias.data[:] = np.random.default_rng(2).standard_normal(5)
    x = randn(*shape, requires_grad=True)
    np.testing.assert_allclose(norm(x).data, layer_norm_reference(x.data, norm.weight.data,
                                                                  norm.bias.data, 1e-3), rtol=1e-12)
    assert gradcheck(lambda x, w, b: norm(x), x, norm.weight, norm.bias)


def test_layer_norm_rejects_the_wrong_feature_count():
    with pytest.raises(ShapeError, match=r"\(\.\.\., 5\).*\(4, 6\)"):
        nn.LayerNorm(5)(randn(4, 6))


# ----- BatchNorm1d -----------------------------------------------------------------------------
def test_batch_norm_training_forward_uses_the_batch_statistics():
    bn = nn.BatchNorm1d(4, eps=1e-3)
    bn.weight.data[:] = [1.0, 2.0, -1.0, 0.5]
    bn.bias.data[:] = [0.0, 1.0, 2.0, -3.0]
    x = randn(8, 4) * 2 + 1
    expected = (x.data - x.data.mean(0)) / np.sqrt(x.data.var(0) + 1e-3) * bn.weight.data + bn.bias.data
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-12)


def test_batch_norm_running_statistics_follow_the_formula_with_unbiased_variance():
    momentum = 0.3
    bn = nn.BatchNorm1d(3, momentum=momentum)
    mean, var = np.zeros(3), np.ones(3)
    for seed in range(4):
        x = np.random.default_rng(seed).standard_normal((5, 3)) * (seed + 1) + seed
        bn(x)
        mean = (1 - momentum) * mean + momentum * x.mean(axis=0)
        var = (1 - momentum) * var + momentum * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert bn.num_batches_tracked == 4


def test_batch_norm_momentum_none_is_a_cumulative_average_as_in_pytorch():
    """factor = 1 / num_batches_tracked: the running statistics are the means of the batches' statistics."""
    bn = nn.BatchNorm1d(3, momentum=None)
    batches = [np.random.default_rng(seed).standard_normal((5, 3)) * (seed + 1) + seed for seed in range(4)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               rtol=1e-12)
    assert bn.num_batches_tracked == 4 and "momentum=None" in repr(bn)


def test_batch_norm_eval_uses_running_statistics_and_leaves_them_alone():
    bn = nn.BatchNorm1d(3)
    for seed in range(3):
        bn(randn(6, 3, seed=seed) + 5.0)
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = randn(4, 3, seed=9)
    np.testing.assert_allclose(bn(x).data, (x.data - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    assert bn(randn(1, 3)).shape == (1, 3)  # a single example is fine in eval mode


def test_batch_norm_buffers_are_not_parameters():
    bn = nn.BatchNorm1d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert all(p is not bn.running_mean and p is not bn.running_var for p in bn.parameters())


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_passes_gradcheck_in_both_modes(training):
    bn = nn.BatchNorm1d(3)
    bn(randn(6, 3, seed=4) * 2)  # give the running statistics non-trivial values
    bn.weight.data[:] = [0.5, -1.0, 2.0]
    bn.train(training)
    x = randn(5, 3, seed=5, requires_grad=True)
    assert gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)


def test_batch_norm_errors_name_the_problem():
    with pytest.raises(ShapeError, match=r"\(batch, 3\)"):
        nn.BatchNorm1d(3)(randn(4, 2))
    with pytest.raises(ShapeError, match=r"more than one value per feature \(batch >= 2, or batch x length >= 2\) in training"):
        nn.BatchNorm1d(3)(randn(1, 3))


# ----- RNN -------------------------------------------------------------------------------------
def rnn_reference(x, h0, w_ih, w_hh, b_ih, b_hh, act=np.tanh):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ w_ih + b_ih + h @ w_hh + b_hh)
        states.append(h)
    return np.stack(states, axis=1)


@pytest.mark.parametrize("nonlinearity, act", [("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))])
def test_rnn_matches_a_numpy_loop(nonlinearity, act):
    gc.manual_seed(0)
    rnn = nn.RNN(FEATURES, HIDDEN, nonlinearity=nonlinearity)
    x, h0 = randn(BATCH, TIME, FEATURES, seed=1), randn(BATCH, HIDDEN, seed=2)
    outputs, h_last = rnn(x, h0)
    expected = rnn_reference(x.data, h0.data, rnn.weight_ih.data, rnn.weight_hh.data,
                             rnn.bias_ih.data, rnn.bias_hh.data, act)
    np.testing.assert_allclose(outputs.data, expected, rtol=1e-12)
    np.testing.assert_array_equal(h_last.data, outputs.data[:, -1])
    assert [h.shape for h in rnn.hidden_states] == [(BATCH, HIDDEN)] * TIME
    assert rnn.hidden_states[-1] is h_last


def test_rnn_starts_from_zeros_and_uses_pytorchs_init_bound():
    gc.manual_seed(1)
    rnn = nn.RNN(FEATURES, 16)
    for p in rnn.parameters():
        assert np.all(np.abs(p.data) <= 1 / 4) and np.max(np.abs(p.data)) > 0.2
    x = randn(BATCH, TIME, FEATURES)
    np.testing.assert_array_equal(rnn(x)[0].data, rnn(x, np.zeros((BATCH, 16)))[0].data)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_passes_gradcheck_through_time(nonlinearity):
    gc.manual_seed(2)
    rnn = nn.RNN(FEATURES, HIDDEN, nonlinearity=nonlinearity)
    x = randn(BATCH, TIME, FEATURES, seed=3, requires_grad=True)
    h0 = randn(BATCH, HIDDEN, seed=4, requires_grad=True)
    assert gradcheck(lambda x, h0, *params: rnn(x, h0)[0], x, h0, *rnn.parameters())


def test_rnn_hidden_state_gradients_follow_backprop_through_time():
    # dL/dh_t = dL/dout_t + (dL/dh_{t+1} * (1 - h_{t+1}^2)) W_hh^T, computed here by hand.
    gc.manual_seed(3)
    rnn = nn.RNN(FEATURES, HIDDEN)
    x = randn(BATCH, TIME, FEATURES, seed=5)
    outputs, _ = rnn(x)
    for h in rnn.hidden_states:
        h.retain_grad()
    upstream = np.random.default_rng(6).standard_normal(outputs.shape)
    outputs.backward(upstream)
    h = [s.data for s in rnn.hidden_states]
    expected = [None] * TIME
    expected[-1] = upstream[:, -1]
    for t in range(TIME - 2, -1, -1):
        expected[t] = upstream[:, t] + (expected[t + 1] * (1 - h[t + 1] ** 2)) @ rnn.weight_hh.data.T
    for t in range(TIME):
        np.testing.assert_allclose(rnn.hidden_states[t].grad, expected[t], rtol=1e-12, atol=1e-15)


def test_rnn_rejects_bad_shapes_and_nonlinearities():
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        nn.RNN(2, 3)(randn(3, 2))
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(3, 4\)"):
        nn.RNN(2, 3)(randn(3, 4, 2), randn(3, 4))
    with pytest.raises(ValueError, match="tanh.*relu"):
        nn.RNN(2, 3, nonlinearity="sigmoid")


# ----- LSTM ------------------------------------------------------------------------------------
def lstm_reference(x, h, c, lstm):
    H = lstm.hidden_size
    w_ih, w_hh = lstm.weight_ih.data, lstm.weight_hh.data
    b = lstm.bias_ih.data + lstm.bias_hh.data
    hs, cs = [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ w_ih + h @ w_hh + b
        i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
        g, o = np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def test_lstm_matches_a_numpy_loop():
    gc.manual_seed(0)
    lstm = nn.LSTM(FEATURES, HIDDEN, forget_bias=1.0)
    x = randn(BATCH, TIME, FEATURES, seed=1)
    h0, c0 = randn(BATCH, HIDDEN, seed=2), randn(BATCH, HIDDEN, seed=3)
    outputs, (h_last, c_last) = lstm(x, (h0, c0))
    hs, cs = lstm_reference(x.data, h0.data, c0.data, lstm)
    np.testing.assert_allclose(outputs.data, hs, rtol=1e-12)
    np.testing.assert_allclose(np.stack([c.data for c in lstm.cell_states], axis=1), cs, rtol=1e-12)
    np.testing.assert_array_equal(h_last.data, outputs.data[:, -1])
    np.testing.assert_allclose(c_last.data, cs[:, -1], rtol=1e-12)
    zero_state = lstm_reference(x.data, np.zeros((BATCH, HIDDEN)), np.zeros((BATCH, HIDDEN)), lstm)[0]
    np.testing.assert_allclose(lstm(x)[0].data, zero_state, rtol=1e-12)


def test_lstm_passes_gradcheck_through_outputs_and_cell_state():
    gc.manual_seed(1)
    lstm = nn.LSTM(FEATURES, HIDDEN, forget_bias=1.0)
    x = randn(BATCH, TIME, FEATURES, seed=4, requires_grad=True)
    h0 = randn(BATCH, HIDDEN, seed=5, requires_grad=True)
    c0 = randn(BATCH, HIDDEN, seed=6, requires_grad=True)

    def everything(x, h0, c0, *params):
        outputs, (h_last, c_last) = lstm(x, (h0, c0))
        return F.concatenate([outputs.reshape(BATCH, -1), c_last], axis=1)
    assert gradcheck(everything, x, h0, c0, *lstm.parameters())


def test_lstm_forget_bias_is_added_to_the_forget_gate_bias_only():
    gc.manual_seed(2)
    plain = nn.LSTM(FEATURES, HIDDEN)
    gc.manual_seed(2)
    jozefowicz = nn.LSTM(FEATURES, HIDDEN, forget_bias=1.0)
    difference = jozefowicz.bias_ih.data - plain.bias_ih.data
    expected = np.zeros(4 * HIDDEN)
    expected[HIDDEN:2 * HIDDEN] = 1.0  # gates in the order i, f, g, o
    np.testing.assert_allclose(difference, expected, atol=1e-15)
    for name in ("weight_ih", "weight_hh", "bias_hh"):
        np.testing.assert_array_equal(getattr(jozefowicz, name).data, getattr(plain, name).data)


def test_lstm_hidden_states_can_retain_their_gradients():
    gc.manual_seed(3)
    lstm = nn.LSTM(FEATURES, HIDDEN)
    outputs, (h_last, c_last) = lstm(randn(BATCH, TIME, FEATURES))
    for h in lstm.hidden_states:
        h.retain_grad()
    h_last.sum().backward()  # only the last step is in the loss
    np.testing.assert_array_equal(lstm.hidden_states[-1].grad, np.ones((BATCH, HIDDEN)))
    assert all(np.any(h.grad != 0) for h in lstm.hidden_states[:-1])


# ----- MLP ---------------------------------------------------------------------------------------
def count(model, kind):
    return sum(isinstance(m, kind) for m in model.modules())


def n_params(model):
    return sum(p.size for p in model.parameters())


@pytest.mark.parametrize("num_blocks", [0, 1, 5])
def test_plain_mlp_has_blocks_plus_two_linear_layers(num_blocks):
    mlp = nn.MLP(4, 8, 2, num_blocks=num_blocks)
    assert count(mlp, nn.Linear) == num_blocks + 2 == mlp.weight_layers
    assert len(mlp.blocks) == mlp.num_blocks == num_blocks
    assert n_params(mlp) == (4 * 8 + 8) + num_blocks * (8 * 8 + 8) + (8 * 2 + 2)
    assert mlp(randn(3, 4)).shape == (3, 2)


@pytest.mark.parametrize("norm, kind", [("layer", nn.LayerNorm), ("batch", nn.BatchNorm1d)])
def test_normalised_mlp_has_one_norm_per_block(norm, kind):
    mlp = nn.MLP(4, 8, 2, num_blocks=3, norm=norm, activation="relu")
    assert count(mlp, kind) == 3
    assert n_params(mlp) == (4 * 8 + 8) + 3 * (8 * 8 + 8 + 2 * 8) + (8 * 2 + 2)
    assert [type(layer) for layer in mlp.blocks[0]] == [nn.Linear, kind, nn.ReLU]


def test_residual_mlp_blocks_hold_two_linear_layers_each():
    mlp = nn.MLP(4, 8, 2, num_blocks=3, residual=True, norm="layer", branch_scale=0.25)
    assert count(mlp, nn.Linear) == 2 * 3 + 2
    assert all(isinstance(b, nn.Residual) and b.scale == 0.25 for b in mlp.blocks)
    assert [type(layer) for layer in mlp.blocks[0].block] == [nn.LayerNorm, nn.Linear, nn.Tanh, nn.Linear]
    assert n_params(mlp) == (4 * 8 + 8) + 3 * (2 * (8 * 8 + 8) + 2 * 8) + (8 * 2 + 2)


def test_mlp_forward_is_input_layer_then_blocks_then_output_layer():
    gc.manual_seed(4)
    mlp = nn.MLP(4, 6, 2, num_blocks=3, activation="gelu", residual=True, init="kaiming_normal")
    seen = []
    for block in mlp.blocks:
        block.register_forward_hook(lambda module, inputs, output: seen.append(output))
    x = randn(5, 4)
    y = mlp(x)
    h = mlp.input_layer(x)
    for l, block in enumerate(mlp.blocks):
        h = block(h)
        np.testing.assert_array_equal(seen[l].data, h.data)
    np.testing.assert_array_equal(y.data, mlp.output_layer(h).data)


def test_zero_init_residual_makes_every_block_the_identity():
    gc.manual_seed(5)
    mlp = nn.MLP(4, 6, 2, num_blocks=4, residual=True, zero_init_residual=True)
    h = randn(5, 6)
    for block in mlp.blocks:
        np.testing.assert_array_equal(block(h).data, h.data)
        assert np.any(block.block[0].weight.data != 0)  # only the last layer of the branch is zero


def test_mlp_passes_init_to_every_linear_layer():
    mlp = nn.MLP(4, 6, 2, num_blocks=2, residual=True, init="zeros")
    assert all(np.all(p.data == 0) for p in mlp.parameters())


def test_mlp_with_manual_seed_is_reproducible():
    def build():
        gc.manual_seed(6)
        return nn.MLP(3, 5, 2, num_blocks=2, residual=True, norm="batch", init="orthogonal")
    first, second = build(), build()
    for (name_a, a), (name_b, b) in zip(first.named_parameters(), second.named_parameters()):
        assert name_a == name_b
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("residual, norm", [(False, "batch"), (True, "layer")])
def test_mlp_passes_gradcheck(residual, norm):
    gc.manual_seed(7)
    mlp = nn.MLP(3, 4, 2, num_blocks=2, activation="sigmoid", residual=residual, norm=norm)
    x = randn(5, 3, requires_grad=True)
    assert gradcheck(lambda x, *params: mlp(x), x, *mlp.parameters())


def test_mlp_errors_list_the_valid_choices():
    with pytest.raises(ValueError, match="sigmoid.*tanh.*relu"):
        nn.MLP(3, 4, 2, num_blocks=1, activation="swish")
    with pytest.raises(ValueError, match="'layer'.*'batch'"):
        nn.MLP(3, 4, 2, num_blocks=1, norm="group")
    with pytest.raises(ValueError, match="residual=True"):
        nn.MLP(3, 4, 2, num_blocks=1, branch_scale=0.5)
    with pytest.raises(ValueError, match="num_blocks"):
        nn.MLP(3, 4, 2, num_blocks=-1)
