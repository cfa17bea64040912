"""training.fit and lr_finder.lr_range_test: the data they refuse (no hang on an empty data set),
loss-driven schedules, divergence past a multiple of the first loss, the training mode, the
single-logit accuracy and the range test's suggestion rule."""
import math
import signal
from contextlib import contextmanager

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import lr_finder, nn, optim
from gradcourse.schedules import BoldDriver, ReduceLROnPlateau
from gradcourse.training import accuracy, fit


@contextmanager
def time_limit(seconds=10):
    """Fail instead of hanging (SIGALRM interrupts a Python loop that spins forever)."""
    def stop(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: it hangs")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def classifier(seed=0):
    gc.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))


def sgd(model, lr=0.1):
    return optim.SGD(model.parameters(), lr=lr)


# ---------------------------------------------------------------------------
# The data fit and the range test refuse

EMPTY = (np.zeros((0, 2)), np.zeros(0, dtype=int))


def test_fit_on_an_empty_data_set_raises_instead_of_spinning_forever():
    model = classifier()
    with time_limit(), pytest.raises(ValueError, match=r"fit: len\(X\) must be at least 1"):
        fit(model, *EMPTY, sgd(model), steps=3, progress=False)


def test_lr_range_test_on_an_empty_data_set_raises_instead_of_spinning_forever():
    with time_limit(), pytest.raises(ValueError, match=r"lr_range_test: len\(X\) must be at least 1"):
        lr_finder.lr_range_test(classifier, *EMPTY, lambda p: optim.SGD(p, lr=1e-3), steps=5)


X2, Y2 = gc.data.moons(20, seed=0)
X_NAN = X2.copy()
X_NAN[3, 1] = np.nan


@pytest.mark.parametrize("X, y, error, message", [
    (X2[:, 0], Y2, ValueError, "fit: X.shape must be (samples, features, ...): at least 2-D (one feature: "
                               "X.reshape(-1, 1)), got (20,)"),
    (X_NAN, Y2, ValueError, "fit: X[3, 1] must be a finite number (no nan or inf in the data), got nan"),
    (X2, np.where(np.arange(20) == 5, np.inf, Y2), ValueError, "fit: y[5] must be a finite number"),
    (X2.astype(str), Y2, TypeError, "fit: X must be an array of numbers"),
    (X2, Y2[:3], ValueError, "fit: len(y) must be len(X) = 20 (one target per sample), got 3"),
])
def test_fit_names_what_is_wrong_with_the_data(X, y, error, message):
    model = classifier()
    with pytest.raises(error) as info:
        fit(model, X, y, sgd(model), steps=2, progress=False)
    assert message in str(info.value)


def test_fit_names_a_model_or_an_optimiser_of_the_wrong_kind():
    model = classifier()
    with pytest.raises(TypeError, match=r"fit: model must be a Module"):
        fit(lambda x: x, X2, Y2, sgd(model), steps=2, progress=False)
    with pytest.raises(TypeError, match=r"fit: optimizer must be an optimiser such as optim\.SGD"):
        fit(model, X2, Y2, "adam", steps=2, progress=False)


def test_fit_checks_the_test_data_under_its_own_name():
    model = classifier()
    with pytest.raises(ValueError, match=r"fit: len\(y_test\) must be len\(X_test\) = 20"):
        fit(model, X2, Y2, sgd(model), steps=2, X_test=X2, y_test=Y2[:4], progress=False)


def test_tensor_data_trains_exactly_as_arrays_do():
    runs = []
    for X, y in [(X2, Y2), (gc.tensor(X2), gc.tensor(Y2))]:
        model = classifier()
        runs.append(fit(model, X, y, sgd(model), steps=4, batch_size=8, seed=0, progress=False))
    assert runs[0].loss == runs[1].loss and runs[0].train_accuracy == runs[1].train_accuracy


# ---------------------------------------------------------------------------
# accuracy

class FixedOutput(nn.Module):
    def __init__(self, outputs):
        self.outputs = np.asarray(outputs, dtype=float)

    def forward(self, x):
        return gc.tensor(self.outputs)


def test_a_single_logit_is_class_1_where_it_is_positive():
    """The logit 0.3 means sigmoid 0.57 > 0.5: class 1 (a threshold of 0.5 on the logit would say 0)."""
    model = FixedOutput([[-0.2], [0.3], [0.7], [-1.0], [0.4]])
    assert accuracy(model, np.zeros((5, 1)), np.array([0, 1, 1, 0, 1])) == 1.0
    assert accuracy(FixedOutput([-0.2, 0.3, 0.7]), np.zeros((3, 1)), [0, 1, 1]) == 1.0   # 1-D output too


