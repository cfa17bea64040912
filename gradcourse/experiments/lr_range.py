"""Chapter 6: Smith's learning-rate range test on the digits (the lr finder explorer).

The test itself is `gradcourse.lr_finder.lr_range_test`; here it runs on a ReLU MLP with
Kaiming init, and the picture shows the loss against the rate with the suggestion.
"""
import inspect

import numpy as np

from .. import lr_finder, plots, validation
from ..lr_finder import LRRangeResult, lr_range_test
from ..nn import MLP
from ..rng import seeded
from .common import OPTIMIZERS, check_result, digits_split, training_optimizer
from .spec import TRAINS, Control, ExplorerSpec

_DIVERGE_FACTOR = inspect.signature(lr_range_test).parameters["diverge_factor"].default  # (what it runs with)


def lr_range_on_digits(optimizer="sgd", num_blocks=4, width=32, steps=100, smooth=0.9, start_lr=1e-5,
                       end_lr=10.0, seed=0):
    """`lr_finder.lr_range_test` for a ReLU MLP (Kaiming init, `num_blocks` blocks, so
    num_blocks + 2 weight layers) on the digits."""
    where = "lr_range_on_digits"
    validation.choice("optimizer", optimizer, OPTIMIZERS, where)
    validation.count("num_blocks", num_blocks, 200, where)
    validation.positive_int("width", width, where)
    lr_finder._check_arguments(start_lr, end_lr, steps, smooth, _DIVERGE_FACTOR, where)  # lr_range_test's rules
    validation.non_negative_int("seed", seed, where)
    X, _, y, _ = digits_split(seed)

    def model():
        with seeded(seed):
            return MLP(X.shape[1], width, 10, num_blocks, activation="relu", init="kaiming_normal")

    return lr_range_test(model, X, y, lambda params: training_optimizer(optimizer, params, start_lr),
                         start_lr=start_lr, end_lr=end_lr, steps=steps, smooth=smooth, seed=seed)


def plot_lr_range(result, ax=None):
    """The learning-rate range test: loss against learning rate (log x), with the suggestion.

    `result`: a `lr_finder.LRRangeResult`. Grey: the loss of each minibatch; blue: its moving
    average. The dotted line is the lowest average loss, the dashed one a tenth of that rate (the
    suggestion). The y axis stops a quarter above the highest average loss before the minimum,
    so the exploding losses at the end are cut off.
    """
    check_result(result, LRRangeResult, "plot_lr_range")
    lrs, smoothed = np.asarray(result.lrs), np.asarray(result.smoothed, dtype=float)
    validation.require(smoothed.size > 0 and not np.isnan(smoothed).any(), "result.smoothed", result.smoothed,
                       "a non-empty array without nan (its minimum is marked)", "plot_lr_range")
    with plots.style():
        ax = plots.panel(ax, "plot_lr_range")
        ax.plot(lrs, result.losses, color="0.7", linewidth=0.8, label="minibatch loss")
        ax.plot(lrs, smoothed, color=plots.PALETTE[0], label="moving average")
        ax.axvline(result.min_loss_lr, color=plots.REFERENCE_COLOR, linestyle=":", linewidth=1.2,
                   label=f"lowest average: lr {result.min_loss_lr:.2g}")
        ax.axvline(result.suggestion, color=plots.PALETTE[3], linestyle="--", linewidth=1.4, gid="suggestion",
                   label=f"suggestion (a tenth): lr {result.suggestion:.2g}")
        plots.log_scale(ax, "x")
        before_minimum = smoothed[:int(np.argmin(smoothed)) + 1]
        lowest = min(smoothed.min(), np.min(result.losses))
        ax.set_ylim(0.9 * lowest if lowest > 0 else None, 1.25 * before_minimum.max())
        ax.set_xlabel("learning rate (log scale), raised at every step")
        ax.set_ylabel("training loss")
        ax.set_title("learning-rate range test")
        plots.legend(ax)
        return ax.figure


def describe_lr_range(result):
    """One line: the suggested rate and the two rates it comes from."""
    check_result(result, LRRangeResult, "describe_lr_range")
    return (f"suggested lr {result.suggestion:.2g} (lowest loss at {result.min_loss_lr:.2g}, "
            f"steepest fall at {result.steepest_lr:.2g}); {result.message}")


EXPLORER = ExplorerSpec(
    name="lr_finder", title="Learning-rate range test", chapter="06_faq",
    question="How does the suggestion change with the optimiser?",
    compute=lr_range_on_digits, draw=plot_lr_range, describe=describe_lr_range,
    controls=(
        Control("optimizer", "optimiser", "choice", "sgd", options=OPTIMIZERS),
        Control("num_blocks", "blocks", "int", 4, 1, 20, 1),
        Control("steps", "steps", "int", 100, 20, 300, 10),
        # smooth=0.9 (not fastai's 0.98): over only 100 steps a 0.98 average lags ~50 steps behind
        Control("smooth", "smoothing beta", "float", 0.9, 0.0, 0.99, 0.01, fmt=".3"),
    ),
    small=dict(steps=30), move=("optimizer", "adam"), budget_ms=TRAINS,
)
