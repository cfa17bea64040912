"""Learning-rate schedules, and `LRScheduler`, which writes a schedule's rate into an optimiser.

A schedule is a callable: `schedule(t)` is the learning rate after t steps (t = 0, 1, 2, ...),
the rate PyTorch's scheduler of the same family gives after t calls of its `.step()`. Being
plain functions of t, schedules can be plotted without an optimiser::

    lrs = [sched(t) for t in range(1000)]

Two schedules react to the loss instead of the step count (`ReduceLROnPlateau`, `BoldDriver`):
they have `.step(loss) -> lr` and a current `.lr`. `LRScheduler` drives an optimiser with either
kind::

    scheduler = LRScheduler(opt, CosineAnnealing(0.1, total_steps=100))
    for epoch in range(100):
        train_one_epoch(opt)
        scheduler.step()            # or scheduler.step(val_loss) for a loss-driven schedule
"""
import math

import numpy as np

from . import validation as check
from .optim import check_optimizer


def checked_lr(lr, name, where):
    """A rate a schedule returned, as a float: a number >= 0 (inf allowed: a growing schedule
    overflows to it, see ExponentialDecay), else TypeError or ValueError naming `name`, e.g.
    'lr = schedule(3)'. A negative or NaN rate would otherwise reach the optimiser silently."""
    return check.non_negative(name, lr, where, allow_inf=True)


class Schedule:
    """Base class of the step-driven schedules: `schedule(t)` checks t, then calls `lr_at(t)`.

    t is a step count: an integer >= 0 (a float such as 2.5, or a bool, is a TypeError). Every
    schedule is defined for any t however large, and returns a float, never raises on it
    (OneCycle excepted: it ends at total_steps).
    """

    def __call__(self, step):
        return self.lr_at(check.non_negative_int("step", step, type(self).__name__))

    def lr_at(self, t):
        raise NotImplementedError


class Constant(Schedule):
    """lr_t = lr."""

    def __init__(self, lr):
        self.lr = check.non_negative("lr", lr, "Constant")

    def lr_at(self, t):
        return self.lr


