"""training.fit and lr_finder.lr_range_test: the data they refuse (no hang on an empty data set),
loss-driven schedules, divergence past a multiple of the first loss, the training mode, the
single-logit accuracy and the range test's suggestion rule."""
import itertools
import math
import signal
from contextlib import contextmanager

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import lr_finder, nn, optim, training
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
    (X2.astype(str), Y2, TypeError, "fit: X must be an array of real numbers"),
    (X2, Y2[:3], ValueError, "fit: len(y) must be len(X) = 20 (one target per sample), got 3"),
])
def test_fit_names_what_is_wrong_with_the_data(X, y, error, message):
    model = classifier()
    with pytest.raises(error) as info:
        fit(model, X, y, sgd(model), steps=2, progress=False)
    assert message in str(info.value)


def test_fit_names_a_model_or_an_optimiser_of_the_wrong_kind():
    model = classifier()
    with pytest.raises(TypeError, match=r"fit: model must be an nn\.Module"):
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


# ---------------------------------------------------------------------------
# Round 2: the optimiser must hold the model's parameters; accuracy's labels; flags and counts

def test_fit_refuses_an_optimiser_holding_none_of_the_models_parameters():
    """Built from another model, it would leave this one untouched and report a flat loss."""
    model = classifier()
    with pytest.raises(ValueError, match="fit: optimizer must be an optimiser holding some of the model's parameters"):
        fit(model, X2, Y2, sgd(classifier(1)), steps=2, progress=False)
    first_layer_only = optim.SGD(model[0].parameters(), lr=0.1)  # training some layers only is fine
    assert len(fit(model, X2, Y2, first_layer_only, steps=2, progress=False).loss) == 2


def test_lr_range_test_refuses_what_optimizer_fn_returns_unless_an_optimiser_of_the_model():
    with pytest.raises(TypeError, match=r"lr_range_test: optimizer_fn\(params\) must be an optimiser"):
        lr_finder.lr_range_test(classifier(), X2, Y2, optimizer_fn=lambda p: None, steps=3)
    other = classifier(1)
    with pytest.raises(ValueError, match=r"lr_range_test: optimizer_fn\(params\) must be an optimiser holding "
                                         r"some of the model's"):
        lr_finder.lr_range_test(classifier(), X2, Y2, optimizer_fn=lambda p: sgd(other), steps=3)


@pytest.mark.parametrize("call, error, message", [
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress="yes"), TypeError, "fit: progress must be True or False"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, seed=-1), ValueError,
     "fit: seed must be a non-negative integer"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, flow=5), TypeError, "fit: flow must be None or"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, X_test=X2), ValueError,
     r"fit: y_test must be given with X_test \(both or neither\)"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, y_test=Y2), ValueError,
     r"fit: X_test must be given with y_test"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, schedule=lambda t: -1.0), ValueError,
     r"fit: lr = schedule\(0\) must be a number >= 0, got -1.0"),
    (lambda m: fit(m, X2, Y2, sgd(m), steps=2, progress=False, schedule=lambda t: math.nan), ValueError,
     r"fit: lr = schedule\(0\) must be a number >= 0, got nan"),
    (lambda m: lr_finder.lr_range_test(m, X2, Y2, lambda p: sgd(m), steps=3, batch_size=0), ValueError,
     "lr_range_test: batch_size must be a positive integer"),
    (lambda m: lr_finder.lr_range_test(m, X2, Y2, lambda p: sgd(m), steps=3, seed="0"), TypeError,
     "lr_range_test: seed must be a non-negative integer"),
    (lambda m: accuracy(5, X2, Y2), TypeError, "accuracy: model must be an nn.Module"),
    (lambda m: accuracy(m, X2, np.eye(2)[Y2]), ValueError,
     r"accuracy: y.shape must be \(samples,\): one class label per sample .*got \(20, 2\)"),
    (lambda m: accuracy(m, X2, np.array(["a"] * 20)), TypeError, "accuracy: y must be an array of real numbers"),
    (lambda m: accuracy(m, X2, Y2 + 0.5), ValueError, "accuracy: y must be integer class labels"),
    (lambda m: accuracy(m, X_NAN, Y2), ValueError, r"accuracy: X\[.*\] must be a finite number"),
    (lambda m: training.first_nonfinite_gradient(5), TypeError, "first_nonfinite_gradient: model must be an nn.Module"),
    (lambda m: training.largest_gradient("m"), TypeError, "largest_gradient: model must be an nn.Module"),
    (lambda m: training.ProgressBar(10, enabled="no"), TypeError, "ProgressBar: enabled must be True or False"),
    (lambda m: training.ProgressBar(-1), ValueError, "ProgressBar: total must be a non-negative integer"),
])
def test_training_names_the_argument_the_caller_passed(call, error, message):
    with pytest.raises(error, match=message):
        call(classifier())


