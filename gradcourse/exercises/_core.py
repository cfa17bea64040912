"""What every checker shares: the ✓ and ✗ blocks, comparing numbers, and keeping the answers yours.

See the package's docstring (`gradcourse.exercises`) for how the checkers work.
"""
import contextlib
import html
import inspect
import sys
import textwrap
import threading

import numpy as np

from ..autograd import Tensor
from ..rng import generator


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


def _returned_none(call, what=None):
    """The ExerciseError for an answer that returned None: most often a forgotten `return`."""
    return ExerciseError(f"{call} returned None: add a return" + (f" at its end, returning {what}" if what else ""))


def _returned(value, call, what=None):
    """`value`, or the short ExerciseError of `_returned_none` if your function returned None."""
    if value is None:
        raise _returned_none(call, what)
    return value


def _as_written(name):
    """A module's or parameter's name as a student writes it: model[1], model.rnn, model[0].weight."""
    shown = "model"
    for part in name.split(".") if name else []:
        if part.isdigit():
            shown = shown.removesuffix(".layers") + f"[{part}]"
        else:
            shown += f".{part}"
    return shown


# ----- your code, not the course's ------------------------------------------------------------
# For each exercise, the names of the course's own implementations of it, which your answer may not
# be, nor call (only in its own exercise: an LSTM written by hand may call the course's sigmoid),
# and the function behind each name. Each notebook's module registers its exercises.
COURSE_IMPLEMENTATIONS = {}
_COURSE_FUNCTIONS = {}


def register_course_implementations(exercise, functions):
    """Record `functions` ({name shown in a message: function}) as the course's own answers to `exercise`."""
    _COURSE_FUNCTIONS.update(functions)
    COURSE_IMPLEMENTATIONS[exercise] = tuple(functions)


def _course_functions():
    """{name: function} of the course's implementations that an exercise asks you to write."""
    return dict(_COURSE_FUNCTIONS)


_CALLBACKS = {"_fake_training_loss"}  # the checkers' functions that a checker hands to your code


def _checker_code():
    """{code object: name} of the checkers' own functions (every module of this package)."""
    code = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == __package__ or module_name.startswith(__package__ + ".")):
            continue
        for name, value in vars(module).items():
            # (unwrapped: a decorated function's own code is in its file, its wrapper's is shared)
            own = getattr(inspect.unwrap(value), "__code__", None) if callable(value) else None
            if own is not None and own.co_filename == module.__file__ and name not in _CALLBACKS:
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
    passed directly, wrapped in a lambda, imported under another name; threading.setprofile sees
    the calls of any thread your code starts.)
    """
    __tracebackhide__ = True
    functions = _course_functions()
    forbidden = {**_checker_code(), **{functions[name].__code__: name for name in course}}
    found = []

    def profile(frame, event, arg):
        if event == "call" and not found and frame.f_code in forbidden:
            found.append(forbidden[frame.f_code])

    previous, previous_in_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        return call(*args)
    finally:
        switched_off = sys.getprofile() is not profile
        sys.setprofile(previous)
        threading.setprofile(previous_in_threads)
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
    got, expected = (value.data if isinstance(value, Tensor) else value for value in (got, expected))
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

