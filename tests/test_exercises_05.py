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

from checking import fails_with, passes


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
    assert "times larger at forget bias 2 than at 0" in capsys.readouterr().out


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
def train_step(model, optimizer, xb, yb):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(gc.tensor(xb)), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def test_case6_cause_and_repair_pass(capsys):
    ex.check_cause(6, "batchnorm_in_eval")
    passes(ex.check_case6_repair, train_step, capsys)


def test_a_step_that_leaves_batchnorm_in_eval_mode_is_told_what_its_layers_hold():
    def no_call(model, optimizer, xb, yb):
        model.train  # (without the call: changes nothing)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_case6_repair, no_call, "running_mean = 0 and running_var = 1",
               "normalised with these running statistics")


def test_case6_wrong_causes_and_the_course_s_step_are_refused():
    for cause in ("dead_relu", "exploding_init", "saturated_init", "lr_too_high"):
        fails_with(lambda c: ex.check_cause(6, c), cause, "is not what went wrong in case 6")

    def course_step(model, optimizer, xb, yb):
        model.train()
        return casebook._step(model, optimizer, xb, yb)
    fails_with(ex.check_case6_repair, course_step, "runs gradcourse.casebook._step", "scores 0")


def test_the_checkers_leave_the_course_generator_alone(capsys):
    gc.manual_seed(0)
    before = gc.rng.generator().bit_generator.state
    ex.check_set_forget_bias(set_forget_bias)
    ex.check_input_gradient_norms(input_gradient_norms)
    ex.check_batch_norm(make_batch_norm())
    assert gc.rng.generator().bit_generator.state == before
