"""Tests of gradcourse.seeds: repeating an experiment over seeds and counting where a claim holds."""
import math
import operator

import numpy as np
import pytest

from gradcourse.autograd import tensor
from gradcourse.seeds import SeedValues, in_how_many, over_seeds


def test_over_seeds_calls_the_run_once_per_seed_and_keeps_every_value_in_order():
    calls = []
    result = over_seeds(lambda seed: calls.append(seed) or seed ** 2, seeds=[3, 1, 4], progress=False)
    assert calls == [3, 1, 4]
    assert result.seeds == (3, 1, 4)
    np.testing.assert_array_equal(result.values, [9.0, 1.0, 16.0])


def test_a_count_means_seeds_zero_to_n_minus_one():
    assert over_seeds(lambda seed: seed, seeds=5, progress=False).seeds == (0, 1, 2, 3, 4)


def test_summary_statistics_match_numpy_with_the_sample_standard_deviation():
    values = np.random.default_rng(0).standard_normal(7)
    result = over_seeds(lambda seed: values[seed], seeds=7, progress=False)
    assert result.mean == pytest.approx(values.mean())
    assert result.sd == pytest.approx(values.std(ddof=1))
    assert (result.min, result.max, result.median) == (values.min(), values.max(), np.median(values))
    assert over_seeds(lambda seed: 2.0, seeds=1, progress=False).sd == 0.0


def test_describe_prints_mean_sd_and_range_with_the_seed_count():
    result = SeedValues((0, 1, 2, 3), [0.5, 0.25, 0.75, 0.5])
    assert result.describe(".2f") == "0.50 ± 0.20 (0.25 to 0.75), 4 seeds"
    assert str(result) == result.describe()
    assert result.each(".2f") == "seed 0: 0.50, seed 1: 0.25, seed 2: 0.75, seed 3: 0.50"


def test_diverged_seeds_are_counted_and_named_not_averaged():
    result = SeedValues((0, 1, 2, 3), [1.0, math.nan, 3.0, math.inf])
    assert result.describe(".2g") == "not finite in 2 of 4 seeds (1, 3); the other 2: 2 ± 1.4 (1 to 3)"
    assert SeedValues((5,), [math.nan]).describe() == "not finite in 1 of 1 seeds (5)"
    finite = result.finite()
    assert finite.seeds == (0, 2) and (finite.min, finite.max) == (1.0, 3.0)


def test_dict_runs_give_one_seed_values_per_quantity_and_paired_comparisons():
    result = over_seeds(lambda seed: {"a": seed, "b": 2 - seed}, seeds=4, progress=False)
    assert set(result) == {"a", "b"}
    np.testing.assert_array_equal(result["a"] < result["b"], [True, False, False, False])
    assert in_how_many(result["a"] < result["b"]) == "1 of 4 seeds"
    assert in_how_many(result["a"] >= 1) == "3 of 4 seeds"
    assert in_how_many(result["b"] <= result["a"]) == "3 of 4 seeds"
    assert in_how_many(result["b"] > 0.5) == "2 of 4 seeds"
    assert in_how_many(result["a"] == 2) == "1 of 4 seeds"
    assert in_how_many(result["a"] != result["b"]) == "3 of 4 seeds"


def test_comparing_values_of_different_seeds_is_refused():
    with pytest.raises(ValueError, match=r"SeedValues: other.seeds must be the same seeds, \(0, 1\) "
                                         r".*got \(1, 2\)"):
        SeedValues((0, 1), [1, 2]) < SeedValues((1, 2), [1, 2])


@pytest.mark.parametrize("bad, error, message", [
    (0, ValueError, "seeds must be a positive count"),
    ([], ValueError, "non-empty list"),
    ([1, -2], ValueError, "non-negative integers, got -2"),
    ([0.5], TypeError, "non-negative integers, got 0.5"),
    ([1, 1], ValueError, "free of repeats"),
    (None, TypeError, "seeds must be a positive count"),
    (True, TypeError, "seeds must be a positive count"),
])
def test_bad_seeds_name_the_rule(bad, error, message):
    with pytest.raises(error, match=message):
        over_seeds(lambda seed: 0.0, seeds=bad, progress=False)