def test_accuracy_refuses_outputs_holding_nan_and_fit_records_nan_for_them():
    model = classifier()
    model[0].weight.data[0, 0] = math.nan
    with pytest.raises(ValueError, match=r"accuracy: model\(X\) must be finite .*got 'outputs holding nan or inf'"):
        accuracy(model, X2, Y2)
    assert math.isnan(training._accuracy_or_nan(model, X2, Y2))


def test_largest_gradient_refuses_a_nan_gradient():
    model = classifier()
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    model[2].bias.grad[0] = math.nan
    with pytest.raises(ValueError, match="largest_gradient: model must be a model whose gradients hold no nan"):
        training.largest_gradient(model)


def test_final_loss_needs_a_positive_count_and_a_step():
    history = training.History(loss=[3.0, 2.0, 1.0])
    assert history.final_loss(2) == 1.5 and history.final_loss(10) == 2.0
    with pytest.raises(ValueError, match="History.final_loss: last must be a positive integer, got 0"):
        history.final_loss(last=0)
    with pytest.raises(TypeError, match="History.final_loss: last must be a positive integer, got 2.5"):
        history.final_loss(last=2.5)
    with pytest.raises(ValueError, match=r"History.final_loss: len\(loss\) must be at least 1"):
        training.History().final_loss()


@pytest.mark.parametrize("smoothed, message", [
    ([1.0, math.nan, 0.5], "suggest: smoothed must be losses without nan"),
    ([math.inf, math.inf, math.inf], "suggest: smoothed must be losses without nan, at least one finite"),
    ([1.0, 0.5], r"suggest: smoothed.shape must be lrs.shape = \(3,\)"),
])
def test_suggest_refuses_a_curve_with_nan_naming_smoothed(smoothed, message):
    with pytest.raises(ValueError, match=message):
        lr_finder.suggest([1e-3, 1e-2, 1e-1], smoothed)


def test_suggest_refuses_rates_that_are_not_finite_numbers():
    with pytest.raises(ValueError, match="suggest: lrs must be finite positive rates"):
        lr_finder.suggest([1e-3, math.nan, 1e-1], [1.0, 0.8, 0.5])
    with pytest.raises(ValueError, match="suggest: lrs must be increasing rates"):
        lr_finder.suggest([1e-3, 1e-3, 1e-1], [1.0, 0.8, 0.5])
    with pytest.raises(TypeError, match="suggest: smoothed must be an array of real numbers"):
        lr_finder.suggest([1e-3, 1e-2], ["a", "b"])


def test_suggest_takes_an_infinite_loss_as_a_diverged_step_never_the_minimum():
    with np.errstate(all="raise"):
        suggestion, min_loss_lr, steepest_lr = lr_finder.suggest([1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.5, 0.7, math.inf])
    assert (min_loss_lr, suggestion) == (1e-2, 1e-3) and steepest_lr in (1e-3, 1e-2)


def test_fit_checks_y_test_as_labels_only_when_it_measures_an_accuracy():
    model = classifier()
    with pytest.raises(ValueError, match=r"fit: y_test.shape must be \(samples,\)"):
        fit(model, X2, Y2, sgd(model), steps=2, X_test=X2, y_test=np.eye(2)[Y2], progress=False)
    regression = nn.Linear(2, 1)
    fit(regression, X2, Y2[:, None] + 0.5, sgd(regression), steps=2, loss="mse", X_test=X2,
        y_test=Y2[:, None] + 0.5, progress=False)


def test_accuracy_takes_a_column_of_binary_labels():
    model = nn.Linear(2, 1)
    assert accuracy(model, X2, Y2[:, None]) == accuracy(model, X2, Y2)


# ---------------------------------------------------------------------------
# Round 3: one rule per argument, shared by fit, lr_range_test and accuracy

def fit_one(**kwargs):
    """fit on the moons with a fresh classifier and an SGD of its own (one step unless told)."""
    model = classifier()
    return fit(model, X2, Y2, sgd(model), **{"steps": 1, **kwargs})


