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

from .autograd import tensor
from .nn import Module
from .training import _endless_batches, _loss_function


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
                  loss="cross_entropy", smooth=0.98, diverge_factor=4.0, seed=None):
    """Run the range test and return an `LRRangeResult`.

    model:         a function () -> Module (a fresh model is built), or a Module (a deep copy is
                   trained; the caller's model and its gradients are left as they were).
    optimizer_fn:  params -> optimiser, e.g. `lambda p: optim.Adam(p)`; its `lr` is overwritten.
    lrs:           start_lr * (end_lr / start_lr) ** (k / (steps - 1)), k = 0 .. steps - 1.
    smooth:        beta of the moving average  avg_k = beta avg_{k-1} + (1 - beta) loss_k,
                   smoothed_k = avg_k / (1 - beta^(k+1)); 0 means no smoothing. The average
                   spans ~1 / (1 - beta) steps (50 at 0.98), so it lags behind the raw loss:
                   with 100 steps, 0.9 or less shows the minimum nearer where it really is.
    Stops early once smoothed_k > diverge_factor * min(smoothed) or a loss is not finite.
    """
    _check_arguments(start_lr, end_lr, steps, smooth, diverge_factor)
    net = copy.deepcopy(model) if isinstance(model, Module) else _build(model)
    optimizer = optimizer_fn(net.parameters())
    loss_fn = _loss_function(loss)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / max(steps - 1, 1))
    losses, smoothed = [], []
    average, best, message = 0.0, math.inf, "reached end_lr"
    with np.errstate(over="ignore", invalid="ignore"):
        for k, (xb, yb) in zip(range(steps), _endless_batches(X, y, batch_size, seed)):
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
    of the steps (there the moving average has seen only a few, noisy, losses).
    """
    min_loss_lr = float(lrs[int(np.argmin(smoothed))])
    skip = len(lrs) // 10
    slope = np.gradient(smoothed, np.log10(lrs))[skip:]
    steepest_lr = float(lrs[skip + int(np.argmin(slope))])
    return min_loss_lr / 10, min_loss_lr, steepest_lr


def _build(factory):
    if not callable(factory):
        raise TypeError(f"model must be a Module or a function returning one, got {type(factory).__name__}")
    net = factory()
    if not isinstance(net, Module):
        raise TypeError(f"the model factory returned {type(net).__name__}, not a Module")
    return net


def _check_arguments(start_lr, end_lr, steps, smooth, diverge_factor):
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    if not 0 <= smooth < 1:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor must be > 1, got {diverge_factor!r}")
