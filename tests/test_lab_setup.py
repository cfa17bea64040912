"""`make lab` as a student meets it: the lab serves a git-ignored working copy of chapters/ and
exercises/ (made once, never overwritten; `make refresh` moves it aside before bringing in the
course's current notebooks), on the start page, with the course's config (jupyter/), which turns
nbgrader's instructor extensions off. The Makefile's targets run here on temporary folders (WORK=...);
the browser test of the same lab is tests/browser/test_chapters_second_half.py."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE_DIRS = ("chapters", "exercises")
START_PAGE = "chapters/00_start_here.ipynb"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no `make` on PATH")


def _make(*args, fails=False, **env):
    """Run `make -s ARGS` in the repository (with `env` added to the environment); its output."""
    env = {k: v for k, v in {**os.environ, **env}.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert (done.returncode != 0) == fails, f"make {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def _course_files(root):
    """{relative path: bytes} of chapters/ and exercises/ under root."""
    return {str(p.relative_to(root)): p.read_bytes() for d in COURSE_DIRS for p in sorted((root / d).rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}


def _lab_command(*args):
    """The command `make lab` would run (make -n prints it without running anything)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "lab", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    return next(line for line in out.splitlines() if "jupyter lab" in line)


@needs_make
def test_make_lab_serves_the_working_copy_on_its_start_page():
    command = _lab_command()
    work = ROOT / "my-work"
    assert f"--ServerApp.root_dir={work} " in command, "the working copy is the lab's root"
    assert command.rstrip().endswith(f"{work}/{START_PAGE}"), command
    assert command.startswith(f"JUPYTER_CONFIG_DIR={ROOT}/jupyter "), "the course's config: CSS, no nbgrader"
    other = _lab_command("WORK=/tmp/elsewhere")
    assert "--ServerApp.root_dir=/tmp/elsewhere " in other and other.rstrip().endswith(f"/tmp/elsewhere/{START_PAGE}")


def test_the_readme_conda_route_serves_the_working_copy_with_the_course_config():
    readme = (ROOT / "README.md").read_text()
    conda = readme[readme.index("### The conda route"):]
    conda = conda[:conda.index("```", conda.index("```bash") + 3)]
    assert "\nmake work" in conda, "the conda route makes the working copy as `make lab` does"
    command = next(line for line in conda.splitlines() if "jupyter lab" in line)
    assert command.startswith("JUPYTER_CONFIG_DIR=jupyter "), command
    assert "--ServerApp.root_dir=my-work " in command and command.rstrip().endswith(f"my-work/{START_PAGE}")


def test_the_working_copy_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/my-work/" in ignored, "the working copy (and the copies refresh moves aside inside it)"


@needs_make
def test_work_copies_the_course_once_and_never_overwrites_it(tmp_path):
    work = tmp_path / "w"
    said = _make("work", f"WORK={work}")
    assert "copied chapters/ exercises/" in said and str(work) in said, said
    assert _course_files(work) == _course_files(ROOT), "a copy of the course's chapters/ and exercises/"
    assert (work / START_PAGE).is_file()

    edited = work / "exercises" / "01_background.ipynb"
    edited.write_text('{"my": "answers"}')
    chapter = work / START_PAGE
    chapter.write_text('{"my": "run"}')
    said = _make("work", f"WORK={work}")
    assert said == "", f"nothing to do, nothing to say: {said!r}"
    assert edited.read_text() == '{"my": "answers"}' and chapter.read_text() == '{"my": "run"}'

    shutil.rmtree(work / "exercises")  # a folder gone from the copy comes back; the rest stays
    said = _make("work", f"WORK={work}")
    assert "copied exercises/" in said and "chapters" not in said.split("into")[0], said
    assert (work / "exercises" / "01_background.ipynb").read_bytes() == \
        (ROOT / "exercises" / "01_background.ipynb").read_bytes()
    assert chapter.read_text() == '{"my": "run"}'


@needs_make
def test_work_says_when_the_course_has_changed(tmp_path):
    work = tmp_path / "w"
    _make("work", f"WORK={work}")
    (work / ".course-version").write_text("an older course\n")  # as if `git pull` had changed it since
    said = _make("work", f"WORK={work}")
    assert "make refresh" in said, said


@needs_make
def test_refresh_moves_the_students_copy_aside_and_brings_in_the_course(tmp_path):
    work = tmp_path / "w"
    _make("work", f"WORK={work}")
    (work / "exercises" / "02_core_concepts.ipynb").write_text('{"my": "answers"}')
    (work / "scratch.ipynb").write_text('{"mine": true}')

    said = _make("refresh", f"WORK={work}")
    aside = sorted(work.glob("before-refresh-*"))
    assert len(aside) == 1 and re.fullmatch(r"before-refresh-\d{8}-\d{6}", aside[0].name), aside
    assert f"{aside[0]}/" in said, f"refresh must say where the old copy went: {said}"
    assert (aside[0] / "exercises" / "02_core_concepts.ipynb").read_text() == '{"my": "answers"}'
    assert _course_files(aside[0]).keys() == _course_files(ROOT).keys(), "the whole old copy, moved"
    assert _course_files(work) == _course_files(ROOT), "the course's current notebooks"
    assert (work / "scratch.ipynb").read_text() == '{"mine": true}', "the student's other files stay"

    said = _make("refresh", f"WORK={work}")  # already current: nothing moved
    assert "nothing to refresh" in said and len(list(work.glob("before-refresh-*"))) == 1, said


