"""Tests of gradcourse.lr_finder: the range test finds a good rate where the good rate is known."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gradcourse as gc  # noqa: E402
from gradcourse import data, lr_finder, nn, optim, training  # noqa: E402


@pytest.fixture(scope="module")
def regression():
    problem = data.linear_regression(256, 8, seed=0)
    return problem.X, problem.y.reshape(-1, 1)


def linear_model():
    gc.manual_seed(0)
    return nn.Linear(8, 1)


def sgd(params):
    return optim.SGD(params, lr=1e-6)


def run(X, y, **kwargs):
    settings = dict(start_lr=1e-4, end_lr=10.0, steps=100, batch_size=len(X), loss="mse", seed=0)
    return lr_finder.lr_range_test(linear_model, X, y, sgd, **{**settings, **kwargs})


def largest_hessian_eigenvalue(X):
    """L for mean((X w + b - y)^2): the Hessian is 2 [X 1]^T [X 1] / n."""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    return np.linalg.eigvalsh(2 * Xb.T @ Xb / len(X)).max()


def test_suggestion_is_within_a_factor_10_of_one_over_L(regression):
    X, y = regression
    L = largest_hessian_eigenvalue(X)
    result = run(X, y)
    assert 0.1 / L < result.suggestion < 10 / L
    assert result.min_loss_lr > 1 / L      # the minimum sits where the rate is already too large


def test_suggestion_is_within_a_factor_10_of_the_best_fixed_rate(regression):
    X, y = regression
    grid = np.geomspace(1e-3, 2.0, 23)
    final = []
    for lr in grid:
        model = linear_model()
        history = training.fit(model, X, y, optim.SGD(model.parameters(), lr=lr), 15,
                               batch_size=len(X), loss="mse", progress=False, seed=0)
        final.append(np.inf if history.diverged else history.loss[-1])
    best = grid[int(np.argmin(final))]
    suggestion = run(X, y).suggestion
    assert best / 10 < suggestion < best * 10


def test_rates_are_geometric_from_start_lr(regression):
    X, y = regression
    result = run(X, y, end_lr=1e-2, steps=30)      # small rates: no divergence, all 30 steps run
    assert not result.stopped_early and len(result.lrs) == 30
    assert result.lrs[0] == pytest.approx(1e-4) and result.lrs[-1] == pytest.approx(1e-2)
    np.testing.assert_allclose(result.lrs[1:] / result.lrs[:-1], (1e-2 / 1e-4) ** (1 / 29))


def test_stops_early_when_the_loss_diverges(regression):
    X, y = regression
    result = run(X, y, end_lr=1e3, diverge_factor=4)
    assert result.stopped_early and len(result.lrs) < 100
    assert "stopped at lr" in result.message
    assert result.smoothed[-1] > 4 * result.smoothed.min() or not np.isfinite(result.losses[-1])


def test_without_smoothing_the_smoothed_loss_is_the_loss(regression):
    X, y = regression
    result = run(X, y, smooth=0.0, end_lr=1e-2, steps=20)
    np.testing.assert_allclose(result.smoothed, result.losses)


def test_the_callers_model_is_left_untouched(regression):
    X, y = regression
    model = linear_model()
    before = [p.data.copy() for p in model.parameters()]
    lr_finder.lr_range_test(model, X, y, sgd, start_lr=1e-3, end_lr=1.0, steps=20, loss="mse")
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)
        assert p.grad is None


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(start_lr=1.0, end_lr=0.1), ValueError, "lr_range_test: end_lr must be a number > start_lr = 1, got 0.1"),
    (dict(start_lr=0.0), ValueError, "lr_range_test: start_lr must be a number > 0, got 0.0"),
    (dict(steps=1), ValueError, "lr_range_test: steps must be an integer >= 2, got 1"),
    (dict(steps=10.5), TypeError, "lr_range_test: steps must be an integer >= 2, got 10.5"),
    (dict(steps=True), TypeError, "lr_range_test: steps must be an integer >= 2, got True"),
    (dict(smooth=1.0), ValueError, "lr_range_test: smooth must be a number in [0, 1), got 1.0"),
    (dict(diverge_factor=1.0), ValueError, "lr_range_test: diverge_factor must be a number > 1, got 1.0"),
    (dict(loss="hinge"), ValueError, "lr_range_test: loss must be one of"),
])
def test_bad_arguments_are_named(regression, kwargs, error, match):
    X, y = regression
    with pytest.raises(error) as info:
        lr_finder.lr_range_test(linear_model, X, y, sgd, **kwargs)
    assert match in str(info.value)


def test_a_model_that_is_not_a_module_is_a_type_error(regression):
    X, y = regression
    with pytest.raises(TypeError, match=r"lr_range_test: model\(\) must be an nn\.Module"):
        lr_finder.lr_range_test(lambda: "not a model", X, y, sgd)
    with pytest.raises(TypeError, match="model must be a Module or a function returning one, got 42"):
        lr_finder.lr_range_test(42, X, y, sgd)
    with pytest.raises(TypeError, match="optimizer_fn must be a function"):
        lr_finder.lr_range_test(linear_model, X, y, optim.SGD(linear_model().parameters(), lr=0.1))
