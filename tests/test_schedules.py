"""Tests for gradcourse.schedules: each schedule at its boundary steps against its closed form,
the loss-driven rules step by step, LRScheduler driving an optimiser, and argument errors.
If torch is importable, every schedule is also compared with torch.optim.lr_scheduler.
"""
import math
import warnings

import numpy as np
import pytest

from gradcourse import optim
from gradcourse.autograd import tensor
from gradcourse.schedules import (BoldDriver, Constant, CosineAnnealing, ExponentialDecay,
                                  LinearWarmup, LRScheduler, OneCycle, PolynomialDecay,
                                  ReduceLROnPlateau, StepDecay)

# ---------------------------------------------------------------------------
# Closed forms at the boundaries


def test_constant():
    assert [Constant(0.3)(t) for t in (0, 1, 1000)] == [0.3, 0.3, 0.3]


def test_step_decay_changes_exactly_at_multiples_of_step_size():
    s = StepDecay(0.1, step_size=5, gamma=0.5)
    assert s(0) == 0.1
    assert s(4) == 0.1
    assert s(5) == pytest.approx(0.05, rel=1e-15)
    assert s(9) == pytest.approx(0.05, rel=1e-15)
    assert s(10) == pytest.approx(0.025, rel=1e-15)


def test_exponential_decay():
    s = ExponentialDecay(2.0, gamma=0.9)
    assert s(0) == 2.0
    assert s(1) == pytest.approx(1.8, rel=1e-15)
    assert s(10) == pytest.approx(2.0 * math.exp(10 * math.log(0.9)), rel=1e-13)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_decay_reaches_zero_and_stays_there(power):
    s = PolynomialDecay(0.2, total_steps=10, power=power)
    assert s(0) == 0.2
    assert s(9) == pytest.approx(0.2 * 0.1**power, rel=1e-12)
    assert s(10) == 0.0
    assert s(15) == 0.0                      # not NaN, not negative, even for power 0.5


def test_cosine_annealing_at_start_middle_end_and_after():
    s = CosineAnnealing(1.0, total_steps=10, min_lr=0.1)
    assert s(0) == pytest.approx(1.0, rel=1e-15)
    assert s(5) == pytest.approx(0.55, rel=1e-15)
    assert s(10) == pytest.approx(0.1, rel=1e-15)
    assert s(12) == 0.1
    quarter = 0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2
    assert CosineAnnealing(1.0, 20, min_lr=0.1)(5) == pytest.approx(quarter, rel=1e-14)


def test_linear_warmup_ramps_to_the_inner_start_then_restarts_it():
    inner = StepDecay(0.5, step_size=3, gamma=0.1)
    s = LinearWarmup(inner, warmup_steps=4)
    assert s(0) == 0.0
    assert s(2) == pytest.approx(0.25, rel=1e-15)
    assert s(3) == pytest.approx(0.375, rel=1e-15)
    assert s(4) == 0.5                         # the inner schedule's step 0
    assert s(4 + 3) == pytest.approx(0.05, rel=1e-15)
    assert LinearWarmup(Constant(1.0), 10, start_factor=0.2)(5) == pytest.approx(0.6, rel=1e-15)


def test_one_cycle_starts_low_peaks_at_max_lr_and_ends_at_min_lr():
    s = OneCycle(max_lr=1.0, total_steps=100, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4)
    initial_lr, min_lr = 1.0 / 25, 1.0 / 25 / 1e4
    peak = 0.3 * 100 - 1
    assert s(0) == pytest.approx(initial_lr, rel=1e-12)
    assert s(29) == pytest.approx(1.0, rel=1e-15)
    assert s(99) == pytest.approx(min_lr, rel=1e-12)
    up = 14 / peak                             # a step inside each phase, by the formula
    assert s(14) == pytest.approx(1.0 + (initial_lr - 1.0) / 2 * (1 + math.cos(math.pi * up)),
                                  rel=1e-12)
    down = (60 - peak) / (99 - peak)
    assert s(60) == pytest.approx(min_lr + (1.0 - min_lr) / 2 * (1 + math.cos(math.pi * down)),
                                  rel=1e-12)
    lrs = [s(t) for t in range(100)]
    assert np.all(np.diff(lrs[:30]) > 0) and np.all(np.diff(lrs[29:]) < 0)
    s(100)                                     # PyTorch allows total_steps calls of step() ...
    with pytest.raises(ValueError, match="101"):
        s(101)                                 # ... and raises after that


