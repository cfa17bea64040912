"""gradcourse.functional: activations, losses and linear, each against an independent formula."""
import math

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse.autograd import ShapeError

TARGETS = np.array([2, 0, 1, 2])  # class indices for a (4, 3) batch of logits
PROBS = np.array([[0.0, 1.0, 0.3], [0.9, 0.5, 1.0]])  # binary targets for a (2, 3) batch


def exact_gelu(x):
    return np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in np.ravel(x)]).reshape(np.shape(x))


def tanh_gelu(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def careful_cross_entropy(row, t):
    """-log softmax(row)[t] = log sum_j e^(z_j - z_t), in plain Python floats with an exact sum."""
    d = [float(z) - float(row[t]) for z in row]  # exact for the test's logits
    m = max(d)
    return m + math.log(math.fsum(math.exp(dj - m) for dj in d))


def naive_softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


# ----- gradient checks -------------------------------------------------------------------------
FUNCTIONS = [
    pytest.param(F.sigmoid, [((2, 3), "any")], id="sigmoid"),
    pytest.param(F.tanh, [((2, 3), "any")], id="tanh"),
    pytest.param(F.relu, [((2, 3), "nonzero")], id="relu"),
    pytest.param(F.leaky_relu, [((2, 3), "nonzero")], id="leaky_relu-default"),
    pytest.param(lambda x: F.leaky_relu(x, negative_slope=0.2), [((2, 3), "nonzero")], id="leaky_relu-0.2"),
    pytest.param(F.gelu, [((2, 3), "any")], id="gelu"),
    pytest.param(lambda x: F.gelu(x * 3.0, approximate="tanh"), [((2, 3), "any")], id="gelu-tanh"),
    pytest.param(F.softmax, [((2, 4), "any")], id="softmax"),
    pytest.param(lambda x: F.softmax(x * 3.0, axis=0), [((3, 2), "any")], id="softmax-axis0"),
    pytest.param(F.log_softmax, [((2, 4), "any")], id="log_softmax"),
    pytest.param(lambda x: F.log_softmax(x, axis=1), [((2, 3, 2), "any")], id="log_softmax-axis1-3d"),
    pytest.param(F.mse_loss, [((4, 2), "any"), ((4, 2), "any")], id="mse_loss-both-inputs"),
    pytest.param(lambda x: F.cross_entropy(x * 2.0, TARGETS), [((4, 3), "any")], id="cross_entropy"),
    pytest.param(lambda x: F.binary_cross_entropy_with_logits(x * 3.0, PROBS), [((2, 3), "any")], id="bce_with_logits"),
    pytest.param(F.linear, [((5, 3), "any"), ((3, 2), "any"), ((2,), "any")], id="linear"),
    pytest.param(F.linear, [((5, 3), "any"), ((3, 2), "any")], id="linear-no-bias"),
    pytest.param(F.linear, [((3,), "any"), ((3, 2), "any"), ((2,), "any")], id="linear-1d-input"),
    pytest.param(F.linear, [((2, 4, 3), "any"), ((3, 2), "any"), ((2,), "any")], id="linear-3d-input"),
    pytest.param(lambda x, w, b: F.linear(x, w, b).tanh().sum(), [((1, 3), "any"), ((3, 2), "any"), ((2,), "any")],
                 id="linear-batch-of-one"),
]


@pytest.mark.parametrize("fn, specs", FUNCTIONS)
def test_gradcheck(fn, specs, make_leaf):
    assert gc.gradcheck(fn, *[make_leaf(shape, kind) for shape, kind in specs])


def test_linear_gradient_only_for_inputs_that_need_it(make_leaf):
    x, w, b = gc.tensor(np.ones((2, 3))), make_leaf((3, 2)), gc.tensor(np.zeros(2))
    F.linear(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None
    np.testing.assert_allclose(w.grad, np.full((3, 2), 2.0))


# ----- values against independent formulas -----------------------------------------------------
X = np.array([[-3.0, -0.5, 0.0, 0.2, 4.0], [1.0, -1.0, 2.5, -7.0, 0.01]])


def test_sigmoid_tanh_relu_values():
    np.testing.assert_allclose(F.sigmoid(X).data, 1.0 / (1.0 + np.exp(-X)), rtol=1e-13)
    np.testing.assert_allclose(F.tanh(X).data, (np.exp(2 * X) - 1) / (np.exp(2 * X) + 1), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(F.relu(X).data, np.where(X > 0, X, 0.0))


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_slope(slope):
    x = gc.tensor(X, requires_grad=True)
    y = F.leaky_relu(x, negative_slope=slope) if slope != 0.01 else F.leaky_relu(x)
    np.testing.assert_allclose(y.data, np.where(X > 0, X, slope * X))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.where(X > 0, 1.0, slope))


def test_gelu_against_erf_formula_and_its_tanh_approximation():
    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(F.gelu(x).data, exact_gelu(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").data, tanh_gelu(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").data, exact_gelu(x), atol=1e-3)  # a close approximation
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


def test_softmax_sums_to_one_and_matches_the_definition():
    s = F.softmax(X).data
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(s, naive_softmax(X), rtol=1e-13)
    np.testing.assert_allclose(F.softmax(X, axis=0).data, naive_softmax(X, axis=0), rtol=1e-13)
    np.testing.assert_allclose(F.softmax(X + 100.0).data, s, rtol=1e-12)  # invariant to a shift


def test_log_softmax_equals_log_of_softmax():
    np.testing.assert_allclose(F.log_softmax(X).data, np.log(naive_softmax(X)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F.log_softmax(X, axis=0).data, np.log(naive_softmax(X, axis=0)), rtol=1e-12)


def test_mse_loss_is_the_mean_of_squares():
    pred, target = X, X[::-1] * 0.5
    np.testing.assert_allclose(F.mse_loss(pred, target).item(), np.mean((pred - target) ** 2), rtol=1e-14)
    p = gc.tensor(pred, requires_grad=True)
    F.mse_loss(p, target).backward()
    np.testing.assert_allclose(p.grad, 2 * (pred - target) / pred.size, rtol=1e-13)


def test_mse_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(np.ones((4, 1)), np.ones(4))


def test_cross_entropy_matches_the_definition_and_its_gradient():
    logits = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [3.0, 2.9, -1.0], [-0.5, 4.0, 1.0]])
    probs = naive_softmax(logits)
    expected = -np.mean(np.log(probs[np.arange(4), TARGETS]))
    z = gc.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, TARGETS)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad, (probs - np.eye(3)[TARGETS]) / 4, rtol=1e-12, atol=1e-15)


