"""Exercises 1 (background): a training step, the weight gradient of each layer, and the gradient
reaching each layer's output."""
import math
import numbers

import numpy as np

from .. import diagnostics, nn, optim, training
from ..autograd import Tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _call, _close,
                    _course_generator_untouched, _fmt, _passed, _recognise, _returned_none,
                    register_course_implementations)
from ._repairs import _casebook_functions


register_course_implementations("training_step", {
    "gradcourse.training.fit": training.fit,
    "gradcourse.training._train_step (fit's own step)": training._train_step,
    **_casebook_functions(),  # (its training steps and runs among them)
})
register_course_implementations("layer_gradient_norms", {
    "gradcourse.diagnostics.gradient_norms": diagnostics.gradient_norms,
    "gradcourse.optim.grad_norm": optim.grad_norm,
    "gradcourse.optim.clip_grad_norm_": optim.clip_grad_norm_,
    "gradcourse.diagnostics.GradientFlow.record": diagnostics.GradientFlow.record,
    "gradcourse.diagnostics.measure_at_init": diagnostics.measure_at_init,
    "gradcourse.diagnostics.per_layer": diagnostics.per_layer,
    "gradcourse.diagnostics.check_gradients": diagnostics.check_gradients,
})
register_course_implementations("gradients_reaching_layers", {
    "gradcourse.diagnostics.measure_at_init": diagnostics.measure_at_init,
    "gradcourse.diagnostics.GradientFlow": diagnostics.GradientFlow.__init__,
    "gradcourse.diagnostics.GradientFlow.record": diagnostics.GradientFlow.record,
})


# ----- 1.1 one training step ------------------------------------------------------------------
def _mse_linear_gradients(W, b, X, y):
    """Loss and gradients of mean((X W + b - y)^2) over all n x m entries: dL/dW = 2/(nm) X^T r."""
    r = X @ W + b - y
    return np.mean(r**2), 2 / r.size * X.T @ r, 2 / r.size * r.sum(axis=0)


def _linear_model(rng, inputs, outputs):
    with _course_generator_untouched():
        model = nn.Linear(inputs, outputs)
    model.weight.data[...] = rng.normal(size=(inputs, outputs))
    model.bias.data[...] = rng.normal(size=outputs)
    return model


def _sgd_steps(W, b, X, y, lr, momentum, steps):
    """Per step of SGD (with momentum, buffer B_t = momentum B_{t-1} + g_t, B_1 = g_1; W <- W - lr B_t) on the
    mean squared error: (loss before the step, its gradient dL/dW, W and b after the step, dL/db)."""
    found, buffers = [], None
    for _ in range(steps):
        loss, gW, gb = _mse_linear_gradients(W, b, X, y)
        buffers = (gW, gb) if buffers is None else (momentum * buffers[0] + gW, momentum * buffers[1] + gb)
        W, b = W - lr * buffers[0], b - lr * buffers[1]
        found.append((loss, gW, W, b, gb))
    return found


def _watch_optimizer(optimizer):
    """Record the calls of optimizer.zero_grad() and .step(), each with whether a parameter had a gradient."""
    calls, zero_grad, step = [], optimizer.zero_grad, optimizer.step

    def has_gradient():
        return any(p.grad is not None and np.any(p.grad) for p in optimizer.params)

    def watched_zero_grad(*args, **kwargs):
        __tracebackhide__ = True
        calls.append(("zero_grad", has_gradient()))
        return zero_grad(*args, **kwargs)

    def watched_step(*args, **kwargs):
        calls.append(("step", has_gradient()))
        return step(*args, **kwargs)
    optimizer.zero_grad, optimizer.step = watched_zero_grad, watched_step
    return calls


