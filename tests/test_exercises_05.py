"""The checkers of notebook 5 (future directions): each accepts a right answer, names the typical wrong
ones, and refuses the course's own implementation. (test_exercises.py also uses exercise 5.1's
layer_norm in its sections on what a student sees and on answers within reach.)"""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import casebook, experiments, nn
from gradcourse import exercises as ex
from gradcourse import functional as F
from gradcourse.autograd import record_op

from checking import batchnorm_train_step, fails_with, passes


# ----- 5.1 layer_norm: the visible check uses the eps it passes -----------------------------------
def layer_norm(x, gamma, beta, eps=1e-5, axis=-1, ddof=0):
    mean = x.mean(axis=axis, keepdims=True)
    n = x.shape[axis]
    var = ((x - mean) ** 2).sum(axis=axis, keepdims=True) / (n - ddof)
    return gamma * (x - mean) / (var + eps).sqrt() + beta


def test_layer_norm_passes_and_names_the_usual_mistakes(capsys):
    passes(ex.check_layer_norm, layer_norm, capsys)
    passes(lambda f: ex.check_layer_norm(f, eps=1e-5, seed=51), layer_norm, capsys)
    fails_with(ex.check_layer_norm, lambda *a, eps: layer_norm(*a, eps=eps, ddof=1), "n - 1")
    fails_with(ex.check_layer_norm, lambda *a, eps: layer_norm(*a, eps=eps, axis=0), "BatchNorm")
    fails_with(ex.check_layer_norm, lambda x, g, b, eps: layer_norm(x, 1.0, 0.0, eps=eps), "gamma and beta")

    def eps_outside(x, gamma, beta, eps):
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return gamma * (x - mean) / (var.sqrt() + eps) + beta
    fails_with(ex.check_layer_norm, eps_outside, "eps is outside the square root")

    def numpy_only(x, gamma, beta, eps):
        xd = x.data
        out = (xd - xd.mean(-1, keepdims=True)) / np.sqrt(xd.var(-1, keepdims=True) + eps)
        return gc.tensor(out) * gamma + beta
    fails_with(ex.check_layer_norm, numpy_only, "no gradient reached x")


def test_a_hard_coded_eps_fails_the_visible_check():
    """Issue 15, item 5: the visible check passes eps = 0.01 on rows of variance about 0.01."""
    fails_with(ex.check_layer_norm, lambda x, g, b, eps=1e-5: layer_norm(x, g, b), "eps = 0.01",
               "eps is not the one passed in", "eps = 1e-05 (the default)")
    fails_with(ex.check_layer_norm, lambda x, g, b, eps=1e-5: layer_norm(x, g, b, eps=0.0), "eps is missing")


def test_layer_norm_is_checked_at_two_values_of_eps_and_a_missing_return_is_named():
    """Issue 15, item 5: every argument at two values in the visible check (an eps written in fails it)."""
    fails_with(ex.check_layer_norm, lambda x, g, b, eps=1e-5: layer_norm(x, g, b, eps=0.01), "eps=0.1",
               "it ignores eps: the result is that of eps = 0.01")

    def no_return(x, gamma, beta, eps=1e-5):
        layer_norm(x, gamma, beta, eps)
    fails_with(ex.check_layer_norm, no_return, "layer_norm(x, gamma, beta, eps=0.01) returned None: add a return")


# ----- 5.2 batch_norm: one record_op with a backward of one's own ---------------------------------
def make_batch_norm(forward=None, backward=None):
    """A batch_norm from record_op; `forward(xd, eps)` and `backward(g, x_hat, inv_std, gamma, n)` may be replaced."""
    def batch_norm(x, gamma, beta, eps=1e-5):
        xd, n = x.data, x.shape[0]
        inv_std = 1.0 / np.sqrt(xd.var(axis=0) + eps)
        x_hat = (xd - xd.mean(axis=0)) * inv_std if forward is None else forward(xd, eps)
        out = gamma.data * x_hat + beta.data

        def right(g, x_hat, inv_std, gamma, n):
            dx = gamma * inv_std / n * (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0))
            return dx, (g * x_hat).sum(0), g.sum(0)
        return record_op(out, (x, gamma, beta), lambda g: (backward or right)(g, x_hat, inv_std, gamma.data, n))
    return batch_norm


