"""Pictures of training runs: loss or accuracy over the steps, learning-rate schedules, and one
number per configuration compared (every seed as a dot, or one bar each).
"""
from collections.abc import Mapping

import numpy as np

from .. import validation
from .axes import STEP_AXIS, _series, check_axes, drawable, legend, log_scale, mark_missing, panel
from .course_style import REFERENCE_COLOR, colors, line_styles, style, subplots


def _get(run, key):
    """run[key] for a dict, run.key for an object such as training.History, else None."""
    return run.get(key) if isinstance(run, Mapping) else getattr(run, key, None)


def _values(run, key, label, where="training_curves"):
    """run[key] as a 1-D float array (TypeError naming runs[label][key] for non-numbers,
    ValueError unless 1-D), or None if the run has no such values."""
    values = _get(run, key)
    if values is None:
        return None
    name = f"runs[{label!r}][{key!r}]"
    values = validation.real_array(name, values, where)
    validation.require(values.ndim == 1, name, f"an array of shape {values.shape}", "1-D, one value per step", where)
    return values


def _curve(run, metric, label):
    """(x, y) of a run's loss or accuracy, or None if the run has no such values."""
    if metric == "loss":
        key, x_key = "loss", "steps"
    else:
        key = "accuracy" if _get(run, "accuracy") is not None else "train_accuracy"
        x_key = "eval_steps"
    y = _values(run, key, label)
    if y is None or len(y) == 0:
        return None
    x = _values(run, x_key, label)
    if x is None or (len(x) == 0 and metric != "loss"):
        return np.arange(len(y), dtype=float), y
    validation.require(len(x) == len(y), f"len(runs[{label!r}][{x_key!r}])", len(x),
                       f"len(runs[{label!r}][{key!r}]) ({len(y)}): one {x_key[:-1].replace('_', ' ')} per value",
                       "training_curves")
    return x, y


def _diverged_at(run, y, label):
    """The run's diverged_at, else the first step whose value is not finite, else None."""
    step = _get(run, "diverged_at")
    if step is not None:
        validation.number(f"runs[{label!r}]['diverged_at']", step, "a step number or None", "training_curves")
        return step
    if not np.all(np.isfinite(y)):
        step = int(np.flatnonzero(~np.isfinite(y))[0])
    return step


def _spans_decades(curves, decades=2):
    values = np.concatenate([y for _, y in curves]) if curves else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() / values.min() >= 10 ** decades


def _training_panel(ax, runs, metric, logy):
    curves = {label: _curve(run, metric, label) for label, run in runs.items()}
    validation.require(any(c is not None for c in curves.values()), "runs", runs,
                       f"runs of which at least one has {metric!r} values", "training_curves")
    if logy is None:
        logy = metric == "loss" and _spans_decades([c for c in curves.values() if c is not None])
    for (label, run), look in zip(runs.items(), line_styles(len(runs))):
        color = look["color"]
        if curves[label] is None:
            continue
        x, y = curves[label]
        drawn, _ = drawable(y, logy)
        ax.plot(x, drawn, linewidth=1.4, label=label, **look)
        step = _diverged_at(run, y, label)
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
    validation.choice("metric", metric, ("loss", "accuracy", "both"), "training_curves")
    validation.require(isinstance(runs, Mapping), "runs", runs, "a non-empty dict label -> run", "training_curves",
                       TypeError)
    validation.require(len(runs) > 0, "runs", runs, "a non-empty dict label -> run", "training_curves")
    if logy is not None:
        logy = validation.boolean("logy", logy, "training_curves")
    with style():
        if metric != "both":
            ax = panel(ax, "training_curves")
            _training_panel(ax, runs, metric, logy)
            if title:
                ax.set_title(title)
            return ax.figure
        if ax is None:
            fig, ax = subplots(1, 2)
        validation.require(isinstance(ax, (list, tuple, np.ndarray)) and len(ax) == 2, "ax", ax,
                           "None or two Axes: metric='both' draws two panels", "training_curves", TypeError)
        for one in ax:
            check_axes(one, "training_curves", allow_none=False)
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
    if steps is not None:
        steps = validation.positive_int("steps", steps, "schedules")
    logy = validation.boolean("logy", logy, "schedules")
    if not isinstance(curves, Mapping):
        curves = {None: curves}
    evaluated = {}
    for label, curve in curves.items():
        if callable(curve):
            validation.require(steps is not None, "steps", steps, f"a positive integer when a schedule is a "
                               f"callable ({label!r}): it is evaluated at steps 0..steps-1", "schedules")
            curve = [curve(t) for t in range(steps)]
        evaluated[label] = curve
    with style():
        ax = panel(ax, "schedules")
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


def seed_spread(values, ylabel, logy=False, ax=None, title=None, reference=None, rotation=None):
    """Every seed's value as a dot, one column per configuration, with the mean as a bar.

    `values`: a dict label -> `seeds.SeedValues` (or a 1-D array, one value per seed). The
    dots show the whole spread, so a lucky seed cannot pass for the rule. Non-finite values (a
    diverged run) are written at the top of their column. `reference`: a horizontal line, e.g.
    the loss of chance level. `rotation`: of the column labels, in degrees (default: 20 when a
    label is longer than 10 characters, else 0).
    """
    logy = validation.boolean("logy", logy, "seed_spread")
    if reference is not None:
        reference = validation.number("reference", reference, where="seed_spread")
    if rotation is not None:
        rotation = validation.number("rotation", rotation, where="seed_spread")
    validation.require(isinstance(values, Mapping), "values", values, "a non-empty dict label -> per-seed values",
                       "seed_spread", TypeError)
    validation.require(len(values) > 0, "values", values, "a non-empty dict label -> per-seed values", "seed_spread")
    labels = [str(label) for label in values]
    validation.instance("ylabel", ylabel, str, "a string (the y-axis label)", "seed_spread")
    columns = [validation.real_array(f"values[{label!r}]", getattr(v, "values", v), "seed_spread").ravel()
               for label, v in zip(labels, values.values())]
    for label, column in zip(labels, columns):
        validation.require(column.size > 0, f"values[{label!r}]", column, "at least one value", "seed_spread")
    with style():
        ax = panel(ax, "seed_spread")
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


def bar_comparison(values, ylabel, logy=False, ax=None, title=None):
    """One bar per configuration (an ablation), with its value written on top.

    `values`: a dict label -> number, e.g. final loss per remedy. Non-finite values (a run that
    diverged) and, on a log scale, values <= 0 get no bar and are written at the bottom instead.
    """
    validation.require(isinstance(values, Mapping), "values", values, "a non-empty dict label -> number",
                       "bar_comparison", TypeError)
    validation.require(len(values) > 0, "values", values, "a non-empty dict label -> number", "bar_comparison")
    logy = validation.boolean("logy", logy, "bar_comparison")
    validation.instance("ylabel", ylabel, str, "a string (the y-axis label)", "bar_comparison")
    labels = [str(label) for label in values]
    for label, v in zip(labels, values.values()):
        validation.require(validation.is_number(v), f"values[{label!r}]", v, "a number (inf or nan: a diverged run)",
                           "bar_comparison", TypeError)
    heights = np.array([float(v) for v in values.values()])
    drawn, bad = drawable(heights, logy)
    with style():
        ax = panel(ax, "bar_comparison")
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