@pytest.mark.parametrize("call", [
    lambda factor: fit_one(progress=False, diverge_factor=factor),
    lambda factor: lr_finder.lr_range_test(classifier, X2, Y2, lambda p: optim.SGD(p, lr=1e-3), steps=2,
                                           diverge_factor=factor),
], ids=["fit", "lr_range_test"])
def test_diverge_factor_has_one_rule_inf_allowed(call):
    with pytest.raises(ValueError, match=r": diverge_factor must be a number > 1, got 1\.0"):
        call(1.0)
    with pytest.raises(TypeError, match=r": diverge_factor must be a number > 1, got '4'"):
        call("4")


def test_lr_range_test_takes_an_infinite_diverge_factor_as_fit_does():
    result = lr_finder.lr_range_test(classifier, X2, Y2, lambda p: optim.SGD(p, lr=1e-3), steps=3,
                                     diverge_factor=math.inf)
    assert len(result.lrs) == 3 and not result.stopped_early


@pytest.mark.parametrize("loss, error", [(["mse"], TypeError), (3, TypeError), ("mean_square", ValueError)])
@pytest.mark.parametrize("where", ["fit", "lr_range_test"])
def test_fit_and_the_range_test_resolve_a_loss_name_alike(loss, error, where):
    with pytest.raises(error, match=rf"{where}: loss must be one of 'cross_entropy', 'mse', 'bce_with_logits' "
                                    r"or a function"):
        if where == "fit":
            fit_one(loss=loss, progress=False)
        else:
            lr_finder.lr_range_test(classifier, X2, Y2, lambda p: optim.SGD(p, lr=1e-3), steps=2, loss=loss)


def test_fit_measures_accuracy_for_the_classification_losses_only():
    assert training._measures_accuracy("cross_entropy") and training._measures_accuracy("bce_with_logits")
    assert not training._measures_accuracy("mse") and not training._measures_accuracy(F.cross_entropy)


def test_accuracy_takes_X_at_least_2d_as_fit_does():
    with pytest.raises(ValueError, match=r"accuracy: X\.shape must be \(samples, features, \.\.\.\): at least 2-D"):
        accuracy(nn.Linear(2, 3), np.zeros(4), np.zeros(4, dtype=int))


def test_fit_refuses_test_data_holding_nan_as_it_refuses_training_data():
    X_test = X2.copy()
    X_test[2, 0] = math.inf
    with pytest.raises(ValueError, match=r"fit: X_test\[2, 0\] must be a finite number .*got inf"):
        fit_one(progress=False, X_test=X_test, y_test=Y2)


@pytest.mark.parametrize("clip_norm, error", [(0, ValueError), (-1.0, ValueError), (math.nan, ValueError),
                                              ("1", TypeError), (True, TypeError)])
def test_fit_clip_norm_has_the_rule_of_clip_grad_norm(clip_norm, error):
    with pytest.raises(error, match=r"fit: clip_norm must be a number > 0, got "):
        fit_one(progress=False, clip_norm=clip_norm)
    with pytest.raises(error, match=r"clip_grad_norm_: max_norm must be a number > 0, got "):
        optim.clip_grad_norm_(classifier().parameters(), clip_norm)


def test_fit_takes_an_infinite_clip_norm_as_no_clipping():
    runs = [fit_one(steps=3, progress=False, seed=0, clip_norm=clip)
            for clip in (None, math.inf)]
    assert runs[0].loss == runs[1].loss


def test_suggest_refuses_bools_for_rates():
    with pytest.raises(TypeError, match=r"suggest: lrs must be an array of real numbers, got \[True, False\]"):
        lr_finder.suggest([True, False], [1.0, 0.5])


# ---------------------------------------------------------------------------
# BatchNorm: accuracy measures in eval mode; a batch of one row is refused before training

def batchnorm_classifier(seed=0):
    gc.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2))


def batchnorm_buffers(model):
    norm = model[1]
    return norm.running_mean.copy(), norm.running_var.copy(), int(norm.num_batches_tracked)


