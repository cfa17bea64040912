"""Chapter 4: the naive deep net on the digits, and the remedies switched on one at a time
(the remedy explorer; `gradcourse.ablation` runs the tables over seeds).

Every piece (init, activations, residual blocks, Adam, schedules, clipping) is the course's
own code, so a remedy that helps can be traced to the line that makes the difference.
"""
import inspect
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import nn, plots, validation
from ..diagnostics import measure_at_init
from ..training import accuracy, fit
from .common import (DEFAULT_LR, INITS, OPTIMIZERS, SQUASHING_AND_RELU, check_result, digits_split, first_over_last,
                     raise_if_diverged, training_optimizer)
from .depth import deep_mlp
from .schedules import make_schedule, schedule_names
from .spec import TRAINS, Control, ExplorerSpec

REMEDY_SCHEDULES = schedule_names("constant", "warmup+cosine")
# The settings a remedy changes; train_with_remedies' other arguments set the size of the run.
REMEDY_SETTINGS = ("activation", "init", "residual", "optimizer", "schedule", "clipping")


@dataclass
class RemedyResult:
    """One training run of `train_with_remedies`.

    `grad_at_init`: the gradient reaching each block's output, ||dL/dh_l||, at initialisation
    (cross-entropy on one training batch); `grad_ratio` = its first / last entry.
    `weight_grad_at_init`: the gradient of each block's weights, ||dL/dW_l||, in the same pass.
    `test_accuracy`: after the last step, on the held-out quarter of `digits_split(seed)`.
    `history`: the loss, rate and gradient norm (before clipping) of every step; it holds no
    accuracies. `steps_to_target`: first step where the running loss (10 steps) is below
    `target_loss` (None if never).
    """

    settings: dict
    history: object
    test_accuracy: float
    grad_at_init: np.ndarray
    grad_ratio: float
    steps_to_target: int
    target_loss: float
    weight_grad_at_init: np.ndarray