# ---------------------------------------------------------------------------
# Loss-driven schedules

def test_reduce_lr_on_plateau_cuts_after_patience_plus_one_bad_losses():
    s = ReduceLROnPlateau(1.0, factor=0.5, patience=2, threshold=0.1, min_lr=0.2)
    # loss:       1.0 (best)  0.95 (< 10% better: bad)  1.0 (bad)  0.99 (3rd bad: cut)
    #             0.5 (best)  0.5 (bad)  0.5 (bad)  0.5 (cut)  9 (bad) 9 (bad) 9 (cut, floor 0.2)
    losses = [1.0, 0.95, 1.0, 0.99, 0.5, 0.5, 0.5, 0.5, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0]
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert [s.step(loss) for loss in losses] == expected
    assert s.lr == 0.2


def test_bold_driver_grows_while_the_loss_falls_and_cuts_when_it_rises():
    s = BoldDriver(1.0, increase=1.1, decrease=0.5)
    lrs = [s.step(loss) for loss in [5.0, 4.0, 3.0, 3.5, 3.5, 2.0]]
    expected = [1.0, 1.1, 1.1 * 1.1, 1.1 * 1.1 * 0.5, 1.1 * 1.1 * 0.5, 1.1 * 1.1 * 0.5 * 1.1]
    np.testing.assert_allclose(lrs, expected, rtol=1e-15)


@pytest.mark.parametrize("make", [lambda: BoldDriver(0.1), lambda: ReduceLROnPlateau(0.1)])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_loss_driven_schedules_reject_a_non_finite_loss_naming_the_step(make, bad):
    s = make()
    s.step(1.0)
    s.step(0.9)
    with pytest.raises(ValueError, match="step 3"):
        s.step(bad)


# ---------------------------------------------------------------------------
# LRScheduler