def check_training_step(training_step, lr=0.03, momentum=0.9, momentum_lr=0.05):
    """`training_step(model, X, y, optimizer) -> float`: one step of the optimiser on the mean squared
    error, checked over 2 steps of plain SGD at `lr`, then 2 steps of SGD with `momentum` at `momentum_lr`,
    on other data of other shapes."""
    __tracebackhide__ = True
    rng = np.random.default_rng(1)
    runs = [("optim.SGD", dict(lr=lr), rng.normal(size=(6, 3)), rng.normal(size=(6, 3))),
            ("optim.SGD", dict(lr=momentum_lr, momentum=momentum), rng.normal(size=(5, 4)), rng.normal(size=(5, 2)))]
    for name, settings, X, y in runs:
        _check_two_steps(training_step, rng, f"{name}({', '.join(f'{k}={v}' for k, v in settings.items())})",
                         settings, X, y)
    _passed("training_step: the loss it returns, the weight and the bias match the formulas after each of "
            + " and ".join(f"2 steps of {name}({', '.join(f'{k}={v}' for k, v in settings.items())}) "
                           f"({X.shape[0]} examples, {X.shape[1]} inputs, {y.shape[1]} outputs)"
                           for name, settings, X, y in runs))


def _check_two_steps(training_step, rng, optimizer_name, settings, X, y):
    __tracebackhide__ = True
    lr, momentum = settings["lr"], settings.get("momentum", 0.0)
    model = _linear_model(rng, X.shape[1], y.shape[1])
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    expected = _sgd_steps(W0, b0, X, y, lr, momentum, 3)
    optimizer = optim.SGD(model.parameters(), **settings)
    calls = _watch_optimizer(optimizer)
    for step in (1, 2):
        del calls[:]
        got_loss = _call(training_step, model, X.copy(), y.copy(), optimizer,
                         course=COURSE_IMPLEMENTATIONS["training_step"])
        _check_returned_loss(got_loss)
        loss, gW, W, b, _ = expected[step - 1]
        which = f"after {'one step' if step == 1 else 'two steps'} of {optimizer_name}"
        if step == 1:
            _check_first_step(model, W0, W, b, gW, lr, y.shape[1], calls, which)
        else:
            _, gW0, W1, b1, gb0 = expected[0]
            gb1 = expected[1][4]
            # the bias as it would be had its gradient not been cleared (the weight's was)
            accumulated_bias = b1 - lr * (momentum * gb0 + gb0 + gb1)
            _check_second_step(model, W, b, W1, gW0, gW, lr, momentum, which, accumulated_bias)
        _check_loss(got_loss, loss, expected[step][0], f"step {step} of {optimizer_name}")


def _check_returned_loss(got_loss):
    __tracebackhide__ = True
    if got_loss is None:
        raise _returned_none("training_step", "the loss of the step as a Python float (loss.item())")
    if isinstance(got_loss, Tensor):
        raise ExerciseError("training_step returned a Tensor: return loss.item(), a Python float, "
                            "so that a list of losses can be printed and plotted")
    if isinstance(got_loss, bool) or not isinstance(got_loss, numbers.Real):
        raise ExerciseError(f"training_step returned a {type(got_loss).__name__}, not a number: return "
                            f"loss.item(), a Python float")


def _check_bias(model, b, which, accumulated=None):
    __tracebackhide__ = True
    if accumulated is not None and _close(model.bias.data, accumulated) and not _close(accumulated, b):
        raise ExerciseError(f"{which} the weight is right but the bias should be {_fmt(b)}, got "
                            f"{_fmt(model.bias.data)}: the second step used the sum of both steps' bias "
                            f"gradients. Gradients accumulate across backward() calls in every parameter, the "
                            f"bias too: clear them all before loss.backward(), as optimizer.zero_grad() does")
    if not _close(model.bias.data, b):
        raise ExerciseError(f"{which} the weight is right but the bias should be {_fmt(b)}, got "
                            f"{_fmt(model.bias.data)}: every parameter moves, let optimizer.step() update them all")


def _check_first_step(model, W0, W1, b1, gW0, lr, outputs, calls, which):
    __tracebackhide__ = True
    W = model.weight.data
    if not _close(W, W1):
        raise ExerciseError(f"{which} the weight should be {_fmt(W1.ravel())}, got {_fmt(W.ravel())}: "
                            f"{_first_step_hint(W0 - W, gW0, lr, outputs, calls)}")
    _check_bias(model, b1, which)