def test_cross_entropy_accepts_integer_valued_targets_in_other_dtypes():
    logits = np.array([[0.0, 1.0], [2.0, 0.0]])
    a = F.cross_entropy(logits, [1, 0]).item()
    assert F.cross_entropy(logits, np.array([1.0, 0.0])).item() == pytest.approx(a)
    assert F.cross_entropy(logits, gc.tensor([1, 0])).item() == pytest.approx(a)


def test_cross_entropy_with_huge_logits(strict_floats):
    logits = np.array([[1e4, 1e4 - 3.0, -1e4], [5000.0, 1e4, 1e4 + 0.5], [-1e4, -1e4, -1e4]])
    targets = np.array([1, 0, 2])
    expected = np.mean([careful_cross_entropy(row, t) for row, t in zip(logits, targets)])
    z = gc.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(z.grad.sum(axis=1), 0.0, atol=1e-15)  # softmax minus one-hot sums to 0


@pytest.mark.parametrize("targets, message", [
    (np.array([0, 3]), r"\[0, 2\]"),          # out of range for 3 classes
    (np.array([-1, 0]), r"\[0, 2\]"),
    (np.array([[0], [1]]), r"\(2, 1\)"),      # wrong shape
    (np.array([0, 1, 2]), r"\(3,\)"),
    (np.array([0.5, 1.0]), "integer"),        # not class indices
])
def test_cross_entropy_bad_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(np.zeros((2, 3)), targets)


def test_cross_entropy_needs_2d_logits():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        F.cross_entropy(np.zeros(3), np.array([0]))


def test_bce_with_logits_matches_the_naive_formula():
    x = np.array([[-3.0, 0.5, 2.0], [0.0, -0.7, 4.0]])
    s = 1.0 / (1.0 + np.exp(-x))
    expected = -np.mean(PROBS * np.log(s) + (1 - PROBS) * np.log(1 - s))
    t = gc.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, PROBS)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(t.grad, (s - PROBS) / x.size, rtol=1e-12)


def test_bce_with_logits_gives_targets_that_require_grad_their_gradient_as_pytorch():
    x = np.array([[-3.0, 0.5, 2.0], [0.0, -0.7, 4.0]])
    logits, targets = gc.tensor(x, requires_grad=True), gc.tensor(PROBS, requires_grad=True)
    F.binary_cross_entropy_with_logits(logits, targets).backward()
    np.testing.assert_allclose(targets.grad, -x / x.size, rtol=1e-12)  # (torch 2.13: the same)
    np.testing.assert_allclose(logits.grad, (1 / (1 + np.exp(-x)) - PROBS) / x.size, rtol=1e-12)
    assert gc.gradcheck(lambda t: F.binary_cross_entropy_with_logits(gc.tensor(x), t),
                        gc.tensor([[0.2, 0.5, 0.7], [0.4, 0.9, 0.1]], requires_grad=True))


def test_bce_with_logits_at_huge_logits(strict_floats):
    x = gc.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, targets)
    loss.backward()
    # wrong with confidence 1e4 costs 1e4; right costs log(1 + e^-1e4) = 0
    np.testing.assert_allclose(loss.item(), (1e4 + 1e4) / 4)
    np.testing.assert_allclose(x.grad, np.array([1.0, -1.0, 0.0, 0.0]) / 4)


def test_bce_with_logits_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        F.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros(3))


