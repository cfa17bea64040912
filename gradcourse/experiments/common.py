"""What several topics share: the option names (each derived from the list that defines it), the
digits split and the optimisers. Arguments are checked with `gradcourse.validation` directly, so
that their errors read like every other argument error."""
import dataclasses
from functools import lru_cache

import numpy as np

from .. import nn, validation
from ..data import load_digits, standardize, train_test_split
from ..diagnostics import MEASURED_ACTIVATIONS
from ..init import LINEAR_SCHEMES
from ..optim import SGD, Adam, AdamW, RMSprop

# The nonlinearities of nn.ACTIVATIONS (its "identity" / "linear" entries make a linear net).
ACTIVATIONS = tuple(name for name, layer in nn.ACTIVATIONS.items() if layer is not nn.Identity)
# The three the training explorers offer: the activations whose saturated or dead units the
# diagnostics measure (sigmoid, tanh, relu), so each is a name of ACTIVATIONS.
SQUASHING_AND_RELU = MEASURED_ACTIVATIONS
# The Gaussian and orthogonal schemes of init.LINEAR_SCHEMES, and PyTorch's default: the
# uniform variants and zeros teach nothing more about depth here.
INITS = tuple(scheme for scheme in LINEAR_SCHEMES if not scheme.endswith("_uniform") and scheme != "zeros")
NORMS = nn.NORM_NAMES  # "none", "layer", "batch": a menu needs a name for None

# Every optimiser the experiments run (the race runs them all): name -> a function
# (params, lr, betas, eps, momentum, weight_decay) -> optimiser. RMSprop averages g^2 with
# alpha = beta2, so it is Adam without momentum and without bias correction.
OPTIMIZER_MAKERS = {
    "SGD": lambda params, lr, betas, eps, momentum, weight_decay: SGD(params, lr),
    "momentum": lambda params, lr, betas, eps, momentum, weight_decay: SGD(params, lr, momentum=momentum),
    "RMSprop": lambda params, lr, betas, eps, momentum, weight_decay: RMSprop(params, lr, alpha=betas[1], eps=eps),
    "Adam": lambda params, lr, betas, eps, momentum, weight_decay: Adam(params, lr, betas, eps),
    "AdamW": lambda params, lr, betas, eps, momentum, weight_decay: AdamW(params, lr, betas, eps,
                                                                          weight_decay=weight_decay),
    "AMSGrad": lambda params, lr, betas, eps, momentum, weight_decay: Adam(params, lr, betas, eps, amsgrad=True),
}
RACE_OPTIMIZERS = tuple(OPTIMIZER_MAKERS)
# The two that train the chapters' networks, by the lower-case names the chapters use, with
# their default learning rates; each is a race optimiser under its lower-case name (RACE_NAME).
DEFAULT_LR = {"sgd": 0.1, "adam": 0.003}
OPTIMIZERS = tuple(DEFAULT_LR)
RACE_NAME = {race.lower(): race for race in RACE_OPTIMIZERS}  # "sgd" -> "SGD", "adam" -> "Adam", ...


def first_over_last(norms):
    """norms[0] / norms[-1], the first layer's gradient over the last one's (inf if the last is 0).

    `norms` is a non-empty 1-D list of norms, each >= 0 (nan, from a diverged run, passes through)."""
    where = "first_over_last"
    array = validation.real_array("norms", norms, where)
    validation.require(array.ndim == 1, "norms", norms, "a list of gradient norms", where, TypeError)
    validation.require(array.size > 0, "norms", norms, "a non-empty list of gradient norms", where)
    validation.require(not np.any(array < 0), "norms", norms, ">= 0 (norms are never negative)", where)
    return float(array[0] / array[-1]) if array[-1] > 0 else np.inf


def check_result(result, kind, where, name="result"):
    """`result` unless it is neither a `kind` nor an object with all of its fields (a TypeError
    naming the argument and the type expected)."""
    ok = isinstance(result, kind) or all(hasattr(result, field.name) for field in dataclasses.fields(kind))
    validation.require(ok, name, result, f"a {kind.__name__} (what the experiment returns)", where, TypeError)
    return result


def weight_layers(num_blocks, residual=False):
    """The Linear layers of `nn.MLP` with `num_blocks` blocks: input + output layer, and one per
    plain block or two per residual block."""
    validation.non_negative_int("num_blocks", num_blocks, "weight_layers")
    validation.boolean("residual", residual, "weight_layers")
    return 2 * num_blocks + 2 if residual else num_blocks + 2


def digits_split(seed=0):
    """The digits, split 75/25 (stratified) and standardised with the training statistics (cached)."""
    return _cached_digits_split(validation.non_negative_int("seed", seed, "digits_split"))


@lru_cache(maxsize=4)
def _cached_digits_split(seed):
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed, stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def check_optimizer_settings(where, lr, beta1, beta2, eps, momentum, weight_decay):
    """The settings of `make_optimizer`, checked under the caller's name with gradcourse.optim's
    rules: lr, momentum and weight_decay >= 0, each beta in [0, 1), eps > 0."""
    validation.non_negative("lr", lr, where)
    validation.fraction("beta1", beta1, where)
    validation.fraction("beta2", beta2, where)
    validation.positive("eps", eps, where)
    validation.non_negative("momentum", momentum, where)
    validation.non_negative("weight_decay", weight_decay, where)


def make_optimizer(name, params, lr, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9,
                   weight_decay=0.01):
    """One of RACE_OPTIMIZERS (see OPTIMIZER_MAKERS) from gradcourse.optim over `params`."""
    validation.choice("optimizer", name, RACE_OPTIMIZERS, "make_optimizer")
    check_optimizer_settings("make_optimizer", lr, beta1, beta2, eps, momentum, weight_decay)
    return OPTIMIZER_MAKERS[name](params, lr, (beta1, beta2), eps, momentum, weight_decay)


def training_optimizer(name, params, lr, where="training_optimizer"):
    """optim.SGD (name "sgd") or optim.Adam ("adam", PyTorch's betas and eps) over `params` at
    `lr`; `where` names the caller in the error for an unknown name."""
    validation.choice("optimizer", name, OPTIMIZERS, where)
    return make_optimizer(RACE_NAME[name], params, lr)


def raise_if_diverged(history, what):
    """A FloatingPointError saying where and when, if the training run diverged."""
    if history.diverged:
        raise FloatingPointError(f"{what}: {history.message}")