def _first_step_hint(moved, gW0, lr, outputs, calls):
    """What the weight's change (W0 - W) says about the mistake, when it is a multiple of the gradient."""
    if np.allclose(moved, 0.0):
        steps = [had_gradient for call, had_gradient in calls if call == "step"]
        if not steps:
            return "the parameters did not change: call optimizer.step() after loss.backward()"
        if any(steps):
            return "the parameters did not change: let optimizer.step() update them"
        if any(call == "zero_grad" and had_gradient for call, had_gradient in calls):
            return ("the parameters did not change: optimizer.zero_grad() was called after loss.backward(), so "
                    "it cleared the gradient before optimizer.step() could use it. Clear the gradients first, "
                    "before loss.backward()")
        return ("the parameters did not change: when optimizer.step() ran, no parameter had a gradient. Call "
                "loss.backward() before optimizer.step(), and clear the gradients before backward(), not "
                "between backward() and step()")
    factor = float(np.sum(moved * gW0) / np.sum(gW0 * gW0))
    if not _close(moved, factor * gW0):
        return "the update is W <- W - lr * dL/dW with L the mean squared error"
    if math.isclose(factor, 2 * lr):
        return "the step was taken twice: call optimizer.step() once per training step"
    if math.isclose(factor, outputs * lr):
        return (f"the step is {outputs} times too large: the loss sums the squared errors over the {outputs} "
                f"outputs instead of taking the mean over all n x {outputs} entries (F.mse_loss does)")
    return (f"the weight moved by {factor:.4g} times its gradient, but the optimiser's learning rate is {lr}: "
            f"don't update the parameters yourself at a learning rate of your own, call optimizer.step()")


def _check_loss(got_loss, loss_before, loss_after, which):
    __tracebackhide__ = True
    if _close(got_loss, loss_after) and not _close(got_loss, loss_before):
        raise ExerciseError(f"in {which}, training_step returned {_fmt(got_loss)}, the loss after the update; "
                            f"return the loss of the forward pass, before optimizer.step() ({_fmt(loss_before)})")
    if not _close(got_loss, loss_before):
        raise ExerciseError(f"in {which}, training_step returned {_fmt(got_loss)}, expected the mean squared "
                            f"error {_fmt(loss_before)} (F.mse_loss(model(X), y))")


def _check_second_step(model, W2, b2, W1, gW0, gW1, lr, momentum, which, accumulated_bias):
    __tracebackhide__ = True
    W = model.weight.data
    if _close(W, W1 - lr * (momentum * gW0 + gW0 + gW1)):
        raise ExerciseError("the first step was right but the second used the sum of both steps' gradients: "
                            "gradients accumulate across backward() calls, so call optimizer.zero_grad() "
                            "before loss.backward()")
    if not _close(W, W2):
        hint = None
        if momentum:
            hint = _recognise(W, [(f"this is a plain SGD step, W - lr * dL/dW: the update ignores the optimiser. "
                                   f"Call optimizer.step(), which applies the optimiser's own rule (here SGD with "
                                   f"momentum {momentum}, whose second step also moves by {momentum} times the "
                                   f"first step's gradient)", W1 - lr * gW1)])
        raise ExerciseError(f"{which} the weight should be {_fmt(W2.ravel())}, got {_fmt(W.ravel())}"
                            + (f": {hint}" if hint else ": let optimizer.step() update the parameters"))
    _check_bias(model, b2, which, accumulated_bias)