def test_accuracy_takes_tensor_labels():
    model = FixedOutput([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    X, y = np.zeros((3, 2)), np.array([1, 0, 0])
    assert accuracy(model, X, gc.tensor(y)) == accuracy(model, X, y) == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------
# Training mode

class ModeRecorder(nn.Module):
    """An identity layer that records, at each forward, whether it was in training mode."""

    def __init__(self):
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


def test_fit_trains_in_training_mode_and_leaves_the_model_in_it():
    """Even a model in eval mode before fit trains in training mode (each training step's forward
    sees training=True, the accuracy's forwards training=False) and ends in it, as a PyTorch loop
    that calls model.train() does."""
    recorder = ModeRecorder()
    gc.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), recorder, nn.Tanh(), nn.Linear(8, 2))
    model.eval()
    fit(model, X2, Y2, sgd(model), steps=3, eval_every=1, progress=False)
    assert recorder.modes == [True, False] * 3
    assert model.training and all(m.training for m in model.modules())


def test_lr_range_test_trains_in_training_mode_and_leaves_the_callers_model_alone():
    recorder = ModeRecorder()
    gc.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), recorder, nn.Tanh(), nn.Linear(8, 2))
    model.eval()
    lr_finder.lr_range_test(model, X2, Y2, lambda p: optim.SGD(p, lr=1e-3), start_lr=1e-4, end_lr=1e-2,
                            steps=4, batch_size=8)
    assert recorder.modes == [] and not model.training       # the caller's model was deep-copied
    seen = []
    def factory():
        recorder = ModeRecorder()
        seen.append(recorder)
        return nn.Sequential(nn.Linear(2, 2), recorder).eval()
    lr_finder.lr_range_test(factory, X2, Y2, lambda p: optim.SGD(p, lr=1e-3), start_lr=1e-4, end_lr=1e-2,
                            steps=4, batch_size=8)
    assert seen[0].modes == [True] * 4


# ---------------------------------------------------------------------------
# Schedules that react to the loss

@pytest.mark.parametrize("make", [lambda: ReduceLROnPlateau(0.5, factor=0.5, patience=1),
                                  lambda: BoldDriver(0.1, increase=1.2, decrease=0.5)],
                         ids=["ReduceLROnPlateau", "BoldDriver"])
def test_fit_steps_a_loss_driven_schedule_with_each_steps_loss(make):
    model = classifier()
    history = fit(model, X2, Y2, sgd(model, lr=123.0), steps=30, batch_size=4, schedule=make(),
                  seed=0, progress=False)
    replay = make()                       # the same schedule, fed the recorded minibatch losses
    expected = [replay.lr] + [replay.step(loss) for loss in history.loss[:-1]]
    assert history.lr == expected
    assert len(set(history.lr)) > 1, "the losses should have moved the rate"


# ---------------------------------------------------------------------------
# Divergence past a multiple of the first loss

def scripted_loss(factors):
    """mse times factors[k] at the k-th call: a loss curve we choose, with the real gradients."""
    calls = iter(factors)
    return lambda output, target: F.mse_loss(output, target) * next(calls)


def regression_fit(factors, **kwargs):
    gc.manual_seed(0)
    model = nn.Linear(2, 1)
    X = np.random.default_rng(0).standard_normal((16, 2))
    y = X @ np.array([[1.0], [-1.0]])
    return fit(model, X, y, optim.SGD(model.parameters(), lr=1e-3), steps=len(factors), batch_size=16,
               loss=scripted_loss(factors), progress=False, **kwargs)


def test_a_loss_that_explodes_and_comes_back_is_reported_as_divergence():
    factors = [1.0, 1.0, 1.0, 1e18, 1.0, 1.0]           # up to 1e18 times the loss, then back
    history = regression_fit(factors)
    first = history.loss[0]
    assert history.diverged and history.diverged_at == 4 and len(history.loss) == 3
    assert history.message.startswith("loss 4.8") and "e+17 at step 4 is more than 10000x the first step's " \
        f"{first:.3g}" in history.message, history.message


def test_brief_spikes_of_100x_do_not_stop_a_run_and_the_factor_is_an_argument():
    factors = [1.0, 100.0, 1.0, 100.0, 1.0]
    assert regression_fit(factors).message == "finished"
    stopped = regression_fit(factors, diverge_factor=10)
    assert stopped.diverged_at == 2 and "more than 10x the first step's" in stopped.message
    assert regression_fit([1.0, 1.0, 1e18, 1.0], diverge_factor=math.inf).message == "finished"


# ---------------------------------------------------------------------------
# The range test's suggestion rule

def test_suggest_is_the_minimum_over_10_and_steepest_skips_the_first_tenth():
    lrs = np.geomspace(1e-5, 1.0, 51)                 # 10 points per decade
    x = np.log10(lrs)
    smoothed = 2.0 - np.tanh(2 * (x + 3)) + np.where(x > -1, 50 * (x + 1) ** 2, 0)
    smoothed[:5] = 6.0 - 0.7 * np.arange(5)           # a steeper fall inside the first tenth: ignored
    suggestion, min_loss_lr, steepest_lr = lr_finder.suggest(lrs, smoothed)
    assert min_loss_lr == lrs[40] == pytest.approx(0.1)                  # the lowest point
    assert suggestion == min_loss_lr / 10
    assert steepest_lr == lrs[20] == pytest.approx(1e-3)                 # the tanh's steepest point
