"""The one random-number generator that initialisation and the datasets draw from.

`manual_seed(seed)` resets it, so a notebook that calls it once at the top is reproducible.
"""
import contextlib

import numpy as np

from . import validation

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Reseed the course's generator (like `torch.manual_seed`) and return it."""
    global _generator
    _generator = np.random.default_rng(validation.non_negative_int("seed", seed, "manual_seed"))
    return _generator


def generator(seed=None, where="generator"):
    """The shared generator, or a fresh one seeded with `seed` when a seed is given.

    `seed` is None or a non-negative integer; `where` names the function whose caller passed it,
    for the error message.
    """
    if seed is not None:
        return np.random.default_rng(validation.non_negative_int("seed", seed, where))
    return _generator


@contextlib.contextmanager
def seeded(seed):
    """Draw from a generator seeded with `seed` inside the block, then restore the shared one.

    Experiments use it so that a setting always builds the same network, without resetting the
    sequence a notebook's own `manual_seed` started.
    """
    global _generator
    saved = _generator
    _generator = np.random.default_rng(validation.non_negative_int("seed", seed, "seeded"))
    try:
        yield _generator
    finally:
        _generator = saved
