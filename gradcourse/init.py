"""Weight initialisation schemes, with PyTorch's names and defaults (also `gradcourse.nn.init`).

Each scheme fills a tensor in place (its `.data`) and returns it, like `torch.nn.init`.
Our `Linear` weight has shape (in_features, out_features), so for a weight W:

    fan_in = W.shape[0]   (inputs summed into each output unit)
    fan_out = W.shape[1]  (outputs each input unit feeds)

A scheme picks Var(W) so that the variance of the activations (forward) or of the gradients
(backward) stays the same from layer to layer; `calculate_gain` corrects for the nonlinearity.
All random draws come from `gradcourse.rng.generator()`, so `manual_seed` makes them repeatable.
"""
import math

import numpy as np

from .autograd import Tensor
from .rng import generator

GAINS_OF_ONE = ("linear", "identity", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")
NONLINEARITIES = GAINS_OF_ONE + ("tanh", "relu", "leaky_relu", "selu")
FAN_MODES = ("fan_in", "fan_out")
LINEAR_SCHEMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                  "orthogonal", "normal", "zeros")


# ----- gains and fans ------------------------------------------------------------------------
def calculate_gain(nonlinearity, param=None):
    """The factor by which a scheme's standard deviation is multiplied for a nonlinearity.

        linear, identity, conv*, sigmoid   1
        tanh                               5/3
        relu                               sqrt(2)
        leaky_relu                         sqrt(2 / (1 + negative_slope^2)), slope = param or 0.01
        selu                               3/4
    """
    if nonlinearity in GAINS_OF_ONE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + _negative_slope(param) ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; "
                     f"use one of {', '.join(NONLINEARITIES)}")


def _negative_slope(param):
    if param is None:
        return 0.01
    if isinstance(param, bool) or not isinstance(param, (int, float)):
        raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
    return float(param)


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (in_features, out_features[, *receptive_field]).

    Trailing axes, if any, count as a receptive field and multiply both fans, as in PyTorch.
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan_in and fan_out need a tensor with at least 2 dimensions "
                         f"(in_features, out_features), got shape {shape}; for a bias use "
                         f"zeros_, uniform_ or normal_")
    receptive_field = int(np.prod(shape[2:]))
    return shape[0] * receptive_field, shape[1] * receptive_field


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # PyTorch's (private) name


def _fan(tensor, mode):
    if mode not in FAN_MODES:
        raise ValueError(f"mode {mode!r} is not supported; use one of {', '.join(FAN_MODES)}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill_(tensor, values):
    """Write `values` into `tensor.data` in place and return the tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init functions fill a Tensor in place, got {type(tensor).__name__}")
    tensor.data[...] = values
    return tensor


# ----- simple fills --------------------------------------------------------------------------
def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b): mean (a + b)/2, Var = (b - a)^2 / 12."""
    return _fill_(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    return _fill_(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor, val):
    """Fill with the constant `val`."""
    return _fill_(tensor, val)


def zeros_(tensor):
    """Fill with 0. (For a whole weight matrix this leaves every unit identical: symmetry.)"""
    return _fill_(tensor, 0.0)


def ones_(tensor):
    """Fill with 1."""
    return _fill_(tensor, 1.0)


# ----- Glorot & Bengio (2010) ----------------------------------------------------------------
def xavier_uniform_(tensor, gain=1.0):
    """Glorot & Bengio (2010): Var(W) = gain^2 * 2 / (fan_in + fan_out), from U(-a, a).

    a = gain * sqrt(6 / (fan_in + fan_out)), since Var(U(-a, a)) = a^2 / 3.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot & Bengio (2010): Var(W) = gain^2 * 2 / (fan_in + fan_out), from N(0, Var)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std)


# ----- He et al. (2015) ----------------------------------------------------------------------
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): Var(W) = gain^2 / fan, from U(-bound, bound), bound = gain * sqrt(3 / fan).

    fan is fan_in (keeps the forward activations' variance) or fan_out (keeps the backward
    gradients'), gain = calculate_gain(nonlinearity, a); the defaults give gain = sqrt(2), the
    ReLU value, so Var(W) = 2 / fan_in.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): Var(W) = gain^2 / fan, from N(0, Var); defaults give Var(W) = 2 / fan_in."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


# ----- Saxe et al. (2014) --------------------------------------------------------------------
def orthogonal_(tensor, gain=1.0):
    """Saxe, McClelland & Ganguli (2014): W = gain * Q, Q with orthonormal columns or rows.

    Q comes from the QR decomposition A = QR of a standard normal matrix A (transposed first if
    wide), with each column of Q multiplied by sign(R_ii) so that Q is uniformly distributed
    (as in PyTorch). Then W^T W = gain^2 I for a tall W, W W^T = gain^2 I for a wide one: every
    singular value equals gain, so W neither shrinks nor stretches any direction.
    For a square W, Var(W) = gain^2 / fan_in.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill_(tensor, gain * q.reshape(tensor.shape))


# ----- a Linear layer's weight and bias, by scheme name ------------------------------------------
def init_linear_(weight, bias=None, scheme="default"):
    """Initialise a Linear layer's weight (in_features, out_features) and bias by `scheme`.

        "default"          PyTorch's nn.Linear: W and b from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
                           Var(W) = 1 / (3 fan_in)  (= kaiming_uniform_ with a = sqrt(5))
        "xavier_uniform"   xavier_uniform_(W), gain 1:  Var(W) = 2 / (fan_in + fan_out)
        "xavier_normal"    xavier_normal_(W), gain 1
        "kaiming_uniform"  kaiming_uniform_(W) with nonlinearity="relu":  Var(W) = 2 / fan_in
        "kaiming_normal"   kaiming_normal_(W) with nonlinearity="relu"
        "orthogonal"       orthogonal_(W), gain 1
        "normal"           normal_(W): N(0, 1), far too large for a wide layer (explodes)
        "zeros"            zeros_(W): every unit identical, the symmetry problem
        a callable         fn(W) fills W in place, e.g.
                           lambda w: init.xavier_normal_(w, gain=init.calculate_gain("tanh"))

    Every scheme except "default" starts the bias at zero. `None` means "default".
    """
    if scheme is None or scheme == "default":
        bound = 1.0 / math.sqrt(weight.shape[0])
        uniform_(weight, -bound, bound)
        if bias is not None:
            uniform_(bias, -bound, bound)
        return weight
    if callable(scheme):
        scheme(weight)
    elif scheme == "xavier_uniform":
        xavier_uniform_(weight)
    elif scheme == "xavier_normal":
        xavier_normal_(weight)
    elif scheme == "kaiming_uniform":
        kaiming_uniform_(weight, nonlinearity="relu")
    elif scheme == "kaiming_normal":
        kaiming_normal_(weight, nonlinearity="relu")
    elif scheme == "orthogonal":
        orthogonal_(weight)
    elif scheme == "normal":
        normal_(weight)
    elif scheme == "zeros":
        zeros_(weight)
    else:
        raise ValueError(f"unknown init scheme {scheme!r}; use one of {', '.join(LINEAR_SCHEMES)} "
                         f"or a function that fills the weight in place")
    if bias is not None:
        zeros_(bias)
    return weight
