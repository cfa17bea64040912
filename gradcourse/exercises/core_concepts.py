"""Exercises 2 (core concepts): the sigmoid in the autograd, a gradient by hand, a bound on a deep
gradient, an initialisation that keeps the signal through 30 layers, the spectrum of a network's
Jacobian, and case 4 (a loss that falls, a test accuracy that lags) to measure, diagnose and repair."""
import math

import numpy as np

from .. import casebook, diagnostics, functional, init, nn
from ..autograd import Tensor, _stable_sigmoid, no_grad, tensor
from ..rng import seeded
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _backward_through, _call, _check_shape,
                    _close, _course_generator_untouched, _finite_difference, _fmt, _name, _passed,
                    _recognise, _refuse_course_code, _returned_none, _watched, _worst,
                    register_course_implementations)
from ._repairs import _check_accuracies, _check_kept_layout, _layout, _watched_repair, check_cause


register_course_implementations("sigmoid", {
    "gradcourse.functional.sigmoid": functional.sigmoid,
    "Tensor.sigmoid (gradcourse.autograd)": Tensor.sigmoid,
    "gradcourse.autograd._stable_sigmoid": _stable_sigmoid,
    "gradcourse.nn.Sigmoid": nn.Sigmoid.forward,
})
register_course_implementations("linreg_gradient", {})
register_course_implementations("jacobian_bound", {})
register_course_implementations("init_weight", {
    "gradcourse.init.calculate_gain": init.calculate_gain,
    "gradcourse.init.kaiming_normal_": init.kaiming_normal_,
    "gradcourse.init.kaiming_uniform_": init.kaiming_uniform_,
    "gradcourse.init.xavier_normal_": init.xavier_normal_,
    "gradcourse.init.xavier_uniform_": init.xavier_uniform_,
    "gradcourse.init.orthogonal_": init.orthogonal_,
    "gradcourse.init.init_linear_ (nn.Linear's initialisation)": init.init_linear_,
})
register_course_implementations("jacobian_singular_values", {
    "gradcourse.diagnostics.input_output_jacobian": diagnostics.input_output_jacobian,
    "gradcourse.diagnostics.jacobian_singular_values": diagnostics.jacobian_singular_values,
})

# a 2 x 3 input: sigmoid works entry by entry, on an array of any shape
_SIGMOID_POINTS = ((-3.0, -1.0, 0.0), (0.5, 2.0, 4.0))


def _shape_of(x):
    return f"{x.size}-entry" if x.ndim == 1 else " x ".join(map(str, x.shape)) or "0-d"


def _raised(error, x, part):
    """The ✗ for an error your sigmoid raised on the input x (a matrix product where entry by entry is meant)."""
    return ExerciseError(f"your sigmoid {part} raised {type(error).__name__} on a {_shape_of(x)} input x "
                         f"({str(error)[:120]}). sigmoid works entry by entry, on an array of any shape: its "
                         f"backward is g * sigma(x) * (1 - sigma(x)), multiplied entry by entry (*), not a product "
                         f"(@) with a Jacobian matrix such as np.diag(...)")


