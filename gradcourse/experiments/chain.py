"""Chapter 2: the scalar chain, one weight per layer (the chain explorer).

A chain h_l = f(w h_{l-1} + b_l) of scalar units is the smallest network in which the gradient
is a product of one factor per layer, w f'(z): measured here with our autograd and compared
with the formula, so the product rule is seen to hold, number by number.
"""
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import functional as F
from .. import plots, validation
from ..autograd import tensor
from .common import ACTIVATIONS, check_result
from .spec import AT_INIT, Control, ExplorerSpec

@dataclass
class ChainResult:
    """Gradient reaching each layer of a scalar chain, from the output (layer L) down.

    `distance[k]` = L - l, the number of layers between layer l and the output;
    `measured[k]` = |dh_L / dh_l| from autograd; `analytic[k]` = |w f'(z)|^(L - l).
    """

    distance: np.ndarray
    measured: np.ndarray
    analytic: np.ndarray
    factor: float


def scalar_chain(num_layers=30, weight=1.0, preactivation=0.0, activation="sigmoid"):
    """A chain h_l = f(w h_{l-1} + b_l) of `num_layers` scalar units (one weight each), with every bias chosen so that
    each pre-activation equals `preactivation` (z). Backpropagation multiplies one factor
    w f'(z) per layer, so the gradient reaching layer l from the output is (w f'(z))^(L - l).
    Measured with autograd (retain_grad on every h_l) and compared with that formula.
    """
    validation.count("num_layers", num_layers, 500, "scalar_chain")
    validation.choice("activation", activation, ACTIVATIONS, "scalar_chain")
    weight = validation.number("weight", weight, where="scalar_chain")
    preactivation = validation.number("preactivation", preactivation, where="scalar_chain")
    activate = getattr(F, activation)
    z = tensor(float(preactivation))
    h = tensor(0.0, requires_grad=True)
    hidden = [h]
    for _ in range(num_layers):
        bias = z.data - weight * h.data  # a constant: it pins the pre-activation at z
        h = activate(h * weight + bias)
        h.retain_grad()
        hidden.append(h)
    h.backward()
    measured = np.array([abs(float(layer.grad)) for layer in reversed(hidden)])
    factor = abs(weight * _derivative(activation, float(preactivation)))
    distance = np.arange(num_layers + 1)
    return ChainResult(distance, measured, factor ** distance, factor)


def _derivative(activation, z):
    """f'(z) of one activation at one point, from autograd (so the formula is not repeated)."""
    x = tensor(z, requires_grad=True)
    getattr(F, activation)(x).backward()
    return float(x.grad)


def plot_chain(result, ax=None):
    """The gradient reaching each unit of a scalar chain: measured by autograd and (w f'(z))^(L-l).

    `result`: an `experiments.ChainResult` (distance, measured, analytic, factor). On a log
    scale a constant factor per layer is a straight line: falling if |w f'(z)| < 1 (vanishing),
    rising if > 1 (exploding), flat only at exactly 1. The dots sit on the dashed line when the
    formula holds.
    """
    check_result(result, ChainResult, "plot_chain")
    with plots.style():
        ax = plots.panel(ax, "plot_chain")
        for values, style_kw in (
                (result.analytic, dict(color=plots.PALETTE[1], linestyle="--",
                                       label=f"formula ({result.factor:.3g})^(L-l)")),
                (result.measured, dict(color=plots.PALETTE[0], linestyle="none", marker="o",
                                       label="measured by autograd"))):
            values = np.asarray(values, dtype=float)
            drawn, bad = plots.drawable(values, log=True)
            ax.plot(result.distance, drawn, **style_kw)
            if style_kw.get("marker"):
                plots.mark_missing(ax, np.asarray(result.distance), values, bad, style_kw["color"])
        plots.log_scale(ax, "y", [result.measured], plots.MIN_DECADES)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layers between the unit and the output (L - l)")
        ax.set_ylabel("|dh_L / dh_l|: gradient reaching the unit (log scale)")
        ax.set_title(f"factor per layer |w f'(z)| = {result.factor:.3g}")
        plots.legend(ax)
        return ax.figure


def describe_chain(result):
    """One line: the factor per layer and the gradient reaching the first unit."""
    check_result(result, ChainResult, "describe_chain")
    return (f"factor per layer |w f'(z)| = {result.factor:.3g}; "
            f"gradient reaching the first unit |dh_L/dh_0| = {result.measured[-1]:.3g}")


EXPLORER = ExplorerSpec(
    name="chain", title="The scalar chain", chapter="02_core_concepts",
    question="For which w and z does the gradient survive 30 layers?",
    compute=scalar_chain, draw=plot_chain, describe=describe_chain,
    controls=(
        Control("num_layers", "layers L", "int", 30, 1, 100, 1),
        Control("weight", "weight w", "float", 1.0, -8.0, 8.0, 0.1, fmt=".3", continuous=True),
        Control("preactivation", "pre-activation z", "float", 0.0, -6.0, 6.0, 0.1, fmt=".3", continuous=True),
        Control("activation", "activation f", "choice", "sigmoid", options=ACTIVATIONS),
    ),
    small=dict(num_layers=10), move=("weight", 2.0), budget_ms=AT_INIT,
    variants={"tanh, w = 1.5": dict(activation="tanh", weight=1.5)},
)
