"""Property tests: softmax, the losses, LayerNorm, BatchNorm1d, RNN and LSTM against PyTorch float64.

Values and gradients (inputs and parameters), over shapes that hypothesis draws. A gradcourse
`Linear`-style weight is (in, out), PyTorch's is (out, in): the recurrent layers' weights are
copied transposed. Profiles ("ci", fixed and small; "dev", more) are in tests/conftest.py.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import gradcourse as gc
from gradcourse import functional as F, nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


def values(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def leaves(*arrays):
    """The same arrays as gradcourse leaves and as torch float64 leaves."""
    ours = [gc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return ours, theirs


def assert_close(ours, theirs, what, rtol=RTOL, atol=ATOL):
    ours = ours.data if isinstance(ours, gc.Tensor) else ours
    theirs = theirs.detach().numpy()
    assert np.shape(ours) == theirs.shape, f"{what}: shape {np.shape(ours)}, PyTorch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def backward_both(out, ref, seed=0):
    """Backpropagate the same random cotangent through both results."""
    cotangent = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(cotangent)
    ref.backward(torch.tensor(cotangent, dtype=torch.float64))


# ----- softmax and the losses ----------------------------------------------------------------
@st.composite
def arrays_and_axis(draw, low=-30.0, high=30.0):
    x = draw(values(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), low, high))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=arrays_and_axis())
def test_softmax_and_log_softmax_like_torch(name, case):
    x, axis = case
    (ours,), (theirs,) = leaves(x)
    out, ref = getattr(F, name)(ours, axis=axis), getattr(TF, name)(theirs, dim=axis)
    assert_close(out, ref, name)
    backward_both(out, ref)
    assert_close(ours.grad, theirs.grad, f"gradient of {name}")


@st.composite
def logits_and_targets(draw):
    batch, classes = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(values((batch, classes), -30, 30))
    targets = draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
    return logits, targets


@given(case=logits_and_targets())
def test_cross_entropy_like_torch(case):
    logits, targets = case
    (ours,), (theirs,) = leaves(logits)
    out, ref = F.cross_entropy(ours, targets), TF.cross_entropy(theirs, torch.from_numpy(targets))
    assert_close(out, ref, "cross_entropy")
    out.backward()
    ref.backward()
    assert_close(ours.grad, theirs.grad, "gradient of cross_entropy")


@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_bce_with_logits_like_torch(data, shape):
    logits = data.draw(values(shape, -40, 40), label="logits")
    targets = data.draw(values(shape, 0, 1), label="targets")
    (ours,), (theirs,) = leaves(logits)
    out = F.binary_cross_entropy_with_logits(ours, targets)
    ref = TF.binary_cross_entropy_with_logits(theirs, torch.from_numpy(targets))
    assert_close(out, ref, "bce_with_logits")
    out.backward()
    ref.backward()
    assert_close(ours.grad, theirs.grad, "gradient of bce_with_logits")


# ----- normalisation -------------------------------------------------------------------------
@st.composite
def layer_norm_cases(draw):
    """(x, normalized_shape, weight, bias): normalised over the last one or two axes."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    normalized = shape[-draw(st.integers(1, min(2, len(shape)))):]
    return (draw(values(shape)), normalized, draw(values(normalized, 0.5, 2)), draw(values(normalized)))


@given(case=layer_norm_cases(), eps=st.sampled_from([1e-5, 1e-3]))
def test_layer_norm_like_torch(case, eps):
    x, normalized, weight, bias = case
    ours = nn.LayerNorm(normalized[0] if len(normalized) == 1 else normalized, eps=eps)
    theirs = torch.nn.LayerNorm(normalized, eps=eps, dtype=torch.float64)
    copy_parameters(ours, theirs, {"weight": weight, "bias": bias})
    (x_ours,), (x_theirs,) = leaves(x)
    out, ref = ours(x_ours), theirs(x_theirs)
    assert_close(out, ref, "LayerNorm")
    backward_both(out, ref)
    assert_close(x_ours.grad, x_theirs.grad, "LayerNorm: gradient of the input", 1e-9, 1e-10)
    for name in ("weight", "bias"):
        assert_close(getattr(ours, name).grad, getattr(theirs, name).grad, f"LayerNorm: gradient of {name}")