def right_backward(g, x_hat, inv_std, gamma, n):
    return gamma * inv_std / n * (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0)), (g * x_hat).sum(0), g.sum(0)


def with_dx(dx):
    return lambda g, x_hat, inv_std, gamma, n: (dx(g, x_hat, inv_std, gamma, n),) + right_backward(
        g, x_hat, inv_std, gamma, n)[1:]


def test_batch_norm_passes_at_every_setting_the_tests_use(capsys):
    passes(ex.check_batch_norm, make_batch_norm(), capsys)
    passes(lambda f: ex.check_batch_norm(f, eps=1e-5, n=32, features=5, seed=53), make_batch_norm(), capsys)
    passes(lambda f: ex.check_batch_norm(f, eps=0.1, n=2, features=3, seed=54), make_batch_norm(), capsys)


FORWARD_MISTAKES = [
    (lambda x, eps: (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps), "that is LayerNorm"),
    (lambda x, eps: (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps), "divided by n - 1"),
    (lambda x, eps: (x - x.mean(0)) / (x.std(0) + eps), "eps is outside the square root"),
    (lambda x, eps: (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), "eps is not the one passed in"),
    (lambda x, eps: (x - x.mean(0)) / x.std(0), "eps is missing"),
    (lambda x, eps: (x - x.mean(0)) / (x.var(0) + eps), "divides by the variance"),
]


@pytest.mark.parametrize("forward, phrase", FORWARD_MISTAKES, ids=[p for _, p in FORWARD_MISTAKES])
def test_batch_norm_forward_mistakes_are_named(forward, phrase):
    fails_with(ex.check_batch_norm, make_batch_norm(forward=forward), "eps=0.01", phrase)


BACKWARD_MISTAKES = [
    (with_dx(lambda g, x_hat, s, gamma, n: g * gamma * s), "x", "treats the batch's mean and variance as constants"),
    (with_dx(lambda g, x_hat, s, gamma, n: gamma * s * (g - g.mean(0))), "x", "comes through the variance"),
    (with_dx(lambda g, x_hat, s, gamma, n: gamma * s * (g - x_hat * (g * x_hat).mean(0))), "x",
     "comes through the mean"),
    (with_dx(lambda g, x_hat, s, gamma, n: gamma * s * (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0))), "x",
     "N = 6 times too large"),
    (with_dx(lambda g, x_hat, s, gamma, n: s / n * (n * g - g.sum(0) - x_hat * (g * x_hat).sum(0))), "x",
     "gamma is missing"),
    (lambda g, *rest: right_backward(np.ones_like(g), *rest), "x", "ignores the upstream gradient g"),
    (lambda g, x_hat, *rest: (right_backward(g, x_hat, *rest)[0], g.sum(0), (g * x_hat).sum(0)), "gamma",
     "dgamma and dbeta are swapped"),
    (lambda g, x_hat, *rest: (right_backward(g, x_hat, *rest)[0], g * x_hat, g.sum(0)), "gamma",
     "sum its gradient over the batch (axis 0)"),
    (lambda g, x_hat, *rest: (right_backward(g, x_hat, *rest)[0], (g * x_hat).sum(0), g.mean(0)), "beta",
     "its gradient is the sum"),
    (lambda g, *rest: right_backward(g, *rest)[:2], "beta", "return one gradient per parent"),
]


@pytest.mark.parametrize("backward, name, phrase", BACKWARD_MISTAKES, ids=[p for _, _, p in BACKWARD_MISTAKES])
def test_batch_norm_backward_mistakes_are_named(backward, name, phrase):
    fails_with(ex.check_batch_norm, make_batch_norm(backward=backward), name, phrase)


def test_batch_norm_is_checked_at_two_values_of_eps_in_forward_and_backward():
    fails_with(ex.check_batch_norm, make_batch_norm(forward=lambda x, eps: (x - x.mean(0)) / np.sqrt(x.var(0) + 0.01)),
               "eps=0.1", "it ignores eps")

    def backward_eps_written_in(x, gamma, beta, eps=1e-5):  # (right forward; its backward uses eps = 0.01)
        xd, n = x.data, x.shape[0]
        x_hat = (xd - xd.mean(axis=0)) / np.sqrt(xd.var(axis=0) + eps)
        written = (xd - xd.mean(axis=0)) / np.sqrt(xd.var(axis=0) + 0.01)
        return record_op(gamma.data * x_hat + beta.data, (x, gamma, beta), lambda g: right_backward(
            g, written, 1 / np.sqrt(xd.var(axis=0) + 0.01), gamma.data, n))
    fails_with(ex.check_batch_norm, backward_eps_written_in, "eps = 0.1", "the backward ignores eps")


