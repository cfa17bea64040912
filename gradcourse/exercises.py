"""Checkers for the exercises: each runs your code on known inputs and explains what is off.

Every checker compares your code with an independent computation, never with your own code. On
success it shows one line starting with ✓ (green in Jupyter); on failure it raises
`ExerciseError` (an AssertionError, so graders count it as a failed test) and Jupyter shows only
its message, a short block saying what was expected, what your code gave, and, when the numbers
match a usual mistake, which one::

    from gradcourse.exercises import check_sigmoid_backward
    check_sigmoid_backward(sigmoid)   # ✓ sigmoid backward matches finite differences at 5 points

How the checkers keep the answers out of reach. This module is imported by every student, so
nothing in it may be an answer one can import:

- the expected values are computed inline, on the checker's own fixed inputs, from a closed form
  (e.g. Adam's m_t as a weighted sum of all the gradients at once, the range test's rates as one
  geometric sequence over losses known in advance) or from central finite differences. None of
  them is a function with the exercise's signature, so there is nothing to call in its place;
- tests that need an implementation to compare with (the course's own `CosineAnnealing`,
  `optim.Adam`, ...) are hidden tests: they live in the test cells of `solutions/` only;
- while your function runs (and while its backward runs), the checker watches which functions
  it calls. If it is, or calls, the course's own implementation of that exercise
  (`COURSE_IMPLEMENTATIONS`, e.g. `gradcourse.functional.sigmoid` for the sigmoid,
  `optim.clip_grad_norm_` for clipping) or any function of this module, the check fails and
  says so: the exercise scores 0. The rest of the course (Tensor operations, `record_op`,
  `nn.Linear`, an optimiser's `step`, ...) is yours to use;
- each test cell imports the checkers it calls, so redefining a checker's name in an answer
  cell changes nothing.

The checkers are listed by notebook at the end of this module, in `CHECKERS`.
"""
import contextlib
import html
import inspect
import math
import sys
import textwrap

import numpy as np

from . import casebook, diagnostics, functional, lr_finder, nn, optim, schedules, training
from .autograd import Tensor, _stable_sigmoid, tensor
from .rng import generator


class ExerciseError(AssertionError):
    """Your code gave a wrong answer; the message says where, and why when it recognises the mistake.

    Jupyter shows it as a short block (`_render_traceback_`) instead of a traceback through the
    checker's code: the message is all a student needs, and the checker's lines would show its
    reference computation.
    """

    def _render_traceback_(self):
        """The lines IPython shows for this error (in place of the traceback): a ✗ header, the message."""
        red, bold, reset = "\x1b[31m", "\x1b[1m", "\x1b[0m"
        lines = [f"{red}{bold}✗ Not yet: the check failed (ExerciseError){reset}"]
        for paragraph in str(self).split("\n"):
            lines += textwrap.wrap(paragraph, width=100, break_long_words=False) or [""]
        return lines


# ----- shared helpers ------------------------------------------------------------------------
class Passed:
    """A ✓ line: green and framed in Jupyter (text/html), "✓ message" as plain text."""

    def __init__(self, message):
        self.message = message

    def __repr__(self):
        return f"✓ {self.message}"

    __str__ = __repr__

    def _repr_html_(self):
        return ('<div style="border-left: 4px solid #2e7d32; background: #e8f5e9; color: #1b5e20; '
                f'padding: 4px 10px; font-weight: 600">✓ {html.escape(self.message)}</div>')


def _passed(message):
    """Show the ✓ line: as rich output in IPython, printed elsewhere (a script, pytest)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(Passed(message))
    else:
        display(Passed(message))


def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


@contextlib.contextmanager
def _course_generator_untouched():
    """Leave the course's shared random generator as it was (layers built here draw from it),
    so that running a checker does not change the numbers of the notebook's later cells."""
    state = generator().bit_generator.state
    try:
        yield
    finally:
        generator().bit_generator.state = state


def _bind(fn, *args, **kwargs):
    """`fn` with trailing arguments fixed, keeping its name for the messages."""
    def bound(*inputs):
        __tracebackhide__ = True
        return fn(*inputs, *args, **kwargs)
    bound.__name__ = _name(fn)
    bound.__wrapped__ = fn
    return bound


def _call(fn, *args, course=()):
    """Call your function; turn the notebook's placeholder into a message instead of a traceback.

    `course` names the course's own implementations of the exercise (see COURSE_IMPLEMENTATIONS),
    which your function may not be, nor call.
    """
    __tracebackhide__ = True  # IPython and pytest leave such frames out of a traceback through your code
    _refuse_course_code(fn)
    try:
        return _watched(fn, course, fn, *args)
    except NotImplementedError:
        raise ExerciseError(f"{_name(fn)} is not written yet: replace the line "
                            f"`raise NotImplementedError()` with your code") from None


# ----- your code, not the course's ------------------------------------------------------------
def _course_functions():
    """{name: function} of the course's implementations that an exercise asks you to write."""
    return {
        "gradcourse.training.fit": training.fit,
        "gradcourse.diagnostics.gradient_norms": diagnostics.gradient_norms,
        "gradcourse.functional.sigmoid": functional.sigmoid,
        "Tensor.sigmoid (gradcourse.autograd)": Tensor.sigmoid,
        "gradcourse.autograd._stable_sigmoid": _stable_sigmoid,
        "gradcourse.nn.Sigmoid": nn.Sigmoid.forward,
        "gradcourse.schedules.CosineAnnealing": schedules.CosineAnnealing.lr_at,
        "gradcourse.schedules (its cosine)": schedules._cosine_between,
        "gradcourse.optim.Adam": optim.Adam._adam_update,
        "gradcourse.nn.Residual": nn.Residual.forward,
        "gradcourse.schedules.PolynomialDecay": schedules.PolynomialDecay.lr_at,
        "gradcourse.functional.mse_loss": functional.mse_loss,
        "gradcourse.nn.LayerNorm": nn.LayerNorm.forward,
        "gradcourse.optim.clip_grad_norm_": optim.clip_grad_norm_,
        "gradcourse.diagnostics.dead_fraction": diagnostics.dead_fraction,
        "gradcourse.lr_finder.lr_range_test": lr_finder.lr_range_test,
        "gradcourse.lr_finder.suggest": lr_finder.suggest,
        "gradcourse.casebook._step": casebook._step,
        "gradcourse.casebook (its training runs)": casebook._run,
    }


_SIGMOID = ("gradcourse.functional.sigmoid", "Tensor.sigmoid (gradcourse.autograd)",
            "gradcourse.autograd._stable_sigmoid", "gradcourse.nn.Sigmoid")
