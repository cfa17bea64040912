"""What several topics share: the option names, the digits split, the two training optimisers,
and the checks on counts (blocks, steps, lengths) with errors that name the argument."""
from functools import lru_cache

import numpy as np

from .. import optim
from ..data import load_digits, standardize, train_test_split

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
INITS = ("normal", "xavier_normal", "kaiming_normal", "orthogonal", "default")
NORMS = ("none", "layer", "batch")
OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.003}


def first_over_last(norms):
    """norms[0] / norms[-1], the first layer's gradient over the last one's (inf if the last is 0)."""
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else np.inf


def check_count(value, maximum, name):
    """Raise a ValueError naming `name` unless value is an integer from 1 to `maximum`."""
    if not isinstance(value, (int, np.integer)) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")


def check_choice(value, options, name):
    """Raise a ValueError naming `name` unless value is one of `options`."""
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def weight_layers(num_blocks, residual=False):
    """The Linear layers of `nn.MLP` with `num_blocks` blocks: input + output layer, and one per
    plain block or two per residual block."""
    return 2 * num_blocks + 2 if residual else num_blocks + 2


@lru_cache(maxsize=4)
def digits_split(seed=0):
    """The digits, split 75/25 (stratified) and standardised with the training statistics."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed, stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def training_optimizer(name, params, lr):
    """optim.SGD (name "sgd") or optim.Adam ("adam") over `params` at learning rate `lr`."""
    check_choice(name, OPTIMIZERS, "optimizer")
    return optim.SGD(params, lr=lr) if name == "sgd" else optim.Adam(params, lr=lr)


def raise_if_diverged(history, what):
    """A FloatingPointError saying where and when, if the training run diverged."""
    if history.diverged:
        raise FloatingPointError(f"{what}: {history.message}")
