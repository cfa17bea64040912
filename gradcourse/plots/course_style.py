"""The course's look, set in one place, and the figures every picture is drawn on.

`PALETTE` (Okabe-Ito, readable with every common colour-vision deficiency), `COURSE_STYLE` (an
rc dict, applied with `style()` only while a figure is drawn; importing this module changes no
global setting), and the pinned `FIGSIZE`, `WIDE_FIGSIZE` and `DPI` (they appear in a figure's
text repr, which nbval compares). Past four lines the dash pattern changes with the colour
(`line_styles`).

Figures are built with `matplotlib.figure.Figure`, not pyplot, so no global figure state is
created and nothing is displayed twice; in a notebook a returned Figure is displayed once, as a
retina PNG (`subplots` loads the inline backend). `message` is a figure holding only a message.
"""
import importlib
import os
import textwrap
from contextlib import contextmanager

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure

from .. import validation

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

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel puts in MPLBACKEND
LINESTYLES = ("-", "--", ":", "-.")


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
    Inside `with reusing(figure):` a call of that figure's shape returns it, emptied.
    """
    if figsize is None:
        figsize = FIGSIZE if ncols == 1 else WIDE_FIGSIZE
    shape = (nrows, ncols, tuple(figsize), tuple(sorted(kwargs.items())))
    _enable_notebook_display()
    reused = _take_reusable(shape)
    if reused is not None:
        return reused
    with style():
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, **kwargs)
        for each in np.atleast_1d(axes).ravel():
            _style_axes(each)
    fig.course_layout = (shape, axes)  # what `reusing` needs to hand it out again
    return fig, axes


_reusable = []  # the figure a `reusing` block offers to the next `subplots` call of its shape


@contextmanager
def reusing(figure):
    """Draw the next picture into `figure` again instead of into a new one (an explorer's redraw).

    Inside the block, the first `subplots` call that asks for `figure`'s shape gets `figure`
    back with every Axes emptied (`empty_axes`); any other call makes a new figure as usual. The
    Axes keep their tick objects, which matplotlib is slow to create (a third of a new figure's
    first PNG), and the picture is the one a new figure would show (tests/explorer_checks.py
    compares the pixels). `figure=None` reuses nothing.
    """
    _reusable[:] = [figure] if getattr(figure, "course_layout", None) else []
    try:
        yield
    finally:
        _reusable.clear()


def _take_reusable(shape):
    """(fig, axes) of the figure offered by `reusing` if it has this shape (emptied), else None.
    A figure with figure-level text or legends (a suptitle) is not reused: only Axes are emptied."""
    if not _reusable or _reusable[0].course_layout[0] != shape or _reusable[0].texts or _reusable[0].legends:
        return None
    fig = _reusable.pop()
    axes = fig.course_layout[1]
    with style():
        for each in np.atleast_1d(axes).ravel():
            empty_axes(each)
    return fig, axes


def empty_axes(ax):
    """Return `ax` to the state `subplots` made it in, keeping its tick objects (unlike `ax.clear()`):
    no lines, patches, collections, texts or legend; no title or axis labels; linear scales with
    their default ticks; autoscaled limits; the colour cycle from its start."""
    for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts, *ax.images, *ax.artists]:
        artist.remove()
    ax.containers.clear()
    if ax.legend_ is not None:
        ax.legend_.remove()
    for loc in ("left", "center", "right"):
        ax.set_title("", loc=loc)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xscale("linear")
    ax.set_yscale("linear")
    ax.set_prop_cycle(None)
    # a new Axes' place and limits, (0, 1) and no data: an artist placed in axes coordinates
    # (axhline) converts through them, and the same numbers give the same rounding
    ax._set_position(ax.get_subplotspec().get_position(ax.figure))  # set_position would leave the layout
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_autoscale_on(True)
    ax.relim()
    ax.set_axis_on()
    _style_axes(ax)


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


def colors(n, sequential=False):
    """n colours: the palette for a few categories, else a sequential colormap (by layer position)."""
    n = validation.non_negative_int("n", n, "colors")
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

