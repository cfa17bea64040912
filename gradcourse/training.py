"""A small training loop with a progress bar, that stops and explains when a run diverges.

    history = fit(model, X, y, optimizer=optim.Adam(model.parameters()), steps=300)
    history.loss[-1], history.diverged_at, history.message

Every chapter trains with this loop, so its behaviour is tested once here: minibatches from
`data.batches`, an optional schedule writing `optimizer.lr` before each step, optional gradient
clipping, an optional `diagnostics.GradientFlow` recorder, and a record of what happened.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from .autograd import no_grad, tensor
from .data import batches
from .optim import clip_grad_norm_, grad_norm

LOSSES = F.LOSSES


@dataclass
class History:
    """What one training run did, step by step.

    `loss`, `lr` and `grad_norm` have one entry per completed step (grad_norm: the total gradient
    norm before clipping). `eval_steps` lists the steps at which `train_accuracy` (and, when test
    data was given, `test_accuracy`) were measured. `diverged_at` is the step whose loss or
    gradient was not finite (None if the run finished), and `message` says why in words.
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
        """The mean training loss over the `last` steps: one number less noisy than the last step's."""
        return float(np.mean(self.loss[-last:]))

    def steps_to(self, target_loss, window=10):
        """First step at which the running mean loss (over `window` steps) is <= target, or None."""
        if len(self.loss) < window:
            return None
        running = np.convolve(self.loss, np.ones(window) / window, mode="valid")
        below = np.flatnonzero(running <= target_loss)
        return int(below[0]) + window if below.size else None


def accuracy(model, X, y):
    """Fraction of rows of X whose largest output is the label in y (evaluated without a graph)."""
    with no_grad():
        logits = model(tensor(X)).data
    if logits.ndim == 2 and logits.shape[1] == 1:  # one logit: binary classification
        predictions = (logits[:, 0] > 0).astype(int)
    else:
        predictions = logits.argmax(axis=1)
    return float(np.mean(predictions == np.asarray(y)))


def fit(model, X, y, optimizer, steps, batch_size=64, loss="cross_entropy", schedule=None,
        clip_norm=None, flow=None, X_test=None, y_test=None, eval_every=None, progress=True,
        seed=None):
    """Train `model` for `steps` minibatch steps and return a `History`.

    loss:       "cross_entropy" (integer labels), "mse", "bce_with_logits", or a callable
                loss(output, target) -> scalar Tensor.
    schedule:   a callable step -> lr (from `gradcourse.schedules`), written into
                `optimizer.lr` before every step; None keeps the optimiser's rate.
    clip_norm:  if set, `clip_grad_norm_(params, clip_norm)` before every step.
    flow:       a `diagnostics.GradientFlow` whose `record(lr)` is called after every backward.
    eval_every: measure the accuracy (classification losses only) every this many steps and
                after the last; None: about ten times per run; 0: never (saves a pass over the
                whole data set, which on a deep net costs as much as several steps).
    progress:   a progress bar in a notebook (nothing is printed outside one).
    A non-finite loss or gradient stops the run; `History.message` says where it appeared.
    """
    _check_fit_arguments(X, y, steps, batch_size, clip_norm)
    loss_fn = _loss_function(loss)
    history = History()
    bar = ProgressBar(steps, enabled=progress)
    if eval_every is None:
        eval_every = max(1, steps // 10)
    elif not isinstance(eval_every, (int, np.integer)) or eval_every < 0:
        raise ValueError(f"eval_every must be a non-negative integer (0: never) or None, got {eval_every!r}")
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported in `message`
        for step, (xb, yb) in zip(range(1, steps + 1), _endless_batches(X, y, batch_size, seed)):
            if schedule is not None:
                optimizer.lr = schedule(step - 1)
            if not _train_step(model, xb, yb, loss_fn, optimizer, clip_norm, flow, history, step):
                break
            if eval_every and (step % eval_every == 0 or step == steps):
                _evaluate(model, X, y, X_test, y_test, history, step, loss)
            bar.update(step, history.loss[-1])
    bar.close(history)
    return history


def _train_step(model, xb, yb, loss_fn, optimizer, clip_norm, flow, history, step):
    """One forward, backward and update; False (with the reason recorded) if the run diverged.

    The gradients are cleared just before the backward pass rather than first thing, so that
    when the loss itself is no longer finite the previous step's gradients are still there to
    say which layer was blowing up.
    """
    loss = loss_fn(model(tensor(xb)), yb)
    value = loss.item()
    if not math.isfinite(value):
        return _diverged(history, f"loss became {value} at step {step}", model, f"at step {step - 1}")
    optimizer.zero_grad()
    loss.backward()
    if flow is not None:
        flow.record(optimizer.lr)
    norm = grad_norm(optimizer.params)
    if not math.isfinite(norm):
        return _diverged(history, f"the gradient norm overflowed at step {step}", model, "")
    if clip_norm:
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
    for name, p in model.named_parameters():
        if p.grad is not None and not np.all(np.isfinite(p.grad)):
            return _layer_name(name)
    return None


def largest_gradient(model):
    """'layer blocks.11.0 weight (largest entry 3.2e+153)': where the gradient is largest, or None."""
    sizes = [(float(np.max(np.abs(p.grad))), name) for name, p in model.named_parameters()
             if p.grad is not None and p.grad.size]
    if not sizes:
        return None
    size, name = max(sizes)
    return f"{_layer_name(name)} (largest entry {size:.2g})"


def _evaluate(model, X, y, X_test, y_test, history, step, loss):
    if loss not in ("cross_entropy", "bce_with_logits"):
        return
    was_training = model.training
    model.eval()
    history.eval_steps.append(step)
    history.train_accuracy.append(accuracy(model, X, y))
    if X_test is not None:
        history.test_accuracy.append(accuracy(model, X_test, y_test))
    model.train(was_training)


def _endless_batches(X, y, batch_size, seed):
    rng_seed = seed
    while True:
        yield from batches(X, y, batch_size, shuffle=True, seed=rng_seed)
        rng_seed = None if seed is None else rng_seed + 1


def _loss_function(loss):
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)} or a callable")
    return LOSSES[loss]


def _check_fit_arguments(X, y, steps, batch_size, clip_norm):
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples, got {len(X)} and {len(y)}")
    if not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be > 0 (or None for no clipping), got {clip_norm!r}")


class ProgressBar:
    """An ipywidgets progress bar with the current loss, shown only inside a notebook kernel."""

    def __init__(self, total, enabled=True, description="training"):
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
