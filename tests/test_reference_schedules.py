"""Every schedule against its torch.optim.lr_scheduler counterpart, with drawn settings.

Each schedule drives a gradcourse optimiser through `LRScheduler`, and the PyTorch scheduler a
torch optimiser; the rate after 0, 1, 2, ... calls of `.step()` must agree. Which PyTorch scheduler
each schedule matches, and with which conventions, is in its docstring (gradcourse/schedules.py).
`BoldDriver` has no PyTorch counterpart. Profiles ("ci", fixed and small; "dev", more) are in
tests/conftest.py.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import gradcourse as gc
from gradcourse import optim, schedules as S

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler


def lrs_of_ours(schedule, steps, losses=None):
    """optimizer.lr after 0, 1, ..., steps calls of LRScheduler.step (given the losses, if any)."""
    optimizer = optim.SGD([gc.tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    scheduler = S.LRScheduler(optimizer, schedule)
    lrs = [optimizer.lr]
    for t in range(steps):
        scheduler.step(None if losses is None else losses[t])
        lrs.append(optimizer.lr)
    return np.array(lrs)


def lrs_of_torch(make_scheduler, base_lr, steps, losses=None, momentum=0.0):
    """The torch optimiser's lr after 0, 1, ..., steps calls of scheduler.step()."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr, momentum=momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (SequentialLR's and the closed forms' deprecation notices)
        scheduler = make_scheduler(optimizer)
        lrs = [optimizer.param_groups[0]["lr"]]
        for t in range(steps):
            optimizer.step()
            scheduler.step() if losses is None else scheduler.step(losses[t])
            lrs.append(optimizer.param_groups[0]["lr"])
    return np.array(lrs)


def assert_same_rates(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


base_lrs = st.floats(1e-3, 1.0)
lengths = st.integers(1, 40)


@st.composite
def step_driven(draw):
    """(our schedule, a maker of the PyTorch scheduler, base lr, steps to compare)."""
    lr, kind = draw(base_lrs), draw(st.sampled_from(["Constant", "StepLR", "ExponentialLR", "PolynomialLR",
                                                     "CosineAnnealingLR"]))
    if kind == "Constant":
        return S.Constant(lr), lambda o: L.LambdaLR(o, lambda t: 1.0), lr, draw(lengths)
    if kind == "StepLR":
        size, gamma = draw(st.integers(1, 10)), draw(st.floats(0.05, 1.0))
        return S.StepDecay(lr, size, gamma), lambda o: L.StepLR(o, size, gamma), lr, draw(lengths)
    if kind == "ExponentialLR":
        gamma = draw(st.floats(0.5, 1.0))
        return S.ExponentialDecay(lr, gamma), lambda o: L.ExponentialLR(o, gamma), lr, draw(lengths)
    total = draw(lengths)
    if kind == "PolynomialLR":
        power = draw(st.floats(0.5, 3.0))
        return (S.PolynomialDecay(lr, total, power), lambda o: L.PolynomialLR(o, total_iters=total, power=power),
                lr, total + draw(st.integers(0, 5)))  # (past the end both stay at 0)
    min_lr = draw(st.floats(0.0, 1.0)) * lr
    # (only up to T: past it PyTorch climbs back along the cosine, ours stays at min_lr, as documented)
    return (S.CosineAnnealing(lr, total, min_lr), lambda o: L.CosineAnnealingLR(o, T_max=total, eta_min=min_lr),
            lr, total)


@given(case=step_driven())
def test_step_driven_schedule_like_torch(case):
    ours, make_theirs, lr, steps = case
    assert_same_rates(lrs_of_ours(ours, steps), lrs_of_torch(make_theirs, lr, steps))


@given(case=step_driven(), warmup=st.integers(1, 10), start_factor=st.floats(0.01, 1.0))
def test_linear_warmup_like_torch_sequential_lr(case, warmup, start_factor):
    """LinearWarmup(inner, W, s) is SequentialLR([LinearLR(s, total_iters=W), inner], milestones=[W])."""
    inner, make_inner, lr, steps = case
    ours = S.LinearWarmup(inner, warmup, start_factor=start_factor)

    def make_theirs(o):
        return L.SequentialLR(o, [L.LinearLR(o, start_factor=start_factor, total_iters=warmup), make_inner(o)],
                              milestones=[warmup])
    assert_same_rates(lrs_of_ours(ours, warmup + steps), lrs_of_torch(make_theirs, lr, warmup + steps))


@given(max_lr=base_lrs, total=st.integers(4, 200), pct_start=st.floats(0.05, 0.95),
       div_factor=st.floats(1.0, 100.0), final_div_factor=st.floats(1.0, 1e4))
def test_one_cycle_like_torch(max_lr, total, pct_start, div_factor, final_div_factor):
    """OneCycleLR (cos, two phases), up to and including step total_steps, as PyTorch allows."""
    assume(1 < pct_start * total < total - 1)  # (both phases longer than one step: OneCycle's rule)
    ours = S.OneCycle(max_lr, total, pct_start, div_factor, final_div_factor)
    theirs = lrs_of_torch(lambda o: L.OneCycleLR(o, max_lr=max_lr, total_steps=total, pct_start=pct_start,
                                                 div_factor=div_factor, final_div_factor=final_div_factor),
                          max_lr, total, momentum=0.9)
    assert_same_rates(lrs_of_ours(ours, total), theirs)


# losses with plateaus: a few distinct levels, each repeated, some just below the best so far
plateau_losses = st.lists(st.sampled_from([1.0, 0.9, 0.8999, 0.5, 0.4999999, 0.2, 2.0]), min_size=1, max_size=60)


@given(losses=plateau_losses, lr=base_lrs, factor=st.floats(0.05, 0.95), patience=st.integers(0, 5),
       threshold=st.sampled_from([0.0, 1e-4, 1e-2]) | st.floats(0.0, 0.2), min_lr=st.floats(0.0, 1e-2))
def test_reduce_lr_on_plateau_like_torch(losses, lr, factor, patience, threshold, min_lr):
    ours = S.ReduceLROnPlateau(lr, factor=factor, patience=patience, threshold=threshold, min_lr=min_lr)
    theirs = lrs_of_torch(lambda o: L.ReduceLROnPlateau(o, factor=factor, patience=patience, threshold=threshold,
                                                        min_lr=min_lr), lr, len(losses), losses)
    assert_same_rates(lrs_of_ours(ours, len(losses), losses), theirs)
