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

from . import validation as check
from .autograd import Tensor
from .functional import LEAKY_RELU_SLOPE
from .rng import generator


def _leaky_relu_gain(param):
    """sqrt(2 / (1 + negative_slope^2)), the slope being `param` (a number) or PyTorch's default."""
    slope = LEAKY_RELU_SLOPE if param is None else check.number("param", param, where="calculate_gain")
    return math.sqrt(2.0 / (1.0 + slope ** 2))


# The one table of gains, as in PyTorch: a number, or for leaky_relu a function of `param`.
GAINS = {
    "linear": 1.0, "identity": 1.0, "sigmoid": 1.0,
    "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
    "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "leaky_relu": _leaky_relu_gain,  # sqrt(2 / (1 + negative_slope^2))
    "selu": 3.0 / 4.0,
}
NONLINEARITIES = tuple(GAINS)
GAINS_OF_ONE = tuple(name for name, gain in GAINS.items() if gain == 1.0)
FAN_MODES = ("fan_in", "fan_out")


# ----- gains and fans ------------------------------------------------------------------------
def calculate_gain(nonlinearity, param=None):
    """The factor by which a scheme's standard deviation is multiplied for a nonlinearity: `GAINS`.

    `nonlinearity` must be one of `NONLINEARITIES` (the keys of `GAINS`); `param`, used by
    leaky_relu only (its negative slope, `functional.LEAKY_RELU_SLOPE` if None), a number.
    """
    gain = GAINS[check.choice("nonlinearity", nonlinearity, NONLINEARITIES, where="calculate_gain")]
    return gain(param) if callable(gain) else gain


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (in_features, out_features[, *receptive_field]).

    Trailing axes, if any, count as a receptive field and multiply both fans, as in PyTorch.
    A tensor with fewer than 2 dimensions is a ValueError, as in PyTorch; so is an empty one
    (PyTorch returns a fan of 0, and its schemes then skip the tensor with a warning).
    """
    return _fans(tensor, "calculate_fan_in_and_fan_out")


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # PyTorch's (private) name


def _fans(tensor, where):
    shape = _weight_shape(tensor, where)
    receptive_field = int(np.prod(shape[2:]))
    return shape[0] * receptive_field, shape[1] * receptive_field


def _weight_shape(tensor, where):
    """The shape of a weight: 2 or more dimensions, none of size 0 (else a ValueError)."""
    shape = _tensor(tensor, where).shape
    check.require(len(shape) >= 2 and 0 not in shape, "tensor.shape", shape,
                  "a weight's shape: at least 2 dimensions (in_features, out_features), none of "
                  "size 0 (for a bias use zeros_, uniform_ or normal_)", where)
    return shape


def _fan(tensor, mode, where):
    check.choice("mode", mode, FAN_MODES, where)
    fan_in, fan_out = _fans(tensor, where)
    return fan_in if mode == "fan_in" else fan_out


def _tensor(tensor, where):
    """`tensor` if it is a Tensor (an init function fills one in place), else a TypeError."""
    check.require(isinstance(tensor, Tensor), "tensor", tensor, "a Tensor (filled in place)", where, TypeError)
    return tensor


def _fill_(tensor, values, where):
    """Write `values` into `tensor.data` in place and return the tensor."""
    _tensor(tensor, where).data[...] = values
    return tensor


# ----- simple fills --------------------------------------------------------------------------
def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b): mean (a + b)/2, Var = (b - a)^2 / 12. Needs a <= b, as PyTorch does."""
    a = check.number("a", a, where="uniform_")
    b = check.number("b", b, where="uniform_")
    check.require(a <= b, "b", b, f"a number >= a = {a:g}", "uniform_")
    return _fill_(tensor, generator().uniform(a, b, _tensor(tensor, "uniform_").shape), "uniform_")


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2). Needs std >= 0, as PyTorch does."""
    mean = check.number("mean", mean, where="normal_")
    std = check.non_negative("std", std, where="normal_")
    return _fill_(tensor, generator().normal(mean, std, _tensor(tensor, "normal_").shape), "normal_")


def constant_(tensor, val):
    """Fill with the constant `val` (a finite number)."""
    return _fill_(tensor, check.number("val", val, where="constant_"), "constant_")


def zeros_(tensor):
    """Fill with 0. (For a whole weight matrix this leaves every unit identical: symmetry.)"""
    return _fill_(tensor, 0.0, "zeros_")


def ones_(tensor):
    """Fill with 1."""
    return _fill_(tensor, 1.0, "ones_")


# ----- Glorot & Bengio (2010) ----------------------------------------------------------------
def xavier_uniform_(tensor, gain=1.0):
    """Glorot & Bengio (2010): Var(W) = gain^2 * 2 / (fan_in + fan_out), from U(-a, a).

    a = gain * sqrt(6 / (fan_in + fan_out)), since Var(U(-a, a)) = a^2 / 3. `gain` >= 0.
    """
    gain = check.non_negative("gain", gain, where="xavier_uniform_")
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot & Bengio (2010): Var(W) = gain^2 * 2 / (fan_in + fan_out), from N(0, Var). `gain` >= 0."""
    gain = check.non_negative("gain", gain, where="xavier_normal_")
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std)


