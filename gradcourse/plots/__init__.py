"""The course's pictures: how gradients, activations and losses behave layer by layer and step by step.

| module         | what it draws                                                                        |
|----------------|--------------------------------------------------------------------------------------|
| `layers`       | layer by layer: gradient_flow, gradient_profiles, activation_std, layer_histograms,  |
|                | update_ratio (each layer over training), jacobian_spectrum, per_layer_lines          |
| `training`     | training runs: training_curves, schedules, seed_spread (every seed a dot),           |
|                | bar_comparison (one bar per configuration)                                           |
| `surfaces`     | loss landscapes: loss_surface (contours of a loss f(x, y) with optimiser paths)      |
| `axes`         | on any Axes: log_scale and LogTicks (one log-tick rule, a minimum span of decades),  |
|                | drawable and mark_missing (0, inf, nan written where they would be), legend, panel,  |
|                | check_axes (the one check of an `ax` argument, naming the function called)           |
| `course_style` | the look: PALETTE, COURSE_STYLE, FIGSIZE, DPI, colors, line_styles, style();         |
|                | subplots (figures without pyplot, retina PNGs in a notebook); message (text only);   |
|                | reusing (draw into an existing figure again: the explorers' fast redraw)             |

Every name is importable from here: `from gradcourse import plots; plots.gradient_flow(norms)`.

Every function takes plain numpy arrays, lists or dicts (label -> values), draws one kind of
picture, and returns its `matplotlib.figure.Figure`; none calls `plt.show()`. In a notebook the
returned Figure is displayed once, as a PNG. Figures are built with `matplotlib.figure.Figure`,
not pyplot, so no global figure state is created and nothing is displayed twice.

A function that draws one panel takes `ax=None`: pass an Axes (e.g. from `subplots`) to
compose several pictures in one figure; without it the function makes its own figure.

This package keeps the reusable pictures; each explorer's own picture (`plot_...`) sits in its
topic module of `gradcourse.experiments`, next to what it draws.
"""
from .axes import (BLOCK_AXIS, LAYER_AXIS, MIN_DECADES, STEP_AXIS, WIDE_DECADES, LogTicks, check_axes, drawable,
                   legend, log_scale, mark_missing, panel)
from .course_style import (COURSE_STYLE, DPI, FIGSIZE, INLINE_BACKEND, LINESTYLES, PALETTE, REFERENCE_COLOR,
                           SEQUENTIAL_CMAP, WIDE_FIGSIZE, colors, empty_axes, line_styles, message, reusing, style,
                           subplots)
from .layers import (ACTIVATION_GRADIENT, WEIGHT_GRADIENT, activation_std,
                     gradient_flow, gradient_profiles, jacobian_spectrum, layer_histograms, per_layer_lines,
                     update_ratio)
from .surfaces import loss_surface
from .training import bar_comparison, schedules, seed_spread, training_curves

__all__ = [
    # layers
    "gradient_flow", "gradient_profiles", "activation_std", "layer_histograms", "update_ratio", "jacobian_spectrum",
    "per_layer_lines", "ACTIVATION_GRADIENT", "WEIGHT_GRADIENT",
    # training
    "training_curves", "schedules", "seed_spread", "bar_comparison",
    # surfaces
    "loss_surface",
    # axes
    "log_scale", "LogTicks", "drawable", "mark_missing", "legend", "panel", "check_axes",
    "LAYER_AXIS", "BLOCK_AXIS", "STEP_AXIS", "WIDE_DECADES", "MIN_DECADES",
    # course_style
    "style", "subplots", "reusing", "empty_axes", "colors", "line_styles", "message", "PALETTE", "SEQUENTIAL_CMAP", "REFERENCE_COLOR",
    "FIGSIZE", "WIDE_FIGSIZE", "DPI", "COURSE_STYLE", "INLINE_BACKEND", "LINESTYLES",
]
