"""The course's pictures: how gradients, activations and losses behave layer by layer and step by step.

Every function takes plain numpy arrays, lists or dicts (label -> values), draws one kind of
picture, and returns its `matplotlib.figure.Figure`; none calls `plt.show()`. In a notebook the
returned Figure is displayed once, as a PNG. Figures are built with `matplotlib.figure.Figure`,
not pyplot, so no global figure state is created and nothing is displayed twice.

One look for the whole course is set here, in one place: `PALETTE` (Okabe-Ito, readable with
every common colour-vision deficiency), `COURSE_STYLE` (an rc dict, applied with `style()`
only while a figure is drawn; importing this module changes no global setting), and the pinned
`FIGSIZE`, `WIDE_FIGSIZE` and `DPI` (they appear in a figure's text repr, which nbval compares).

A function that draws one panel takes `ax=None`: pass an Axes (e.g. from `subplots`) to
compose several pictures in one figure; without it the function makes its own figure.

Magnitudes that span decades (gradient norms, update ratios, singular values) are drawn on log
scales, every one through `log_scale`: one tick rule (`LogTicks`: 10^k when the axis spans 3
decades or more, plain numbers below), and gradient axes span at least MIN_DECADES decades so a
healthy band looks flat. Values a log scale cannot show (0, inf, nan) are left out of the line
and written on the plot where they would be, so a vanished or exploded layer is visible
instead of crashing. Past four lines the dash pattern changes with the colour (`line_styles`).

This module keeps the reusable pictures; each explorer's own picture (`plot_...`) sits in its
topic module of `gradcourse.experiments`, next to what it draws.
"""
import importlib
import os
import textwrap
from collections.abc import Mapping
from contextlib import contextmanager

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, MaxNLocator

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, black, yellow (yellow last: it is faint on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
SEQUENTIAL_CMAP = "viridis"   # colour by position (first layer dark, last layer light)
REFERENCE_COLOR = "#444444"   # reference lines (1e-3 update ratio, isometry)

FIGSIZE = (6.4, 4.0)          # inches: <Figure size 640x400 with 1 Axes> at DPI 100
WIDE_FIGSIZE = (10.0, 4.0)    # two panels side by side: <Figure size 1000x400 with 2 Axes>
DPI = 100

COURSE_STYLE = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    # past four lines the dash pattern changes too (see `line_styles`), not only the colour
    "axes.prop_cycle": cycler(linestyle=["-", "--", ":", "-."]) * cycler(color=PALETTE[:4]),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.85",
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "image.cmap": SEQUENTIAL_CMAP,
}

# Saturation thresholds, the same as gradcourse.diagnostics (a test checks they agree):
TANH_SATURATION = 0.97        # |tanh(x)| > 0.97: slope 1 - y^2 < 0.06
SIGMOID_SATURATION = 0.03     # sigma(x) outside [0.03, 0.97]: slope y (1 - y) < 0.03

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel puts in MPLBACKEND
LAYER_AXIS = "layer (input side → output side)"
BLOCK_AXIS = "block (input side → output side)"
STEP_AXIS = "training step"
LINESTYLES = ("-", "--", ":", "-.")
WIDE_DECADES = 3              # a log axis this wide labels its ticks 10^k, a narrower one 0.2, 1, 50
MIN_DECADES = 4               # a log gradient axis spans at least this many decades


# ----- the look --------------------------------------------------------------------------------
@contextmanager
def style():
    """Apply COURSE_STYLE inside a `with` block only (global rcParams are restored after)."""
    _enable_notebook_display()
    with matplotlib.rc_context(COURSE_STYLE):
        yield


def subplots(nrows=1, ncols=1, figsize=None, **kwargs):
    """(fig, axes) in the course style, without pyplot: use it to compose several pictures.

    `axes` is one Axes for a single panel, else a numpy array as `plt.subplots` returns.
    `figsize` defaults to FIGSIZE for one column and WIDE_FIGSIZE for more.
    """
    if figsize is None:
        figsize = FIGSIZE if ncols == 1 else WIDE_FIGSIZE
    _enable_notebook_display()
    with style():
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, **kwargs)
        for each in np.atleast_1d(axes).ravel():
            _style_axes(each)
    return fig, axes


