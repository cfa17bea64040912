"""The training loop: it learns, it stops with a useful message when a run diverges."""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import nn, optim
from gradcourse.training import History, accuracy, first_nonfinite_gradient, fit


def small_classifier(seed=0):
    gc.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def test_fit_learns_the_moons():
    X, y = gc.data.moons(400, noise=0.1, seed=0)
    model = small_classifier()
    before = accuracy(model, X, y)
    history = fit(model, X, y, optim.Adam(model.parameters(), lr=0.02), steps=300, batch_size=32, seed=0)
    assert not history.diverged and history.message == "finished"
    assert len(history.loss) == len(history.lr) == len(history.grad_norm) == 300
    assert np.mean(history.loss[-20:]) < 0.5 * np.mean(history.loss[:20])
    assert history.train_accuracy[-1] > max(0.85, before), (before, history.train_accuracy)
    assert history.eval_steps[-1] == 300


def test_fit_is_reproducible_with_a_seed():
    X, y = gc.data.moons(200, seed=1)
    runs = []
    for _ in range(2):
        model = small_classifier(seed=3)
        runs.append(fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), steps=50, seed=7).loss)
    assert runs[0] == runs[1]


def test_eval_every_sets_when_accuracy_is_measured_and_zero_never():
    X, y = gc.data.moons(100, seed=0)
    def run(eval_every):
        model = small_classifier()
        return fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), steps=20, eval_every=eval_every, seed=0)

    assert run(None).eval_steps == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert run(7).eval_steps == [7, 14, 20]
    never = run(0)
    assert never.eval_steps == never.train_accuracy == [] and never.loss == run(None).loss


def test_schedule_writes_the_learning_rate_before_each_step():
    X, y = gc.data.moons(100, seed=0)
    model = small_classifier()
    history = fit(model, X, y, optim.SGD(model.parameters(), lr=1.0), steps=5,
                  schedule=lambda t: 0.1 * (t + 1))
    assert np.allclose(history.lr, [0.1, 0.2, 0.3, 0.4, 0.5])


def test_clipping_bounds_every_update():
    X, y = gc.data.moons(100, seed=0)
    model = small_classifier()
    opt = optim.SGD(model.parameters(), lr=0.5)
    start = [p.data.copy() for p in model.parameters()]
    history = fit(model, X, y, opt, steps=1, clip_norm=1e-3)
    moved = np.sqrt(sum(np.sum((p.data - s) ** 2) for p, s in zip(model.parameters(), start)))
    assert history.grad_norm[0] > 1e-3  # the raw norm is recorded, before clipping
    assert moved == pytest.approx(0.5 * 1e-3, rel=1e-3)


def diverging_run():
    """A regression net trained at far too large a rate: (model, History)."""
    gc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    X = gc.data.linear_regression(64, 4, seed=0).X
    y = (X @ np.ones(4) * 1e3).reshape(-1, 1)
    return model, fit(model, X, y, optim.SGD(model.parameters(), lr=10.0), steps=200, loss="mse")


def test_divergence_stops_the_run_and_names_the_step():
    model, history = diverging_run()
    assert history.diverged and 1 < history.diverged_at < 200
    assert len(history.loss) == history.diverged_at - 1
    assert f"at step {history.diverged_at}" in history.message


def test_first_nonfinite_gradient_names_the_layer():
    model = small_classifier()
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model[2].weight.grad[0, 0] = np.inf
    assert first_nonfinite_gradient(model) == "layer 2 weight"
    model[0].bias.grad[1] = np.nan
    assert first_nonfinite_gradient(model) == "layer 0 bias"


def test_steps_to_target_loss():
    history = History(loss=[5.0] * 10 + [1.0] * 30)
    assert history.steps_to(1.0, window=5) == 15
    assert history.steps_to(0.5) is None


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(steps=0), ValueError, "fit: steps must be a positive integer, got 0"),
    (dict(steps=True), TypeError, "fit: steps must be a positive integer, got True"),
    (dict(steps=5.0), TypeError, "fit: steps must be a positive integer, got 5.0"),
    (dict(batch_size=-1), ValueError, "fit: batch_size must be a positive integer, got -1"),
    (dict(batch_size=True), TypeError, "fit: batch_size must be a positive integer, got True"),
    (dict(clip_norm=-1.0), ValueError, "fit: clip_norm must be a number > 0, got -1.0"),
    (dict(clip_norm=float("nan")), ValueError, "fit: clip_norm must be a number > 0, got nan"),
    (dict(loss="hinge"), ValueError, "fit: loss must be one of 'cross_entropy', 'mse', 'bce_with_logits' or a function"),
    (dict(loss=3), TypeError, "fit: loss must be one of 'cross_entropy', 'mse', 'bce_with_logits' or a function loss(output, target)"),
    (dict(eval_every=-2), ValueError, "fit: eval_every must be a non-negative integer, got -2"),
    (dict(diverge_factor=1.0), ValueError, "fit: diverge_factor must be a number > 1, got 1.0"),
    (dict(diverge_factor="big"), TypeError, "fit: diverge_factor must be a number > 1, got 'big'"),
    (dict(schedule=0.1), TypeError, "fit: schedule must be a callable step -> lr"),
    (dict(schedule=object()), TypeError, "fit: schedule must be a callable step -> lr"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    model = small_classifier()
    X, y = gc.data.moons(20, seed=0)
    arguments = dict(steps=5) | kwargs
    with pytest.raises(error) as info:
        fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), **arguments)
    assert message in str(info.value)


def test_mismatched_lengths_are_named():
    model = small_classifier()
    X, y = gc.data.moons(20, seed=0)
    with pytest.raises(ValueError, match=r"fit: len\(y\) must be len\(X\) = 20 \(one target per sample\), got 19"):
        fit(model, X, y[:-1], optim.SGD(model.parameters(), lr=0.1), steps=1)


def test_divergence_names_the_layer_with_the_largest_gradient():
    model, history = diverging_run()
    assert "; " in history.message and "layer " in history.message, history.message
    named = [name for name, _ in model.named_parameters()]
    layer = history.message.split("layer ")[1].split(" (")[0].replace(" ", ".")
    assert layer in named, (layer, named)


def test_largest_gradient_reports_the_biggest_entry():
    from gradcourse.training import largest_gradient
    model = small_classifier()
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    model[0].bias.grad[1] = -50.0
    assert largest_gradient(model) == "layer 0 bias (largest entry 50)"
