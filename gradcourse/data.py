"""Small seeded data sets for the course, and the helpers to split and batch them.

Every generator takes `seed=None`. With no seed it draws from the course's shared generator, so
`gradcourse.manual_seed(0)` at the top of a notebook makes every data set reproducible; with a seed
it uses a fresh generator of its own and gives the same data whatever else ran before.
"""
import math
from importlib import resources
from typing import NamedTuple

import numpy as np

from . import validation as check
from .autograd import Tensor
from .rng import generator


# ---------------------------------------------------------------------------------- checks ----

def check_samples(X, y, where, min_ndim=1, finite=False, names=("X", "y")):
    """X and y as numpy arrays, checked where they enter a function that iterates over samples.

    Both may be arrays, lists or Tensors. X must hold numbers, at least one sample (len(X) >= 1:
    an empty data set would make an endless batch loop spin forever), and be at least `min_ndim`-D;
    y must have one entry per sample. With `finite`, X and a float y must hold no nan or inf (a
    single NaN input turns every loss after it into NaN). ValueError or TypeError naming the array.
    """
    min_ndim = check.positive_int("min_ndim", min_ndim, "check_samples")
    finite = check.boolean("finite", finite, "check_samples")
    x_name, y_name = names
    X, y = _numbers(X, x_name, where), _as_array(y)
    shape_rule = "(samples, features, ...): at least 2-D (one feature: X.reshape(-1, 1))" if min_ndim > 1 \
        else "an array with a first axis of samples"
    check.require(X.ndim >= max(min_ndim, 1), f"{x_name}.shape", X.shape, shape_rule, where)
    check.require(len(X) >= 1, f"len({x_name})", len(X), "at least 1 (a data set needs a sample)", where)
    check.require(y.ndim >= 1 and len(y) == len(X), f"len({y_name})", len(y) if y.ndim else y.shape,
                  f"len({x_name}) = {len(X)} (one target per sample)", where)
    if finite:
        check.real_array(x_name, X, where, finite=True)
        check.real_array(y_name, y, where, finite=True)
    return X, y


def _as_array(values):
    return np.asarray(values.data if isinstance(values, Tensor) else values)


def _numbers(values, name, where):
    """`values` (an array, a list or a Tensor) as an array of real numbers in its own dtype (ints
    stay ints): the check is `validation.real_array`'s."""
    values = values.data if isinstance(values, Tensor) else values
    check.real_array(name, values, where)
    return np.asarray(values)


def _class_sizes(n, classes):
    """Split n samples over `classes` classes as evenly as possible (sizes differ by at most 1)."""
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


# -------------------------------------------------------------------------------- regression ----

class LinearRegressionData(NamedTuple):
    """A regression problem: inputs X (n, features), targets y (n,), and the true weights theta."""
    X: np.ndarray
    y: np.ndarray
    theta: np.ndarray


def linear_regression(n=100, features=10, noise=0.1, seed=None):
    """Noisy linear data y = X theta + noise * eps, for fitting a linear model by gradient descent.

    X and eps are standard normal, X of shape (n, features) and eps of shape (n,); the true
    weights theta (features,) are standard normal too. y has shape (n,), one number per sample,
    so the least-squares solution is `np.linalg.lstsq(X, y)`. There is no bias term.

    Returns a `LinearRegressionData(X, y, theta)`, which unpacks as `X, y, theta = ...`.
    The textbook linear model (e.g. Hastie, Tibshirani & Friedman, *The Elements of Statistical
    Learning*, 2009, ch. 3).
    """
    n = check.positive_int("n", n, "linear_regression")
    features = check.positive_int("features", features, "linear_regression")
    noise = check.non_negative("noise", noise, "linear_regression")
    rng = generator(seed, "linear_regression")
    X = rng.standard_normal((n, features))
    theta = rng.standard_normal(features)
    y = X @ theta + noise * rng.standard_normal(n)
    return LinearRegressionData(X, y, theta)


