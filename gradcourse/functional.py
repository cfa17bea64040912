"""Activation functions, losses and the fused linear map, each with its derivative beside it.

Mirrors `torch.nn.functional`: every function takes tensors (or arrays) and returns a Tensor.
"""
import math

import numpy as np

from . import validation as check
from .autograd import ACTIVATIONS_FROM_OUTPUT, ShapeError, Tensor, _dim, as_tensor, record_op
from .autograd import require_shape as _shape

_erf = np.vectorize(math.erf, otypes=[np.float64])
GELU_APPROXIMATIONS = ("none", "tanh")
LEAKY_RELU_SLOPE = 0.01  # the default negative slope (PyTorch's), also of nn.LeakyReLU and init.calculate_gain


# ----- activations ---------------------------------------------------------------------------
def sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x); sigma'(x) = sigma(x)(1 - sigma(x)) <= 1/4."""
    return as_tensor(x, "x", "sigmoid").sigmoid()


def tanh(x):
    """tanh(x); tanh'(x) = 1 - tanh(x)^2 <= 1."""
    return as_tensor(x, "x", "tanh").tanh()


def relu(x):
    """max(x, 0); its derivative is 1 for x > 0 and 0 otherwise."""
    return as_tensor(x, "x", "relu").relu()


def leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE):
    """x for x > 0, negative_slope * x otherwise; the derivative never reaches 0."""
    negative_slope = check.number("negative_slope", negative_slope, where="leaky_relu")
    x = as_tensor(x, "x", "leaky_relu")
    slope = np.where(x.data > 0, 1.0, negative_slope)
    return record_op(x.data * slope, (x,), lambda g: (g * slope,), op="leaky_relu")


def gelu(x, approximate="none"):
    """GELU(x) = x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    GELU'(x) = Phi(x) + x phi(x). `approximate="tanh"` uses
    Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, as PyTorch does.
    """
    check.choice("approximate", approximate, GELU_APPROXIMATIONS, where="gelu")
    x = as_tensor(x, "x", "gelu")
    if approximate == "none":
        cdf = 0.5 * (1.0 + _erf(x.data / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * x.data ** 2) / math.sqrt(2.0 * math.pi)
        derivative = cdf + x.data * pdf
    elif approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x.data + 0.044715 * x.data ** 3)
        t = np.tanh(inner)
        cdf = 0.5 * (1.0 + t)
        d_inner = math.sqrt(2.0 / math.pi) * (1.0 + 3 * 0.044715 * x.data ** 2)
        derivative = cdf + 0.5 * x.data * (1.0 - t * t) * d_inner
    return record_op(x.data * cdf, (x,), lambda g: (g * derivative,), op="gelu")


def softmax(x, axis=-1):
    """softmax(x)_i = e^{x_i} / sum_j e^{x_j}, computed as exp(log_softmax) for stability.

    `axis` is checked as in `log_softmax`.
    """
    return _log_softmax(as_tensor(x, "x", "softmax"), axis, "softmax").exp()


def log_softmax(x, axis=-1):
    """log_softmax(x)_i = x_i - logsumexp(x), with the max subtracted first so e^x never overflows.

    Backward: dL/dx = g - softmax(x) * sum_j g_j.
    `axis` must be an integer in [-ndim, ndim) (a TypeError for a non-integer, an IndexError, also
    a ValueError, out of range, as in PyTorch); an axis of size 0 gives an empty result, as in
    PyTorch.
    """
    return _log_softmax(as_tensor(x, "x", "log_softmax"), axis, "log_softmax")


def _log_softmax(x, axis, where):
    _shape(x.ndim >= 1, "x", x.shape, "at least 1-D (a 0-d tensor has no axis)", where)
    axis = _dim(axis, x.ndim, where)
    if x.shape[axis] == 0:
        out = x.data.copy()
    else:
        shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def backward(g):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)
    return record_op(out, (x,), backward, op="log_softmax")


# ----- the linear map ------------------------------------------------------------------------
def linear(x, weight, bias=None):
    """y = x @ W + b, with W of shape (in_features, out_features), as one fused operation.

    W must be 2-D, b (if given) of shape (out_features,), and x at least 1-D with in_features
    on its last axis; anything else is a `ShapeError` (a ValueError and a RuntimeError, as PyTorch
    raises) naming the shapes. (PyTorch's weight is the
    transpose, (out_features, in_features).)

    Backward: dL/dx = G W^T, dL/dW = x^T G, dL/db = sum over the batch of G.
    """
    x, weight, bias = _linear_inputs(x, weight, bias)
    out = _affine(x, weight, bias)
    parents = (x, weight) if bias is None else (x, weight, bias)
    return record_op(out, parents, lambda g: _linear_backward(x, weight, bias, g), op="linear")


