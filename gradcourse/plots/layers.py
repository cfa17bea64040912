"""Pictures layer by layer, input side on the left: the gradient reaching each layer, the spread
of its activations, their distributions, each layer's update-to-data ratio over training, and
the singular values of the input-output Jacobian.
"""
from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import MaxNLocator

from .axes import (LAYER_AXIS, MIN_DECADES, STEP_AXIS, _series, check_axes, drawable, legend, log_scale, mark_missing,
                   panel)
from .course_style import REFERENCE_COLOR, line_styles, style, subplots

from .. import diagnostics, validation
from ..diagnostics import saturated_fraction  # the one rule of "saturated" (diagnostics' thresholds)


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
        return _per_layer(panel(ax, "gradient_flow"), norms, "gradient_flow", ylabel, True, title, MIN_DECADES)


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


def activation_std(stds, ax=None, title=None, ylabel="std of the layer's activations", logy=True):
    """The standard deviation of each layer's activations, input side on the left.

    `stds`: a 1-D array or a dict label -> 1-D array. How to read it: a good initialisation keeps
    the line flat; a line falling to the right means the signal shrinks layer after layer (and
    with it the gradient), rising means it grows until squashing units saturate or values overflow.
    """
    logy = validation.boolean("logy", logy, "activation_std")
    with style():
        return _per_layer(panel(ax, "activation_std"), stds, "activation_std", ylabel, logy, title)


def _layer_stats(values, kind, activation):
    """Legend text for one layer: mean, std, and the saturated percentage (sigmoid, tanh) or the
    zero percentage (relu: entries, not `diagnostics.dead_fraction`'s units zero for every example)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "no finite values"
    fmt = ".2f" if kind == "activation" else ".2e"
    text = f"mean {finite.mean():+{fmt}}, std {finite.std():{fmt}}"
    if kind == "activation" and activation == "relu":
        text += f", zero {100 * np.mean(finite == 0):.1f}%"
    elif kind == "activation" and activation is not None:
        text += f", saturated {100 * saturated_fraction(finite, activation):.1f}%"
    dropped = values.size - finite.size
    return text + (f", {dropped} non-finite left out" if dropped else "")


def layer_histograms(values, kind="activation", activation=None, bins=50, ax=None, title=None):
    """The distribution of every layer's activations (or gradients), one line per layer.

    `values`: a list of arrays (one per layer, input side first) or a dict name -> array; each
    array is flattened. `kind`: "activation" or "gradient". `activation` (one of
    diagnostics.MEASURED_ACTIVATIONS, "sigmoid", "tanh", "relu", or None) adds to each legend line
    the share of saturated entries (|tanh| > 0.97; sigmoid outside [0.03, 0.97]) or of zero entries
    (relu output exactly 0; these zeros are left out of the relu histograms, where they would be
    one tall spike; a unit that is zero for every example is `diagnostics.dead_fraction`'s dead). Each line is a density histogram
    (area 1) of that layer, coloured by position: dark = first layer, light = last.
    How to read it (Karpathy's makemore part 3): healthy layers have similar widths; tanh layers
    piled up at +-1 are saturated (their gradient is nearly zero); gradient histograms that
    narrow towards the input side show the gradient vanishing.
    """
    validation.positive_int("bins", bins, "layer_histograms")
    validation.choice("activation", activation, (None,) + diagnostics.MEASURED_ACTIVATIONS, "layer_histograms")
    validation.choice("kind", kind, ("activation", "gradient"), "layer_histograms")
    validation.require(isinstance(values, Mapping) or (hasattr(values, "__iter__") and not isinstance(values, str)),
                       "values", values, "a list of arrays or a dict name -> array", "layer_histograms", TypeError)
    items = list(values.items()) if isinstance(values, Mapping) else [
        (f"layer {i + 1}", v) for i, v in enumerate(values)]
    keys = list(values) if isinstance(values, Mapping) else range(len(items))
    layers = [validation.real_array(f"values[{key!r}]", layer, "layer_histograms").ravel()
              for key, (_, layer) in zip(keys, items)]
    validation.require(items, "values", values, "at least one layer's array", "layer_histograms")
    with style():
        ax = panel(ax, "layer_histograms")
        for (name, _), layer, look in zip(items, layers, line_styles(len(items), sequential=True)):
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


def update_ratio(history, labels=None, ax=None, title=None, steps=None, reference=-3.0):
    """log10 of each layer's update-to-data ratio lr * std(grad) / std(weight), step by step.

    `history`: an array (steps x layers), a dict label -> 1-D array, or a `GradientFlow.history`
    dict (its "update_ratio" and "step" entries are used). `labels` name the columns of an array
    (default "layer 1", "layer 2", ...); `steps` gives the x values (default 0, 1, 2, ...).
    How to read it: the dashed line at -3 (updates a thousandth of the weights) is the usual
    healthy level; far above it the weights are being overwritten every step (lr too large),
    far below they barely move (lr too small, or the gradient vanished for that layer).
    """
    reference = validation.number("reference", reference, where="update_ratio")
    if isinstance(history, Mapping) and "update_ratio" in history:
        steps = history.get("step") if steps is None else steps
        history = history["update_ratio"]
    if isinstance(history, Mapping):
        series = _series(history, "update_ratio")
    else:
        table = validation.real_array("history", history, "update_ratio")
        if table.ndim == 1:
            table = table[:, None]
        validation.require(table.ndim == 2, "history.shape", table.shape, "(steps, layers)", "update_ratio")
        if labels is not None:
            validation.require(isinstance(labels, (list, tuple)) and all(isinstance(name, str) for name in labels),
                               "labels", labels, "a list of strings, one per column of history", "update_ratio",
                               TypeError)
        labels = labels or [f"layer {i + 1}" for i in range(table.shape[1])]
        validation.require(len(labels) == table.shape[1], "labels", labels,
                           f"one label per column of history ({table.shape[1]})", "update_ratio")
        series = list(zip(labels, table.T))
    if steps is not None:
        steps = validation.real_array("steps", steps, "update_ratio")
        for label, ratios in series:
            validation.require(steps.shape == (len(ratios),), "len(steps)", len(steps) if steps.ndim else steps,
                               f"one step per row of history ({len(ratios)})", "update_ratio")
    with style():
        ax = panel(ax, "update_ratio")
        for (label, ratios), look in zip(series, line_styles(len(series))):
            x = np.arange(len(ratios)) if steps is None else steps
            drawn, _ = drawable(ratios, log=True)
            ax.plot(x, np.log10(drawn), linewidth=1.4, label=label, **look)
        ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference", zorder=3,
                   label=f"1e{reference:g} (rule of thumb)")
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel("log10(update / data)\n= log10(lr · std(grad) / std(weight))")
        ax.set_title(title or "update-to-data ratio per layer")
        legend(ax, fontsize=7.5)
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
        ax = panel(ax, "jacobian_spectrum")
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


# ----- per-layer lines for the explorers' pictures (gradcourse.experiments) ---------------------
def per_layer_lines(ax, rows, ylabel, xlabel=LAYER_AXIS):
    """rows: [(label, values, color, linestyle)], drawn per layer on a log scale."""
    check_axes(ax, "per_layer_lines", allow_none=False)
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

