"""Case 5 (exercise 3.5): its broken run fails and its repair passes, with the margins its threshold rests on.

For instructors (the package's docstrings do not say it): case 5 trains a ReLU network on the digits
with SGD at lr = CASE5_LR = 5 and clips the joint gradient norm at CASE5_MAX_NORM = 0.1, but after
`optimizer.step()`, where clipping changes nothing; its cause is "clip_after_step". The broken step
is the shared `_step` wrapped by `_with_clipping`. Measured over seeds 0-9:

    run                                    test accuracy, seeds 0-9
    broken (clipped after the step)        0.098 to 0.102   (peak loss 6 to 2e43)
    repaired (clipped before the step)     0.962 to 0.980

so THRESHOLDS[5] = 0.9 passes every repaired seed by at least 0.062 and fails every broken one by
at least 0.79. The reference repair lives here and in the solutions notebook, not in the package.

How a student tells the cause from the decoys (the measurement the notebook leaves to them, with an
after_step hook): in every seed 0-9, some steps of the broken run move the weights by far more than
lr x max_norm = 0.5 (the longest 35 to 5e31), which a step of SGD on a clipped gradient cannot do,
while `gc.optim.grad_norm` of the .grad a step leaves is at most 0.1 after every step: the gradients
are clipped, but only after the step used them. lr_too_high would show steps of at most 0.5 (clipping
bounds them); forgotten_zero_grad or exploding_init would not bring the step past 0.5 either, were
the clipping before the step. A repair that forgets zero_grad still reaches 0.93 to 0.98 (the
clipping bounds the accumulated gradient), so the checker measures the second step of a repair;
clipping by value (clip_grad_value_ at 0.1) reaches only 0.10 to 0.60.
"""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import casebook
from gradcourse import functional as F

SEEDS = range(10)
LOWEST_REPAIRED, HIGHEST_BROKEN = 0.962, 0.102  # seeds 0-9


def clip_before_step(model, optimizer, xb, yb):
    """The reference repair: clear, backward, clip, step."""
    optimizer.zero_grad()
    loss = F.cross_entropy(model(gc.tensor(xb)), yb)
    loss.backward()
    gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)
    optimizer.step()
    return loss.item()


def test_the_threshold_separates_every_repaired_seed_from_every_broken_one():
    repaired = np.array(casebook.case5_measure(clip_before_step, SEEDS))
    broken = np.array(casebook.case5_measure(None, SEEDS))
    assert repaired.min() == pytest.approx(LOWEST_REPAIRED, abs=0.0015), repaired
    assert broken.max() == pytest.approx(HIGHEST_BROKEN, abs=0.0015), broken
    threshold = casebook.threshold(5)
    assert repaired.min() - threshold >= 0.06 and threshold - broken.max() >= 0.79


def test_the_broken_run_blows_up_exactly_as_a_run_without_clipping():
    """Clipping after the step changes .grad, which the next step clears: the run is the unclipped one."""
    def no_clipping(model, optimizer, xb, yb):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        optimizer.step()
        return loss.item()
    for seed in (0, 1):
        broken, unclipped = casebook.case5_training(seed), casebook.case5_training(seed, no_clipping)
        assert np.array_equal(broken.loss, unclipped.loss)
        assert max(broken.loss) > 2.5 * broken.loss[0]  # (it spikes: the peak in seeds 0-9 is 6 to 2e43)


def test_the_first_two_steps_must_be_clipped_in_every_seed():
    """The checker measures a repair's first two steps: each batch's gradient must be well above max_norm."""
    for seed in SEEDS:
        model = casebook._mlp(seed)
        optimizer = gc.optim.SGD(model.parameters(), lr=casebook.CASE5_LR)
        for xb, yb in casebook._batches(seed, steps=2):
            optimizer.zero_grad()
            F.cross_entropy(model(gc.tensor(xb)), yb).backward()
            assert gc.optim.grad_norm(model.parameters()) > 2 * casebook.CASE5_MAX_NORM, seed
            gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)
            optimizer.step()


def test_the_measurement_the_notebook_leaves_to_the_student_tells_the_cause():
    """Some steps are far longer than lr x max_norm, though .grad after each step has norm <= max_norm."""
    bound = casebook.CASE5_LR * casebook.CASE5_MAX_NORM
    for seed in SEEDS:
        weights, lengths, grad_norms = {}, [], []

        def record(model, t):
            weights[t] = [p.data.copy() for p in model.parameters()]
            grad_norms.append(gc.optim.grad_norm(model.parameters()))
            if t > 1:
                lengths.append(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(weights[t], weights.pop(t - 1)))))
        casebook.case5_training(seed, after_step=record)
        assert max(lengths) > 50 * bound, (seed, max(lengths))
        assert max(grad_norms) <= casebook.CASE5_MAX_NORM * (1 + 1e-6), seed


def test_case5_has_its_named_cause_and_after_step_sees_every_step():
    assert [name for name in casebook.CAUSES if casebook._is_cause(5, name)] == ["clip_after_step"]
    seen = []
    run = casebook.case5_training(0, after_step=lambda model, t: seen.append(t))
    assert seen == list(range(1, casebook.STEPS + 1)) and len(run.loss) == casebook.STEPS


def test_a_non_finite_gradient_ends_the_run_instead_of_raising():
    def explodes(model, optimizer, xb, yb):
        for p in model.parameters():
            p.grad = np.full(p.shape, np.nan)
        optimizer.step()  # (SGD refuses a nan gradient with a FloatingPointError)
        return 1.0
    run = casebook.case5_training(0, explodes)
    assert len(run.loss) == 1 and np.isnan(run.loss[0]) and run.test_accuracy == 0.0