# For each exercise, the course's implementations of it: your answer may not be, nor call, them.
# (Only for its own exercise: an LSTM written by hand may call the course's sigmoid.)
COURSE_IMPLEMENTATIONS = {
    "training_step": ("gradcourse.training.fit",),
    "layer_gradient_norms": ("gradcourse.diagnostics.gradient_norms",),
    "sigmoid": _SIGMOID,
    "linreg_gradient": (),
    "jacobian_bound": (),
    "cosine_lr": ("gradcourse.schedules.CosineAnnealing", "gradcourse.schedules (its cosine)"),
    "adam_step": ("gradcourse.optim.Adam",),
    "ResidualBlock": ("gradcourse.nn.Residual",),
    "bias_corrected_averages": ("gradcourse.optim.Adam",),
    "polynomial_lr": ("gradcourse.schedules.PolynomialDecay",),
    "regression_loss": ("gradcourse.functional.mse_loss",),
    "layer_norm": ("gradcourse.nn.LayerNorm",),
    "clip_grad_norm": ("gradcourse.optim.clip_grad_norm_",),
    "dead_relu_fraction": ("gradcourse.diagnostics.dead_fraction",),
    "lr_range_test": ("gradcourse.lr_finder.lr_range_test",),
    "suggest_lr": ("gradcourse.lr_finder.suggest",),
    "repair": ("gradcourse.casebook (its training runs)",),
    "train_step": ("gradcourse.casebook._step", "gradcourse.casebook (its training runs)",
                   "gradcourse.training.fit"),
}
_CALLBACKS = {"_fake_training_loss"}  # this module's functions that a checker hands to your code


def _checker_code():
    """{code object: name} of this module's own functions (the checkers and their helpers)."""
    code = {}
    for name, value in vars(sys.modules[__name__]).items():
        # (unwrapped: a decorated function's own code is in this file, its wrapper's is shared)
        own = getattr(inspect.unwrap(value), "__code__", None) if callable(value) else None
        if own is not None and own.co_filename == __file__ and name not in _CALLBACKS:
            code[own] = f"gradcourse.exercises.{name}"
    return code


def _not_yours(fn, what):
    return ExerciseError(f"{_name(fn)} {what}, the course's own code, not yours: write it yourself. "
                         f"While it does, this exercise scores 0.")


def _refuse_course_code(fn):
    """ExerciseError if the function (or class) you pass is one of the course's own."""
    fn = getattr(fn, "__wrapped__", fn)
    module = getattr(fn, "__module__", None) or ""
    if module == "gradcourse" or module.startswith("gradcourse."):
        raise _not_yours(fn, f"is {module}.{getattr(fn, '__qualname__', _name(fn))}")