# ----- 1.2 the weight gradient of each layer -------------------------------------------------------
def check_layer_gradient_norms(layer_gradient_norms, seed=2):
    """`layer_gradient_norms(model) -> list`: ||dL/dW||_F of each Linear layer, input side first (gradients
    drawn with `seed`)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    with _course_generator_untouched():
        networks = [nn.Sequential(nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 3), nn.Sigmoid(), nn.Linear(3, 2)),
                    nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Linear(4, 2), nn.Tanh())]
    for model in networks:
        linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        for scale, layer in zip([1e-3, 0.1, 10.0], linears):
            layer.weight.grad = scale * rng.normal(size=layer.weight.shape)
            layer.bias.grad = 5.0 * rng.normal(size=layer.bias.shape)
        _check_weight_gradient_norms(layer_gradient_norms, model, linears)
    _passed("layer_gradient_norms gives the Frobenius norm of each Linear layer's weight gradient, input side "
            "first, in 2 networks of 3 Linear layers (one with two Linear layers in a row)")


def _check_weight_gradient_norms(layer_gradient_norms, model, linears):
    __tracebackhide__ = True
    expected = np.array([math.sqrt(np.sum(layer.weight.grad**2)) for layer in linears])
    got = _call(layer_gradient_norms, model, course=COURSE_IMPLEMENTATIONS["layer_gradient_norms"])
    got = _as_numbers(got, "layer_gradient_norms", len(linears),
                      "the list holds None: put a number in it for each Linear layer, the norm of layer.weight.grad")
    if got.shape == (2 * len(linears),):
        raise ExerciseError(f"got {got.size} numbers for {len(linears)} Linear layers: take one norm per layer, "
                            f"of its weight's gradient (layer.weight.grad), and leave the biases out")
    if got.shape != expected.shape:
        raise ExerciseError(f"for {_describe(model)}: got {got.size} numbers, expected {expected.size}: one number "
                            f"per Linear layer, in the order they appear in the model")
    with_bias = [math.sqrt(np.sum(l.weight.grad**2) + np.sum(l.bias.grad**2)) for l in linears]
    mistakes = [("these are the squared norms: take the square root of the sum of squares", expected**2),
                ("the order is reversed: list the layers from the input side, as they appear in the model",
                 expected[::-1]),
                ("the biases' gradients are included: use the weight's gradient only", with_bias),
                ("this is the largest |entry|, not the norm sqrt(sum of squares)",
                 [np.abs(l.weight.grad).max() for l in linears]),
                ("these are the norms of the weights themselves: use layer.weight.grad, not layer.weight",
                 [np.linalg.norm(l.weight.data) for l in linears])]
    if not _close(got, expected):
        hint = _recognise(got, mistakes) or "the Frobenius norm is sqrt(sum of the squared entries)"
        raise ExerciseError(f"for {_describe(model)}: expected {_fmt(expected)}, got {_fmt(got)}: {hint}")


def _describe(model):
    return "the network " + " -> ".join(type(layer).__name__ for layer in model)


# ----- 1.3 the gradient reaching each layer's output ----------------------------------------------
_SLOPES = {nn.Sigmoid: (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
           nn.Tanh: (np.tanh, lambda a: 1 - a**2),
           nn.ReLU: (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float))}


def _backprop_by_hand(modules, X, output_gradient):
    """Backpropagation written out for Linear, Sigmoid, Tanh and ReLU modules, in numpy.

    Returns {"z": outputs of the Linear layers, "inputs": their inputs h_{l-1}, "dz": dL/dz at
    each Linear output, "dh": dL/dh at the output of each Linear layer's activation (dL/dz for a
    Linear layer with no activation after it), "dh_act": dL/dh at each activation's output,
    "dX": dL/dX}; the loss's gradient at the network's output is output_gradient(output).
    """
    h, trace = X, []
    for module in modules:
        if isinstance(module, nn.Linear):
            out = h @ module.weight.data + module.bias.data
        else:
            out = _SLOPES[type(module)][0](h)
        trace.append((module, h, out))
        h = out
    g = output_gradient(h)
    found = {"z": [], "inputs": [], "dz": [], "dh": [], "dh_act": []}
    after = None  # dL/dh at the output of the module after this one, if that module is an activation
    for module, inp, out in reversed(trace):
        if isinstance(module, nn.Linear):
            found["z"].insert(0, out)
            found["inputs"].insert(0, inp)
            found["dz"].insert(0, g)
            found["dh"].insert(0, g if after is None else after)
            g, after = g @ module.weight.data.T, None
        else:
            found["dh_act"].insert(0, g)
            g, after = g * _SLOPES[type(module)][1](out), g
    found["dX"] = g
    return found


def _norms(arrays):
    return np.array([math.sqrt(np.sum(np.square(a))) for a in arrays])


def _reaching_network(rng, sizes, activations):
    """A Sequential of Linear layers of `sizes`, with the activation modules given after each (or None)."""
    with _course_generator_untouched():
        layers = []
        for (n_in, n_out), activation in zip(zip(sizes[:-1], sizes[1:]), activations):
            layers.append(nn.Linear(n_in, n_out))
            if activation is not None:
                layers.append(activation())
    for layer in layers:
        if isinstance(layer, nn.Linear):
            layer.weight.data[...] = rng.normal(scale=1.2 / math.sqrt(layer.in_features), size=layer.weight.shape)
            layer.bias.data[...] = rng.normal(scale=0.3, size=layer.bias.shape)
    return nn.Sequential(*layers)


def check_gradients_reaching_layers(gradients_reaching_layers, seed=3, batch=7, sigmoid_blocks=0):
    """`gradients_reaching_layers(model, X, y) -> list`: ||dL/dz_l|| at the output z_l of each Linear
    layer of a Sequential, input side first, for L = F.mse_loss(model(X), y); checked on 2 networks, with
    `batch` examples, then `batch` + 3 (and, if `sigmoid_blocks`, on that many Linear(6, 6) + Sigmoid blocks
    and a Linear(6, 2), with 10 examples)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    networks = [_reaching_network(rng, [4, 5, 3, 2], [nn.Tanh, nn.Sigmoid, None]),
                _reaching_network(rng, [3, 4, 4, 1], [nn.ReLU, None, None])]
    batches = (batch, batch + 3)
    deep = ""
    if sigmoid_blocks:
        networks.append(_reaching_network(rng, [6] * (sigmoid_blocks + 1) + [2], [nn.Sigmoid] * sigmoid_blocks
                                          + [None]))
        batches += (10,)
        deep = (f"; and in a network of {sigmoid_blocks} Linear + Sigmoid blocks and an output layer (10 examples), "
                f"where the gradient near the input is tiny")
    for model, n in zip(networks, batches):
        X = rng.normal(size=(n, model[0].in_features))
        y = rng.normal(size=(n, model[-1].out_features))
        _check_reaching(gradients_reaching_layers, model, X, y)
    _passed(f"gradients_reaching_layers gives ||dL/dz_l|| at the output of each Linear layer, input side first, "
            f"for the loss F.mse_loss(model(X), y), in 2 networks of 3 Linear layers ({batches[0]} "
            f"example{'s' if batches[0] != 1 else ''}, 4 inputs and 2 outputs, then {batches[1]} examples, 3 inputs "
            f"and 1 output){deep}")