# ---------------------------------------------------------------------------- classification ----

def spirals(n=300, classes=3, noise=0.2, seed=None):
    """Interleaved spiral arms, one arm per class: a data set no linear classifier can separate.

    Point i of arm k has radius r in [0, 1] (evenly spaced along the arm) and angle
        t = 2 pi k / classes + 4 r + noise * eps,    eps ~ N(0, 1),
    and sits at (r sin t, r cos t). `noise` is thus the standard deviation of the angle, in
    radians. The arms are as balanced as possible (sizes differ by at most one) and the rows
    are shuffled.

    Returns X float64 (n, 2) and y int64 (n,) with labels 0 .. classes - 1.
    From the Stanford CS231n notes, "Putting it together: Minimal Neural Network Case Study"
    (Karpathy, 2015), which offsets arm k by 4k radians where we spread the arms evenly.
    """
    n = check.positive_int("n", n, "spirals")
    classes = check.positive_int("classes", classes, "spirals")
    noise = check.non_negative("noise", noise, "spirals")
    check.require(n >= classes, "n", n, f"at least one point per class (n >= classes = {classes})", "spirals")
    rng = generator(seed, "spirals")
    X_parts, y_parts = [], []
    for k, size in enumerate(_class_sizes(n, classes)):
        radius = np.linspace(0.0, 1.0, size)
        angle = 2 * np.pi * k / classes + 4 * radius + noise * rng.standard_normal(size)
        X_parts.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y_parts.append(np.full(size, k, dtype=np.int64))
    order = rng.permutation(n)
    return np.concatenate(X_parts)[order], np.concatenate(y_parts)[order]


def moons(n=200, noise=0.1, seed=None):
    """Two interleaving half circles ("moons"), a small non-linear two-class problem.

    Class 0 lies on the upper half of the unit circle, (cos s, sin s) for s in [0, pi]; class 1
    on the lower half circle of radius 1 centred at (1, 0.5), (1 - cos s, 0.5 - sin s). Points are
    evenly spaced in s, Gaussian noise of standard deviation `noise` is added to both coordinates,
    and the rows are shuffled. Class 0 gets n // 2 points (rounded up), class 1 the rest.

    Returns X float64 (n, 2) and y int64 (n,) with labels 0 and 1.
    The same construction as scikit-learn's `make_moons` (Pedregosa et al., 2011).
    """
    n = check.positive_int("n", n, "moons")
    noise = check.non_negative("noise", noise, "moons")
    rng = generator(seed, "moons")
    size_upper, size_lower = _class_sizes(n, 2)
    s_upper = np.linspace(0.0, np.pi, size_upper)
    s_lower = np.linspace(0.0, np.pi, size_lower)
    upper = np.column_stack([np.cos(s_upper), np.sin(s_upper)])
    lower = np.column_stack([1 - np.cos(s_lower), 0.5 - np.sin(s_lower)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(size_upper, np.int64), np.ones(size_lower, np.int64)])
    order = rng.permutation(n)
    return X[order], y[order]


def parity(n=1000, bits=8, seed=None):
    """Random bit strings labelled by their parity (the XOR of all bits).

    Flipping any single bit flips the label, so no bit on its own carries information: a
    network has to combine all of them, which makes parity a classic hard case for
    gradient-based learning (Minsky & Papert, *Perceptrons*, 1969; Shalev-Shwartz, Shamir &
    Shammah, "Failures of Gradient-Based Deep Learning", 2017).

    Returns X float64 (n, bits) of 0.0s and 1.0s, and y int64 (n,), 1 when the number of ones
    is odd and 0 when it is even.
    """
    n = check.positive_int("n", n, "parity")
    bits = check.positive_int("bits", bits, "parity")
    rng = generator(seed, "parity")
    X = rng.integers(0, 2, size=(n, bits)).astype(np.float64)
    y = X.sum(axis=1).astype(np.int64) % 2
    return X, y


