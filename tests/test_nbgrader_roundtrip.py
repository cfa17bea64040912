"""A real nbgrader round trip on the course `gradcourse nbgrader-course` lays out, with nbgrader's own
command line: generate_assignment, autograde, generate_feedback and validate, as an instructor runs them.

It protects the promise that the course works with plain nbgrader, not only through `gradcourse`:
the releases nbgrader writes are the committed exercises/, nbgrader's scores are `gradcourse grade`'s,
an edited test does not help, and `nbgrader validate` tells a student who edited a test.

Three students hand in ONE chapter, 01_background, to keep the time small: it is the fastest
notebook to run (a few small training steps, no casebook repair), and what is checked here (the
course layout, the config, the gradebook) is the same for every chapter; tests/test_exercise_grading.py
grades every chapter through `gradcourse grade`. Everything runs once, in the module's fixture.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from gradcourse.instructor import cli
from gradcourse.instructor.grade import grade_id, is_test, nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
CHAPTERS = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))
GRADED = "01_background"
STUDENTS = ("solution", "blank", "edited")
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def read(path):
    return nbformat.read(path, as_version=4)


def start_nbgrader(folder, *args):
    """`python -m nbgrader ARGS` started in `folder`, with this environment's bin on PATH (nbgrader
    runs `alembic` to create its gradebook), its log and output in one unbuffered stream, in order;
    `finish` waits for it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process):
    """The output of a started nbgrader command; fails the test with it if the command failed."""
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"{' '.join(process.args[1:])} failed:\n{output}"
    return output


def nbgrader(folder, *args):
    return finish(start_nbgrader(folder, *args))


def validations(output):
    """{notebook path: what `nbgrader validate` said of it}, from its INFO log's "Validating '<path>'" lines."""
    found, current = {}, None
    for line in output.splitlines():
        started = re.search(r"\| INFO\] Validating '(.+)'$", line)
        if started:
            current = found.setdefault(Path(started[1]).resolve(), [])
        elif current is not None:
            current.append(line)
    return {path: "\n".join(said) for path, said in found.items()}


