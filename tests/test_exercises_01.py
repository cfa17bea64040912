"""The checkers of notebook 1 (background): each accepts a right answer, names the typical wrong
ones, and refuses the course's own implementation. (More tests of exercises 1.1 and 1.2 are in
tests/test_exercises.py, section 01.)"""
import numpy as np

import gradcourse as gc
from gradcourse import exercises as ex
from gradcourse import functional as F
from gradcourse import nn

from checking import fails_with, passes


# ----- 1.1 training_step: the visible check uses the optimiser it is given ------------------------
def training_step(model, X, y, optimizer):
    optimizer.zero_grad()
    loss = F.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def manual_sgd(lr=None):
    """A step that updates the parameters itself: at its own learning rate, or at the optimiser's."""
    def step(model, X, y, optimizer):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        for p in model.parameters():
            p.data -= (optimizer.lr if lr is None else lr) * p.grad
        return loss.item()
    return step


def test_training_step_passes_with_other_learning_rates_and_momentum(capsys):
    passes(ex.check_training_step, training_step, capsys)
    passes(lambda f: ex.check_training_step(f, lr=0.2, momentum=0.5), training_step, capsys)


def test_a_hard_coded_learning_rate_fails_visibly():
    fails_with(ex.check_training_step, manual_sgd(0.1), "moved by 0.1 times its gradient",
               "the optimiser's learning rate is 0.03", "optimizer.step()")
    fails_with(ex.check_training_step, manual_sgd(0.01), "moved by 0.01 times")


def test_an_update_that_ignores_the_optimiser_fails_visibly():
    fails_with(ex.check_training_step, manual_sgd(), "plain SGD step", "ignores the optimiser", "momentum 0.9")


def test_a_loss_summed_over_the_outputs_is_named():
    def summed(model, X, y, optimizer):
        optimizer.zero_grad()
        loss = ((model(X) - y) ** 2).sum(axis=1).mean()
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_training_step, summed, "3 times too large", "mean over all n x 3 entries")


def test_the_loss_must_be_a_python_number():
    def returns_array(model, X, y, optimizer):
        training_step(model, X, y, optimizer)
        return np.array([0.0])
    fails_with(ex.check_training_step, lambda *a: np.asarray(training_step(*a)), "return loss.item()")
    fails_with(ex.check_training_step, returns_array, "return loss.item()")


def test_the_course_fit_is_refused():
    def with_fit(model, X, y, optimizer):
        history = gc.training.fit(model, X, y, optimizer, 1, loss="mse", progress=False)
        return history.loss[0]
    fails_with(ex.check_training_step, with_fit, "gradcourse.training.fit", "scores 0")


def test_the_course_training_steps_are_refused():
    def with_fit_step(model, X, y, optimizer):  # (a reviewer's answer: fit's own step, which scored 2/2)
        h = gc.training.History()
        gc.training._train_step(model, X, y, F.mse_loss, optimizer, None, None, h, 1)
        return h.loss[-1]

    def with_casebook_step(model, X, y, optimizer):
        return gc.casebook._step(model, optimizer, X, y)
    fails_with(ex.check_training_step, with_fit_step, "gradcourse.training._train_step", "scores 0")
    fails_with(ex.check_training_step, with_casebook_step, "gradcourse.casebook", "scores 0")
    names = ex.COURSE_IMPLEMENTATIONS["training_step"]
    assert {"gradcourse.casebook._runs._step", "gradcourse.casebook._runs._run"} <= set(names), names
    assert any(name.endswith("_case5_step") for name in names), names


def test_a_missing_return_is_a_short_message():
    def no_return(model, X, y, optimizer):
        training_step(model, X, y, optimizer)
    fails_with(ex.check_training_step, no_return, "training_step returned None: add a return",
               "loss.item()")
    fails_with(ex.check_training_step, lambda *a: str(training_step(*a)), "returned a str, not a number")


def test_zero_grad_between_backward_and_step_is_named():
    def cleared_too_late(model, X, y, optimizer):  # (a reviewer's answer, told to "call backward() then step()")
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        return loss.item()

    def no_backward(model, X, y, optimizer):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        optimizer.step()
        return loss.item()

    def no_step(model, X, y, optimizer):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        return loss.item()
    message = fails_with(ex.check_training_step, cleared_too_late, "optimizer.zero_grad() was called after "
                         "loss.backward()", "cleared the gradient before optimizer.step()", "before loss.backward()")
    assert "call loss.backward() and then optimizer.step()" not in message
    fails_with(ex.check_training_step, no_backward, "no parameter had a gradient", "loss.backward() before")
    fails_with(ex.check_training_step, no_step, "call optimizer.step() after loss.backward()")


