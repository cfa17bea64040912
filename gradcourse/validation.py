"""Argument checks shared by every module: one rule per kind of argument, one message template.

Every check raises with the same sentence, so a student learns one shape of error:

    <where>: <name> must be <rule>, got <value>

e.g. "fit: steps must be a positive integer, got True". A value of the wrong kind (a string where
a number belongs, a float where a count belongs) is a TypeError, a value of the right kind outside
the rule (a negative size, a NaN rate) a ValueError, as in Python's own built-ins. Each rule says
what a valid value *is*, so NaN, for which every comparison is False, never slips through, and a
bool (True == 1 in Python) is never taken for a number or a count.

(Written here rather than taken from a library: the checks are a few lines each, and what matters
is that they are the same everywhere and that their messages read like the course's prose.)
"""
import math
import numbers

import numpy as np

__all__ = ["message", "show", "fail", "require", "integer", "positive_int", "non_negative_int",
           "number", "positive", "non_negative", "fraction", "probability", "in_range", "choice", "boolean", "count", "instance", "real_array",
           "is_integer", "is_number", "scalar"]


def message(name, value, rule, where=None):
    """'<where>: <name> must be <rule>, got <value!r>' (the one template every check uses)."""
    text = f"{name} must be {rule}, got {show(value)}"
    return f"{where}: {text}" if where else text


def show(value):
    """repr(value), cut to 80 characters: how a message quotes the value it got."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(name, value, rule, where=None, error=ValueError):
    """Raise `error` with the template's message."""
    raise error(message(name, value, rule, where))


def require(ok, name, value, rule, where=None, error=ValueError):
    """Raise `error('<where>: <name> must be <rule>, got <value>')` unless `ok`."""
    if not ok:
        fail(name, value, rule, where, error)


# ----- what counts as an integer and as a number ---------------------------------------------
def is_integer(value):
    """True for Python and numpy integers, False for bools and everything else."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value):
    """True for real numbers (ints, floats, numpy scalars, 0-d arrays), False for bools and strings."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def scalar(value):
    """A 0-d array as its one element (numpy reductions and indexing give them back), anything
    else unchanged: so np.array(3) is taken as a count, as PyTorch does."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def integer(name, value, rule="an integer", where=None, minimum=None):
    """`value` as an int; TypeError unless it is an integer (a 0-d integer array counts, as in
    PyTorch), ValueError if below `minimum`."""
    value = scalar(value)
    require(is_integer(value), name, value, rule, where, TypeError)
    require(minimum is None or value >= minimum, name, value, rule, where)
    return int(value)


def positive_int(name, value, where=None):
    """An integer >= 1 (a size, a count of steps, a batch size)."""
    return integer(name, value, "a positive integer", where, minimum=1)


def non_negative_int(name, value, where=None):
    """An integer >= 0 (a count that may be zero, a step index)."""
    return integer(name, value, "a non-negative integer", where, minimum=0)


def number(name, value, rule="a finite number", where=None, allow_inf=False):
    """`value` as a float; TypeError unless it is a real number, ValueError if NaN (or inf)."""
    require(is_number(value), name, value, rule, where, TypeError)
    value = float(value)
    require(math.isfinite(value) or (allow_inf and not math.isnan(value)), name, value, rule, where)
    return value


def positive(name, value, where=None, allow_inf=False):
    """A number > 0 (a learning rate's upper end, a clipping norm, a scale)."""
    value = number(name, value, "a number > 0", where, allow_inf)
    require(value > 0, name, value, "a number > 0", where)
    return value


def non_negative(name, value, where=None, allow_inf=False):
    """A number >= 0 (a learning rate, a weight decay, a noise level)."""
    value = number(name, value, "a number >= 0", where, allow_inf)
    require(value >= 0, name, value, "a number >= 0", where)
    return value


def fraction(name, value, where=None):
    """A decay rate such as a beta: 0 <= value < 1."""
    return in_range(name, value, 0.0, 1.0, where, high_closed=False)


def probability(name, value, where=None):
    """A probability or proportion: 0 <= value <= 1."""
    return in_range(name, value, 0.0, 1.0, where)


def in_range(name, value, low, high, where=None, low_closed=True, high_closed=True):
    """A number in the interval from `low` to `high` (closed at either end as asked)."""
    rule = f"a number in {'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
    value = number(name, value, rule, where)
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    require(above and below, name, value, rule, where)
    return value


def boolean(name, value, where=None):
    """A flag: True or False (a numpy bool too), never a string or a number such as 1."""
    require(isinstance(value, (bool, np.bool_)), name, value, "True or False", where, TypeError)
    return bool(value)


def choice(name, value, options, where=None):
    """`value` if it is one of `options`; otherwise an error listing them.

    A value of another kind than every option (a number or a list where names belong) is a
    TypeError, an unknown value of the right kind (a misspelt name) a ValueError.
    """
    try:
        ok = value in options
    except TypeError:  # an unhashable value looked up in a dict or set
        ok = False
    if not ok:
        rule = "one of " + ", ".join(map(repr, options))
        right_kind = any(type(value) is type(option) for option in options)
        fail(name, value, rule, where, ValueError if right_kind else TypeError)
    return value


def count(name, value, maximum=None, where=None, minimum=1):
    """An integer from `minimum` to `maximum` (no upper limit if None): a number of steps, blocks, seeds."""
    rule = (f"an integer from {minimum} to {maximum}" if maximum is not None else
            "a positive integer" if minimum == 1 else f"an integer >= {minimum}")
    value = integer(name, value, rule, where)
    require(value >= minimum and (maximum is None or value <= maximum), name, value, rule, where)
    return value


def instance(name, value, kinds, rule, where=None):
    """`value` if it is an instance of `kinds` (a class or a tuple of them); otherwise a TypeError
    saying what it must be, e.g. instance("model", m, nn.Module, "a Module (a network)", "fit")."""
    require(isinstance(value, kinds), name, value, rule, where, TypeError)
    return value


def real_array(name, value, where=None, allow_bool=True, finite=False):
    """`value` as a float64 array: numbers only (TypeError for strings, None, complex, objects),
    and with `finite=True` no NaN or inf (ValueError naming the first bad entry)."""
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged nested list
        fail(name, "a ragged nested list", "a rectangular array of numbers", where)
    kinds = "biuf" if allow_bool else "iuf"
    require(array.dtype.kind in kinds, name, value, "an array of real numbers", where, TypeError)
    array = array.astype(np.float64, copy=False)
    if finite and not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        fail(f"{name}[{', '.join(map(str, bad))}]" if bad else name, float(array[bad]),
             "a finite number (no nan or inf in the data)", where)
    return array
