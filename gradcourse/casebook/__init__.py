"""Case files: small training runs that fail for a hidden reason, to measure, diagnose and repair.

Each case gives you a broken run to inspect with `gradcourse.diagnostics` and the `Run` it returns;
an exercise asks you to name its cause (one of `CAUSES`) and to repair it. What your repaired run
achieves is measured here, on held-out data over several seeds, and must reach the case's
`threshold(case)` in every seed. Nothing here is a repaired run: the repairs are yours to write.

    case  exercise  module           how it is run, and what a repair is
    1     4.2       worked_example   `case1_training(seed, lr)`: a learning rate
    2     4.3       worked_example   `case2_model(seed)`, `case2_training(seed, repair)`: `repair(model)`
    3     4.4       worked_example   `case3_training(seed, step, after_step)`: a step function
    4     2.7       core_concepts    `case4_model(seed)`, `case4_training(seed, repair)`: `repair(model)`
    5     3.5       algorithms       `case5_training(seed, step, after_step)`: a step function
    6     5.5       future           `case6_model(seed)`, `case6_training(seed, step, after_step)`: a step
    7     6.5       faq              `case7_model(seed)`, `case7_training(seed, repair)`: `repair(model)`
    8     6.6       faq              `case8_model(seed)`, `case8_training(seed, repair)`: `repair(model)`

Each module's docstring says more about its cases.
"""
import hashlib

from . import algorithms, core_concepts, faq, future, worked_example
from ._runs import BATCH, HIDDEN, STEPS, Run, _batches, _mlp, _run, _step, digits_split, no_grad, tensor, \
    test_accuracy
from .worked_example import (case1_measure, case1_training, case2_measure,
                             case2_model, case2_training, case3_measure, case3_training)
from .core_concepts import *  # noqa: F401,F403 (case 4; each module's __all__ says what it offers)
from .algorithms import *  # noqa: F401,F403 (case 5)
from .future import *  # noqa: F401,F403 (case 6)
from .faq import *  # noqa: F401,F403 (cases 7 and 8)

# The causes an exercise may name, and what each one means.
CAUSES = {
    "lr_too_high": "a learning rate far past the edge of stability",
    "lr_too_low": "a learning rate so small that the loss barely moves in the steps the run has",
    "dead_relu": "ReLU units that output 0 for every example, so no gradient passes them",
    "saturated_init": "squashing units (tanh, sigmoid) saturated by a too-large initial weight scale",
    "vanishing_init": "feed-forward layers initialised too small, so the signal and the gradient shrink layer by layer",
    "exploding_init": "feed-forward layers initialised too large, so the signal and the gradient grow layer by layer",
    "vanishing_recurrent": "a recurrent weight whose repeated product makes the gradient shrink back through time",
    "exploding_recurrent": "a recurrent weight whose repeated product makes the gradient grow back through time",
    "forgotten_zero_grad": "gradients that accumulate over steps because nothing clears them",
    "clip_after_step": "gradient clipping applied after the optimiser's step, where it does nothing",
    "batchnorm_in_eval": "BatchNorm left in eval mode (running statistics) while training",
    "batchnorm_tiny_batch": "batches so small that BatchNorm's batch statistics are mostly noise",
}
_MODULES = (worked_example, core_concepts, algorithms, future, faq)
# sha256 of each case's cause: a check compares your name with it, without the name in plain text.
_CAUSE_DIGESTS = {case: digest for module in _MODULES for case, digest in module.CAUSE_DIGESTS.items()}
_THRESHOLDS = {case: value for module in _MODULES for case, value in module.THRESHOLDS.items()}


def threshold(case):
    """The test accuracy a repaired run of case `case` must reach in every seed."""
    return _THRESHOLDS[case]


def _is_cause(case, name):
    """Whether `name` is the cause of case `case`."""
    return hashlib.sha256(f"gradcourse-casebook:{name}".encode()).hexdigest() == _CAUSE_DIGESTS[case]