def _watched(fn, course, call, *args):
    """`call(*args)`, failing if it runs one of the `course` implementations or this module's code.

    (sys.setprofile sees every Python function call while your code runs, wherever it comes from:
    passed directly, wrapped in a lambda, imported under another name.)
    """
    __tracebackhide__ = True
    functions = _course_functions()
    forbidden = {**_checker_code(), **{functions[name].__code__: name for name in course}}
    found = []

    def profile(frame, event, arg):
        if event == "call" and not found and frame.f_code in forbidden:
            found.append(forbidden[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        return call(*args)
    finally:
        switched_off = sys.getprofile() is not profile
        sys.setprofile(previous)
        if found:
            raise _not_yours(fn, f"runs {found[0]}")
        if switched_off:
            raise ExerciseError(f"{_name(fn)} calls sys.setprofile, which switches this check off: remove "
                                f"that call. While it is there, this exercise scores 0.")


def _array(value, what):
    """`value` (a Tensor, number, list or array) as a float array, or an ExerciseError saying why not."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        array = np.asarray(value)
        if np.iscomplexobj(array):
            return array
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise ExerciseError(f"{what} should be a number or an array of numbers, "
                            f"got {type(value).__name__}: {value!r:.80}") from None


def _fmt(x):
    """A number or array as a short string: 4 significant digits each, so 1.2e-05 never shows as 0."""
    if np.ndim(x) == 0:
        x = complex(x) if np.iscomplexobj(x) else float(x)
        return f"{x:.4g}" if isinstance(x, float) else f"{x:.4g} (a complex number)"
    four_digits = {"float_kind": lambda v: f"{v:.4g}", "complex_kind": lambda v: f"{v:.4g}"}
    return np.array2string(np.asarray(x), separator=", ", formatter=four_digits)


def _close(got, expected, rtol=1e-6, atol=1e-9):
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape or np.iscomplexobj(got):
        return False
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))


def _recognise(got, mistakes):
    """The explanation of the first mistake whose value `got` matches, else None.

    `mistakes` is a list of (explanation, value that mistake produces) pairs.
    """
    with np.errstate(all="ignore"):
        for explanation, value in mistakes:
            if _close(got, value):
                return explanation
    return None


def _worst(got, expected):
    """Index of the entry where `got` and `expected` differ most (nan counts as the worst)."""
    difference = np.abs(np.asarray(got, dtype=complex) - np.asarray(expected))
    difference = np.where(np.isnan(difference), np.inf, difference)
    return np.unravel_index(np.argmax(difference), np.shape(expected)) if np.ndim(expected) else ()


def _check_shape(got, expected, what, hint=""):
    if np.shape(got) != np.shape(expected):
        raise ExerciseError(f"{what} has shape {np.shape(got)}, expected {np.shape(expected)}{hint}")


def _finite_difference(f, x, h=1e-6):
    """Central differences of the scalar function f at every entry of the array x."""
    x = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        plus = f(x)
        x[index] = original - h
        minus = f(x)
        x[index] = original
        gradient[index] = (plus - minus) / (2 * h)
    return gradient


def _backward_through(fn, inputs, upstream, course=()):
    """Run `fn(*inputs)`, backpropagate `upstream` and return (output, gradients of the inputs)."""
    __tracebackhide__ = True
    output = _call(fn, *inputs, course=course)
    if not isinstance(output, Tensor):
        raise ExerciseError(f"{_name(fn)} should return a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise ExerciseError(f"the Tensor {_name(fn)} returns is not connected to its inputs, so no "
                            f"gradient can reach them: build it from Tensor operations (or record_op), "
                            f"not from .data arrays")
    _watched(fn, course, output.backward, np.broadcast_to(upstream, output.shape))  # (runs your backward too)
    return output, [x.grad for x in inputs]


# ===== 01 background ========================================================================
def _mse_linear_gradients(W, b, X, y):
    """Loss and gradients of mean((X W + b - y)^2), written out: dL/dW = 2/N X^T r."""
    r = X @ W + b - y
    return np.mean(r**2), 2 / r.size * X.T @ r, 2 / r.size * r.sum(axis=0)


def check_training_step(training_step):
    """`training_step(model, X, y, optimizer) -> float`: one SGD step on the mean squared error."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["training_step"]
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    with _course_generator_untouched():
        model = nn.Linear(3, 1)
    model.weight.data[...] = rng.normal(size=(3, 1))
    model.bias.data[...] = rng.normal(size=1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    loss0, gW0, gb0 = _mse_linear_gradients(W0, b0, X, y)
    W1, b1 = W0 - 0.1 * gW0, b0 - 0.1 * gb0

    got_loss = _call(training_step, model, X, y, optimizer, course=course)
    _check_first_step(model, W0, W1, gW0, got_loss, loss0, _mse_linear_gradients(W1, b1, X, y)[0])
    loss1, gW1, gb1 = _mse_linear_gradients(W1, b1, X, y)
    _call(training_step, model, X, y, optimizer, course=course)
    _check_second_step(model, W1 - 0.1 * gW1, W1 - 0.1 * (gW0 + gW1))
    _passed("training_step: the loss and the parameters match the SGD formula over 2 steps")


def _check_first_step(model, W0, W1, gW0, got_loss, loss0, loss_after):
    if isinstance(got_loss, Tensor):
        raise ExerciseError("training_step returned a Tensor: return loss.item(), a Python float, "
                            "so that a list of losses can be printed and plotted")
    got_loss = _array(got_loss, "the value training_step returns")
    W = model.weight.data
    mistakes = [("the parameters did not change: call loss.backward() and then optimizer.step()", W0),
                ("the step was taken twice: call optimizer.step() once per training step", W0 - 0.2 * gW0)]
    if not _close(W, W1):
        hint = _recognise(W, mistakes) or "the update is W <- W - lr * dL/dW with L the mean squared error"
        raise ExerciseError(f"after one step the weight should be {_fmt(W1.ravel())}, "
                            f"got {_fmt(W.ravel())}: {hint}")
    if _close(got_loss, loss_after):
        raise ExerciseError(f"training_step returned {_fmt(got_loss)}, the loss after the update; return the "
                            f"loss of the forward pass, before optimizer.step() ({_fmt(loss0)})")
    if not _close(got_loss, loss0):
        raise ExerciseError(f"training_step returned {_fmt(got_loss)}, expected the mean squared error "
                            f"{_fmt(loss0)} (F.mse_loss(model(X), y))")


def _check_second_step(model, W2, W2_accumulated):
    W = model.weight.data
    if _close(W, W2_accumulated):
        raise ExerciseError("the first step was right but the second used the sum of both steps' gradients: "
                            "gradients accumulate across backward() calls, so call optimizer.zero_grad() "
                            "before loss.backward()")
    if not _close(W, W2):
        raise ExerciseError(f"after two steps the weight should be {_fmt(W2.ravel())}, got {_fmt(W.ravel())}")


def check_layer_gradient_norms(layer_gradient_norms):
    """`layer_gradient_norms(model) -> list`: ||dL/dW||_F of each Linear layer, input side first."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["layer_gradient_norms"]
    rng = np.random.default_rng(2)
    with _course_generator_untouched():
        model = nn.Sequential(nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 3), nn.Sigmoid(), nn.Linear(3, 2))
    linears = [model[0], model[2], model[4]]
    for scale, layer in zip([1e-3, 0.1, 10.0], linears):
        layer.weight.grad = scale * rng.normal(size=layer.weight.shape)
        layer.bias.grad = 5.0 * rng.normal(size=layer.bias.shape)
    expected = np.array([math.sqrt(np.sum(layer.weight.grad**2)) for layer in linears])

    got = _call(layer_gradient_norms, model, course=course)
    got = _array(list(got) if not isinstance(got, (Tensor, np.ndarray)) else got, "layer_gradient_norms(model)")
    if got.shape == (6,):
        raise ExerciseError("got 6 numbers for 3 Linear layers: take one norm per layer, of its weight's "
                            "gradient (layer.weight.grad), and leave the biases out")
    _check_shape(got, expected, "layer_gradient_norms(model)", " (one number per Linear layer)")
    with_bias = [math.sqrt(np.sum(l.weight.grad**2) + np.sum(l.bias.grad**2)) for l in linears]
    mistakes = [("these are the squared norms: take the square root of the sum of squares", expected**2),
                ("the order is reversed: list the layers from the input side, as they appear in the model",
                 expected[::-1]),
                ("the biases' gradients are included: use the weight's gradient only", with_bias),
                ("this is the largest |entry|, not the norm sqrt(sum of squares)",
                 [np.abs(l.weight.grad).max() for l in linears]),
                ("these are the norms of the weights themselves: use layer.weight.grad, not layer.weight",
                 [np.linalg.norm(l.weight.data) for l in linears])]
    if not _close(got, expected):
        hint = _recognise(got, mistakes) or "the Frobenius norm is sqrt(sum of the squared entries)"
        raise ExerciseError(f"expected {_fmt(expected)}, got {_fmt(got)}: {hint}")
    _passed("layer_gradient_norms gives the Frobenius norm of each of the 3 weight gradients, input side first")


# ===== 02 core concepts =====================================================================
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


# ===== 03 algorithms ========================================================================
def check_cosine_lr(cosine_lr, lr_max=0.1, total_steps=100, lr_min=0.0):
    """`cosine_lr(t, lr_max, total_steps, lr_min)`: half a cosine from lr_max to lr_min, then flat."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["cosine_lr"]
    T = total_steps
    steps = np.array([0, T // 4, T // 2, 3 * T // 4, T, 3 * T // 2])
    clamped = np.minimum(steps, T)
    expected = lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * clamped / T)) / 2
    got = []
    for t in steps:  # (a loop, not a list comprehension: its frame would show in a traceback)
        got.append(_call(cosine_lr, int(t), lr_max, T, lr_min, course=course))
    got = _array(got, "cosine_lr(...)")
    mistakes = [(f"past total_steps = {T} the rate climbs back up: clamp t to total_steps so it stays at lr_min",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * steps / T)) / 2),
                ("the factor 1/2 is missing: (1 + cos) goes from 2 to 0, so halve it",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * clamped / T))),
                ("pi is missing: the cosine must go through half a period, cos(pi t / T)",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(clamped / T)) / 2),
                ("the schedule runs backwards: use (1 + cos), which starts at 2, not (1 - cos)",
                 lr_min + (lr_max - lr_min) * (1 - np.cos(np.pi * clamped / T)) / 2)]
    if not _close(got, expected):
        i = _worst(got, expected)
        hint = _recognise(got, mistakes) or "lr_t = lr_min + (lr_max - lr_min) (1 + cos(pi t / T)) / 2"
        raise ExerciseError(f"at t = {steps[i]} (total_steps = {T}) expected {_fmt(expected[i])}, "
                            f"got {_fmt(got[i])}: {hint}")
    _passed(f"cosine_lr matches lr_min + (lr_max - lr_min)(1 + cos(pi t / T)) / 2 at {steps.size} steps "
            f"and stays at lr_min past T")


