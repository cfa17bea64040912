"""Exercises 6 (FAQ): dead ReLU units, the learning-rate range test, and two runs whose loss becomes nan."""
import math

import numpy as np

from .. import casebook, diagnostics, functional, lr_finder, nn, rng
from ..autograd import Tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _as_written, _call, _close,
                    _course_generator_untouched, _fmt, _name, _passed, _recognise, _returned,
                    register_course_implementations)
from ._repairs import _check_accuracies, _watched_repair


register_course_implementations("dead_relu_fraction", {
    "gradcourse.diagnostics.dead_fraction": diagnostics.dead_fraction,
})
register_course_implementations("lr_range_test", {
    "gradcourse.lr_finder.lr_range_test": lr_finder.lr_range_test,
})
register_course_implementations("suggest_lr", {
    "gradcourse.lr_finder.suggest": lr_finder.suggest,
})

# Two layers' activations, (examples, units): the visible check counts the dead units of each
DEAD_RELU_ACTIVATIONS = (np.array([[0.0, 0.0, 1.5, 0.0, 0.3],
                                   [0.0, 2.0, 0.0, 0.0, 1.1],
                                   [0.0, 0.7, 0.4, 0.0, 0.2],
                                   [0.0, 0.0, 0.9, 0.0, 0.5],
                                   [0.0, 1.2, 0.0, 0.0, 0.8],
                                   [0.0, 0.1, 2.2, 0.0, 0.6]]),
                         np.array([[0.0, 0.5, 0.0],
                                   [0.0, 0.0, 1.0],
                                   [0.0, 2.0, 0.3],
                                   [0.0, 0.1, 0.4]]))