def check_sigmoid_forward(sigmoid, x=_SIGMOID_POINTS):
    """`sigmoid(x: Tensor) -> Tensor` computes 1 / (1 + e^-x) entry by entry (on a 2 x 3 input)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["sigmoid"]
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-x))
    try:
        out = _call(sigmoid, tensor(x), course=course)
    except (ValueError, IndexError, TypeError) as error:
        raise _raised(error, x, "forward") from None
    if out is None:
        raise _returned_none(f"{_name(sigmoid)}(x)")
    if not isinstance(out, Tensor):
        raise ExerciseError(f"sigmoid should return a Tensor (wrap the result with record_op), "
                            f"got {type(out).__name__}")
    got = out.data
    _check_shape(got, expected, "sigmoid(x)", " (sigmoid works entry by entry, so it keeps the shape)")
    mistakes = [("you computed sigma(-x): the exponent is e^(-x), so large x gives values near 1", 1 - expected),
                ("this is tanh(x), not the logistic sigmoid", np.tanh(x))]
    if not _close(got, expected, atol=1e-8):  # (clipping x at +-20 against overflow changes sigma by 2e-9 at most)
        i = _worst(got, expected)
        hint = _recognise(got, mistakes) or "sigma(x) = 1 / (1 + e^(-x))"
        raise ExerciseError(f"sigmoid forward at x = {_fmt(x[i])}: expected {_fmt(expected[i])}, "
                            f"got {_fmt(got[i])} (they differ by {_fmt(abs(got[i] - expected[i]))}); {hint}")
    _passed(f"sigmoid forward matches 1 / (1 + e^-x) entry by entry on a {_shape_of(x)} input")


def check_sigmoid_backward(sigmoid, x=_SIGMOID_POINTS):
    """sigmoid's backward gives sigma(x)(1 - sigma(x)) times the upstream gradient."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["sigmoid"]
    x = np.asarray(x, dtype=np.float64)
    # (each entry depends on its own x only)
    slope = _finite_difference(lambda z: np.sum(1.0 / (1.0 + np.exp(-z))), x)
    got = _sigmoid_gradient(sigmoid, x, 1.0, course)
    _check_backward_shape(got, x)
    _check_sigmoid_slope(got, slope, x)
    upstream = np.linspace(-1.5, 3.0, x.size).reshape(x.shape)
    got = _sigmoid_gradient(sigmoid, x, upstream, course)
    if _close(got, slope, rtol=1e-5, atol=1e-8) and not _close(slope, upstream * slope):
        raise ExerciseError("your sigmoid backward ignores the upstream gradient g: the chain rule needs "
                            "g * sigma(x) * (1 - sigma(x))")
    _check_sigmoid_slope(got, upstream * slope, x, f" with upstream gradient g = {_fmt(upstream)}")
    _passed(f"sigmoid backward matches finite differences entry by entry on a {_shape_of(x)} input, with "
            f"upstream gradients 1 and g")


def _sigmoid_gradient(sigmoid, x, upstream, course):
    """The gradient reaching x when `upstream` comes back through sigmoid(x), or a ✗ naming what went wrong."""
    __tracebackhide__ = True
    try:
        _, (got,) = _backward_through(sigmoid, [tensor(x, requires_grad=True)], upstream, course=course)
    except ExerciseError as error:
        if "should return a Tensor, got NoneType" in str(error):
            raise _returned_none(f"{_name(sigmoid)}(x)") from None
        raise
    except TypeError as error:
        if "NoneType" in str(error):
            raise _returned_none("your sigmoid's backward(g)") from None
        raise _raised(error, x, "backward") from None
    except (ValueError, IndexError) as error:
        raise _raised(error, x, "backward") from None
    return got


def _check_backward_shape(got, x):
    if got is None:
        raise ExerciseError("no gradient reached x. If your backward(g) returned None: add a return, a tuple "
                            "with one gradient per input (`return (g * ...,)`); and return record_op(out, (x,), "
                            "backward), so that the engine knows x is the input")
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
    """`linreg_gradient(X, theta, y)` is the gradient of mean((X theta - y)^2): 2/n X^T (X theta - y), checked
    for n examples with `features` features, and for n + 12 examples with features + 2."""
    __tracebackhide__ = True
    for settings in ((n, features, seed), (n + 12, features + 2, seed + 1)):
        _check_one_linreg(linreg_gradient, *settings)
    _passed(f"linreg_gradient matches finite differences of the mean squared error ({n} examples with "
            f"{features} features, and {n + 12} with {features + 2})")


def _check_one_linreg(linreg_gradient, n, features, seed):
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["linreg_gradient"]
    rng = np.random.default_rng(seed)
    X, theta, y = rng.normal(size=(n, features)), rng.normal(size=features), rng.normal(size=n)
    expected = _finite_difference(lambda t: np.mean((X @ t - y) ** 2), theta)
    got = _call(linreg_gradient, X.copy(), theta.copy(), y.copy(), course=course)
    if got is None:
        raise _returned_none(f"{_name(linreg_gradient)}(X, theta, y)")
    got = _array(got, "linreg_gradient(X, theta, y)")
    _check_shape(got, expected, "linreg_gradient(X, theta, y)", ": return a vector shaped like theta "
                 "(with a 1-D theta and y, X.T @ (X @ theta - y) already is)")
    mistakes = [("it is half the right value: the derivative of r^2 is 2r, so keep the factor 2", expected / 2),
                (f"it is {n} times too large: the loss is a mean, so divide by n", n * expected),
                (f"it is {n / 2:g} times too large: divide by n and keep the factor 2", n / 2 * expected),
                ("it has the wrong sign: the residual is X theta - y (prediction minus target)", -expected)]
    if not _close(got, expected, rtol=1e-5, atol=1e-8):
        hint = _recognise(got, mistakes) or "the gradient is 2/n X^T (X theta - y)"
        raise ExerciseError(f"for {n} examples with {features} features expected {_fmt(expected)}, got "
                            f"{_fmt(got)}: {hint}")


