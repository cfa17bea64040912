"""Exercises 1 (background): a training step, the weight gradient of each layer, and the gradient
reaching each layer's output."""
import math
import numbers

import numpy as np

from .. import diagnostics, nn, optim, training
from ..autograd import Tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _call, _close,
                    _course_generator_untouched, _fmt, _passed, _recognise, register_course_implementations)


register_course_implementations("training_step", {
    "gradcourse.training.fit": training.fit,
})
register_course_implementations("layer_gradient_norms", {
    "gradcourse.diagnostics.gradient_norms": diagnostics.gradient_norms,
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


def check_training_step(training_step, lr=0.03, momentum=0.9):
    """`training_step(model, X, y, optimizer) -> float`: one step of the optimiser on the mean squared
    error, checked over 2 steps of plain SGD at `lr`, then 2 steps of SGD with `momentum`."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["training_step"]
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    outputs = y.shape[1]

    # plain SGD: W1 = W0 - lr g0, W2 = W1 - lr g1
    model = _linear_model(rng, 3, outputs)
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    loss0, gW0, gb0 = _mse_linear_gradients(W0, b0, X, y)
    W1, b1 = W0 - lr * gW0, b0 - lr * gb0
    loss1, gW1, _ = _mse_linear_gradients(W1, b1, X, y)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    got_loss = _call(training_step, model, X.copy(), y.copy(), optimizer, course=course)
    _check_first_step(model, W0, W1, gW0, lr, outputs, got_loss, loss0, loss1)
    got_loss = _call(training_step, model, X.copy(), y.copy(), optimizer, course=course)
    _check_second_step(model, W1 - lr * gW1, W1 - lr * (gW0 + gW1))
    _check_loss(got_loss, loss1, _mse_linear_gradients(W1 - lr * gW1, b1, X, y)[0], "the second step")

    # SGD with momentum: the same first step; then the buffer b2 = momentum g0 + g1, W2 = W1 - lr b2
    model = _linear_model(rng, 3, outputs)
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    _, gW0, gb0 = _mse_linear_gradients(W0, b0, X, y)
    W1, b1 = W0 - lr * gW0, b0 - lr * gb0
    _, gW1, _ = _mse_linear_gradients(W1, b1, X, y)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for _ in range(2):
        _call(training_step, model, X.copy(), y.copy(), optimizer, course=course)
    W2 = W1 - lr * (momentum * gW0 + gW1)
    W = model.weight.data
    if not _close(W, W2):
        hint = _recognise(W, [(f"this is a plain SGD step, W - lr * dL/dW: the update ignores the optimiser. "
                               f"Call optimizer.step(), which applies the optimiser's own rule (here SGD with "
                               f"momentum {momentum}, whose second step also moves by {momentum} times the "
                               f"first step's gradient)", W1 - lr * gW1)])
        raise ExerciseError(f"with optim.SGD(lr={lr}, momentum={momentum}), after two steps the weight should "
                            f"be {_fmt(W2.ravel())}, got {_fmt(W.ravel())}"
                            + (f": {hint}" if hint else ": let optimizer.step() update the parameters"))
    _passed(f"training_step: the loss it returns and the parameters match the formulas over 2 steps of "
            f"optim.SGD at lr = {lr} and 2 steps of optim.SGD with momentum {momentum} "
            f"({X.shape[0]} examples, {outputs} outputs)")


def _check_first_step(model, W0, W1, gW0, lr, outputs, got_loss, loss0, loss_after):
    __tracebackhide__ = True
    if isinstance(got_loss, Tensor):
        raise ExerciseError("training_step returned a Tensor: return loss.item(), a Python float, "
                            "so that a list of losses can be printed and plotted")
    W = model.weight.data
    if not _close(W, W1):
        raise ExerciseError(f"after one step of optim.SGD(lr={lr}) the weight should be {_fmt(W1.ravel())}, "
                            f"got {_fmt(W.ravel())}: {_first_step_hint(W0 - W, gW0, lr, outputs)}")
    _check_loss(got_loss, loss0, loss_after, "the first step")


def _first_step_hint(moved, gW0, lr, outputs):
    """What the weight's change (W0 - W) says about the mistake, when it is a multiple of the gradient."""
    if np.allclose(moved, 0.0):
        return "the parameters did not change: call loss.backward() and then optimizer.step()"
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
    if isinstance(got_loss, Tensor):
        raise ExerciseError("training_step returned a Tensor: return loss.item(), a Python float, "
                            "so that a list of losses can be printed and plotted")
    if not isinstance(got_loss, numbers.Real):
        raise ExerciseError(f"training_step returned a {type(got_loss).__name__}, not a number: return "
                            f"loss.item(), a Python float")
    if _close(got_loss, loss_after) and not _close(got_loss, loss_before):
        raise ExerciseError(f"in {which}, training_step returned {_fmt(got_loss)}, the loss after the update; "
                            f"return the loss of the forward pass, before optimizer.step() ({_fmt(loss_before)})")
    if not _close(got_loss, loss_before):
        raise ExerciseError(f"in {which}, training_step returned {_fmt(got_loss)}, expected the mean squared "
                            f"error {_fmt(loss_before)} (F.mse_loss(model(X), y))")


def _check_second_step(model, W2, W2_accumulated):
    __tracebackhide__ = True
    W = model.weight.data
    if _close(W, W2_accumulated):
        raise ExerciseError("the first step was right but the second used the sum of both steps' gradients: "
                            "gradients accumulate across backward() calls, so call optimizer.zero_grad() "
                            "before loss.backward()")
    if not _close(W, W2):
        raise ExerciseError(f"after two steps the weight should be {_fmt(W2.ravel())}, got {_fmt(W.ravel())}")


# ----- 1.2 the weight gradient of each layer -------------------------------------------------------
def check_layer_gradient_norms(layer_gradient_norms):
    """`layer_gradient_norms(model) -> list`: ||dL/dW||_F of each Linear layer, input side first."""
    __tracebackhide__ = True
    rng = np.random.default_rng(2)
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
    got = _array(list(got) if not isinstance(got, (Tensor, np.ndarray)) else got, "layer_gradient_norms(model)")
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


def check_gradients_reaching_layers(gradients_reaching_layers, seed=3, batch=7):
    """`gradients_reaching_layers(model, X, y) -> list`: ||dL/dz_l|| at the output z_l of each Linear
    layer of a Sequential, input side first, for L = F.mse_loss(model(X), y)."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    networks = [_reaching_network(rng, [4, 5, 3, 2], [nn.Tanh, nn.Sigmoid, None]),
                _reaching_network(rng, [3, 4, 4, 1], [nn.ReLU, None, None])]
    for model in networks:
        X = rng.normal(size=(batch, model[0].in_features))
        y = rng.normal(size=(batch, model[-1].out_features))
        _check_reaching(gradients_reaching_layers, model, X, y)
    _passed(f"gradients_reaching_layers gives ||dL/dz_l|| at the output of each Linear layer, input side first, "
            f"for the loss F.mse_loss(model(X), y), in 2 networks of 3 Linear layers ({batch} "
            f"example{'s' if batch != 1 else ''}; 2 outputs, then 1)")


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
    got = _as_numbers(got, len(expected))
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


def _as_numbers(got, expected_count):
    """Your list of norms as a 1-D float array, or an ExerciseError saying what it holds instead."""
    if isinstance(got, (Tensor, np.ndarray)):
        return _array(got, "gradients_reaching_layers(model, X, y)").ravel() if np.ndim(got) <= 1 \
            else _not_numbers(got)
    try:
        items = list(got)
    except TypeError:
        raise ExerciseError(f"gradients_reaching_layers should return a list of {expected_count} numbers, "
                            f"got {type(got).__name__}: {got!r:.80}") from None
    if any(item is None for item in items):
        raise ExerciseError("the list holds None: an intermediate Tensor (a layer's output) keeps its gradient "
                            "only if you call .retain_grad() on it before backward(); otherwise its .grad "
                            "stays None")
    if any(np.size(item.data if isinstance(item, Tensor) else item) != 1 for item in items):
        _not_numbers(got)
    return np.array([float(_array(item, "each entry of the list")) for item in items])


def _not_numbers(got):
    raise ExerciseError("return one number per Linear layer, the norm ||dL/dz_l|| = sqrt(sum of the squared "
                        "entries of the gradient), not the gradient arrays themselves")


CHECKERS = [check_training_step, check_layer_gradient_norms, check_gradients_reaching_layers]
