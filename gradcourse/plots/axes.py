"""What every picture does to its Axes: log scales with one tick rule, values a log axis cannot
show, legends, and the Axes to draw on.

Magnitudes that span decades (gradient norms, update ratios, singular values) are drawn on log
scales, every one through `log_scale`: one tick rule (`LogTicks`: 10^k when the axis spans 3
decades or more, plain numbers below), and gradient axes span at least MIN_DECADES decades so a
healthy band looks flat. Values a log scale cannot show (0, inf, nan) are left out of the line
(`drawable`) and written on the plot where they would be (`mark_missing`), so a vanished or
exploded layer is visible instead of crashing.
"""
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

from .. import validation
from .course_style import subplots

LAYER_AXIS = "layer (input side → output side)"
BLOCK_AXIS = "block (input side → output side)"
STEP_AXIS = "training step"
WIDE_DECADES = 3              # a log axis this wide labels its ticks 10^k, a narrower one 0.2, 1, 50
MIN_DECADES = 4               # a log gradient axis spans at least this many decades


def check_axes(ax, where, allow_none=True):
    """`ax` if it is a matplotlib Axes (or None, when `allow_none`), else a TypeError naming `where`."""
    if ax is None and allow_none:
        return None
    return validation.instance("ax", ax, Axes, "None or a matplotlib Axes" if allow_none else "a matplotlib Axes",
                               where)


def panel(ax, where):
    """The given Axes, or the single Axes of a new course-style figure if `ax` is None (a
    TypeError naming `where`, the function called, for anything else)."""
    return subplots()[1] if check_axes(ax, where) is None else ax


def _series(data, what):
    """[(label or None, 1-D float array)] from a 1-D array-like or a dict label -> 1-D array;
    `what` is the function called, named in the errors."""
    items = data.items() if isinstance(data, Mapping) else [(None, data)]
    series = []
    for label, values in items:
        name = "values" if label is None else f"values[{label!r}]"
        values = validation.real_array(name, values, what)
        validation.require(values.ndim == 1, f"{name}.shape", values.shape, "a 1-D array (one value per point; "
                           "pass several configurations as a dict label -> 1-D array)", what)
        validation.require(values.size > 0, name, values, "non-empty (at least one value)", what)
        series.append((label, values))
    validation.require(series, "values", data, "a 1-D array or a non-empty dict label -> 1-D array", what)
    return series


def drawable(values, log):
    """values with what the axis cannot show replaced by nan, and a mask of those entries."""
    bad = ~np.isfinite(values)
    if log:
        bad |= ~(values > 0)
    return np.where(bad, np.nan, values), bad


def mark_missing(ax, x, values, bad, color, all_at_bottom=False):
    """Write inf / nan / 0 where a value was left out: too large at the top, too small at the bottom."""
    for xi, v in zip(np.asarray(x)[bad], values[bad]):
        if np.isnan(v):
            text, top = "nan", True
        elif v == np.inf:
            text, top = "↑inf", True
        else:
            text, top = ("↓0" if v == 0 else f"↓{v:.2g}"), False
        top = top and not all_at_bottom
        note = ax.annotate(text, xy=(xi, 1.0 if top else 0.0), xycoords=ax.get_xaxis_transform(),
                           xytext=(0, -2 if top else 2), textcoords="offset points",
                           ha="center", va="top" if top else "bottom", fontsize=8, color=color)
        note.set_in_layout(False)  # inside the axes: the layout need not make room for it


def legend(ax, **kwargs):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(k):
    """An integer in superscript digits: 10 followed by _superscript(-3) reads 10⁻³. Plain text,
    not mathtext: matplotlib parses every "$10^{-3}$" label again at every draw, which cost an
    explorer's redraw about a third of its time."""
    return str(k).translate(_SUPERSCRIPT)


class LogTicks(Formatter):
    """The course's one rule for log-axis tick labels, read from the axis's range when drawn:
    an axis spanning WIDE_DECADES (3) decades or more labels only powers of ten, as 10ᵏ; a
    narrower one writes plain numbers (0.02, 1, 50), on its minor ticks too when it spans less
    than 1.5 decades (else a narrow axis could show a single label)."""

    def __init__(self, minor=False):
        self.minor = minor

    def __call__(self, x, pos=None):
        low, high = sorted(abs(v) for v in self.axis.get_view_interval())
        decades = np.log10(high / low) if low > 0 else np.inf
        exponent = np.log10(x) if x > 0 else np.nan
        power_of_ten = np.isfinite(exponent) and abs(exponent - round(exponent)) < 1e-6
        if decades >= WIDE_DECADES:
            return f"10{_superscript(round(exponent))}" if power_of_ten and not self.minor else ""
        if self.minor and decades >= 1.5:
            return ""
        return f"{x:g}"


def log_scale(ax, axis="y", values=None, min_decades=None):
    """Put one axis of `ax` on a log scale with the course's tick labels (`LogTicks`).

    `min_decades`: widen the axis around the geometric centre of the positive finite `values`
    until it spans that many decades, so a healthy band (0.06 to 0.08) looks flat instead of
    filling the panel like a chaotic one. Values that are all non-positive get the range 0.1-10.
    """
    check_axes(ax, "log_scale", allow_none=False)
    validation.choice("axis", axis, ("x", "y"), "log_scale")
    if min_decades is not None:
        validation.positive("min_decades", min_decades, "log_scale")
    getattr(ax, f"set_{axis}scale")("log")
    which = ax.yaxis if axis == "y" else ax.xaxis
    which.set_major_formatter(LogTicks())
    which.set_minor_formatter(LogTicks(minor=True))
    if values is None:
        return
    values = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if len(values) else np.array([])
    shown = values[np.isfinite(values) & (values > 0)]
    set_limits = getattr(ax, f"set_{axis}lim")
    if shown.size == 0:
        set_limits(1e-1, 1e1)
    elif min_decades and np.log10(shown.max() / shown.min()) < min_decades:
        centre = np.sqrt(shown.max() * shown.min())
        set_limits(centre / 10 ** (min_decades / 2), centre * 10 ** (min_decades / 2))