# ----- 2.3 a bound on the gradient of a deep network ------------------------------------------
# (max_slope, the weights' shapes): the sigmoid's 1/4 over 3 layers, tanh's 1 over 5
_BOUND_SETTINGS = ((0.25, [(5, 4), (4, 4), (4, 3)]), (1.0, [(3, 6), (6, 6), (6, 5), (5, 4), (4, 2)]))


def check_jacobian_bound(jacobian_bound, seed=4):
    """`jacobian_bound(weights, max_slope)` = prod over layers of max_slope * ||W_l||_2, checked at
    max_slope = 1/4 (the sigmoid's) on 3 layers and max_slope = 1 (tanh's) on 5."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["jacobian_bound"]
    rng = np.random.default_rng(seed)
    shown = []
    for max_slope, shapes in _BOUND_SETTINGS:
        weights = [rng.normal(size=shape) for shape in shapes]
        spectral = [np.linalg.svd(W, compute_uv=False)[0] for W in weights]
        expected = float(np.prod([max_slope * s for s in spectral]))
        got = _call(jacobian_bound, [W.copy() for W in weights], max_slope, course=course)
        if got is None:
            raise _returned_none(f"{_name(jacobian_bound)}(weights, max_slope)")
        got = _array(got, "jacobian_bound(...)")
        if np.ndim(got) != 0 and got.size == 1:
            raise ExerciseError(f"for {len(weights)} layers and max_slope = {_fmt(max_slope)}, jacobian_bound "
                                f"returned an array of shape {got.shape} ({_fmt(got)}): return a number (a float, "
                                f"or a 0-d result such as np.prod(...) without keepdims)")
        if np.ndim(got) != 0 or not _close(got, expected):
            hint = _recognise(got, _bound_mistakes(weights, spectral, max_slope))
            hint = hint or "the bound is the product of max_slope * ||W_l||_2 over the layers"
            raise ExerciseError(f"for {len(weights)} layers and max_slope = {_fmt(max_slope)} expected "
                                f"{_fmt(expected)}, got {_fmt(got)}: {hint}")
        actual = _net_jacobian_norm(weights, rng.normal(size=shapes[0][0]), max_slope)
        net = "sigmoid" if max_slope == 0.25 else "tanh"
        shown.append(f"max_slope {_fmt(max_slope)} over {len(weights)} layers (bound {expected:.3g} >= "
                     f"{actual:.3g}, the actual norm for a {net} net)")
    _passed("jacobian_bound matches the product of max_slope * ||W_l||_2 for " + " and for ".join(shown))


def _bound_mistakes(weights, spectral, max_slope):
    frobenius = [np.sqrt(np.sum(W**2)) for W in weights]
    mistakes = [("it uses the Frobenius norm; the bound needs the spectral norm (largest singular value, "
                 "np.linalg.norm(W, 2))", np.prod([max_slope * f for f in frobenius])),
                ("max_slope is missing: every layer multiplies by an activation slope of at most max_slope",
                 np.prod(spectral)),
                ("max_slope is applied once; it belongs to every layer, so it appears to the power L",
                 max_slope * np.prod(spectral)),
                ("the layers' factors are added; the chain rule multiplies them",
                 sum(max_slope * s for s in spectral))]
    if max_slope != 0.25:
        mistakes.append(("it uses the sigmoid's slope 1/4 whatever max_slope is: use the argument max_slope "
                         "(tanh's slope is at most 1)", np.prod([0.25 * s for s in spectral])))
    return mistakes


def _net_jacobian_norm(weights, x, max_slope):
    """Spectral norm of d(output)/d(input) of h -> sigmoid(h @ W) (max_slope 1/4) or tanh(h @ W), at x."""
    jacobian = np.eye(x.size)
    for W in weights:
        z = x @ W
        x = 1.0 / (1.0 + np.exp(-z)) if max_slope == 0.25 else np.tanh(z)
        slope = x * (1 - x) if max_slope == 0.25 else 1 - x**2
        jacobian = jacobian @ W * slope  # (row vector convention: J <- J W diag(phi'))
    return float(np.linalg.svd(jacobian, compute_uv=False)[0])


# ----- 2.5 an initialisation that keeps the signal through 30 layers -------------------------
_GAINS = {"linear": 1.0, "relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}
_GAIN_NAMES = {"linear": "1", "relu": "sqrt(2)", "tanh": "5/3"}
_ACTIVATIONS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}
# Where the std of every layer's activations must stay, through 30 layers of width 128 started with
# N(0, 1) inputs. Measured over 50 seeds with the right weights: linear 0.70 to 1.36, relu 0.17 to
# 1.87, tanh 0.64 to 0.76; every mistake below leaves the band by a factor of 2 or (mostly) far more.
STD_BANDS = {"linear": (1 / 3, 3.0), "relu": (0.05, 20.0), "tanh": (0.4, 0.9)}


def _draws(init_weight, calls):
    """[init_weight(*args) for args in calls], each as a float array, watched as `_call` watches one call."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["init_weight"]
    _refuse_course_code(init_weight)

    def draw():
        __tracebackhide__ = True
        return [init_weight(*args) for args in calls]
    try:
        weights = _watched(init_weight, course, draw)
    except NotImplementedError:
        raise ExerciseError(f"{_name(init_weight)} is not written yet: replace the line "
                            f"`raise NotImplementedError()` with your code") from None
    for W, args in zip(weights, calls):
        if W is None:
            raise _returned_none(f"{_name(init_weight)}{_args(args)}")
    return [_array(W, f"init_weight{_args(args)}") for W, args in zip(weights, calls)]