class StepDecay(Schedule):
    """PyTorch's StepLR: multiply by gamma every `step_size` steps.

    lr_t = lr * gamma ** floor(t / step_size)

    A growing schedule (gamma > 1) reaches float('inf') instead of raising OverflowError, as
    PyTorch's repeated float multiplication does.
    """

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr = check.non_negative("lr", lr, "StepDecay")
        self.step_size = check.positive_int("step_size", step_size, "StepDecay")
        self.gamma = check.positive("gamma", gamma, "StepDecay")

    def lr_at(self, t):
        return _times_power(self.lr, self.gamma, t // self.step_size)


class ExponentialDecay(Schedule):
    """PyTorch's ExponentialLR: multiply by gamma every step.

    lr_t = lr * gamma ** t

    gamma > 1 is allowed (a growing rate, as in a learning-rate range test). Once lr * gamma^t
    passes the largest float (about 1.8e308: ExponentialDecay(0.1, 2) at t = 1024) the rate is
    float('inf'), which is what PyTorch's ExponentialLR gives (it multiplies by gamma once per
    step), rather than Python's OverflowError; an optimiser stepping at that rate diverges at once,
    and `training.fit` reports it. With gamma < 1 the rate underflows to 0.0.
    """

    def __init__(self, lr, gamma):
        self.lr = check.non_negative("lr", lr, "ExponentialDecay")
        self.gamma = check.positive("gamma", gamma, "ExponentialDecay")

    def lr_at(self, t):
        return _times_power(self.lr, self.gamma, t)


def _times_power(lr, gamma, n):
    """lr * gamma ** n as a float: inf where it overflows (0.0 for lr = 0), never OverflowError."""
    try:
        return lr * gamma**n
    except OverflowError:
        return 0.0 if lr == 0 else math.inf


class PolynomialDecay(Schedule):
    """PyTorch's PolynomialLR: reach 0 after `total_steps` steps along a power curve.

    lr_t = lr * (1 - min(t, T) / T) ** power,    T = total_steps

    With power = 1 this is a straight line. (Some articles call this formula "exponential
    decay"; it is polynomial in t, see ExponentialDecay for the exponential one.) Past T the
    rate stays exactly 0, never NaN.
    """

    def __init__(self, lr, total_steps, power=1.0):
        self.lr = check.non_negative("lr", lr, "PolynomialDecay")
        self.total_steps = check.positive_int("total_steps", total_steps, "PolynomialDecay")
        self.power = check.positive("power", power, "PolynomialDecay")

    def lr_at(self, t):
        T = self.total_steps
        return self.lr * (1 - min(t, T) / T) ** self.power


class CosineAnnealing(Schedule):
    """PyTorch's CosineAnnealingLR (its closed form, over one half period).

    lr_t = min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2    for t <= T = total_steps
    lr_t = min_lr                                                for t > T

    PyTorch's scheduler climbs back up along the cosine after T; this one stays at min_lr,
    which is what a run of `total_steps` steps wants. For restarts see SGDR (not included).
    """

    def __init__(self, lr, total_steps, min_lr=0.0):
        self.lr = check.non_negative("lr", lr, "CosineAnnealing")
        self.total_steps = check.positive_int("total_steps", total_steps, "CosineAnnealing")
        self.min_lr = check.in_range("min_lr", min_lr, 0.0, self.lr, "CosineAnnealing")

    def lr_at(self, t):
        if t >= self.total_steps:
            return self.min_lr
        cosine = (1 + math.cos(math.pi * t / self.total_steps)) / 2
        return self.min_lr + (self.lr - self.min_lr) * cosine


class LinearWarmup(Schedule):
    """Ramp the rate up linearly for `warmup_steps` steps, then run `schedule` from its start.

    lr_t = schedule(0) * (s + (1 - s) * t / W)    for t < W = warmup_steps, s = start_factor
    lr_t = schedule(t - W)                        for t >= W

    This is PyTorch's SequentialLR([LinearLR(start_factor=s, total_iters=W), inner],
    milestones=[W]): the inner schedule starts at its own step 0 when the warm-up ends, so a
    CosineAnnealing(lr, T) behind a warm-up of W steps finishes at step W + T.
    """

    def __init__(self, schedule, warmup_steps, start_factor=0.0):
        check.require(callable(schedule), "schedule", schedule, "a schedule (a callable step -> lr)",
                      "LinearWarmup", TypeError)
        self.schedule = schedule
        self.warmup_steps = check.positive_int("warmup_steps", warmup_steps, "LinearWarmup")
        self.start_factor = check.probability("start_factor", start_factor, "LinearWarmup")

    def lr_at(self, t):
        W, s = self.warmup_steps, self.start_factor
        if t < W:
            return self._inner(0) * (s + (1 - s) * t / W)
        return self._inner(t - W)

    def _inner(self, t):
        return checked_lr(self.schedule(t), f"lr = schedule({t})", "LinearWarmup")


class OneCycle(Schedule):
    """PyTorch's OneCycleLR (anneal_strategy='cos', three_phase=False): up to max_lr, then down.

    ::

        initial_lr = max_lr / div_factor
        min_lr     = initial_lr / final_div_factor
        phase 1: from step 0    to e_1 = pct_start * total_steps - 1: initial_lr -> max_lr
        phase 2: from step e_1  to e_2 = total_steps - 1:             max_lr     -> min_lr
        within a phase from step a to b, going from lr_a to lr_b:
            p    = (t - a) / (b - a)
            lr_t = lr_b + (lr_a - lr_b) * (1 + cos(pi * p)) / 2

    Like PyTorch, it is defined for 0 <= t <= total_steps (t = total_steps, the rate after the
    last of PyTorch's steps, continues the cosine a little past min_lr), and raises ValueError
    for a later step: a one-cycle run has a fixed length, so stepping past it is a bug in the
    training loop. The warm-up phase must last more than one step (pct_start * total_steps > 1),
    so total_steps is at least 2.
    """

    def __init__(self, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4):
        where = "OneCycle"
        self.max_lr = check.non_negative("max_lr", max_lr, where)
        self.total_steps = check.count("total_steps", total_steps, where=where, minimum=2)
        self.pct_start = check.in_range("pct_start", pct_start, 0.0, 1.0, where, low_closed=False, high_closed=False)
        check.require(pct_start * total_steps > 1, "pct_start * total_steps",
                      f"{pct_start:g} * {total_steps} = {pct_start * total_steps:g}",
                      "a number > 1 (the warm-up must last more than one step: raise total_steps or pct_start)", where)
        div_factor = check.positive("div_factor", div_factor, where)
        final_div_factor = check.positive("final_div_factor", final_div_factor, where)
        self.initial_lr = max_lr / div_factor
        self.min_lr = self.initial_lr / final_div_factor
        self.peak_step = float(pct_start * total_steps) - 1

    def lr_at(self, t):
        check.require(t <= self.total_steps, "step", t,
                      f"at most total_steps = {self.total_steps} (a one-cycle run has a fixed length)", "OneCycle")
        if t <= self.peak_step:
            return _cosine_between(self.initial_lr, self.max_lr, t / self.peak_step)
        progress = (t - self.peak_step) / (self.total_steps - 1 - self.peak_step)
        return _cosine_between(self.max_lr, self.min_lr, progress)


def _cosine_between(start, end, progress):
    """Half a cosine from `start` (progress 0) to `end` (progress 1), as PyTorch computes it."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * progress) + 1)


# ---------------------------------------------------------------------------
# Loss-driven schedules.

class LossDrivenSchedule:
    """Base class of the schedules that set the rate from the loss: `.step(loss) -> lr`."""

    def __init__(self, lr):
        self.lr = check.non_negative("lr", lr, type(self).__name__)
        self.step_count = 0

    def step(self, loss):
        """Record one loss value (a number) and return the learning rate for the next step."""
        where = f"{type(self).__name__}.step"
        if hasattr(loss, "item"):  # a one-element Tensor or numpy value
            check.require(np.size(getattr(loss, "data", loss)) == 1, "loss", loss,
                          "a number or a one-element tensor", where)
            loss = loss.item()
        check.require(check.is_number(loss), "loss", loss, "a number", where, TypeError)
        self.step_count += 1
        loss = float(loss)
        check.require(math.isfinite(loss), "loss", loss, f"a finite number (at step {self.step_count} the run has "
                      "diverged: lower the learning rate or clip the gradients)", where)
        self.lr = self.new_lr(loss)
        return self.lr

    def new_lr(self, loss):
        raise NotImplementedError


class ReduceLROnPlateau(LossDrivenSchedule):
    """PyTorch's ReduceLROnPlateau (mode='min', threshold_mode='rel', cooldown=0, eps=1e-8).

    ::

        a loss counts as better when  loss < best * (1 - threshold)    (best starts at +inf)
        better:  best <- loss,  bad_epochs <- 0
        else:    bad_epochs <- bad_epochs + 1
        if bad_epochs > patience:
            new = max(lr * factor, min_lr);  bad_epochs <- 0
            if lr - new > 1e-8:  lr <- new

    So with patience p the rate drops on the (p + 1)-th loss in a row that fails to improve.
    A non-finite loss raises ValueError (PyTorch would count it as one more bad epoch).
    """

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, min_lr=0.0):
        super().__init__(lr)
        where = "ReduceLROnPlateau"
        self.factor = check.in_range("factor", factor, 0.0, 1.0, where, low_closed=False, high_closed=False)
        self.patience = check.non_negative_int("patience", patience, where)
        self.threshold = check.non_negative("threshold", threshold, where)
        self.min_lr = check.non_negative("min_lr", min_lr, where)
        self.best = math.inf
        self.num_bad_epochs = 0

    def new_lr(self, loss):
        if loss < self.best * (1 - self.threshold):
            self.best = loss
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs <= self.patience:
            return self.lr
        self.num_bad_epochs = 0
        reduced = max(self.lr * self.factor, self.min_lr)
        return reduced if self.lr - reduced > 1e-8 else self.lr


class BoldDriver(LossDrivenSchedule):
    """The "bold driver" rule (Vogl et al. 1988; Battiti 1989): speed up while it works.

    ::

        if loss < previous loss:  lr <- lr * increase
        if loss > previous loss:  lr <- lr * decrease
        (the first loss, and an equal loss, leave lr unchanged)

    The original rule also undoes the step that raised the loss; here the step stands and only
    the rate changes. A non-finite loss raises ValueError rather than counting as a rise: a NaN
    means the run has already diverged, and quietly halving the rate would hide that.
    """

    def __init__(self, lr, increase=1.05, decrease=0.5):
        super().__init__(lr)
        self.increase = check.number("increase", increase, "a number >= 1", "BoldDriver")
        check.require(increase >= 1, "increase", increase, "a number >= 1", "BoldDriver")
        self.decrease = check.in_range("decrease", decrease, 0.0, 1.0, "BoldDriver",
                                       low_closed=False, high_closed=False)
        self.previous_loss = None

    def new_lr(self, loss):
        previous, self.previous_loss = self.previous_loss, loss
        if previous is None or loss == previous:
            return self.lr
        return self.lr * (self.increase if loss < previous else self.decrease)


# ---------------------------------------------------------------------------
# Driving an optimiser.

class LRScheduler:
    """Write a schedule's learning rate into `optimizer.lr`, one `step()` per epoch or batch.

    At construction the optimiser gets the rate for step 0 (as in PyTorch). `optimizer` must
    have an optimiser's interface (TypeError otherwise), and every rate written must be a number
    >= 0 (ValueError naming the step otherwise: PyTorch would write a negative or NaN rate). `step(loss=None)`
    advances one step: a step-driven schedule gives schedule(t) and ignores the loss (so one
    training loop serves every schedule); a loss-driven one needs the loss and is given it.
    `last_lr` is the rate last written; `get_last_lr()` returns it in a list, like PyTorch
    (which has one entry per parameter group).
    """

    def __init__(self, optimizer, schedule):
        check_optimizer(optimizer, "LRScheduler")
        check.require(callable(schedule) or isinstance(schedule, LossDrivenSchedule), "schedule",
                      schedule, "a callable step -> lr or a loss-driven schedule", "LRScheduler", TypeError)
        self.optimizer = optimizer
        self.schedule = schedule
        self.step_count = 0
        self._set_lr(schedule.lr if self.loss_driven else checked_lr(schedule(0), "lr = schedule(0)", "LRScheduler"))

    @property
    def loss_driven(self):
        return isinstance(self.schedule, LossDrivenSchedule)

    def step(self, loss=None):
        """Advance one step and set the optimiser's rate; returns that rate."""
        t = self.step_count + 1
        if not self.loss_driven:
            lr = checked_lr(self.schedule(t), f"lr = schedule({t})", "LRScheduler")
        elif loss is None:
            check.fail("loss", loss, f"a number: {type(self.schedule).__name__} sets the rate from the loss "
                       "(call scheduler.step(loss))", "LRScheduler.step")
        else:
            lr = self.schedule.step(loss)
        self.step_count = t  # (a step that raised is not counted, and leaves the optimiser's rate)
        return self._set_lr(lr)

    def get_last_lr(self):
        return [self.last_lr]

    def _set_lr(self, lr):
        self.optimizer.lr = lr
        self.last_lr = lr
        return lr
