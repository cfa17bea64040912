"""training.fit's progress bar, as a notebook would show it (IPython's display replaced by a stub)."""
import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import IPython.display  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gradcourse as gc  # noqa: E402
from gradcourse import nn, optim, training  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """Pretend to be in a notebook; collect what fit displays."""
    displayed = []
    monkeypatch.setattr(training, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *objects: displayed.extend(objects))
    return displayed


def problem():
    gc.manual_seed(0)
    X = np.random.default_rng(0).standard_normal((64, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    return nn.Linear(3, 1), X, y


def test_progress_bar_reaches_the_number_of_steps(shown):
    model, X, y = problem()
    history = training.fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), 30, batch_size=16, loss="mse")
    (box,) = shown
    bar, label = box.children
    assert isinstance(bar, ipywidgets.FloatProgress) and bar.max == 30
    assert bar.value == 30 and bar.bar_style == "success"
    assert label.value == f"done: 30 steps, loss {history.loss[-1]:.4g}"


def test_progress_bar_turns_red_with_the_message_on_divergence(shown):
    model, X, y = problem()
    history = training.fit(model, X, y, optim.SGD(model.parameters(), lr=1e4), 100, batch_size=16, loss="mse")
    assert history.diverged
    (box,) = shown
    bar, label = box.children
    assert bar.bar_style == "danger" and bar.value == len(history.loss) < 100
    assert label.value == history.message and "step" in label.value


def test_no_progress_bar_when_disabled_or_outside_a_notebook(shown, monkeypatch):
    model, X, y = problem()
    training.fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), 5, loss="mse", progress=False)
    assert shown == []
    monkeypatch.setattr(training, "_in_notebook", lambda: False)
    training.fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), 5, loss="mse")
    assert shown == []