def _check_reaching(gradients_reaching_layers, model, X, y):
    __tracebackhide__ = True
    modules, count = list(model), y.size
    right = _backprop_by_hand(modules, X, lambda out: 2 / count * (out - y))
    expected = _norms(right["dz"])
    try:
        got = _call(gradients_reaching_layers, model, X.copy(), y.copy(),
                    course=COURSE_IMPLEMENTATIONS["gradients_reaching_layers"])
    except TypeError as error:
        if "NoneType" not in str(error):
            raise
        raise ExerciseError(f"{type(error).__name__}: {error}. Is a .grad None? An intermediate Tensor (a layer's "
                            f"output) keeps its gradient only if you call .retain_grad() on it before "
                            f"backward(); otherwise its .grad stays None") from None
    got = _as_numbers(got, "gradients_reaching_layers", len(expected),
                      "the list holds None: an intermediate Tensor (a layer's output) keeps its gradient only if "
                      "you call .retain_grad() on it before backward(); otherwise its .grad stays None")
    linears = len(expected)
    other_counts = [("the first number is the gradient reaching the input X: list only the outputs of the "
                     "Linear layers", np.r_[np.linalg.norm(right["dX"]), expected]),
                    ("the last number is the loss's own gradient dL/dL = 1: list only the outputs of the "
                     "Linear layers", np.r_[expected, 1.0]),
                    ("these are the gradients at the activations' outputs h_l = f(z_l): measure at the output "
                     "z_l of each Linear layer, before its activation", _norms(right["dh_act"]))]
    if got.shape != expected.shape:
        hint = _recognise(got, other_counts) or "one number per Linear layer"
        raise ExerciseError(f"for {_describe(model)}: got {got.size} numbers, expected {linears}: {hint}")
    ignores_y = _backprop_by_hand(modules, X, lambda out: 2 / count * out)
    known = [
        ("these are the weight gradients dL/dW_l = h_{l-1}^T dL/dz_l (layer.weight.grad): the exercise asks for "
         "the gradient reaching the layer's output z_l, the .grad of the Tensor the layer returns",
         _norms([h.T @ g for h, g in zip(right["inputs"], right["dz"])])),
        ("these are the biases' gradients dL/db_l, dL/dz_l summed over the batch: take the norm of the whole "
         "gradient reaching the layer's output, one row per example", _norms([g.sum(axis=0) for g in right["dz"]])),
        ("the order is reversed: list the layers from the input side, as they appear in the model",
         expected[::-1]),
        ("these are the squared norms: take the square root of the sum of squares", expected**2),
        ("these are the norms of the layers' outputs z_l themselves, not of their gradients: read .grad after "
         "backward()", _norms(right["z"])),
        ("these are measured after the activations (dL/dh_l at h_l = f(z_l)): measure at the output z_l of "
         "each Linear layer, before its activation", _norms(right["dh"])),
        ("the loss ignores y: use F.mse_loss(model(X), y)", _norms(ignores_y["dz"])),
        (f"every number is {count} times too large: the loss sums the squared errors instead of taking their "
         f"mean over all {count} entries (F.mse_loss does)", count * expected),
    ]
    if not _close(got, expected, rtol=1e-6, atol=0.0):
        hint = _recognise(got, known) or ("the norm of dL/dz_l is sqrt(sum of its squared entries), over every "
                                          "example of the batch and every unit")
        raise ExerciseError(f"for {_describe(model)} on {X.shape[0]} examples: expected {_fmt(expected)}, got "
                            f"{_fmt(got)}: {hint}")