# ACTIVATIONS_FROM_OUTPUT (defined in autograd, where Tensor.tanh, .sigmoid and .relu use it) maps
# each activation whose derivative can be written from its output y = act(z) alone to
# (act(z), g * act'(z)). It is the one list of the activations that `linear_activation` fuses
# (`nn.Sequential` derives its fused layers from it) and that the diagnostics measure.
_ACTIVATIONS_FROM_OUTPUT = ACTIVATIONS_FROM_OUTPUT  # (its earlier, private name)


def linear_activation(x, weight, bias, activation):
    """act(x @ W + b), recorded as ONE graph node, for an `activation` named in `ACTIVATIONS_FROM_OUTPUT`.

    Value and gradients are bit for bit those of `linear` followed by the activation: the same
    numpy operations run in the same order. Only the bookkeeping halves: one node to record and
    to visit in backward instead of two, which is a third of the cost of a small layer (width
    32). `nn.Sequential` uses it for a Linear followed by one of these activations. Compilers such
    as torch.compile do the same ("epilogue fusion").

    Backward: G_z = g * act'(z), computed from y; then as `linear` with G_z.
    """
    try:
        act, act_backward = ACTIVATIONS_FROM_OUTPUT[activation]
    except (KeyError, TypeError):
        check.choice("activation", activation, tuple(ACTIVATIONS_FROM_OUTPUT), where="linear_activation")
    if not (isinstance(x, Tensor) and isinstance(weight, Tensor) and isinstance(bias, (Tensor, type(None)))):
        x, weight, bias = _linear_inputs(x, weight, bias, "linear_activation")  # (Sequential's call, with Tensors, skips this)
    out = act(_affine(x, weight, bias))

    def backward(g):
        return _linear_backward(x, weight, bias, act_backward(g, out))
    return record_op(out, (x, weight) if bias is None else (x, weight, bias), backward, op="linear_activation")


def _linear_inputs(x, weight, bias, where="linear"):
    """x, W and b (or None) as Tensors; arrays become constants."""
    return (as_tensor(x, "x", where), as_tensor(weight, "weight", where),
            None if bias is None else as_tensor(bias, "bias", where))


def _affine(x, weight, bias):
    """The array x @ W + b (b added in place), or a ShapeError naming the shapes."""
    w = weight.data
    if w.ndim != 2 or (bias is not None and bias.data.shape != w.shape[1:]):  # (~0.2 us: kept lean)
        _linear_shape_error(x, weight, bias)
    try:
        out = x.data @ w
    except ValueError:
        _linear_shape_error(x, weight, bias)
    if bias is not None:
        out += bias.data
    return out


def _linear_shape_error(x, weight, bias, where="linear"):
    """Raise the ShapeError that says which of x, W, b has the wrong shape (checked in that order)."""
    _shape(weight.ndim == 2, "weight", weight.shape, "2-D, (in_features, out_features)", where)
    out_features = weight.shape[1]
    if bias is not None:
        _shape(bias.shape == (out_features,), "bias", bias.shape,
               f"of shape (out_features,) = ({out_features},), one value per output", where)
    _shape(x.ndim >= 1, "input", x.shape, "at least 1-D, with in_features on its last axis", where)
    check.fail("input", x.shape, f"(..., {weight.shape[0]}): {weight.shape[0]} features on the last axis, "
               f"as the weight of shape {weight.shape} expects", where, ShapeError)


def _linear_backward(x, weight, bias, g):
    """dL/dx = G W^T, dL/dW = x^T G, dL/db = sum of G over the batch (G = g)."""
    x2, g2 = x.data, g
    if g.ndim != 2:  # a stack of batches: fold the extra axes into one batch axis
        x2, g2 = x.data.reshape(-1, weight.data.shape[0]), g.reshape(-1, weight.data.shape[1])
    grad_x = g @ weight.data.T if x.requires_grad else None
    grad_w = x2.T @ g2 if weight.requires_grad else None
    if bias is None:
        return grad_x, grad_w
    return grad_x, grad_w, np.add.reduce(g2, axis=0)