def train_with_remedies(activation="sigmoid", init="normal", residual=False, optimizer="sgd",
                        schedule="constant", clipping=False, num_blocks=20, width=32, steps=150,
                        batch_size=64, lr=None, clip_norm=1.0, target_loss=1.0, seed=0):
    """A deep MLP on the digits with the naive recipe, or with remedies switched on one by one.

    The net: `deep_mlp(num_blocks, width, ...)`, 64 pixels -> num_blocks blocks -> 10 logits,
    cross-entropy loss, minibatches of `batch_size`.
    Naive: sigmoid, every weight N(0, 1) (init="normal"), plain SGD at a constant rate 0.1.
    Remedies: activation ("tanh", "relu", ...), init ("default", "xavier_normal",
    "kaiming_normal", "orthogonal"), residual=True (branches scaled by 1/sqrt(num_blocks), which keeps
    the forward signal bounded, see ERRATA C3), optimizer="adam" (lr 0.003), schedule=
    "warmup+cosine" (linear warm-up over the first 10% of the steps, then cosine to 0) and
    clipping=True (`clip_grad_norm_` at `clip_norm`). lr=None takes DEFAULT_LR[optimizer].
    `seed` sets everything random: the train/test split (`digits_split(seed)`), the initial
    weights and the order of the minibatches.
    """
    check_recipe("train_with_remedies", activation, init, residual, optimizer, schedule, clipping, num_blocks, width,
                 steps, batch_size, lr, clip_norm, target_loss, seed)
    residual, clipping = bool(residual), bool(clipping)  # (a numpy bool too)
    settings = dict(activation=activation, init=init, residual=residual, optimizer=optimizer,
                    schedule=schedule, clipping=clipping)
    X, X_test, y, y_test = digits_split(seed)
    model = deep_mlp(num_blocks, width, activation, init, residual=residual, branch_scale=1 / np.sqrt(num_blocks),
                     in_features=X.shape[1], out_features=10, seed=seed)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        at_init = measure_at_init(model, X[:batch_size], y[:batch_size], loss="cross_entropy")
    grad_at_init = np.asarray(at_init["grad_norm"])
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    rates = None if schedule == "constant" else make_schedule(schedule, lr, steps, warmup=max(1, steps // 10))
    # eval_every=0: no accuracy pass over the whole training set, which costs as much as a few
    # steps (an ablation runs this hundreds of times); the test accuracy is measured below.
    history = fit(model, X, y, training_optimizer(optimizer, model.parameters(), lr), steps,
                  batch_size=batch_size, schedule=rates, clip_norm=clip_norm if clipping else None,
                  eval_every=0, progress=False, seed=seed)
    raise_if_diverged(history, "this recipe diverged")
    return RemedyResult(settings, history, accuracy(model, X_test, y_test), grad_at_init,
                        first_over_last(grad_at_init), history.steps_to(target_loss), target_loss,
                        np.asarray(at_init["layer_weight_grad_norm"]))


def check_recipe(where, activation, init, residual, optimizer, schedule, clipping, num_blocks, width, steps,
                 batch_size, lr, clip_norm, target_loss, seed):
    """The arguments of `train_with_remedies`, checked under the name of the function called.

    steps >= 2 (the warm-up of "warmup+cosine" takes at least one step, the cosine another);
    clip_norm > 0, inf allowed (as training.fit: an infinite threshold only measures).
    """
    validation.choice("activation", activation, tuple(nn.ACTIVATIONS), where)
    validation.choice("init", init, INITS, where)
    validation.boolean("residual", residual, where)
    validation.choice("optimizer", optimizer, OPTIMIZERS, where)
    validation.choice("schedule", schedule, REMEDY_SCHEDULES, where)
    validation.boolean("clipping", clipping, where)
    validation.count("steps", steps, 5000, where, minimum=2)
    validation.positive_int("batch_size", batch_size, where)
    if lr is not None:
        validation.positive("lr", lr, where)
    validation.positive("clip_norm", clip_norm, where, allow_inf=True)
    validation.number("target_loss", target_loss, where=where)
    validation.count("num_blocks", num_blocks, 200, where)
    validation.positive_int("width", width, where)
    validation.non_negative_int("seed", seed, where)


# train_with_remedies' arguments with their defaults; NAIVE, the recipe with every remedy off.
DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(train_with_remedies).parameters.items()}
NAIVE = {name: DEFAULTS[name] for name in REMEDY_SETTINGS}


def check_settings(where, settings):
    """`settings` (a dict of train_with_remedies' arguments, defaults for the rest) checked under
    the name of the function called: an unknown name is a TypeError, as Python raises."""
    for name in settings:
        validation.require(name in DEFAULTS, "argument", name,
                           "one of train_with_remedies' arguments: " + ", ".join(map(repr, DEFAULTS)), where, TypeError)
    check_recipe(where, **{**DEFAULTS, **settings})
    return settings


def naive_baseline(num_blocks=20, steps=150, seed=0):
    """`train_with_remedies()` with every remedy off (cached: the explorer compares against it)."""
    check_settings("naive_baseline", dict(num_blocks=num_blocks, steps=steps, seed=seed))
    return _cached_naive_baseline(num_blocks, steps, seed)


@lru_cache(maxsize=8)
def _cached_naive_baseline(num_blocks, steps, seed):
    return train_with_remedies(num_blocks=num_blocks, steps=steps, seed=seed)


def compare_with_naive(num_blocks=20, steps=150, seed=0, **remedies):
    """(train_with_remedies(**remedies), the naive baseline) with the same blocks and steps."""
    check_settings("compare_with_naive", dict(remedies, num_blocks=num_blocks, steps=steps, seed=seed))
    baseline = naive_baseline(num_blocks, steps, seed)
    naive = all(remedies.get(key, value) == value for key, value in baseline.settings.items())
    result = baseline if naive else train_with_remedies(num_blocks=num_blocks, steps=steps, seed=seed, **remedies)
    return result, baseline


def plot_remedies(result, baseline):
    """A recipe against the naive one: training loss (left) and the gradient reaching each block
    at initialisation (right, log scale).

    `result`, `baseline`: `experiments.RemedyResult`s (the second one the naive recipe).
    """
    check_result(result, RemedyResult, "plot_remedies")
    check_result(baseline, RemedyResult, "plot_remedies", name="baseline")
    fig, (left, right) = plots.subplots(1, 2)
    steps = len(result.history.loss)
    plots.training_curves({f"naive (test acc. {baseline.test_accuracy:.2f})": baseline.history,
                     f"your recipe (test acc. {result.test_accuracy:.2f})": result.history},
                    ax=left, title=f"training loss; test accuracy after {steps} steps")
    with plots.style():
        left.get_lines()[0].set_linestyle("--")  # the naive run: visible under an identical recipe
        plots.legend(left)
        plots.per_layer_lines(right, [("naive", baseline.grad_at_init, plots.PALETTE[0], "--"),
                                 ("your recipe", result.grad_at_init, plots.PALETTE[1], "-")],
                         "‖∂L/∂h_l‖, gradient reaching the block", plots.BLOCK_AXIS)
        right.set_title("gradient reaching each block, at initialisation")
    return fig


def _check_pair(pair, where):
    """`pair` unless it is not (result, baseline), two `RemedyResult`s (compare_with_naive's)."""
    validation.require(isinstance(pair, tuple) and len(pair) == 2, "pair", pair,
                       "a (result, baseline) pair of RemedyResults (compare_with_naive's)", where, TypeError)
    check_result(pair[0], RemedyResult, where, name="pair[0]")
    check_result(pair[1], RemedyResult, where, name="pair[1]")
    return pair


def plot_comparison(pair):
    """`plot_remedies(*pair)`: the picture of `compare_with_naive`'s (result, baseline)."""
    _check_pair(pair, "plot_comparison")
    return plot_remedies(*pair)


FINAL_STEPS = 10   # the final loss is the mean over this many last steps (as in `ablation`)


def describe_remedy(pair):
    """One line: test accuracy, final loss, gradient ratio at init, steps to the target loss."""
    _check_pair(pair, "describe_remedy")
    result, _ = pair
    steps = "never" if result.steps_to_target is None else f"at step {result.steps_to_target}"
    return (f"test accuracy {result.test_accuracy:.3f}; final loss (mean of the last "
            f"{FINAL_STEPS} steps) {result.history.final_loss(FINAL_STEPS):.3g}; "
            f"|dL/dh| first/last block at init {result.grad_ratio:.2g}; "
            f"loss below {result.target_loss:g} {steps}")


EXPLORER = ExplorerSpec(
    name="remedy", title="Remedies, one at a time", chapter="04_code_example",
    question="Which single change rescues the naive network? Which pairs?",
    compute=compare_with_naive, draw=plot_comparison, describe=describe_remedy,
    controls=(
        Control("activation", "activation", "choice", "sigmoid", options=SQUASHING_AND_RELU),
        Control("init", "initialisation", "choice", "normal", options=INITS),
        Control("residual", "residual connections (branch scale 1/√blocks)", "bool", False),
        Control("optimizer", "optimiser", "choice", "sgd", options=OPTIMIZERS),
        Control("schedule", "schedule", "choice", "constant", options=REMEDY_SCHEDULES),
        Control("clipping", "clip the gradient norm at 1", "bool", False),
        Control("num_blocks", "blocks", "int", 20, 2, 40, 1),
        Control("steps", "steps", "int", 150, 10, 500, 10),
        Control("seed", "seed (split, weights, batches)", "int", 0, 0, 9, 1),
    ),
    small=dict(num_blocks=6, steps=50), move=("residual", True), budget_ms=TRAINS,
    variants={"every remedy on": dict(activation="relu", init="kaiming_normal", residual=True, optimizer="adam",
                                      schedule="warmup+cosine", clipping=True)},
)
