"""Loss landscapes: contour lines of a loss of two parameters, with optimiser paths drawn on top."""
from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.lines import Line2D

from .. import validation
from .axes import panel
from .course_style import line_styles, style


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


def _window(name, limits):
    """(low, high) as two finite floats; high < low is allowed (an inverted axis)."""
    rule = "a pair of numbers (low, high)"
    validation.require(not isinstance(limits, (str, bytes)), name, limits, rule, "loss_surface", TypeError)
    limits = validation.real_array(name, limits, "loss_surface", allow_bool=False)
    validation.require(limits.shape == (2,), name, limits.tolist(), rule, "loss_surface")
    limits = validation.real_array(name, limits, "loss_surface", finite=True)
    return tuple(limits.tolist())


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
    validation.require(callable(f), "f", f, "a function f(x, y) returning the loss", "loss_surface", TypeError)
    xlim, ylim = _window("xlim", xlim), _window("ylim", ylim)
    validation.require(trajectories is None or isinstance(trajectories, Mapping), "trajectories", trajectories,
                       "None or a dict label -> (T, 2) array of (x, y) steps", "loss_surface", TypeError)
    validation.positive_int("resolution", resolution, "loss_surface")
    validation.positive_int("levels", levels, "loss_surface")
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = _evaluate_grid(f, X, Y)
    with style():
        ax = panel(ax, "loss_surface")
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
            path = validation.real_array(f"trajectories[{label!r}]", path, "loss_surface")
            validation.require(path.ndim == 2 and path.shape[1] == 2, f"trajectories[{label!r}].shape", path.shape,
                               "(T, 2), one (x, y) row per step of the trajectory", "loss_surface")
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