def test_lr_scheduler_writes_the_schedule_into_the_optimiser():
    p = tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([p], lr=5.0)
    scheduler = LRScheduler(opt, StepDecay(0.1, step_size=2, gamma=0.5))
    assert opt.lr == 0.1                       # step 0, set at construction as in PyTorch
    seen = []
    for _ in range(5):
        p.grad = np.ones(2)
        before = p.data.copy()
        opt.step()
        seen.append(before[0] - p.data[0])     # the step size the optimiser actually used
        scheduler.step(loss=123.0)             # a loss is ignored by a step-driven schedule
    np.testing.assert_allclose(seen, [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-15)
    assert scheduler.last_lr == opt.lr == pytest.approx(0.1 * 0.5**2)   # schedule(5)
    assert scheduler.get_last_lr() == [opt.lr]


def test_lr_scheduler_passes_the_loss_to_a_loss_driven_schedule():
    opt = optim.SGD([tensor(np.zeros(1), requires_grad=True)], lr=5.0)
    scheduler = LRScheduler(opt, ReduceLROnPlateau(0.1, factor=0.5, patience=0))
    assert opt.lr == 0.1
    scheduler.step(1.0)
    assert opt.lr == 0.1
    scheduler.step(2.0)
    assert opt.lr == 0.05
    with pytest.raises(ValueError, match=r"LRScheduler.step: loss must be a number: ReduceLROnPlateau sets the rate "
                                        r"from the loss \(call scheduler.step\(loss\)\), got None"):
        scheduler.step()


# ---------------------------------------------------------------------------
# Argument errors

BAD_ARGUMENTS = [
    (lambda: Constant(-0.1), "lr", "-0.1"),
    (lambda: StepDecay(0.1, step_size=0), "step_size", "0"),
    (lambda: StepDecay(0.1, step_size=3, gamma=0.0), "gamma", "0.0"),
    (lambda: StepDecay(-1.0, step_size=3), "lr", "-1.0"),
    (lambda: ExponentialDecay(0.1, gamma=-0.5), "gamma", "-0.5"),
    (lambda: PolynomialDecay(0.1, total_steps=0), "total_steps", "0"),
    (lambda: PolynomialDecay(0.1, total_steps=10, power=0.0), "power", "0.0"),
    (lambda: CosineAnnealing(0.1, total_steps=-5), "total_steps", "-5"),
    (lambda: CosineAnnealing(0.1, total_steps=5, min_lr=0.2), "min_lr", "0.2"),
    (lambda: LinearWarmup(Constant(0.1), warmup_steps=0), "warmup_steps", "0"),
    (lambda: LinearWarmup(Constant(0.1), warmup_steps=5, start_factor=1.5), "start_factor",
     "1.5"),
    (lambda: OneCycle(-1.0, total_steps=100), "max_lr", "-1.0"),
    (lambda: OneCycle(1.0, total_steps=0), "total_steps", "0"),
    (lambda: OneCycle(1.0, total_steps=100, pct_start=1.0), "pct_start", "1.0"),
    (lambda: OneCycle(1.0, total_steps=3, pct_start=0.3), "pct_start", "0.3"),
    (lambda: OneCycle(1.0, total_steps=100, div_factor=0.0), "div_factor", "0.0"),
    (lambda: OneCycle(1.0, total_steps=100, final_div_factor=-1), "final_div_factor", "-1"),
    (lambda: ReduceLROnPlateau(0.1, factor=1.0), "factor", "1.0"),
    (lambda: ReduceLROnPlateau(0.1, factor=0.0), "factor", "0.0"),
    (lambda: ReduceLROnPlateau(0.1, patience=-1), "patience", "-1"),
    (lambda: ReduceLROnPlateau(0.1, threshold=-1e-4), "threshold", "-0.0001"),
    (lambda: ReduceLROnPlateau(0.1, min_lr=-1.0), "min_lr", "-1.0"),
    (lambda: ReduceLROnPlateau(-0.1), "lr", "-0.1"),
    (lambda: BoldDriver(0.1, increase=0.9), "increase", "0.9"),
    (lambda: BoldDriver(0.1, decrease=1.0), "decrease", "1.0"),
    (lambda: ExponentialDecay(0.1, 0.9)(-1), "step", "-1"),
    (lambda: ExponentialDecay(0.1, float("nan")), "gamma", "nan"),
    (lambda: CosineAnnealing(float("inf"), 10), "lr", "inf"),
    (lambda: ReduceLROnPlateau(0.1, factor=float("nan")), "factor", "nan"),
]


@pytest.mark.parametrize("make, name, value", BAD_ARGUMENTS,
                         ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_ARGUMENTS)])
def test_bad_arguments_raise_value_error_naming_them(make, name, value):
    with pytest.raises(ValueError, match=name) as info:
        make()
    assert value in str(info.value)


WRONG_KINDS = [
    (lambda: StepDecay(0.1, step_size=2.5), "StepDecay: step_size must be a positive integer, got 2.5"),
    (lambda: StepDecay(0.1, step_size=True), "StepDecay: step_size must be a positive integer, got True"),
    (lambda: LinearWarmup(0.1, warmup_steps=5), "LinearWarmup: schedule must be a schedule"),
    (lambda: CosineAnnealing(0.1, 10)(2.5), "CosineAnnealing: step must be a non-negative integer, got 2.5"),
    (lambda: ExponentialDecay(0.1, 0.9)(True), "ExponentialDecay: step must be a non-negative integer, got True"),
    (lambda: Constant("0.1"), "Constant: lr must be a number >= 0, got '0.1'"),
    (lambda: ReduceLROnPlateau(0.1, patience=2.0), "ReduceLROnPlateau: patience must be a non-negative integer"),
    (lambda: ReduceLROnPlateau(0.1).step("1.0"), "ReduceLROnPlateau.step: loss must be a number, got '1.0'"),
    (lambda: LRScheduler(_sgd(), "cosine"), "LRScheduler: schedule must be a callable step -> lr"),
    (lambda: LRScheduler("opt", Constant(0.1)), "LRScheduler: optimizer must be an optimiser"),
    (lambda: LRScheduler(None, Constant(0.1)), "LRScheduler: optimizer must be an optimiser"),
    (lambda: LRScheduler(_sgd(), lambda t: "0.1"), "LRScheduler: lr = schedule(0) must be a number >= 0"),
    (lambda: LinearWarmup(lambda t: "x", 3)(0), "LinearWarmup: lr = schedule(0) must be a number >= 0, got 'x'"),
]


