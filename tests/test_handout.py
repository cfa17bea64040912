"""`gradcourse handout DEST`: what students get (the chapters, the exercises as nbgrader releases them,
the package, a README for students), and never an answer: no solutions folder, no solution region,
no hidden test. Also `gradcourse nbgrader-course` refusing a folder in use (its course is checked by
tests/test_nbgrader_roundtrip.py).

The answers a handout must not hold are computed here from solutions/, independently of
handout.py's own check: the lines of every hidden-test region, and the distinctive lines of every
solution region, that appear nowhere else in the solutions notebooks. One handout is written for the
whole module.
"""
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gradcourse.instructor import cli
from gradcourse.instructor.course import CourseError
from gradcourse.instructor.grade import nbgrader_meta
from gradcourse.instructor.handout import check_handout

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES, CHAPTERS = ROOT / "solutions", ROOT / "exercises", ROOT / "chapters"
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$", re.S | re.M)
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
DISTINCTIVE = 25  # characters: a shorter answer line (`return x`) may well be in the notebook's own code


def read(path):
    return nbformat.read(path, as_version=4)


def lines(text):
    return {line.strip() for line in text.splitlines() if line.strip()}


def secret_lines(region, min_length=1):
    """The lines of `region`'s regions in the solutions notebooks that appear nowhere outside them
    (an `import numpy as np` a hidden test shares with the setup cell is no secret)."""
    inside, outside = set(), set()
    for path in SOLUTIONS.glob("*.ipynb"):
        for cell in read(path).cells:
            inside |= lines("\n".join(region.findall(cell.source)))
            outside |= lines(region.sub("", cell.source))
    return {line for line in inside - outside if len(line) >= min_length}


HIDDEN_LINES = secret_lines(HIDDEN_TESTS)
ANSWER_LINES = secret_lines(SOLUTION, min_length=DISTINCTIVE + 1)


def strings(value):
    """Every string in a JSON value (a notebook: its sources, outputs and metadata)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def file_lines(path):
    """The stripped lines of a file: of every string in it for a notebook, of its text otherwise."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        text = "\n".join(strings(json.loads(text)))
    return lines(text)


