"""Chapter 5: gradients through time in an RNN and an LSTM (the rnn explorer).

The recurrent layers are `gradcourse.nn.RNN` and `LSTM`, written step by step on our autograd,
so the gradient reaching every input step is read off `x.grad` after one backward pass.
"""
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import plots, validation
from ..autograd import tensor
from ..data import adding_problem
from ..nn import LSTM, RNN, Linear
from ..rng import seeded
from .common import check_result, first_over_last
from .spec import AT_INIT, Control, ExplorerSpec

CELLS = ("rnn", "lstm")


@dataclass
class TimeGradientResult:
    """|dL/dx_t| for every input step t of a sequence, at initialisation.

    `grad_norm[t]`: the norm (over the batch and the two input channels) of the gradient of the
    loss with respect to the input at step t; the loss reads only the last hidden state, so
    step t's input is length - t steps of recurrence away from it. `ratio` = first / last.
    """

    t: np.ndarray
    grad_norm: np.ndarray
    cell: str
    ratio: float


def gradient_through_time(length=50, hidden=32, cell="rnn", forget_bias=0.0, weight_scale=1.0,
                          batch=32, seed=0):
    """How much of the loss's gradient reaches each input step of an RNN or LSTM, at init.

    The adding problem (`data.adding_problem`), a linear read-out of the last hidden state,
    mean squared error. `weight_scale` multiplies the recurrent weights W_hh after the default
    init; `forget_bias` is added to the LSTM's forget-gate bias (ignored by the RNN).
    """
    validation.choice("cell", cell, CELLS, "gradient_through_time")
    validation.count("length", length, 1000, "gradient_through_time")
    validation.positive_int("hidden", hidden, "gradient_through_time")
    validation.positive_int("batch", batch, "gradient_through_time")
    validation.number("forget_bias", forget_bias, where="gradient_through_time")
    validation.number("weight_scale", weight_scale, where="gradient_through_time")
    validation.non_negative_int("seed", seed, "gradient_through_time")
    X, y = adding_problem(batch, max(length, 2), seed=seed)
    X = X[:, -length:]
    with seeded(seed):
        layer = RNN(2, hidden) if cell == "rnn" else LSTM(2, hidden, forget_bias=forget_bias)
        readout = Linear(hidden, 1)
    layer.weight_hh.data *= weight_scale
    x = tensor(X, requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        _, state = layer(x)
        h_last = state if cell == "rnn" else state[0]
        F.mse_loss(readout(h_last), y).backward()
    grad_norm = np.linalg.norm(x.grad, axis=(0, 2))
    if not np.all(np.isfinite(grad_norm)):
        raise FloatingPointError("the gradient through time overflowed; lower the weight scale")
    return TimeGradientResult(np.arange(1, length + 1), grad_norm, cell, first_over_last(grad_norm))


def plot_gradient_through_time(result, ax=None):
    """|dL/dx_t| for every input step t of a recurrent net (log scale).

    `result`: an `experiments.TimeGradientResult`. The loss reads the last step, so the right end
    is the closest input; how far the line falls towards the left is how much of the gradient is
    lost over that many steps of recurrence.
    """
    check_result(result, TimeGradientResult, "plot_gradient_through_time")
    values = np.asarray(result.grad_norm, dtype=float)
    with plots.style():
        ax = plots.panel(ax, "plot_gradient_through_time")
        drawn, bad = plots.drawable(values, log=True)
        ax.plot(result.t, drawn, color=plots.PALETTE[0] if result.cell == "rnn" else plots.PALETTE[2], marker=".")
        plots.mark_missing(ax, result.t, values, bad, plots.PALETTE[0])
        plots.log_scale(ax, "y", [values], plots.MIN_DECADES)
        ax.set_xlabel("input step t (the loss reads the hidden state after the last step)")
        ax.set_ylabel("|dL / dx_t| (log scale)")
        ax.set_title(f"{result.cell.upper()}: |dL/dx_1| = {result.ratio:.2g} x |dL/dx_T|")
        return ax.figure


def describe_rnn(result):
    """One line: how much of the gradient reaches the first input step."""
    check_result(result, TimeGradientResult, "describe_rnn")
    return f"{result.cell}, {len(result.t)} steps: |dL/dx_1| / |dL/dx_T| = {result.ratio:.3g}"


EXPLORER = ExplorerSpec(
    name="rnn", title="Gradients through time", chapter="05_future",
    question="Which forget-gate bias lets the LSTM carry the gradient across 100 steps?",
    compute=gradient_through_time, draw=plot_gradient_through_time, describe=describe_rnn,
    controls=(
        Control("length", "sequence length", "int", 50, 5, 200, 5),
        Control("hidden", "hidden units", "int", 32, 4, 64, 4),
        Control("cell", "cell", "choice", "rnn", options=CELLS),
        Control("forget_bias", "LSTM forget-gate bias", "float", 0.0, -2.0, 5.0, 0.25, fmt=".3",
                continuous=True, active=lambda v: v["cell"] == "lstm"),
        Control("weight_scale", "recurrent weight scale", "log", 1.0, 0.1, 10.0, 0.02, fmt=".3",
                continuous=True),
    ),
    small=dict(length=20), move=("cell", "lstm"), budget_ms=AT_INIT,
    variants={"lstm": dict(cell="lstm")},
)
