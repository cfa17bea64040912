"""Exercises 6 (FAQ): dead ReLU units, the learning-rate range test."""
import math

import numpy as np

from .. import diagnostics, lr_finder
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _call, _close, _fmt, _passed, _recognise,
                    register_course_implementations)


register_course_implementations("dead_relu_fraction", {
    "gradcourse.diagnostics.dead_fraction": diagnostics.dead_fraction,
})
register_course_implementations("lr_range_test", {
    "gradcourse.lr_finder.lr_range_test": lr_finder.lr_range_test,
})
register_course_implementations("suggest_lr", {
    "gradcourse.lr_finder.suggest": lr_finder.suggest,
})

def check_dead_relu_fraction(dead_relu_fraction, activations=None):
    """`dead_relu_fraction(a)`: the fraction of units (columns) that are 0 for every example (row)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["dead_relu_fraction"]
    if activations is None:
        activations = np.array([[0.0, 0.0, 1.5, 0.0, 0.3],
                                [0.0, 2.0, 0.0, 0.0, 1.1],
                                [0.0, 0.7, 0.4, 0.0, 0.2],
                                [0.0, 0.0, 0.9, 0.0, 0.5],
                                [0.0, 1.2, 0.0, 0.0, 0.8],
                                [0.0, 0.1, 2.2, 0.0, 0.6]])
    a = np.asarray(activations, dtype=np.float64)
    per_unit = a.reshape(-1, a.shape[-1])
    dead = np.all(per_unit == 0, axis=0)
    expected = float(np.mean(dead))
    got = _array(_call(dead_relu_fraction, a.copy(), course=course), "dead_relu_fraction(activations)")
    mistakes = [("this is the fraction of zero entries; a unit is dead only when it is zero for every example",
                 np.mean(per_unit == 0)),
                ("this is the fraction of live units; return the dead ones", 1 - expected),
                ("this counts units that are zero for any example; dead means zero for all of them",
                 np.mean(np.any(per_unit == 0, axis=0))),
                ("this looks along the wrong axis: rows are examples, columns are units",
                 np.mean(np.all(per_unit == 0, axis=1)))]
    if np.ndim(got) != 0 or not _close(got, expected):
        hint = _recognise(got, mistakes) or "a unit is dead when its column is 0 in every row"
        raise ExerciseError(f"expected {expected:.3g} ({int(dead.sum())} of {dead.size} units are 0 for every "
                            f"example), got {_fmt(got)}: {hint}")
    _passed(f"dead_relu_fraction: {int(dead.sum())} of {dead.size} units are zero on every example "
            f"-> {expected:.3g}")


def _fake_training_loss(lr):
    """A loss curve like a real range test's: flat for tiny lr, best near 0.1, diverging past 1."""
    if lr > 3.0:
        return math.nan
    return 1.0 + 0.3 * (math.log10(lr) + 1) ** 2 + (40 * lr**2 if lr > 0.5 else 0.0)


