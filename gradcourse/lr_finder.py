"""The learning-rate range test: raise the rate step by step and watch where the loss turns.

Smith (2017), "Cyclical Learning Rates for Training Neural Networks", section 3.3, in the form
fastai's `lr_find` and the `torch-lr-finder` package made popular:

    result = lr_range_test(lambda: nn.MLP(64, 32, 10, 4), X, y,
                           optimizer_fn=lambda params: optim.SGD(params, lr=1e-6))
    result.suggestion, result.lrs, result.smoothed

One short run, one minibatch per step, with the rate growing geometrically from `start_lr` to
`end_lr`. While the rate is tiny the loss barely moves; then it falls; then the rate becomes too
large and the loss shoots up. The test stops there (the smoothed loss exceeds `diverge_factor`
times its best value, or becomes non-finite). The caller's model is never changed: the test
trains a fresh model from a factory, or a deep copy of a given model.
"""
import copy
import math
from dataclasses import dataclass

import numpy as np

from . import functional as F
from . import validation as check
from .autograd import tensor
from .data import check_batching, check_samples
from .nn import Module, check_module
from .optim import check_optimizer
from .training import _endless_batches, check_batch_rows, check_diverge_factor, check_seed


@dataclass
class LRRangeResult:
    """The rates tried and the losses seen, one entry per step that was run.

    `losses`: the raw minibatch losses; `smoothed`: their bias-corrected exponential moving
    average (what is plotted and searched). `suggestion`: min_loss_lr / 10, see `suggest`.
    `steepest_lr`: the rate where the smoothed loss falls fastest per decade (fastai's other
    suggestion, reported for comparison). `stopped_early`: True if the loss diverged.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    min_loss_lr: float
    steepest_lr: float
    stopped_early: bool
    message: str


def lr_range_test(model, X, y, optimizer_fn, start_lr=1e-6, end_lr=10.0, steps=100, batch_size=64,
                  loss="cross_entropy", smooth=0.98, diverge_factor=4.0, seed=None, drop_last=False):
    """Run the range test and return an `LRRangeResult`.

    model:         a function () -> Module (a fresh model is built), or a Module (a deep copy is
                   trained; the caller's model and its gradients are left as they were).
    optimizer_fn:  params -> optimiser, e.g. `lambda p: optim.Adam(p)`; its `lr` is overwritten.
                   What it returns must be an optimiser holding (some of) those params.
    lrs:           start_lr * (end_lr / start_lr) ** (k / (steps - 1)), k = 0 .. steps - 1.
    smooth:        beta of the moving average  avg_k = beta avg_{k-1} + (1 - beta) loss_k,
                   smoothed_k = avg_k / (1 - beta^(k+1)); 0 means no smoothing. The average
                   spans ~1 / (1 - beta) steps (50 at 0.98), so it lags behind the raw loss:
                   with 100 steps, 0.9 or less shows the minimum nearer where it really is.
    Stops early once smoothed_k > diverge_factor * min(smoothed) or a loss is not finite
    (diverge_factor: a number > 1 as in `training.fit`; inf: only a non-finite loss stops it).
    loss:          a name in `functional.LOSSES` or a callable, as in `training.fit`.
    The model trains in training mode (`train()`), as in `training.fit`, even if the given
    Module was in eval mode.
    batch_size, drop_last: as in `training.fit`; as there, a batch of one row for a model holding
                   a BatchNorm1d is refused before the test runs (ValueError naming batch_size).
    """
    X, y = check_samples(X, y, "lr_range_test", min_ndim=2, finite=True)
    _check_arguments(start_lr, end_lr, steps, smooth, diverge_factor)
    batch_size, drop_last = check_batching(len(X), batch_size, drop_last, "lr_range_test")
    check_seed(seed, "lr_range_test")
    check.require(callable(optimizer_fn), "optimizer_fn", optimizer_fn,
                  "a function params -> optimiser, e.g. lambda p: optim.SGD(p, lr=1e-6)", "lr_range_test", TypeError)
    loss_fn = F.loss_function(loss, "lr_range_test")
    net = copy.deepcopy(model) if isinstance(model, Module) else _build(model)
    check_batch_rows(net, len(X), batch_size, drop_last, steps, "lr_range_test")
    net.train()
    optimizer = check_optimizer(optimizer_fn(net.parameters()), "lr_range_test", net, name="optimizer_fn(params)")
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / max(steps - 1, 1))
    losses, smoothed = [], []
    average, best, message = 0.0, math.inf, "reached end_lr"
    with np.errstate(over="ignore", invalid="ignore"):
        for k, (xb, yb) in zip(range(steps), _endless_batches(X, y, batch_size, seed, drop_last)):
            optimizer.lr = lrs[k]
            optimizer.zero_grad()
            value = loss_fn(net(tensor(xb)), yb)
            loss_k = value.item()
            if not math.isfinite(loss_k):
                message = f"stopped at lr {lrs[k]:.3g}: the loss became {loss_k}"
                break
            value.backward()
            average = smooth * average + (1 - smooth) * loss_k
            losses.append(loss_k)
            smoothed.append(average / (1 - smooth ** (k + 1)))
            best = min(best, smoothed[-1])
            if smoothed[-1] > diverge_factor * best:
                message = f"stopped at lr {lrs[k]:.3g}: the smoothed loss passed {diverge_factor:g} x its best"
                break
            try:
                optimizer.step()
            except FloatingPointError:
                message = f"stopped at lr {lrs[k]:.3g}: the gradient became non-finite"
                break
    n = len(losses)
    if n < 2:
        raise FloatingPointError(f"the range test diverged at its first step ({message}); lower start_lr")
    lrs, losses, smoothed = lrs[:n], np.array(losses), np.array(smoothed)
    suggestion, min_loss_lr, steepest_lr = suggest(lrs, smoothed)
    return LRRangeResult(lrs, losses, smoothed, suggestion, min_loss_lr, steepest_lr,
                         stopped_early=message != "reached end_lr", message=message)


def suggest(lrs, smoothed):
    """(suggestion, min_loss_lr, steepest_lr) from a range test's rates and smoothed losses.

    The suggestion is the rate of the lowest smoothed loss divided by 10. At the minimum the rate
    is already about as large as training tolerates (a little further the loss rises), so one
    decade below it is a rate on the falling part of the curve that still makes fast progress
    (the rule of thumb of Smith 2017 and fastai). We prefer it to the steepest point because
    that point comes from differentiating a noisy curve, and it moves a lot between runs.
    steepest_lr is where d(smoothed) / d(log10 lr) is most negative, leaving out the first tenth
    of the steps (there the moving average has seen only a few, noisy, losses) and any slope next
    to an infinite loss. A NaN loss is a ValueError: +inf, not nan, marks a diverged step.
    """
    lrs, smoothed = _check_curve(lrs, smoothed)
    min_loss_lr = float(lrs[int(np.argmin(smoothed))])
    skip = len(lrs) // 10
    with np.errstate(invalid="ignore", over="ignore"):  # next to an infinite loss the slope is not finite
        slope = np.gradient(smoothed, np.log10(lrs))[skip:]
    slope = np.where(np.isfinite(slope), slope, np.inf)
    steepest_lr = float(lrs[skip + int(np.argmin(slope))])
    return min_loss_lr / 10, min_loss_lr, steepest_lr


def _check_curve(lrs, smoothed):
    """Both as float arrays: lrs 1-D, >= 2 increasing finite positive rates; smoothed as long, without
    nan (the minimum of a curve holding nan is not defined: argmin would pick the nan); +inf, a
    diverged step, is allowed and is never the minimum."""
    lrs = check.real_array("lrs", lrs, "suggest", allow_bool=False)
    smoothed = check.real_array("smoothed", smoothed, "suggest", allow_bool=False)
    check.require(lrs.ndim == 1 and len(lrs) >= 2, "lrs", lrs, "a 1-D array of at least 2 rates", "suggest")
    check.require(bool(np.all(np.isfinite(lrs) & (lrs > 0))), "lrs", lrs,
                  "finite positive rates (the slope is taken over log10 lr)", "suggest")
    check.require(bool(np.all(np.diff(lrs) > 0)), "lrs", lrs, "increasing rates (as a range test tries them)",
                  "suggest")
    check.require(smoothed.shape == lrs.shape, "smoothed.shape", smoothed.shape,
                  f"lrs.shape = {lrs.shape} (one loss per rate)", "suggest")
    check.require(not np.isnan(smoothed).any() and bool(np.isfinite(smoothed).any()), "smoothed", smoothed,
                  "losses without nan, at least one finite (+inf marks a diverged step)", "suggest")
    return lrs, smoothed


def _build(factory):
    where = "lr_range_test"
    check.require(callable(factory), "model", factory, "a Module or a function returning one", where, TypeError)
    net = factory()
    check_module("model()", net, where)
    return net


def _check_arguments(start_lr, end_lr, steps, smooth, diverge_factor, where="lr_range_test"):
    start_lr = check.positive("start_lr", start_lr, where)
    end_lr = check.number("end_lr", end_lr, f"a number > start_lr = {start_lr:g}", where)
    check.require(end_lr > start_lr, "end_lr", end_lr, f"a number > start_lr = {start_lr:g}", where)
    check.integer("steps", steps, "an integer >= 2", where, minimum=2)
    check.in_range("smooth", smooth, 0.0, 1.0, where, high_closed=False)
    check_diverge_factor(diverge_factor, where)