def test_batch_norm_without_a_return_is_named():
    def no_return(x, gamma, beta, eps=1e-5):
        make_batch_norm()(x, gamma, beta, eps)
    fails_with(ex.check_batch_norm, no_return, "returned None: add a return")
    fails_with(ex.check_batch_norm, make_batch_norm(backward=lambda *args: None),
               "the backward of batch_norm(x, gamma, beta, eps=0.01) for x of shape (6, 4) returned None: "
               "add a return")


def test_batch_norm_must_be_one_record_op_with_its_own_backward():
    def tensor_operations(x, gamma, beta, eps=1e-5):
        centred = x - x.mean(axis=0)
        return centred / ((centred * centred).mean(axis=0) + eps).sqrt() * gamma + beta
    fails_with(ex.check_batch_norm, tensor_operations, "is right, but", "not one record_op", "a backward you write")


def test_the_course_s_batch_norm_is_refused():
    def course(x, gamma, beta, eps=1e-5):
        layer = nn.BatchNorm1d(x.shape[1], eps=eps)
        layer.weight, layer.bias = gamma, beta
        return layer(x)
    fails_with(ex.check_batch_norm, course, "runs gradcourse.nn.BatchNorm1d", "scores 0")


# ----- 5.3 set_forget_bias: the forget part of the biases, set, in both vectors together -----------
def set_forget_bias(lstm, value, ih=1.0):
    """The forget gate's bias set to value: a share `ih` of it in bias_ih, the rest in bias_hh."""
    H = lstm.hidden_size
    lstm.bias_ih.data[H:2 * H] = ih * value
    lstm.bias_hh.data[H:2 * H] = (1 - ih) * value


def test_set_forget_bias_passes_however_the_value_is_split(capsys):
    passes(ex.check_set_forget_bias, set_forget_bias, capsys)
    passes(ex.check_set_forget_bias, lambda lstm, value: set_forget_bias(lstm, value, ih=0.5), capsys)
    passes(lambda f: ex.check_set_forget_bias(f, value=-1.0, hidden=12, seed=56), set_forget_bias, capsys)
    ex.check_set_forget_bias(set_forget_bias)
    out = capsys.readouterr().out
    assert "at value = 1.5 and at -0.5" in out and "times larger at forget bias 2 than at 0" in out
    assert "In one LSTM(2, 16) (one seed" in out  # (the ratio is one network's, and says so)


@pytest.mark.parametrize("written_in", [1.5, 1.0, 0.0])
def test_a_set_forget_bias_that_ignores_value_is_told_so(written_in):
    """A reviewer's answer: the value written in. Named, whether or not it is the first value checked."""
    fails_with(ex.check_set_forget_bias, lambda lstm, value: set_forget_bias(lstm, written_in),
               "your function ignores value: set_forget_bias(lstm, 1.5) and set_forget_bias(lstm, -0.5)")


def wrong_forget_bias(kind):
    def set_forget_bias(lstm, value):
        H = lstm.hidden_size
        if kind == "input gate":
            lstm.bias_ih.data[:H], lstm.bias_hh.data[:H] = value, 0.0
        elif kind == "output gate":
            lstm.bias_hh.data[3 * H:] = value
        elif kind == "adds":
            lstm.bias_ih.data[H:2 * H] += value
        elif kind == "both":
            lstm.bias_ih.data[H:2 * H] = lstm.bias_hh.data[H:2 * H] = value
        elif kind == "bias_ih only":
            lstm.bias_ih.data[H:2 * H] = value
        elif kind == "a copy":
            bias = lstm.bias_ih.data.copy()
            bias[H:2 * H] = value
        elif kind == "weights":
            lstm.weight_hh.data[:, H:2 * H] = 0.0
            lstm.bias_ih.data[H:2 * H], lstm.bias_hh.data[H:2 * H] = value, 0.0
    return set_forget_bias