def _sgd():
    return optim.SGD([tensor(np.zeros(2), requires_grad=True)], lr=0.1)


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_a_schedule_returning_a_negative_or_nan_rate_is_refused_naming_the_step(bad):
    """LRScheduler checks every rate it writes (at construction and at each step), LinearWarmup the
    inner schedule's; the optimiser's lr is left as it was."""
    with pytest.raises(ValueError, match=r"LRScheduler: lr = schedule\(0\) must be a number >= 0"):
        LRScheduler(_sgd(), lambda t: bad)
    opt = _sgd()
    scheduler = LRScheduler(opt, lambda t: 0.1 if t < 2 else bad)
    scheduler.step()
    with pytest.raises(ValueError, match=r"LRScheduler: lr = schedule\(2\) must be a number >= 0"):
        scheduler.step()
    assert opt.lr == 0.1
    with pytest.raises(ValueError, match=r"LinearWarmup: lr = schedule\(1\) must be a number >= 0"):
        LinearWarmup(lambda t: bad if t else 0.1, 2)(3)


def test_an_infinite_rate_passes_through_as_an_overflowing_schedule_gives_it():
    assert LRScheduler(_sgd(), lambda t: math.inf).last_lr == math.inf


def test_a_loss_driven_schedule_names_loss_for_a_tensor_of_several_values():
    with pytest.raises(ValueError, match="ReduceLROnPlateau.step: loss must be a number or a one-element tensor"):
        ReduceLROnPlateau(0.1).step(tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="BoldDriver.step: loss must be a number or a one-element tensor"):
        BoldDriver(0.1).step(np.array([1.0, 2.0]))
    assert ReduceLROnPlateau(0.1).step(tensor([1.0])) == 0.1


@pytest.mark.parametrize("make, message", WRONG_KINDS, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(WRONG_KINDS)])
def test_a_value_of_the_wrong_kind_is_a_type_error(make, message):
    with pytest.raises(TypeError) as info:
        make()
    assert message in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: Constant(0.1), lambda: StepDecay(0.1, 3, 0.5), lambda: StepDecay(0.1, 3, 2.0),
    lambda: ExponentialDecay(0.1, 0.9), lambda: PolynomialDecay(0.1, 10, 2.0),
    lambda: CosineAnnealing(0.1, 10, 0.01), lambda: LinearWarmup(CosineAnnealing(0.1, 10), 5),
], ids=["Constant", "StepDecay", "StepDecay-growing", "ExponentialDecay", "PolynomialDecay",
        "CosineAnnealing", "LinearWarmup"])
def test_every_schedule_gives_a_float_at_a_huge_step(make):
    lr = make()(10**9)
    assert isinstance(lr, float) and lr >= 0 and not math.isnan(lr)


def test_a_growing_exponential_schedule_reaches_inf_instead_of_overflowing():
    """2**5000 raises OverflowError in Python; PyTorch's ExponentialLR, which multiplies by gamma
    once per step, reaches inf in float, and so does this schedule."""
    s = ExponentialDecay(0.1, 2.0)
    assert s(1000) == pytest.approx(0.1 * 2.0**1000, rel=1e-12)   # still finite: the exact power
    assert s(5000) == math.inf
    assert StepDecay(0.1, step_size=2, gamma=2.0)(20_000) == math.inf
    assert ExponentialDecay(0.0, 2.0)(5000) == 0.0                # 0 * inf would be nan
    assert ExponentialDecay(0.1, 0.5)(5000) == 0.0                # underflow is 0, never an error


def test_schedules_accept_numpy_integer_steps():
    assert StepDecay(1.0, 2, 0.5)(np.int64(4)) == 0.25


# ---------------------------------------------------------------------------
# Against PyTorch, when it is installed (it is not a dependency of the course).

