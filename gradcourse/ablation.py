"""Ablations over seeds: which remedy matters, and on how many seeds.

An ablation trains one configuration per row and compares the rows. Three orders answer three
questions about remedies r_1, ..., r_k switched on over a naive recipe:

    cumulative       naive, naive + r_1, naive + r_1 + r_2, ...    what each remedy adds to the ones above
    leave_one_out    all, all - r_1, all - r_2, ...                what the full recipe loses without r_i
    one_at_a_time    naive + r_1, naive + r_2, ...                 what r_i does on its own

The order of a cumulative table hides interactions: a remedy that rescues the network on its
own can look useless when it comes after one that already did. The three tables share rows
(all = the last cumulative row, naive + r_1 = the second), and `run_ablation` trains every
distinct configuration only once per seed.

Every row keeps one value per seed (`seeds.SeedValues`) of, with L_t the training loss of step t
of T steps,

    test accuracy      after step T, on the held-out quarter of the digits (`digits_split(seed)`)
    final loss         (1/10) sum_{t=T-9..T} L_t
    steps to target    the first t with (1/10) sum_{s=t-9..t} L_s <= target_loss
                       (nan for a seed that never gets there)

so a table line can show the mean, the spread and "reached the target in k of n seeds".
"""
from dataclasses import dataclass
import math

import numpy as np

from . import validation
# NAIVE, the naive recipe every configuration starts from, is train_with_remedies' defaults for
# the settings a remedy changes (experiments.remedies reads them from its signature).
from .experiments.remedies import DEFAULTS, FINAL_STEPS, NAIVE, check_settings, train_with_remedies
from .seeds import SeedValues, in_how_many, over_seeds


# ----- the three orders ---------------------------------------------------------------------------
def _check_remedies(remedies, where):
    """`remedies`: a dict name -> dict of train_with_remedies settings; no setting in two remedies."""
    validation.require(isinstance(remedies, dict), "remedies", remedies,
                       "a dict name -> dict of settings", where, TypeError)
    seen = {}
    for name, change in remedies.items():
        validation.require(isinstance(change, dict), f"remedies[{name!r}]", change,
                           "a dict of settings, e.g. {'activation': 'relu'}", where, TypeError)
        for key in change:
            validation.choice(f"a setting of remedies[{name!r}]", key, tuple(NAIVE), where)
            validation.require(key not in seen, f"remedies[{name!r}]", change,
                               f"settings no other remedy sets ({seen.get(key)!r} sets {key!r} too, "
                               "so leaving one out would be ambiguous)", where)
            seen[key] = name
    return remedies


def cumulative(remedies, start="naive"):
    """{start: {}, "+ r_1": r_1, "+ r_2": r_1 + r_2, ...}: each remedy kept once switched on."""
    configurations, settings = {start: {}}, {}
    for name, change in _check_remedies(remedies, "cumulative").items():
        settings = {**settings, **change}
        configurations[f"+ {name}"] = dict(settings)
    return configurations


def leave_one_out(remedies, everything="all remedies"):
    """{everything: all of them, "- r_i": all but r_i, ...}: the full recipe minus one remedy."""
    _check_remedies(remedies, "leave_one_out")
    configurations = {everything: {k: v for change in remedies.values() for k, v in change.items()}}
    for left_out in remedies:
        configurations[f"- {left_out}"] = {k: v for name, change in remedies.items() if name != left_out
                                           for k, v in change.items()}
    return configurations


def one_at_a_time(remedies, start="naive"):
    """{start: {}, "+ r_1 only": r_1, "+ r_2 only": r_2, ...}: each remedy on its own."""
    configurations = {start: {}}
    for name, change in _check_remedies(remedies, "one_at_a_time").items():
        configurations[f"+ {name} only"] = dict(change)
    return configurations


# ----- running them over seeds -------------------------------------------------------------------
@dataclass(frozen=True)
class AblationRow:
    """One configuration trained once per seed. `runs[i]` is the `RemedyResult` of seed
    `test_accuracy.seeds[i]` (or the `FloatingPointError` of a run that diverged)."""

    settings: dict
    runs: tuple
    test_accuracy: SeedValues
    final_loss: SeedValues
    steps_to_target: SeedValues
    target_loss: float

    @property
    def seeds(self):
        return self.test_accuracy.seeds

    @property
    def diverged(self):
        """One boolean per seed: did the run diverge?"""
        return np.array([isinstance(run, FloatingPointError) for run in self.runs])

    @property
    def reached(self):
        """One boolean per seed: did the running training loss get below the target?"""
        return np.isfinite(self.steps_to_target.values)


def _key(settings, common):
    """What makes two runs the same run: every setting, naive defaults filled in."""
    return tuple(sorted({**NAIVE, **settings, **common}.items()))


def final_loss(result, last=FINAL_STEPS):
    """The mean training loss over the `last` steps of a `RemedyResult` (anything with a
    `.history` that has `final_loss`); `last` is a positive integer."""
    last = validation.positive_int("last", last, "final_loss")
    validation.require(callable(getattr(getattr(result, "history", None), "final_loss", None)), "result", result,
                       "a RemedyResult (with a training history)", "final_loss", TypeError)
    return result.history.final_loss(last)