def _adam_trajectories(theta0, grads, lr, beta1, beta2, eps):
    """{variant: theta after each step (one row per step)}: "right", and each of _ADAM_MISTAKES.

    In closed form, for all steps at once (no step function): a running average with decay beta
    is m_t = sum over k <= t of (1 - beta) beta^(t - k) g_k, a lower-triangular matrix of powers
    times the gradients, and theta_t = theta_0 - lr * (cumulative sum of the steps' updates).
    """
    G = np.array(grads)
    t = np.arange(1, len(grads) + 1)[:, None]
    powers = np.maximum(t - t.T, 0)

    def average(decay, gain, values):
        return np.tril(decay ** powers) @ (gain * values)

    m, v = average(beta1, 1 - beta1, G), average(beta2, 1 - beta2, G**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        right = {"m_hat": m / (1 - beta1**t), "v_hat": v / (1 - beta2**t)}
        variants = {
            "right": right,
            "no_correction": {"m_hat": m, "v_hat": v},
            "eps_inside_sqrt": {**right, "eps_inside": True},
            "t_minus_1": {"m_hat": m / (1 - beta1 ** (t - 1)), "v_hat": v / (1 - beta2 ** (t - 1))},
            "t_plus_1": {"m_hat": m / (1 - beta1 ** (t + 1)), "v_hat": v / (1 - beta2 ** (t + 1))},
            "m_uncorrected": {**right, "m_hat": m},
            "v_uncorrected": {**right, "v_hat": v},
            "v_of_g": {**right, "v_hat": average(beta2, 1 - beta2, G) / (1 - beta2**t)},
            "betas_swapped": {**right, "m_hat": average(1 - beta1, beta1, G) / (1 - beta1**t)},
        }
        thetas = {}
        for name, variant in variants.items():
            v_hat = variant["v_hat"]
            denominator = np.sqrt(v_hat + eps) if variant.get("eps_inside") else np.sqrt(v_hat) + eps
            thetas[name] = theta0 - lr * np.cumsum(variant["m_hat"] / denominator, axis=0)
    return thetas


_ADAM_MISTAKES = {
    "no_correction": "the bias correction is missing: divide m_t by (1 - beta1^t) and v_t by (1 - beta2^t)",
    "eps_inside_sqrt": "epsilon is inside the square root: Adam divides by sqrt(v_hat) + eps",
    "t_minus_1": "the bias correction uses t - 1: steps are numbered from t = 1, so at the first step "
                 "1 - beta^t = 1 - beta (with t - 1 = 0 it divides by zero)",
    "t_plus_1": "the bias correction uses t + 1: steps are numbered from t = 1, use beta^t",
    "m_uncorrected": "only v is bias-corrected: m_hat = m_t / (1 - beta1^t) too",
    "v_uncorrected": "only m is bias-corrected: v_hat = v_t / (1 - beta2^t) too",
    "v_of_g": "v averages g instead of g^2: the second moment is the running mean of squared gradients",
    "betas_swapped": "the running mean is reversed: m_t = beta1 m_(t-1) + (1 - beta1) g_t",
}


def check_adam_step(adam_step, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-3):
    """`adam_step(theta, g, m, v, t, lr, beta1, beta2, eps) -> (theta, m, v)` is one step of Adam.

    The gradients are small (about 0.01) and eps large (1e-3), so where eps goes matters.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["adam_step"]
    rng = np.random.default_rng(5)
    theta0, grads = rng.normal(size=4), [0.01 * rng.normal(size=4) for _ in range(3)]
    trajectories = _adam_trajectories(theta0, grads, lr, beta1, beta2, eps)
    expected = trajectories["right"]
    theta, m, v = theta0.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        with np.errstate(divide="ignore", invalid="ignore"):
            result = _call(adam_step, theta.copy(), g.copy(), m.copy(), v.copy(), t, lr, beta1, beta2, eps,
                           course=course)
        theta, m, v = _unpack_adam(result)
        if not _close(theta, expected[t - 1], rtol=1e-6, atol=1e-12):
            _explain_adam(theta, expected[t - 1], t, trajectories)
        _check_adam_moments(m, v, grads[:t], beta1, beta2, t)
    _passed("adam_step matches Adam's update (bias correction from t = 1, epsilon outside the square root) "
            "over 3 steps")


def _unpack_adam(result):
    if not isinstance(result, tuple) or len(result) != 3:
        raise ExerciseError(f"adam_step should return a tuple (theta, m, v), got {type(result).__name__}")
    return [_array(value, f"adam_step's {name}") for value, name in zip(result, ("theta", "m", "v"))]


def _check_adam_moments(m, v, grads, beta1, beta2, t):
    m_expected = sum((1 - beta1) * beta1 ** (t - k) * g for k, g in enumerate(grads, start=1))
    v_expected = sum((1 - beta2) * beta2 ** (t - k) * g**2 for k, g in enumerate(grads, start=1))
    for name, got, expected, beta in (("m", m, m_expected, beta1), ("v", v, v_expected, beta2)):
        if _close(got, expected / (1 - beta**t), atol=1e-15):
            raise ExerciseError(f"at step t = {t} you returned the bias-corrected {name}_hat as {name}: "
                                f"return the raw running average {name}_t; the correction is only used "
                                f"for the update (the next step builds on the raw {name}_t)")
        if not _close(got, expected, atol=1e-15):
            raise ExerciseError(f"at step t = {t} the returned {name} should be {_fmt(expected)}, "
                                f"got {_fmt(got)}")


def _explain_adam(got, expected, t, trajectories):
    mistakes = [(text, trajectories[name][t - 1]) for name, text in _ADAM_MISTAKES.items()]
    hint = _recognise(got, mistakes)
    hint = hint or ("theta_t = theta_(t-1) - lr * m_hat / (sqrt(v_hat) + eps) with "
                    "m_hat = m_t / (1 - beta1^t), v_hat = v_t / (1 - beta2^t)")
    raise ExerciseError(f"at step t = {t} theta should be {_fmt(expected)}, got {_fmt(got)}: {hint}")


def check_residual_block(ResidualBlock, width=4, seed=6):
    """`ResidualBlock(width)(x)` computes x + fc2(relu(fc1(x))) and backpropagates through both paths."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["ResidualBlock"]
    rng = np.random.default_rng(seed)
    with _course_generator_untouched():
        block = _call(ResidualBlock, width, course=course)
    W1, b1, W2, b2 = (rng.normal(size=s) for s in [(width, width), width, (width, width), width])
    for parameter, value in zip([block.fc1.weight, block.fc1.bias, block.fc2.weight, block.fc2.bias],
                                [W1, b1, W2, b2]):
        parameter.data[...] = value
    x, upstream = rng.normal(size=(3, width)), rng.normal(size=(3, width))
    h = x @ W1 + b1
    branch = np.maximum(h, 0) @ W2 + b2
    out, (grad_x,) = _backward_through(block, [tensor(x, requires_grad=True)], upstream, course=course)
    mistakes = [("the skip connection is missing: the block returns fc2(relu(fc1(x))) without adding x", branch),
                ("relu is applied after the addition: the block adds x to the branch's output as it is",
                 np.maximum(x + branch, 0)),
                ("the relu between fc1 and fc2 is missing", x + h @ W2 + b2)]
    if not _close(out.data, x + branch):
        hint = _recognise(out.data, mistakes) or "the block computes x + fc2(relu(fc1(x)))"
        raise ExerciseError(f"ResidualBlock output: expected {_fmt(x + branch)}, got {_fmt(out.data)}: {hint}")
    expected_grad = upstream + ((upstream @ W2.T) * (h > 0)) @ W1.T
    if not _close(grad_x, expected_grad):
        raise ExerciseError(f"the gradient reaching x should be G + (relu'(h) * G W2^T) W1^T = "
                            f"{_fmt(expected_grad)}, got {_fmt(grad_x)}")
    _passed("ResidualBlock computes x + fc2(relu(fc1(x))), and the gradient reaching x is "
            "G (through the skip) + (relu'(h) * G W2^T) W1^T (through the branch)")


# ===== 04 worked example ====================================================================
def check_bias_corrected_averages(bias_corrected_averages, beta=0.9):
    """`bias_corrected_averages(grads, beta)` = [m_t / (1 - beta^t) for t = 1, 2, ...]."""
    __tracebackhide__ = True
    constant = [2.0] * 4
    got = _averages(bias_corrected_averages, constant, beta)
    _check_averages(got, constant, beta, "for 4 equal gradients 2.0 ")
    grads = [0.5, -1.0, 2.0, 0.25, 1.0]
    _check_averages(_averages(bias_corrected_averages, grads, beta), grads, beta, "")
    _passed("bias_corrected_averages: equal gradients come back unchanged at every step, and 5 varying "
            "ones match m_t / (1 - beta^t) for t = 1..5")


def _averages(fn, grads, beta):
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["bias_corrected_averages"]
    try:
        return _array(list(_call(fn, list(grads), beta, course=course)), f"{_name(fn)}(grads, beta)")
    except ZeroDivisionError:
        raise ExerciseError("division by zero at the first gradient: with t counted from 0, "
                            "1 - beta**t = 1 - 1 = 0. Steps are numbered t = 1, 2, ...: "
                            "use enumerate(grads, start=1)") from None


def _check_averages(got, grads, beta, context):
    # closed form, all steps at once: m_t = sum over k <= t of (1 - beta) beta^(t - k) g_k
    t = np.arange(1, len(grads) + 1)
    m = np.tril(beta ** np.maximum(t[:, None] - t[None, :], 0)) @ ((1 - beta) * np.asarray(grads, dtype=float))
    expected = m / (1 - beta**t)
    _check_shape(got, expected, "the list of averages", " (one average per gradient)")
    mistakes = [("the counter starts at t = 2: at the first step the correction is 1 - beta^1, "
                 "use enumerate(grads, start=1)", m / (1 - beta ** (t + 1))),
                ("the bias correction is missing: divide m_t by (1 - beta^t)", m)]
    if _close(got, expected):
        return
    i = _worst(got, expected)
    if not np.isfinite(got[0]):
        hint = "the first value is not finite: 1 - beta^t is 0 when t = 0, so number the steps from t = 1"
    else:
        hint = _recognise(got, mistakes) or "m_t = beta m_(t-1) + (1 - beta) g_t, averaged = m_t / (1 - beta^t)"
    raise ExerciseError(f"{context}at t = {i[0] + 1} expected {_fmt(expected[i])}, got {_fmt(got[i])}: {hint}")


def check_polynomial_lr(polynomial_lr, lr=0.1, total_steps=10, power=2.0):
    """`polynomial_lr(t, lr, total_steps, power)` = lr (1 - min(t, T) / T)^power: 0 from T on."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["polynomial_lr"]
    T = total_steps
    steps = [0, T // 4, T // 2, T, T + 2, 2 * T]
    expected = np.array([lr * (1 - min(t, T) / T) ** power for t in steps])
    got = []
    for t in steps:  # (a loop, not a list comprehension: its frame would show in a traceback)
        got.append(_call(polynomial_lr, t, lr, T, power, course=course))
    for t, value, want in zip(steps, got, expected):
        if isinstance(value, complex) or np.iscomplexobj(value):
            raise ExerciseError(f"at t = {t} your rate is the complex number {value:.3g}: past total_steps = {T}, "
                                f"1 - t/T is negative, and a negative number to the power {power} is complex. "
                                f"Clamp t with min(t, total_steps)")
        value = float(_array(value, f"polynomial_lr({t}, ...)"))
        if not _close(value, want):
            beyond = (f"past total_steps = {T} the rate must stay 0; clamp t with min(t, total_steps)"
                      if t > T else "lr_t = lr (1 - t / T)^power")
            raise ExerciseError(f"at t = {t} expected {_fmt(want)}, got {_fmt(value)}: {beyond}")
    _passed(f"polynomial_lr matches lr (1 - min(t, T) / T)^{power:g} at {len(steps)} steps, "
            f"and is 0 from t = T on")


def check_regression_loss(regression_loss, n=5, seed=7):
    """`regression_loss(pred, target)`: mean squared error of pred (n, 1) against target (n,)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["regression_loss"]
    rng = np.random.default_rng(seed)
    p, target = rng.normal(size=(n, 1)), rng.normal(size=n)
    pred = tensor(p, requires_grad=True)
    loss, (grad,) = _backward_through(_bind(regression_loss, target.copy()), [pred], 1.0, course=course)
    expected = np.mean((p[:, 0] - target) ** 2)
    if loss.data.shape == (n, n) or loss.size == n * n:
        raise ExerciseError(f"the loss has {n * n} entries: pred (shape ({n}, 1)) minus target (shape ({n},)) "
                            f"broadcasts to an {n} x {n} matrix of every pair; reshape target to pred's shape")
    if loss.size != 1:
        raise ExerciseError(f"the loss should be one number, got shape {loss.shape}: take the mean")
    broadcast = np.mean((p - target) ** 2)
    if _close(loss.item(), broadcast):
        raise ExerciseError(f"the loss is {_fmt(loss.item())}, the mean over all {n} x {n} pairs: pred (shape "
                            f"({n}, 1)) minus target (shape ({n},)) broadcasts to a matrix; reshape target "
                            f"to ({n}, 1) first (expected {_fmt(expected)})")
    if not _close(loss.item(), expected):
        raise ExerciseError(f"expected the mean squared error {_fmt(expected)}, got {_fmt(loss.item())}")
    if not _close(grad, 2 / n * (p - target[:, None])):
        raise ExerciseError(f"the loss is right but its gradient is not 2/n (pred - target): "
                            f"got {_fmt(grad.ravel())}")
    _passed(f"regression_loss gives the mean squared error of {n} predictions, "
            f"and its gradient 2/n (pred - target)")


# ===== 05 future directions =================================================================
def _standardised(x, eps, axis=-1, ddof=0, eps_outside=False):
    """(x - mean) / sqrt(var + eps) of a numpy array along `axis`, or a usual mistake's variant."""
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    scale = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return (x - mean) / scale


def check_layer_norm(layer_norm, eps=1e-2, seed=8):
    """`layer_norm(x, gamma, beta, eps)` normalises each row of x over its features, then scales and shifts.

    eps is large (1e-2) and the rows' variances small, so where eps goes shows in the numbers.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["layer_norm"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4, 6)) * np.array([[0.1], [0.3], [1.0], [2.0]]) + 1.0
    gamma, beta, upstream = 1 + 0.5 * rng.normal(size=6), 0.5 * rng.normal(size=6), rng.normal(size=(4, 6))
    inputs = [tensor(x, requires_grad=True), tensor(gamma, requires_grad=True), tensor(beta, requires_grad=True)]
    out, grads = _backward_through(_bind(layer_norm, eps=eps), inputs, upstream, course=course)
    expected = gamma * _standardised(x, eps) + beta
    mistakes = [("the variance is divided by n - 1: LayerNorm uses the biased variance (divide by n)",
                 gamma * _standardised(x, eps, ddof=1) + beta),
                ("it normalises each feature over the batch (axis 0, that is BatchNorm): LayerNorm normalises "
                 "each example over its features (axis -1)", gamma * _standardised(x, eps, axis=0) + beta),
                ("eps is outside the square root: divide by sqrt(var + eps)",
                 gamma * _standardised(x, eps, eps_outside=True) + beta),
                ("gamma and beta are missing: return gamma * x_hat + beta", _standardised(x, eps)),
                ("it divides by the variance: divide by the standard deviation sqrt(var + eps)",
                 gamma * (x - x.mean(-1, keepdims=True)) / (x.var(-1, keepdims=True) + eps) + beta)]
    _check_shape(out.data, expected, "layer_norm(x, gamma, beta)")
    if not _close(out.data, expected):
        i = _worst(out.data, expected)
        hint = _recognise(out.data, mistakes) or "y = gamma * (x - mean) / sqrt(var + eps) + beta, per row"
        raise ExerciseError(f"at row {i[0]}, feature {i[1]} expected {_fmt(expected[i])}, "
                            f"got {_fmt(out.data[i])}: {hint}")
    _check_layer_norm_gradients(grads, x, gamma, beta, eps, upstream)
    _passed("layer_norm normalises each row over its 6 features, and its gradients with respect to x, "
            "gamma and beta match finite differences")


def _check_layer_norm_gradients(grads, x, gamma, beta, eps, upstream):
    args = {"x": x, "gamma": gamma, "beta": beta}
    for (name, value), got in zip(args.items(), grads):
        def loss(v, name=name):
            values = {**args, name: v}
            return np.sum(upstream * (values["gamma"] * _standardised(values["x"], eps) + values["beta"]))
        expected = _finite_difference(loss, value)
        if got is None:
            raise ExerciseError(f"no gradient reached {name}: compute the output from {name} with Tensor "
                                f"operations (not {name}.data)")
        if not _close(got, expected, rtol=1e-4, atol=1e-6):
            raise ExerciseError(f"the gradient with respect to {name} should be {_fmt(expected)}, got {_fmt(got)}")


def check_clip_grad_norm(clip_grad_norm):
    """`clip_grad_norm(params, max_norm) -> float` rescales all gradients together; returns the norm before."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["clip_grad_norm"]
    grads = [np.array([3.0, 4.0]), np.array([[0.0, 12.0]])]        # joint norm sqrt(9 + 16 + 144) = 13
    for max_norm, factor in [(6.5, 0.5), (100.0, 1.0)]:
        params = [tensor(np.zeros_like(g), requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        returned = _call(clip_grad_norm, params, max_norm, course=course)
        returned = _array(returned, "clip_grad_norm(params, max_norm)")
        _check_clipped(params, grads, max_norm, factor)
        if _close(returned, 13.0 * factor) and factor != 1:
            raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}, the norm after clipping: return the "
                                f"norm before clipping (13), the number worth logging")
        if not _close(returned, 13.0):
            raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}; the joint norm of the gradients "
                                f"before clipping is sqrt(3^2 + 4^2 + 12^2) = 13")
    _passed("clip_grad_norm rescales all gradients together (norm 13 -> 6.5), leaves small ones alone, "
            "and returns the norm before clipping")