def copy_parameters(ours, theirs, arrays):
    """Give both layers the same parameter values (`arrays`: name -> array in gradcourse's layout)."""
    with torch.no_grad():
        for name, array in arrays.items():
            getattr(ours, name).data[...] = array
            getattr(theirs, name).copy_(torch.from_numpy(np.ascontiguousarray(array)))


@st.composite
def batch_norm_runs(draw):
    """A few training batches of (batch >= 2, features), or of (batch, features, length) as
    PyTorch's BatchNorm1d also takes, an evaluation batch, weight and bias."""
    features = draw(st.integers(1, 4))
    length = draw(st.sampled_from([(), (1,), (3,)]))
    batches = draw(st.lists(values((draw(st.integers(2, 5)), features, *length)), min_size=1, max_size=3))
    return (batches, draw(values((draw(st.integers(1, 4)), features, *length))),
            draw(values((features,), 0.5, 2)), draw(values((features,))))


def run_batch_norm_against_torch(momentum, run):
    """Train on each batch (output, gradients, running statistics), then evaluate, in both libraries."""
    batches, eval_batch, weight, bias = run
    features = weight.size
    ours = nn.BatchNorm1d(features, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(features, momentum=momentum, dtype=torch.float64)
    copy_parameters(ours, theirs, {"weight": weight, "bias": bias})
    for step, x in enumerate([*batches, eval_batch]):
        if step == len(batches):
            ours.eval()
            theirs.eval()
        for p in (ours.weight, ours.bias, theirs.weight, theirs.bias):
            p.grad = None
        (x_ours,), (x_theirs,) = leaves(x)
        out, ref = ours(x_ours), theirs(x_theirs)
        mode = "train" if ours.training else "eval"
        assert_close(out, ref, f"BatchNorm1d ({mode}, batch {step})", 1e-9, 1e-10)
        backward_both(out, ref, seed=step)
        assert_close(x_ours.grad, x_theirs.grad, f"BatchNorm1d ({mode}): gradient of the input", 1e-8, 1e-9)
        for name in ("weight", "bias"):
            assert_close(getattr(ours, name).grad, getattr(theirs, name).grad,
                         f"BatchNorm1d ({mode}): gradient of {name}", 1e-9, 1e-10)
        assert_close(ours.running_mean, theirs.running_mean, f"running_mean after batch {step}")
        assert_close(ours.running_var, theirs.running_var, f"running_var after batch {step}")


@given(run=batch_norm_runs(), momentum=st.sampled_from([0.1, 1.0]) | st.floats(0.01, 0.99))
def test_batch_norm_train_then_eval_like_torch(run, momentum):
    run_batch_norm_against_torch(momentum, run)


@given(run=batch_norm_runs())
def test_batch_norm_cumulative_average_like_torch(run):
    """momentum=None: the running statistics are the plain average over the batches so far."""
    run_batch_norm_against_torch(None, run)


# ----- recurrent layers ----------------------------------------------------------------------
@st.composite
def sequences(draw):
    """(x of shape (batch, time, input_size), hidden_size, seed for the layer's weights)."""
    batch, time, inputs = (draw(st.integers(1, 3)) for _ in range(3))
    return draw(values((batch, time, inputs))), draw(st.integers(1, 3)), draw(st.integers(0, 2**16))


def copy_recurrent_weights(ours, theirs):
    """gradcourse's (in, gates) weights into PyTorch's weight_ih_l0 / weight_hh_l0 (gates, in)."""
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(theirs, f"{name}_l0").copy_(torch.from_numpy(getattr(ours, name).data.T.copy()))


def assert_recurrent_gradients(ours, theirs, x_ours, x_theirs, states):
    assert_close(x_ours.grad, x_theirs.grad, "gradient of the input sequence", 1e-9, 1e-11)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        ours_grad = getattr(ours, name).grad
        assert_close(ours_grad.T, getattr(theirs, f"{name}_l0").grad, f"gradient of {name}", 1e-9, 1e-11)
    for name, (ours_state, torch_state) in states.items():
        assert_close(ours_state.grad, torch_state.grad, f"gradient of the initial {name}", 1e-9, 1e-11)


@given(case=sequences(), nonlinearity=st.sampled_from(["tanh", "relu"]), given_h0=st.booleans())
def test_rnn_like_torch(case, nonlinearity, given_h0):
    x, hidden, seed = case
    gc.manual_seed(seed)
    ours = nn.RNN(x.shape[2], hidden, nonlinearity=nonlinearity)
    theirs = torch.nn.RNN(x.shape[2], hidden, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64)
    copy_recurrent_weights(ours, theirs)
    h0 = np.random.default_rng(seed).uniform(-1, 1, (x.shape[0], hidden))
    (x_ours, h0_ours), (x_theirs, h0_theirs) = leaves(x, h0)
    outputs, h_last = ours(x_ours, h0_ours if given_h0 else None)
    ref_outputs, ref_h_last = theirs(x_theirs, h0_theirs[None] if given_h0 else None)
    assert_close(outputs, ref_outputs, "RNN outputs")
    assert_close(h_last, ref_h_last[0], "RNN final state")
    loss = (outputs * gc.tensor(np.cos(outputs.data))).sum() + (h_last * h_last).sum()
    ref_loss = (ref_outputs * torch.cos(ref_outputs.detach())).sum() + (ref_h_last * ref_h_last).sum()
    loss.backward()
    ref_loss.backward()
    assert_recurrent_gradients(ours, theirs, x_ours, x_theirs, {"h0": (h0_ours, h0_theirs)} if given_h0 else {})


@given(case=sequences(), forget_bias=st.sampled_from([0.0, 1.0]), given_state=st.booleans())
def test_lstm_like_torch(case, forget_bias, given_state):
    x, hidden, seed = case
    gc.manual_seed(seed)
    ours = nn.LSTM(x.shape[2], hidden, forget_bias=forget_bias)
    theirs = torch.nn.LSTM(x.shape[2], hidden, batch_first=True, dtype=torch.float64)
    copy_recurrent_weights(ours, theirs)  # (gate order i, f, g, o in both)
    rng = np.random.default_rng(seed)
    h0, c0 = rng.uniform(-1, 1, (2, x.shape[0], hidden))
    (x_ours, h0_ours, c0_ours), (x_theirs, h0_theirs, c0_theirs) = leaves(x, h0, c0)
    outputs, (h_last, c_last) = ours(x_ours, (h0_ours, c0_ours) if given_state else None)
    ref_outputs, (ref_h, ref_c) = theirs(x_theirs, (h0_theirs[None], c0_theirs[None]) if given_state else None)
    assert_close(outputs, ref_outputs, "LSTM outputs")
    assert_close(h_last, ref_h[0], "LSTM final h")
    assert_close(c_last, ref_c[0], "LSTM final c")
    weights = [rng.standard_normal(shape) for shape in (outputs.shape, c_last.shape)]
    loss = (outputs * gc.tensor(weights[0])).sum() + (c_last * gc.tensor(weights[1])).sum()
    ref_loss = (ref_outputs * torch.from_numpy(weights[0])).sum() + (ref_c[0] * torch.from_numpy(weights[1])).sum()
    loss.backward()
    ref_loss.backward()
    states = {"h0": (h0_ours, h0_theirs), "c0": (c0_ours, c0_theirs)} if given_state else {}
    assert_recurrent_gradients(ours, theirs, x_ours, x_theirs, states)