@pytest.mark.parametrize("kind, phrases", [
    ("input gate", ["entries 0 to 7 of lstm.bias_ih, the input gate i's part", "order i, f, g, o", "(8 to 15)"]),
    ("output gate", ["entries 24 to 31 of lstm.bias_hh, the output gate o's part"]),
    ("adds", ["it adds 1.5 to the forget gate's bias instead of setting it"]),
    ("both", ["both bias_ih and bias_hh hold 1.5", "so its bias is 3"]),
    ("bias_ih only", ["bias_hh's forget part still holds its initial random values"]),
    ("a copy", ["nothing changed", "in place"]),
    ("weights", ["changed lstm.weight_hh"]),
])
def test_set_forget_bias_mistakes_are_named(kind, phrases):
    fails_with(ex.check_set_forget_bias, wrong_forget_bias(kind), *phrases)


def test_the_course_s_lstm_constructor_is_refused():
    def rebuilt(lstm, value):
        lstm.__init__(lstm.input_size, lstm.hidden_size, forget_bias=value)
    fails_with(ex.check_set_forget_bias, rebuilt, "runs gradcourse.nn.LSTM", "scores 0")


# ----- 5.4 input_gradient_norms: |dL/dx_t| for L = h_T.sum() -------------------------------------
def input_gradient_norms(lstm, x, loss="last", order=1, norm=lambda g: np.linalg.norm(g, axis=(0, 2))):
    x = gc.tensor(x, requires_grad=True)
    outputs, (h_last, _) = lstm(x)
    {"last": h_last.sum(), "mean": h_last.mean(), "every": outputs.sum()}[loss].backward()
    return norm(x.grad)[::order]


def test_input_gradient_norms_passes(capsys):
    passes(ex.check_input_gradient_norms, input_gradient_norms, capsys)
    passes(lambda f: ex.check_input_gradient_norms(f, steps=5, batch=3, hidden=3, seed=57), input_gradient_norms,
           capsys)
    passes(ex.check_input_gradient_norms, lambda lstm, x: list(input_gradient_norms(lstm, x)), capsys)


def test_input_gradient_norms_is_checked_on_two_lengths_and_a_missing_return_is_named():
    def thirty_steps(lstm, x):
        return input_gradient_norms(lstm, x)[:30] if x.shape[1] >= 30 else np.zeros(30)
    fails_with(ex.check_input_gradient_norms, thirty_steps, "x of shape (5, 12, 2)", "has shape (30,)")

    def no_return(lstm, x):
        input_gradient_norms(lstm, x)
    fails_with(ex.check_input_gradient_norms, no_return, "returned None: add a return")


def hidden_state_gradients(lstm, x):
    _, (h_last, _) = lstm(gc.tensor(x))
    for h in lstm.hidden_states:
        h.retain_grad()
    h_last.sum().backward()
    return [np.linalg.norm(h.grad) for h in lstm.hidden_states]


@pytest.mark.parametrize("submission, phrase", [
    (lambda lstm, x: input_gradient_norms(lstm, x, order=-1), "in reverse order"),
    (lambda lstm, x: input_gradient_norms(lstm, x, loss="every"), "reads every step's hidden state"),
    (lambda lstm, x: input_gradient_norms(lstm, x, loss="mean"), "the loss is the mean of h_T"),
    (lambda lstm, x: input_gradient_norms(lstm, x, norm=lambda g: (g**2).sum(axis=(0, 2))), "squared norms"),
    (lambda lstm, x: input_gradient_norms(lstm, x, norm=lambda g: np.linalg.norm(g, axis=2)),
     "one number per example and step"),
    (hidden_state_gradients, "the gradient reaching the hidden state h_t, not the input x_t"),
])
def test_input_gradient_norms_mistakes_are_named(submission, phrase):
    fails_with(ex.check_input_gradient_norms, submission, phrase)


def test_measuring_must_leave_the_lstm_alone():
    def trains_it(lstm, x):
        norms = input_gradient_norms(lstm, x)
        for p in lstm.parameters():
            p.data -= 0.1 * p.grad
        return norms
    fails_with(ex.check_input_gradient_norms, trains_it, "changed the LSTM's parameters")


def test_the_course_s_measurement_is_refused():
    def course(lstm, x):
        experiments.gradient_through_time(length=x.shape[1], hidden=lstm.hidden_size, cell="lstm")
        return input_gradient_norms(lstm, x)
    fails_with(ex.check_input_gradient_norms, course, "runs gradcourse.experiments.gradient_through_time")