def snapshot(folder):
    return {path.relative_to(folder): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    dest = tmp_path_factory.mktemp("handout") / "course"
    assert cli.main(["handout", str(dest), "--source", str(SOLUTIONS)]) == 0
    return dest


def test_the_secrets_to_look_for_are_there():
    """Guards the leak tests below against passing on nothing: every solutions notebook has hidden
    tests and answers of its own to look for."""
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        text = "\n".join(cell.source for cell in read(path).cells)
        assert lines("\n".join(HIDDEN_TESTS.findall(text))) & HIDDEN_LINES, path.name
        assert lines("\n".join(SOLUTION.findall(text))) & ANSWER_LINES, path.name


def test_the_handout_holds_the_chapters_the_exercises_and_a_student_readme(handout):
    """Every chapter as it is; every exercise notebook as nbgrader releases it (the committed
    exercises/, byte for byte); a README that tells students how to start and what to hand in."""
    for path in CHAPTERS.glob("*.ipynb"):
        assert (handout / "chapters" / path.name).read_bytes() == path.read_bytes(), path.name
    assert sorted(p.name for p in (handout / "exercises").iterdir()) == sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))
    for path in (handout / "exercises").iterdir():
        assert path.read_bytes() == (EXERCISES / path.name).read_bytes(), path.name
    readme = (handout / "README.md").read_text(encoding="utf-8")
    assert "make lab" in readme and "chapters/00_start_here.ipynb" in readme and "exercises/" in readme
    assert readme != (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_graded_or_locked_exercise_cell_carries_its_nbgrader_checksum(handout):
    """The checksums let `nbgrader validate` tell a student who edited a test: each one must be
    there and be nbgrader's checksum of the cell as handed out."""
    from nbgrader.utils import compute_checksum

    checked = 0
    for path in sorted((handout / "exercises").glob("*.ipynb")):
        for number, cell in enumerate(read(path).cells, start=1):
            meta = nbgrader_meta(cell)
            if meta.get("grade") or meta.get("solution") or meta.get("locked"):
                assert meta.get("checksum") == compute_checksum(cell), f"{path.name}, cell {number}"
                checked += 1
    assert checked > 0


def test_the_handout_holds_every_package_its_pyproject_installs(handout):
    """Else `pip install -e .` (the student's `make lab`) fails. The handout copies the files git tracks:
    a package added but not yet committed is missing from it."""
    packages = tomllib.loads((handout / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    missing = [name for name in packages if not (handout / name.replace(".", "/") / "__init__.py").is_file()]
    assert not missing, f"the handout lacks the packages {missing} that pyproject.toml installs"


def test_the_exercises_imports_run_from_the_handouts_package(handout):
    """The exercise notebooks' imports (the checkers, the casebook, ...) all run, from the handout's
    own copy of the package."""
    imports = set()
    for path in (handout / "exercises").glob("*.ipynb"):
        for cell in (c for c in read(path).cells if c.cell_type == "code"):
            imports |= set(re.findall(r"^[ \t]*((?:from|import) gradcourse\b.*)$", cell.source, re.M))
    assert any("gradcourse.exercises" in line for line in imports)
    code = "\n".join(["import gradcourse", *sorted(imports), "print(gradcourse.__file__)"])
    done = subprocess.run([sys.executable, "-c", code], cwd=handout, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == (handout / "gradcourse" / "__init__.py").resolve()


def test_the_handout_has_no_solutions_folder_and_no_marker_in_any_notebook(handout):
    """No solutions/ anywhere, and no notebook with a solution or hidden-test region left in it."""
    for path in handout.rglob("*"):
        assert not (path.is_dir() and path.name == "solutions"), path
        if path.suffix == ".ipynb":
            text = path.read_text(encoding="utf-8")
            assert not any(marker in text for marker in MARKERS), path


def test_no_line_of_a_hidden_test_is_in_any_file_of_the_handout(handout):
    """Every file (notebooks, the package, the README, ...), line by line."""
    for path in (p for p in handout.rglob("*") if p.is_file()):
        leaked = file_lines(path) & HIDDEN_LINES
        assert not leaked, f"{path.relative_to(handout)} holds hidden-test lines: {sorted(leaked)[:3]}"


def test_no_answer_is_in_any_exercise_notebook(handout):
    """No distinctive line of any solution region is in the exercise notebooks students hand in."""
    for path in (handout / "exercises").glob("*.ipynb"):
        leaked = file_lines(path) & ANSWER_LINES
        assert not leaked, f"exercises/{path.name} holds answer lines: {sorted(leaked)[:3]}"


def test_a_second_handout_into_the_same_folder_fails_and_changes_nothing(handout, capsys):
    before = snapshot(handout)
    assert cli.main(["handout", str(handout), "--source", str(SOLUTIONS)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err
    assert snapshot(handout) == before


def plant_hidden_test_line(dest):
    """A hidden test's line quoted in a chapter; one with a double quote, which the notebook's JSON escapes."""
    path = dest / "chapters" / "01_background.ipynb"
    nb = read(path)
    line = max((line for line in HIDDEN_LINES if '"' in line), key=len)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"```python\n{line}\n```"))
    nbformat.write(nb, path)


def plant_solutions_folder(dest):
    shutil.copytree(SOLUTIONS, dest / "extra" / "solutions")


def plant_marker(dest):
    path = dest / "exercises" / "01_background.ipynb"
    nb = read(path)
    nb.cells.append(nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    nbformat.write(nb, path)


@pytest.mark.parametrize("plant, message", [(plant_hidden_test_line, "holds a line of a hidden test"),
                                            (plant_solutions_folder, "holds a solutions folder"),
                                            (plant_marker, "holds a solution or hidden-test marker")],
                         ids=["hidden-test-line", "solutions-folder", "marker"])
def test_check_handout_catches_a_planted_leak(handout, tmp_path, plant, message):
    """handout() checks what it wrote before it returns: that check must catch a leak."""
    copy = tmp_path / "course"
    shutil.copytree(handout, copy)
    check_handout(copy, SOLUTIONS)  # the handout as written passes
    plant(copy)
    with pytest.raises(CourseError, match=message):
        check_handout(copy, SOLUTIONS)


def test_nbgrader_course_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(tmp_path)
    assert cli.main(["nbgrader-course", str(tmp_path), "--source", str(SOLUTIONS)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