def test_accuracy_measures_in_eval_mode_and_restores_every_modules_mode():
    model = batchnorm_classifier()
    fit(model, X2, Y2, sgd(model), steps=3, batch_size=8, progress=False)   # running statistics != (0, 1)
    model.train()
    model[3].eval()                                     # a mixed mode is restored as it was
    before = batchnorm_buffers(model)
    expected = float(np.mean(model.eval()(gc.tensor(X2)).data.argmax(axis=1) == Y2))
    model.train()
    model[3].eval()
    assert accuracy(model, X2, Y2) == expected           # the running statistics, not the batch's
    assert accuracy(model, X2[:1], Y2[:1]) in (0.0, 1.0)  # one row: BatchNorm in train mode would refuse it
    for saved, now in zip(before, batchnorm_buffers(model)):
        np.testing.assert_array_equal(saved, now)        # running_mean, running_var, num_batches_tracked
    assert [m.training for m in model.modules()] == [True, True, True, True, False]


def test_accuracy_restores_the_mode_after_an_error():
    model = batchnorm_classifier()
    model[1].eval()
    with pytest.raises(ValueError, match=r"linear: input must be \(\.\.\., 2\)"):
        accuracy(model, np.ones((4, 3)), np.zeros(4))  # 3 features for a 2-feature model
    assert [m.training for m in model.modules()] == [True, True, False, True, True]


@pytest.mark.parametrize("where, run", [
    ("fit", lambda model, **kw: fit(model, X2[:17], Y2[:17], sgd(model), steps=3, progress=False, **kw)),
    ("lr_range_test", lambda model, **kw: lr_finder.lr_range_test(model, X2[:17], Y2[:17],
                                                                  lambda p: optim.SGD(p, lr=1e-3), steps=3, **kw)),
], ids=["fit", "lr_range_test"])
def test_a_batch_of_one_row_for_batchnorm_is_refused_before_training_naming_the_fix(where, run):
    """17 rows in batches of 16 leave a last batch of one row, which BatchNorm1d cannot normalise
    in training mode: refused up front (PyTorch fails at that step), and drop_last=True works."""
    model = batchnorm_classifier()
    weight, before = model[0].weight.data.copy(), batchnorm_buffers(model)
    with pytest.raises(ValueError, match=rf"{where}: batch_size must be a size leaving no batch of one row for the "
                                         r"model's BatchNorm1d: 17 samples in batches of 16 leave 1 in each epoch's last batch \(first at step 2\)"
                                         r".* pass "
                                         r"drop_last=True or another batch_size, got 16"):
        run(model, batch_size=16)
    with pytest.raises(ValueError, match=rf"{where}: batch_size must be at least 2 for a model holding a BatchNorm1d"):
        run(model, batch_size=1, drop_last=True)
    np.testing.assert_array_equal(model[0].weight.data, weight)   # nothing trained
    assert batchnorm_buffers(model)[2] == before[2] == 0
    run(model, batch_size=16, drop_last=True)                     # the fix the message names works


def test_a_run_that_stops_before_the_batch_of_one_row_is_not_refused():
    model = batchnorm_classifier()
    assert len(fit(model, X2[:17], Y2[:17], sgd(model), steps=1, batch_size=16, progress=False).loss) == 1


@pytest.mark.parametrize("n, batch_size, drop_last, step", [
    (17, 16, False, 2), (33, 16, False, 3), (17, 1, False, 1), (17, 1, True, 1), (1, 8, False, 1),
    (17, 16, True, None), (18, 16, False, None), (16, 16, False, None),
])
def test_the_first_step_with_a_batch_of_one_row(n, batch_size, drop_last, step):
    drawn = training._endless_batches(np.zeros((n, 1)), np.arange(n), batch_size, 0, drop_last)
    sizes = [len(yb) for _, yb in itertools.islice(drawn, 2 * math.ceil(n / batch_size))]  # two epochs
    assert (sizes.index(1) + 1 if 1 in sizes else None) == step
    assert training._first_step_with_one_row(n, batch_size, drop_last) == step


def test_without_batchnorm_a_batch_of_one_row_is_fine_and_drop_last_is_checked():
    model = classifier()
    assert len(fit(model, X2[:17], Y2[:17], sgd(model), steps=3, batch_size=16, progress=False).loss) == 3
    with pytest.raises(TypeError, match="fit: drop_last must be True or False, got 'yes'"):
        fit(model, X2, Y2, sgd(model), steps=3, drop_last="yes", progress=False)
    with pytest.raises(ValueError, match=r"fit: batch_size must be at most len\(X\) = 20 with drop_last=True"):
        fit(model, X2, Y2, sgd(model), steps=3, batch_size=21, drop_last=True, progress=False)