# ----- 5.5 case 6: BatchNorm left in eval mode ----------------------------------------------------
train_step = batchnorm_train_step


def test_case6_cause_and_repair_pass(capsys):
    ex.check_cause(6, "batchnorm_in_eval")
    passes(ex.check_case6_repair, train_step, capsys)


def step_with(before=None, train=True, after=None, loss_of=None, steps=1):
    """A train_step: `before(model, xb)` first, training mode if `train`, clear, forward, backward, `steps`
    optimiser steps, `after(model)`; returns `loss_of(loss)` (loss.item() by default)."""
    def train_step(model, optimizer, xb, yb):
        if before is not None:
            before(model, xb)
        if train:
            model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        for _ in range(steps):
            optimizer.step()
        if after is not None:
            after(model)
        return loss.item() if loss_of is None else loss_of(loss)
    return train_step


def test_a_step_that_leaves_batchnorm_in_eval_mode_is_told_what_its_layers_did():
    def no_call(model, optimizer, xb, yb):
        model.train  # (without the call: changes nothing)
        return step_with(train=False)(model, optimizer, xb, yb)
    fails_with(ex.check_case6_repair, no_call, "at step 1 of case 6's run",
               "BatchNorm layers 1, 2, 3, 4 and 5 (model[1], model[4], model[7], model[10], model[13]) ran in eval "
               "mode (.training False), with the running statistics.")


def test_each_batchnorm_layer_is_told_how_it_ran():
    """A reviewer's answer: only the first BatchNorm in training mode. The message says so, layer by layer."""
    def first_only(model, xb):
        model[1].train()
    message = fails_with(ex.check_case6_repair, step_with(before=first_only, train=False),
                         "BatchNorm layer 1 (model[1]) ran in training mode (.training True)",
                         "BatchNorm layers 2, 3, 4 and 5 (model[4], model[7], model[10], model[13]) ran in eval mode")
    assert "do normalise with the batch's statistics" not in message


def throw_away_forward(model, xb):
    model.train()
    model(gc.tensor(xb))  # (fills the running statistics, as a training forward does)
    model.eval()


def kaiming_once(model, xb):
    if not getattr(model, "reinitialised", False):
        model.reinitialised = True
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.data[...] = np.random.default_rng(0).normal(size=layer.weight.shape) * np.sqrt(
                    2 / layer.weight.shape[0])


def test_a_throw_away_forward_in_training_mode_does_not_pass():
    """A reviewer's answer (it scored 3/3 when one call's running statistics were all that was checked):
    one forward in training mode, then training in eval mode, at every step; with a re-initialisation too."""
    fails_with(ex.check_case6_repair, step_with(before=throw_away_forward, train=False),
               "ran in eval mode (.training False), with the running statistics, in 1 of 2 forward passes")

    def both(model, xb):
        kaiming_once(model, xb)
        throw_away_forward(model, xb)
    fails_with(ex.check_case6_repair, step_with(before=both, train=False),
               "changed model[0].weight, model[3].weight, model[6].weight ... before optimizer.step()",
               "The repair is the step")


def test_the_step_keeps_the_network_and_steps_once():
    """The repair is the step: no new initialisation (even in training mode), no new layers, one step."""
    fails_with(ex.check_case6_repair, step_with(before=kaiming_once), "before optimizer.step()")

    def shrink(model):
        model[0].bias.data *= 0.5
    fails_with(ex.check_case6_repair, step_with(after=shrink), "changed model[0].bias after optimizer.step()")

    def replace(model, xb):
        model.layers[0] = nn.Linear(64, 32)
    fails_with(ex.check_case6_repair, step_with(before=replace), "replaced layers or parameters")
    fails_with(ex.check_case6_repair, step_with(steps=2), "called optimizer.step() 2 times")
    fails_with(ex.check_case6_repair, step_with(steps=0), "called optimizer.step() 0 times")