def adding_problem(n, length, seed=None):
    """The adding problem: remember two numbers seen far apart in a sequence and add them.

    Each of the n sequences has `length` time steps with two input channels:
      channel 0: values drawn uniformly from [0, 1];
      channel 1: a marker, 1.0 at exactly two steps and 0.0 elsewhere: one step in the first
                 half (index < length // 2) and one in the second half.
    The target is the sum of the two marked values, about 1 on average; always predicting 1
    gives a mean squared error of about 1/6, the baseline a model must beat.

    Returns X float64 (n, length, 2) and y float64 (n, 1).
    From Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997 (experiment 4), in the form of
    Le, Jaitly & Hinton, 2015 and Arjovsky, Shah & Bengio, 2016 (one marker per half).
    """
    n = check.positive_int("n", n, "adding_problem")
    length = check.integer("length", length, "an integer >= 2 (two markers to place)", "adding_problem", minimum=2)
    rng = generator(seed, "adding_problem")
    values = rng.uniform(0.0, 1.0, size=(n, length))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1)
    y = (values[rows, first] + values[rows, second]).reshape(n, 1)
    return X, y


def load_digits(normalize=True):
    """The 8x8 handwritten digits: 1,797 small grey images of the digits 0-9, shipped with the course.

    Each image is a row of 64 pixels (`X[i].reshape(8, 8)` to view it). A pixel counts the ink in
    a 4x4 block of the original 32x32 bitmap, so raw values are integers 0..16; with
    `normalize=True` they are divided by 16 to lie in [0, 1].

    Returns X float64 (1797, 64) and y int64 (1797,) with labels 0..9 (174 to 183 per class).
    The test set of "Optical Recognition of Handwritten Digits" by E. Alpaydin and C. Kaynak
    (UCI Machine Learning Repository, 1998, CC BY 4.0, doi:10.24432/C50P49), as redistributed in
    scikit-learn; see gradcourse/datasets/LICENSE-digits.txt.
    """
    normalize = check.boolean("normalize", normalize, "load_digits")
    path = resources.files("gradcourse") / "datasets" / "digits.csv.gz"
    with resources.as_file(path) as csv_file:
        table = np.loadtxt(csv_file, delimiter=",")
    X = table[:, :64]
    y = table[:, 64].astype(np.int64)
    if normalize:
        X = X / 16.0
    return X, y


# ---------------------------------------------------------------------- splitting, batching ----

