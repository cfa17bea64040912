"""Exercises 4 (worked example): three broken runs to measure, diagnose and repair, and a loss."""
import math

import numpy as np

from .. import casebook, functional, nn, optim
from ..autograd import Tensor, tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _backward_through, _bind, _close,
                    _course_generator_untouched, _fmt, _name, _passed, _returned_none,
                    register_course_implementations)
from ._repairs import _check_accuracies, _check_kept_layout, _layout, _watched_repair, check_cause


register_course_implementations("regression_loss", {
    "gradcourse.functional.mse_loss": functional.mse_loss,
})

def check_regression_loss(regression_loss, n=5, seed=7):
    """`regression_loss(pred, target)`: mean squared error of pred (n, 1) against target (n,)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["regression_loss"]
    rng = np.random.default_rng(seed)
    p, target = rng.normal(size=(n, 1)), rng.normal(size=n)
    pred = tensor(p, requires_grad=True)
    loss, (grad,) = _backward_through(_bind(regression_loss, target.copy()), [pred], 1.0, course=course)
    expected = np.mean((p[:, 0] - target) ** 2)
    if loss.data.shape == (n, n) or loss.size == n * n:
        raise ExerciseError(f"the loss has {n * n} entries: pred (shape ({n}, 1)) minus target (shape ({n},)) "
                            f"broadcasts to an {n} x {n} matrix of every pair; reshape target to pred's shape")
    if loss.size != 1:
        raise ExerciseError(f"the loss should be one number, got shape {loss.shape}: take the mean")
    broadcast = np.mean((p - target) ** 2)
    if _close(loss.item(), broadcast):
        raise ExerciseError(f"the loss is {_fmt(loss.item())}, the mean over all {n} x {n} pairs: pred (shape "
                            f"({n}, 1)) minus target (shape ({n},)) broadcasts to a matrix; reshape target "
                            f"to pred's shape, (n, 1), first (expected {_fmt(expected)})")
    if not _close(loss.item(), expected):
        raise ExerciseError(f"expected the mean squared error {_fmt(expected)}, got {_fmt(loss.item())}")
    if not _close(grad, 2 / n * (p - target[:, None])):
        raise ExerciseError(f"the loss is right but its gradient is not 2/n (pred - target): "
                            f"got {_fmt(grad.ravel())}")
    _passed(f"regression_loss gives the mean squared error of {n} predictions, "
            f"and its gradient 2/n (pred - target)")



# ----- 04: measure, diagnose, repair (the runs are in gradcourse.casebook) ---------------------
def _overshoot(runs, seeds):
    """(seed, peak loss, first loss) of the first run whose loss rose above 1.2 times its first value, or None."""
    for seed, run in zip(seeds, runs):
        peak = max(run.loss) if np.all(np.isfinite(run.loss)) else math.inf
        if peak > 1.2 * run.loss[0]:
            return seed, peak, run.loss[0]
    return None


def check_case1_repair(lr, seeds=(0, 1, 2, 3, 4, 5), margin=1.5):
    """Case 1 retrained with SGD at the learning rate `lr` reaches the threshold on every seed, its loss never
    rising above 1.2 times its first value, nor at `margin` times `lr` (a rate safely below the edge;
    margin=None leaves that run out)."""
    __tracebackhide__ = True
    if lr is None or isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
        raise ExerciseError(f"lr should be a number (the learning rate case 1 is trained at), got {lr!r:.80}")
    if not (math.isfinite(lr) and lr > 0):
        raise ExerciseError(f"lr should be a positive learning rate, got {_fmt(lr)}")
    if lr >= casebook.worked_example._LR1:
        raise ExerciseError(f"lr = {_fmt(lr)} is no smaller than the rate case 1 was run at.")
    with _course_generator_untouched():
        for rate in (float(lr),) + (() if margin is None else (margin * float(lr),)):
            runs = [casebook.case1_training(seed, rate) for seed in seeds]
            jump = _overshoot(runs, seeds)
            if jump is not None:
                seed, peak, first = jump
                where = "at your rate" if rate == lr else f"at {margin:g} times your rate ({_fmt(rate)})"
                raise ExerciseError(f"{where}, the loss of seed {seed} rises to {_fmt(peak)}, above 1.2 times its "
                                    f"first value {_fmt(first)}: a step this large overshoots. A repair leaves a "
                                    f"margin below the edge of stability: lower lr until the loss falls steadily "
                                    f"at {margin:g} times your rate too.")
            if rate == lr:
                accuracies = [run.test_accuracy for run in runs]
    hint = (f"At lr = {_fmt(lr)} the loss falls, but too slowly to train in {casebook.STEPS} steps: "
            f"this rate is far below the edge of stability; raise it.")
    _check_accuracies(1, accuracies, seeds, f"at lr = {_fmt(lr)}", hint)
    if margin is not None:
        _passed(f"case 1 at {margin:g} times lr = {_fmt(lr)}: the loss never rose above 1.2 times its first value in "
                f"seeds {list(seeds)}, so lr leaves a margin below the edge of stability")


def _relu_zero_fractions(model, seed):
    """For each hidden ReLU of case 2's network, the fraction of its outputs that are 0 on the training digits."""
    h, fractions = casebook.tensor(casebook.digits_split(seed)[0]), []
    with casebook.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                fractions.append(float(np.mean(h.data == 0)))
    return fractions


