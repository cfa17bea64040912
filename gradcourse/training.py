"""A small training loop with a progress bar, that stops and explains when a run diverges.

    history = fit(model, X, y, optimizer=optim.Adam(model.parameters()), steps=300)
    history.loss[-1], history.diverged_at, history.message

Every chapter trains with this loop, so its behaviour is tested once here: minibatches from
`data.batches`, an optional schedule writing `optimizer.lr` before each step (a function of the
step, or one driven by the loss), optional gradient clipping, an optional
`diagnostics.GradientFlow` recorder, and a record of what happened, including where a run
diverged (a loss that is not finite, or far above the first step's).
"""
import contextlib
import math
from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from . import validation as check
from .autograd import no_grad, tensor
from .data import batches, check_batching, check_samples, smallest_batch
from .nn import BatchNorm1d, check_module
from .optim import check_clip_threshold, check_optimizer, clip_grad_norm_, grad_norm
from .schedules import LossDrivenSchedule, checked_lr


@dataclass
class History:
    """What one training run did, step by step.

    `loss`, `lr` and `grad_norm` have one entry per completed step (grad_norm: the total gradient
    norm before clipping). `eval_steps` lists the steps at which `train_accuracy` (and, when test
    data was given, `test_accuracy`) were measured. `diverged_at` is the step whose loss or
    gradient was not finite, or whose loss passed `diverge_factor` times the first step's (None if
    the run finished), and `message` says why in words.
    """

    loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    diverged_at: int = None
    message: str = "finished"

    @property
    def diverged(self):
        return self.diverged_at is not None

    def final_loss(self, last=10):
        """The mean training loss over the `last` steps: one number less noisy than the last step's.

        `last` is a positive integer (all the steps when there are fewer); a history without a
        step has no final loss (ValueError, rather than the nan of an empty mean).
        """
        last = check.positive_int("last", last, "History.final_loss")
        check.require(len(self.loss) > 0, "len(loss)", 0, "at least 1 (the run recorded no step)",
                      "History.final_loss")
        return float(np.mean(self.loss[-last:]))

    def steps_to(self, target_loss, window=10):
        """First step at which the running mean loss (over `window` steps) is <= target, or None."""
        window = check.positive_int("window", window, "History.steps_to")
        target_loss = check.number("target_loss", target_loss, where="History.steps_to")
        if len(self.loss) < window:
            return None
        running = np.convolve(self.loss, np.ones(window) / window, mode="valid")
        below = np.flatnonzero(running <= target_loss)
        return int(below[0]) + window if below.size else None


def accuracy(model, X, y):
    """Fraction of rows of X whose predicted class is the label in y (evaluated without a graph).

    The model is evaluated in eval mode, as `fit` measures it, and every module is then put back
    in the mode it was in (also after an error): a BatchNorm1d normalises with its running
    statistics and leaves them unchanged, and a single row can be classified. (PyTorch leaves
    the mode to the caller, who writes model.eval() before measuring.)

    The predicted class is the largest output; with a single output (binary classification with
    `bce_with_logits`) it is 1 where the logit is > 0, i.e. where sigmoid(logit) > 0.5.
    X and y may be arrays or Tensors: X finite, at least 2-D (samples, features) as `fit` takes it,
    with at least one row; y one integer class label per row (a 1-D array of numbers; one-hot rows
    are a ValueError: pass y.argmax(axis=1)).
    Outputs holding nan or inf (a diverged model) are a ValueError: no class is the largest.
    """
    check_module("model", model, "accuracy")
    X, y = check_samples(X, y, "accuracy", min_ndim=2, finite=True)
    y = _check_labels(y, "y", "accuracy")
    with _eval_mode(model):
        logits = _outputs(model, X)
    check.require(np.isfinite(logits).all(), "model(X)", "outputs holding nan or inf",
                  "finite (the model has diverged: no class is the largest)", "accuracy")
    return _fraction_correct(logits, y)