def _args(args):
    fan_in, fan_out, nonlinearity = args[:3]
    return f"({fan_in}, {fan_out}, {nonlinearity!r}, rng)"


def _stack_stds(init_weight, nonlinearity, seed, width, depth, batch=128):
    """The std of each layer's activations in `depth` layers h_l = f(h_(l-1) W_l) of your weights."""
    rng = np.random.default_rng(seed)
    weights = _draws(init_weight, [(width, width, nonlinearity, rng)] * depth)
    h = np.random.default_rng(seed + 1000).standard_normal((batch, width))
    stds = []
    with np.errstate(all="ignore"):
        for W in weights:
            _check_shape(W, np.zeros((width, width)), f"init_weight({width}, {width}, {nonlinearity!r}, rng)")
            h = _ACTIVATIONS[nonlinearity](h @ W)
            stds.append(float(np.std(h)))
    return np.array(stds)


def _through(stds, nonlinearity, width):
    """What `stds` (one per layer) did, in words."""
    return (f"through {len(stds)} {nonlinearity} layers of width {width} started with your weights, the "
            f"activations' std went from {stds[0]:.2g} (layer 1) to {stds[-1]:.2g} (layer {len(stds)})")


def check_init_weight(init_weight, fan_in=256, fan_out=64, width=128, depth=30, seeds=(0, 1, 2)):
    """`init_weight(fan_in, fan_out, nonlinearity, rng)`: a (fan_in, fan_out) array drawn from `rng`, mean 0
    and std gain / sqrt(fan_in), with gain 1 ('linear'), sqrt(2) ('relu') or 5/3 ('tanh'); through `depth`
    layers of width `width` the activations' std stays in STD_BANDS[nonlinearity] for every seed."""
    __tracebackhide__ = True
    # both ways round (more inputs than outputs, and fewer), so that a scale from fan_out or from the
    # larger of the two, which agrees with fan_in one way round, shows
    shapes = [(fan_in, fan_out)] + ([(fan_out, fan_in)] if fan_in != fan_out else [])
    with np.errstate(all="ignore"):
        for nonlinearity, gain in _GAINS.items():
            for n_in, n_out in shapes:
                W = _check_one_draw(init_weight, n_in, n_out, nonlinearity, seeds[0])
                _check_scale(init_weight, W, n_in, n_out, nonlinearity, width, depth, seeds[0])
    ranges = []
    for nonlinearity in _GAINS:
        low, high = STD_BANDS[nonlinearity]
        all_stds = []
        for seed in seeds:
            stds = _stack_stds(init_weight, nonlinearity, seed, width, depth)
            inside = np.isfinite(stds) & (stds >= low) & (stds <= high)
            if not np.all(inside):
                layer = int(np.argmin(inside)) + 1
                raise ExerciseError(f"{_through(stds, nonlinearity, width)} (seed {seed}); at layer {layer} it "
                                    f"was {stds[layer - 1]:.3g}, outside [{low:.2g}, {high:.2g}] where a "
                                    f"{nonlinearity} network keeps it. Draw each matrix afresh from rng, "
                                    f"independently, with std gain / sqrt(fan_in)")
            all_stds.append(stds)
        all_stds = np.concatenate(all_stds)
        ranges.append(f"{nonlinearity} {all_stds.min():.2g} to {all_stds.max():.2g}")
    _passed(f"init_weight draws normal weights (kurtosis near 3) from rng with mean 0 and std gain / "
            f"sqrt(fan_in) for 'linear', 'relu' and "
            f"'tanh' ({' and '.join(f'{a} x {b}' for a, b in shapes)} weights); through {depth} layers of width {width} ({len(seeds)} "
            f"seeds) the activations' std stays within {', '.join(ranges)}")