def run_ablation(configurations, seeds=10, progress=True, **common):
    """Train every configuration once per seed with `train_with_remedies`.

    `configurations`: a dict label -> dict of settings (activation, init, residual, optimizer,
    schedule, clipping); several dicts of them may be merged, e.g. `{**cumulative(r),
    **leave_one_out(r)}`. Labels that name the same settings share one set of runs: each
    distinct configuration is trained once per seed. `common`: settings every run shares
    (num_blocks, steps, target_loss, ...). `seeds`: a count or a list (see `seeds.over_seeds`).
    A run that diverges keeps nan for all three values, and its `FloatingPointError` (which says
    where and when) in place of the `RemedyResult` in `runs`.
    Returns a dict label -> `AblationRow`, in the order of `configurations`.
    """
    validation.require(isinstance(configurations, dict), "configurations", configurations,
                       "a dict label -> dict of settings", "run_ablation", TypeError)
    validation.require(configurations, "configurations", configurations, "a non-empty dict", "run_ablation")
    for label, settings in configurations.items():
        validation.require(isinstance(settings, dict), f"configurations[{label!r}]", settings,
                           "a dict of settings", "run_ablation", TypeError)
    progress = validation.boolean("progress", progress, "run_ablation")
    for settings in configurations.values():
        check_settings("run_ablation", {**settings, **common})
    keys = {label: _key(settings, common) for label, settings in configurations.items()}
    distinct = list(dict.fromkeys(keys.values()))
    runs = {}

    def run(seed):
        measured = {}
        for key in distinct:
            try:
                result = train_with_remedies(**dict(key), seed=seed)
            except FloatingPointError as error:
                result = error
            runs[key, seed] = result
            for quantity, value in _measure(result).items():
                measured[key, quantity] = value
        return measured

    values = over_seeds(run, seeds=seeds, progress=progress)
    rows = {}
    for label, settings in configurations.items():
        key = keys[label]
        accuracy = values[key, "test_accuracy"]
        rows[label] = AblationRow(
            settings=dict(settings), runs=tuple(runs[key, seed] for seed in accuracy.seeds),
            test_accuracy=accuracy, final_loss=values[key, "final_loss"],
            steps_to_target=values[key, "steps_to_target"],
            target_loss=dict(key).get("target_loss", _DEFAULT_TARGET))
    return rows


_DEFAULT_TARGET = DEFAULTS["target_loss"]


def _measure(result):
    if isinstance(result, FloatingPointError):
        return dict(test_accuracy=math.nan, final_loss=math.nan, steps_to_target=math.nan)
    steps = math.nan if result.steps_to_target is None else result.steps_to_target
    return dict(test_accuracy=result.test_accuracy, final_loss=final_loss(result), steps_to_target=steps)


# ----- printing a table ---------------------------------------------------------------------------
LABEL_WIDTH = 24


def _spread(values, fmt=".2f"):
    """'mean ± sd (min–max)' over the finite values (a diverged seed is nan)."""
    finite = values.finite()
    if not len(finite):
        return "diverged"
    mean, sd, low, high = (format(v, fmt) for v in (finite.mean, finite.sd, finite.min, finite.max))
    return f"{mean} ± {sd} ({low}–{high})"


def table_header(target_loss, label_width=LABEL_WIDTH):
    """The column titles that go with `table_line`."""
    target_loss = validation.number("target_loss", target_loss, where="table_header")
    label_width = validation.non_negative_int("label_width", label_width, "table_header")
    return (f"{'configuration':<{label_width}}  {'test accuracy':<23}  {'final training loss':<26}  "
            f"{f'loss < {target_loss:g} in':<15}  {'median step'}")


def table_line(label, row, label_width=LABEL_WIDTH):
    """One row of an ablation table.

    Test accuracy and final loss as mean ± sd (min–max) over the seeds; in how many seeds the
    running training loss got below the target, and the median step at which it did (over
    those seeds; "–" if none). Seeds whose run diverged are left out of the spreads and
    counted at the end of the line.
    """
    validation.require(isinstance(row, AblationRow), "row", row, "an AblationRow", "table_line", TypeError)
    label_width = validation.non_negative_int("label_width", label_width, "table_line")
    reached = row.reached
    median = f"{np.median(row.steps_to_target.values[reached]):.0f}" if reached.any() else "–"
    note = f"  diverged in {in_how_many(row.diverged)}" if row.diverged.any() else ""
    return (f"{label:<{label_width}}  {_spread(row.test_accuracy):<23}  {_spread(row.final_loss):<26}  "
            f"{in_how_many(reached):<15}  {median:>11}{note}")


def _check_rows(rows, where):
    """Every value of `rows` an AblationRow (TypeError naming e.g. rows['a'] otherwise)."""
    for label, row in rows.items():
        validation.instance(f"rows[{label!r}]", row, AblationRow, "an AblationRow (run_ablation's)", where)


def print_table(rows, labels=None, label_width=LABEL_WIDTH):
    """Print the header and one `table_line` per label (default: every row, in order)."""
    validation.require(isinstance(rows, dict), "rows", rows, "a dict label -> AblationRow (run_ablation's)",
                       "print_table", TypeError)
    labels = list(rows) if labels is None else list(labels)
    validation.require(labels, "labels" if rows else "rows", labels if rows else rows, "non-empty", "print_table")
    _check_rows(rows, "print_table")
    for label in labels:
        validation.choice("labels", label, list(rows), "print_table")
    header = table_header(rows[labels[0]].target_loss, label_width)
    print(header)
    print("-" * len(header))
    for label in labels:
        print(table_line(label, rows[label], label_width))
