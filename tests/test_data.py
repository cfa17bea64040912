"""Tests for gradcourse.data: shapes, reproducibility, and each data set's defining property,
checked by an independent computation in the test."""
from importlib import resources

import numpy as np
import pytest

from gradcourse import data
from gradcourse.rng import manual_seed

# Each generator called with small sizes, for the tests that apply to all of them.
GENERATORS = {
    "linear_regression": lambda seed=None: data.linear_regression(n=20, features=3, seed=seed),
    "spirals": lambda seed=None: data.spirals(n=30, classes=3, seed=seed),
    "moons": lambda seed=None: data.moons(n=20, seed=seed),
    "parity": lambda seed=None: data.parity(n=20, bits=6, seed=seed),
    "adding_problem": lambda seed=None: data.adding_problem(n=20, length=8, seed=seed),
}


def assert_same(a, b):
    assert len(a) == len(b)
    for array_a, array_b in zip(a, b):
        np.testing.assert_array_equal(array_a, array_b)


def differs(a, b):
    return any(not np.array_equal(array_a, array_b) for array_a, array_b in zip(a, b))


# ------------------------------------------------------------------------ reproducibility ----

@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_gives_same_data_and_other_seed_differs(name):
    make = GENERATORS[name]
    assert_same(make(seed=1), make(seed=1))
    assert differs(make(seed=1), make(seed=2))


@pytest.mark.parametrize("name", GENERATORS)
def test_manual_seed_makes_shared_generator_reproducible(name):
    make = GENERATORS[name]
    manual_seed(7)
    first, second = make(), make()
    manual_seed(7)
    assert_same(make(), first)
    assert differs(first, second)  # the shared generator moves on between calls


def test_explicit_seed_ignores_shared_generator_state():
    manual_seed(0)
    a = data.moons(n=10, seed=3)
    manual_seed(99)
    data.parity(n=5, bits=2)
    assert_same(data.moons(n=10, seed=3), a)


# ---------------------------------------------------------------------- linear regression ----

def test_linear_regression_shapes_and_named_fields():
    result = data.linear_regression(n=50, features=4, seed=0)
    X, y, theta = result
    assert X.shape == (50, 4) and y.shape == (50,) and theta.shape == (4,)
    assert X.dtype == y.dtype == theta.dtype == np.float64
    assert result.X is X and result.y is y and result.theta is theta


def test_linear_regression_least_squares_recovers_theta_without_noise():
    X, y, theta = data.linear_regression(n=100, features=10, noise=0.0, seed=0)
    estimate, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(estimate, theta, rtol=0, atol=1e-10)


def test_linear_regression_noise_level_is_the_residual_std():
    X, y, theta = data.linear_regression(n=20_000, features=3, noise=0.5, seed=0)
    residual = y - X @ theta
    assert abs(residual.std() - 0.5) < 0.02
    assert abs(residual.mean()) < 0.02


# ------------------------------------------------------------------------ spirals, moons ----

