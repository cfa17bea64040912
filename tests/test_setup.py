"""The project's own set-up: the two dependency lists agree, and CI runs `make test`.

`make lab` (working copy, lab config) is tested in test_lab_setup.py."""
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement):
    """'numpy>=1.23' -> 'numpy'; 'ipywidgets' -> 'ipywidgets' (lower case, - and _ alike)."""
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    # tomli only backports tomllib to Python 3.10; conda's Python is never that old a problem
    return {_name(r) for r in requirements if "python_version" not in r}


def _conda_names():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = {_name(d) for d in environment["dependencies"] if isinstance(d, str)}
    return names - {"python", "pip"}


def test_environment_yml_and_pyproject_name_the_same_dependencies():
    pyproject, conda = _pyproject_names(), _conda_names()
    assert pyproject == conda, (f"only in pyproject.toml: {sorted(pyproject - conda)}; "
                                f"only in environment.yml: {sorted(conda - pyproject)}")


def test_environment_yml_installs_the_project_itself_through_pip():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections and any(line.replace(" ", "") in ("-e.", ".") for line in pip_sections[0])
    assert "conda-forge" in environment["channels"]


@pytest.mark.parametrize("requirement, expected", [("numpy>=1.23", "numpy"), ("jupyter_lab", "jupyter-lab"),
                                                   ("tomli>=2; python_version < '3.11'", "tomli")])
def test_requirement_names_are_parsed(requirement, expected):
    assert _name(requirement) == expected


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", script, flags=re.M)