def _check_clipped(params, grads, max_norm, factor):
    got = [p.grad for p in params]
    expected = [factor * g for g in grads]
    if all(_close(a, b, rtol=1e-5) for a, b in zip(got, expected)):
        return
    if factor == 1:
        hint = ("the total norm 13 is below max_norm = 100, so nothing should change; only scale down, "
                "when total_norm > max_norm")
    elif all(_close(a, b) for a, b in zip(got, grads)):
        hint = ("the gradients did not change: scale each p.grad in place (p.grad *= coef) or assign "
                "p.grad = p.grad * coef")
    elif _close(got[0], grads[0]) and _close(got[1], grads[1] * max_norm / 12):
        hint = ("each gradient was clipped on its own: compute one norm over all gradients together, "
                "sqrt(sum of every squared entry), and scale them all by the same factor")
    else:
        hint = "scale every gradient by max_norm / total_norm when total_norm > max_norm"
    expected, got = " and ".join(_fmt(e) for e in expected), " and ".join(_fmt(g) for g in got)
    raise ExerciseError(f"with max_norm = {max_norm:g} the gradients should be {expected}, got {got}: {hint}")


# ===== 06 FAQ ===============================================================================
def check_dead_relu_fraction(dead_relu_fraction, activations=None):
    """`dead_relu_fraction(a)`: the fraction of units (columns) that are 0 for every example (row)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["dead_relu_fraction"]
    if activations is None:
        activations = np.array([[0.0, 0.0, 1.5, 0.0, 0.3],
                                [0.0, 2.0, 0.0, 0.0, 1.1],
                                [0.0, 0.7, 0.4, 0.0, 0.2],
                                [0.0, 0.0, 0.9, 0.0, 0.5],
                                [0.0, 1.2, 0.0, 0.0, 0.8],
                                [0.0, 0.1, 2.2, 0.0, 0.6]])
    a = np.asarray(activations, dtype=np.float64)
    per_unit = a.reshape(-1, a.shape[-1])
    dead = np.all(per_unit == 0, axis=0)
    expected = float(np.mean(dead))
    got = _array(_call(dead_relu_fraction, a.copy(), course=course), "dead_relu_fraction(activations)")
    mistakes = [("this is the fraction of zero entries; a unit is dead only when it is zero for every example",
                 np.mean(per_unit == 0)),
                ("this is the fraction of live units; return the dead ones", 1 - expected),
                ("this counts units that are zero for any example; dead means zero for all of them",
                 np.mean(np.any(per_unit == 0, axis=0))),
                ("this looks along the wrong axis: rows are examples, columns are units",
                 np.mean(np.all(per_unit == 0, axis=1)))]
    if np.ndim(got) != 0 or not _close(got, expected):
        hint = _recognise(got, mistakes) or "a unit is dead when its column is 0 in every row"
        raise ExerciseError(f"expected {expected:.3g} ({int(dead.sum())} of {dead.size} units are 0 for every "
                            f"example), got {_fmt(got)}: {hint}")
    _passed(f"dead_relu_fraction: {int(dead.sum())} of {dead.size} units are zero on every example "
            f"-> {expected:.3g}")


def _fake_training_loss(lr):
    """A loss curve like a real range test's: flat for tiny lr, best near 0.1, diverging past 1."""
    if lr > 3.0:
        return math.nan
    return 1.0 + 0.3 * (math.log10(lr) + 1) ** 2 + (40 * lr**2 if lr > 0.5 else 0.0)


