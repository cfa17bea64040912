"""Exercises 1 (background): a training step, and the gradient norm of each layer."""
import math

import numpy as np

from .. import diagnostics, nn, optim, training
from ..autograd import Tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _call, _check_shape, _close,
                    _course_generator_untouched, _fmt, _passed, _recognise, register_course_implementations)


register_course_implementations("training_step", {
    "gradcourse.training.fit": training.fit,
})
register_course_implementations("layer_gradient_norms", {
    "gradcourse.diagnostics.gradient_norms": diagnostics.gradient_norms,
})

def _mse_linear_gradients(W, b, X, y):
    """Loss and gradients of mean((X W + b - y)^2), written out: dL/dW = 2/N X^T r."""
    r = X @ W + b - y
    return np.mean(r**2), 2 / r.size * X.T @ r, 2 / r.size * r.sum(axis=0)


def check_training_step(training_step):
    """`training_step(model, X, y, optimizer) -> float`: one SGD step on the mean squared error."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["training_step"]
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    with _course_generator_untouched():
        model = nn.Linear(3, 1)
    model.weight.data[...] = rng.normal(size=(3, 1))
    model.bias.data[...] = rng.normal(size=1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    loss0, gW0, gb0 = _mse_linear_gradients(W0, b0, X, y)
    W1, b1 = W0 - 0.1 * gW0, b0 - 0.1 * gb0

    got_loss = _call(training_step, model, X, y, optimizer, course=course)
    _check_first_step(model, W0, W1, gW0, got_loss, loss0, _mse_linear_gradients(W1, b1, X, y)[0])
    loss1, gW1, gb1 = _mse_linear_gradients(W1, b1, X, y)
    _call(training_step, model, X, y, optimizer, course=course)
    _check_second_step(model, W1 - 0.1 * gW1, W1 - 0.1 * (gW0 + gW1))
    _passed("training_step: the loss and the parameters match the SGD formula over 2 steps")


def _check_first_step(model, W0, W1, gW0, got_loss, loss0, loss_after):
    if isinstance(got_loss, Tensor):
        raise ExerciseError("training_step returned a Tensor: return loss.item(), a Python float, "
                            "so that a list of losses can be printed and plotted")
    got_loss = _array(got_loss, "the value training_step returns")
    W = model.weight.data
    mistakes = [("the parameters did not change: call loss.backward() and then optimizer.step()", W0),
                ("the step was taken twice: call optimizer.step() once per training step", W0 - 0.2 * gW0)]
    if not _close(W, W1):
        hint = _recognise(W, mistakes) or "the update is W <- W - lr * dL/dW with L the mean squared error"
        raise ExerciseError(f"after one step the weight should be {_fmt(W1.ravel())}, "
                            f"got {_fmt(W.ravel())}: {hint}")
    if _close(got_loss, loss_after):
        raise ExerciseError(f"training_step returned {_fmt(got_loss)}, the loss after the update; return the "
                            f"loss of the forward pass, before optimizer.step() ({_fmt(loss0)})")
    if not _close(got_loss, loss0):
        raise ExerciseError(f"training_step returned {_fmt(got_loss)}, expected the mean squared error "
                            f"{_fmt(loss0)} (F.mse_loss(model(X), y))")


def _check_second_step(model, W2, W2_accumulated):
    W = model.weight.data
    if _close(W, W2_accumulated):
        raise ExerciseError("the first step was right but the second used the sum of both steps' gradients: "
                            "gradients accumulate across backward() calls, so call optimizer.zero_grad() "
                            "before loss.backward()")
    if not _close(W, W2):
        raise ExerciseError(f"after two steps the weight should be {_fmt(W2.ravel())}, got {_fmt(W.ravel())}")


def check_layer_gradient_norms(layer_gradient_norms):
    """`layer_gradient_norms(model) -> list`: ||dL/dW||_F of each Linear layer, input side first."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["layer_gradient_norms"]
    rng = np.random.default_rng(2)
    with _course_generator_untouched():
        model = nn.Sequential(nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 3), nn.Sigmoid(), nn.Linear(3, 2))
    linears = [model[0], model[2], model[4]]
    for scale, layer in zip([1e-3, 0.1, 10.0], linears):
        layer.weight.grad = scale * rng.normal(size=layer.weight.shape)
        layer.bias.grad = 5.0 * rng.normal(size=layer.bias.shape)
    expected = np.array([math.sqrt(np.sum(layer.weight.grad**2)) for layer in linears])

    got = _call(layer_gradient_norms, model, course=course)
    got = _array(list(got) if not isinstance(got, (Tensor, np.ndarray)) else got, "layer_gradient_norms(model)")
    if got.shape == (6,):
        raise ExerciseError("got 6 numbers for 3 Linear layers: take one norm per layer, of its weight's "
                            "gradient (layer.weight.grad), and leave the biases out")
    _check_shape(got, expected, "layer_gradient_norms(model)", " (one number per Linear layer)")
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
        raise ExerciseError(f"expected {_fmt(expected)}, got {_fmt(got)}: {hint}")
    _passed("layer_gradient_norms gives the Frobenius norm of each of the 3 weight gradients, input side first")


CHECKERS = [check_training_step, check_layer_gradient_norms]