def test_spirals_shapes_dtypes_and_balance():
    X, y = data.spirals(n=301, classes=4, seed=0)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert y.shape == (301,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == 4 and counts.max() - counts.min() <= 1 and counts.sum() == 301


def test_spirals_without_noise_lie_on_arms_whose_radius_grows_with_angle():
    classes = 3
    X, y = data.spirals(n=300, classes=classes, noise=0.0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0 and radius.max() <= 1 + 1e-12
    for k in range(classes):
        r = radius[y == k]
        points = X[y == k][r > 1e-9]
        r = r[r > 1e-9]
        angle = np.arctan2(points[:, 0], points[:, 1])  # the point is (r sin t, r cos t)
        expected = 2 * np.pi * k / classes + 4 * r
        wrapped_difference = np.angle(np.exp(1j * (angle - expected)))
        np.testing.assert_allclose(wrapped_difference, 0, atol=1e-9)


def test_spirals_noise_perturbs_the_angle_only():
    X, y = data.spirals(n=300, classes=3, noise=0.3, seed=0)
    radii = np.sort(np.hypot(X[y == 0, 0], X[y == 0, 1]))
    np.testing.assert_allclose(radii, np.linspace(0, 1, 100), atol=1e-12)


def test_moons_shapes_dtypes_and_balance():
    X, y = data.moons(n=201, seed=0)
    assert X.shape == (201, 2) and X.dtype == np.float64
    assert y.shape == (201,) and y.dtype == np.int64
    assert sorted(np.bincount(y)) == [100, 101]


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = data.moons(n=200, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()


def test_moons_noise_has_the_requested_std():
    X, y = data.moons(n=4000, noise=0.05, seed=0)
    distance_from_circle = np.hypot(X[y == 0, 0], X[y == 0, 1]) - 1.0  # the radial noise
    assert abs(distance_from_circle.std() - 0.05) < 0.005


# -------------------------------------------------------------------------------- parity ----

def test_parity_labels_are_the_xor_of_the_bits():
    X, y = data.parity(n=500, bits=7, seed=0)
    assert X.shape == (500, 7) and X.dtype == np.float64
    assert y.shape == (500,) and y.dtype == np.int64
    assert set(np.unique(X)) <= {0.0, 1.0}
    bits = X.astype(np.int64)
    xor = np.zeros(500, dtype=np.int64)
    for column in range(7):
        xor = np.bitwise_xor(xor, bits[:, column])
    np.testing.assert_array_equal(y, xor)
    assert 200 < y.sum() < 300  # both labels occur, about equally often


# ------------------------------------------------------------------------ adding problem ----

@pytest.mark.parametrize("length", [2, 3, 10, 51])
def test_adding_problem_markers_and_target(length):
    n = 300
    X, y = data.adding_problem(n=n, length=length, seed=0)
    assert X.shape == (n, length, 2) and X.dtype == np.float64
    assert y.shape == (n, 1) and y.dtype == np.float64
    values, markers = X[:, :, 0], X[:, :, 1]
    assert values.min() >= 0 and values.max() <= 1
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1)
    for i in range(n):
        marked = [values[i, t] for t in range(length) if markers[i, t] == 1]
        assert y[i, 0] == pytest.approx(marked[0] + marked[1], abs=1e-15)


def test_adding_problem_baseline_mse_is_about_one_sixth():
    _, y = data.adding_problem(n=20_000, length=20, seed=0)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


def test_adding_problem_marker_positions_spread_over_each_half():
    X, _ = data.adding_problem(n=2000, length=10, seed=0)
    positions_used = np.flatnonzero(X[:, :, 1].sum(axis=0) > 0)
    np.testing.assert_array_equal(positions_used, np.arange(10))


# -------------------------------------------------------------------------------- digits ----

def test_digits_shapes_range_and_class_counts():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Class counts of the UCI optdigits test set, as documented by UCI and scikit-learn.
    np.testing.assert_array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_digits_raw_values_are_integers_0_to_16():
    X_raw, y_raw = data.load_digits(normalize=False)
    X, y = data.load_digits()
    assert X_raw.max() == 16 and (X_raw == np.round(X_raw)).all()
    np.testing.assert_allclose(X * 16, X_raw)
    np.testing.assert_array_equal(y, y_raw)
    # The first image is the well-known "0" shown in scikit-learn's documentation.
    assert y_raw[0] == 0
    np.testing.assert_array_equal(X_raw[0, :8], [0, 0, 5, 13, 9, 1, 0, 0])


def test_digits_zeros_have_a_hole_where_ones_have_ink():
    X, y = data.load_digits()
    centre = X.reshape(-1, 8, 8)[:, 3:5, 3:5].mean(axis=(1, 2))
    assert centre[y == 0].mean() < 0.2 < 0.6 < centre[y == 1].mean()


def test_digits_licence_ships_next_to_the_data():
    licence = (resources.files("gradcourse") / "datasets" / "LICENSE-digits.txt").read_text()
    assert "CC BY 4.0" in licence and "10.24432/C50P49" in licence and "BSD 3-Clause" in licence


# ---------------------------------------------------------------------- train_test_split ----

def test_train_test_split_is_a_partition_with_the_right_sizes():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20) * 10
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_test) == len(y_test) == 5 and len(X_train) == len(y_train) == 15
    train_ids, test_ids = X_train[:, 0] // 2, X_test[:, 0] // 2
    assert set(train_ids).isdisjoint(test_ids)
    assert sorted(np.concatenate([train_ids, test_ids])) == list(range(20))
    np.testing.assert_array_equal(y_train, train_ids * 10)  # rows of X and y stay paired
    np.testing.assert_array_equal(y_test, test_ids * 10)