def _check_labels(y, name, where):
    """Class labels as a 1-D array: integer-valued numbers (bools count as 0 and 1), of shape
    (samples,) or (samples, 1) (a column of binary targets, as bce_with_logits takes them)."""
    check.require(y.dtype.kind in "biuf", name, y.dtype, "an array of integer class labels", where, TypeError)
    check.require(y.ndim == 1 or y.ndim == 2 and y.shape[1] == 1, f"{name}.shape", y.shape,
                  "(samples,): one class label per sample (one-hot rows: pass y.argmax(axis=1))", where)
    check.require(bool(np.all(y == np.round(y))), name, y, "integer class labels", where)
    return y.reshape(len(y))


def _outputs(model, X):
    with no_grad():
        return model(tensor(X)).data


@contextlib.contextmanager
def _eval_mode(model):
    """Eval mode for a measurement, then every module back in its own mode (also after an error)."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def _fraction_correct(logits, y):
    y = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    if logits.ndim == 1 or logits.shape[1] == 1:  # one logit: binary classification
        predictions = (logits.reshape(len(logits)) > 0).astype(int)
    else:
        predictions = logits.argmax(axis=1)
    return float(np.mean(predictions == y))


def fit(model, X, y, optimizer, steps, batch_size=64, loss="cross_entropy", schedule=None,
        clip_norm=None, flow=None, X_test=None, y_test=None, eval_every=None, progress=True,
        seed=None, diverge_factor=1e4, drop_last=False):
    """Train `model` for `steps` minibatch steps and return a `History`.

    X, y:       arrays (or Tensors) with one row per sample, X at least 2-D and all finite (so are
                X_test, y_test, the held-out data for `test_accuracy`).
    loss:       "cross_entropy" (integer labels), "mse", "bce_with_logits" (the names in
                `functional.LOSSES`), or a callable loss(output, target) -> scalar Tensor
                (`functional.loss_function` resolves it). The accuracy is measured for the
                classification losses, `functional.CLASSIFICATION_LOSSES`.
    schedule:   a step-driven schedule, a callable step -> lr (e.g. `schedules.CosineAnnealing`),
                written into `optimizer.lr` before every step; or a loss-driven schedule
                (`schedules.ReduceLROnPlateau`, `BoldDriver`), whose rate is written before every
                step and which is then stepped with that step's minibatch loss, so its `patience`
                counts steps, not epochs. None keeps the optimiser's rate.
    clip_norm:  None (no clipping) or a number > 0, the rule of `optim.check_clip_threshold` (inf:
                never clips): `clip_grad_norm_(params, clip_norm)` before every step.
    flow:       a `diagnostics.GradientFlow` whose `record(lr)` is called after every backward.
    eval_every: measure the accuracy (classification losses only) every this many steps and
                after the last; None: about ten times per run; 0: never (saves a pass over the
                whole data set, which on a deep net costs as much as several steps).
    progress:   a progress bar in a notebook (nothing is printed outside one).
    diverge_factor: the run counts as diverged when a step's loss exceeds this multiple of the
                first step's loss (math.inf: only a non-finite loss or gradient counts). The
                default 1e4 sits far above the brief 10-100x spikes of a run at a high but
                workable rate, which then recovers, and far below a real explosion, where the loss
                grows by many orders of magnitude within a few steps (and may later fall back to
                chance level, which a final loss alone would not reveal).
    The optimiser must hold at least one of the model's parameters (ValueError otherwise: one built
    from another model would leave this one untouched); holding only some is fine.
    seed:       None (the shared generator) or a non-negative integer for the batch order.
    batch_size, drop_last: as in `data.batches` (PyTorch's DataLoader options): drop_last=True
                leaves out each epoch's smaller last batch. A model holding a BatchNorm1d cannot
                take a batch of one row in training mode: when one of the run's batches would have
                one row (e.g. step 2 of 17 samples in batches of 16), fit raises a ValueError
                before training, naming batch_size (PyTorch fails too, at that step, mid-run).
    A diverged run stops there; `History.message` says where it happened. As in a PyTorch
    training loop, the model is put in training mode (`model.train()`) for the steps and is left
    in it, also when it was in eval mode before; the accuracy is measured in eval mode.
    """
    check_module("model", model, "fit")
    X, y = check_samples(X, y, "fit", min_ndim=2, finite=True)
    check_optimizer(optimizer, "fit", model)
    steps, clip_norm, eval_every, diverge_factor = _check_fit_arguments(steps, clip_norm, eval_every, diverge_factor)
    batch_size, drop_last = check_batching(len(X), batch_size, drop_last, "fit")
    check_batch_rows(model, len(X), batch_size, drop_last, steps, "fit")
    progress = check.boolean("progress", progress, "fit")
    check_seed(seed, "fit")
    check.require(flow is None or callable(getattr(flow, "record", None)), "flow", flow,
                  "None or a diagnostics.GradientFlow (something with record(lr))", "fit", TypeError)
    if eval_every is None:
        eval_every = max(1, steps // 10)
    check.require((X_test is None) == (y_test is None), "y_test" if y_test is None else "X_test", None,
                  "given with " + ("X_test" if y_test is None else "y_test") + " (both or neither)", "fit")
    if X_test is not None:
        X_test, y_test = check_samples(X_test, y_test, "fit", min_ndim=2, finite=True, names=("X_test", "y_test"))
        if _measures_accuracy(loss):  # y_test is used only for the test accuracy
            y_test = _check_labels(y_test, "y_test", "fit")
    loss_fn = F.loss_function(loss, "fit")
    set_lr, after_step = _schedule_hooks(schedule, optimizer)
    history = History()
    bar = ProgressBar(steps, enabled=progress)
    model.train()
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported in `message`
        for step, (xb, yb) in zip(range(1, steps + 1), _endless_batches(X, y, batch_size, seed, drop_last)):
            set_lr(step - 1)
            if not _train_step(model, xb, yb, loss_fn, optimizer, clip_norm, flow, history, step,
                               diverge_factor):
                break
            after_step(history.loss[-1])
            if eval_every and (step % eval_every == 0 or step == steps):
                _evaluate(model, X, y, X_test, y_test, history, step, loss)
            bar.update(step, history.loss[-1])
    bar.close(history)
    return history


def _schedule_hooks(schedule, optimizer):
    """(set_lr(t) before step t + 1, after_step(loss)) for no schedule, a callable step -> lr, or a
    `schedules.LossDrivenSchedule` (ReduceLROnPlateau, BoldDriver: stepped with each step's loss)."""
    if schedule is None:
        return (lambda t: None), (lambda loss: None)
    if isinstance(schedule, LossDrivenSchedule):
        def set_lr(t):
            optimizer.lr = schedule.lr
        return set_lr, schedule.step
    if callable(schedule):
        def set_lr(t):
            optimizer.lr = checked_lr(schedule(t), f"lr = schedule({t})", "fit")
        return set_lr, (lambda loss: None)
    check.fail("schedule", schedule, "a callable step -> lr (e.g. schedules.CosineAnnealing) or a loss-driven "
               "schedule (schedules.ReduceLROnPlateau, BoldDriver)", "fit", TypeError)


def _train_step(model, xb, yb, loss_fn, optimizer, clip_norm, flow, history, step, diverge_factor=math.inf):
    """One forward, backward and update; False (with the reason recorded) if the run diverged.

    It diverged when the loss is not finite, or is more than `diverge_factor` times the first
    step's loss, or the gradient norm overflowed; the parameters are then not updated.
    The gradients are cleared just before the backward pass rather than first thing, so that
    when the loss itself is no longer finite the previous step's gradients are still there to
    say which layer was blowing up.
    """
    loss = loss_fn(model(tensor(xb)), yb)
    value = loss.item()
    if not math.isfinite(value):
        return _diverged(history, f"loss became {value} at step {step}", model, f"at step {step - 1}")
    if history.loss and value > diverge_factor * history.loss[0] > 0:
        return _diverged(history, f"loss {value:.3g} at step {step} is more than {diverge_factor:g}x the "
                         f"first step's {history.loss[0]:.3g}", model, f"at step {step - 1}")
    optimizer.zero_grad()
    loss.backward()
    if flow is not None:
        flow.record(optimizer.lr)
    norm = grad_norm(optimizer.params)
    if not math.isfinite(norm):
        return _diverged(history, f"the gradient norm overflowed at step {step}", model, "")
    if clip_norm is not None:
        clip_grad_norm_(optimizer.params, clip_norm)
    optimizer.step()
    history.loss.append(value)
    history.lr.append(float(optimizer.lr))
    history.grad_norm.append(norm)
    return True


def _diverged(history, what, model, when):
    history.diverged_at = len(history.loss) + 1
    culprit, largest = first_nonfinite_gradient(model), largest_gradient(model)
    if culprit:
        what += f"; first non-finite gradient in {culprit}"
    elif largest:
        what += f"; the largest parameter-gradient entry{' ' + when if when else ''} was in {largest}"
    history.message = what
    return False


def _layer_name(parameter_name):
    layer, _, kind = parameter_name.rpartition(".")
    return f"layer {layer} {kind}" if layer else parameter_name


def first_nonfinite_gradient(model):
    """Name of the first parameter (input side first) whose gradient holds nan or inf, or None."""
    check_module("model", model, "first_nonfinite_gradient")
    for name, p in model.named_parameters():
        if p.grad is not None and not np.all(np.isfinite(p.grad)):
            return _layer_name(name)
    return None


def largest_gradient(model):
    """'layer blocks.11.0 weight (largest entry 3.2e+153)': where the gradient is largest, or None.

    A gradient holding nan is a ValueError (it has no largest entry: see first_nonfinite_gradient).
    """
    check_module("model", model, "largest_gradient")
    check.require(_no_nan_gradient(model), "model", model,
                  "a model whose gradients hold no nan (see first_nonfinite_gradient)", "largest_gradient")
    sizes = [(float(np.max(np.abs(p.grad))), name) for name, p in model.named_parameters()
             if p.grad is not None and p.grad.size]
    if not sizes:
        return None
    size, name = max(sizes)
    return f"{_layer_name(name)} (largest entry {size:.2g})"


def _no_nan_gradient(model):
    return not any(p.grad is not None and np.isnan(p.grad).any() for p in model.parameters())


def check_seed(seed, where):
    """None or a non-negative integer (checked here so that the error names the caller)."""
    if seed is not None:
        check.non_negative_int("seed", seed, where)
    return seed


def _evaluate(model, X, y, X_test, y_test, history, step, loss):
    """Accuracy in eval mode, then back to the mode the model was in (training, during fit)."""
    if not _measures_accuracy(loss):
        return
    with _eval_mode(model):
        history.eval_steps.append(step)
        history.train_accuracy.append(_accuracy_or_nan(model, X, y))
        if X_test is not None:
            history.test_accuracy.append(_accuracy_or_nan(model, X_test, y_test))


def _measures_accuracy(loss):
    return isinstance(loss, str) and loss in F.CLASSIFICATION_LOSSES


def _accuracy_or_nan(model, X, y):
    """fit's record of the accuracy: nan when the model's outputs are not finite (no class is the
    largest), so a run that is blowing up shows it instead of a number from argmax over nan."""
    logits = _outputs(model, X)
    return _fraction_correct(logits, y) if np.isfinite(logits).all() else math.nan


def _endless_batches(X, y, batch_size, seed, drop_last=False):
    """Shuffled minibatches, epoch after epoch (each epoch draws a batch: `batches` checks it)."""
    rng_seed = seed
    while True:
        yield from batches(X, y, batch_size, shuffle=True, seed=rng_seed, drop_last=drop_last)
        rng_seed = None if seed is None else rng_seed + 1


def _check_fit_arguments(steps, clip_norm, eval_every, diverge_factor):
    steps = check.positive_int("steps", steps, "fit")
    clip_norm = check_clip_threshold("clip_norm", clip_norm, "fit", optional=True)
    if eval_every is not None:
        eval_every = check.non_negative_int("eval_every", eval_every, "fit")
    return steps, clip_norm, eval_every, check_diverge_factor(diverge_factor, "fit")


def check_batch_rows(model, n, batch_size, drop_last, steps, where):
    """ValueError, before training, if `model` holds a BatchNorm1d and one of the first `steps`
    batches drawn from n samples would have one row: in training mode BatchNorm cannot estimate a
    variance from one row."""
    step = _first_step_with_one_row(n, batch_size, drop_last)
    if step is None or step > steps or not any(isinstance(m, BatchNorm1d) for m in model.modules()):
        return
    why = "BatchNorm1d cannot normalise a batch of one row in training mode (PyTorch fails too, mid-run)"
    if n == 1:
        check.fail("len(X)", n, f"at least 2 for a model holding a BatchNorm1d: {why}", where)
    if batch_size == 1:
        check.fail("batch_size", batch_size, f"at least 2 for a model holding a BatchNorm1d: {why}", where)
    check.fail("batch_size", batch_size, f"a size leaving no batch of one row for the model's BatchNorm1d: {n} "
               f"samples in batches of {batch_size} leave 1 in each epoch's last batch (first at step {step}), "
               f"and {why}; pass drop_last=True or another batch_size", where)


def _first_step_with_one_row(n, batch_size, drop_last):
    """The first step (1, 2, ...) whose batch of the n samples has one row, or None if none has."""
    if smallest_batch(n, batch_size, drop_last) > 1:
        return None
    return 1 if batch_size == 1 else math.ceil(n / batch_size)  # else: the first epoch's last batch


def check_diverge_factor(diverge_factor, where):
    """The one rule for a divergence threshold (`fit`, `lr_finder.lr_range_test`): a number > 1,
    inf allowed (then only a non-finite loss counts as diverged)."""
    diverge_factor = check.number("diverge_factor", diverge_factor, "a number > 1", where, allow_inf=True)
    check.require(diverge_factor > 1, "diverge_factor", diverge_factor, "a number > 1", where)
    return diverge_factor


class ProgressBar:
    """An ipywidgets progress bar with the current loss, shown only inside a notebook kernel."""

    def __init__(self, total, enabled=True, description="training"):
        total = check.non_negative_int("total", total, "ProgressBar")
        enabled = check.boolean("enabled", enabled, "ProgressBar")
        check.require(isinstance(description, str), "description", description, "a string", "ProgressBar", TypeError)
        self.widget = None
        if enabled and _in_notebook():
            import ipywidgets
            from IPython.display import display
            self.widget = ipywidgets.FloatProgress(value=0, min=0, max=total, description=description)
            self.label = ipywidgets.Label("")
            self.box = ipywidgets.HBox([self.widget, self.label])
            display(self.box)
        self.every = max(1, total // 50)

    def update(self, step, loss):
        if step % self.every == 0:
            self.show(step, f"step {step}, loss {loss:.4g}")

    def show(self, done, text):
        if self.widget is not None:
            self.widget.value = done
            self.label.value = text

    def close(self, history):
        if self.widget is None:
            return
        self.widget.value = len(history.loss)
        self.widget.bar_style = "danger" if history.diverged else "success"
        last = f", loss {history.loss[-1]:.4g}" if history.loss else ""
        self.label.value = history.message if history.diverged else f"done: {len(history.loss)} steps{last}"


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
