"""Chapter 3b: a plain and a residual deep MLP trained alike on the digits (the residual explorer).

The same `nn.MLP` with residual=True or False, the same seed, data and optimiser: the only
difference is the identity path x + s·F(x), so the gradient profiles can be compared block by block.
"""
from dataclasses import dataclass, replace

import numpy as np

from .. import plots, validation
from ..diagnostics import GradientFlow
from .. import nn
from ..nn import MLP
from ..rng import seeded
from ..training import fit
from .common import (DEFAULT_LR, OPTIMIZERS, SQUASHING_AND_RELU, check_result, digits_split, first_over_last,
                     raise_if_diverged, training_optimizer)
from .depth import BRANCH_SCALE
from .spec import TRAINS, Control, ExplorerSpec

@dataclass
class ResidualResult:
    """A plain and a residual deep MLP trained alike on the digits.

    `plain`, `residual`: their `training.History`; `plain_flow`, `residual_flow`: the gradient
    reaching each block's output (records x blocks, from `diagnostics.GradientFlow`), recorded
    at the steps `flow_steps` (0 = the first step).
    """

    plain: object
    residual: object
    plain_flow: np.ndarray
    residual_flow: np.ndarray
    flow_steps: np.ndarray


class _RecordEvery:
    """Pass every `every`-th `record(lr)` call (and the last) on to a GradientFlow: a full
    record of every block costs a few milliseconds, as much as the training step itself."""

    def __init__(self, flow, every, steps):
        self.flow, self.every, self.steps, self.calls = flow, every, steps, 0

    def record(self, lr):
        if self.calls % self.every == 0 or self.calls == self.steps - 1:
            self.flow.record(lr, step=self.calls)
        self.calls += 1


def residual_vs_plain(num_blocks=20, width=32, activation="relu", steps=100, lr=None, optimizer="sgd",
                      branch_scale=1.0, batch_size=64, seed=0):
    """Train a plain and a residual `nn.MLP` (default PyTorch init) on the digits, same settings:
    64 pixels -> num_blocks blocks -> 10 logits (num_blocks + 2 weight layers plain,
    2 num_blocks + 2 residual), cross-entropy, minibatches of `batch_size`.

    In the plain net the gradient reaching the first blocks shrinks layer after layer, so they
    barely learn and the loss stalls near log(10) = 2.30; the residual blocks x + s F(x) pass the
    gradient back through the identity, and as many blocks train. lr=None takes DEFAULT_LR[optimizer].
    """
    where = "residual_vs_plain"
    validation.count("num_blocks", num_blocks, 100, where)
    validation.positive_int("width", width, where)
    validation.choice("activation", activation, tuple(nn.ACTIVATIONS), where)
    validation.count("steps", steps, 5000, where)
    validation.choice("optimizer", optimizer, OPTIMIZERS, where)
    lr = DEFAULT_LR[optimizer] if lr is None else validation.positive("lr", lr, where)
    validation.number("branch_scale", branch_scale, where=where)
    validation.positive_int("batch_size", batch_size, where)
    validation.non_negative_int("seed", seed, where)
    X, _, y, _ = digits_split(seed)
    runs = {}
    for residual in (False, True):
        with seeded(seed):
            model = MLP(X.shape[1], width, 10, num_blocks, activation=activation, residual=residual,
                        branch_scale=branch_scale if residual else 1.0)
        flow = GradientFlow(model)
        history = fit(model, X, y, training_optimizer(optimizer, model.parameters(), lr), steps,
                      batch_size=batch_size, flow=_RecordEvery(flow, max(1, steps // 10), steps),
                      eval_every=steps, progress=False, seed=seed)
        flow.remove()
        raise_if_diverged(history, "residual net" if residual else "plain net")
        runs[residual] = (history, flow.history)
    plain, residual = runs[False], runs[True]
    return ResidualResult(plain[0], residual[0], plain[1]["grad_norm"], residual[1]["grad_norm"],
                          plain[1]["step"])


def plot_residual_training(result):
    """Plain against residual deep MLP: training loss (left) and the gradient reaching each block
    at the first and the last recorded step (right, log scale).

    `result`: an `experiments.ResidualResult`. How to read it: the plain net's dashed line falls
    steeply towards the input side, so its first blocks get almost no gradient and its loss stays
    flat; the residual net's line is nearly flat (the identity path carries the gradient back).
    """
    check_result(result, ResidualResult, "plot_residual_training")
    fig, (left, right) = plots.subplots(1, 2)
    plots.training_curves({"plain": result.plain, "residual": result.residual}, ax=left,
                    title="training loss")
    last = int(result.flow_steps[-1]) + 1
    rows = []
    for name, flow, color in (("plain", result.plain_flow, plots.PALETTE[0]),
                              ("residual", result.residual_flow, plots.PALETTE[1])):
        rows += [(f"{name}, step 1", flow[0], color, "--"), (f"{name}, step {last}", flow[-1], color, "-")]
    with plots.style():
        plots.per_layer_lines(right, rows, "‖∂L/∂h_l‖, gradient reaching the block", plots.BLOCK_AXIS)
        right.set_title("gradient reaching each block, first and last step")
    return fig


def describe_residual(result):
    """One line: both final losses and both first/last gradient ratios at the first step."""
    check_result(result, ResidualResult, "describe_residual")
    return (f"final loss: plain {result.plain.final_loss():.3g}, residual {result.residual.final_loss():.3g}; "
            f"|dL/dh| at block 1 / last block at step 1: plain {first_over_last(result.plain_flow[0]):.2g}, "
            f"residual {first_over_last(result.residual_flow[0]):.2g}")


EXPLORER = ExplorerSpec(
    name="residual", title="Plain against residual", chapter="03b_residual_connections",
    question="At how many blocks does the plain net stop learning? Does the residual one?",
    compute=residual_vs_plain, draw=plot_residual_training, describe=describe_residual,
    controls=(
        Control("num_blocks", "blocks", "int", 20, 2, 50, 1),
        Control("width", "width", "int", 32, 8, 64, 8),
        Control("activation", "activation", "choice", "relu", options=tuple(reversed(SQUASHING_AND_RELU))),
        Control("steps", "steps", "int", 100, 20, 400, 20),
        Control("lr", "learning rate", "log", DEFAULT_LR["sgd"], 1e-3, 1.0, 0.05, fmt=".3"),
        Control("optimizer", "optimiser", "choice", "sgd", options=OPTIMIZERS),
        replace(BRANCH_SCALE, active=None),  # the residual net is always there
    ),
    small=dict(num_blocks=6, steps=20), move=("activation", "tanh"), budget_ms=TRAINS,
)
