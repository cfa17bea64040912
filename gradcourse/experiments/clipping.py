"""Chapter 3d: gradient clipping on a deep linear net whose gradients explode (the clipping explorer).

A linear net is the cleanest place to see an explosion: each block multiplies the signal and
the gradient by about the same gain, so the first gradients are gain^(2 num_blocks) too large.
`clip_grad_norm_` is ours (as in PyTorch), so the rescaling is one line a student can read.
"""
from dataclasses import dataclass

import numpy as np

from .. import init as initialisers
from .. import optim, plots, validation
from ..data import linear_regression
from ..nn import MLP
from ..rng import seeded
from ..training import fit
from .common import check_result
from .spec import TRAINS, Control, ExplorerSpec

@dataclass
class ClippingResult:
    """The same deep linear net trained without and with gradient-norm clipping."""

    unclipped: object
    clipped: object
    threshold: float


def clipping_runs(weight_scale=1.5, threshold=1.0, steps=200, lr=0.01, num_blocks=10, width=16, seed=0):
    """Exploding gradients in a deep *linear* net y = x W_1 ... W_L (plus biases), and clipping.

    The net: `nn.MLP(8, width, 1, num_blocks, activation="linear")`, num_blocks + 2 weight layers.
    Every weight starts from N(0, weight_scale^2 / width): each layer multiplies the signal, and
    the gradient, by about weight_scale, so the first gradients are ~weight_scale^(2 num_blocks) too
    large and plain SGD overshoots to inf within a few steps. `clip_grad_norm_(threshold)`
    rescales each step's gradient to norm <= threshold: the step can no longer explode.
    The data: `data.linear_regression` (256 samples, 8 features), mean squared error.
    """
    validation.count("num_blocks", num_blocks, 100, "clipping_runs")
    validation.count("steps", steps, 5000, "clipping_runs")
    validation.positive("threshold", threshold, "clipping_runs", allow_inf=True)  # fit's rule for clip_norm
    validation.positive("weight_scale", weight_scale, "clipping_runs")
    validation.positive("lr", lr, "clipping_runs")
    validation.positive_int("width", width, "clipping_runs")
    validation.non_negative_int("seed", seed, "clipping_runs")
    problem = linear_regression(256, 8, seed=seed)
    X, y = problem.X, problem.y.reshape(-1, 1)
    runs = []
    for clip_norm in (None, threshold):
        with seeded(seed):
            model = MLP(8, width, 1, num_blocks, activation="linear",
                        init=lambda w: initialisers.normal_(w, 0.0, weight_scale / np.sqrt(w.shape[0])))
        runs.append(fit(model, X, y, optim.SGD(model.parameters(), lr=lr), steps, loss="mse",
                        clip_norm=clip_norm, progress=False, seed=seed, diverge_factor=np.inf))  # (run on to inf)
    if runs[1].diverged:
        raise FloatingPointError(f"even with clipping at {threshold:g}: {runs[1].message}; "
                                 "lower the learning rate or the threshold")
    return ClippingResult(runs[0], runs[1], float(threshold))


def plot_clipping(result):
    """Training with and without gradient-norm clipping: loss (left) and the gradient norm before
    clipping at every step (right, log scale) with the threshold as a dashed line.

    `result`: an `experiments.ClippingResult`. How to read it: without clipping, the first huge
    gradients throw the weights so far that the loss overflows (the X); with clipping the same
    huge gradients only set the direction, the step length is at most lr * threshold.
    """
    check_result(result, ClippingResult, "plot_clipping")
    runs = {"no clipping": result.unclipped, f"clipped at {result.threshold:g}": result.clipped}
    fig, (left, right) = plots.subplots(1, 2)
    plots.training_curves(runs, ax=left, title="training loss")
    with plots.style():
        for (label, run), color in zip(runs.items(), plots.PALETTE):
            norms = np.asarray(run.grad_norm, dtype=float)
            right.plot(np.arange(1, len(norms) + 1), plots.drawable(norms, log=True)[0], color=color,
                       linewidth=1.4, label=label)
        right.axhline(result.threshold, color=plots.REFERENCE_COLOR, linestyle="--", linewidth=1.2,
                      gid="reference", label=f"threshold {result.threshold:g}")
        plots.log_scale(right, "y", [run.grad_norm for run in runs.values()], plots.MIN_DECADES)
        right.set_xlabel(plots.STEP_AXIS)
        right.set_ylabel("‖∂L/∂θ‖, all parameters, before clipping (log scale)")
        right.set_title("how large the gradients were")
        plots.legend(right)
    return fig


def describe_clipping(result):
    """One line: how each run ended, and the largest gradient norm the clipped run met."""
    check_result(result, ClippingResult, "describe_clipping")
    plain = (result.unclipped.message if result.unclipped.diverged
             else f"final loss {result.unclipped.loss[-1]:.3g}")
    return (f"no clipping: {plain}; clipped at {result.threshold:.3g}: final loss "
            f"{result.clipped.loss[-1]:.3g} (largest total gradient norm |dL/dθ| before clipping "
            f"{max(result.clipped.grad_norm):.3g})")


EXPLORER = ExplorerSpec(
    name="clipping", title="Gradient clipping", chapter="03d_what_the_article_leaves_out",
    question="How large must the gain be before SGD blows up? Does clipping rescue it?",
    compute=clipping_runs, draw=plot_clipping, describe=describe_clipping,
    controls=(
        Control("weight_scale", "weight scale (gain per block)", "float", 1.5, 0.5, 3.0, 0.05, fmt=".2f"),
        Control("threshold", "clipping threshold", "log", 1.0, 0.01, 100.0, 0.1, fmt=".3"),
        Control("steps", "steps", "int", 200, 20, 1000, 20),
        Control("lr", "learning rate", "log", 0.01, 1e-4, 1.0, 0.1, fmt=".3"),
    ),
    small=dict(steps=40), move=("threshold", 10.0), budget_ms=TRAINS,
)