def check_dead_relu_fraction(dead_relu_fraction, activations=None):
    """`dead_relu_fraction(a)`: the fraction of units (columns) that are 0 for every example (row)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["dead_relu_fraction"]
    counted = []
    for a in (DEAD_RELU_ACTIVATIONS if activations is None else [activations]):
        a = np.asarray(a, dtype=np.float64)
        per_unit = a.reshape(-1, a.shape[-1])
        dead = np.all(per_unit == 0, axis=0)
        expected = float(np.mean(dead))
        got = _array(_returned(_call(dead_relu_fraction, a.copy(), course=course), _name(dead_relu_fraction)),
                     "dead_relu_fraction(activations)")
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
                                f"example, in activations of shape {a.shape}), got {_fmt(got)}: {hint}")
        counted.append(f"{int(dead.sum())} of {dead.size} units are zero on every example -> {expected:.3g}")
    _passed(f"dead_relu_fraction: {'; '.join(counted)}")


def _fake_training_loss(lr, curve="rises"):
    """A loss curve like a real range test's: flat for tiny lr, lowest at 0.1, then rising steadily
    (curve "rises", nan past 3), or turning nan past 0.3 before it has risen far (curve "nan"), or nan
    from the first step on (curve "nan_first"), or +inf from the first step on (curve "inf_first"); or
    falling all the way to lr_max (curve "falls")."""
    if curve == "falls":
        return 2.0 / (1.0 + lr)
    if curve == "inf_first":
        return math.inf
    if curve == "nan_first" or lr > (0.3 if curve == "nan" else 3.0):
        return math.nan
    x = math.log10(lr) + 1
    return 1.0 + (0.3 if lr <= 0.1 else 2.5) * x * x


# The settings the visible check runs: (lr_min, lr_max, steps, diverge_factor), the factor once left at
# its default (None) and once not 4; each on every curve of _fake_training_loss
RANGE_TEST_RUNS = ((1e-4, 10.0, 41, None), (1e-3, 30.0, 30, 2.0))
RANGE_TEST_CURVES = ("rises", "nan", "nan_first", "inf_first", "falls")
DEFAULT_DIVERGE_FACTOR = 4.0


def _check_range_test_run(lr_range_test, course, lr_min, lr_max, steps, diverge_factor, curve):
    """One run of your range test on a fake loss curve; the rate where it stopped, and why."""
    __tracebackhide__ = True

    if diverge_factor is None:  # left at its default
        arguments, diverge_factor = (lr_min, lr_max, steps), DEFAULT_DIVERGE_FACTOR
        setting = (f"lr_min = {lr_min:g}, lr_max = {lr_max:g}, steps = {steps}, diverge_factor left at its default "
                   f"({diverge_factor:g})")
    else:
        arguments = (lr_min, lr_max, steps, diverge_factor)
        setting = f"lr_min = {lr_min:g}, lr_max = {lr_max:g}, steps = {steps}, diverge_factor = {diverge_factor:g}"
    setting += {"nan_first": ", a loss that is nan from the first step on",
                "inf_first": ", a loss that is +inf from the first step on",
                "falls": ", a loss that falls all the way to lr_max"}.get(curve, "")
    calls = []
    too_many = ExerciseError(f"with {setting}: {_name(lr_range_test)} called step_fn more than steps = {steps} "
                             f"times: the test runs one training step per rate, for at most `steps` rates")

    def step_fn(lr):  # (it runs inside your code, so it calls none of the checkers' functions but the loss)
        calls.append(lr)
        if len(calls) > steps:  # (a test that never stops would otherwise never end)
            raise too_many
        return _fake_training_loss(lr, curve)

    result = _call(lr_range_test, step_fn, *arguments, course=course)
    _returned(result, _name(lr_range_test), "the lists (lrs, losses)")
    if not isinstance(result, tuple) or len(result) != 2:
        raise ExerciseError(f"lr_range_test should return a tuple (lrs, losses), got {type(result).__name__}")
    for value, name in zip(result, ("lrs", "losses")):
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise ExerciseError(f"lr_range_test should return two lists (lrs, losses), but its {name} is "
                                f"{type(value).__name__} {value!r:.40}: return the whole list, e.g. `return lrs, "
                                f"losses`")
    lrs, losses = (_array(list(v), name) for v, name in zip(result, ("lrs", "losses")))
    # The fake loss is known at every rate in advance, so the expected run is one computation over a
    # whole sequence of rates: it stops at the first loss that is not finite or exceeds
    # factor times the lowest loss before it (and keeps that loss).
    def until_divergence(rates, factor=diverge_factor, finite_check=True, lowest=np.minimum.accumulate,
                         check_first=True, nan_only=False):
        with np.errstate(invalid="ignore"):
            loss = np.array([_fake_training_loss(lr, curve) for lr in rates])
            before = lowest(np.concatenate([[np.inf], np.nan_to_num(loss, nan=np.inf, posinf=np.inf)]))[:-1]
            diverged = loss > factor * before
            if finite_check:
                diverged |= np.isnan(loss) if nan_only else ~np.isfinite(loss)
            if not check_first:
                diverged[0] = False
        kept = int(np.argmax(diverged)) + 1 if diverged.any() else len(rates)
        return rates[:kept], loss[:kept]

    def first_loss(values):  # "the best so far" read as the first loss
        return np.concatenate([[np.inf], np.full(len(values) - 1, values[1])])

    i = np.arange(steps)
    every_lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
    expected_lrs, expected_losses = until_divergence(every_lr)
    nan_curve = curve in ("nan", "nan_first")
    mistakes = [("the rates are evenly spaced; a range test spaces them geometrically, "
                 "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))",
                 until_divergence(np.linspace(lr_min, lr_max, steps))[0]),
                ("the exponent is i / steps, so the rates never reach lr_max: use i / (steps - 1)",
                 until_divergence(lr_min * (lr_max / lr_min) ** (i / steps))[0]),
                ("the test did not stop at the first loss that is not finite: a comparison with nan is always "
                 "False, so `loss > diverge_factor * best` never stops it; check math.isfinite(loss) too",
                 until_divergence(every_lr, finite_check=False)[0] if nan_curve else None),
                ("the test did not stop at a loss of +inf: math.isnan(loss) (or np.isnan) misses it, and "
                 "`inf > diverge_factor * best` is False while best is inf; check `not math.isfinite(loss)`",
                 until_divergence(every_lr, nan_only=True)[0] if curve == "inf_first" else None),
                ("the test never checked the first loss: a first loss that is not finite ends the test too, "
                 "after that step", until_divergence(every_lr, check_first=False)[0]
                 if curve in ("nan_first", "inf_first") else None),
                ("the test stopped before lr_max: when the loss never diverges, it runs all `steps` rates, the last "
                 "one lr_max", expected_lrs[:-1] if curve == "falls" else None),
                ("the test did not stop when the loss diverged: break after the first loss that is not finite "
                 "or exceeds diverge_factor * best", every_lr),
                ("the loss that triggered the stop is missing: append it, then break", expected_lrs[:-1]),
                (f"the test stopped where the loss passed 4 times the best, but diverge_factor = {diverge_factor:g} "
                 f"here: use the argument, not a fixed 4",
                 until_divergence(every_lr, factor=4.0)[0] if diverge_factor != 4.0 else None),
                ("the test compared each loss with the first loss, not with the best loss so far",
                 until_divergence(every_lr, lowest=first_loss)[0])]
    mistakes = [(text, value) for text, value in mistakes if value is not None]
    if not _close(lrs, expected_lrs):
        shared = min(lrs.size, len(expected_lrs))
        if shared and _close(lrs[:shared], expected_lrs[:shared]):  # right rates, stopped at the wrong step
            fallback = ("the rates are right but the test stopped at the wrong step: stop after the first loss "
                        "that is not finite or exceeds diverge_factor times the best loss of the earlier steps")
        else:
            fallback = "lr_i = lr_min (lr_max / lr_min)^(i / (steps - 1))"
        hint = _recognise(lrs, mistakes) or fallback
        got_range = f"from {lrs[0]:.3g} to {lrs[-1]:.3g}" if lrs.size else "none"
        expected_range = (f"from {expected_lrs[0]:.3g} to {expected_lrs[-1]:.3g}" if len(expected_lrs) > 1
                          else f"({expected_lrs[0]:.3g})")
        raise ExerciseError(f"with {setting}: expected {len(expected_lrs)} "
                            f"{'rates' if len(expected_lrs) > 1 else 'rate'} {expected_range}, got {lrs.size} "
                            f"{got_range}: {hint}")
    if not _close(losses, expected_losses):
        raise ExerciseError(f"with {setting}: the rates are right but the losses are not the values step_fn(lr) "
                            f"returned, in order")
    if len(calls) != lrs.size:
        raise ExerciseError(f"with {setting}: step_fn ran {len(calls)} training steps, but lrs has {lrs.size} rates: "
                            f"call step_fn once per rate, and record each rate with its loss")
    last = expected_losses[-1]
    why = (f"{last:g} at the first step" if len(expected_lrs) == 1 and not np.isfinite(last) else "nan"
           if not np.isfinite(last) else "the loss above diverge_factor times the best so far"
           if len(expected_lrs) > 1 and last > diverge_factor * np.min(expected_losses[:-1]) else "lr_max reached")
    return expected_lrs[-1], why


def check_lr_range_test(lr_range_test, runs=RANGE_TEST_RUNS):
    """`lr_range_test(step_fn, lr_min, lr_max, steps, diverge_factor=4.0) -> (lrs, losses)`.

    Rates grow geometrically from lr_min to lr_max; the test stops after the first loss that is not
    finite or exceeds diverge_factor times the best so far (that loss is kept), the first loss too.
    Each of `runs`, a setting (lr_min, lr_max, steps, diverge_factor), diverge_factor None for its
    default, is tried on five loss curves: one that rises past diverge_factor times its best, one
    that turns nan first, one that is nan from the first step on, one that is +inf from the first step
    on, one that falls all the way. (Rates are compared to within a relative 1e-6: computed in log
    space, they may differ from the formula in the last digits.)
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["lr_range_test"]
    stops = [_check_range_test_run(lr_range_test, course, *run, curve) for curve in RANGE_TEST_CURVES
             for run in runs]
    reasons = {}
    for lr, why in stops:
        reasons.setdefault(why, []).append(f"{lr:.3g}")
    settings = " and ".join("(" + ", ".join("default 4" if v is None else f"{v:g}" for v in run) + ")"
                            for run in runs)
    _passed(f"lr_range_test with (lr_min, lr_max, steps, diverge_factor) = {settings}: the geometric rates and "
            f"their losses (the loss that ended the test kept), ending at lr = "
            + "; at ".join(f"{', '.join(lrs)} ({why})" for why, lrs in reasons.items()))