def check_lr_range_test(lr_range_test, lr_min=1e-4, lr_max=10.0, steps=41, diverge_factor=4.0):
    """`lr_range_test(step_fn, lr_min, lr_max, steps, diverge_factor) -> (lrs, losses)`.

    Rates grow geometrically from lr_min to lr_max; the test stops after the first loss that is not
    finite or exceeds diverge_factor times the best so far (that loss is kept).
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["lr_range_test"]
    called = []

    def step_fn(lr):
        called.append(lr)
        return _fake_training_loss(lr)

    result = _call(lr_range_test, step_fn, lr_min, lr_max, steps, diverge_factor, course=course)
    if not isinstance(result, tuple) or len(result) != 2:
        raise ExerciseError(f"lr_range_test should return a tuple (lrs, losses), got {type(result).__name__}")
    lrs, losses = (_array(list(v), name) for v, name in zip(result, ("lrs", "losses")))
    # The fake loss is known at every rate in advance, so the expected run is one computation over a
    # whole sequence of rates: it stops at the first loss that is not finite or exceeds
    # diverge_factor times the lowest loss before it (and keeps that loss).
    def until_divergence(rates):
        with np.errstate(invalid="ignore"):
            loss = np.array([_fake_training_loss(lr) for lr in rates])
            lowest_before = np.minimum.accumulate(np.concatenate([[np.inf], np.nan_to_num(loss, nan=np.inf)]))
            diverged = ~np.isfinite(loss) | (loss > diverge_factor * lowest_before[:-1])
        kept = int(np.argmax(diverged)) + 1 if diverged.any() else len(rates)
        return rates[:kept], loss[:kept]

    i = np.arange(steps)
    every_lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
    expected_lrs, expected_losses = until_divergence(every_lr)
    mistakes = [("the rates are evenly spaced; a range test spaces them geometrically, "
                 "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))",
                 until_divergence(np.linspace(lr_min, lr_max, steps))[0]),
                ("the exponent is i / steps, so the rates never reach lr_max: use i / (steps - 1)",
                 until_divergence(lr_min * (lr_max / lr_min) ** (i / steps))[0]),
                ("the test did not stop when the loss diverged: break after the first loss that is not finite "
                 "or exceeds diverge_factor * best", every_lr),
                ("the loss that triggered the stop is missing: append it, then break", expected_lrs[:-1])]
    if not _close(lrs, expected_lrs):
        shared = min(lrs.size, len(expected_lrs))
        if shared and _close(lrs[:shared], expected_lrs[:shared]):  # right rates, stopped at the wrong step
            fallback = ("the rates are right but the test stopped at the wrong step: stop after the first loss "
                        "that is not finite or exceeds diverge_factor times the best loss of the earlier steps")
        else:
            fallback = "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))"
        hint = _recognise(lrs, mistakes) or fallback
        got_range = f"from {lrs[0]:.3g} to {lrs[-1]:.3g}" if lrs.size else "none"
        raise ExerciseError(f"expected {len(expected_lrs)} rates from {expected_lrs[0]:.3g} to "
                            f"{expected_lrs[-1]:.3g}, got {lrs.size} {got_range}: {hint}")
    if not _close(losses, expected_losses):
        raise ExerciseError("the rates are right but the losses are not the values step_fn(lr) returned, "
                            "in order")
    _passed(f"lr_range_test tries {len(expected_lrs)} geometrically spaced rates and stops at "
            f"lr = {expected_lrs[-1]:.3g}, where the loss diverged")


def check_suggest_lr(suggest_lr):
    """`suggest_lr(lrs, losses)`: a tenth of the rate with the lowest finite loss."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["suggest_lr"]
    lrs = [1e-4 * 10 ** (i / 2) for i in range(10)]
    losses = [2.3, 2.3, 2.2, 1.9, 1.2, 0.7, 0.5, 0.9, 3.5, math.nan]
    expected = lrs[6] / 10
    got = _array(_call(suggest_lr, list(lrs), list(losses), course=course), "suggest_lr(lrs, losses)")
    mistakes = [("this is the rate at the lowest loss; suggest a tenth of it, safely below the edge of divergence",
                 lrs[6]),
                ("this is the rate at the nan loss: np.argmin returns the position of a nan, so use np.nanargmin "
                 "or skip non-finite losses", lrs[9] / 10),
                ("this is a tenth of the rate at the highest loss: use the lowest", lrs[8] / 10)]
    if np.ndim(got) != 0 or not _close(got, expected):
        hint = _recognise(got, mistakes) or "take a tenth of the rate whose loss is the lowest finite one"
        raise ExerciseError(f"expected {expected:.3g} (a tenth of lr = {lrs[6]:.3g}, where the loss is lowest), "
                            f"got {_fmt(got)}: {hint}")
    _passed(f"suggest_lr picks a tenth of the rate with the lowest finite loss ({expected:.3g})")


CHECKERS = [check_dead_relu_fraction, check_lr_range_test, check_suggest_lr]