# ----- losses --------------------------------------------------------------------------------
def mse_loss(pred, target):
    """Mean squared error: mean((pred - target)^2). Shapes must match exactly and be non-empty
    (a `ShapeError`, which is a ValueError, otherwise).

    (PyTorch only warns when they differ; here an (n, 1) prediction against an (n,) target
    would silently broadcast to an (n, n) matrix, so it is an error. On empty tensors PyTorch
    returns nan with a warning; here the mean of nothing is a ValueError.)
    """
    pred, target = as_tensor(pred, "pred", "mse_loss"), as_tensor(target, "target", "mse_loss")
    _shape(pred.shape == target.shape, "target", target.shape,
           f"of the prediction's shape {pred.shape} (reshape one of them, e.g. target.reshape(-1, 1))", "mse_loss")
    _check_not_empty("mse_loss", "pred", pred.shape)
    diff = pred.data - target.data
    loss = np.asarray(np.mean(diff * diff))

    def backward(g):  # dL/dpred = 2 (pred - target) / n = -dL/dtarget
        grad_pred = g * (2.0 / diff.size) * diff
        return grad_pred, -grad_pred if target.requires_grad else None
    return record_op(loss, (pred, target), backward, op="mse_loss")


def cross_entropy(logits, targets):
    """Mean over the batch of -log softmax(logits)[target]: the multi-class log loss.

    `logits` has shape (batch, classes), batch and classes >= 1; `targets` holds integer class
    indices in [0, classes), shape (batch,). (PyTorch returns nan for an empty batch; here it is
    a ValueError.) Stable for logits in the thousands, because it goes through `log_softmax`.
    """
    logits = as_tensor(logits, "logits", "cross_entropy")
    targets = _class_indices(targets, logits)
    log_probs = log_softmax(logits, axis=1)
    return -log_probs[np.arange(len(targets)), targets].mean()


def _class_indices(targets, logits, where="cross_entropy"):
    """`targets` as integer class indices, one per row of the (batch, classes) `logits`."""
    targets = _numeric_targets(where, targets)
    _shape(logits.ndim == 2, "logits", logits.shape, "(batch, classes), 2-D", where)
    _check_not_empty(where, "logits", logits.shape)
    _shape(targets.shape == (logits.shape[0],), "targets", targets.shape,
           f"({logits.shape[0]},), one class index per row of the logits of shape {logits.shape}", where)
    check.require(np.all(np.equal(np.mod(targets, 1), 0)), "targets", targets,
                  "integer class indices (whole numbers)", where)
    targets = targets.astype(np.intp)
    check.require(targets.size == 0 or (targets.min() >= 0 and targets.max() < logits.shape[1]), "targets",
                  targets, f"class indices in [0, {logits.shape[1] - 1}] for {logits.shape[1]} classes", where)
    return targets


def binary_cross_entropy_with_logits(logits, targets):
    """Mean of -[t log sigma(x) + (1 - t) log(1 - sigma(x))], computed stably from the logits x:

        loss = max(x, 0) - x t + log(1 + e^{-|x|}),   dloss/dx = sigma(x) - t.

    `targets` (probabilities in [0, 1]) must have the logits' shape, non-empty. Targets that
    require grad receive dloss/dt = -x / n, as in PyTorch. (PyTorch does not check the targets'
    range and returns nan when empty.)
    """
    where = "binary_cross_entropy_with_logits"
    x = as_tensor(logits, "logits", where)
    t = _numeric_targets(where, targets).astype(np.float64)
    _shape(t.shape == x.shape, "targets", t.shape, f"of the logits' shape {x.shape}", where)
    _check_not_empty(where, "logits", x.shape)
    check.require(np.all((t >= 0) & (t <= 1)), "targets", t, "probabilities in [0, 1]", where)
    losses = np.maximum(x.data, 0.0) - x.data * t + np.log1p(np.exp(-np.abs(x.data)))
    sigma = np.exp(-np.logaddexp(0.0, -x.data))
    target = targets if isinstance(targets, Tensor) else as_tensor(t)

    def backward(g):  # dL/dx = (sigma(x) - t) / n, dL/dt = -x / n
        return (g * (sigma - t) / x.size if x.requires_grad else None,
                -g * x.data / x.size if target.requires_grad else None)
    return record_op(np.asarray(losses.mean()), (x, target), backward, op="binary_cross_entropy_with_logits")


def _numeric_targets(where, targets):
    """`targets` as a numpy array of integers or floats, or a TypeError (bools and strings are not)."""
    array = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    check.require(array.dtype.kind in "iuf", "targets", targets,
                  "integers or floats (class indices or probabilities)", where, TypeError)
    return array


