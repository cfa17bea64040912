"""Each checker accepts a correct implementation and explains the usual wrong ones in words."""
import contextlib
import sys

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import exercises as ex
from gradcourse.exercises import _core
from gradcourse import functional as F
from gradcourse import nn
from gradcourse.autograd import record_op

from checking import ResidualBlock, fails_with, passes


def test_exercise_error_is_an_assertion_error():
    assert issubclass(ex.ExerciseError, AssertionError)


def test_a_placeholder_says_what_to_replace():
    def sigmoid(x):
        raise NotImplementedError()
    fails_with(ex.check_sigmoid_forward, sigmoid, "sigmoid is not written yet", "raise NotImplementedError()")


def test_every_checker_is_listed_by_notebook():
    listed = {f for checkers in ex.CHECKERS.values() for f in checkers}
    assert listed == {getattr(ex, n) for n in dir(ex) if n.startswith("check_")}


def test_checkers_leave_the_course_generator_alone(capsys):
    gc.manual_seed(0)
    before = gc.rng.generator().bit_generator.state
    ex.check_training_step(training_step)
    ex.check_residual_block(ResidualBlock)
    assert gc.rng.generator().bit_generator.state == before


# ----- 01 background -------------------------------------------------------------------------
def training_step(model, X, y, optimizer, *, zero_grad=True, before=True, steps=1):
    if zero_grad:
        optimizer.zero_grad()
    loss = F.mse_loss(model(X), y)
    loss.backward()
    for _ in range(steps):
        optimizer.step()
    return loss.item() if before else F.mse_loss(model(X), y).item()


def test_training_step(capsys):
    passes(ex.check_training_step, training_step, capsys)
    fails_with(ex.check_training_step, lambda *a: training_step(*a, zero_grad=False), "optimizer.zero_grad()")
    fails_with(ex.check_training_step, lambda *a: training_step(*a, before=False), "before optimizer.step()")
    fails_with(ex.check_training_step, lambda *a: training_step(*a, steps=2), "step was taken twice")
    fails_with(ex.check_training_step, lambda *a: training_step(*a, steps=0), "did not change")
    fails_with(ex.check_training_step, lambda m, X, y, o: F.mse_loss(m(X), y), "loss.item()")


def layer_gradient_norms(model):
    return [float(np.linalg.norm(layer.weight.grad)) for layer in model if isinstance(layer, nn.Linear)]


def test_layer_gradient_norms(capsys):
    passes(ex.check_layer_gradient_norms, layer_gradient_norms, capsys)
    fails_with(ex.check_layer_gradient_norms, lambda m: [n**2 for n in layer_gradient_norms(m)], "squared")
    fails_with(ex.check_layer_gradient_norms, lambda m: layer_gradient_norms(m)[::-1], "reversed")
    fails_with(ex.check_layer_gradient_norms, lambda m: [float(np.linalg.norm(p.grad)) for p in m.parameters()],
               "leave the biases out")
    fails_with(ex.check_layer_gradient_norms,
               lambda m: [float(np.linalg.norm(l.weight.data)) for l in m if isinstance(l, nn.Linear)],
               "not layer.weight")


# ----- 02 core concepts ----------------------------------------------------------------------
def make_sigmoid(derivative, forward=lambda x: 1 / (1 + np.exp(-x))):
    def sigmoid(x):
        s = forward(x.data)
        return record_op(s, (x,), lambda g: (derivative(g, s),))
    return sigmoid


sigmoid = make_sigmoid(lambda g, s: g * s * (1 - s))


def test_sigmoid_forward(capsys):
    passes(ex.check_sigmoid_forward, sigmoid, capsys)
    fails_with(ex.check_sigmoid_forward, make_sigmoid(None, lambda x: 1 / (1 + np.exp(x))), "sigma(-x)")
    fails_with(ex.check_sigmoid_forward, lambda x: 1 / (1 + np.exp(-x.data)), "should return a Tensor")


