import matplotlib

matplotlib.use("Agg")  # selected here, once, before any test imports pyplot: no display in CI

import importlib.util  # noqa: E402
import os  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import gradcourse as gc  # noqa: E402

# ----- hypothesis: a fixed, small profile by default (and so in CI), a larger one on request ----
# "ci": the same examples on every run (derandomize), few enough for make test's time budget; no
# deadline and no too_slow check, since both time the example on a machine shared by the workers.
# "dev": HYPOTHESIS_PROFILE=dev pytest tests/test_properties_ops.py, random and ten times as many.
settings.register_profile("ci", derandomize=True, max_examples=20, deadline=None, print_blob=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# ----- PyTorch, the reference: optional for a student, required in CI ------------------------
# The comparison tests skip when torch is missing (`pytest.importorskip("torch")`). With
# GRADCOURSE_REFERENCE_TESTS=required (set by .ci/run, after `make reference` installed it) a
# missing torch stops the session at once, and any skip for want of torch counts as a failure.
REFERENCE_REQUIRED = os.environ.get("GRADCOURSE_REFERENCE_TESTS") == "required"
_HOW_TO_GET_TORCH = "`make reference` installs it (PyTorch's CPU build, pinned) into .venv"


def pytest_configure(config):
    if REFERENCE_REQUIRED and importlib.util.find_spec("torch") is None:
        raise pytest.UsageError("GRADCOURSE_REFERENCE_TESTS=required, but torch is not installed in "
                                f"this Python; {_HOW_TO_GET_TORCH}")


def _fail_a_skip_for_want_of_torch(report):
    skipped_for = str(report.longrepr[-1]) if report.skipped and isinstance(report.longrepr, tuple) else ""
    if REFERENCE_REQUIRED and "torch" in skipped_for:
        report.outcome = "failed"
        report.longrepr = (f"GRADCOURSE_REFERENCE_TESTS=required, but this was skipped: "
                           f"{skipped_for}; {_HOW_TO_GET_TORCH}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_a_skip_for_want_of_torch(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_a_skip_for_want_of_torch(outcome.get_result())


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
