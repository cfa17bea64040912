"""CI runs the comparisons against PyTorch, and never fetches a CUDA build to do so.

`.ci/run` installs the pinned CPU build (`make reference`) and sets GRADCOURSE_REFERENCE_TESTS=required,
under which tests/conftest.py turns a skip for want of torch into a failure.
"""
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _version(text):
    return tuple(int(part) for part in text.split("."))


def _makefile_torch_pin():
    return re.search(r"^TORCH\s*\?=\s*torch==([\d.]+)\s*$", (ROOT / "Makefile").read_text(), flags=re.M)


def test_make_reference_pins_one_torch_release_inside_the_extras_range():
    """An exact pin (a range would admit a newer release, whose default build is CUDA's), which the
    `reference` extra accepts, so installing the extra afterwards installs no other torch."""
    pin = _makefile_torch_pin()
    assert pin, "the Makefile must pin torch exactly: TORCH ?= torch==X.Y.Z"
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["reference"]
    lower = re.fullmatch(r"torch>=([\d.]+)", extra[0])
    assert len(extra) == 1 and lower, f"the reference extra should be torch>=X.Y alone, got {extra}"
    assert _version(pin.group(1)) >= _version(lower.group(1))


def test_ci_installs_torch_and_requires_the_reference_tests_before_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()]
    install = lines.index("make reference")
    required = lines.index("export GRADCOURSE_REFERENCE_TESTS=required")
    assert install < required < lines.index("make test")


@pytest.fixture
def conftest(pytestconfig):
    """tests/conftest.py as pytest loaded it (`import conftest` might find tests/browser's)."""
    path = Path(__file__).with_name("conftest.py")
    return next(plugin for plugin in pytestconfig.pluginmanager.get_plugins()
                if getattr(plugin, "__file__", None) and Path(plugin.__file__) == path)


class _Report:
    def __init__(self, reason):
        self.skipped, self.outcome = True, "skipped"
        self.longrepr = ("tests/test_x.py", 3, f"Skipped: {reason}")


def test_a_skip_for_want_of_torch_fails_when_required(conftest, monkeypatch):
    monkeypatch.setattr(conftest, "REFERENCE_REQUIRED", True)
    missing, unrelated = _Report("could not import 'torch': No module named 'torch'"), _Report("no display")
    conftest._fail_a_skip_for_want_of_torch(missing)
    conftest._fail_a_skip_for_want_of_torch(unrelated)
    assert missing.outcome == "failed" and "GRADCOURSE_REFERENCE_TESTS=required" in missing.longrepr
    assert unrelated.outcome == "skipped"


def test_a_skip_for_want_of_torch_stays_a_skip_for_a_student(conftest, monkeypatch):
    monkeypatch.setattr(conftest, "REFERENCE_REQUIRED", False)
    report = _Report("could not import 'torch': No module named 'torch'")
    conftest._fail_a_skip_for_want_of_torch(report)
    assert report.outcome == "skipped"
