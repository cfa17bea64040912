"""Chapters 1 and 2: a deep MLP at initialisation, block by block (the depth explorer).

`depth_profile` builds `deep_mlp(num_blocks, ...)` and measures, at every block's output, the
gradient reaching it ‖∂L/∂h_l‖, the gradient of its weights ‖∂L/∂W_l‖ and the forward signal's
spread across examples, for one batch of standard-normal inputs and the loss mean(output^2).
We write it on our own autograd (not PyTorch) so that a student can read every line from the
loss to the number plotted.
"""
from dataclasses import dataclass

import numpy as np

from .. import init as initialisers
from .. import nn, plots, validation
from ..diagnostics import measure_at_init
from ..rng import generator, seeded
from .common import ACTIVATIONS, INITS, NORMS, check_result, first_over_last, weight_layers
from .spec import AT_INIT, Control, ExplorerSpec


@dataclass
class DepthResult:
    """Per-block numbers of a deep MLP at initialisation, block 1 (input side) to num_blocks.

    `layer[k]` numbers the blocks (1, 2, ...): the output of each block is measured.
    `grad_norm[k]` = ||dL/dh_l||, the gradient reaching block l's output;
    `act_std[k]` = std(h_l) over examples and units; `act_spread[k]`: the spread across examples,
    for each unit the std over the batch, averaged over the units (what collapses).
    `ratio` = grad_norm[first] / grad_norm[last]: far below 1 is vanishing, far above exploding.
    `weight_grad_norm[k]` = ||dL/dW_l||, the gradient of block l's weight matrix (both matrices
    of a residual block, combined), and `weight_ratio` its first / last: what the update of
    each block is proportional to, which can tell another story than `ratio`.
    `weight_layers`: the Linear layers of the net (num_blocks + 2 plain, 2 num_blocks + 2 residual).
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    ratio: float
    weight_grad_norm: np.ndarray
    weight_ratio: float
    act_spread: np.ndarray
    weight_layers: int


def deep_mlp(num_blocks=30, width=64, activation="sigmoid", init="xavier_normal", weight_std=1.0,
             residual=False, branch_scale=1.0, norm="none", in_features=None, out_features=1, seed=0):
    """The network the depth explorer measures: `nn.MLP` with `num_blocks` blocks of `width`.

    It has weight_layers(num_blocks, residual) Linear layers: an input and an output layer,
    and one per plain block (two per residual block).
    activation: a name of nn.ACTIVATIONS; norm: a name of nn.NORMS (None or "none" for no norm).
    init: one of INITS; "normal" draws every weight from N(0, weight_std^2), whatever the width,
    which is the naive choice the chapters start from. Seeded, so a setting always gives one net.
    """
    check_mlp_settings("deep_mlp", num_blocks, width, activation, init, weight_std, residual, branch_scale, norm, seed)
    if in_features is not None:
        validation.positive_int("in_features", in_features, "deep_mlp")
    validation.positive_int("out_features", out_features, "deep_mlp")
    return _build_mlp(num_blocks, width, activation, init, weight_std, residual, branch_scale, norm,
                      in_features or width, out_features, seed)


def check_mlp_settings(where, num_blocks, width, activation, init, weight_std, residual, branch_scale, norm, seed):
    """The settings of `deep_mlp` that other experiments pass on, checked under the name of the
    function the user called."""
    validation.count("num_blocks", num_blocks, 200, where)
    validation.positive_int("width", width, where)
    validation.choice("activation", activation, tuple(nn.ACTIVATIONS), where)
    validation.choice("init", init, INITS, where)
    validation.positive("weight_std", weight_std, where)
    validation.boolean("residual", residual, where)
    validation.number("branch_scale", branch_scale, where=where)
    validation.choice("norm", norm, tuple(nn.NORMS), where)
    validation.non_negative_int("seed", seed, where)


def _build_mlp(num_blocks, width, activation, init, weight_std, residual, branch_scale, norm, in_features,
               out_features, seed):
    scheme = (lambda w: initialisers.normal_(w, 0.0, weight_std)) if init == "normal" else init
    with seeded(seed):
        return nn.MLP(in_features, width, out_features, num_blocks, activation=activation, init=scheme,
                      residual=residual, norm=norm, branch_scale=branch_scale if residual else 1.0)


def depth_profile(num_blocks=30, width=64, activation="sigmoid", init="xavier_normal", weight_std=1.0,
                  residual=False, branch_scale=1.0, norm="none", batch=128, seed=0):
    """Per block of `deep_mlp(...)` at initialisation: ||dL/dh_l||, ||dL/dW_l||, the activations'
    std and spread across examples, for a batch of standard-normal inputs x (batch x width) and
    the loss L = mean(output^2) (as in the chapters' tests)."""
    check_mlp_settings("depth_profile", num_blocks, width, activation, init, weight_std, residual, branch_scale, norm,
                       seed)
    validation.positive_int("batch", batch, "depth_profile")
    model = _build_mlp(num_blocks, width, activation, init, weight_std, residual, branch_scale, norm, width, 1, seed)
    x = generator(seed).standard_normal((batch, width))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        row = measure_at_init(model, x)
    grad_norm = np.asarray(row["grad_norm"], dtype=float)
    ratio = first_over_last(grad_norm)
    if not np.all(np.isfinite(grad_norm)) or not np.isfinite(ratio):
        first = int(np.argmax(~np.isfinite(grad_norm))) + 1
        raise FloatingPointError(f"the signal overflowed: the gradient reaching block {first} is not finite; "
                                 f"lower the weight scale or num_blocks")
    weight_grad = np.asarray(row["layer_weight_grad_norm"], dtype=float)
    return DepthResult(np.arange(1, len(grad_norm) + 1), grad_norm, np.asarray(row["act_std"]),
                       np.asarray(row["saturated"]), ratio, weight_grad, first_over_last(weight_grad),
                       np.asarray(row["act_spread"]), weight_layers(num_blocks, residual))


SPREAD_LABEL = "spread across examples:\nstd over the batch, mean over units"


def plot_depth_profile(result):
    """A deep MLP at initialisation: per block, the gradient reaching its output ‖∂L/∂h_l‖ and
    the gradient of its weights ‖∂L/∂W_l‖ (left), and the forward signal's spread across
    examples (right: for each unit the std over the batch, averaged over units), both on log
    axes that span at least `plots.MIN_DECADES` decades, so a healthy band looks flat.
    `result`: a `DepthResult`.
    How to read it: flat lines are a healthy start; the ‖∂L/∂h_l‖ line falling towards the input
    side is vanishing, rising is exploding; a spread falling to 0 means every example gives the
    same hidden state. Where the forward signal shrinks as the backward one grows (or the
    reverse), ‖∂L/∂W_l‖ stays flatter.
    """
    check_result(result, DepthResult, "plot_depth_profile")
    fig, (left, right) = plots.subplots(1, 2)
    series = {"‖∂L/∂h_l‖, reaching the block": result.grad_norm,
              "‖∂L/∂W_l‖, the block's weights": result.weight_grad_norm}
    plots.gradient_flow(series, ax=left, ylabel="gradient norm",
                        title=f"first / last block: ∂L/∂h {result.ratio:.3g}, ∂L/∂W {result.weight_ratio:.3g}")
    plots.activation_std(result.act_spread, ax=right, ylabel=SPREAD_LABEL,
                         title="forward signal: how different the examples stay")
    plots.log_scale(right, "y", [result.act_spread], plots.MIN_DECADES)
    for ax in (left, right):
        ax.set_xlabel(f"block (input side → output side); {result.weight_layers} weight layers in all")
    return fig


def describe_depth(result):
    """One line: the first/last ratios of both gradients and the last block's spread."""
    check_result(result, DepthResult, "describe_depth")
    blocks = len(result.layer)
    return (f"{blocks} blocks ({result.weight_layers} weight layers); block 1 / block {blocks}: "
            f"gradient reaching the block |dL/dh| {result.ratio:.3g}, weight gradient |dL/dW| "
            f"{result.weight_ratio:.3g}; spread across examples at block {blocks} = {result.act_spread[-1]:.3g}")


BRANCH_SCALE = Control("branch_scale", "branch scale s in x + s·F(x)", "log", 1.0, 0.01, 2.0, 0.005,
                       fmt=".3", active=lambda v: v["residual"])

EXPLORER = ExplorerSpec(
    name="depth", title="A deep network at initialisation", chapter="01_background",
    question="Which recipes keep the gradient alive from the last block to the first?",
    compute=depth_profile, draw=plot_depth_profile, describe=describe_depth,
    controls=(
        Control("num_blocks", "blocks", "int", 30, 1, 100, 1),
        Control("width", "width", "int", 64, 8, 256, 8),
        Control("activation", "activation", "choice", "sigmoid", options=ACTIVATIONS),
        Control("init", "initialisation", "choice", "xavier_normal", options=INITS),
        Control("weight_std", "weight std (init 'normal')", "log", 1.0, 0.01, 10.0, 0.01, fmt=".3",
                active=lambda v: v["init"] == "normal"),
        Control("residual", "residual connections", "bool", False),
        BRANCH_SCALE,
        Control("norm", "normalisation", "choice", "none", options=NORMS),
    ),
    small=dict(num_blocks=10), move=("num_blocks", 12), budget_ms=AT_INIT,
    variants={"residual, s = 0.1": dict(residual=True, branch_scale=0.1)},
)