def _check_one_draw(init_weight, fan_in, fan_out, nonlinearity, seed):
    """One draw of your weights: its shape, values, and that it comes from `rng`."""
    __tracebackhide__ = True
    args = (fan_in, fan_out, nonlinearity)
    same = np.random.default_rng(seed)
    W, again = _draws(init_weight, [(*args, np.random.default_rng(seed)), (*args, same)])
    what = f"init_weight{_args(args)}"
    if W.shape == (fan_out, fan_in) and fan_in != fan_out:
        raise ExerciseError(f"{what} has shape {W.shape}, expected ({fan_in}, {fan_out}): a gradcourse weight is "
                            f"(in_features, out_features) = (fan_in, fan_out), so that h @ W works")
    _check_shape(W, np.zeros((fan_in, fan_out)), what)
    if not np.all(np.isfinite(W)):
        raise ExerciseError(f"{what} contains nan or inf")
    if np.all(W == W.flat[0]):
        raise ExerciseError(f"{what} gave {W.size} equal weights: every unit of a layer would compute the same "
                            f"thing and receive the same gradient, so they never become different. Draw them "
                            f"at random, from rng")
    if fan_out > 1 and np.all(W == W[:, :1]):
        raise ExerciseError(f"{what} gave {fan_out} equal columns: the output units, one per column, would all "
                            f"compute the same thing and receive the same gradient, so they never become "
                            f"different. Draw every weight independently, from rng")
    if not np.array_equal(W, again):
        raise ExerciseError(f"{what} gave different weights for two generators rng seeded alike: it does not "
                            f"draw from rng. Use rng.normal(...), so that the weights are what rng makes them")
    second = _draws(init_weight, [(*args, same)])[0]
    if np.array_equal(W, second):
        raise ExerciseError(f"{what} gave the same weights twice from one rng: it draws from a generator of its "
                            f"own. Use rng.normal(...), so that each layer gets weights of its own")
    return W


def _check_scale(init_weight, W, fan_in, fan_out, nonlinearity, width, depth, seed):
    """Mean 0 and std gain / sqrt(fan_in), or a message naming the mistake (with what it does in 30 layers)."""
    gain = _GAINS[nonlinearity]
    expected = gain / math.sqrt(fan_in)
    what = f"init_weight{_args((fan_in, fan_out, nonlinearity))}"
    mean, std = float(np.mean(W)), float(np.std(W))
    if abs(mean) > 0.05 * std:
        raise ExerciseError(f"{what} has mean {mean:.3g} (std {std:.3g}); the weights should have mean 0: draw "
                            f"them from a distribution centred on 0, e.g. rng.normal(0.0, std, shape)")
    if abs(std / expected - 1) <= 0.03:
        _check_normal(W, what)
        return
    mistakes = _scale_mistakes(gain, nonlinearity, fan_in, fan_out)
    explanation = next((text for text, value in mistakes if abs(std / value - 1) <= 0.03
                        and abs(value / expected - 1) > 0.03), None)
    message = (f"{what}: the weights' std is {std:.3g}, expected gain / sqrt(fan_in) = "
               f"{_GAIN_NAMES[nonlinearity]} / sqrt({fan_in}) = {expected:.3g}")
    if fan_in != fan_out and abs(std / (gain / math.sqrt(fan_out)) - 1) <= 0.03:
        larger = " (here the larger of fan_in and fan_out)" if fan_out > fan_in else ""
        raise ExerciseError(f"{message}: you divided by sqrt(fan_out){larger}. Each unit sums fan_in inputs, so "
                            f"fan_in (W.shape[0]) sets the variance of its output")
    stds = _stack_stds(init_weight, nonlinearity, seed, width, depth)
    raise ExerciseError(f"{message}: {explanation or 'the std is gain / sqrt(fan_in)'}. In "
                        f"numbers: {_through(stds, nonlinearity, width)}")