def _enable_notebook_display():
    """In Jupyter, load the inline backend so that a returned Figure is displayed as a PNG.

    pyplot loads it with the first plt.figure(); figures made without pyplot would otherwise
    show only their text "<Figure size 640x400 with 1 Axes>" until some cell used pyplot.
    ipykernel announces the inline backend in MPLBACKEND; importing it twice does nothing.
    Figures are sent as "retina" PNGs (twice the pixels, shown at the same size), so they are
    sharp on high-resolution screens; the text repr "<Figure size 640x400 ...>" does not change.
    """
    global _RETINA
    if os.environ.get("MPLBACKEND") == INLINE_BACKEND and not _RETINA:
        backend = importlib.import_module("matplotlib_inline.backend_inline")
        backend.set_matplotlib_formats("retina")
        _RETINA = True


_RETINA = False  # set once the inline backend sends retina PNGs


def _style_axes(ax):
    """Set the properties that matplotlib resolves at draw time, so they survive outside style()."""
    ax.grid(True, alpha=COURSE_STYLE["grid.alpha"], linewidth=COURSE_STYLE["grid.linewidth"])
    ax.tick_params(labelsize=COURSE_STYLE["xtick.labelsize"])
    ax.spines[["top", "right"]].set_visible(False)


def panel(ax):
    """The given Axes, or the single Axes of a new course-style figure."""
    if ax is not None:
        return ax
    return subplots()[1]


def colors(n, sequential=False):
    """n colours: the palette for a few categories, else a sequential colormap (by layer position)."""
    if not sequential and n <= len(PALETTE):
        return PALETTE[:n]
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    return [cmap(v) for v in np.linspace(0.0, 0.85, n)] if n > 1 else [cmap(0.0)]


