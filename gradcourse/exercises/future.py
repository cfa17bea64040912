"""Exercises 5 (future directions): layer normalisation."""
import numpy as np

from .. import nn
from ..autograd import tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _backward_through, _bind,
                    _check_shape, _close, _finite_difference, _fmt, _passed, _recognise, _worst,
                    register_course_implementations)


register_course_implementations("layer_norm", {
    "gradcourse.nn.LayerNorm": nn.LayerNorm.forward,
})

def _standardised(x, eps, axis=-1, ddof=0, eps_outside=False):
    """(x - mean) / sqrt(var + eps) of a numpy array along `axis`, or a usual mistake's variant."""
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    scale = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return (x - mean) / scale


def check_layer_norm(layer_norm, eps=1e-2, seed=8):
    """`layer_norm(x, gamma, beta, eps)` normalises each row of x over its features, then scales and shifts.

    eps is large (1e-2) and the rows' variances small, so where eps goes shows in the numbers.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["layer_norm"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4, 6)) * np.array([[0.1], [0.3], [1.0], [2.0]]) + 1.0
    gamma, beta, upstream = 1 + 0.5 * rng.normal(size=6), 0.5 * rng.normal(size=6), rng.normal(size=(4, 6))
    inputs = [tensor(x, requires_grad=True), tensor(gamma, requires_grad=True), tensor(beta, requires_grad=True)]
    out, grads = _backward_through(_bind(layer_norm, eps=eps), inputs, upstream, course=course)
    expected = gamma * _standardised(x, eps) + beta
    mistakes = [("the variance is divided by n - 1: LayerNorm uses the biased variance (divide by n)",
                 gamma * _standardised(x, eps, ddof=1) + beta),
                ("it normalises each feature over the batch (axis 0, that is BatchNorm): LayerNorm normalises "
                 "each example over its features (axis -1)", gamma * _standardised(x, eps, axis=0) + beta),
                ("eps is outside the square root: divide by sqrt(var + eps)",
                 gamma * _standardised(x, eps, eps_outside=True) + beta),
                ("gamma and beta are missing: return gamma * x_hat + beta", _standardised(x, eps)),
                ("it divides by the variance: divide by the standard deviation sqrt(var + eps)",
                 gamma * (x - x.mean(-1, keepdims=True)) / (x.var(-1, keepdims=True) + eps) + beta)]
    _check_shape(out.data, expected, "layer_norm(x, gamma, beta)")
    if not _close(out.data, expected):
        i = _worst(out.data, expected)
        hint = _recognise(out.data, mistakes) or "y = gamma * (x - mean) / sqrt(var + eps) + beta, per row"
        raise ExerciseError(f"at row {i[0]}, feature {i[1]} expected {_fmt(expected[i])}, "
                            f"got {_fmt(out.data[i])}: {hint}")
    _check_layer_norm_gradients(grads, x, gamma, beta, eps, upstream)
    _passed("layer_norm normalises each row over its 6 features, and its gradients with respect to x, "
            "gamma and beta match finite differences")


def _check_layer_norm_gradients(grads, x, gamma, beta, eps, upstream):
    args = {"x": x, "gamma": gamma, "beta": beta}
    for (name, value), got in zip(args.items(), grads):
        def loss(v, name=name):
            values = {**args, name: v}
            return np.sum(upstream * (values["gamma"] * _standardised(values["x"], eps) + values["beta"]))
        expected = _finite_difference(loss, value)
        if got is None:
            raise ExerciseError(f"no gradient reached {name}: compute the output from {name} with Tensor "
                                f"operations (not {name}.data)")
        if not _close(got, expected, rtol=1e-4, atol=1e-6):
            raise ExerciseError(f"the gradient with respect to {name} should be {_fmt(expected)}, got {_fmt(got)}")



CHECKERS = [check_layer_norm]