def _kurtosis(W):
    return float(np.mean((W - np.mean(W)) ** 4) / np.var(W) ** 2)


# A normal distribution's kurtosis is 3, a uniform's 1.8; over 64 x 256 normal draws it is 3 +- 0.04.
KURTOSIS_BAND = (2.6, 3.4)


def _check_normal(W, what):
    """The task asks for normal weights: their kurtosis E[(w - mean)^4] / std^4 is near 3."""
    kurtosis = _kurtosis(W)
    if KURTOSIS_BAND[0] <= kurtosis <= KURTOSIS_BAND[1]:
        return
    shape = " (that of a uniform distribution)" if abs(kurtosis - 1.8) < 0.15 else ""
    raise ExerciseError(f"{what} has the right mean and std, but its kurtosis E[(w - mean)^4] / std^4 is "
                        f"{kurtosis:.2f}{shape}, where a normal distribution's is 3: the task asks for "
                        f"W ~ N(0, (gain / sqrt(fan_in))^2). Draw with rng.normal(0.0, std, shape)")


def _scale_mistakes(gain, nonlinearity, fan_in, fan_out):
    """(explanation, the std that mistake gives) for the usual wrong scales."""
    mistakes = [
        ("the square root is missing: gain^2 / fan_in is the variance, and the std its square root",
         gain / fan_in),
        ("that is the variance gain^2 / fan_in: rng.normal's scale is the std, the variance's square root",
         gain**2 / fan_in),
        ("the gain is squared: the gain multiplies the std (gain^2 multiplies the variance)",
         gain**2 / math.sqrt(fan_in)),
        ("that is Glorot (Xavier)'s std, gain * sqrt(2 / (fan_in + fan_out)); this scheme (He's) uses fan_in "
         "only", gain * math.sqrt(2.0 / (fan_in + fan_out))),
        ("a uniform U(-a, a) with a = std has std a / sqrt(3); and the task asks for a normal: draw with "
         "rng.normal(0.0, std, shape)",
         gain / math.sqrt(3 * fan_in)),
        ("that is nn.Linear's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose std is 1 / sqrt(3 fan_in)",
         1 / math.sqrt(3 * fan_in)),
        ("the std is 1: N(0, 1) whatever the width, far too large for a wide layer", 1.0),
    ]
    if nonlinearity == "relu":
        mistakes.append(("the gain is missing (1, Glorot's scale for a linear layer). A ReLU zeroes half of "
                         "its input, which halves the mean square of the signal: with gain 1 the std halves "
                         "every 2 layers; gain sqrt(2) makes up for it", 1 / math.sqrt(fan_in)))
    elif nonlinearity == "tanh":
        mistakes.append(("the gain is missing (1): tanh's slope is below 1 away from 0, so with gain 1 the "
                         "signal shrinks a little in every layer; PyTorch's gain for tanh is 5/3",
                         1 / math.sqrt(fan_in)))
    for other, other_gain in _GAINS.items():
        if other_gain != gain:
            mistakes.append((f"that is the gain of {other!r} ({_GAIN_NAMES[other]}), not of {nonlinearity!r}",
                             other_gain / math.sqrt(fan_in)))
    return mistakes


# ----- 2.6 the spectrum of the input-output Jacobian --------------------------------------------
# The checker's networks: (sizes, activation after each hidden layer, weight scale)
_SPECTRUM_NETWORKS = (((5, 7, 4), nn.Tanh, 2.0), ((3, 6, 6, 6), nn.Tanh, 2.0), ((4, 4, 4, 4, 4, 4), nn.Sigmoid, 3.0))


def _spectrum_network(sizes, activation, scale, seed):
    """A Sequential of Linear layers `sizes`, `activation` between them, weights scaled by `scale`."""
    with _course_generator_untouched(), seeded(seed):
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers += [nn.Linear(n_in, n_out)] + ([activation()] if i < len(sizes) - 2 else [])
        model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.data *= scale
    return model


