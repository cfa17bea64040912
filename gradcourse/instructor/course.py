"""nbgrader course folders: the one place that lays out `solutions/` the way nbgrader reads it.

nbgrader wants `source/<assignment>/<notebook>.ipynb` and a gradebook; gradcourse gives each
chapter's notebook its own assignment, named after the file (`01_background`). `lay_out` writes that
tree, `nbgrader_api` opens nbgrader's own API on it (a temporary course, or a real one), and `run`
turns nbgrader's log of a failed step into an error that says what went wrong.
"""
import contextlib
import functools
import os
import re
import sys
from pathlib import Path

import nbformat

COURSE_ID = "gradcourse"
# what a source cell keeps of its metadata: nbgrader's, and what the lab uses to lock a cell
KEPT_METADATA = ("nbgrader", "tags", "deletable", "editable")
NBGRADER_CONFIG = '''\
# nbgrader's configuration for the gradcourse exercises (written by `gradcourse nbgrader-course`).
# One assignment per chapter: source/<assignment>/<assignment>.ipynb. The autograder's kernel must be
# able to `import gradcourse`: install the course (`pip install -e .`) where nbgrader runs.
c = get_config()
c.CourseDirectory.course_id = "{course_id}"
c.Execute.timeout = {timeout}            # seconds per cell; a casebook repair trains a small network
c.OverwriteCells.add_missing_cells = True  # a deleted test cell is put back, and scores as it runs
'''


class CourseError(Exception):
    """A step of building or grading could not be done; the message says which and why."""


def require_nbgrader():
    """Import nbgrader, or say how to install it (only instructors need it)."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise CourseError("this command needs nbgrader: install the instructor extra, "
                          "pip install -e '.[instructor]'") from None


def assignments(solutions):
    """{assignment name: solutions notebook path}, one assignment per notebook in `solutions`."""
    paths = sorted(Path(solutions).glob("*.ipynb"))
    if not paths:
        raise CourseError(f"no notebooks in {solutions}: pass the solutions folder with --source")
    return {path.stem: path for path in paths}


def source_notebook(path):
    """A solutions notebook as nbgrader's source: its cells without outputs' run metadata.

    Only the metadata in KEPT_METADATA stays (not the execution timestamps that running it left),
    and nbgrader metadata only on cells that are graded, answers or locked.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata = {key: value for key, value in cell.metadata.items() if key in KEPT_METADATA}
        meta = cell.metadata.get("nbgrader", {})
        if not any(meta.get(flag) for flag in ("grade", "solution", "locked", "task")):
            cell.metadata.pop("nbgrader", None)
    return nb


def lay_out(solutions, root, timeout=120):
    """Write an nbgrader course at `root`: source/<assignment>/<assignment>.ipynb and nbgrader_config.py.

    Returns the assignment names, in order.
    """
    root = Path(root)
    names = assignments(solutions)
    for name, path in names.items():
        folder = root / "source" / name
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(path), folder / f"{name}.ipynb")
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(course_id=COURSE_ID, timeout=timeout),
                                             encoding="utf-8")
    return list(names)


def config(root, **settings):
    """nbgrader's configuration for the course at `root`: {"Execute.timeout": 60, ...} on top of the
    defaults of NBGRADER_CONFIG, with the exchange kept inside the course folder."""
    from traitlets.config import Config

    root = Path(root).resolve()
    base = {"CourseDirectory.root": str(root), "CourseDirectory.course_id": COURSE_ID,
            "Exchange.root": str(root / "exchange"), "OverwriteCells.add_missing_cells": True}
    result = Config()
    for key, value in {**base, **settings}.items():
        section, name = key.split(".")
        result[section][name] = value
    return result


@contextlib.contextmanager
def nbgrader_api(root, **settings):
    """nbgrader's API on the course at `root`.

    nbgrader runs the `alembic` command of its own environment to upgrade a gradebook, so that
    environment's bin folder goes on PATH while it works, even when gradcourse was started without
    activating it; the schema's revision comes from `alembic_head` instead of a command per gradebook.
    """
    require_nbgrader()
    from nbgrader.apps import NbGraderAPI

    import nbgrader.api

    bin_dir = str(Path(sys.executable).parent)
    old_path, old_version = os.environ.get("PATH", ""), nbgrader.api.get_alembic_version
    os.environ["PATH"] = bin_dir + os.pathsep + old_path
    nbgrader.api.get_alembic_version = alembic_head
    try:
        yield NbGraderAPI(config=config(root, **settings))
    finally:
        os.environ["PATH"] = old_path
        nbgrader.api.get_alembic_version = old_version


@functools.cache
def alembic_head():
    """The gradebook schema's newest revision, from alembic's API in this process.

    nbgrader asks the same question by running the `alembic` command each time it opens a gradebook
    (3.5 to 6 s of CPU for a grading run); the answer never changes while gradcourse runs.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    settings = AlembicConfig()
    settings.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(settings).get_current_head()


def run(step, what):
    """Check the result of an nbgrader API call; CourseError with nbgrader's own error lines if it failed."""
    if step.get("success"):
        return step
    log = step.get("log", "")
    errors = [re.sub(r"^\[ERROR\]\s*", "", line) for line in log.splitlines()
              if line.startswith("[ERROR]") and "see the the above traceback" not in line
              and "There was an error processing" not in line and "Traceback (most recent" not in line]
    tracebacks = re.findall(r"^\s+(\w[\w.]*(?:Error|Exception|Exit)\b.*)$", log, re.M)  # each one's last line
    detail = "; ".join((errors + tracebacks[-1:])[:3])
    if not detail:
        detail = (step.get("error") or "nbgrader failed").strip().splitlines()[-1]
    raise CourseError(f"{what}: {detail}")


def released_notebook(root, name):
    return Path(root) / "release" / name / f"{name}.ipynb"
