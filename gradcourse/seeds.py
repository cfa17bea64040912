"""Repeat an experiment over seeds and report the spread: the evidence behind "A beats B".

One training run is an anecdote: a different random initialisation or data order can reverse a
comparison. `over_seeds` runs an experiment once per seed and keeps every value:

    runs = over_seeds(lambda seed: {"plain": final_loss(seed, residual=False),
                                    "residual": final_loss(seed, residual=True)}, seeds=10)
    print(runs["residual"])                                   # 0.081 ± 0.012 (0.065 to 0.1), 10 seeds
    print(in_how_many(runs["residual"] < runs["plain"]))      # 10 of 10 seeds

`runs[name]` is a `SeedValues`: the per-seed numbers (`.values`, aligned with `.seeds`), their
mean, sample standard deviation, median, min and max, and `describe()`, the line a notebook
prints. Comparing two of them (`<`, `>`, `<=`, `>=`) compares seed by seed, so the count of a
paired comparison is `in_how_many(a < b)` (also `<=`, `>`, `>=`, `==`, `!=`).

numpy and scipy summarise arrays but have no notion of "the same experiment under another
seed", and a statistics package would be a heavy dependency for a mean, a spread and a count.
"""
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import validation
from .training import ProgressBar


@dataclass(frozen=True, eq=False)
class SeedValues:
    """One quantity measured once per seed. `values[i]` came from `seeds[i]`."""

    seeds: tuple
    values: np.ndarray

    def __post_init__(self):
        validation.require(isinstance(self.seeds, (tuple, list)), "seeds", self.seeds, "a tuple of seeds",
                           "SeedValues", TypeError)
        object.__setattr__(self, "seeds", tuple(self.seeds))
        values = np.array(validation.real_array("values", self.values, "SeedValues", allow_bool=False))
        values.setflags(write=False)  # a copy, read-only: the caller's array and this record stay apart
        object.__setattr__(self, "values", values)
        validation.require(self.values.shape == (len(self.seeds),), "values.shape", self.values.shape,
                           f"({len(self.seeds)},): one value for each of the {len(self.seeds)} seeds", "SeedValues")

    def __len__(self):
        return len(self.seeds)

    @property
    def mean(self):
        return float(np.mean(self._nonempty("mean")))

    @property
    def sd(self):
        """Sample standard deviation (ddof = 1); 0 for a single seed."""
        return float(np.std(self.values, ddof=1)) if len(self._nonempty("sd")) > 1 else 0.0

    @property
    def median(self):
        return float(np.median(self._nonempty("median")))

    @property
    def min(self):
        return float(np.min(self._nonempty("min")))

    @property
    def max(self):
        return float(np.max(self._nonempty("max")))

    def _nonempty(self, statistic):
        """The values, or a ValueError: no seed has no mean (rather than nan), e.g. after
        `finite()` when every run diverged."""
        validation.require(len(self) > 0, "len(seeds)", 0, f"at least 1 (the {statistic} of no values)",
                           f"SeedValues.{statistic}")
        return self.values

    def finite(self):
        """The seeds whose value is finite (a diverged run gives nan or inf), as a `SeedValues`."""
        keep = np.isfinite(self.values)
        return SeedValues(tuple(s for s, ok in zip(self.seeds, keep) if ok), self.values[keep])

    def describe(self, fmt=".3g"):
        """'mean ± sd (min to max), n seeds', each number formatted with `fmt`.

        Seeds whose value is nan or inf (diverged runs) are counted and named, and the summary
        is over the others: 'diverged in 2 of 10 seeds (3, 7); the other 8: mean ± sd (...)'.
        """
        _check_format(fmt, "SeedValues.describe")
        finite = np.isfinite(self.values)
        if finite.all():
            return f"{self._summary(self, fmt)}, {len(self)} seeds"
        bad = [s for s, ok in zip(self.seeds, finite) if not ok]
        text = f"not finite in {len(bad)} of {len(self)} seeds ({', '.join(map(str, bad))})"
        if not finite.any():
            return text
        rest = self.finite()
        return f"{text}; the other {len(rest)}: {self._summary(rest, fmt)}"

    @staticmethod
    def _summary(values, fmt):
        mean, sd, low, high = (format(v, fmt) for v in (values.mean, values.sd, values.min, values.max))
        return f"{mean} ± {sd} ({low} to {high})"

    def each(self, fmt=".3g"):
        """Every seed's value, e.g. 'seed 0: 0.41, seed 1: 0.92, ...'."""
        _check_format(fmt, "SeedValues.each")
        return ", ".join(f"seed {s}: {format(v, fmt)}" for s, v in zip(self.seeds, self.values))

    def __str__(self):
        return self.describe()

    def _paired(self, other, compare):
        if isinstance(other, SeedValues):
            validation.require(other.seeds == self.seeds, "other.seeds", other.seeds,
                               f"the same seeds, {self.seeds} (values compare seed by seed)", "SeedValues")
            other = other.values
        other = _comparable(other)
        validation.require(np.shape(other) in ((), (len(self),)), "np.shape(other)", np.shape(other),
                           f"() or ({len(self)},): a number, or one value per seed", "SeedValues")
        return compare(self.values, other)

    __hash__ = None

    def __eq__(self, other):
        return self._paired(other, np.equal)

    def __ne__(self, other):
        return self._paired(other, np.not_equal)

    def __lt__(self, other):
        return self._paired(other, np.less)

    def __le__(self, other):
        return self._paired(other, np.less_equal)

    def __gt__(self, other):
        return self._paired(other, np.greater)

    def __ge__(self, other):
        return self._paired(other, np.greater_equal)


