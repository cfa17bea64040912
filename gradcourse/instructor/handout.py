"""What students get (`gradcourse handout`), and an nbgrader course (`gradcourse nbgrader-course`).

The handout is the course without its answers: the chapters, the exercises as nbgrader releases
them (checksums included, so `nbgrader validate` notices an edited test), the package, and a short
README for students. It never contains `solutions/`, a solution region or a hidden test:
`handout` checks what it wrote before it returns.
"""
import json
import shutil
import subprocess
from pathlib import Path

import nbformat

from .build import build
from .course import CourseError, lay_out

COPIED = ("chapters", "gradcourse", "jupyter", "pyproject.toml", "environment.yml", "Makefile", "LICENSE")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")

STUDENT_README = """\
# gradcourse: why gradients vanish or explode, measured

Your copy of the course: the chapters to read and run, and the exercise notebooks to hand in.

```bash
make lab      # first time: creates .venv and installs the course (a few minutes); then opens JupyterLab
```

Without make: `python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/jupyter lab`.

- `chapters/` holds the course, starting at `chapters/00_start_here.ipynb`.
- `exercises/` holds one notebook of exercises per chapter. Write your code where a cell says
  `# YOUR CODE HERE`, run it, then run the test cell below it: a green line starting with ✓ means
  that test passed. The test cells are graded as they are, with more tests hidden in them, so change
  your code, not the tests (an edited test is put back before grading).
- Hand in the exercise notebooks as your instructor tells you, under their own file names.
"""

NBGRADER_README = """\
# gradcourse as an nbgrader course

One assignment per chapter, in `source/<assignment>/<assignment>.ipynb`. From this folder, with the
course installed (`pip install -e '<course checkout>[instructor]'`) so that the autograder's kernel
can `import gradcourse`:

```bash
nbgrader generate_assignment 01_background     # writes release/01_background/
nbgrader autograde 01_background               # grades submitted/<student>/01_background/
nbgrader generate_feedback 01_background
```

`nbgrader_config.py` sets the course id, a cell timeout that leaves time for the casebook's
training runs, and puts back test cells a student deleted. See the course README for a class on
JupyterHub.
"""


def _fresh(dest):
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise CourseError(f"{dest} exists and is not empty: choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def handout(dest, source="solutions"):
    """Write the students' copy of the course into the new folder `dest`; returns its path."""
    root = Path(source).resolve().parent
    dest = _fresh(dest)
    for path in _course_files(root):
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / path, dest / path)
    build(source, dest / "exercises")
    (dest / "README.md").write_text(STUDENT_README, encoding="utf-8")
    check_handout(dest, source)
    return dest


def _course_files(root):
    """The files of COPIED, relative to `root`: those git tracks in a checkout (not a lab's local
    state or a student's working copy), otherwise every file but caches."""
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", *COPIED], capture_output=True,
                                check=True).stdout.decode().split("\0")
        return [Path(name) for name in listed if name and (root / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for name in COPIED:
            top = root / name
            candidates = [top] if top.is_file() else top.rglob("*")
            files += [p.relative_to(root) for p in candidates if p.is_file() and not _ignored(p)]
        return files


def _ignored(path):
    return any(part in ("__pycache__", ".ipynb_checkpoints") or part.endswith(".egg-info") for part in path.parts)


def check_handout(dest, source="solutions"):
    """CourseError if `dest` holds a solutions folder, or a notebook or markdown file holds a solution or
    hidden-test marker or a line of a hidden test."""
    hidden = _hidden_test_lines(source)
    for path in Path(dest).rglob("*"):
        if path.is_dir() and path.name == "solutions":
            raise CourseError(f"the handout holds a solutions folder: {path}")
        if not path.is_file() or path.suffix not in (".ipynb", ".md"):
            continue  # (the package's checkers are the students' to read: the hidden tests' inputs are not)
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb" and any(marker in text for marker in MARKERS):
            raise CourseError(f"the handout's {path} holds a solution or hidden-test marker")
        if path.suffix == ".ipynb":
            text = _notebook_text(text)
        leaked = [line for line in hidden if line in text]
        if leaked:
            raise CourseError(f"the handout's {path} holds a line of a hidden test: {leaked[0]!r}")


def _notebook_text(text):
    """Every string of a notebook, as the lab shows it: in the file's JSON a line with a quote or a
    backslash (an assert message, say) is escaped, and would go unnoticed."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return "\n".join(found)


def _hidden_test_lines(source):
    """The lines of the hidden tests in the solutions notebooks that appear nowhere else in them (an
    import a hidden test shares with the visible code is no secret)."""
    hidden, visible = set(), set()
    for path in Path(source).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            outside, *regions = cell.source.split(MARKERS[2])
            visible |= _lines(outside)
            for region in regions:
                body, _, after = region.partition(MARKERS[3])
                hidden |= _lines(body)
                visible |= _lines(after)
    return hidden - visible


def _lines(text):
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 25}


def nbgrader_course(dest, source="solutions"):
    """Lay out an nbgrader course in the new folder `dest`; returns its path."""
    dest = _fresh(dest)
    lay_out(source, dest)
    (dest / "README.md").write_text(NBGRADER_README, encoding="utf-8")
    return dest
