"""The project's own set-up: the two dependency lists agree, CI runs `make test`, and the notebooks'
kernel imports this checkout's gradcourse.

`make lab` (working copy, lab config) is tested in test_lab_setup.py."""
import re
import subprocess
import sys
from pathlib import Path

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
    # names read whole from both files (a parser that cut them short would make any two lists agree)
    assert all(re.fullmatch(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?", name) for name in pyproject | conda)
    assert {"numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbval"} <= pyproject


def test_environment_yml_installs_the_project_itself_through_pip():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections and any(line.replace(" ", "") in ("-e.", ".") for line in pip_sections[0])
    assert "conda-forge" in environment["channels"]


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", script, flags=re.M)


def test_the_notebooks_kernel_imports_this_checkout(tmp_path):
    """nbval (`--nbval-current-env`, see the Makefile) runs the notebooks in a kernel started with
    this interpreter, which imports whichever gradcourse that interpreter has installed: this
    checkout's only if it is installed editable (`pip install -e .`, what `make` does). Another
    copy (a non-editable install, an older checkout) would make nbval test code that is not this.
    Asked from another folder, so that the working directory does not put the checkout on the path."""
    where = "import importlib.util; print(importlib.util.find_spec('gradcourse').origin)"
    found = subprocess.run([sys.executable, "-c", where], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert found.returncode == 0, f"{sys.executable} cannot find gradcourse outside the checkout:\n{found.stderr}"
    origin = Path(found.stdout.strip()).resolve()
    assert origin == ROOT / "gradcourse" / "__init__.py", (
        f"the notebooks' kernel ({sys.executable}) imports gradcourse from {origin}, not from this checkout "
        f"({ROOT}); run `pip install -e .` in {ROOT}")