def edited_release(release, solutions):
    """The blank release with its tests edited: the first exercise answered (with the solutions' code)
    and its test cell deleted, every other test cell replaced by `pass`.

    Returns (notebook, grade_id of the deleted test cell, number of tests replaced).
    """
    nb = read(release)
    answers = {grade_id(c): c.source for c in read(solutions).cells if nbgrader_meta(c).get("solution")}
    first = next(c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    first.source = MARKER.sub("", answers[grade_id(first)])
    tests = [c for c in nb.cells if is_test(c)]
    deleted = next(c for c in nb.cells[nb.cells.index(first):] if is_test(c))
    nb.cells.remove(deleted)
    for cell in tests:
        if cell is not deleted:
            cell.source = "pass"
    return nb, grade_id(deleted), len(tests) - 1


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The whole round trip, run once: lay out, release, hand in, autograde, feedback, validate, and
    `gradcourse grade` on the same three submissions."""
    tmp = tmp_path_factory.mktemp("roundtrip")
    root = tmp / "course"
    assert cli.main(["nbgrader-course", str(root), "--source", str(SOLUTIONS)]) == 0
    nbgrader(root, "generate_assignment", "*")

    release = root / "release" / GRADED / f"{GRADED}.ipynb"
    # the solutions notebook as the course's source/ holds it: solutions/ without run metadata and without
    # the empty nbgrader metadata of its ungraded cells (on a cell with nbgrader metadata but no grade_id,
    # nbgrader 0.9.6's autograde fails with add_missing_cells on: KeyError 'grade_id')
    source = root / "source" / GRADED / f"{GRADED}.ipynb"
    edited, deleted_test, replaced = edited_release(release, SOLUTIONS / f"{GRADED}.ipynb")
    submitted = {}
    for student in STUDENTS:
        path = root / "submitted" / student / GRADED / f"{GRADED}.ipynb"
        path.parent.mkdir(parents=True)
        if student == "edited":
            nbformat.write(edited, path)
        else:
            shutil.copyfile(source if student == "solution" else release, path)
        submitted[student] = path
    # the tamper check, as a student runs it, meanwhile (validate only reads the submissions)
    validating = start_nbgrader(root / "submitted", "validate", "--ValidateApp.log_level=INFO",
                                *(str(submitted[s].relative_to(root / "submitted")) for s in ("edited", "blank")))
    try:
        nbgrader(root, "autograde", GRADED)
        nbgrader(root, "generate_feedback", GRADED)

        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
            scores = {}
            for student in STUDENTS:
                notebook = gradebook.find_submission_notebook(GRADED, GRADED, student)
                scores[student] = ({g.name: g.auto_score for g in notebook.grades}, notebook.score, notebook.max_score)

        # `gradcourse grade` on the same files, against a source folder of this chapter alone (the others
        # would only make it release five more notebooks)
        (tmp / "solutions").mkdir()
        shutil.copyfile(SOLUTIONS / f"{GRADED}.ipynb", tmp / "solutions" / f"{GRADED}.ipynb")
        report = tmp / "report.json"
        assert cli.main(["grade", *(str(submitted[s]) for s in STUDENTS), "--source", str(tmp / "solutions"),
                         "--report", str(report)]) == 0
        ours = dict(zip(STUDENTS, json.loads(report.read_text(encoding="utf-8"))))

        said = validations(finish(validating))
        validated = {student: said[submitted[student].resolve()] for student in ("edited", "blank")}
    finally:
        if validating.returncode is None:  # a step above failed: let validate end (and stop its kernels)
            validating.communicate(timeout=600)
    return SimpleNamespace(root=root, scores=scores, ours=ours, validated=validated,
                           deleted_test=deleted_test, replaced=replaced)


def test_nbgrader_course_lays_out_one_assignment_per_chapter(course):
    """Each chapter is an assignment source/<chapter>/<chapter>.ipynb, and nbgrader's config is there."""
    assert sorted(p.name for p in (course.root / "source").iterdir()) == CHAPTERS
    for chapter in CHAPTERS:
        assert [p.name for p in (course.root / "source" / chapter).iterdir()] == [f"{chapter}.ipynb"]
    config = (course.root / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "c.CourseDirectory.course_id" in config and "c.OverwriteCells.add_missing_cells = True" in config


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_nbgrader_releases_the_committed_exercises(course, chapter):
    """nbgrader's generate_assignment, run by hand on the course, writes exactly the committed
    exercises/, which are what `gradcourse exercises build` writes (tests/test_grading.py; the
    handout's build in tests/test_handout.py): the same cells, sources and nbgrader metadata
    (checksums included), and the same bytes."""
    released = course.root / "release" / chapter / f"{chapter}.ipynb"
    committed = EXERCISES / f"{chapter}.ipynb"
    ours, theirs = read(released), read(committed)
    assert len(ours.cells) == len(theirs.cells)
    for number, (a, b) in enumerate(zip(ours.cells, theirs.cells), start=1):
        assert (a.cell_type, a.source, nbgrader_meta(a)) == (b.cell_type, b.source, nbgrader_meta(b)), \
            f"{chapter}, cell {number}"
    assert released.read_bytes() == committed.read_bytes()


def test_the_solution_scores_full_and_the_blank_zero_in_nbgrader(course):
    """The two ends of the scale, scored by nbgrader itself: every test cell full, and every one 0."""
    cells, score, max_score = course.scores["solution"]
    assert cells and score == max_score > 0, cells
    cells, score, max_score = course.scores["blank"]
    assert set(cells.values()) == {0} and score == 0 < max_score, cells


def test_edited_tests_do_not_help_in_nbgrader(course):
    """nbgrader puts back the tests a student replaced by `pass` (the unanswered exercises score 0, as
    in the blank) and the one they deleted (the answered exercise scores full only if it ran)."""
    cells, _, _ = course.scores["edited"]
    full, _, _ = course.scores["solution"]
    blank, _, _ = course.scores["blank"]
    assert set(cells) == set(full)
    expected = {key: full[key] if key == course.deleted_test else blank[key] for key in full}
    assert cells == expected
    assert full[course.deleted_test] > 0


@pytest.mark.parametrize("student", STUDENTS)
def test_gradcourse_grade_scores_as_nbgrader_does(course, student):
    """`gradcourse grade` gives the points nbgrader's gradebook holds, cell by cell and in total."""
    cells, score, max_score = course.scores[student]
    ours = course.ours[student]
    assert {c["grade_id"]: c["points"] for c in ours["cells"]} == cells
    assert (ours["score"], ours["max_score"]) == (score, max_score)


@pytest.mark.parametrize("student", STUDENTS)
def test_nbgrader_writes_feedback_with_the_score(course, student):
    """generate_feedback writes an HTML page per student that states the gradebook's score."""
    page = course.root / "feedback" / student / GRADED / f"{GRADED}.html"
    assert page.is_file()
    _, score, max_score = course.scores[student]
    assert f"Score: {score:.1f} / {max_score:.1f})" in page.read_text(encoding="utf-8")  # its heading


def test_nbgrader_validate_reports_edited_tests(course):
    """The tamper check: `nbgrader validate` on the edited notebook names the changed test cells (by
    their checksums), and on the unedited blank release it reports failing tests, not changed ones."""
    edited, blank = course.validated["edited"], course.validated["blank"]
    assert f"THE CONTENTS OF {course.replaced} TEST CELL(S) HAVE CHANGED!" in edited, edited
    assert "HAVE CHANGED" not in blank and "VALIDATION FAILED" in blank, blank