def check_lr_range_test(lr_range_test, lr_min=1e-4, lr_max=10.0, steps=41, diverge_factor=4.0):
    """`lr_range_test(step_fn, lr_min, lr_max, steps, diverge_factor) -> (lrs, losses)`.

    Rates grow geometrically from lr_min to lr_max; the test stops after the first loss that is not
    finite or exceeds diverge_factor times the best so far (that loss is kept).
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["lr_range_test"]
    called = []

    def step_fn(lr):
        called.append(lr)
        return _fake_training_loss(lr)

    result = _call(lr_range_test, step_fn, lr_min, lr_max, steps, diverge_factor, course=course)
    if not isinstance(result, tuple) or len(result) != 2:
        raise ExerciseError(f"lr_range_test should return a tuple (lrs, losses), got {type(result).__name__}")
    lrs, losses = (_array(list(v), name) for v, name in zip(result, ("lrs", "losses")))
    # The fake loss is known at every rate in advance, so the expected run is one computation over a
    # whole sequence of rates: it stops at the first loss that is not finite or exceeds
    # diverge_factor times the lowest loss before it (and keeps that loss).
    def until_divergence(rates):
        with np.errstate(invalid="ignore"):
            loss = np.array([_fake_training_loss(lr) for lr in rates])
            lowest_before = np.minimum.accumulate(np.concatenate([[np.inf], np.nan_to_num(loss, nan=np.inf)]))
            diverged = ~np.isfinite(loss) | (loss > diverge_factor * lowest_before[:-1])
        kept = int(np.argmax(diverged)) + 1 if diverged.any() else len(rates)
        return rates[:kept], loss[:kept]

    i = np.arange(steps)
    every_lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
    expected_lrs, expected_losses = until_divergence(every_lr)
    mistakes = [("the rates are evenly spaced; a range test spaces them geometrically, "
                 "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))",
                 until_divergence(np.linspace(lr_min, lr_max, steps))[0]),
                ("the exponent is i / steps, so the rates never reach lr_max: use i / (steps - 1)",
                 until_divergence(lr_min * (lr_max / lr_min) ** (i / steps))[0]),
                ("the test did not stop when the loss diverged: break after the first loss that is not finite "
                 "or exceeds diverge_factor * best", every_lr),
                ("the loss that triggered the stop is missing: append it, then break", expected_lrs[:-1])]
    if not _close(lrs, expected_lrs):
        shared = min(lrs.size, len(expected_lrs))
        if shared and _close(lrs[:shared], expected_lrs[:shared]):  # right rates, stopped at the wrong step
            fallback = ("the rates are right but the test stopped at the wrong step: stop after the first loss "
                        "that is not finite or exceeds diverge_factor times the best loss of the earlier steps")
        else:
            fallback = "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))"
        hint = _recognise(lrs, mistakes) or fallback
        got_range = f"from {lrs[0]:.3g} to {lrs[-1]:.3g}" if lrs.size else "none"
        raise ExerciseError(f"expected {len(expected_lrs)} rates from {expected_lrs[0]:.3g} to "
                            f"{expected_lrs[-1]:.3g}, got {lrs.size} {got_range}: {hint}")
    if not _close(losses, expected_losses):
        raise ExerciseError("the rates are right but the losses are not the values step_fn(lr) returned, "
                            "in order")
    _passed(f"lr_range_test tries {len(expected_lrs)} geometrically spaced rates and stops at "
            f"lr = {expected_lrs[-1]:.3g}, where the loss diverged")


def check_suggest_lr(suggest_lr):
    """`suggest_lr(lrs, losses)`: a tenth of the rate with the lowest finite loss."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["suggest_lr"]
    lrs = [1e-4 * 10 ** (i / 2) for i in range(10)]
    losses = [2.3, 2.3, 2.2, 1.9, 1.2, 0.7, 0.5, 0.9, 3.5, math.nan]
    expected = lrs[6] / 10
    got = _array(_call(suggest_lr, list(lrs), list(losses), course=course), "suggest_lr(lrs, losses)")
    mistakes = [("this is the rate at the lowest loss; suggest a tenth of it, safely below the edge of divergence",
                 lrs[6]),
                ("this is the rate at the nan loss: np.argmin returns the position of a nan, so use np.nanargmin "
                 "or skip non-finite losses", lrs[9] / 10),
                ("this is a tenth of the rate at the highest loss: use the lowest", lrs[8] / 10)]
    if np.ndim(got) != 0 or not _close(got, expected):
        hint = _recognise(got, mistakes) or "take a tenth of the rate whose loss is the lowest finite one"
        raise ExerciseError(f"expected {expected:.3g} (a tenth of lr = {lrs[6]:.3g}, where the loss is lowest), "
                            f"got {_fmt(got)}: {hint}")
    _passed(f"suggest_lr picks a tenth of the rate with the lowest finite loss ({expected:.3g})")