def torch_lrs(make_scheduler, base_lr, steps, momentum=0.0):
    """The lr of a torch SGD optimiser after 0, 1, ..., steps calls of scheduler.step()."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr, momentum=momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(torch.optim.lr_scheduler, opt)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(steps):
            opt.step()
            scheduler.step()
            lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs, dtype=float)


TORCH_CASES = [
    ("StepLR", StepDecay(0.1, 7, 0.3), lambda L, o: L.StepLR(o, 7, 0.3), 0.1, 50),
    ("ExponentialLR", ExponentialDecay(0.1, 0.95), lambda L, o: L.ExponentialLR(o, 0.95), 0.1,
     100),
    ("PolynomialLR", PolynomialDecay(0.1, 30, 2.0),
     lambda L, o: L.PolynomialLR(o, total_iters=30, power=2.0), 0.1, 40),
    ("CosineAnnealingLR", CosineAnnealing(0.1, 40, min_lr=0.001),
     lambda L, o: L.CosineAnnealingLR(o, T_max=40, eta_min=0.001), 0.1, 40),
    ("SequentialLR", LinearWarmup(CosineAnnealing(0.1, 30), 10, start_factor=0.1),
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=10),
                                     L.CosineAnnealingLR(o, T_max=30)], milestones=[10]),
     0.1, 40),
]


@pytest.mark.parametrize("name, ours, make, base_lr, steps", TORCH_CASES,
                         ids=[c[0] for c in TORCH_CASES])
def test_schedule_matches_torch(name, ours, make, base_lr, steps):
    theirs = torch_lrs(make, base_lr, steps)
    np.testing.assert_allclose([ours(t) for t in range(steps + 1)], theirs, rtol=1e-12,
                               atol=1e-17)


@pytest.mark.parametrize("total_steps, pct_start", [(100, 0.3), (37, 0.25), (1000, 0.45)])
def test_one_cycle_matches_torch(total_steps, pct_start):
    ours = OneCycle(0.5, total_steps, pct_start=pct_start, div_factor=10.0, final_div_factor=100)
    theirs = torch_lrs(lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=total_steps,
                                                 pct_start=pct_start, div_factor=10.0,
                                                 final_div_factor=100),
                       0.5, total_steps, momentum=0.9)
    np.testing.assert_allclose([ours(t) for t in range(total_steps + 1)], theirs, rtol=1e-12)


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    losses = np.concatenate([np.linspace(2, 1, 20), np.full(15, 1.0), 1 - 1e-5 * np.arange(10),
                             0.5 + 0.1 * rng.random(60)])
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3,
                                                        threshold=1e-3, min_lr=0.01)
    ours = ReduceLROnPlateau(0.3, factor=0.5, patience=3, threshold=1e-3, min_lr=0.01)
    for loss in losses:
        theirs.step(float(loss))
        assert ours.step(loss) == opt.param_groups[0]["lr"]
    assert ours.lr < 0.3 / 4                   # the sequence did trigger several cuts


# ---------------------------------------------------------------------------
# Round 3: OneCycle blames what the caller passed

def test_one_cycle_blames_total_steps_when_it_is_too_short_for_any_warm_up():
    with pytest.raises(ValueError, match=r"^OneCycle: total_steps must be an integer >= 2, got 1$"):
        OneCycle(1.0, 1)
    with pytest.raises(ValueError, match=r"OneCycle: pct_start \* total_steps must be a number > 1 .*"
                                         r"raise total_steps or pct_start\), got '0\.3 \* 3 = 0\.9'"):
        OneCycle(1.0, 3)
    with pytest.raises(ValueError, match=r"^OneCycle: pct_start must be a number in \(0, 1\), got 0\.0$"):
        OneCycle(1.0, 100, pct_start=0.0)


def test_one_cycle_past_its_end_and_a_diverged_loss_name_the_argument():
    with pytest.raises(ValueError, match=r"^OneCycle: step must be at most total_steps = 10 .*got 11$"):
        OneCycle(1.0, 10)(11)
    with pytest.raises(ValueError, match=r"^BoldDriver\.step: loss must be a finite number \(at step 1 .*got nan$"):
        BoldDriver(0.1).step(math.nan)


# ----- round 5: a 0-d integer array is a step count, as in PyTorch --------------------------------

@pytest.mark.parametrize("make", [
    lambda n: Constant(0.1), lambda n: StepDecay(1.0, n, 0.5), lambda n: PolynomialDecay(1.0, n),
    lambda n: CosineAnnealing(1.0, n), lambda n: LinearWarmup(Constant(1.0), n), lambda n: OneCycle(1.0, n),
])
def test_a_0d_integer_array_is_a_step_and_a_count(make):
    assert make(np.array(4))(np.array(3)) == make(4)(3)
    with pytest.raises(TypeError, match="step must be a non-negative integer"):
        make(4)(np.array(3.0))
