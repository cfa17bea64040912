"""The checkers of exercises 3 accept a right answer, name each typical mistake, and refuse the course's own code.

The visible check of each exercise exercises every argument its task names, at values other than the
defaults too, so an answer that hard-codes one fails at once (issue 15, item 5).
"""
import math

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import casebook
from gradcourse import exercises as ex
from gradcourse import functional as F

from checking import ResidualBlock, fails_with, passes


# ----- 3.1 cosine annealing -------------------------------------------------------------------
def cosine_lr(t, lr_max, total_steps, lr_min=0.0):
    t = min(t, total_steps)
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / total_steps)) / 2


def test_cosine_lr(capsys):
    passes(ex.check_cosine_lr, cosine_lr, capsys)
    ex.check_cosine_lr(cosine_lr, lr_max=1.0, total_steps=40, lr_min=0.05, then=(0.2, 64))
    unclamped = lambda t, a, T, b=0.0: b + (a - b) * (1 + math.cos(math.pi * t / T)) / 2
    fails_with(ex.check_cosine_lr, unclamped, "at t = 150", "climbs back up")
    no_half = lambda t, a, T, b=0.0: b + (a - b) * (1 + math.cos(math.pi * min(t, T) / T))
    fails_with(ex.check_cosine_lr, no_half, "factor 1/2")
    no_pi = lambda t, a, T, b=0.0: b + (a - b) * (1 + math.cos(min(t, T) / T)) / 2
    fails_with(ex.check_cosine_lr, no_pi, "pi is missing")
    backwards = lambda t, a, T, b=0.0: b + (a - b) * (1 - math.cos(math.pi * min(t, T) / T)) / 2
    fails_with(ex.check_cosine_lr, backwards, "runs backwards")


def test_a_cosine_that_ignores_lr_min_fails_the_visible_check():
    """(it printed ✓ before: the visible check used only lr_min = 0)"""
    ignores = lambda t, a, T, b=0.0: cosine_lr(t, a, T)
    fails_with(ex.check_cosine_lr, ignores, "cosine_lr(t, 0.1, 100, 0.01)", "lr_min is ignored", "instead of lr_min = 0.01")
    scales_lr_max = lambda t, a, T, b=0.0: b + a * (1 + math.cos(math.pi * min(t, T) / T)) / 2
    fails_with(ex.check_cosine_lr, scales_lr_max, "scales lr_max instead of (lr_max - lr_min)")


def test_the_default_lr_min_is_checked_too():
    fails_with(ex.check_cosine_lr, lambda t, a, T, b: cosine_lr(t, a, T, b), "raised TypeError", "signature")
    fails_with(ex.check_cosine_lr, lambda t, a, T, b=0.01: cosine_lr(t, a, T, b),
               "lr_min left at its default", "with lr_min = 0.0 by default")


def test_a_cosine_with_a_hard_coded_lr_max_or_total_steps_fails_the_visible_check():
    """(reviewers' answers that printed ✓ before: the visible check used lr_max = 0.1, T = 100 only)"""
    fixed_steps = lambda t, a, T, b=0.0: b + (a - b) * (1 + math.cos(math.pi * min(t, 100) / 100)) / 2
    fails_with(ex.check_cosine_lr, fixed_steps, "cosine_lr(t, 0.5, 40)", "total_steps is ignored")
    fixed_lr = lambda t, a, T, b=0.0: b + (0.1 - b) * (1 + math.cos(math.pi * min(t, T) / T)) / 2
    fails_with(ex.check_cosine_lr, fixed_lr, "cosine_lr(t, 0.5, 40)", "lr_max is ignored")
    fixed_lr_min = lambda t, a, T, b=0.0: 0.01 + (a - 0.01) * (1 + math.cos(math.pi * min(t, T) / T)) / 2
    fails_with(ex.check_cosine_lr, fixed_lr_min, "lr_min left at its default")


def test_a_cosine_that_returns_none_says_so():
    def no_return(t, lr_max, total_steps, lr_min=0.0):
        lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)) / 2
    fails_with(ex.check_cosine_lr, no_return, "returned None: add a return")