def train_test_split(X, y, test_size=0.25, seed=None, stratify=None):
    """Shuffle the samples and split them into a training part and a held-out test part.

    X and y may have any shape as long as their first dimension (the samples) agrees.
    The test part gets ceil(test_size * n) samples, as in scikit-learn. With `stratify=y` (an
    array of labels) each class is split on its own, so both parts keep the class proportions;
    the test part then gets round(test_size * count) samples of each class.

    Returns X_train, X_test, y_train, y_test (scikit-learn's order), rows shuffled.
    """
    X, y = check_samples(X, y, "train_test_split")
    test_size = check.in_range("test_size", test_size, 0.0, 1.0, "train_test_split",
                               low_closed=False, high_closed=False)
    n = len(X)
    rng = generator(seed, "train_test_split")
    if stratify is None:
        order = rng.permutation(n)
        n_test = math.ceil(test_size * n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        test_idx, train_idx = _stratified_indices(_as_array(stratify), n, test_size, rng)
    check.require(len(test_idx) > 0 and len(train_idx) > 0, "test_size", test_size,
                  f"a fraction leaving both parts non-empty (with {n} samples it leaves {len(train_idx)} "
                  f"for training and {len(test_idx)} for testing)", "train_test_split")
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def _stratified_indices(labels, n, test_size, rng):
    where, rule = "train_test_split", "a 1-D array of class labels (numbers or strings), one per sample"
    check.require(labels.ndim == 1 and labels.dtype.kind in "biufUS", "stratify", labels, rule, where, TypeError)
    check.require(len(labels) == n, "len(stratify)", len(labels), f"len(X) = {n} (one label per sample)", where)
    if labels.dtype.kind == "f":  # a NaN label equals nothing, not even itself: its samples would vanish
        check.real_array("stratify", labels, where, finite=True)
    test_parts, train_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = round(test_size * len(members))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return rng.permutation(np.concatenate(test_parts)), rng.permutation(np.concatenate(train_parts))


def batches(X, y, batch_size, shuffle=True, seed=None, drop_last=False):
    """Iterate once over the data in mini-batches: one pass of this loop is one epoch.

    Yields (X_batch, y_batch) pairs of at most `batch_size` samples; every sample appears in
    exactly one batch, and the last batch is smaller when batch_size does not divide n. With
    `drop_last=True` that smaller last batch is left out, so every batch has exactly batch_size
    samples (batch_size must then be at most n, or there would be no batch at all). With
    `shuffle=True` the order is a fresh permutation from the shared generator on every call
    (pass `seed` to get the same order every time). Like PyTorch's `DataLoader` (drop_last is its
    option), except that a loop over epochs cannot spin forever: an empty data set, and drop_last
    with batch_size > n, are a ValueError rather than no batches.
    """
    X, y = check_samples(X, y, "batches")
    batch_size, drop_last = check_batching(len(X), batch_size, drop_last, "batches")
    shuffle = check.boolean("shuffle", shuffle, "batches")
    rng = generator(seed, "batches")
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    if drop_last:
        order = order[:len(order) - len(order) % batch_size]
    return _iterate_batches(X, y, order, batch_size)


def check_batching(n, batch_size, drop_last, where):
    """(batch_size, drop_last) checked for a data set of n samples, naming `where`: batch_size a
    positive integer, drop_last True or False, and with drop_last batch_size <= n (a larger one
    would draw no batch, and a loop over epochs would spin forever)."""
    batch_size = check.positive_int("batch_size", batch_size, where)
    drop_last = check.boolean("drop_last", drop_last, where)
    check.require(not drop_last or batch_size <= n, "batch_size", batch_size,
                  f"at most len(X) = {n} with drop_last=True (otherwise every batch is dropped)", where)
    return batch_size, drop_last


def smallest_batch(n, batch_size, drop_last=False):
    """The number of samples in the smallest batch that `batches` draws from n samples
    (n and batch_size positive integers; with drop_last, batch_size <= n, as in `batches`)."""
    n = check.positive_int("n", n, "smallest_batch")
    batch_size, drop_last = check_batching(n, batch_size, drop_last, "smallest_batch")
    last = n % batch_size
    return batch_size if drop_last or last == 0 else last


def _iterate_batches(X, y, order, batch_size):
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        yield X[indices], y[indices]


def standardize(X_train, X_test):
    """Rescale every feature to mean 0 and standard deviation 1, using the training data only.

    The mean and standard deviation of each column of X_train are applied to both arrays, so no
    information from the test set leaks into training. Columns that are constant in X_train
    (such as the always-blank border pixels of the digits) are only centred.

    Both must be 2-D arrays of finite numbers (arrays or Tensors): a NaN in X_train would make
    its column's mean NaN and so the whole column of both outputs.

    Returns X_train_standardized, X_test_standardized, same shapes as the inputs.
    """
    where = "standardize"
    X_train = _numbers(X_train, "X_train", where)
    X_test = _numbers(X_test, "X_test", where)
    check.require(X_train.ndim == 2 and len(X_train) >= 1, "X_train.shape", X_train.shape,
                  "(samples, features) with at least one sample", "standardize")
    check.require(X_test.ndim == 2 and X_test.shape[1] == X_train.shape[1], "X_test.shape", X_test.shape,
                  f"(samples, {X_train.shape[1]}): the features of X_train", "standardize")
    check.real_array("X_train", X_train, where, finite=True)
    check.real_array("X_test", X_test, where, finite=True)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std