def line_styles(n, sequential=False):
    """n dicts (color, linestyle) for n lines: four palette colours, solid; past four the dash
    pattern changes as well (the same order as COURSE_STYLE's cycle), so five or more lines
    stay apart in grey print and for colour-blind readers. `sequential`: colours by layer position from
    the colormap, the dash pattern cycling from line to line when there are more than four."""
    if sequential:
        return [dict(color=c, linestyle=LINESTYLES[i % 4] if n > 4 else "-")
                for i, c in enumerate(colors(n, sequential=True))]
    return [dict(color=PALETTE[i % 4], linestyle=LINESTYLES[(i // 4) % 4]) for i in range(n)]


def _series(data, what):
    """[(label or None, 1-D float array)] from a 1-D array-like or a dict label -> 1-D array."""
    items = data.items() if isinstance(data, Mapping) else [(None, data)]
    series = []
    for label, values in items:
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"{what}: expected a 1-D array (or a dict label -> 1-D array), got shape "
                             f"{values.shape}{'' if label is None else f' for {label!r}'}; "
                             "pass several configurations as a dict")
        series.append((label, values))
    if not series:
        raise ValueError(f"{what}: nothing to plot (empty dict)")
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


class LogTicks(Formatter):
    """The course's one rule for log-axis tick labels, read from the axis's range when drawn:
    an axis spanning WIDE_DECADES (3) decades or more labels only powers of ten, as 10^k; a
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
            return f"$10^{{{round(exponent)}}}$" if power_of_ten and not self.minor else ""
        if self.minor and decades >= 1.5:
            return ""
        return f"{x:g}"


def log_scale(ax, axis="y", values=None, min_decades=None):
    """Put one axis of `ax` on a log scale with the course's tick labels (`LogTicks`).

    `min_decades`: widen the axis around the geometric centre of the positive finite `values`
    until it spans that many decades, so a healthy band (0.06 to 0.08) looks flat instead of
    filling the panel like a chaotic one. Values that are all non-positive get the range 0.1-10.
    """
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


# ----- per-layer pictures -----------------------------------------------------------------------
def _per_layer(ax, data, what, ylabel, logy, title, min_decades=None):
    series = _series(data, what)
    for (label, values), look in zip(series, line_styles(len(series))):
        layers = np.arange(1, len(values) + 1)
        drawn, bad = drawable(values, logy)
        ax.plot(layers, drawn, marker="o", label=label, **look)
        mark_missing(ax, layers, values, bad, look["color"])
    if logy:
        log_scale(ax, "y", [v for _, v in series], min_decades)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(LAYER_AXIS)
    ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
    if title:
        ax.set_title(title)
    legend(ax)
    return ax.figure


# The two per-layer gradients, named on every axis that shows one (see gradcourse.diagnostics)
ACTIVATION_GRADIENT = r"$\Vert\partial L/\partial h_l\Vert$, reaching layer $l$"
WEIGHT_GRADIENT = r"$\Vert\partial L/\partial W_l\Vert$, layer $l$'s weights"


def gradient_flow(norms, ax=None, title=None, ylabel=ACTIVATION_GRADIENT):
    """The norm of the gradient reaching each layer, input side on the left, on a log scale.

    `norms`: a 1-D array (one value per layer) or a dict label -> 1-D array to compare
    configurations (e.g. initialisations). How to read it: a flat line means the gradient
    arrives intact at every layer; a line falling towards the left means it vanishes on its way
    back to the input (early layers learn slowly); rising towards the left means it explodes.
    The slope is the per-layer factor: one decade over ten layers is a factor of 10^(1/10) = 1.26.
    Zeros, infs and nans are written as "↓0", "↑inf", "nan" at the bottom or top of the plot.
    """
    with style():
        return _per_layer(panel(ax), norms, "gradient_flow", ylabel, True, title, MIN_DECADES)


def gradient_profiles(activation_grads, weight_grads, title=None, xlabel=LAYER_AXIS):
    """Two panels side by side: the gradient reaching each layer's output, ‖∂L/∂h_l‖ (left),
    and the gradient of each layer's weights, ‖∂L/∂W_l‖ = ‖h_{l-1}^T ∂L/∂z_l‖ (right).

    Each argument is a 1-D array or a dict label -> 1-D array, as for `gradient_flow`. The two
    can disagree: the weight gradient multiplies the backward signal by the layer's input, and
    a forward signal that grows where the backward one shrinks cancels the slope. Plain gradient
    descent moves W_l in proportion to the right panel.
    """
    fig, (left, right) = subplots(1, 2)
    gradient_flow(activation_grads, ax=left, title="the gradient reaching each layer's output")
    gradient_flow(weight_grads, ax=right, ylabel=WEIGHT_GRADIENT, title="the gradient of each layer's weights")
    for ax in (left, right):
        ax.set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    return fig


def seed_spread(values, ylabel, logy=False, ax=None, title=None, reference=None, rotation=None):
    """Every seed's value as a dot, one column per configuration, with the mean as a bar.

    `values`: a dict label -> `seeds.SeedValues` (or a 1-D array, one value per seed). The
    dots show the whole spread, so a lucky seed cannot pass for the rule. Non-finite values (a
    diverged run) are written at the top of their column. `reference`: a horizontal line, e.g.
    the loss of chance level. `rotation`: of the column labels, in degrees (default: 20 when a
    label is longer than 10 characters, else 0).
    """
    if not isinstance(values, Mapping) or not values:
        raise ValueError("seed_spread: values must be a non-empty dict label -> per-seed values")
    labels = [str(label) for label in values]
    columns = [np.asarray(getattr(v, "values", v), dtype=float) for v in values.values()]
    with style():
        ax = panel(ax)
        for x, (column, color) in enumerate(zip(columns, colors(len(columns)))):
            drawn, bad = drawable(column, logy)
            jitter = np.linspace(-0.18, 0.18, column.size) if column.size > 1 else np.zeros(1)
            ax.plot(x + jitter, drawn, linestyle="none", marker="o", color=color, alpha=0.75)
            finite = drawn[~bad]
            if finite.size:
                centre = np.exp(np.mean(np.log(finite))) if logy else np.mean(finite)
                ax.plot([x - 0.3, x + 0.3], [centre, centre], color="black", linewidth=1.4)
            if bad.any():
                ax.annotate(f"{bad.sum()} of {column.size}\nnot finite", xy=(x, 1.0),
                            xycoords=ax.get_xaxis_transform(), ha="center", va="top", fontsize=7.5)
        if reference is not None:
            ax.axhline(reference, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
        if logy:
            log_scale(ax, "y", columns)
        if rotation is None:
            rotation = 20 if max(map(len, labels)) > 10 else 0
        ax.set_xticks(np.arange(len(labels)), labels, rotation=rotation, ha="right" if rotation else "center")
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
        ax.grid(False, axis="x")
        n = max(column.size for column in columns)
        ax.set_title(title or f"every seed a dot ({n} seeds), black bar: {'geometric ' if logy else ''}mean")
        return ax.figure


def activation_std(stds, ax=None, title=None, ylabel="std of the layer's activations", logy=True):
    """The standard deviation of each layer's activations, input side on the left.

    `stds`: a 1-D array or a dict label -> 1-D array. How to read it: a good initialisation keeps
    the line flat; a line falling to the right means the signal shrinks layer after layer (and
    with it the gradient), rising means it grows until squashing units saturate or values overflow.
    """
    with style():
        return _per_layer(panel(ax), stds, "activation_std", ylabel, logy, title)


def _layer_stats(values, kind, activation):
    """Legend text for one layer: mean, std, and saturated / zero percentages."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "no finite values"
    fmt = ".2f" if kind == "activation" else ".2e"
    text = f"mean {finite.mean():+{fmt}}, std {finite.std():{fmt}}"
    if kind == "activation" and activation == "tanh":
        text += f", saturated {100 * np.mean(np.abs(finite) > TANH_SATURATION):.1f}%"
    elif kind == "activation" and activation == "sigmoid":
        outside = (finite < SIGMOID_SATURATION) | (finite > 1 - SIGMOID_SATURATION)
        text += f", saturated {100 * np.mean(outside):.1f}%"
    elif kind == "activation" and activation == "relu":
        text += f", dead (zero) {100 * np.mean(finite == 0):.1f}%"
    dropped = values.size - finite.size
    return text + (f", {dropped} non-finite left out" if dropped else "")


def layer_histograms(values, kind="activation", activation=None, bins=50, ax=None, title=None):
    """The distribution of every layer's activations (or gradients), one line per layer.

    `values`: a list of arrays (one per layer, input side first) or a dict name -> array; each
    array is flattened. `kind`: "activation" or "gradient". `activation` ("tanh", "sigmoid",
    "relu" or None) adds to each legend line the share of saturated units (|tanh| > 0.97; sigmoid
    outside [0.03, 0.97]) or of dead units (relu output exactly 0; these zeros are left out of
    the relu histograms, where they would be one tall spike). Each line is a density histogram
    (area 1) of that layer, coloured by position: dark = first layer, light = last.
    How to read it (Karpathy's makemore part 3): healthy layers have similar widths; tanh layers
    piled up at +-1 are saturated (their gradient is nearly zero); gradient histograms that
    narrow towards the input side show the gradient vanishing.
    """
    if kind not in ("activation", "gradient"):
        raise ValueError(f"kind must be 'activation' or 'gradient', got {kind!r}")
    items = list(values.items()) if isinstance(values, Mapping) else [
        (f"layer {i + 1}", v) for i, v in enumerate(values)]
    if not items:
        raise ValueError("layer_histograms: no layers given")
    with style():
        ax = panel(ax)
        for (name, layer), look in zip(items, line_styles(len(items), sequential=True)):
            layer = np.asarray(layer, dtype=float).ravel()
            finite = layer[np.isfinite(layer)]
            if kind == "activation" and activation == "relu":
                finite = finite[finite != 0]  # the zeros would be one tall spike: counted in the legend
            if finite.size:
                density, edges = np.histogram(finite, bins=bins, density=True)
                centres = (edges[:-1] + edges[1:]) / 2
            else:
                density = centres = np.array([])
            ax.plot(centres, density, **look,
                    label=f"{name}: {_layer_stats(layer, kind, activation)}")
        what = "activation" if kind == "activation" else "gradient"
        ax.set_xlabel("gradient value (dLoss / d layer output)" if kind == "gradient"
                      else "activation value (layer output)"
                      + (", zeros left out" if activation == "relu" else ""))
        ax.set_ylabel("density (area under each line = 1)")
        ax.set_title(title or f"{what} distribution per layer" + (f" ({activation})" if activation else ""))
        legend(ax, fontsize=7.5)
        return ax.figure


# ----- pictures over training steps ------------------------------------------------------------
def update_ratio(history, labels=None, ax=None, title=None, steps=None, reference=-3.0):
    """log10 of each layer's update-to-data ratio lr * std(grad) / std(weight), step by step.

    `history`: an array (steps x layers), a dict label -> 1-D array, or a `GradientFlow.history`
    dict (its "update_ratio" and "step" entries are used). `labels` name the columns of an array
    (default "layer 1", "layer 2", ...); `steps` gives the x values (default 0, 1, 2, ...).
    How to read it: the dashed line at -3 (updates a thousandth of the weights) is the usual
    healthy level; far above it the weights are being overwritten every step (lr too large),
    far below they barely move (lr too small, or the gradient vanished for that layer).
    """
    if isinstance(history, Mapping) and "update_ratio" in history:
        steps = history.get("step") if steps is None else steps
        history = history["update_ratio"]
    if isinstance(history, Mapping):
        series = _series(history, "update_ratio")
    else:
        table = np.asarray(history, dtype=float)
        if table.ndim == 1:
            table = table[:, None]
        if table.ndim != 2:
            raise ValueError(f"update_ratio: expected an array of shape (steps, layers), got {table.shape}")
        labels = labels or [f"layer {i + 1}" for i in range(table.shape[1])]
        if len(labels) != table.shape[1]:
            raise ValueError(f"update_ratio: {len(labels)} labels for {table.shape[1]} columns")
        series = list(zip(labels, table.T))
    with style():
        ax = panel(ax)
        for (label, ratios), look in zip(series, line_styles(len(series))):
            x = np.arange(len(ratios)) if steps is None else np.asarray(steps)
            drawn, _ = drawable(ratios, log=True)
            ax.plot(x, np.log10(drawn), linewidth=1.4, label=label, **look)
        ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference", zorder=3,
                   label=f"1e{reference:g} (rule of thumb)")
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel("log10(update / data)\n= log10(lr · std(grad) / std(weight))")
        ax.set_title(title or "update-to-data ratio per layer")
        legend(ax, fontsize=7.5)
        return ax.figure


def _get(run, key):
    """run[key] for a dict, run.key for an object such as training.History, else None."""
    return run.get(key) if isinstance(run, Mapping) else getattr(run, key, None)


def _curve(run, metric):
    """(x, y) of a run's loss or accuracy, or None if the run has no such values."""
    if metric == "loss":
        y = _get(run, "loss")
        x_key = "steps"
    else:
        y = _get(run, "accuracy")
        y = _get(run, "train_accuracy") if y is None else y
        x_key = "eval_steps"
    if y is None or len(y) == 0:
        return None
    y = np.asarray(y, dtype=float)
    x = _get(run, x_key)
    x = np.arange(len(y)) if x is None or len(x) != len(y) else np.asarray(x, dtype=float)
    return x, y


def _diverged_at(run, y):
    """The run's diverged_at, else the first step whose value is not finite, else None."""
    step = _get(run, "diverged_at")
    if step is None and not np.all(np.isfinite(y)):
        step = int(np.flatnonzero(~np.isfinite(y))[0])
    return step


def _spans_decades(curves, decades=2):
    values = np.concatenate([y for _, y in curves]) if curves else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() / values.min() >= 10 ** decades


def _training_panel(ax, runs, metric, logy):
    curves = {label: _curve(run, metric) for label, run in runs.items()}
    if all(c is None for c in curves.values()):
        raise ValueError(f"training_curves: no run has {metric!r} values "
                         f"(runs: {sorted(map(str, runs))})")
    if logy is None:
        logy = metric == "loss" and _spans_decades([c for c in curves.values() if c is not None])
    for (label, run), look in zip(runs.items(), line_styles(len(runs))):
        color = look["color"]
        if curves[label] is None:
            continue
        x, y = curves[label]
        drawn, _ = drawable(y, logy)
        ax.plot(x, drawn, linewidth=1.4, label=label, **look)
        step = _diverged_at(run, y)
        if step is not None:
            shown = np.flatnonzero(np.isfinite(drawn) & (x <= step))
            y_mark = drawn[shown[-1]] if shown.size else (1.0 if logy else 0.0)
            ax.plot([step], [y_mark], linestyle="none", marker="X", markersize=11, color=color,
                    markeredgecolor="black", markeredgewidth=0.8, gid="diverged")
            note = ax.annotate(f"diverged at step {step}", xy=(step, y_mark), xytext=(6, 6),
                               textcoords="offset points", fontsize=8, color=color)
            note.set_in_layout(False)
    if logy:
        log_scale(ax, "y", [c[1] for c in curves.values() if c is not None])
    ax.set_xlabel(STEP_AXIS)
    ax.set_ylabel("training loss" + (" (log scale)" if logy else "") if metric == "loss"
                  else "accuracy (fraction correct)")
    legend(ax)


def training_curves(runs, metric="loss", ax=None, logy=None, title=None):
    """Loss (or accuracy) over training steps, one line per run, with an X where a run diverged.

    `runs`: a dict label -> run, where a run is a dict (or a `training.History`) with "loss" (one
    value per step), optionally "accuracy" (or "train_accuracy", measured at "eval_steps") and
    "diverged_at" (the step whose loss or gradient became non-finite, or None). `metric`: "loss",
    "accuracy", or "both" (two panels; `ax` may then be a pair of Axes). `logy=None` picks a log
    scale when the losses span two decades or more.
    How to read it: the X marks the last finite loss before the run blew up; compare how fast the
    surviving runs fall, and at which step the others stopped.
    """
    if metric not in ("loss", "accuracy", "both"):
        raise ValueError(f"metric must be 'loss', 'accuracy' or 'both', got {metric!r}")
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("training_curves: runs must be a non-empty dict label -> run")
    with style():
        if metric != "both":
            ax = panel(ax)
            _training_panel(ax, runs, metric, logy)
            if title:
                ax.set_title(title)
            return ax.figure
        if ax is None:
            fig, ax = subplots(1, 2)
        elif len(ax) != 2:
            raise ValueError("training_curves(metric='both') draws two panels: pass ax=None or two Axes")
        _training_panel(ax[0], runs, "loss", logy)
        _training_panel(ax[1], runs, "accuracy", False)
        if title:
            ax[0].figure.suptitle(title)
        return ax[0].figure


def schedules(curves, steps=None, ax=None, logy=False, title=None):
    """Learning rate against step for one or several schedules.

    `curves`: a dict label -> 1-D array of rates, or label -> callable `schedule(step) -> lr`
    (e.g. `gradcourse.schedules.CosineAnnealing(0.1, total_steps=100)`), evaluated at
    `range(steps)`. A single array or callable is also accepted. How to read it: the height is
    the step size the optimiser uses at that step; warm-up is the initial ramp.
    """
    if not isinstance(curves, Mapping):
        curves = {None: curves}
    evaluated = {}
    for label, curve in curves.items():
        if callable(curve):
            if steps is None:
                raise ValueError(f"schedules: {label!r} is a callable schedule; pass steps=N to evaluate "
                                 "it at steps 0..N-1")
            curve = [curve(t) for t in range(steps)]
        evaluated[label] = curve
    with style():
        ax = panel(ax)
        for (label, lr), look in zip(_series(evaluated, "schedules"), line_styles(len(evaluated))):
            drawn, _ = drawable(lr, logy)
            ax.plot(np.arange(len(lr)), drawn, label=label, **look)
        if logy:
            log_scale(ax, "y", [lr for _, lr in _series(evaluated, "schedules")])
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel("learning rate" + (" (log scale)" if logy else ""))
        ax.set_title(title or "learning-rate schedule")
        legend(ax)
        return ax.figure


# ----- loss landscapes and spectra -------------------------------------------------------------
def _evaluate_grid(f, X, Y):
    """f on the grid, vectorised if f accepts arrays, else point by point (np.vectorize)."""
    with np.errstate(all="ignore"):
        try:
            Z = np.asarray(f(X, Y), dtype=float)
            if Z.shape == X.shape:
                return Z
        except Exception:  # f works on scalars only: fall back to one call per grid point
            pass
        return np.vectorize(lambda x, y: float(f(x, y)), otypes=[float])(X, Y)


def _contour_levels(Z, n, log_levels):
    """n levels: spaced geometrically above the minimum (fine near the valley floor) or evenly."""
    finite = Z[np.isfinite(Z)]
    low, high = finite.min(), finite.max()
    if not log_levels:
        return np.linspace(low, high, n)
    span = high - low
    return np.unique(low + np.geomspace(span * 1e-4, span, n))


def loss_surface(f, xlim, ylim, trajectories=None, levels=30, resolution=100, ax=None,
                 log_levels=True, title=None, xlabel="first parameter", ylabel="second parameter"):
    """Contour lines of a loss f(x, y) over a window, with optimiser paths drawn on top.

    `f(x, y)` should accept numpy grids (it is called point by point if it does not);
    `trajectories`: a dict label -> array of shape (T, 2), the successive (x, y) of an
    optimiser, drawn with an open circle at the start and a star at the end. `log_levels` spaces
    the contour levels geometrically above the minimum, so the flat valley floor (where the
    interesting steps happen) gets as many lines as the steep walls. Darker lines are lower.
    How to read it: steps perpendicular to the lines go downhill fastest; a zig-zag across a
    narrow valley means the learning rate suits the steep direction but not the flat one.
    """
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = _evaluate_grid(f, X, Y)
    with style():
        ax = panel(ax)
        finite = Z[np.isfinite(Z)]
        if finite.size and finite.max() > finite.min():
            lv = _contour_levels(Z, levels, log_levels)
            cmap = matplotlib.colormaps["Greys_r"]
            ax.contour(X, Y, np.ma.masked_invalid(Z), levels=lv, linewidths=0.8,
                       colors=[cmap(v) for v in np.linspace(0.0, 0.75, len(lv))])
        else:
            ax.text(0.5, 0.5, "f is constant (or not finite) on this window", transform=ax.transAxes,
                    ha="center", va="center")
        trajectories = trajectories or {}
        for (label, path), look in zip(trajectories.items(), line_styles(len(trajectories))):
            color = look["color"]
            path = np.asarray(path, dtype=float)
            if path.ndim != 2 or path.shape[1] != 2:
                raise ValueError(f"loss_surface: trajectory {label!r} has shape {path.shape}; "
                                 "expected (T, 2), one (x, y) row per step")
            ax.plot(path[:, 0], path[:, 1], linewidth=1.5, label=label, **look,
                    marker="." if len(path) <= 60 else None, markersize=4)
            rows = np.flatnonzero(np.all(np.isfinite(path), axis=1))
            if rows.size:
                ax.plot(*path[rows[0]], marker="o", markersize=8, markerfacecolor="white",
                        markeredgecolor=color, markeredgewidth=1.8, gid="start")
                ax.plot(*path[rows[-1]], marker="*", markersize=13, color=color,
                        markeredgecolor="black", markeredgewidth=0.6, gid="end")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.grid(False)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title or "loss contours" + (" (log-spaced levels)" if log_levels else ""))
        if trajectories:
            handles, _ = ax.get_legend_handles_labels()
            handles += [Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                               markeredgecolor="black", label="start"),
                        Line2D([], [], linestyle="none", marker="*", markersize=10, color="black",
                               label="end")]
            ax.legend(handles=handles)
        return ax.figure