# ----- 3.2 one step of Adam -------------------------------------------------------------------
def adam_step(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              correct=True, eps_inside=False, t_shift=0):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    tc = t + t_shift
    m_hat = m / (1 - beta1**tc) if correct else m
    v_hat = v / (1 - beta2**tc) if correct else v
    denominator = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return theta - lr * m_hat / denominator, m, v


def test_adam_step(capsys):
    passes(ex.check_adam_step, adam_step, capsys)
    ex.check_adam_step(adam_step, lr=0.01, beta1=0.5, beta2=0.9, eps=1e-2, default_lr=0.2)
    fails_with(ex.check_adam_step, lambda *a: adam_step(*a, correct=False), "bias correction is missing")
    fails_with(ex.check_adam_step, lambda *a: adam_step(*a, eps_inside=True), "epsilon is inside the square root")
    fails_with(ex.check_adam_step, lambda *a: adam_step(*a, t_shift=-1), "uses t - 1", "t = 1")
    fails_with(ex.check_adam_step, lambda *a: adam_step(*a, t_shift=1), "uses t + 1")

    def returns_m_hat(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        new_theta, m, v = adam_step(theta, g, m, v, t, lr, beta1, beta2, eps)
        return new_theta, m / (1 - beta1**t), v
    fails_with(ex.check_adam_step, returns_m_hat, "raw running average m_t")


def test_an_adam_with_hard_coded_betas_or_eps_fails_the_visible_check():
    """(it printed ✓ before: the visible check used the default betas)"""
    def hard_coded(*names):
        def step(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            given = {"beta1": beta1, "beta2": beta2, "eps": eps}
            given.update({name: {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}[name] for name in names})
            return adam_step(theta, g, m, v, t, lr, **given)
        return step
    # (at t = 1 the bias correction cancels the betas out of theta: the returned m_1 shows them)
    fails_with(ex.check_adam_step, hard_coded("beta1", "beta2"), "at step t = 1", "beta1 = 0.9 (the default)",
               "beta1 is ignored")
    fails_with(ex.check_adam_step, hard_coded("beta2"), "at step t = 1", "beta2 = 0.999 (the default)",
               "beta2 is ignored")
    fails_with(ex.check_adam_step, hard_coded("eps"), "at step t = 1", "eps is ignored", "eps = 1e-08 (the default)",
               "not with the eps = 0.001 passed in")
    fails_with(ex.check_adam_step, hard_coded("beta1", "beta2", "eps"), "eps is ignored")


def test_the_default_betas_and_eps_are_checked_too():
    def wrong_default(theta, g, m, v, t, lr, beta1=0.9, beta2=0.99, eps=1e-8):
        return adam_step(theta, g, m, v, t, lr, beta1, beta2, eps)
    fails_with(ex.check_adam_step, wrong_default, "beta1, beta2 and eps left at their defaults", "at step t = 1")
    no_defaults = lambda theta, g, m, v, t, lr, beta1, beta2, eps: adam_step(theta, g, m, v, t, lr, beta1, beta2, eps)
    fails_with(ex.check_adam_step, no_defaults, "raised TypeError", "signature")


def test_an_adam_with_a_hard_coded_lr_or_other_constants_fails_the_visible_check():
    """(a reviewer's answer that printed ✓ before: the visible check used lr = 0.1 only)"""
    def fixed_lr(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        return adam_step(theta, g, m, v, t, 0.1, beta1, beta2, eps)
    fails_with(ex.check_adam_step, fixed_lr, "adam_step(theta, g, m, v, t, 0.03)", "lr is ignored")

    def fixed_beta1(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        return adam_step(theta, g, m, v, t, lr, 0.8, beta2, eps)
    fails_with(ex.check_adam_step, fixed_beta1, "left at their defaults", "beta1 is ignored")

    def fixed_eps(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        return adam_step(theta, g, m, v, t, lr, beta1, beta2, 1e-3)
    fails_with(ex.check_adam_step, fixed_eps, "left at their defaults", "eps is ignored")


def test_an_adam_that_returns_none_says_so():
    def no_return(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        adam_step(theta, g, m, v, t, lr, beta1, beta2, eps)
    fails_with(ex.check_adam_step, no_return, "returned None: add a return")


# ----- 3.3 a residual block -------------------------------------------------------------------


def test_residual_block(capsys):
    passes(ex.check_residual_block, ResidualBlock, capsys)
    ex.check_residual_block(ResidualBlock, width=7, seed=31)

    class NoSkip(ResidualBlock):
        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    class ReluAfter(ResidualBlock):
        def forward(self, x):
            return F.relu(x + self.fc2(F.relu(self.fc1(x))))

    class NoRelu(ResidualBlock):
        def forward(self, x):
            return x + self.fc2(self.fc1(x))

    class Detached(ResidualBlock):
        def forward(self, x):
            return gc.tensor(x.data) + self.fc2(F.relu(self.fc1(x)))

    fails_with(ex.check_residual_block, NoSkip, "skip connection is missing")
    fails_with(ex.check_residual_block, ReluAfter, "relu is applied after the addition")
    fails_with(ex.check_residual_block, NoRelu, "relu between fc1 and fc2 is missing")
    fails_with(ex.check_residual_block, Detached, "gradient reaching x")

    class NoReturn(ResidualBlock):
        def forward(self, x):
            x + self.fc2(F.relu(self.fc1(x)))
    fails_with(ex.check_residual_block, NoReturn, "returned None: add a return")


# ----- 3.4 clipping by global norm -----------------------------------------------------------
def clip_grad_norm(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return total


def test_clip_grad_norm(capsys):
    passes(ex.check_clip_grad_norm, clip_grad_norm, capsys)

    def assigns(params, max_norm):  # p.grad = ... instead of in place, and PyTorch's 1e-6
        grads = [p for p in params if p.grad is not None]
        total = math.sqrt(sum(float(np.sum(p.grad**2)) for p in grads))
        for p in grads:
            p.grad = p.grad * min(1.0, max_norm / (total + 1e-6))
        return total
    passes(ex.check_clip_grad_norm, assigns, capsys)

    def per_parameter(params, max_norm):
        for p in params:
            norm = np.linalg.norm(p.grad)
            if norm > max_norm:
                p.grad *= max_norm / norm
        return math.sqrt(sum(float(np.sum(p.grad**2)) for p in params))

    def returns_after(params, max_norm):
        clip_grad_norm(params, max_norm)
        return math.sqrt(sum(float(np.sum(p.grad**2)) for p in params if p.grad is not None))

    def always_scales(params, max_norm):
        total = math.sqrt(sum(float(np.sum(p.grad**2)) for p in params))
        for p in params:
            p.grad *= max_norm / total
        return total

    def scales_copies(params, max_norm):
        grads = [p.grad.copy() for p in params]
        total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
        for g in grads:
            g *= min(1.0, max_norm / total)
        return total

    def sum_of_norms(params, max_norm):
        grads = [p.grad for p in params if p.grad is not None]
        total = sum(float(np.linalg.norm(g)) for g in grads)
        for g in grads:
            g *= min(1.0, max_norm / total)
        return total

    def squared(params, max_norm):
        total = clip_grad_norm(params, max_norm)
        return total**2

    fails_with(ex.check_clip_grad_norm, per_parameter, "clipped on its own")
    fails_with(ex.check_clip_grad_norm, returns_after, "norm after clipping")
    fails_with(ex.check_clip_grad_norm, always_scales, "only scale down")
    fails_with(ex.check_clip_grad_norm, scales_copies, "did not change")
    fails_with(ex.check_clip_grad_norm, sum_of_norms, "max_norm / 17", "sum of the parameters' norms")
    fails_with(ex.check_clip_grad_norm, squared, "the squared norm")


def test_a_parameter_without_a_gradient_is_checked_visibly():
    """(only a hidden test checked it before, though the task states it)"""
    def no_skip(params, max_norm):
        total = math.sqrt(sum(float(np.sum(p.grad**2)) for p in params))
        for p in params:
            p.grad *= min(1.0, max_norm / total)
        return total
    fails_with(ex.check_clip_grad_norm, no_skip, "a parameter whose .grad is None", "TypeError", "skip")

    def fills_it(params, max_norm):
        total = clip_grad_norm(params, max_norm)
        for p in params:
            if p.grad is None:
                p.grad = np.zeros(p.shape)
        return total
    fails_with(ex.check_clip_grad_norm, fills_it, "whose .grad was None")


def test_clip_grad_norm_refuses_the_course_s_norm_and_says_when_it_returns_none():
    """(a reviewer's answer: gc.optim.grad_norm computes the joint norm, the core of the exercise)"""
    def with_grad_norm(params, max_norm):
        total = gc.optim.grad_norm(params)
        for p in params:
            if p.grad is not None and total > max_norm:
                p.grad *= max_norm / total
        return total
    fails_with(ex.check_clip_grad_norm, with_grad_norm, "runs gradcourse.optim.grad_norm", "scores 0")

    def no_return(params, max_norm):
        clip_grad_norm(params, max_norm)
    fails_with(ex.check_clip_grad_norm, no_return, "returned None: add a return")

    def fixed_norm(params, max_norm):  # the joint norm of the first gradients, hard-coded
        for p in params:
            if p.grad is not None and 13 > max_norm:
                p.grad *= max_norm / 13
        return 13.0
    fails_with(ex.check_clip_grad_norm, fixed_norm, "with max_norm = 1.5")


def test_clip_grad_norm_is_checked_at_several_max_norms():
    def fixed_max_norm(params, max_norm):
        return clip_grad_norm(params, 6.5 if max_norm < 13 else max_norm)
    fails_with(ex.check_clip_grad_norm, fixed_max_norm, "with max_norm = 1.3")


# ----- 3.5 case 5: measure, diagnose, repair --------------------------------------------------
def train_step(model, optimizer, xb, yb, clip=None, where="before"):
    """A step of SGD on case 5, clipped at casebook.CASE5_MAX_NORM by `clip` (the course's by default)."""
    clip = clip or gc.optim.clip_grad_norm_
    optimizer.zero_grad()
    loss = F.cross_entropy(model(gc.tensor(xb)), yb)
    loss.backward()
    if where == "before":
        clip(model.parameters(), casebook.CASE5_MAX_NORM)
    optimizer.step()
    if where == "after":
        clip(model.parameters(), casebook.CASE5_MAX_NORM)
    return loss.item()


def test_case5_repair(capsys):
    ex.check_case5_repair(train_step)
    out = capsys.readouterr().out
    assert out.startswith("✓ train_step takes a step of SGD on its batch's clipped gradient") and \
        "✓ case 5 trained with train_step" in out

    def zero_grad_after(model, optimizer, xb, yb):  # clears the gradients after the step instead: fine
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()
    ex.check_case5_repair(zero_grad_after, seeds=(0,))

    def with_my_clip(model, optimizer, xb, yb):
        return train_step(model, optimizer, xb, yb, clip=clip_grad_norm)
    ex.check_case5_repair(with_my_clip, seeds=(3,))


def test_a_step_that_clips_after_the_step_or_not_at_all_is_named_from_its_measured_length():
    after = lambda model, optimizer, xb, yb: train_step(model, optimizer, xb, yb, where="after")
    fails_with(ex.check_case5_repair, after, "clips after the step", "moved the weights by 1.58",
               "lr × max_norm = 0.5", "holds a gradient of norm 0.1")
    never = lambda model, optimizer, xb, yb: train_step(model, optimizer, xb, yb, where="nowhere")
    fails_with(ex.check_case5_repair, never, "does not clip the gradient before the step", "moved the weights by 1.58")

    def too_loose(model, optimizer, xb, yb):  # clipping at 1: this batch's gradient (0.316) is left as it is
        return train_step(model, optimizer, xb, yb, clip=lambda ps, _: gc.optim.clip_grad_norm_(ps, 1.0))
    fails_with(ex.check_case5_repair, too_loose, "does not clip", "at a max_norm above 0.316")


def test_a_step_that_forgets_zero_grad_is_named_from_its_second_step():
    """(a reviewer's answer that scored 3/3 before: its clipped accumulated gradient still trains case 5)"""
    def forgets(model, optimizer, xb, yb):
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case5_repair, forgets, "second step", "the gradients accumulate", "optimizer.zero_grad()")


def test_a_step_that_clips_by_value_is_named():
    by_value = lambda model, optimizer, xb, yb: train_step(
        model, optimizer, xb, yb, clip=gc.optim.clip_grad_value_)
    # (seed 0's first gradient has no entry above 0.1: clipping by value leaves it as it is)
    fails_with(ex.check_case5_repair, by_value, "does not clip", "by value (clip_grad_value_)", "largest entry")
    # (seed 4's has: clipping by value turns the step)
    fails_with(lambda step: ex.check_case5_repair(step, seeds=(4,)), by_value, "clipped by value",
               "clip_grad_value_")


def test_a_step_that_returns_no_loss_says_so():
    def no_return(model, optimizer, xb, yb):
        train_step(model, optimizer, xb, yb)
    fails_with(ex.check_case5_repair, no_return, "returned None: add a return", "loss.item()")

    def returns_a_tensor(model, optimizer, xb, yb):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        gc.optim.clip_grad_norm_(model.parameters(), casebook.CASE5_MAX_NORM)
        optimizer.step()
        return loss
    fails_with(ex.check_case5_repair, returns_a_tensor, "returned a Tensor")


def test_a_lower_learning_rate_is_not_a_repair():
    """Case 5 trains at lr = 5 on purpose: a step that lowers the rate, however it does it, is refused."""
    def lowers_lr(model, optimizer, xb, yb):
        optimizer.lr = 0.1
        return train_step(model, optimizer, xb, yb, where="nowhere")
    fails_with(ex.check_case5_repair, lowers_lr, "changed optimizer.lr from 5 to 0.1", "Leave optimizer.lr")

    def shrinks_the_gradient(model, optimizer, xb, yb):  # the same as lr = 0.1, without touching optimizer.lr
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        for p in model.parameters():
            p.grad *= 0.02
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case5_repair, shrinks_the_gradient, "wrong length", "0.0316")


def test_a_step_clipping_each_gradient_on_its_own_is_named():
    def per_parameter(params, max_norm):
        for p in params:
            norm = np.linalg.norm(p.grad)
            if norm > max_norm:
                p.grad *= max_norm / norm
    step = lambda model, optimizer, xb, yb: train_step(model, optimizer, xb, yb, clip=per_parameter)
    fails_with(ex.check_case5_repair, step, "does not point against its batch's gradient", "clipped on its own")


def test_case5_refuses_the_course_s_steps_and_says_when_the_step_is_not_written():
    fails_with(ex.check_case5_repair, casebook.algorithms._case5_step, "gradcourse.casebook.algorithms._case5_step",
               "scores 0")
    fails_with(ex.check_case5_repair, casebook._step, "scores 0")

    def not_yet(model, optimizer, xb, yb):
        raise NotImplementedError()
    fails_with(ex.check_case5_repair, not_yet, "not_yet is not written yet")


@pytest.mark.parametrize("name", ["lr_too_high", "lr_too_low", "exploding_init", "forgotten_zero_grad"])
def test_case5_s_cause_is_not_a_learning_rate_nor_an_initialisation(name):
    fails_with(lambda cause: ex.check_cause(5, cause), name, f'"{name}"', "is not what went wrong in case 5")


def test_the_checkers_leave_the_course_generator_alone(capsys):
    gc.manual_seed(0)
    before = gc.rng.generator().bit_generator.state
    ex.check_case5_repair(train_step, seeds=(0,))
    ex.check_clip_grad_norm(clip_grad_norm)
    assert gc.rng.generator().bit_generator.state == before


def test_a_spectral_norm_is_not_the_joint_norm(capsys):
    """(np.linalg.norm(g, 2) of a matrix is its largest singular value, not the root of its summed squares)"""
    def clip_with_spectral_norms(params, max_norm):
        grads = [p.grad for p in params if p.grad is not None]
        total = float(np.sqrt(sum(np.linalg.norm(g, 2) ** 2 for g in grads)))
        if total > max_norm:
            for g in grads:
                g *= max_norm / total
        return total
    fails_with(ex.check_clip_grad_norm, clip_with_spectral_norms, "with max_norm = 1.5 the gradients should be")


def test_a_type_error_inside_the_body_is_not_blamed_on_the_signature():
    def adam_step(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        return theta - lr * (m / (1 - beta1**t)) / (math.sqrt(v / (1 - beta2**t)) + eps), m, v
    with pytest.raises(TypeError) as error:  # the student's own error, with their own traceback
        ex.check_adam_step(adam_step)
    assert not isinstance(error.value, ex.ExerciseError) and "signature" not in str(error.value)