def test_train_test_split_rounds_the_test_size_up_and_shuffles():
    X, y = np.arange(10), np.arange(10)
    X_train, X_test, _, _ = data.train_test_split(X, y, test_size=0.33, seed=0)
    assert len(X_test) == 4 and len(X_train) == 6  # ceil(3.3) = 4
    _, X_test_other, _, _ = data.train_test_split(X, y, test_size=0.33, seed=1)
    assert not np.array_equal(X_test, X_test_other)


def test_train_test_split_works_on_sequences():
    X, y = data.adding_problem(n=8, length=5, seed=0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.5, seed=0)
    assert X_train.shape == (4, 5, 2) and y_test.shape == (4, 1)


def test_train_test_split_stratified_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0, stratify=y)
    np.testing.assert_array_equal(np.bincount(y_test), [20, 5])
    np.testing.assert_array_equal(np.bincount(y_train), [60, 15])
    assert sorted(np.concatenate([X_train, X_test])) == list(range(100))
    np.testing.assert_array_equal(y[X_test], y_test)
    assert not (np.diff(y_test) >= 0).all()  # rows shuffled, not grouped by class


# ------------------------------------------------------------------------------- batches ----

def test_batches_cover_every_sample_once_with_a_smaller_last_batch():
    X = np.arange(23) * 2.0
    y = np.arange(23)
    pairs = list(data.batches(X, y, batch_size=5, seed=0))
    assert [len(yb) for _, yb in pairs] == [5, 5, 5, 5, 3]
    seen = np.concatenate([yb for _, yb in pairs])
    assert sorted(seen) == list(range(23))
    for X_batch, y_batch in pairs:
        np.testing.assert_array_equal(X_batch, y_batch * 2.0)
    assert not np.array_equal(seen, np.arange(23))  # shuffled


def test_batches_without_shuffle_keep_the_order():
    X, y = np.arange(10).reshape(5, 2), np.arange(5)
    pairs = list(data.batches(X, y, batch_size=2, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in pairs]), y)
    np.testing.assert_array_equal(pairs[0][0], [[0, 1], [2, 3]])


def test_batches_shuffle_with_the_shared_generator():
    X, y = np.zeros((50, 1)), np.arange(50)
    manual_seed(5)
    first = np.concatenate([yb for _, yb in data.batches(X, y, 8)])
    second = np.concatenate([yb for _, yb in data.batches(X, y, 8)])
    manual_seed(5)
    again = np.concatenate([yb for _, yb in data.batches(X, y, 8)])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # a new order each epoch


def test_batch_size_larger_than_data_gives_one_batch():
    pairs = list(data.batches(np.ones((3, 2)), np.arange(3), batch_size=10))
    assert len(pairs) == 1 and len(pairs[0][1]) == 3


def test_drop_last_leaves_out_the_smaller_last_batch_as_pytorchs_dataloader():
    X, y = np.arange(23) * 2.0, np.arange(23)
    pairs = list(data.batches(X, y, batch_size=5, seed=0, drop_last=True))
    assert [len(yb) for _, yb in pairs] == [5, 5, 5, 5]
    kept = np.concatenate([yb for _, yb in pairs])
    assert len(set(kept)) == 20  # no sample twice
    np.testing.assert_array_equal(kept, np.concatenate([yb for _, yb in data.batches(X, y, 5, seed=0)])[:20])
    assert [len(yb) for _, yb in data.batches(X[:20], y[:20], 5, drop_last=True)] == [5, 5, 5, 5]


