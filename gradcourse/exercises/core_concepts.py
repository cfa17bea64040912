"""Exercises 2 (core concepts): the sigmoid in the autograd, a gradient by hand, a bound on a deep gradient."""
import numpy as np

from .. import functional, nn
from ..autograd import Tensor, _stable_sigmoid, tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _backward_through, _call, _check_shape,
                    _close, _finite_difference, _fmt, _passed, _recognise, _worst,
                    register_course_implementations)


register_course_implementations("sigmoid", {
    "gradcourse.functional.sigmoid": functional.sigmoid,
    "Tensor.sigmoid (gradcourse.autograd)": Tensor.sigmoid,
    "gradcourse.autograd._stable_sigmoid": _stable_sigmoid,
    "gradcourse.nn.Sigmoid": nn.Sigmoid.forward,
})
register_course_implementations("linreg_gradient", {})
register_course_implementations("jacobian_bound", {})

_SIGMOID_POINTS = (-3.0, -1.0, 0.0, 0.5, 2.0)


def check_sigmoid_forward(sigmoid, x=_SIGMOID_POINTS):
    """`sigmoid(x: Tensor) -> Tensor` computes 1 / (1 + e^-x) entry by entry."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["sigmoid"]
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-x))
    out = _call(sigmoid, tensor(x), course=course)
    if not isinstance(out, Tensor):
        raise ExerciseError(f"sigmoid should return a Tensor (wrap the result with record_op), "
                            f"got {type(out).__name__}")
    got = out.data
    _check_shape(got, expected, "sigmoid(x)", " (sigmoid works entry by entry, so it keeps the shape)")
    mistakes = [("you computed sigma(-x): the exponent is e^(-x), so large x gives values near 1", 1 - expected),
                ("this is tanh(x), not the logistic sigmoid", np.tanh(x))]
    if not _close(got, expected, atol=1e-12):
        i = _worst(got, expected)
        hint = _recognise(got, mistakes) or "sigma(x) = 1 / (1 + e^(-x))"
        raise ExerciseError(f"sigmoid forward at x = {_fmt(x[i])}: expected {_fmt(expected[i])}, "
                            f"got {_fmt(got[i])}; {hint}")
    _passed(f"sigmoid forward matches 1 / (1 + e^-x) at {x.size} points")


def check_sigmoid_backward(sigmoid, x=_SIGMOID_POINTS):
    """sigmoid's backward gives sigma(x)(1 - sigma(x)) times the upstream gradient."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["sigmoid"]
    x = np.asarray(x, dtype=np.float64)
    # (each entry depends on its own x only)
    slope = _finite_difference(lambda z: np.sum(1.0 / (1.0 + np.exp(-z))), x)
    _, (got,) = _backward_through(sigmoid, [tensor(x, requires_grad=True)], 1.0, course=course)
    _check_backward_shape(got, x)
    _check_sigmoid_slope(got, slope, x)
    upstream = np.linspace(-2.0, 3.0, x.size).reshape(x.shape)
    _, (got,) = _backward_through(sigmoid, [tensor(x, requires_grad=True)], upstream, course=course)
    if _close(got, slope, rtol=1e-5, atol=1e-8) and not _close(slope, upstream * slope):
        raise ExerciseError("your sigmoid backward ignores the upstream gradient g: the chain rule needs "
                            "g * sigma(x) * (1 - sigma(x))")
    _check_sigmoid_slope(got, upstream * slope, x, f" with upstream gradient g = {_fmt(upstream)}")
    _passed(f"sigmoid backward matches finite differences at {x.size} points")


def _check_backward_shape(got, x):
    if got is None:
        raise ExerciseError("no gradient reached x: return record_op(out, (x,), backward) so the engine "
                            "knows x is the input")
    if np.shape(got) != x.shape:
        raise ExerciseError(f"the gradient reaching x has shape {np.shape(got)}, expected {x.shape}: backward "
                            f"must return a tuple with one gradient per input, e.g. `return (g * ...,)` "
                            f"(mind the comma)")


def _check_sigmoid_slope(got, expected, x, context=""):
    if _close(got, expected, rtol=1e-5, atol=1e-8):
        return
    s = 1.0 / (1.0 + np.exp(-x))
    scale = expected / (s * (1 - s))  # the upstream gradient
    mistakes = [("is missing the factor (1 - sigma(x)) (it gives sigma(x))", scale * s),
                ("is missing the factor sigma(x) (it gives 1 - sigma(x))", scale * (1 - s)),
                ("has the wrong sign", -expected),
                ("uses the slope at x = 0, 1/4, everywhere", scale * 0.25),
                ("uses sigma(x) * (1 + sigma(x))", scale * s * (1 + s))]
    i = _worst(got, expected)
    what = _recognise(got, mistakes)
    ratio = got / np.where(expected == 0, np.nan, expected)
    if what is None and np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio.flat[0], rtol=1e-4):
        what = f"is off by a constant factor of {_fmt(ratio.flat[0])}"
    what = what or "is wrong"
    raise ExerciseError(f"your sigmoid backward {what}{context}: at x = {_fmt(x[i])} expected "
                        f"{_fmt(expected[i])}, got {_fmt(got[i])}. The derivative is sigma(x) * (1 - sigma(x)).")