def test_runs_must_return_numbers_and_the_same_keys():
    with pytest.raises(TypeError, match=r"over_seeds: run\(0\) must be a number \(nan or inf for a diverged run\), "
                                        r"got 'high'"):
        over_seeds(lambda seed: "high", seeds=2, progress=False)
    with pytest.raises(TypeError, match=r"over_seeds: run\(0\)\['acc'\] must be a number .*, got \[0\.5\]"):
        over_seeds(lambda seed: {"acc": [0.5]}, seeds=2, progress=False)
    with pytest.raises(TypeError, match=r"over_seeds: run\(1\) must be a number .*, got True"):  # a bool is no number
        over_seeds(lambda seed: True if seed else 0.5, seeds=2, progress=False)
    assert np.isnan(over_seeds(lambda seed: np.float32("nan"), seeds=1, progress=False).values[0])  # kept
    with pytest.raises(ValueError, match=r"over_seeds: list\(run\(1\)\) must be the same keys as run\(0\), "
                                         r"\['a'\]"):
        over_seeds(lambda seed: {"a": 1} if seed == 0 else {"b": 1}, seeds=2, progress=False)


def test_in_how_many_needs_one_boolean_per_seed():
    with pytest.raises(ValueError, match="boolean array"):
        in_how_many(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="non-empty"):
        in_how_many(np.array([], dtype=bool))


def test_seed_values_check_their_shape():
    with pytest.raises(ValueError, match=r"SeedValues: values.shape must be \(2,\): one value for each of the "
                                         r"2 seeds, got \(3,\)"):
        SeedValues((0, 1), [1.0, 2.0, 3.0])


# ----- round 2: no statistic of no seeds, flags and formats named ----------------------------------

@pytest.mark.parametrize("statistic", ["mean", "sd", "median", "min", "max"])
def test_a_statistic_of_no_seeds_is_an_error_not_nan(statistic):
    all_diverged = SeedValues((0, 1), [math.nan, math.inf]).finite()
    with pytest.raises(ValueError, match=rf"SeedValues.{statistic}: len\(seeds\) must be at least 1"):
        getattr(all_diverged, statistic)


@pytest.mark.parametrize("call, error, message", [
    (lambda: over_seeds(lambda s: 1.0, seeds=2, progress="yes"), TypeError, "over_seeds: progress must be True or False"),
    (lambda: SeedValues((0, 1), [1.0, 2.0]).describe(fmt=3), TypeError, "SeedValues.describe: fmt must be a format"),
    (lambda: SeedValues((0, 1), [1.0, 2.0]).describe(fmt="q"), ValueError, "SeedValues.describe: fmt must be a format"),
    (lambda: SeedValues((0, 1), [1.0, 2.0]).each(fmt="zz"), ValueError, "SeedValues.each: fmt must be"),
    (lambda: SeedValues((0, 1), [1.0, 2.0]) < [1.0, 2.0, 3.0], ValueError,
     r"SeedValues: np.shape\(other\) must be \(\) or \(2,\)"),
])
def test_seed_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_seed_values_name_seeds_and_values_of_the_wrong_kind():
    with pytest.raises(TypeError, match="SeedValues: seeds must be a tuple of seeds, got None"):
        SeedValues(None, [1.0])
    with pytest.raises(TypeError, match="SeedValues: values must be an array of real numbers"):
        SeedValues((0,), ["x"])


# ----- round 5: comparisons with non-numbers, copied values, empty and tensor results ------------

@pytest.mark.parametrize("call, error, message", [
    *[(lambda op=op, other=other: op(SeedValues((0, 1), [1.0, 2.0]), other), TypeError,
       "SeedValues: other must be a number or one value per seed")
      for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne)
      for other in ("abc", None)],
    (lambda: over_seeds(lambda s: {}, 2, progress=False), ValueError,
     r"over_seeds: run\(0\) must be a number or a non-empty dict"),
    (lambda: over_seeds(lambda s: tensor([1.0, 2.0]), 2, progress=False), TypeError,
     r"over_seeds: run\(0\) must be a number or a one-element tensor"),
    (lambda: SeedValues((0, 1), [True, False]), TypeError, "SeedValues: values must be an array of real numbers"),
])
def test_round5_bad_inputs_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_seed_values_keep_a_read_only_copy_and_runs_may_return_one_element_tensors():
    array = np.array([1.0, 2.0])
    kept = SeedValues((0, 1), array)
    array[0] = 99.0
    assert kept.values.tolist() == [1.0, 2.0] and not kept.values.flags.writeable
    assert over_seeds(lambda s: tensor(1.5 + s), 2, progress=False).values.tolist() == [1.5, 2.5]
    assert over_seeds(lambda s: float(s), np.array(2), progress=False).seeds == (0, 1)  # a 0-d count