def test_drop_last_with_a_batch_larger_than_the_data_is_an_error_not_an_empty_epoch():
    with pytest.raises(ValueError, match=r"batches: batch_size must be at most len\(X\) = 3 with drop_last=True"):
        data.batches(np.ones((3, 2)), np.arange(3), batch_size=4, drop_last=True)
    with pytest.raises(TypeError, match="batches: drop_last must be True or False, got 1"):
        data.batches(np.ones((3, 2)), np.arange(3), batch_size=2, drop_last=1)


@pytest.mark.parametrize("n, batch_size, drop_last, smallest", [
    (17, 16, False, 1), (17, 16, True, 16), (16, 16, False, 16), (3, 10, False, 3), (23, 5, False, 3),
])
def test_smallest_batch_is_the_size_of_the_smallest_batch_drawn(n, batch_size, drop_last, smallest):
    sizes = [len(yb) for _, yb in data.batches(np.zeros((n, 1)), np.arange(n), batch_size, drop_last=drop_last)]
    assert data.smallest_batch(n, batch_size, drop_last) == min(sizes) == smallest


# --------------------------------------------------------------------------- standardize ----

def test_standardize_uses_training_statistics():
    rng = np.random.default_rng(0)
    X_train = rng.normal(5.0, 3.0, size=(200, 3))
    X_train[:, 2] = 7.0  # a constant column
    X_test = rng.normal(5.0, 3.0, size=(50, 3))
    train_std, test_std = data.standardize(X_train, X_test)
    np.testing.assert_allclose(train_std[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_std[:, :2].std(axis=0), 1, atol=1e-12)
    np.testing.assert_array_equal(train_std[:, 2], 0)
    expected = (X_test[:, 0] - X_train[:, 0].mean()) / X_train[:, 0].std()
    np.testing.assert_allclose(test_std[:, 0], expected)


# -------------------------------------------------------------------------------- errors ----

@pytest.mark.parametrize("call, message", [
    (lambda: data.linear_regression(n=0), "linear_regression: n must be a positive integer, got 0"),
    (lambda: data.linear_regression(features=-1), "features must be a positive integer, got -1"),
    (lambda: data.linear_regression(noise=-0.1), "noise must be a number >= 0, got -0.1"),
    (lambda: data.linear_regression(noise=float("nan")), "noise must be a number >= 0, got nan"),
    (lambda: data.spirals(n=-3), "spirals: n must be a positive integer, got -3"),
    (lambda: data.spirals(classes=0), "classes must be a positive integer, got 0"),
    (lambda: data.spirals(n=2, classes=3), "n must be at least one point per class (n >= classes = 3), got 2"),
    (lambda: data.moons(n=0), "moons: n must be a positive integer, got 0"),
    (lambda: data.moons(noise=-1), "noise must be a number >= 0, got -1"),
    (lambda: data.parity(n=0), "parity: n must be a positive integer, got 0"),
    (lambda: data.parity(bits=0), "bits must be a positive integer, got 0"),
    (lambda: data.adding_problem(n=0, length=5), "adding_problem: n must be a positive integer, got 0"),
    (lambda: data.adding_problem(n=3, length=1), "length must be an integer >= 2 (two markers to place), got 1"),
    (lambda: data.train_test_split(np.ones(5), np.ones(4)), "len(y) must be len(X) = 5 (one target per sample), got 4"),
    (lambda: data.train_test_split(np.ones(5), np.ones(5), test_size=0), "test_size must be a number in (0, 1), got 0"),
    (lambda: data.train_test_split(np.ones(5), np.ones(5), test_size=1.5), "test_size must be a number in (0, 1), got 1.5"),
    (lambda: data.train_test_split(np.ones(2), np.ones(2), test_size=0.9), "0 for training"),
    (lambda: data.train_test_split(np.ones(4), np.ones(4), stratify=np.ones(3)), "len(stratify) must be len(X) = 4"),
    (lambda: data.train_test_split(np.ones(0), np.ones(0)), "len(X) must be at least 1"),
    (lambda: data.batches(np.ones(5), np.ones(4), 2), "batches: len(y) must be len(X) = 5 (one target per sample), got 4"),
    (lambda: data.batches(np.ones(5), np.ones(5), 0), "batch_size must be a positive integer, got 0"),
    (lambda: data.batches(np.ones((0, 3)), np.ones(0), 2), "batches: len(X) must be at least 1"),
])
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


@pytest.mark.parametrize("call, message", [
    (lambda: data.linear_regression(n=2.5), "n must be a positive integer, got 2.5"),
    (lambda: data.parity(n=True), "n must be a positive integer, got True"),
    (lambda: data.spirals(noise="0.1"), "noise must be a number >= 0, got '0.1'"),
    (lambda: data.adding_problem(n=3, length=4.0), "length must be an integer >= 2"),
    (lambda: data.batches(np.ones(5), np.ones(5), batch_size=True), "batch_size must be a positive integer, got True"),
    (lambda: data.batches(np.array(["a", "b"]), np.ones(2), 1), "batches: X must be an array of real numbers"),
])
def test_a_value_of_the_wrong_kind_is_a_type_error(call, message):
    with pytest.raises(TypeError) as error:
        call()
    assert message in str(error.value)


def test_batches_of_an_empty_data_set_raise_instead_of_yielding_nothing():
    """An empty data set used to give no batches, so a loop over epochs spun forever."""
    with pytest.raises(ValueError, match=r"len\(X\) must be at least 1"):
        next(data.batches([], [], 4))


def test_spirals_are_shuffled_with_labels_following_their_points():
    """Rows come in random order (labels are not in blocks), and each label stays with its point."""
    classes = 3
    X, y = data.spirals(n=300, classes=classes, noise=0.0, seed=0)
    changes = np.count_nonzero(np.diff(y))
    assert changes > 150, changes              # blocks would give classes - 1 = 2 changes
    assert set(y[:30]) == set(range(classes))  # every class among the first tenth of the rows
    radius, angle = np.hypot(X[:, 0], X[:, 1]), np.arctan2(X[:, 0], X[:, 1])
    arm = np.round((angle - 4 * radius) * classes / (2 * np.pi)) % classes  # from t = 2 pi k / classes + 4 r
    away_from_centre = radius > 1e-9                                         # (every arm starts at 0)
    np.testing.assert_array_equal(arm[away_from_centre], y[away_from_centre])


def test_seeded_block_restores_the_shared_sequence():
    from gradcourse.rng import generator, seeded
    manual_seed(5)
    expected = generator().standard_normal(3)
    manual_seed(5)
    with seeded(123) as inner:
        inside = inner.standard_normal(2)
        assert generator() is inner
    assert np.array_equal(generator().standard_normal(3), expected)
    with seeded(123):
        assert np.array_equal(generator().standard_normal(2), inside)


# ----- round 2: stratify, standardize, flags and seeds are named ----------------------------------

X8, Y8 = np.arange(8.0).reshape(8, 1), np.arange(8)


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.train_test_split(X8, Y8, 0.5, seed=0, stratify=np.array([0, 0, 1, 1, np.nan, np.nan, 0, 1])),
     ValueError, r"train_test_split: stratify\[4\] must be a finite number"),
    (lambda: data.train_test_split(X8, Y8, stratify="abc"), TypeError,
     "train_test_split: stratify must be a 1-D array of class labels"),
    (lambda: data.train_test_split(X8, Y8, stratify=np.zeros((8, 2))), TypeError,
     "train_test_split: stratify must be a 1-D array"),
    (lambda: data.train_test_split(X8, Y8, stratify=[None] * 8), TypeError, "stratify must be a 1-D array"),
    (lambda: data.train_test_split(X8, Y8, seed=-1), ValueError, "train_test_split: seed must be a non-negative"),
    (lambda: data.standardize(np.array([["a"]]), np.array([["b"]])), TypeError,
     "standardize: X_train must be an array of real numbers"),
    (lambda: data.standardize(np.ones((2, 1)), np.array([["b"]])), TypeError,
     "standardize: X_test must be an array of real numbers"),
    (lambda: data.standardize(np.array([[1.0], [np.nan]]), np.array([[1.0]])), ValueError,
     r"standardize: X_train\[1, 0\] must be a finite number"),
    (lambda: data.standardize(np.ones((2, 1)), np.array([[np.inf]])), ValueError,
     r"standardize: X_test\[0, 0\] must be a finite number"),
    (lambda: data.load_digits(normalize="yes"), TypeError, "load_digits: normalize must be True or False"),
    (lambda: next(data.batches(X8, Y8, 2, shuffle="no")), TypeError, "batches: shuffle must be True or False"),
    (lambda: next(data.batches(X8, Y8, 2, seed=1.5)), TypeError, "batches: seed must be a non-negative integer"),
    (lambda: data.spirals(seed="0"), TypeError, "spirals: seed must be a non-negative integer"),
    (lambda: data.moons(seed=-2), ValueError, "moons: seed must be a non-negative integer"),
])
def test_round2_bad_arguments_name_what_the_caller_passed(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_stratify_takes_string_labels_and_keeps_every_sample():
    labels = np.array(list("aabbaabb"))
    X_train, X_test, _, _ = data.train_test_split(X8, Y8, 0.5, seed=0, stratify=labels)
    assert sorted(np.concatenate([X_train, X_test]).ravel()) == list(range(8))


# ----- round 3: the one numeric-array check (validation.real_array) -------------------------------

def test_a_ragged_or_non_numeric_X_is_named_and_ints_keep_their_dtype():
    with pytest.raises(ValueError, match=r"^batches: X must be a rectangular array of numbers"):
        data.batches([[1.0, 2.0], [3.0]], [0, 1], 1)
    with pytest.raises(TypeError, match=r"^train_test_split: X must be an array of real numbers, got \[None, None\]"):
        data.train_test_split([None, None], [0, 1])
    X_train, X_test, _, _ = data.train_test_split(np.arange(8).reshape(4, 2), np.arange(4), seed=0)
    assert X_train.dtype == X_test.dtype == np.arange(1).dtype


def test_a_split_leaving_a_part_empty_names_test_size():
    with pytest.raises(ValueError, match=r"^train_test_split: test_size must be a fraction leaving both parts "
                                         r"non-empty \(with 2 samples it leaves 0 for training and 2 for testing\), "
                                         r"got 0\.9$"):
        data.train_test_split(np.zeros((2, 1)), np.zeros(2), test_size=0.9, seed=0)


# ----- round 5: smallest_batch checks its counts; 0-d integer arrays are counts ------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: data.smallest_batch(10, 0), ValueError, "smallest_batch: batch_size must be a positive integer, got 0"),
    (lambda: data.smallest_batch(0, 3), ValueError, "smallest_batch: n must be a positive integer, got 0"),
    (lambda: data.smallest_batch(10, 2.0), TypeError, "smallest_batch: batch_size must be a positive integer"),
    (lambda: data.parity(np.array(2.0), seed=0), TypeError, "parity: n must be a positive integer"),
])
def test_round5_counts_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_0d_integer_array_is_a_count():
    assert data.smallest_batch(np.array(10), np.array(4)) == 2
    assert data.parity(np.array(5), np.array(3), seed=0)[0].shape == (5, 3)
    assert len(list(data.batches(np.ones((5, 1)), np.arange(5), np.array(2)))) == 3