# ----- 04: measure, diagnose, repair (the runs are in gradcourse.casebook) ---------------------
def _watched_repair(fn, course):
    """`fn` as the casebook calls it, refusing (as `_call` does) the `course` code and the checkers'."""
    def watched(*args):
        __tracebackhide__ = True
        return _call(fn, *args, course=course)
    watched.__name__ = _name(fn)
    return watched


def check_cause(case, cause):
    """`cause`: the name, among `casebook.CAUSES`, of what broke case `case` (1, 2 or 3)."""
    __tracebackhide__ = True
    names = ", ".join(f'"{n}"' for n in casebook.CAUSES)
    if cause is None or cause is NotImplemented or cause == "":
        raise ExerciseError(f"cause is not set yet: assign one of {names}")
    if not isinstance(cause, str) or cause not in casebook.CAUSES:
        raise ExerciseError(f"{cause!r} is not one of the causes this exercise knows: choose one of {names} "
                            f"(gradcourse.casebook.CAUSES says what each means)")
    if not casebook.is_cause(case, cause):
        raise ExerciseError(f'"{cause}" ({casebook.CAUSES[cause]}) is not what went wrong in case {case}: '
                            f"measure again (the loss per step, the gradient norms per layer, the activations) "
                            f"and compare with what each cause would show")
    _passed(f'case {case}: "{cause}" is the cause')


