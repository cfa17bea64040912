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
scales. Values a log scale cannot show (0, inf, nan) are left out of the line and written on
the plot where they would be, so a vanished or exploded layer is visible instead of crashing.
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
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, black, yellow (yellow last: it is faint on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
SEQUENTIAL_CMAP = "viridis"   # colour by depth (first layer dark, last layer light)
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
    "axes.prop_cycle": cycler(color=PALETTE),
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


# ----- the look --------------------------------------------------------------------------------
@contextmanager
def style():
    """Apply COURSE_STYLE inside a `with` block only (global rcParams are restored after)."""
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
    """
    if os.environ.get("MPLBACKEND") == INLINE_BACKEND:
        importlib.import_module("matplotlib_inline.backend_inline")


def _style_axes(ax):
    """Set the properties that matplotlib resolves at draw time, so they survive outside style()."""
    ax.grid(True, alpha=COURSE_STYLE["grid.alpha"], linewidth=COURSE_STYLE["grid.linewidth"])
    ax.tick_params(labelsize=COURSE_STYLE["xtick.labelsize"])
    ax.spines[["top", "right"]].set_visible(False)


def _axes(ax):
    """The given Axes, or the single Axes of a new course-style figure."""
    if ax is not None:
        return ax
    return subplots()[1]


def _colors(n, sequential=False):
    """n colours: the palette for a few categories, else a sequential colormap (by depth)."""
    if not sequential and n <= len(PALETTE):
        return PALETTE[:n]
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    return [cmap(v) for v in np.linspace(0.0, 0.85, n)] if n > 1 else [cmap(0.0)]


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


def _drawable(values, log):
    """values with what the axis cannot show replaced by nan, and a mask of those entries."""
    bad = ~np.isfinite(values)
    if log:
        bad |= ~(values > 0)
    return np.where(bad, np.nan, values), bad


def _mark_missing(ax, x, values, bad, color, all_at_bottom=False):
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


def _legend(ax, **kwargs):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _safe_log_limits(ax, arrays, axis="y"):
    """Give a log axis a default range when no value is positive (matplotlib would warn)."""
    if not any(np.any(np.isfinite(a) & (a > 0)) for a in arrays):
        (ax.set_ylim if axis == "y" else ax.set_xlim)(1e-1, 1e1)


def _plain_log_ticks(axis, values):
    """Tick labels 0.2, 1, 50 instead of 2x10^-1 on a log axis; minor ones only within ~1.5 decades."""
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    narrow = values.size and values.max() / values.min() < 30
    axis.set_minor_formatter(plain if narrow else NullFormatter())


# ----- per-layer pictures -----------------------------------------------------------------------
def _per_layer(ax, data, what, ylabel, logy, title):
    series = _series(data, what)
    for (label, values), color in zip(series, _colors(len(series))):
        layers = np.arange(1, len(values) + 1)
        drawn, bad = _drawable(values, logy)
        ax.plot(layers, drawn, marker="o", color=color, label=label)
        _mark_missing(ax, layers, values, bad, color)
    if logy:
        ax.set_yscale("log")
        _safe_log_limits(ax, [_drawable(v, True)[0] for _, v in series])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(LAYER_AXIS)
    ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
    if title:
        ax.set_title(title)
    _legend(ax)
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
        return _per_layer(_axes(ax), norms, "gradient_flow", ylabel, True, title)


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
        ax = _axes(ax)
        for x, (column, color) in enumerate(zip(columns, _colors(len(columns)))):
            drawn, bad = _drawable(column, logy)
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
            ax.set_yscale("log")
            _safe_log_limits(ax, [_drawable(c, True)[0] for c in columns])
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
        return _per_layer(_axes(ax), stds, "activation_std", ylabel, logy, title)


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
    (area 1) of that layer, coloured by depth: dark = first layer, light = last.
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
        ax = _axes(ax)
        for (name, layer), color in zip(items, _colors(len(items), sequential=True)):
            layer = np.asarray(layer, dtype=float).ravel()
            finite = layer[np.isfinite(layer)]
            if kind == "activation" and activation == "relu":
                finite = finite[finite != 0]  # the zeros would be one tall spike: counted in the legend
            if finite.size:
                density, edges = np.histogram(finite, bins=bins, density=True)
                centres = (edges[:-1] + edges[1:]) / 2
            else:
                density = centres = np.array([])
            ax.plot(centres, density, color=color,
                    label=f"{name}: {_layer_stats(layer, kind, activation)}")
        what = "activation" if kind == "activation" else "gradient"
        ax.set_xlabel("gradient value (dLoss / d layer output)" if kind == "gradient"
                      else "activation value (layer output)"
                      + (", zeros left out" if activation == "relu" else ""))
        ax.set_ylabel("density (area under each line = 1)")
        ax.set_title(title or f"{what} distribution per layer" + (f" ({activation})" if activation else ""))
        _legend(ax, fontsize=7.5)
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
        ax = _axes(ax)
        for (label, ratios), color in zip(series, _colors(len(series))):
            x = np.arange(len(ratios)) if steps is None else np.asarray(steps)
            drawn, _ = _drawable(ratios, log=True)
            ax.plot(x, np.log10(drawn), color=color, linewidth=1.4, label=label)
        ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference", zorder=3,
                   label=f"1e{reference:g} (rule of thumb)")
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel("log10(update / data)\n= log10(lr · std(grad) / std(weight))")
        ax.set_title(title or "update-to-data ratio per layer")
        _legend(ax, fontsize=7.5)
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
    for (label, run), color in zip(runs.items(), _colors(len(runs))):
        if curves[label] is None:
            continue
        x, y = curves[label]
        drawn, _ = _drawable(y, logy)
        ax.plot(x, drawn, color=color, linewidth=1.4, label=label)
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
        ax.set_yscale("log")
        _safe_log_limits(ax, [_drawable(c[1], True)[0] for c in curves.values() if c is not None])
    ax.set_xlabel(STEP_AXIS)
    ax.set_ylabel("training loss" + (" (log scale)" if logy else "") if metric == "loss"
                  else "accuracy (fraction correct)")
    _legend(ax)


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
            ax = _axes(ax)
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
        ax = _axes(ax)
        for (label, lr), color in zip(_series(evaluated, "schedules"), _colors(len(evaluated))):
            drawn, _ = _drawable(lr, logy)
            ax.plot(np.arange(len(lr)), drawn, color=color, label=label)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel("learning rate" + (" (log scale)" if logy else ""))
        ax.set_title(title or "learning-rate schedule")
        _legend(ax)
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
        ax = _axes(ax)
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
        for (label, path), color in zip(trajectories.items(), _colors(len(trajectories))):
            path = np.asarray(path, dtype=float)
            if path.ndim != 2 or path.shape[1] != 2:
                raise ValueError(f"loss_surface: trajectory {label!r} has shape {path.shape}; "
                                 "expected (T, 2), one (x, y) row per step")
            ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1.5, label=label,
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
        ax = _axes(ax)
        for (label, s), color in zip(series, _colors(len(series))):
            shown = np.sort(s[np.isfinite(s) & (s > 0)])
            zeros, infs, nans = np.sum(s <= 0), np.sum(s == np.inf), np.sum(np.isnan(s))
            # zeros lie left of every x (they start the line higher); infs keep it below 1
            fraction = (zeros + np.arange(1, shown.size + 1)) / max(s.size - nans, 1)
            off_axis = [f"{n} {what}" for n, what in ((zeros, "zero"), (infs, "inf"), (nans, "nan")) if n]
            if off_axis and label is not None:
                label = f"{label} ({', '.join(off_axis)}: not on the log axis)"
            ax.plot(shown, fraction, drawstyle="steps-post", color=color, label=label)
        ax.axvline(1.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference",
                   zorder=1, label="isometry: every singular value = 1")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("singular value of the input-output Jacobian (log scale)")
        ax.set_ylabel("fraction of singular values ≤ x")
        ax.set_title(title or "Jacobian spectrum: how far from an isometry")
        _legend(ax)
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
    drawn, bad = _drawable(heights, logy)
    with style():
        ax = _axes(ax)
        x = np.arange(len(labels))
        bars = ax.bar(x, np.where(bad, 0.0, drawn), color=_colors(len(labels)),
                      log=logy, width=0.65)
        for bar, v, missing in zip(bars, heights, bad):
            if not missing:
                ax.annotate(f"{v:.3g}", xy=(bar.get_x() + bar.get_width() / 2, v), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=8)
        _mark_missing(ax, x, heights, bad, "black", all_at_bottom=True)
        if logy:
            _safe_log_limits(ax, [drawn])
            _plain_log_ticks(ax.yaxis, drawn[~bad])
        ax.set_xticks(x, labels, rotation=20 if max(map(len, labels)) > 10 else 0,
                      ha="right" if max(map(len, labels)) > 10 else "center")
        ax.set_ylabel(ylabel + (" (log scale)" if logy else ""))
        ax.grid(False, axis="x")
        if title:
            ax.set_title(title)
        return ax.figure


# ----- the explorers' pictures (gradcourse.widgets) ---------------------------------------------
def chain(result, ax=None):
    """The gradient reaching each unit of a scalar chain: measured by autograd and (w f'(z))^(L-l).

    `result`: an `experiments.ChainResult` (distance, measured, analytic, factor). On a log
    scale a constant factor per layer is a straight line: falling if |w f'(z)| < 1 (vanishing),
    rising if > 1 (exploding), flat only at exactly 1. The dots sit on the dashed line when the
    formula holds.
    """
    with style():
        ax = _axes(ax)
        for values, style_kw in (
                (result.analytic, dict(color=PALETTE[1], linestyle="--",
                                       label=f"formula ({result.factor:.3g})^(L-l)")),
                (result.measured, dict(color=PALETTE[0], linestyle="none", marker="o",
                                       label="measured by autograd"))):
            values = np.asarray(values, dtype=float)
            drawn, bad = _drawable(values, log=True)
            ax.plot(result.distance, drawn, **style_kw)
            if style_kw.get("marker"):
                _mark_missing(ax, np.asarray(result.distance), values, bad, style_kw["color"])
        ax.set_yscale("log")
        _safe_log_limits(ax, [_drawable(np.asarray(result.measured, dtype=float), True)[0]])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layers between the unit and the output (L - l)")
        ax.set_ylabel("|dh_L / dh_l|: gradient reaching the unit (log scale)")
        ax.set_title(f"factor per layer |w f'(z)| = {result.factor:.3g}")
        _legend(ax)
        return ax.figure


def adam_moments(result):
    """Adam's first moment and step size over the first steps, with and without bias correction.

    `result`: an `experiments.AdamMomentsResult`. Left: the gradients g_t, the running average m_t
    (starts near 0) and the corrected m_hat_t (right from step 1). Right: the update in units of
    the learning rate; uncorrected, the first steps are too small (or too large, if beta2's
    average is the slower one to warm up).
    """
    fig, (left, right) = subplots(1, 2)
    with style():
        t = np.asarray(result.t)
        left.plot(t, result.gradients, linestyle="none", marker=".", color=PALETTE[6], alpha=0.5,
                  label="gradient g_t")
        left.plot(t, result.m, color=PALETTE[1], linestyle="--", label="m_t (uncorrected)")
        left.plot(t, result.m_hat, color=PALETTE[0], label="m_hat_t = m_t / (1 - beta1^t)")
        left.set_xlabel("step t")
        left.set_ylabel("first moment (average gradient)")
        left.set_title("the running average of the gradient")
        right.plot(t, result.step_uncorrected, color=PALETTE[1], linestyle="--",
                   label="m_t / (sqrt(v_t) + eps)")
        right.plot(t, result.step_corrected, color=PALETTE[0],
                   label="m_hat_t / (sqrt(v_hat_t) + eps)")
        right.set_xlabel("step t")
        right.set_ylabel("update size / learning rate")
        right.set_title("the step Adam takes")
        for ax in (left, right):
            _legend(ax)
        return fig


def depth_profile(result):
    """A deep MLP at initialisation: per layer, the gradient reaching its output ‖∂L/∂h_l‖ and
    the gradient of its weights ‖∂L/∂W_l‖ (left, log scale), and the std of its activations
    (right). `result`: an `experiments.DepthResult`.
    How to read it: flat lines are a healthy start; the ‖∂L/∂h_l‖ line falling towards the input
    side is vanishing, rising is exploding; the activation std shows the forward signal. Where the
    forward signal shrinks as the backward one grows (or the reverse), ‖∂L/∂W_l‖ stays flatter.
    """
    fig, (left, right) = subplots(1, 2)
    series = {"‖∂L/∂h_l‖, reaching the layer": result.grad_norm,
              "‖∂L/∂W_l‖, the layer's weights": result.weight_grad_norm}
    gradient_flow(series, ax=left, ylabel="gradient norm",
                  title=f"first / last layer: ∂L/∂h {result.ratio:.3g}, ∂L/∂W {result.weight_ratio:.3g}")
    activation_std(result.act_std, ax=right, title="forward signal")
    for ax, values in ((left, np.concatenate([np.asarray(v, dtype=float) for v in series.values()])),
                       (right, np.asarray(result.act_std, dtype=float))):
        _plain_log_ticks(ax.yaxis, values[np.isfinite(values) & (values > 0)])
    return fig


def schedule_comparison(result):
    """Learning-rate schedules (left) and the training loss each gives (right), one colour per
    schedule. `result`: an `experiments.ScheduleResult`. An X marks a run that diverged."""
    fig, (left, right) = subplots(1, 2)
    schedules(result.lr, ax=left, title="learning rate per step")
    runs = {name: dict(loss=result.loss[name], diverged_at=result.diverged_at[name]) for name in result.loss}
    training_curves(runs, ax=right, title="training loss (full batch, same start)")
    return fig


def optimizer_race(result):
    """The optimiser race. `result`: an `experiments.RaceResult`.

    On a 2-D surface: each optimiser's path over the loss contours (left) and its distance to
    the minimum value, f - f_min, over the steps (right, log scale; an X where it diverged).
    On "reddi": x over the steps for Adam and AMSGrad; the dashed line at -1 is the best point.
    """
    if result.f is None:
        return _reddi_race(result)
    fig, (left, right) = subplots(1, 2)
    loss_surface(result.f, result.xlim, result.ylim, trajectories=result.path, ax=left,
                 title=f"{result.surface}: paths from the same start")
    cap = 100 * max(gap[0] for gap in result.gap.values())  # runs that blow up stop at the cap
    runs = {name: dict(loss=np.minimum(gap, cap), diverged_at=result.diverged_at[name])
            for name, gap in result.gap.items()}
    training_curves(runs, ax=right, logy=True, title="distance to the minimum value")
    right.set_ylabel(f"f - f_min (log scale, cut at {cap:.3g})")
    return fig


def _reddi_race(result):
    fig, ax = subplots()
    with style():
        for (name, path), color in zip(result.path.items(), _colors(len(result.path))):
            ax.plot(np.arange(len(path)), path[:, 0], color=color, label=f"{name}: ends at {path[-1, 0]:+.3g}")
        ax.axhline(-1.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference",
                   label="best point x = -1")
        ax.set_ylim(*result.ylim)
        ax.set_xlabel("step t")
        ax.set_ylabel("x (kept in [-1, 1])")
        ax.set_title("Reddi et al.'s problem: f_t(x) = 3x if t mod 3 = 1, else -x")
        _legend(ax)
    return fig


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


# ----- part B: residual, clipping, remedies, recurrence, lr finder ---------------------------------
def _per_layer_lines(ax, rows, ylabel, xlabel=LAYER_AXIS):
    """rows: [(label, values, color, linestyle)], drawn per layer on a log scale."""
    for label, values, color, linestyle in rows:
        values = np.asarray(values, dtype=float)
        layers = np.arange(1, len(values) + 1)
        drawn, bad = _drawable(values, log=True)
        ax.plot(layers, drawn, color=color, linestyle=linestyle, marker="o", markersize=3, label=label)
        _mark_missing(ax, layers, values, bad, color)
    ax.set_yscale("log")
    _safe_log_limits(ax, [_drawable(np.asarray(r[1], dtype=float), True)[0] for r in rows])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + " (log scale)")
    _legend(ax)


def residual_training(result):
    """Plain against residual deep MLP: training loss (left) and the gradient reaching each block
    at the first and the last recorded step (right, log scale).

    `result`: an `experiments.ResidualResult`. How to read it: the plain net's dashed line falls
    steeply towards the input side, so its first blocks get almost no gradient and its loss stays
    flat; the residual net's line is nearly flat (the identity path carries the gradient back).
    """
    fig, (left, right) = subplots(1, 2)
    training_curves({"plain": result.plain, "residual": result.residual}, ax=left,
                    title="training loss")
    last = int(result.flow_steps[-1]) + 1
    rows = []
    for name, flow, color in (("plain", result.plain_flow, PALETTE[0]),
                              ("residual", result.residual_flow, PALETTE[1])):
        rows += [(f"{name}, step 1", flow[0], color, "--"), (f"{name}, step {last}", flow[-1], color, "-")]
    with style():
        _per_layer_lines(right, rows, "‖∂L/∂h_l‖, gradient reaching the block", BLOCK_AXIS)
        right.set_title("gradient reaching each block, first and last step")
    return fig


def clipping(result):
    """Training with and without gradient-norm clipping: loss (left) and the gradient norm before
    clipping at every step (right, log scale) with the threshold as a dashed line.

    `result`: an `experiments.ClippingResult`. How to read it: without clipping, the first huge
    gradients throw the weights so far that the loss overflows (the X); with clipping the same
    huge gradients only set the direction, the step length is at most lr * threshold.
    """
    runs = {"no clipping": result.unclipped, f"clipped at {result.threshold:g}": result.clipped}
    fig, (left, right) = subplots(1, 2)
    training_curves(runs, ax=left, title="training loss")
    with style():
        for (label, run), color in zip(runs.items(), PALETTE):
            norms = np.asarray(run.grad_norm, dtype=float)
            right.plot(np.arange(1, len(norms) + 1), _drawable(norms, log=True)[0], color=color,
                       linewidth=1.4, label=label)
        right.axhline(result.threshold, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2,
                      gid="reference", label=f"threshold {result.threshold:g}")
        right.set_yscale("log")
        right.set_xlabel(STEP_AXIS)
        right.set_ylabel("‖∂L/∂θ‖, all parameters, before clipping (log scale)")
        right.set_title("how large the gradients were")
        _legend(right)
    return fig


def remedies(result, baseline):
    """A recipe against the naive one: training loss (left) and the gradient reaching each block
    at initialisation (right, log scale).

    `result`, `baseline`: `experiments.RemedyResult`s (the second one the naive recipe).
    """
    fig, (left, right) = subplots(1, 2)
    steps = len(result.history.loss)
    training_curves({f"naive (test acc. {baseline.test_accuracy:.2f})": baseline.history,
                     f"your recipe (test acc. {result.test_accuracy:.2f})": result.history},
                    ax=left, title=f"training loss; test accuracy after {steps} steps")
    with style():
        left.get_lines()[0].set_linestyle("--")  # the naive run: visible under an identical recipe
        _legend(left)
        _per_layer_lines(right, [("naive", baseline.grad_at_init, PALETTE[0], "--"),
                                 ("your recipe", result.grad_at_init, PALETTE[1], "-")],
                         "‖∂L/∂h_l‖, gradient reaching the block", BLOCK_AXIS)
        right.set_title("gradient reaching each block, at initialisation")
    return fig


def gradient_through_time(result, ax=None):
    """|dL/dx_t| for every input step t of a recurrent net (log scale).

    `result`: an `experiments.TimeGradientResult`. The loss reads the last step, so the right end
    is the closest input; how far the line falls towards the left is how much of the gradient is
    lost over that many steps of recurrence.
    """
    values = np.asarray(result.grad_norm, dtype=float)
    with style():
        ax = _axes(ax)
        drawn, bad = _drawable(values, log=True)
        ax.plot(result.t, drawn, color=PALETTE[0] if result.cell == "rnn" else PALETTE[2], marker=".")
        _mark_missing(ax, result.t, values, bad, PALETTE[0])
        ax.set_yscale("log")
        _safe_log_limits(ax, [drawn])
        ax.set_xlabel("input step t (the loss reads the hidden state after the last step)")
        ax.set_ylabel("|dL / dx_t| (log scale)")
        ax.set_title(f"{result.cell.upper()}: |dL/dx_1| = {result.ratio:.2g} x |dL/dx_T|")
        return ax.figure


def lr_range(result, ax=None):
    """The learning-rate range test: loss against learning rate (log x), with the suggestion.

    `result`: a `lr_finder.LRRangeResult`. Grey: the loss of each minibatch; blue: its moving
    average. The dotted line is the lowest average loss, the dashed one a tenth of that rate (the
    suggestion). The y axis stops a quarter above the highest average loss before the minimum,
    so the exploding losses at the end are cut off.
    """
    lrs, smoothed = np.asarray(result.lrs), np.asarray(result.smoothed)
    with style():
        ax = _axes(ax)
        ax.plot(lrs, result.losses, color="0.7", linewidth=0.8, label="minibatch loss")
        ax.plot(lrs, smoothed, color=PALETTE[0], label="moving average")
        ax.axvline(result.min_loss_lr, color=REFERENCE_COLOR, linestyle=":", linewidth=1.2,
                   label=f"lowest average: lr {result.min_loss_lr:.2g}")
        ax.axvline(result.suggestion, color=PALETTE[3], linestyle="--", linewidth=1.4, gid="suggestion",
                   label=f"suggestion (a tenth): lr {result.suggestion:.2g}")
        ax.set_xscale("log")
        before_minimum = smoothed[:int(np.argmin(smoothed)) + 1]
        lowest = min(smoothed.min(), np.min(result.losses))
        ax.set_ylim(0.9 * lowest if lowest > 0 else None, 1.25 * before_minimum.max())
        ax.set_xlabel("learning rate (log scale), raised at every step")
        ax.set_ylabel("training loss")
        ax.set_title("learning-rate range test")
        _legend(ax)
        return ax.figure