def test_the_momentum_steps_check_the_loss_and_the_bias_too():
    def loss_after_with_momentum(model, X, y, optimizer):
        loss = training_step(model, X, y, optimizer)
        return F.mse_loss(model(X), y).item() if optimizer.momentum else loss

    def weight_only(model, X, y, optimizer):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        model.weight.data -= optimizer.lr * model.weight.grad
        return loss.item()
    fails_with(ex.check_training_step, loss_after_with_momentum, "step 1 of optim.SGD(lr=0.05, momentum=0.9)",
               "the loss after the update")
    fails_with(ex.check_training_step, weight_only, "the weight is right but the bias should be")


def test_every_argument_takes_two_values_in_the_visible_check():
    """A learning rate, data or shapes fixed in the answer fail the visible check (issue item 5)."""
    fails_with(ex.check_training_step, manual_sgd(0.03), "optim.SGD(lr=0.05, momentum=0.9)",
               "moved by 0.03 times its gradient", "learning rate is 0.05")
    shapes = []

    def records_shapes(model, X, y, optimizer):
        shapes.append((model.weight.shape, X.shape, y.shape))
        return training_step(model, X, y, optimizer)
    ex.check_training_step(records_shapes)
    assert len(set(shapes)) == 2, shapes


# ----- 1.2 layer_gradient_norms: every Linear layer, wherever it stands ---------------------------
def test_layer_gradient_norms_needs_every_linear_layer(capsys):
    def every_other(model):  # model[::2]: right only when activations and Linear layers alternate
        return [float(np.linalg.norm(layer.weight.grad)) for layer in model.layers[::2] if hasattr(layer, "weight")]
    passes(ex.check_layer_gradient_norms,
           lambda m: [float(np.linalg.norm(l.weight.grad)) for l in m if isinstance(l, nn.Linear)], capsys)
    fails_with(ex.check_layer_gradient_norms, every_other, "Linear -> ReLU -> Linear -> Linear -> Tanh",
               "got 2 numbers", "one number per Linear layer")


def test_the_course_gradient_norms_are_refused():
    def with_course(model):
        return [v for k, v in gc.diagnostics.gradient_norms(model).items() if k.endswith("weight")]

    def with_grad_norm(model):  # (a reviewer's answer, which scored 2/2)
        return [gc.optim.grad_norm([l.weight]) for l in model if isinstance(l, nn.Linear)]

    def with_clipping(model):  # (clip_grad_norm_ returns the norm before clipping)
        return [gc.optim.clip_grad_norm_([l.weight], 1e9) for l in model if isinstance(l, nn.Linear)]
    fails_with(ex.check_layer_gradient_norms, with_course, "gradcourse.diagnostics.gradient_norms", "scores 0")
    fails_with(ex.check_layer_gradient_norms, with_grad_norm, "gradcourse.optim.grad_norm", "scores 0")
    fails_with(ex.check_layer_gradient_norms, with_clipping, "gradcourse.optim.clip_grad_norm_", "scores 0")


def test_layer_gradient_norms_returning_other_things_is_a_short_message():
    def no_return(model):  # (a reviewer's answer: a raw TypeError came through the checker)
        [float(np.linalg.norm(l.weight.grad)) for l in model if isinstance(l, nn.Linear)]
    check = ex.check_layer_gradient_norms
    fails_with(check, no_return, "layer_gradient_norms returned None: add a return")
    fails_with(check, lambda m: 1.0, "should return the list of 3 norms", "got float")
    fails_with(check, lambda m: {i: 1.0 for i in range(3)}, "returned a dict")
    fails_with(check, lambda m: [l.weight.grad for l in m if isinstance(l, nn.Linear)], "not the gradient arrays")
    fails_with(check, lambda m: [None for l in m if isinstance(l, nn.Linear)], "the list holds None")
    fails_with(check, lambda m: ["a" for l in m if isinstance(l, nn.Linear)], "should be a number")