@needs_make
def test_refresh_refuses_while_a_lab_serves_the_working_copy(tmp_path):
    """Moving notebooks out from under a running lab would let it save a student's open notebook over
    the fresh copy: refresh first asks for the lab to be stopped."""
    if not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("no .venv/bin/jupyter: the Makefile checks for a running lab with it")
    work, runtime = tmp_path / "w", tmp_path / "runtime"
    _make("work", f"WORK={work}")
    (work / "exercises" / "01_background.ipynb").write_text('{"my": "answers"}')
    runtime.mkdir()  # what a running `jupyter lab` leaves in Jupyter's runtime folder (this pid is alive)
    (runtime / f"jpserver-{os.getpid()}.json").write_text(json.dumps({"root_dir": str(work), "port": 8888},
                                                                     indent=2, sort_keys=True))
    said = _make("refresh", f"WORK={work}", fails=True, JUPYTER_RUNTIME_DIR=str(runtime))
    assert "stop it first" in said and not list(work.glob("before-refresh-*")), said
    (runtime / f"jpserver-{os.getpid()}.json").unlink()
    _make("refresh", f"WORK={work}", JUPYTER_RUNTIME_DIR=str(runtime))
    assert len(list(work.glob("before-refresh-*"))) == 1


# [text](target) in markdown, and src="..." / href="..." in HTML
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)|(?:src|href)=\"([^\"]+)\"")


@needs_make
def test_every_relative_link_resolves_inside_the_working_copy(tmp_path):
    """Chapters link to ../exercises/..., errata.md and each other; exercises to ../chapters/...: in
    the lab, whose root is the working copy, each must open a file of the copy."""
    work = tmp_path / "w"
    _make("work", f"WORK={work}")
    broken, checked = [], 0
    for path in sorted(p for d in COURSE_DIRS for p in (work / d).rglob("*") if p.suffix in (".ipynb", ".md")):
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
        else:
            texts = [path.read_text()]
        for text in texts:
            for match in _LINK.finditer(text):
                target = (match.group(1) or match.group(2)).split("#")[0]
                if not target or re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("/"):
                    continue  # web links, mailto:, data:, in-page anchors
                resolved = (path.parent / target).resolve()
                checked += 1
                if work.resolve() not in resolved.parents or not resolved.exists():
                    broken.append(f"{path.relative_to(work)}: {target}")
    assert checked > 20, "the chapters link to each other and to their exercises"
    assert not broken, "links that leave the working copy or point at nothing:\n" + "\n".join(broken)


def _nbgrader_labextension():
    """The installed nbgrader lab extension's folder, or None."""
    found = sorted(Path(sys.prefix, "share", "jupyter", "labextensions").glob("*/nbgrader"))
    return found[0] if found else None


def test_the_course_config_turns_nbgrader_off_for_the_lab():
    """What Jupyter reads with JUPYTER_CONFIG_DIR=jupyter/ (as `make lab` and the browser tests run it),
    over the environment's own config, where nbgrader's installer turns its extensions on."""
    probe = r"""
import json
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_static_page_config
app = ServerApp()
app.load_config_file()
app.find_server_extensions()
print(json.dumps({"server": app.jpserver_extensions, "lab_app": dict(app.config.get("LabApp", {})),
                  "disabled": get_static_page_config().get("disabledExtensions", {})}))
"""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(ROOT / "jupyter"))
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    ours = json.loads((ROOT / "jupyter" / "jupyter_server_config.json").read_text())
    server_off = ours["ServerApp"]["jpserver_extensions"]
    assert set(server_off) == {f"nbgrader.server_extensions.{name}" for name in
                               ("formgrader", "assignment_list", "course_list", "validate_assignment")}
    assert not any(server_off.values())
    on = sorted(name for name, enabled in seen["server"].items() if "nbgrader" in name and enabled)
    assert not on, f"nbgrader server extensions still enabled for `make lab`: {on}"
    assert seen["lab_app"].get("custom_css") is True, "the course's custom.css (readable prose width)"

    disabled = seen["disabled"]
    assert isinstance(disabled, dict), "page_config.json: disabledExtensions as {id: true}, as JupyterLab writes it"
    assert disabled.get("@jupyter/nbgrader") is True, "the whole lab extension (all its plugins) is off"
    extension = _nbgrader_labextension()
    if extension is not None:  # every plugin id we name is one the installed extension has
        assert json.loads((extension / "package.json").read_text())["name"] == "@jupyter/nbgrader"
        code = "".join(p.read_text(errors="replace") for p in (extension / "static").glob("*.js"))
        plugins = set(re.findall(r'"(@jupyter/nbgrader:[\w-]+)"', code))
        named = {name for name in disabled if name.startswith("@jupyter/nbgrader:")}
        assert plugins and named == plugins, (f"plugins of the installed extension: {sorted(plugins)}; "
                                              f"disabled by name: {sorted(named)}")


def test_course_settings_cap_the_prose_width_and_silence_the_news():
    css = (ROOT / "jupyter" / "custom" / "custom.css").read_text()
    width = re.search(r"\.jp-MarkdownCell \.jp-RenderedMarkdown \{\s*max-width: (\d+)rem;", css)
    assert width and 30 <= int(width.group(1)) <= 50, "prose lines of 60-90 characters"
    overrides = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