def _check_not_empty(where, name, shape):
    _shape(0 not in shape, name, shape, "a non-empty shape (no axis of size 0)", where)


# ----- joining tensors -----------------------------------------------------------------------
# (added for the recurrent layers, which stack their per-step hidden states into one tensor)
def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis, like `torch.stack`.

    `tensors` is a non-empty list (or other iterable, not a Tensor) of tensors or arrays; `axis`
    an integer in [-(ndim + 1), ndim]. As in PyTorch, a wrong axis is an IndexError, and
    tensors of different shapes a `ShapeError` (a RuntimeError, and a ValueError).

    Backward: slice i of the gradient along `axis` goes back to tensor i.
    """
    tensors = _joinable("stack", tensors)
    shapes = [t.shape for t in tensors]
    _shape(len(set(shapes)) == 1, "the shapes of tensors", shapes, "all equal", "stack")
    axis = _dim(axis, tensors[0].ndim + 1, "stack")
    out = np.stack([t.data for t in tensors], axis=axis)

    def backward(g):
        return tuple(np.take(g, i, axis=axis) for i in range(len(tensors)))
    return record_op(out, tuple(tensors), backward, op="stack")


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis, like `torch.cat` / `torch.concatenate`.

    `tensors` as in `stack`, each at least 1-D, of one number of axes, and with equal sizes on
    every axis but `axis` (an integer in [-ndim, ndim)); as in PyTorch, a wrong axis is an
    IndexError and the rest a `ShapeError` (a RuntimeError, and a ValueError).

    Backward: the gradient is cut along `axis` into pieces of the inputs' sizes.
    """
    tensors = _joinable("concatenate", tensors)
    shapes = [t.shape for t in tensors]
    for i, t in enumerate(tensors):
        _shape(t.ndim > 0, f"tensors[{i}]", t.shape, "at least 1-D (a zero-dimensional tensor cannot be "
               "concatenated; use stack to join scalars)", "concatenate")
    _shape(len({len(shape) for shape in shapes}) == 1, "the shapes of tensors", shapes,
           "of the same number of axes", "concatenate")
    axis = _dim(axis, tensors[0].ndim, "concatenate")
    others = [shape[:axis] + shape[axis + 1:] for shape in shapes]
    _shape(len(set(others)) == 1, "the shapes of tensors", shapes, f"equal on every axis but axis={axis}",
           "concatenate")
    out = np.concatenate([t.data for t in tensors], axis=axis)
    cut_points = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(g):
        return tuple(np.split(g, cut_points, axis=axis))
    return record_op(out, tuple(tensors), backward, op="concatenate")


def _joinable(where, tensors):
    """`tensors` as a non-empty list of Tensors (arrays become constants); a TypeError for one Tensor."""
    check.require(not isinstance(tensors, (Tensor, np.ndarray, str, bytes)) and hasattr(tensors, "__iter__"),
                  "tensors", tensors, "a list or tuple of tensors", where, TypeError)
    tensors = [as_tensor(t, f"tensors[{i}]", where) for i, t in enumerate(tensors)]
    if not tensors:
        check.fail("tensors", tensors, "at least one tensor", where, ShapeError)
    return tensors


# ----- the losses by name --------------------------------------------------------------------
# (the one list: `training.fit`, `lr_finder` and `diagnostics` take a loss by one of these names)
LOSSES = {"cross_entropy": cross_entropy, "mse": mse_loss,
          "bce_with_logits": binary_cross_entropy_with_logits}
# The losses of a classifier (their outputs are logits, so accuracy can be measured).
CLASSIFICATION_LOSSES = ("cross_entropy", "bce_with_logits")


def loss_function(loss, where, extra=None):
    """The loss function that `loss` names: `loss` itself if it is callable, else LOSSES[loss].

    `extra` ({name: function}, optional) adds names on top of LOSSES for one caller (e.g. the
    diagnostics' "mean_square"). An unknown name is a ValueError listing the names; a value of
    another kind (a number, a list) a TypeError.
    """
    if callable(loss):
        return loss
    losses = {**(extra or {}), **LOSSES}
    rule = "one of " + ", ".join(map(repr, losses)) + " or a function loss(output, target) -> scalar Tensor"
    check.require(isinstance(loss, str), "loss", loss, rule, where, TypeError)
    check.require(loss in losses, "loss", loss, rule, where)
    return losses[loss]