# ----- 1.3 gradients_reaching_layers ---------------------------------------------------------------
def reaching(model, X, y, *, retain=True, where="linear", loss=None, norm=np.linalg.norm, extra=None):
    # where: "linear" (right), "activation", "block" (after each activation, else at the Linear), "weights"
    """||dL/dz_l|| at each Linear layer's output, or one of the typical mistakes."""
    h, kept = gc.tensor(X), []
    layers = list(model)
    for i, layer in enumerate(layers):
        h = layer(h)
        following = layers[i + 1] if i + 1 < len(layers) else None
        at_activation = not isinstance(layer, nn.Linear)
        if (where == "linear" and isinstance(layer, nn.Linear)) or (where == "activation" and at_activation) or \
                (where == "block" and (at_activation or (isinstance(layer, nn.Linear)
                                                         and isinstance(following, (nn.Linear, type(None)))))):
            if retain:
                h.retain_grad()
            kept.append(h)
    (F.mse_loss(h, y) if loss is None else loss(h, y)).backward()
    if where == "weights":
        return [float(norm(layer.weight.grad)) for layer in layers if isinstance(layer, nn.Linear)]
    norms = [float(norm(t.grad)) for t in kept]
    return norms + [1.0] if extra == "loss" else norms


def test_gradients_reaching_layers_passes(capsys):
    passes(ex.check_gradients_reaching_layers, reaching, capsys)
    batches = []
    ex.check_gradients_reaching_layers(lambda m, X, y: batches.append(X.shape) or reaching(m, X, y))
    assert batches == [(7, 4), (10, 3)]  # (two sizes of batch and input, in the visible check)
    passes(lambda f: ex.check_gradients_reaching_layers(f, seed=12, batch=1), reaching, capsys)


def test_the_weight_gradients_are_named():
    fails_with(ex.check_gradients_reaching_layers, lambda m, X, y: reaching(m, X, y, where="weights"),
               "these are the weight gradients dL/dW_l = h_{l-1}^T dL/dz_l")


def test_the_gradients_after_the_activations_are_named():
    fails_with(ex.check_gradients_reaching_layers, lambda m, X, y: reaching(m, X, y, where="block"),
               "measured after the activations", "before its activation")
    fails_with(ex.check_gradients_reaching_layers, lambda m, X, y: reaching(m, X, y, where="activation"),
               "got 2 numbers, expected 3", "the activations' outputs")


def test_order_square_and_loss_mistakes_are_named():
    check = ex.check_gradients_reaching_layers
    fails_with(check, lambda m, X, y: reaching(m, X, y)[::-1], "order is reversed")
    fails_with(check, lambda m, X, y: [v**2 for v in reaching(m, X, y)], "squared norms")
    fails_with(check, lambda m, X, y: reaching(m, X, y, loss=lambda out, t: (out * out).mean()), "ignores y")
    fails_with(check, lambda m, X, y: reaching(m, X, y, loss=lambda out, t: ((out - t) ** 2).sum()),
               "14 times too large")
    fails_with(check, lambda m, X, y: reaching(m, X, y, extra="loss"), "dL/dL = 1")
    fails_with(check, lambda m, X, y: reaching(m, X, y, norm=lambda g: np.linalg.norm(g.sum(axis=0))),
               "the biases' gradients")
    fails_with(check, lambda m, X, y: reaching(m, X, y, norm=lambda g: np.abs(g).max()),
               "sqrt(sum of its squared entries)")


def test_the_gradient_reaching_the_input_is_named():
    def with_input(model, X, y):
        x = gc.tensor(X, requires_grad=True)
        h, kept = x, [x]
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                h.retain_grad()
                kept.append(h)
        F.mse_loss(h, y).backward()
        return [float(np.linalg.norm(t.grad)) for t in kept]
    fails_with(ex.check_gradients_reaching_layers, with_input, "the gradient reaching the input X")


def test_a_forgotten_retain_grad_says_so():
    fails_with(ex.check_gradients_reaching_layers, lambda m, X, y: reaching(m, X, y, retain=False),
               "retain_grad()", "None")

    def returns_grads(model, X, y):
        h, kept = gc.tensor(X), []
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                kept.append(h)
        F.mse_loss(h, y).backward()
        return [t.grad for t in kept]
    fails_with(ex.check_gradients_reaching_layers, returns_grads, "retain_grad()")