def check_linreg_gradient(linreg_gradient, n=8, features=3, seed=3):
    """`linreg_gradient(X, theta, y)` is the gradient of mean((X theta - y)^2): 2/n X^T (X theta - y)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["linreg_gradient"]
    rng = np.random.default_rng(seed)
    X, theta, y = rng.normal(size=(n, features)), rng.normal(size=features), rng.normal(size=n)
    expected = _finite_difference(lambda t: np.mean((X @ t - y) ** 2), theta)
    got = _call(linreg_gradient, X.copy(), theta.copy(), y.copy(), course=course)
    got = _array(got, "linreg_gradient(X, theta, y)")
    _check_shape(got, expected, "linreg_gradient(X, theta, y)", ": return a vector shaped like theta "
                 "(with a 1-D theta and y, X.T @ (X @ theta - y) already is)")
    mistakes = [("it is half the right value: the derivative of r^2 is 2r, so keep the factor 2", expected / 2),
                (f"it is {n} times too large: the loss is a mean, so divide by n", n * expected),
                (f"it is {n / 2:g} times too large: divide by n and keep the factor 2", n / 2 * expected),
                ("it has the wrong sign: the residual is X theta - y (prediction minus target)", -expected)]
    if not _close(got, expected, rtol=1e-5, atol=1e-8):
        hint = _recognise(got, mistakes) or "the gradient is 2/n X^T (X theta - y)"
        raise ExerciseError(f"expected {_fmt(expected)}, got {_fmt(got)}: {hint}")
    _passed(f"linreg_gradient matches finite differences of the mean squared error "
            f"({n} examples, {features} features)")


def check_jacobian_bound(jacobian_bound, max_slope=0.25, seed=4):
    """`jacobian_bound(weights, max_slope)` = prod over layers of max_slope * ||W_l||_2."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["jacobian_bound"]
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=shape) for shape in [(5, 4), (4, 4), (4, 3)]]
    spectral = [np.linalg.svd(W, compute_uv=False)[0] for W in weights]
    expected = float(np.prod([max_slope * s for s in spectral]))
    got = _array(_call(jacobian_bound, [W.copy() for W in weights], max_slope, course=course),
                 "jacobian_bound(...)")
    frobenius = [np.sqrt(np.sum(W**2)) for W in weights]
    mistakes = [("it uses the Frobenius norm; the bound needs the spectral norm (largest singular value, "
                 "np.linalg.norm(W, 2))", np.prod([max_slope * f for f in frobenius])),
                ("max_slope is missing: every layer multiplies by an activation slope of at most max_slope",
                 np.prod(spectral)),
                ("max_slope is applied once; it belongs to every layer, so it appears to the power L",
                 max_slope * np.prod(spectral)),
                ("the layers' factors are added; the chain rule multiplies them",
                 sum(max_slope * s for s in spectral))]
    if np.ndim(got) != 0 or not _close(got, expected):
        hint = _recognise(got, mistakes) or "the bound is the product of max_slope * ||W_l||_2 over the layers"
        raise ExerciseError(f"for 3 layers expected {_fmt(expected)}, got {_fmt(got)}: {hint}")
    actual = _sigmoid_net_jacobian_norm(weights, rng.normal(size=5))
    _passed(f"jacobian_bound matches the product of max_slope * ||W_l||_2 over 3 layers "
            f"(bound {expected:.3g} >= actual {actual:.3g} for a sigmoid net)")


def _sigmoid_net_jacobian_norm(weights, x):
    """Spectral norm of d(output)/d(input) of h -> sigmoid(h @ W) repeated, at input x."""
    jacobian = np.eye(x.size)
    for W in weights:
        s = 1.0 / (1.0 + np.exp(-(x @ W)))
        jacobian = jacobian @ W * (s * (1 - s))  # (row vector convention: J <- J W diag(sigma'))
        x = s
    return float(np.linalg.svd(jacobian, compute_uv=False)[0])


CHECKERS = [check_sigmoid_forward, check_sigmoid_backward, check_linreg_gradient, check_jacobian_bound]