# Two range tests' curves (lrs, losses, position of the lowest finite loss) for the visible check, the rates x3
# apart so that no two of the mistakes below give the same rate; the second with an infinite loss
SUGGEST_LR_CURVES = (([1e-4 * 3**i for i in range(10)], [2.3, 2.3, 2.2, 1.9, 1.2, 0.7, 0.5, 0.9, 3.5, math.nan], 6),
                     ([0.01 * 3**i for i in range(6)], [2.2, 1.4, 0.8, 1.1, math.inf, math.nan], 2))


def check_suggest_lr(suggest_lr):
    """`suggest_lr(lrs, losses)`: a tenth of the rate with the lowest finite loss."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["suggest_lr"]
    for lrs, losses, lowest in SUGGEST_LR_CURVES:
        expected = lrs[lowest] / 10
        got = _array(_returned(_call(suggest_lr, list(lrs), list(losses), course=course), _name(suggest_lr)),
                     "suggest_lr(lrs, losses)")
        with np.errstate(invalid="ignore"):
            mistakes = [("this is the rate at the lowest loss; suggest a tenth of it, safely below the edge of "
                         "divergence", lrs[lowest]),
                        ("this is the rate at the nan loss: np.argmin returns the position of a nan, so use "
                         "np.nanargmin or skip non-finite losses", lrs[int(np.argmin(losses))] / 10),
                        ("this is a tenth of the rate at the highest loss: use the lowest",
                         lrs[int(np.nanargmax(np.where(np.isfinite(losses), losses, np.nan)))] / 10)]
        if np.ndim(got) != 0 or not _close(got, expected):
            hint = _recognise(got, mistakes) or "take a tenth of the rate whose loss is the lowest finite one"
            raise ExerciseError(f"for the losses {_fmt(np.array(losses))}: expected {expected:.3g} (a tenth of "
                                f"lr = {lrs[lowest]:.3g}, where the loss is lowest), got {_fmt(got)}: {hint}")
    _passed("suggest_lr picks a tenth of the rate with the lowest finite loss on two curves, one with an "
            "infinite loss: " + " and ".join(f"{lrs[lowest] / 10:.3g}" for lrs, _, lowest in SUGGEST_LR_CURVES))


# ----- 06: measure, diagnose, repair (the runs are in gradcourse.casebook) ---------------------
_SETTINGS = (bool, int, float, str, type(None))


def _build_of(model):
    """What a network is built of: each module's name, type and settings, and each parameter's name and shape."""
    modules = [(name, type(m), {k: v for k, v in vars(m).items() if k != "training" and isinstance(v, _SETTINGS)})
               for name, m in model.named_modules()]
    return modules, [(name, p.data.shape) for name, p in model.named_parameters()]


def _layers_kept(repair, model, built):
    """ExerciseError if `repair` changed the network's layers (their types, settings, parameters' shapes)."""
    __tracebackhide__ = True
    modules, parameters = _build_of(model)
    changed = None
    if [(name, kind) for name, kind, _ in modules] != [(name, kind) for name, kind, _ in built[0]]:
        was = dict((name, kind) for name, kind, _ in built[0])
        now = [(name, kind) for name, kind, _ in modules if was.get(name) is not kind]
        if now and now[0][0] in was:
            changed = f"{_as_written(now[0][0])} was a {was[now[0][0]].__name__}, is now a {now[0][1].__name__}"
        else:
            changed = "its list of layers is not the one it was built with"
    elif modules != built[0]:
        for (name, _, settings), (_, _, before) in zip(modules, built[0]):
            for key in sorted(set(settings) | set(before)):
                if settings.get(key) != before.get(key):
                    changed = f"{_as_written(name)}.{key} was {before.get(key)!r}, is now {settings.get(key)!r}"
                    break
            if changed:
                break
    elif parameters != built[1]:
        changed = "its parameters' names or shapes are not those it was built with"
    else:
        for name, m in model.named_modules():
            if "forward" in vars(m) or vars(m).get("_forward_hooks"):
                changed = f"{_as_written(name)} has a new forward, or a forward hook"
                break
    if changed:
        raise ExerciseError(f"{_name(repair)}(model) changed the network's layers ({changed}): keep the layers as "
                            f"they are, and change only their parameters' values (their .data, or with gc.init)")


def _kept_layers(repair):
    """`repair`, watched (the course's code refused) and checked to change only the values of parameters."""
    watched = _watched_repair(repair)

    def checked(model):
        __tracebackhide__ = True
        built = _build_of(model)
        returned = watched(model)
        if isinstance(returned, nn.Module) and returned is not model:
            raise ExerciseError(f"{_name(repair)}(model) returned a new network, but the test trains the network "
                                f"it passed you: change that one in place (its parameters' .data) and return "
                                f"nothing")
        _layers_kept(repair, model, built)

    checked.__name__ = _name(repair)
    return checked


def _repaired(checked, build, seed):
    """`build(seed)` changed in place by your repair, as the casebook changes it."""
    __tracebackhide__ = True
    model = build(seed)
    with rng.seeded(10_000 + seed):  # (as the casebook runs a repair)
        checked(model)
    return model


def _hidden_activation_stds(model, seed):
    """The std of each hidden ReLU layer's output on the training digits (split `seed`)."""
    h = casebook.tensor(casebook.digits_split(seed)[0])
    stds = []
    with casebook.no_grad(), np.errstate(all="ignore"):
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                stds.append(float(np.std(h.data)))
    return np.array(stds)


# The seeds on which a repair of case 7 or 8 is measured before any step (cheap: no training), in the
# visible check and again in the hidden one; the accuracy is measured on seeds 0-5 visibly, 6-8 hidden
BAND_SEEDS = tuple(range(9))
VISIBLE_SEEDS = tuple(range(6))

# The band the hidden activations' factor per layer, (std after the last ReLU / std after the first)^(1/5)
# on the training digits, must lie in on each repaired network of case 7 before its first step
CASE7_FACTOR_BAND = (0.58, 1.3)


def _factor_per_layer(stds):
    with np.errstate(all="ignore"):
        return float((stds[-1] / stds[0]) ** (1 / (len(stds) - 1)))


def _factors_as_written(factors):
    return ", ".join(f"x{f:.2f}" for f in factors)


def _measured_before_training(repair, make_model, measure, factor, band_seeds):
    """What cases 7 and 8 grade before training: `repair` (its layers kept) applied to the case's network
    of each seed, `measure(model, seed)` of each, each measurement's factor, and the factors as written."""
    checked = _kept_layers(repair)
    with _course_generator_untouched():
        measured = [measure(_repaired(checked, make_model, seed), seed) for seed in band_seeds]
    factors = [factor(m) for m in measured]
    return checked, measured, factors, _factors_as_written(factors)


def check_case7_repair(repair, seeds=VISIBLE_SEEDS, band_seeds=BAND_SEEDS):
    """Case 7's network, changed in place by `repair(model)`: before its first step the hidden activations
    neither grow nor shrink by more than CASE7_FACTOR_BAND per layer (on every one of `band_seeds`), and
    trained as before it reaches the threshold (on every one of `seeds`)."""
    __tracebackhide__ = True
    low, high = CASE7_FACTOR_BAND
    name = _name(repair)
    checked, stds, factors, shown = _measured_before_training(
        repair, casebook.case7_model, _hidden_activation_stds, _factor_per_layer, band_seeds)
    band = (f"per hidden layer, the std of the activations on the training digits changes by {shown} over seeds "
            f"{list(band_seeds)} (from the first ReLU's output to the last, before any step); it must change by "
            f"between x{low:g} and x{high:g} in every seed")
    for seed, s, f in zip(band_seeds, stds, factors):
        if np.any(np.isnan(s)):
            raise ExerciseError(f"After {name}(model), the hidden activations are nan (seed {seed}): a parameter "
                                f"holds nan or inf.")
        if np.min(s) == 0:
            raise ExerciseError(f"After {name}(model), hidden layer {int(np.argmin(s)) + 1} outputs 0 for every "
                                f"training digit (seed {seed}): no signal, and no gradient, passes it.")
        if not math.isfinite(f) or f > high:
            raise ExerciseError(f"After {name}(model), the activations still grow layer by layer: {band}. So the "
                                f"loss is huge before the first step: find what sets that factor, and bring it "
                                f"near 1.")
        if f < low:
            raise ExerciseError(f"After {name}(model), the activations now shrink layer by layer: {band}. The "
                                f"signal fades before it reaches the output: bring that factor near 1.")
    _passed(f"case 7 after {name}(model): per hidden layer, the std of the activations changes by {shown} over "
            f"seeds {list(band_seeds)} (before any step), each between x{low:g} and x{high:g}")
    with _course_generator_untouched():
        accuracies = casebook.case7_measure(checked, seeds)
    hint = (f"Measure the repaired run: its loss per step (casebook.case7_training(seed, {name}).loss), the "
            f"gradient reaching each layer, and the activations of each layer (do they still depend on the digit?).")
    _check_accuracies(7, accuracies, seeds, f"after {name}(model)", hint)


def _gradient_through_time(model, seed, examples=256):
    """|dL/dh_t| for t = 1, ..., T: the gradient of the cross-entropy loss reaching each hidden state."""
    X_train, _, y_train, _ = casebook.digits_split(seed)
    with np.errstate(all="ignore"):
        logits = model(casebook.tensor(X_train[:examples]))
        states = model.rnn.hidden_states
        for h in states:
            h.retain_grad()
        functional.cross_entropy(logits, y_train[:examples]).backward()
    model.zero_grad()
    return np.array([np.linalg.norm(h.grad) if isinstance(h, Tensor) and h.grad is not None else np.nan
                     for h in states])


# The band the gradient's factor per step back through time, (|dL/dh_1| / |dL/dh_8|)^(1/7), must lie in
# on each repaired network before its first step (measured on its 256 first training digits)
CASE8_FACTOR_BAND = (0.4, 1.3)


def _factor_per_step_back(reaching):
    with np.errstate(all="ignore"):
        return float((reaching[0] / reaching[-1]) ** (1 / (len(reaching) - 1)))


def check_case8_repair(repair, seeds=VISIBLE_SEEDS, band_seeds=BAND_SEEDS):
    """Case 8's recurrent network, changed in place by `repair(model)`: before its first step the gradient
    back through time neither grows nor shrinks by more than CASE8_FACTOR_BAND per step (on every one of
    `band_seeds`), and trained as before it reaches the threshold (on every one of `seeds`)."""
    __tracebackhide__ = True
    low, high = CASE8_FACTOR_BAND
    name = _name(repair)
    checked, reaching, factors, shown = _measured_before_training(
        repair, casebook.case8_model, _gradient_through_time, _factor_per_step_back, band_seeds)
    band = (f"per step back through time, the gradient reaching the hidden states changes by {shown} over seeds "
            f"{list(band_seeds)} (from h_8 back to h_1, on 256 training digits, before any step); it must change "
            f"by between x{low:g} and x{high:g} in every seed")
    for seed, r, f in zip(band_seeds, reaching, factors):
        if np.any(np.isnan(r)):
            raise ExerciseError(f"After {name}(model), the gradient through time is nan (seed {seed}): a parameter "
                                f"holds nan or inf.")
        if math.isnan(f) or f < low:
            zero = np.flatnonzero(r == 0)
            why = (f" (in seed {seed}, no gradient at all reaches h_{', h_'.join(str(t + 1) for t in zero)})"
                   if zero.size else "")
            raise ExerciseError(f"After {name}(model), the gradient now vanishes back through time{why}: {band}. "
                                f"The first rows of a digit then reach the loss only faintly: bring the factor "
                                f"per step into the band, nearer 1.")
        if f > high:
            raise ExerciseError(f"After {name}(model), the gradient still grows back through time: {band}. What "
                                f"multiplies it once per step is still too large.")
    _passed(f"case 8 after {name}(model): per step back through time, the gradient reaching the hidden states "
            f"changes by {shown} over seeds {list(band_seeds)} (before any step), each between x{low:g} and "
            f"x{high:g}")
    with _course_generator_untouched():
        accuracies = casebook.case8_measure(checked, seeds)
    hint = (f"Measure the repaired run's loss per step (casebook.case8_training(seed, {name}).loss), and the "
            f"gradient reaching each hidden state.")
    _check_accuracies(8, accuracies, seeds, f"after {name}(model)", hint)


CHECKERS = [check_dead_relu_fraction, check_lr_range_test, check_suggest_lr, check_case7_repair, check_case8_repair]