def over_seeds(run, seeds=10, progress=True):
    """Call `run(seed)` for every seed and collect what it returns.

    `seeds`: a count n (seeds 0 to n-1) or an iterable of non-negative integers.
    `run(seed)` returns a number, or a dict name -> number (several quantities of one run).
    Returns a `SeedValues` for a number, a dict name -> `SeedValues` for a dict. A run that
    returns nan or inf (a diverged run, say) keeps that value: count it, do not hide it.
    `progress`: a progress bar in a notebook ("seed 3 of 10"); nothing is shown outside one.
    """
    validation.require(callable(run), "run", run, "a function of the seed, run(seed) -> number or dict",
                       "over_seeds", TypeError)
    seeds = _seed_list(seeds)
    progress = validation.boolean("progress", progress, "over_seeds")
    bar = ProgressBar(len(seeds), enabled=progress, description="seeds")
    results = []
    for done, seed in enumerate(seeds, start=1):
        results.append(run(seed))
        bar.show(done, f"seed {seed}: {done} of {len(seeds)} runs done")
    for seed, result in zip(seeds, results):
        validation.require(not isinstance(result, Mapping) or result, f"run({seed})", result,
                           "a number or a non-empty dict", "over_seeds")
    if all(isinstance(r, Mapping) for r in results):
        names = list(results[0])
        for seed, result in zip(seeds, results):
            validation.require(list(result) == names, f"list(run({seed}))", list(result),
                               f"the same keys as run({seeds[0]}), {names} (the same quantities for every seed)",
                               "over_seeds")
        return {name: SeedValues(seeds, [_number(r[name], f"run({s})[{name!r}]") for r, s in zip(results, seeds)])
                for name in names}
    return SeedValues(seeds, [_number(r, f"run({s})") for r, s in zip(results, seeds)])


def in_how_many(holds):
    """'k of n seeds' for a boolean array with one entry per seed (e.g. `runs["a"] < runs["b"]`)."""
    holds = np.asarray(holds)
    validation.require(holds.dtype == bool and holds.ndim == 1 and holds.size > 0, "holds",
                       f"{holds.dtype} array of shape {holds.shape}",
                       "a non-empty 1-D boolean array (one entry per seed)", "in_how_many")
    return f"{int(holds.sum())} of {holds.size} seeds"


def _seed_list(seeds):
    rule = "a positive count or a non-empty list of distinct non-negative integers"
    seeds = validation.scalar(seeds)
    if validation.is_integer(seeds):
        return tuple(range(validation.integer("seeds", seeds, rule, "over_seeds", minimum=1)))
    try:
        seeds = tuple(seeds)
    except TypeError:
        validation.fail("seeds", seeds, rule, "over_seeds", TypeError)
    validation.require(seeds, "seeds", seeds, rule, "over_seeds")
    for seed in seeds:
        validation.integer("seeds", seed, rule, "over_seeds", minimum=0)
    validation.require(len(set(seeds)) == len(seeds), "seeds", seeds,
                       "free of repeats (a repeated seed is the same run twice)", "over_seeds")
    return tuple(int(s) for s in seeds)


def _check_format(fmt, where):
    """A format spec for one number, such as '.3g' (tried on 1.0 so a bad one is named here)."""
    validation.require(isinstance(fmt, str), "fmt", fmt, "a format spec such as '.3g'", where, TypeError)
    try:
        format(1.0, fmt)
    except ValueError:
        validation.fail("fmt", fmt, "a format spec for a number, such as '.3g'", where)


def _comparable(other):
    """What a SeedValues is compared with, as an array of real numbers (TypeError otherwise)."""
    rule = "a number or one value per seed"
    try:
        array = np.asarray(other)
    except ValueError:  # a ragged nested list
        validation.fail("other", other, rule, "SeedValues", TypeError)
    validation.require(array.dtype.kind in "biuf", "other", other, rule, "SeedValues", TypeError)
    return array


def _number(value, name):
    """What a run returned, as a float: a number (nan and inf too: a diverged run is kept and counted),
    or a one-element tensor or array, taken with .item() as `ReduceLROnPlateau.step` does."""
    if hasattr(value, "item") and not validation.is_number(value):
        validation.require(np.size(getattr(value, "data", value)) == 1, name, value,
                           "a number or a one-element tensor", "over_seeds", TypeError)
        value = value.item()
    validation.require(validation.is_number(value), name, value, "a number (nan or inf for a diverged run)",
                       "over_seeds", TypeError)
    return float(value)