def test_sigmoid_backward(capsys):
    passes(ex.check_sigmoid_backward, sigmoid, capsys)
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: g * s), "missing the factor (1 - sigma(x))")
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: s * (1 - s)), "ignores the upstream gradient")
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: -g * s * (1 - s)), "wrong sign")
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: 3 * g * s * (1 - s)), "constant factor of 3")
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: g * 0.25), "1/4")
    no_tuple = lambda x: record_op(1 / (1 + np.exp(-x.data)), (x,), lambda g: g * 0.1)
    fails_with(ex.check_sigmoid_backward, no_tuple, "mind the comma")
    fails_with(ex.check_sigmoid_backward, lambda x: gc.tensor(1 / (1 + np.exp(-x.data))), "not connected")


def test_sigmoid_message_names_the_point_and_both_values():
    message = fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: g * s), "")
    assert "at x = 4 expected 0.01766, got 0.982" in message


def test_a_sigmoid_backward_through_a_jacobian_matrix_fails_the_visible_check_with_a_message():
    """(review, round 2: np.diag(s * (1 - s)) with g @ J is right for a 1-D x only; the task says entry by entry)"""
    with_diag = make_sigmoid(lambda g, s: g @ np.diag(s * (1 - s)))
    fails_with(ex.check_sigmoid_backward, with_diag, "raised ValueError on a 2 x 3 input x", "not a product (@)")


def test_a_sigmoid_that_returns_none_says_so():
    def no_return(x):
        record_op(1 / (1 + np.exp(-x.data)), (x,), lambda g: (g,))
    fails_with(ex.check_sigmoid_forward, no_return, "returned None: add a return")
    fails_with(ex.check_sigmoid_backward, no_return, "returned None: add a return")
    fails_with(ex.check_sigmoid_backward, make_sigmoid(lambda g, s: None), "backward(g) returned None: add a return")


def linreg_gradient(X, theta, y):
    return 2 / len(y) * X.T @ (X @ theta - y)


def test_linreg_gradient(capsys):
    passes(ex.check_linreg_gradient, linreg_gradient, capsys)
    fails_with(ex.check_linreg_gradient, lambda X, t, y: linreg_gradient(X, t, y) / 2, "factor 2")
    fails_with(ex.check_linreg_gradient, lambda X, t, y: 2 * X.T @ (X @ t - y), "divide by n")
    fails_with(ex.check_linreg_gradient, lambda X, t, y: -linreg_gradient(X, t, y), "wrong sign")
    fails_with(ex.check_linreg_gradient, lambda X, t, y: linreg_gradient(X, t, y)[:, None], "shape (3, 1)")
    fails_with(ex.check_linreg_gradient, lambda X, t, y: None, "returned None: add a return")
    # n hard-coded to the first setting's 8 examples: the second setting (20 examples) shows it
    fails_with(ex.check_linreg_gradient, lambda X, t, y: 2 / 8 * X.T @ (X @ t - y), "for 20 examples with 5 features")


# (the tests of 2.3 and of the later exercises of notebook 2 are in test_exercises_02.py)


# ----- 04 worked example ---------------------------------------------------------------------
def regression_loss(pred, target):
    return ((pred - gc.tensor(target).reshape(pred.shape)) ** 2).mean()


def test_regression_loss(capsys):
    passes(ex.check_regression_loss, regression_loss, capsys)
    fails_with(ex.check_regression_loss, lambda p, t: ((p - t) ** 2).mean(), "5 x 5", "reshape target")
    fails_with(ex.check_regression_loss, lambda p, t: (p - t) ** 2, "25 entries")
    fails_with(ex.check_regression_loss, lambda p, t: ((p - t.reshape(-1, 1)) ** 2).sum(), "expected the mean")


# ----- 05 future directions ------------------------------------------------------------------
# (the checkers' tests are in test_exercises_05.py; layer_norm is used by the tests below)
def layer_norm(x, gamma, beta, eps=1e-5, axis=-1, ddof=0):
    mean = x.mean(axis=axis, keepdims=True)
    n = x.shape[axis]
    var = ((x - mean) ** 2).sum(axis=axis, keepdims=True) / (n - ddof)
    return gamma * (x - mean) / (var + eps).sqrt() + beta


# (clipping by global norm is exercise 3.4: see test_exercises_03.py)


