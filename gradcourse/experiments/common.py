"""What several topics share: the option names (each derived from the list that defines it), the
digits split, the optimisers, and the checks on counts (blocks, steps, lengths), made with
`gradcourse.validation` so that their errors read like every other argument error."""
import dataclasses
from functools import lru_cache

import numpy as np

from .. import nn, validation
from ..data import load_digits, standardize, train_test_split
from ..init import LINEAR_SCHEMES
from ..optim import SGD, Adam, AdamW, RMSprop

# The nonlinearities of nn.ACTIVATIONS (its "identity" / "linear" entries make a linear net).
ACTIVATIONS = tuple(name for name, layer in nn.ACTIVATIONS.items() if layer is not nn.Identity)
# The three the training explorers offer: the two squashing ones the chapters start from and ReLU.
SQUASHING_AND_RELU = tuple(name for name in ACTIVATIONS if name in ("sigmoid", "tanh", "relu"))
# The Gaussian and orthogonal schemes of init.LINEAR_SCHEMES, and PyTorch's default: the
# uniform variants and zeros teach nothing more about depth here.
INITS = tuple(scheme for scheme in LINEAR_SCHEMES if not scheme.endswith("_uniform") and scheme != "zeros")
NORMS = tuple("none" if norm is None else norm for norm in nn.NORMS)  # a menu needs a name for None

# Every optimiser the experiments run (the race runs them all).
RACE_OPTIMIZERS = ("SGD", "momentum", "RMSprop", "Adam", "AdamW", "AMSGrad")
# The two that train the chapters' networks, by the lower-case names the chapters use.
OPTIMIZERS = tuple(name.lower() for name in RACE_OPTIMIZERS if name in ("SGD", "Adam"))
DEFAULT_LR = {"sgd": 0.1, "adam": 0.003}


def first_over_last(norms):
    """norms[0] / norms[-1], the first layer's gradient over the last one's (inf if the last is 0)."""
    validation.require(len(norms) > 0, "norms", norms, "a non-empty list of gradient norms", "first_over_last")
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else np.inf


def check_count(value, maximum, name, where=None):
    """`value` unless it is not an integer (TypeError) or not from 1 to `maximum` (ValueError)."""
    validation.positive_int(name, value, where)
    validation.require(value <= maximum, name, value, f"an integer from 1 to {maximum}", where)
    return value


def check_choice(value, options, name, where=None):
    """`value` unless it is not one of `options` (`validation.choice`, the arguments in this order)."""
    return validation.choice(name, value, options, where)


def check_result(result, kind, where, name="result"):
    """`result` unless it is neither a `kind` nor an object with all of its fields (a TypeError
    naming the argument and the type expected)."""
    ok = isinstance(result, kind) or all(hasattr(result, field.name) for field in dataclasses.fields(kind))
    validation.require(ok, name, result, f"a {kind.__name__} (what the experiment returns)", where, TypeError)
    return result


def check_ax(ax, where):
    """`ax` unless it is neither None nor a matplotlib Axes."""
    from matplotlib.axes import Axes
    validation.require(ax is None or isinstance(ax, Axes), "ax", ax, "None or a matplotlib Axes", where, TypeError)
    return ax


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


def make_optimizer(name, params, lr, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9,
                   weight_decay=0.01):
    """One of RACE_OPTIMIZERS from gradcourse.optim. RMSprop averages g^2 with alpha = beta2, so
    it is Adam without momentum and without bias correction."""
    check_choice(name, RACE_OPTIMIZERS, "optimizer", "make_optimizer")
    betas = (beta1, beta2)
    makers = {
        "SGD": lambda: SGD(params, lr),
        "momentum": lambda: SGD(params, lr, momentum=momentum),
        "RMSprop": lambda: RMSprop(params, lr, alpha=beta2, eps=eps),
        "Adam": lambda: Adam(params, lr, betas, eps),
        "AdamW": lambda: AdamW(params, lr, betas, eps, weight_decay=weight_decay),
        "AMSGrad": lambda: Adam(params, lr, betas, eps, amsgrad=True),
    }
    return makers[name]()


def training_optimizer(name, params, lr):
    """optim.SGD (name "sgd") or optim.Adam ("adam", PyTorch's betas and eps) over `params` at `lr`."""
    check_choice(name, OPTIMIZERS, "optimizer")
    return make_optimizer({race.lower(): race for race in RACE_OPTIMIZERS}[name], params, lr)


def raise_if_diverged(history, what):
    """A FloatingPointError saying where and when, if the training run diverged."""
    if history.diverged:
        raise FloatingPointError(f"{what}: {history.message}")