def _as_numbers(got, name, expected_count, none_inside):
    """Your list of norms as a 1-D float array, or an ExerciseError saying what it holds instead."""
    __tracebackhide__ = True
    wanted = f"the list of {expected_count} norms, one per Linear layer"
    if got is None:
        raise _returned_none(name, wanted)
    if isinstance(got, (Tensor, np.ndarray)):
        return _array(got, f"what {name} returned").ravel() if np.ndim(got) <= 1 else _not_numbers(got)
    if isinstance(got, dict):
        raise ExerciseError(f"{name} returned a dict: return {wanted}, input side first (a list, not a dict)")
    try:
        items = [] if isinstance(got, (str, bytes)) else list(got)
    except TypeError:
        items = []
    if not items and not isinstance(got, (list, tuple)):
        raise ExerciseError(f"{name} should return {wanted}, got {type(got).__name__}: {got!r:.80}")
    if any(item is None for item in items):
        raise ExerciseError(none_inside)
    if any(np.size(item.data if isinstance(item, Tensor) else item) != 1 for item in items):
        _not_numbers(got)
    return np.array([float(_array(item, "each entry of the list").ravel()[0]) for item in items])


def _not_numbers(got):
    raise ExerciseError("return one number per Linear layer, the norm of its gradient, sqrt(sum of the squared "
                        "entries), not the gradient arrays themselves")


CHECKERS = [check_training_step, check_layer_gradient_norms, check_gradients_reaching_layers]