def test_gradients_reaching_layers_returning_other_things_is_a_short_message():
    check = ex.check_gradients_reaching_layers
    fails_with(check, lambda m, X, y: None, "gradients_reaching_layers returned None: add a return")
    fails_with(check, lambda m, X, y: 2.0, "should return the list of 3 norms", "got float")
    fails_with(check, lambda m, X, y: {}, "returned a dict")
    fails_with(check, lambda m, X, y: [], "got 0 numbers, expected 3")


def test_the_gradient_arrays_are_not_norms():
    def arrays(model, X, y):
        h, kept = gc.tensor(X), []
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                h.retain_grad()
                kept.append(h)
        F.mse_loss(h, y).backward()
        return [t.grad for t in kept]
    fails_with(ex.check_gradients_reaching_layers, arrays, "not the gradient arrays themselves")


def test_the_course_gradient_flow_is_refused():
    def with_measure(model, X, y):
        linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        return list(gc.diagnostics.measure_at_init(model, X, y, loss="mse", layers=linears)["grad_norm"])

    def with_flow(model, X, y):
        linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        flow = gc.diagnostics.GradientFlow(model, layers=linears)
        F.mse_loss(model(X), y).backward()
        return list(flow.record()["grad_norm"])
    assert np.allclose(with_measure(*_small_case()), reaching(*_small_case()))  # (they would be right)
    fails_with(ex.check_gradients_reaching_layers, with_measure, "gradcourse.diagnostics.measure_at_init", "scores 0")
    fails_with(ex.check_gradients_reaching_layers, with_flow, "gradcourse.diagnostics.GradientFlow", "scores 0")


def _small_case():
    gc.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    X = np.random.default_rng(0).normal(size=(5, 3))
    return model, X, np.random.default_rng(1).normal(size=(5, 2))


def test_the_checkers_of_notebook_1_leave_the_course_generator_alone(capsys):
    gc.manual_seed(0)
    before = gc.rng.generator().bit_generator.state
    ex.check_layer_gradient_norms(lambda m: [float(np.linalg.norm(l.weight.grad)) for l in m
                                             if isinstance(l, nn.Linear)])
    ex.check_gradients_reaching_layers(reaching)
    assert gc.rng.generator().bit_generator.state == before


# ----- review, round 2: what the visible check accepts, the hidden one accepts too; no false ✗ -----
def test_clearing_the_weight_s_gradient_only_is_named():
    def weight_only(model, X, y, optimizer):
        model.weight.grad = None  # the bias's gradient accumulates
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    fails_with(ex.check_training_step, weight_only, "the weight is right but the bias",
               "sum of both steps' bias gradients", "optimizer.zero_grad()")


def _norms_of_weight_gradients(model):
    return [np.linalg.norm(layer.weight.grad) for layer in model if isinstance(layer, nn.Linear)]


def test_layer_gradient_norms_return_types_pass_visible_and_hidden_checks(capsys):
    answers = [lambda m: (float(v) for v in _norms_of_weight_gradients(m)),  # a generator
               lambda m: map(float, _norms_of_weight_gradients(m)),
               lambda m: [np.array([v]) for v in _norms_of_weight_gradients(m)],  # (1,)-shaped arrays
               lambda m: [gc.tensor(v) for v in _norms_of_weight_gradients(m)]]  # 0-d Tensors
    for answer in answers:
        passes(ex.check_layer_gradient_norms, answer, capsys)
        passes(lambda f: ex.check_layer_gradient_norms(f, seed=12), answer, capsys)  # the hidden test


def test_gradients_reaching_layers_return_types_pass_visible_and_hidden_checks(capsys):
    answers = [lambda m, X, y: (v for v in reaching(m, X, y)),
               lambda m, X, y: [gc.tensor(v) for v in reaching(m, X, y)],
               lambda m, X, y: gc.tensor(reaching(m, X, y)),
               lambda m, X, y: [np.array([v]) for v in reaching(m, X, y)]]
    for answer in answers:
        passes(ex.check_gradients_reaching_layers, answer, capsys)
        passes(lambda f: ex.check_gradients_reaching_layers(f, seed=12, batch=1, sigmoid_blocks=8), answer,
               capsys)  # the hidden test


def test_the_deep_sigmoid_network_is_checked_exactly():
    def rounded(model, X, y):  # right to 3 digits only: the small gradients near the input are off
        return [float(f"{v:.3g}") for v in reaching(model, X, y)]
    fails_with(lambda f: ex.check_gradients_reaching_layers(f, sigmoid_blocks=8), rounded, "expected")