def _fd_jacobian(model, x, h=1e-6):
    """J[i, j] = d output_i / d x_j by central differences of the model's forward pass."""
    def f(z):
        with no_grad():
            return model(tensor(z.reshape(1, -1))).data[0]
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.array(columns).T


def _svd(matrix):
    return np.linalg.svd(matrix, compute_uv=False)


def check_jacobian_singular_values(jacobian_singular_values, seed=5):
    """`jacobian_singular_values(model, x)`: the singular values, largest first, of d(output)/d(input) at
    one input x of shape (n_in,), on 3 networks (5 -> 4, 3 -> 6, 4 -> 4; 2, 3 and 5 weight layers)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["jacobian_singular_values"]
    inputs = np.random.default_rng(seed)
    shown = []
    for number, (sizes, activation, scale) in enumerate(_SPECTRUM_NETWORKS):
        model = _spectrum_network(sizes, activation, scale, seed + number)
        x = inputs.normal(size=sizes[0])
        J = _fd_jacobian(model, x)
        expected = _svd(J)
        result = _call(jacobian_singular_values, model, x.copy(), course=course)
        if result is None:
            raise _returned_none(f"{_name(jacobian_singular_values)}(model, x)")
        what = (f"for a network {' -> '.join(map(str, sizes))} ({len(sizes) - 1} weight layers, "
                f"{activation.__name__}), jacobian_singular_values(model, x)")
        if isinstance(result, tuple) and len(result) == 3:
            raise ExerciseError(f"{what} returned 3 arrays: np.linalg.svd returns (U, S, Vh); the singular "
                                f"values are S, or np.linalg.svd(J, compute_uv=False)")
        got = _array(result, what)
        if got.ndim == 2:
            if (_close(got, J, rtol=1e-5, atol=1e-8) or _close(got, J.T, rtol=1e-5, atol=1e-8)):
                raise ExerciseError(f"{what} returned the Jacobian itself, a {got.shape[0]} x {got.shape[1]} "
                                    f"matrix: return its singular values, np.linalg.svd(J, compute_uv=False)")
            raise ExerciseError(f"{what} returned a {got.shape} array; return a 1-D array of the "
                                f"{expected.size} singular values")
        if _close(got, expected, rtol=1e-5, atol=1e-8):
            shown.append(f"{sizes[0]} -> {sizes[-1]}")
            continue
        hint = _recognise(got, _spectrum_mistakes(J, model, x, sizes)) if got.ndim == 1 else None
        hint = hint or ("build J one row per output unit (a backward pass from that output) and return "
                        "np.linalg.svd(J, compute_uv=False)")
        raise ExerciseError(f"{what}: expected {_fmt(expected)}, got {_fmt(got)}; {hint}")
    _passed(f"jacobian_singular_values matches the singular values of a finite-difference Jacobian for 3 "
            f"networks ({', '.join(shown)}: 2, 3 and 5 weight layers)")


def _spectrum_mistakes(J, model, x, sizes):
    n_out, n_in = J.shape
    mistakes = [
        ("these are the squares of the singular values (the eigenvalues of J J^T): take their square roots, "
         "or the singular values of J itself", _svd(J) ** 2),
        ("the values are in increasing order; np.linalg.svd gives them largest first", _svd(J)[::-1]),
        ("the rows add up: the input's .grad keeps what earlier backward passes left in it. Clear it "
         "before each backward pass (or use a fresh input Tensor each time)", _svd(np.cumsum(J, axis=0))),
        ("this is the norm of the gradient of the sum of the outputs, one row of J^T 1: J needs one "
         "backward pass per output unit", np.array([np.linalg.norm(J.sum(axis=0))])),
        ("these are the singular values of the Jacobian at x = 0: use the input x you are given",
         _svd(_fd_jacobian(model, np.zeros_like(x)))),
    ]
    if n_out > n_in:
        mistakes.append((f"J has only {n_in} rows here: it needs one row per output unit ({n_out}), each as "
                         f"long as the input ({n_in})", _svd(J[:n_in])))
    return mistakes


# ----- 2.7: measure, diagnose, repair (case 4 is in gradcourse.casebook) -----------------------
def _saturated_fractions(model, seed):
    """For each Tanh of the network, the fraction of its outputs on the training digits of split `seed`
    beyond |tanh| > 0.97 (slope below 0.06), as gradcourse.diagnostics counts them."""
    X_train = casebook.digits_split(seed)[0]
    fractions = []
    with no_grad():
        h = tensor(X_train)
        for module in model:
            h = module(h)
            if isinstance(module, nn.Tanh):
                fractions.append(diagnostics.saturated_fraction(h.data, "tanh"))
    return fractions


# After repair(model), at most this fraction of any tanh layer's outputs on the training digits may lie
# beyond |tanh| > 0.97, in every seed of SATURATION_SEEDS (and every seed trained). Measured over seeds 0-9
# (tests/test_casebook_core_concepts.py re-measures it): the standard initialisations (N or U with std
# gain / sqrt(fan_in), Glorot's, He's, orthogonal, with tanh's gain 5/3 or gain 1; nn.Linear's default;
# every weight times 0.3) stay at or below 0.347, the partial repairs (every weight times 0.42 or 0.5, the
# first layer only, the biases only) at or above 0.452: 0.4 passes the ones by 0.05 and fails the others
# by 0.05.
SATURATION_BOUND = 0.4
SATURATION_SEEDS = tuple(range(10))  # (measuring saturation needs no training: cheap on every seed)


def _repaired_case4(repair, watched, seed):
    """Case 4's network for `seed`, changed by your repair as the case changes it, or a ✗ if the repair
    changed the network's layers or left a parameter nan or inf."""
    __tracebackhide__ = True
    model = casebook.case4_model(seed)
    layout = _layout(model)
    with seeded(seed + casebook.core_concepts._REPAIR_SEED):
        watched(model)
    _check_kept_layout(repair, layout, model)
    if not all(np.all(np.isfinite(p.data)) for p in model.parameters()):
        raise ExerciseError(f"after {_name(repair)}(model) a parameter holds nan or inf")
    return model