@pytest.mark.parametrize("scale", [1000.0, 5000.0])
@pytest.mark.parametrize("fn", [F.sigmoid, F.tanh, F.softmax, F.log_softmax, F.gelu,
                                lambda x: F.gelu(x, approximate="tanh")],
                         ids=["sigmoid", "tanh", "softmax", "log_softmax", "gelu", "gelu-tanh"])
def test_activations_are_stable_far_out(fn, scale, strict_floats):
    x = gc.tensor(np.array([[-1.0, -0.5, 0.0, 0.5, 1.0]]) * scale, requires_grad=True)
    y = fn(x)
    (y * gc.tensor(np.linspace(0.5, 1.5, 5))).sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))


def test_softmax_of_huge_logits_is_a_one_hot(strict_floats):
    np.testing.assert_allclose(F.softmax(np.array([1e4, 1e4 - 800.0, 0.0])).data, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(F.log_softmax(np.array([1e4, 1e4 - 1.0])).data,
                               [-math.log1p(math.exp(-1.0)), -1.0 - math.log1p(math.exp(-1.0))], rtol=1e-12)


def test_linear_equals_numpy(rng):
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    np.testing.assert_allclose(F.linear(x, w, b).data, x @ w + b, rtol=1e-13)
    np.testing.assert_allclose(F.linear(x, w).data, x @ w, rtol=1e-13)
    x3 = rng.standard_normal((2, 4, 3))
    np.testing.assert_allclose(F.linear(x3, w, b).data, np.einsum("bni,io->bno", x3, w) + b, rtol=1e-13)


def test_linear_feature_mismatch_names_the_shapes():
    with pytest.raises(ShapeError, match=r"\(3, 2\).*got \(5, 4\)"):
        F.linear(np.ones((5, 4)), np.ones((3, 2)))


@pytest.mark.parametrize("fn", [F.sigmoid, F.tanh, F.relu, F.leaky_relu, F.gelu, F.softmax, F.log_softmax])
def test_functions_accept_arrays_and_return_tensors(fn):
    out = fn(np.array([[1, 2], [3, 4]]))  # int input: converted, no graph
    assert isinstance(out, gc.Tensor) and out.data.dtype == np.float64 and not out.requires_grad


# ----- the losses by name: one resolver ------------------------------------------------------
def test_loss_function_resolves_names_callables_and_extra_names():
    assert F.loss_function("mse", "fit") is F.mse_loss
    assert F.loss_function("cross_entropy", "fit") is F.cross_entropy
    mine = lambda out, y: out.sum()  # noqa: E731
    assert F.loss_function(mine, "fit") is mine
    assert F.loss_function("mean_square", "measure_at_init", extra={"mean_square": mine}) is mine
    with pytest.raises(ValueError, match="fit: loss must be one of 'cross_entropy', 'mse', 'bce_with_logits' or a "
                                         r"function loss\(output, target\).*got 'mean_square'"):
        F.loss_function("mean_square", "fit")
    with pytest.raises(ValueError, match="measure_at_init: loss must be one of 'mean_square', 'cross_entropy'.*got 'mae'"):
        F.loss_function("mae", "measure_at_init", extra={"mean_square": mine})


@pytest.mark.parametrize("loss", [3, ["mse"], None, {"mse": 1}])
def test_loss_function_of_another_kind_is_a_type_error(loss):
    with pytest.raises(TypeError, match=r"lr_range_test: loss must be one of .* or a function"):
        F.loss_function(loss, "lr_range_test")


def test_classification_losses_are_losses_that_take_class_logits():
    assert set(F.CLASSIFICATION_LOSSES) < set(F.LOSSES) and "mse" not in F.CLASSIFICATION_LOSSES
    logits = np.array([[2.0, -1.0], [0.5, 0.3]])
    assert F.LOSSES["cross_entropy"](logits, np.array([0, 1])).item() > 0
    assert F.LOSSES["bce_with_logits"](logits, np.array([[1.0, 0.0], [0.0, 1.0]])).item() > 0


def test_tensor_activations_and_the_fused_ones_share_one_derivative_table():
    """Tensor.tanh/.sigmoid/.relu and linear_activation give the same values and gradients (one table)."""
    assert set(F.ACTIVATIONS_FROM_OUTPUT) == {"tanh", "sigmoid", "relu"}
    w = np.array([[0.5, -1.0], [2.0, 0.3]])
    for name in F.ACTIVATIONS_FROM_OUTPUT:
        x1, x2 = gc.tensor([[0.2, -0.7]], requires_grad=True), gc.tensor([[0.2, -0.7]], requires_grad=True)
        alone = getattr(F.linear(x1, w), name)()
        fused = F.linear_activation(x2, w, None, name)
        np.testing.assert_array_equal(alone.data, fused.data)
        alone.sum().backward()
        fused.sum().backward()
        np.testing.assert_array_equal(x1.grad, x2.grad)
        assert gc.autograd.gradcheck(lambda x: getattr(x, name)(), gc.tensor([[0.3, -1.2, 2.0]], requires_grad=True))


def test_leaky_relu_default_slope_is_the_one_constant():
    assert F.leaky_relu(np.array([-2.0])).data[0] == -2.0 * F.LEAKY_RELU_SLOPE == -0.02
