"""Chapter 3a: learning-rate schedules compared on one small network (the schedule explorer).

The schedules are `gradcourse.schedules` (PyTorch's names and equations); each one trains the
same net from the same initial weights on the same data, so the loss curves differ only by
the rates.
"""
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import plots, validation
from ..autograd import tensor
from ..data import moons
from ..nn import MLP
from ..optim import SGD
from ..rng import seeded
from ..schedules import (BoldDriver, Constant, CosineAnnealing, ExponentialDecay, LinearWarmup,
                         LRScheduler, OneCycle, PolynomialDecay, ReduceLROnPlateau, StepDecay)
from .common import check_result
from .spec import AT_INIT, Control, ExplorerSpec

ONE_CYCLE_WARMUP = 0.3  # the share of a one-cycle run spent warming up (PyTorch's pct_start)

# Every schedule by name: a function of make_schedule's settings -> a new schedule.
SCHEDULE_MAKERS = {
    "constant": lambda lr, **_: Constant(lr),
    "step": lambda lr, step_size, step_gamma, **_: StepDecay(lr, step_size, step_gamma),
    "exponential": lambda lr, gamma, **_: ExponentialDecay(lr, gamma),
    "polynomial": lambda lr, steps, power, **_: PolynomialDecay(lr, steps, power),
    "cosine": lambda lr, steps, **_: CosineAnnealing(lr, steps),
    "warmup+cosine": lambda lr, steps, warmup, **_: LinearWarmup(CosineAnnealing(lr, steps - warmup), warmup),
    "one-cycle": lambda lr, steps, **_: OneCycle(lr, steps, pct_start=ONE_CYCLE_WARMUP),
    "bold driver": lambda lr, **_: BoldDriver(lr, increase=1.05, decrease=0.5),
    "reduce on plateau": lambda lr, **_: ReduceLROnPlateau(lr, factor=0.5, patience=10),
}
LR_SCHEDULES = tuple(SCHEDULE_MAKERS)


def schedule_names(*names):
    """`names`, each checked against LR_SCHEDULES (a misspelt name fails at import, not in a menu)."""
    for name in names:
        validation.choice("schedule", name, LR_SCHEDULES, "schedule_names")
    return names


DEFAULT_LR_SCHEDULES = schedule_names("constant", "step", "cosine", "warmup+cosine", "one-cycle")


def make_schedule(name, lr=1.0, steps=100, gamma=0.97, power=1.0, warmup=10, step_size=25,
                  step_gamma=0.5):
    """A new schedule `name` (one of LR_SCHEDULES) for a run of `steps` steps that starts from `lr`.

    step: lr * step_gamma every step_size steps; exponential: lr * gamma^t; polynomial: to 0 at
    `steps` along (1 - t/steps)^power; cosine: to 0 at `steps`; warmup+cosine: `warmup` steps up,
    then a cosine ending at `steps`; one-cycle: up to lr (from lr/25) and down to ~0 at `steps`;
    bold driver (x1.05 / x0.5) and reduce on plateau (x0.5 after 10 steps without progress)
    follow the loss.
    """
    validation.choice("name", name, LR_SCHEDULES, "make_schedule")
    check_schedule_settings("make_schedule", (name,), lr, steps, gamma, power, warmup, step_size, step_gamma)
    return SCHEDULE_MAKERS[name](lr=lr, steps=steps, gamma=gamma, power=power, warmup=warmup, step_size=step_size,
                                 step_gamma=step_gamma)


def check_schedule_settings(where, names, lr, steps, gamma, power, warmup, step_size, step_gamma):
    """make_schedule's settings for the schedules `names`, checked under the name of the function
    called, with gradcourse.schedules' rules (and the run's length where a schedule needs one)."""
    validation.non_negative("lr", lr, where)
    validation.positive_int("steps", steps, where)
    validation.positive("gamma", gamma, where)
    validation.positive("power", power, where)
    validation.integer("warmup", warmup, "an integer", where)
    validation.positive_int("step_size", step_size, where)
    validation.positive("step_gamma", step_gamma, where)
    validation.require("warmup+cosine" not in names or 0 < warmup < steps, "warmup", warmup,
                       f"from 1 to steps - 1 = {steps - 1} for 'warmup+cosine' (shorter than the run of steps={steps}: "
                       "lower warmup or raise steps)", where)
    validation.require("one-cycle" not in names or ONE_CYCLE_WARMUP * steps > 1, "steps", steps,
                       f"more than {1 / ONE_CYCLE_WARMUP:.3g} for 'one-cycle' (its warm-up, "
                       f"{ONE_CYCLE_WARMUP:.0%} of the steps, must last more than one step)", where)


@dataclass
class ScheduleResult:
    """Learning rate and training loss per step for each schedule (dicts keyed by schedule name).

    `lr[name][t]` is the rate used at step t; `loss[name][t]` the full-batch loss before step t
    (nan after a divergence); `diverged_at[name]` the step where the run blew up, or None.
    """

    step: np.ndarray
    lr: dict
    loss: dict
    diverged_at: dict