def jacobian_spectrum(singular_values, ax=None, title=None):
    """The singular values of input-output Jacobians, as the fraction at or below each value.

    `singular_values`: a dict label -> 1-D array (or one array). Each line climbs from 0 to 1
    as x passes the singular values (an empirical CDF, log x axis). How to read it: dynamical
    isometry - every singular value 1, a vertical step on the dashed line - means each direction
    of the input's gradient is passed back unchanged; a wide, slanting line means some directions
    are amplified and others crushed, and the width in decades is how badly conditioned the map is.
    """
    series = _series(singular_values, "jacobian_spectrum")
    with style():
        ax = panel(ax)
        for (label, s), look in zip(series, line_styles(len(series))):
            shown = np.sort(s[np.isfinite(s) & (s > 0)])
            zeros, infs, nans = np.sum(s <= 0), np.sum(s == np.inf), np.sum(np.isnan(s))
            # zeros lie left of every x (they start the line higher); infs keep it below 1
            fraction = (zeros + np.arange(1, shown.size + 1)) / max(s.size - nans, 1)
            off_axis = [f"{n} {what}" for n, what in ((zeros, "zero"), (infs, "inf"), (nans, "nan")) if n]
            if off_axis and label is not None:
                label = f"{label} ({', '.join(off_axis)}: not on the log axis)"
            ax.plot(shown, fraction, drawstyle="steps-post", label=label, **look)
        ax.axvline(1.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference",
                   zorder=1, label="isometry: every singular value = 1")
        log_scale(ax, "x")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("singular value of the input-output Jacobian (log scale)")
        ax.set_ylabel("fraction of singular values ≤ x")
        ax.set_title(title or "Jacobian spectrum: how far from an isometry")
        legend(ax)
        return ax.figure