def _check_accuracies(case, accuracies, seeds, what, hint):
    shown = ", ".join(f"{a:.3f}" for a in accuracies)
    if min(accuracies) < casebook.THRESHOLD:
        raise ExerciseError(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}; every seed "
                            f"needs at least {casebook.THRESHOLD} (the unrepaired run reaches about 0.1). {hint}")
    _passed(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}, each at least "
            f"{casebook.THRESHOLD}")


def check_case1_repair(lr, seeds=(0, 1, 2)):
    """Case 1 retrained with SGD at the learning rate `lr` reaches the threshold on every seed."""
    __tracebackhide__ = True
    if lr is None or isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
        raise ExerciseError(f"lr should be a number (the learning rate case 1 is trained at), got {lr!r:.80}")
    if not (math.isfinite(lr) and lr > 0):
        raise ExerciseError(f"lr should be a positive learning rate, got {_fmt(lr)}")
    with _course_generator_untouched():
        runs = [casebook.case1_training(seed, float(lr)) for seed in seeds]
    accuracies = [run.test_accuracy for run in runs]
    overshoots = any(not np.all(np.isfinite(run.loss)) or max(run.loss) > 1.2 * run.loss[0] for run in runs)
    if lr >= casebook.CASE1_LR:
        hint = f"lr = {_fmt(lr)} is no smaller than the rate case 1 was run at."
    elif overshoots:
        hint = (f"At lr = {_fmt(lr)} the loss still jumps above where it started: a step this large still "
                f"overshoots. Lower it until the loss falls steadily.")
    else:
        hint = (f"At lr = {_fmt(lr)} the loss falls, but too slowly to train in {casebook.STEPS} steps: "
                f"this rate is far below the edge of stability; raise it.")
    _check_accuracies(1, accuracies, seeds, f"at lr = {_fmt(lr)}", hint)


def _relu_zero_fraction(model, seed):
    """The fraction of case 2's hidden ReLU outputs that are 0 on the training digits of split `seed`."""
    X_train = casebook.digits_split(seed)[0]
    with casebook.no_grad():
        h1 = model[1](model[0](casebook.tensor(X_train)))
        h2 = model[3](model[2](h1))
    return float(np.mean([np.mean(h1.data <= 0), np.mean(h2.data <= 0)]))


def check_case2_repair(repair, seeds=(0, 1, 2)):
    """Case 2's network, changed in place by `repair(model)` and trained as before, reaches the threshold."""
    __tracebackhide__ = True
    watched = _watched_repair(repair, COURSE_IMPLEMENTATIONS["repair"])
    with _course_generator_untouched():
        model = casebook.case2_model(seeds[0])
        watched(model)
        zero = _relu_zero_fraction(model, seeds[0])
        accuracies = casebook.case2_measure(watched, seeds)
    if zero > 0.9:
        hint = (f"After {_name(repair)}(model), {zero:.1%} of the hidden ReLU outputs on the training digits are "
                f"still 0: no gradient passes a ReLU where it outputs 0, so these units cannot recover. "
                f"Change what keeps them below 0.")
    else:
        hint = "Measure the repaired network with gradcourse.diagnostics.measure_at_init before training it."
    _check_accuracies(2, accuracies, seeds, f"after {_name(repair)}(model)", hint)


def _check_step_gradient(train_step, watched, seed):
    """Two calls of your step at learning rate 0 on one batch must leave that batch's gradient in .grad."""
    model = casebook._mlp(seed)
    xb, yb = next(casebook._batches(seed, steps=1))
    functional.cross_entropy(model(casebook.tensor(xb)), yb).backward()
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    frozen = optim.SGD(model.parameters(), lr=0.0)  # lr 0: the same weights, so the same gradient
    watched(model, frozen, xb, yb)
    watched(model, frozen, xb, yb)
    grads = [p.grad for p in model.parameters()]
    if any(g is None for g in grads) or all(not np.any(g) for g in grads):
        raise ExerciseError(f"after {_name(train_step)}, the parameters have no gradient: the step clears "
                            f"the gradients between backward() and step(), so the optimiser has nothing to "
                            f"apply. Clear them before the backward pass.")
    if all(_close(g, 2 * e, rtol=1e-6) for g, e in zip(grads, expected)):
        raise ExerciseError(f"after two calls of {_name(train_step)} on the same batch, the gradient is twice "
                            f"that batch's gradient: each backward() adds to .grad, and the step never "
                            f"clears it, so every step applies the sum of all past gradients.")
    if not all(_close(g, e, rtol=1e-6) for g, e in zip(grads, expected)):
        raise ExerciseError(f"after {_name(train_step)}, .grad is not the gradient of the batch's "
                            f"cross-entropy loss: compute the loss on (xb, yb), clear, backward, step.")


def check_case3_repair(train_step, seeds=(0, 1, 2)):
    """`train_step(model, optimizer, xb, yb)` uses one batch's gradient per step and trains case 3."""
    __tracebackhide__ = True
    watched = _watched_repair(train_step, COURSE_IMPLEMENTATIONS["train_step"])
    with _course_generator_untouched():
        _check_step_gradient(train_step, watched, seeds[0])
        accuracies = casebook.case3_measure(watched, seeds)
    _check_accuracies(3, accuracies, seeds, f"trained with {_name(train_step)}",
                      "The step applies one batch's gradient: check the learning rate is left as it is.")


CHECKERS = {
    "01_background": [check_training_step, check_layer_gradient_norms],
    "02_core_concepts": [check_sigmoid_forward, check_sigmoid_backward, check_linreg_gradient,
                         check_jacobian_bound],
    "03_algorithms": [check_cosine_lr, check_adam_step, check_residual_block],
    "04_worked_example": [check_bias_corrected_averages, check_polynomial_lr, check_regression_loss,
                          check_cause, check_case1_repair, check_case2_repair, check_case3_repair],
    "05_future": [check_layer_norm, check_clip_grad_norm],
    "06_faq": [check_dead_relu_fraction, check_lr_range_test, check_suggest_lr],
}