def schedule_comparison(lr=1.0, steps=100, gamma=0.97, power=1.0, warmup=10, step_size=25,
                        step_gamma=0.5, schedules=DEFAULT_LR_SCHEDULES, hidden=16, momentum=0.9, seed=0):
    """Train the same small network (2 -> hidden tanh units -> 1 logit, same initial weights) on
    `data.moons` once per schedule: full batch, SGD with momentum, binary cross-entropy loss.
    The schedules' parameters are those of `make_schedule`."""
    where = "schedule_comparison"
    validation.count("steps", steps, 10_000, where)
    validation.require(not isinstance(schedules, str) and hasattr(schedules, "__iter__"), "schedules", schedules,
                       "a list of schedule names, e.g. ('constant', 'cosine')", where, TypeError)
    for name in schedules:
        validation.choice("schedules", name, LR_SCHEDULES, where)
    names = [name for name in LR_SCHEDULES if name in schedules]
    validation.require(names, "schedules", tuple(schedules), "at least one of " + ", ".join(map(repr, LR_SCHEDULES)),
                       where)
    check_schedule_settings(where, names, lr, steps, gamma, power, warmup, step_size, step_gamma)
    validation.positive_int("hidden", hidden, where)
    validation.non_negative("momentum", momentum, where)
    validation.non_negative_int("seed", seed, where)
    X, y = moons(100, noise=0.15, seed=seed)
    result = ScheduleResult(np.arange(steps), {}, {}, {})
    for name in names:
        schedule = make_schedule(name, lr, steps, gamma, power, warmup, step_size, step_gamma)
        result.lr[name], result.loss[name], result.diverged_at[name] = _train_with_schedule(
            schedule, X, y, steps, hidden, momentum, seed)
    return result


def _train_with_schedule(schedule, X, y, steps, hidden, momentum, seed):
    """(lr per step, loss per step, diverged_at) of one full-batch training run."""
    with seeded(seed):  # the same initial weights for every schedule
        model = MLP(X.shape[1], hidden, 1, num_blocks=0, activation="tanh")
    optimizer = SGD(model.parameters(), lr=0.0, momentum=momentum)  # the scheduler sets lr
    scheduler = LRScheduler(optimizer, schedule)
    lrs, losses = np.full(steps, np.nan), np.full(steps, np.nan)
    inputs, targets = tensor(X), y.reshape(-1, 1).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(inputs), targets)
            lrs[t], losses[t] = optimizer.lr, loss.item()
            if not np.isfinite(losses[t]):
                return lrs, losses, t
            loss.backward()
            try:
                optimizer.step()
            except FloatingPointError:
                return lrs, losses, t
            scheduler.step(losses[t])  # a step-driven schedule ignores the loss
    return lrs, losses, None


def plot_schedule_comparison(result):
    """Learning-rate schedules (left) and the training loss each gives (right), one colour per
    schedule. `result`: an `experiments.ScheduleResult`. An X marks a run that diverged."""
    check_result(result, ScheduleResult, "plot_schedule_comparison")
    fig, (left, right) = plots.subplots(1, 2)
    plots.schedules(result.lr, ax=left, title="learning rate per step")
    runs = {name: dict(loss=result.loss[name], diverged_at=result.diverged_at[name]) for name in result.loss}
    plots.training_curves(runs, ax=right, title="training loss (full batch, same start)")
    return fig


def describe_schedules(result):
    """One line: each schedule's final loss, or the step where it diverged."""
    check_result(result, ScheduleResult, "describe_schedules")
    parts = [f"{name} diverged at step {result.diverged_at[name]}" if result.diverged_at[name] is not None
             else f"{name} {loss[-1]:.3g}" + (" (above its start)" if loss[-1] > loss[0] else "")
             for name, loss in result.loss.items()]
    return "final loss: " + ", ".join(parts)


def _uses(name):
    """`active` for a control that only the schedule `name` reads."""
    return lambda values: name in values["schedules"]


EXPLORER = ExplorerSpec(
    name="schedule", title="Learning-rate schedules", chapter="03a_learning_rate_schedules",
    question="Which schedule reaches the lowest loss in the same number of steps, and why?",
    compute=schedule_comparison, draw=plot_schedule_comparison, describe=describe_schedules,
    controls=(
        Control("schedules", "schedules", "multi", DEFAULT_LR_SCHEDULES, options=LR_SCHEDULES),
        Control("lr", "lr (peak)", "log", 1.0, 1e-3, 10.0, 0.1, fmt=".3"),
        Control("steps", "steps", "int", 100, 10, 500, 10),
        Control("warmup", "warm-up steps", "int", 10, 1, 100, 1, active=_uses("warmup+cosine")),
        Control("gamma", "exponential: gamma", "float", 0.97, 0.8, 1.0, 0.005, fmt=".3",
                active=_uses("exponential")),
        Control("power", "polynomial: power", "float", 1.0, 0.25, 4.0, 0.25, fmt=".3", active=_uses("polynomial")),
        Control("step_size", "step: every k steps", "int", 25, 1, 200, 1, active=_uses("step")),
        Control("step_gamma", "step: multiply by", "float", 0.5, 0.05, 1.0, 0.05, fmt=".3", active=_uses("step")),
    ),
    small=dict(steps=20, step_size=5), move=("lr", 0.5), budget_ms=AT_INIT,  # the step decay acts within 20 steps
)