# ----- 06 FAQ --------------------------------------------------------------------------------
# (the checkers' tests are in test_exercises_06.py; dead_relu_fraction is used by the tests below)
def dead_relu_fraction(activations):
    return float(np.mean(np.all(activations == 0, axis=0)))


# ----- what a student sees -------------------------------------------------------------------
def test_small_numbers_keep_their_significant_digits():
    squared = lambda m: [n**2 for n in layer_gradient_norms(m)]
    message = fails_with(ex.check_layer_gradient_norms, squared, "squared")
    assert "got [1.556e-05, 0.1755, 773.7]" in message  # (numpy's own format printed the first as 0.)
    assert _core._fmt(np.array([1.2345e-5, 2.0, 900.0])) == "[1.234e-05, 2, 900]"
    assert _core._fmt(3.2e-9) == "3.2e-09"


def test_a_failed_check_renders_as_a_short_block_without_the_checkers_code():
    with pytest.raises(ex.ExerciseError) as error:
        ex.check_layer_norm(lambda *a, eps: layer_norm(*a, eps=eps, ddof=1))
    lines = error.value._render_traceback_()  # what IPython shows instead of the traceback
    assert "✗" in lines[0] and "ExerciseError" in lines[0] and 2 <= len(lines) <= 6
    assert all(len(line) <= 100 for line in lines[1:])
    text = " ".join(lines[1:])
    assert " ".join(str(error.value).split()) == text
    for checker_code in ("File ", "gradcourse/exercises/", "_standardised", "def ", "^^^"):
        assert checker_code not in "\n".join(lines)


def test_a_pass_is_a_green_block_with_a_plain_text_fallback(capsys):
    shown = ex.Passed("sigmoid <ok> & done")
    assert repr(shown) == str(shown) == "✓ sigmoid <ok> & done"  # what nbval compares, and what a terminal shows
    assert "#2e7d32" in shown._repr_html_() and "✓ sigmoid &lt;ok&gt; &amp; done" in shown._repr_html_()
    _core._passed("outside IPython it is printed")
    assert capsys.readouterr().out == "✓ outside IPython it is printed\n"


# ----- no answer within reach ----------------------------------------------------------------
def adam_with_the_course_optimiser(theta, g, m, v, t, lr, beta1, beta2, eps):
    p = gc.tensor(theta, requires_grad=True)
    optimizer = gc.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    p.grad = g
    optimizer.step()
    return p.data, m, v


class ResidualFromTheCourse(ResidualBlock):
    def forward(self, x):
        return nn.Residual(nn.Sequential(self.fc1, nn.ReLU(), self.fc2))(x)


COURSE_CODE = [
    (ex.check_sigmoid_forward, F.sigmoid, "sigmoid is gradcourse.functional.sigmoid"),
    (ex.check_sigmoid_forward, lambda x: x.sigmoid(), "runs Tensor.sigmoid (gradcourse.autograd)"),
    (ex.check_sigmoid_backward, lambda x: nn.Sigmoid()(x), "runs gradcourse"),
    (ex.check_sigmoid_backward, make_sigmoid(lambda g, s: g * gc.autograd._stable_sigmoid(0 * s) * 0 + g * s * (1 - s)),
     "runs gradcourse.autograd._stable_sigmoid"),  # in the backward only
    (ex.check_layer_gradient_norms,
     lambda m: [n for k, n in gc.diagnostics.gradient_norms(m).items() if k.endswith("weight")], "gradient_norms"),
    (ex.check_cosine_lr, lambda t, a, T, b=0.0: gc.schedules.CosineAnnealing(a, T, min_lr=b)(t),
     "runs gradcourse.schedules.CosineAnnealing"),
    (ex.check_adam_step, adam_with_the_course_optimiser, "runs gradcourse.optim.Adam"),
    (ex.check_residual_block, ResidualFromTheCourse, "runs gradcourse.nn.Residual"),
    (ex.check_layer_norm, lambda x, g, b, eps: nn.LayerNorm(6, eps=eps)(x) * g + b, "runs gradcourse.nn.LayerNorm"),
    (ex.check_regression_loss, lambda p, t: F.mse_loss(p, gc.tensor(t).reshape(p.shape)),
     "runs gradcourse.functional.mse_loss"),
    (ex.check_clip_grad_norm, gc.optim.clip_grad_norm_, "is gradcourse.optim.clip_grad_norm_"),
    (ex.check_clip_grad_norm, lambda ps, mx: gc.optim.clip_grad_norm_(ps, mx), "runs gradcourse.optim.clip_grad_norm_"),
    (ex.check_dead_relu_fraction, gc.diagnostics.dead_fraction, "is gradcourse.diagnostics.dead_fraction"),
    (ex.check_suggest_lr, lambda lrs, losses: gc.lr_finder.suggest(lrs, np.nan_to_num(losses, nan=np.inf))[0],
     "runs gradcourse.lr_finder.suggest"),
    # the checkers' own helpers are no way round either
    (ex.check_linreg_gradient, lambda X, theta, y: _core._finite_difference(lambda z: 0.0, theta),
     "runs gradcourse.exercises._finite_difference"),
    (ex.check_lr_range_test, lambda step_fn, *args: (_core._array([1e-4], "lrs"), [step_fn(1e-4)]),
     "runs gradcourse.exercises._array"),
    # nor is switching the watch off first
    (ex.check_clip_grad_norm, lambda ps, mx: sys.setprofile(None) or gc.optim.clip_grad_norm_(ps, mx),
     "calls sys.setprofile, which switches this check off"),
]