def check_case2_repair(repair, seeds=(0, 1, 2, 3, 4, 5)):
    """Case 2's network, changed in place by `repair(model)` and trained as before, reaches the threshold."""
    __tracebackhide__ = True
    watched = _watched_repair(repair)
    with _course_generator_untouched():
        model = casebook.case2_model(seeds[0])
        layout = _layout(model)
        watched(model)
        _check_kept_layout(repair, layout, model)
        zeros = _relu_zero_fractions(model, seeds[0])
        accuracies = casebook.case2_measure(watched, seeds)
    still = [f"{zero:.0%} in hidden layer {i}" for i, zero in enumerate(zeros, start=1) if zero > 0.9]
    if still:
        hint = (f"After {_name(repair)}(model), the ReLU outputs on the training digits are still 0 for "
                f"{' and '.join(still)}: no gradient passes a ReLU where it outputs 0, so these units cannot "
                f"recover. Change what keeps them below 0.")
    else:
        hint = "Measure the repaired network with gradcourse.diagnostics.measure_at_init before training it."
    _check_accuracies(2, accuracies, seeds, f"after {_name(repair)}(model)", hint)


def _batch_gradient(model, xb, yb):
    """The gradient of the batch's cross-entropy loss at the model's weights; .grad is left as it was."""
    held = [p.grad for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    loss = functional.cross_entropy(model(casebook.tensor(xb)), yb)
    loss.backward()
    gradient = [p.grad.copy() for p in model.parameters()]
    for p, grad in zip(model.parameters(), held):
        p.grad = grad
    return gradient, loss.item()


def _check_returned_loss(train_step, returned, loss):
    """The step must return the batch's loss before the update, as a Python number."""
    if returned is None:
        raise _returned_none(_name(train_step), "the batch's loss as a float (loss.item())")
    if isinstance(returned, Tensor):
        raise ExerciseError(f"{_name(train_step)} returned a Tensor: return loss.item(), a Python float, so that "
                            f"the run can record and plot it")
    try:
        value = float(returned)
    except (TypeError, ValueError):
        raise ExerciseError(f"{_name(train_step)} returned {type(returned).__name__} {returned!r:.60}: return the "
                            f"batch's loss as a float (loss.item())") from None
    if not _close(value, loss, rtol=1e-6):
        raise ExerciseError(f"{_name(train_step)} returned {_fmt(value)}, not the batch's cross-entropy loss "
                            f"{_fmt(loss)} before the update: return loss.item() of the loss you backpropagated")


def _check_step_updates(train_step, watched, seed, lr=0.05):
    """Two calls of your step on one batch must each move the weights by -lr times the batch's gradient there.

    (Whether the step clears .grad before backward() or after step(), as PyTorch's examples do both, the
    update is the same; what matters is what the optimiser applied.)
    """
    __tracebackhide__ = True
    model = casebook._mlp(seed)
    xb, yb = next(casebook._batches(seed, steps=1))
    optimizer = optim.SGD(model.parameters(), lr=lr)
    gradients, before = [], []
    for call in (1, 2):
        before.append([p.data.copy() for p in model.parameters()])
        gradient, loss = _batch_gradient(model, xb, yb)
        gradients.append(gradient)
        returned = watched(model, optimizer, xb, yb)
        moved = [p.data - w for p, w in zip(model.parameters(), before[-1])]
        if all(not np.any(m) for m in moved):
            raise ExerciseError(f"call {call} of {_name(train_step)} did not move the weights: the gradient was "
                                f"cleared between backward() and step(), so the optimiser had nothing to apply. "
                                f"Clear it before backward() (or after step()).")
        if call == 2 and all(_close(m, -lr * (g0 + g1), rtol=1e-6)
                             for m, g0, g1 in zip(moved, *gradients)):
            raise ExerciseError(f"the second call of {_name(train_step)} on the same batch moved the weights by "
                                f"the sum of both calls' gradients: each backward() adds to .grad, and the step "
                                f"never clears it, so every step applies the sum of all past gradients.")
        _check_returned_loss(train_step, returned, loss)
        if not all(_close(m, -lr * g, rtol=1e-6) for m, g in zip(moved, gradients[-1])):
            raise ExerciseError(f"call {call} of {_name(train_step)} did not move the weights by -lr times the "
                                f"gradient of the batch's cross-entropy loss: compute the loss on (xb, yb), "
                                f"backward, step, with the gradient cleared once per step.")


def check_case3_repair(train_step, seeds=(0, 1, 2, 3, 4, 5)):
    """`train_step(model, optimizer, xb, yb)` uses one batch's gradient per step and trains case 3."""
    __tracebackhide__ = True
    watched = _watched_repair(train_step)
    with _course_generator_untouched():
        _check_step_updates(train_step, watched, seeds[0])
        accuracies = casebook.case3_measure(watched, seeds)
    _check_accuracies(3, accuracies, seeds, f"trained with {_name(train_step)}",
                      "The step applies one batch's gradient: check the learning rate is left as it is.")


CHECKERS = [check_regression_loss, check_cause, check_case1_repair, check_case2_repair, check_case3_repair]