def test_the_step_returns_the_batch_s_cross_entropy():
    fails_with(ex.check_case6_repair, step_with(loss_of=lambda loss: None),
               "train_step(model, optimizer, xb, yb) returned None: add a return")
    fails_with(ex.check_case6_repair, step_with(loss_of=lambda loss: 0.0), "returned 0, but the cross-entropy")
    fails_with(ex.check_case6_repair, step_with(loss_of=lambda loss: loss.item() / 2), "but the cross-entropy")
    fails_with(ex.check_case6_repair, step_with(loss_of=lambda loss: "low"), "should return the loss as a float")

    def other_batch(model, optimizer, xb, yb):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb[::-1].copy())), yb[::-1].copy())
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case6_repair, other_batch, "ran the model on an input of xb's shape that is not xb as given",
               "differing from xb by up to")

    def rounded(model, optimizer, xb, yb):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(np.round(xb, 1))), yb)
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case6_repair, rounded, "a float64 array differing from xb by up to 0.0498")

    def half(model, optimizer, xb, yb):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb[:32])), yb[:32])
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case6_repair, half, "never ran the model on the batch xb, of shape (64, 64) (its forward "
               "passes took inputs of shape (32, 64))")


def reference_but(*, zero=None, forward=None, train=None, after=None):
    """The reference step with one part written another right way."""
    def train_step(model, optimizer, xb, yb):
        (train or (lambda m: m.train()))(model)
        (zero or (lambda m, o: o.zero_grad()))(model, optimizer)
        loss = F.cross_entropy((forward or (lambda m, x: m(gc.tensor(x))))(model, xb), yb)
        loss.backward()
        optimizer.step()
        if after is not None:
            after(model, optimizer)
        return loss.item()
    return train_step


def loop_over_layers(model, xb):
    h = gc.tensor(xb)
    for layer in model:
        h = layer(h)
    return h


def each_batch_norm_in_training(model):
    for layer in model:
        if isinstance(layer, nn.BatchNorm1d):
            layer.training = True


@pytest.mark.parametrize("step", [
    reference_but(forward=lambda m, x: m(gc.tensor(x.astype(np.float32)))),  # (a reviewer's answer: float32)
    reference_but(forward=lambda m, x: m(x)),                                 # a numpy input
    reference_but(forward=lambda m, x: m.forward(gc.tensor(x))),
    reference_but(forward=loop_over_layers),
    reference_but(zero=lambda m, o: m.zero_grad()),
    reference_but(zero=lambda m, o: None, after=lambda m, o: o.zero_grad()),  # clear after the step
    reference_but(train=each_batch_norm_in_training),
    reference_but(after=lambda m, o: m.eval()),                               # back to eval after the step
], ids=["float32 input", "numpy input", "model.forward", "loop over layers", "model.zero_grad",
        "zero_grad after step", ".training on each BatchNorm", "eval after step"])
def test_case6_right_but_unusual_steps_pass(step, capsys):
    passes(lambda s: ex.check_case6_repair(s, seeds=(0,)), step, capsys)


def test_case6_wrong_causes_and_the_course_s_steps_are_refused():
    for cause in ("dead_relu", "exploding_init", "saturated_init", "lr_too_high", "vanishing_init", "lr_too_low",
                  "batchnorm_tiny_batch"):
        fails_with(lambda c: ex.check_cause(6, c), cause, "is not what went wrong in case 6")

    def calling(step):
        def train_step(model, optimizer, xb, yb):
            model.train()
            return step(model, optimizer, xb, yb)
        return train_step
    fails_with(ex.check_case6_repair, calling(casebook._step), "runs gradcourse.casebook._runs._step", "scores 0")
    for name, step in vars(casebook.faq).items():  # (a reviewer's answer: the FAQ cases' step)
        if name.startswith("_") and callable(step) and "step" in name:
            fails_with(ex.check_case6_repair, calling(step), "runs gradcourse.casebook.faq.", "scores 0")
    fails_with(ex.check_case6_repair, calling(casebook.worked_example._case3_step), "runs gradcourse.casebook.",
               "scores 0")

    def through_training(model, optimizer, xb, yb):
        model.train()
        return gc.training._train_step(model, xb, yb, F.cross_entropy, optimizer, None, None, None, 0)
    fails_with(ex.check_case6_repair, through_training, "runs gradcourse.training._train_step", "scores 0")


def test_the_checkers_leave_the_course_generator_alone(capsys):
    gc.manual_seed(0)
    before = gc.rng.generator().bit_generator.state
    ex.check_set_forget_bias(set_forget_bias)
    ex.check_input_gradient_norms(input_gradient_norms)
    ex.check_batch_norm(make_batch_norm())
    assert gc.rng.generator().bit_generator.state == before