@pytest.mark.parametrize("checker, submission, phrase", COURSE_CODE,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(COURSE_CODE)])
def test_the_course_s_own_implementation_is_refused(checker, submission, phrase, capsys):
    before = sys.getprofile()
    message = fails_with(checker, submission, phrase, "scores 0")
    assert "the course's own code, not yours" in message or "sys.setprofile" in phrase
    assert "✓" not in capsys.readouterr().out, message
    assert sys.getprofile() is before  # the watch is over


def test_no_reference_implementation_can_be_imported():
    """The expectations are computed inline on the checkers' own inputs; no helper has an exercise's job."""
    for former_reference in ("_range_test", "_moving_averages", "_adam_trajectory", "_layer_norm", "_sigmoid"):
        assert not hasattr(ex, former_reference)
    with pytest.raises(ImportError):
        exec("from gradcourse.exercises import _range_test", {})


def test_your_own_code_may_use_the_course_s_building_blocks(capsys):
    """Tensor operations, record_op, F.relu, nn.Linear, optimizer.step: only the exercise's answer is refused."""
    passes(ex.check_training_step, training_step, capsys)
    passes(ex.check_residual_block, ResidualBlock, capsys)
    passes(ex.check_layer_norm, layer_norm, capsys)


@contextlib.contextmanager
def quietly():
    with np.errstate(all="ignore"):
        yield


def test_a_context_manager_of_your_own_is_not_mistaken_for_the_checkers(capsys):
    """(the checkers' own context manager shares contextlib's wrapper code with every other one)"""
    def dead_relu_fraction_quietly(activations):
        with quietly():
            return dead_relu_fraction(activations)
    passes(ex.check_dead_relu_fraction, dead_relu_fraction_quietly, capsys)


def test_the_course_s_implementations_are_refused_only_in_their_own_exercise(capsys):
    """A training step may use F.mse_loss, which regression_loss may not; any answer may use the sigmoid."""
    assert "gradcourse.functional.mse_loss" in ex.COURSE_IMPLEMENTATIONS["regression_loss"]
    passes(ex.check_training_step, training_step, capsys)  # (it calls F.mse_loss)

    def dead_relu_fraction_and_a_sigmoid(activations):
        F.sigmoid(gc.tensor(activations))
        return dead_relu_fraction(activations)
    passes(ex.check_dead_relu_fraction, dead_relu_fraction_and_a_sigmoid, capsys)
    names = {name for names in ex.COURSE_IMPLEMENTATIONS.values() for name in names}
    assert names <= set(_core._course_functions())


# ----- 04: measure, diagnose, repair (gradcourse.casebook) -------------------------------------
# The reference answers are the solutions notebook's; the typical mistakes below are what a student
# who measured too little would write.
def zero_the_biases(model):
    for layer in (model[0], model[2]):
        layer.bias.data[...] = 0.0