def bar_comparison(values, ylabel, logy=False, ax=None, title=None):
    """One bar per configuration (an ablation), with its value written on top.

    `values`: a dict label -> number, e.g. final loss per remedy. Non-finite values (a run that
    diverged) and, on a log scale, values <= 0 get no bar and are written at the bottom instead.
    """
    if not isinstance(values, Mapping) or not values:
        raise ValueError("bar_comparison: values must be a non-empty dict label -> number")
    labels = [str(label) for label in values]
    heights = np.array([float(v) for v in values.values()])
    drawn, bad = drawable(heights, logy)
    with style():
        ax = panel(ax)
        x = np.arange(len(labels))
        bars = ax.bar(x, np.where(bad, 0.0, drawn), color=colors(len(labels)), width=0.65)
        for bar, v, missing in zip(bars, heights, bad):
            if not missing:
                ax.annotate(f"{v:.3g}", xy=(bar.get_x() + bar.get_width() / 2, v), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=8)
        mark_missing(ax, x, heights, bad, "black", all_at_bottom=True)
        if logy:
            log_scale(ax, "y", [drawn])
        ax.set_xticks(x, labels, rotation=20 if max(map(len, labels)) > 10 else 0,
                      ha="right" if max(map(len, labels)) > 10 else "center")
        ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
        ax.grid(False, axis="x")
        if title:
            ax.set_title(title)
        return ax.figure


# ----- messages ----------------------------------------------------------------------------------
def message(text, title="no picture for this setting"):
    """A figure holding only a message: what an explorer shows when a setting fails to compute,
    so the picture never keeps showing a result that no longer matches the controls."""
    fig, ax = subplots()
    ax.set_axis_off()
    ax.set_title(title)
    wrapped = "\n".join(textwrap.wrap(str(text), width=70))
    with style():
        ax.text(0.5, 0.5, wrapped, ha="center", va="center", transform=ax.transAxes, color="#b00000")
    return fig


# ----- per-layer lines for the explorers' pictures (gradcourse.experiments) ---------------------
def per_layer_lines(ax, rows, ylabel, xlabel=LAYER_AXIS):
    """rows: [(label, values, color, linestyle)], drawn per layer on a log scale."""
    for label, values, color, linestyle in rows:
        values = np.asarray(values, dtype=float)
        layers = np.arange(1, len(values) + 1)
        drawn, bad = drawable(values, log=True)
        ax.plot(layers, drawn, color=color, linestyle=linestyle, marker="o", markersize=3, label=label)
        mark_missing(ax, layers, values, bad, color)
    log_scale(ax, "y", [r[1] for r in rows], MIN_DECADES)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + " (log scale)")
    legend(ax)