def check_case4_repair(repair, seeds=(0, 1, 2, 3, 4, 5)):
    """After `repair(model)`, case 4's network keeps its layers, every tanh layer puts at most
    SATURATION_BOUND of its outputs on the training digits beyond |tanh| > 0.97, and, trained as before,
    it reaches the threshold; in every seed."""
    __tracebackhide__ = True
    watched = _watched_repair(repair)
    measured = sorted(set(SATURATION_SEEDS) | set(seeds))
    with _course_generator_untouched():
        models = {seed: _repaired_case4(repair, watched, seed) for seed in measured}
        fractions = {seed: _saturated_fractions(model, seed) for seed, model in models.items()}
        worst = max(measured, key=lambda seed: max(fractions[seed], default=0.0))
        shown = ", ".join(f"{f:.0%}" for f in fractions[worst])
        if max(fractions[worst], default=0.0) > SATURATION_BOUND:
            raise ExerciseError(
                f"after {_name(repair)}(model), the tanh layers put {shown} of their outputs on the training "
                f"digits beyond |tanh| > 0.97 (seed {worst}); the task allows at most {SATURATION_BOUND:.0%} in "
                f"every layer. There the slope 1 - tanh^2 is below 0.06: such a unit passes almost no gradient "
                f"and hardly moves. Change what drives them there, in every layer.")
        _passed(f"after {_name(repair)}(model) the tanh layers saturate at most {shown} of their outputs on the "
                f"training digits (seed {worst}, the worst of seeds {measured[0]}-{measured[-1]}; the bound is "
                f"{SATURATION_BOUND:.0%})")
        accuracies = casebook.case4_measure(watched, seeds)
    weights = [layer.weight.data for model in models.values() for layer in model if isinstance(layer, nn.Linear)]
    if any(np.std(W) == 0 for W in weights):
        hint = (f"After {_name(repair)}(model), a layer's weights are all equal: its units compute the same "
                f"thing and receive the same gradient, so they never become different. Draw them at random.")
    else:
        hint = (f"After {_name(repair)}(model), the tanh layers saturate at most {shown} of their outputs. "
                f"Measure the repaired network's activations and gradients "
                f"(gc.diagnostics.measure_at_init) before training it, and its loss per step.")
    _check_accuracies(4, accuracies, seeds, f"after {_name(repair)}(model)", hint)


CHECKERS = [check_sigmoid_forward, check_sigmoid_backward, check_linreg_gradient, check_jacobian_bound,
            check_init_weight, check_jacobian_singular_values, check_cause, check_case4_repair]