# ----- He et al. (2015) ----------------------------------------------------------------------
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): Var(W) = gain^2 / fan, from U(-bound, bound), bound = gain * sqrt(3 / fan).

    fan is fan_in (keeps the forward activations' variance) or fan_out (keeps the backward
    gradients'), gain = calculate_gain(nonlinearity, a); the defaults give gain = sqrt(2), the
    ReLU value, so Var(W) = 2 / fan_in.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_uniform_"))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): Var(W) = gain^2 / fan, from N(0, Var); defaults give Var(W) = 2 / fan_in."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, "kaiming_normal_"))
    return normal_(tensor, 0.0, std)


# ----- Saxe et al. (2014) --------------------------------------------------------------------
def orthogonal_(tensor, gain=1.0):
    """Saxe, McClelland & Ganguli (2014): W = gain * Q, Q with orthonormal columns or rows.

    Q comes from the QR decomposition A = QR of a standard normal matrix A (transposed first if
    wide), with each column of Q multiplied by sign(R_ii) so that Q is uniformly distributed
    (as in PyTorch). Then W^T W = gain^2 I for a tall W, W W^T = gain^2 I for a wide one: every
    singular value equals gain, so W neither shrinks nor stretches any direction.
    For a square W, Var(W) = gain^2 / fan_in. An empty tensor is a ValueError (PyTorch skips it).
    """
    gain = check.number("gain", gain, where="orthogonal_")
    shape = _weight_shape(tensor, "orthogonal_")
    rows = shape[0]
    cols = tensor.size // rows
    flat = generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill_(tensor, gain * q.reshape(shape), "orthogonal_")


# ----- a Linear layer's weight and bias, by scheme name ------------------------------------------
def _linear_default_(weight):
    """PyTorch's nn.Linear default: W from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), Var(W) = 1 / (3 fan_in).

    (= kaiming_uniform_ with a = sqrt(5).) `init_linear_` draws the bias from the same range.
    """
    bound = 1.0 / math.sqrt(_fans(weight, "_linear_default_")[0])
    return uniform_(weight, -bound, bound)


# The one list of schemes by name: Linear(init=...), MLP and the experiments take these names.
LINEAR_SCHEMES = {
    "default": _linear_default_,                                              # Var(W) = 1 / (3 fan_in)
    "xavier_uniform": xavier_uniform_,                                       # Var(W) = 2 / (fan_in + fan_out)
    "xavier_normal": xavier_normal_,
    "kaiming_uniform": lambda w: kaiming_uniform_(w, nonlinearity="relu"),   # Var(W) = 2 / fan_in
    "kaiming_normal": lambda w: kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal": orthogonal_,                                               # gain 1
    "normal": normal_,                  # N(0, 1): far too large for a wide layer (explodes)
    "zeros": zeros_,                    # every unit identical: the symmetry problem
}


def init_linear_(weight, bias=None, scheme="default"):
    """Initialise a Linear layer's weight (in_features, out_features) and bias by `scheme`:

    a name in `LINEAR_SCHEMES` (None means "default"), or a function fn(W) that fills W in
    place, e.g. lambda w: init.xavier_normal_(w, gain=init.calculate_gain("tanh")).
    "default" is PyTorch's nn.Linear: b from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) like W; every
    other scheme starts the bias at zero.
    """
    scheme = "default" if scheme is None else scheme
    rule = f"one of {', '.join(map(repr, LINEAR_SCHEMES))} or a function that fills the weight in place"
    check.require(callable(scheme) or isinstance(scheme, str), "scheme", scheme, rule, "init_linear_", TypeError)
    check.require(callable(scheme) or scheme in LINEAR_SCHEMES, "scheme", scheme, rule, "init_linear_")
    fill = scheme if callable(scheme) else LINEAR_SCHEMES[scheme]
    fill(weight)
    if bias is not None and scheme == "default":
        bound = 1.0 / math.sqrt(weight.shape[0])
        uniform_(bias, -bound, bound)
    elif bias is not None:
        zeros_(bias)
    return weight