def kaiming_weights_only(model):  # re-initialises the weights and leaves the dead-making biases
    for layer in (model[0], model[2]):
        gc.init.kaiming_normal_(layer.weight, nonlinearity="relu")


def sgd_step(clear):
    """A step that clears the gradients "before" backward or at the "end" (both right), "after" backward, or "never"."""
    def train_step(model, optimizer, xb, yb):
        if clear == "before":
            optimizer.zero_grad()
        loss = F.cross_entropy(model(gc.tensor(xb)), yb)
        loss.backward()
        if clear == "after":
            optimizer.zero_grad()
        optimizer.step()
        if clear == "end":  # PyTorch's examples clear here too: the next step starts from zero
            optimizer.zero_grad()
        return loss.item()
    return train_step


train_step, zero_grad_after_backward, never_zero_grad, zero_grad_after_step = map(
    sgd_step, ("before", "after", "never", "end"))


def casebook_step(model, optimizer, xb, yb):
    from gradcourse import casebook
    return casebook._step(model, optimizer, xb, yb)


def test_cause(capsys):
    for case, cause in ((1, "lr_too_high"), (2, "dead_relu"), (3, "forgotten_zero_grad")):
        ex.check_cause(case, cause)
        assert capsys.readouterr().out.startswith(f'✓ case {case}: "{cause}"')
    fails_with(lambda c: ex.check_cause(1, c), None, "cause is not set yet", '"dead_relu"')
    fails_with(lambda c: ex.check_cause(2, c), "dead relu", "is not one of the causes", '"dead_relu"')
    fails_with(lambda c: ex.check_cause(2, c), "saturated_init", "is not what went wrong in case 2")


def test_case1_repair(capsys):
    passes(ex.check_case1_repair, 0.1, capsys)
    fails_with(ex.check_case1_repair, 0.01, "too slowly", "0.85")
    fails_with(ex.check_case1_repair, 2.0, "overshoots")
    fails_with(ex.check_case1_repair, 3.0, "no smaller than the rate case 1 was run at")
    fails_with(ex.check_case1_repair, 0.9, "at 1.5 times your rate (1.35)", "overshoots")  # just below the edge
    fails_with(ex.check_case1_repair, None, "lr should be a number")


def test_case2_repair(capsys):
    passes(ex.check_case2_repair, zero_the_biases, capsys)
    fails_with(ex.check_case2_repair, kaiming_weights_only, "are still 0 for 99% in hidden layer 1")
    fails_with(ex.check_case2_repair, lambda model: None, "still 0", "hidden layer 1 and 100% in hidden layer 2")

    def first_layer_only(model):
        model[0].bias.data[...] = 0.0
    fails_with(ex.check_case2_repair, first_layer_only, "still 0 for 100% in hidden layer 2")

    def identities(model):  # no ReLU, no dead unit: but the network is no longer case 2's
        model.layers[1] = gc.nn.Identity()
        model.layers[3] = gc.nn.Identity()
    fails_with(ex.check_case2_repair, identities, "changed the network's layers", "Identity")


def test_case3_repair(capsys):
    passes(ex.check_case3_repair, train_step, capsys)
    fails_with(ex.check_case3_repair, zero_grad_after_backward, "did not move the weights", "between backward() and step()")
    passes(ex.check_case3_repair, zero_grad_after_step, capsys)
    for returns, phrase in ((lambda loss: None, "returned None"), (lambda loss: loss, "returned a Tensor"),
                            (lambda loss: 0.0, "not the batch's cross-entropy loss")):
        def step_returning(model, optimizer, xb, yb, returns=returns):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(gc.tensor(xb)), yb)
            loss.backward()
            optimizer.step()
            return returns(loss)
        fails_with(ex.check_case3_repair, step_returning, phrase)
    fails_with(ex.check_case3_repair, never_zero_grad, "sum of both calls' gradients", "never clears it")
    fails_with(ex.check_case3_repair, casebook_step, "runs gradcourse.casebook._runs._step, the course's own code")


def test_a_repair_not_written_yet_says_so():
    def repair(model):
        raise NotImplementedError()
    fails_with(ex.check_case2_repair, repair, "repair is not written yet")
