"""Chapter 5: dynamical isometry, the singular values of a deep net's input-output Jacobian
(the isometry explorer).

The Jacobian is built column by column with our own autograd (`diagnostics.input_output_jacobian`),
so its singular values come from the same backward pass that trains the net.
"""
from dataclasses import dataclass

import numpy as np

from .. import init as initialisers
from .. import plots, validation
from ..diagnostics import jacobian_singular_values
from ..nn import MLP
from ..rng import generator, seeded
from .common import check_result
from .spec import AT_INIT, Control, ExplorerSpec

@dataclass
class IsometryResult:
    """Singular values of the input-output Jacobian of a deep MLP at one input, at init."""

    singular_values: np.ndarray
    label: str


def _kaiming_normal(w, gain):
    """Kaiming's N(0, 2 / fan_in) for ReLU (init.kaiming_normal_), its std times `gain`."""
    initialisers.kaiming_normal_(w, nonlinearity="relu")
    w.data *= gain
    return w


# The schemes of common.INITS that take a gain (PyTorch's "default" has none), orthogonal first:
# name -> function (weight, gain) -> the weight, initialised in place.
ISOMETRY_INIT = {
    "orthogonal": lambda w, gain: initialisers.orthogonal_(w, gain=gain),
    "xavier_normal": lambda w, gain: initialisers.xavier_normal_(w, gain=gain),
    "kaiming_normal": _kaiming_normal,
    "normal": lambda w, gain: initialisers.normal_(w, 0.0, gain),  # N(0, gain^2), the naive choice
}
ISOMETRY_INITS = tuple(ISOMETRY_INIT)
ISOMETRY_ACTIVATIONS = ("tanh", "linear", "relu")  # keys of nn.ACTIVATIONS: a squashing, no and a ReLU nonlinearity


def jacobian_isometry(num_blocks=30, width=64, init="orthogonal", activation="tanh", gain=1.0, seed=0):
    """The singular values of d output / d input for `nn.MLP(width, width, width, num_blocks)`
    (num_blocks + 2 weight layers), at one standard-normal input.

    init: "orthogonal", "xavier_normal", "kaiming_normal" (each multiplied by `gain`) or "normal"
    (N(0, gain^2), the naive choice); biases start at 0. An orthogonal linear net is an exact
    isometry (every singular value 1); with tanh, orthogonal weights keep the spectrum
    concentrated near 1 (Saxe et al. 2014; Pennington et al. 2017), Gaussian ones spread it.
    """
    validation.count("num_blocks", num_blocks, 200, "jacobian_isometry")
    validation.choice("activation", activation, ISOMETRY_ACTIVATIONS, "jacobian_isometry")
    validation.choice("init", init, ISOMETRY_INITS, "jacobian_isometry")
    validation.positive_int("width", width, "jacobian_isometry")
    validation.positive("gain", gain, "jacobian_isometry")
    validation.non_negative_int("seed", seed, "jacobian_isometry")
    with seeded(seed):
        model = MLP(width, width, width, num_blocks, activation=activation, init=lambda w: ISOMETRY_INIT[init](w, gain))
    x = generator(seed).standard_normal(width)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = jacobian_singular_values(model, x)
    if not np.all(np.isfinite(s)):
        raise FloatingPointError("the Jacobian overflowed; lower the gain or num_blocks")
    return IsometryResult(s, f"{init}, {activation}, gain {gain:g}, {num_blocks} blocks")


def plot_isometry(result):
    """The Jacobian's singular values as a cumulative fraction (`plots.jacobian_spectrum`)."""
    check_result(result, IsometryResult, "plot_isometry")
    return plots.jacobian_spectrum({result.label: result.singular_values})


def describe_isometry(result):
    """One line: the smallest and largest singular value and their ratio."""
    check_result(result, IsometryResult, "describe_isometry")
    s = result.singular_values
    return f"singular values from {s.min():.3g} to {s.max():.3g} (condition number {s.max() / s.min():.3g})"


EXPLORER = ExplorerSpec(
    name="isometry", title="Dynamical isometry", chapter="05_future",
    question="Which initialisation and gain keep every singular value near 1?",
    compute=jacobian_isometry, draw=plot_isometry, describe=describe_isometry,
    controls=(
        Control("num_blocks", "blocks", "int", 30, 1, 100, 1),
        Control("width", "width", "int", 64, 8, 128, 8),
        Control("init", "initialisation", "choice", "orthogonal", options=ISOMETRY_INITS),
        Control("activation", "activation", "choice", "tanh", options=ISOMETRY_ACTIVATIONS),
        Control("gain", "gain", "log", 1.0, 0.1, 10.0, 0.01, fmt=".3"),
    ),
    small=dict(num_blocks=5, width=16), move=("init", "xavier_normal"), budget_ms=AT_INIT,
)
