import matplotlib

matplotlib.use("Agg")  # selected here, once, before any test imports pyplot: no display in CI

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gradcourse as gc  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def make_leaf(rng):
    """make_leaf(shape, kind="any") -> a random leaf tensor with requires_grad=True.

    kind "any": U(-1, 1); "positive": U(0.5, 2), safe for log, sqrt, division and fractional
    powers; "nonzero": |x| in [0.2, 1], keeping relu, leaky_relu and max away from their kinks.
    """
    def make(shape, kind="any"):
        if kind == "any":
            data = rng.uniform(-1.0, 1.0, shape)
        elif kind == "positive":
            data = rng.uniform(0.5, 2.0, shape)
        elif kind == "nonzero":
            data = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.0, shape)
        else:
            raise ValueError(kind)
        return gc.tensor(data, requires_grad=True)
    return make


@pytest.fixture
def strict_floats():
    """Turn every warning into an error and make numpy raise on overflow, 0/0 and log(0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


@pytest.fixture
def seeded():
    """Reseed the course generator so that initialisation is reproducible within a test."""
    gc.manual_seed(0)
