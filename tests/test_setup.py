"""The project's own set-up: the two dependency lists agree, and the package installs its data."""
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


def _lab_command():
    """The command `make lab` would run (make -n prints it without running it)."""
    import subprocess
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if "jupyter lab" in line)


def test_make_lab_opens_the_start_page_with_the_course_settings():
    command = _lab_command()
    assert command.rstrip().endswith("chapters/00_start_here.ipynb"), command
    assert f"--ServerApp.root_dir={ROOT}" in command, "the repository is the root: exercises/ is reachable"
    assert f"JUPYTER_CONFIG_DIR={ROOT}/jupyter" in command and "--LabApp.custom_css=True" in command


def test_course_settings_cap_the_prose_width_and_silence_the_news():
    import json
    css = (ROOT / "jupyter" / "custom" / "custom.css").read_text()
    width = re.search(r"\.jp-MarkdownCell \.jp-RenderedMarkdown \{\s*max-width: (\d+)rem;", css)
    assert width and 30 <= int(width.group(1)) <= 50, "prose lines of 60-90 characters"
    overrides = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
