"""A tiny course to grade: two small exercises and a written answer, in nbgrader's source format.

Grading starts a kernel per submission, so the grader's tests grade this notebook, not a chapter:
`fixture.ipynb` asks for double(x) (2 points) and square(x) (1 point), each with a visible and a
hidden test, and one written answer (1 point, graded by hand). `extra.ipynb` is a second notebook
that shares only the `setup` cell's grade_id with it, as the chapters do, so that matching a renamed
submission to its source has a choice to make.

A submission is written here as a student hands it in: nbgrader's release (the answers replaced by
`raise NotImplementedError()`, the hidden tests removed) with some cells answered or changed.
"""
import copy
import json
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[ \t]*\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN_TESTS = re.compile(r"\n?^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.S | re.M)

RIGHT = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x * x"}
WRONG = {"double": "def double(x):\n    return x", "square": "def square(x):\n    return x + x"}
# the message of each exercise's first visible test, which a wrong answer above fails
VISIBLE_FAILURE = {"double-tests": "double(3) should be 6", "square-tests": "square(3) should be 9"}
HIDDEN_FAILURE = {"double-tests": "double(-4) should be -8", "square-tests": "square(-2) should be 4"}
WRITTEN = "Because 2x = x + x: adding a number to itself doubles it."


def nbgrader_cell(kind, source, grade_id=None, points=None):
    """A cell with nbgrader's metadata: "solution" (code to write), "test" (graded, locked), "answer"
    (a written answer, graded by hand) or "locked"."""
    meta = {"schema_version": 3, "grade": False, "solution": False, "locked": False}
    if kind == "solution":
        meta.update(solution=True, grade_id=grade_id)
    elif kind == "test":
        meta.update(grade=True, locked=True, grade_id=grade_id, points=points)
    elif kind == "answer":
        meta.update(grade=True, solution=True, grade_id=grade_id, points=points)
    elif kind == "locked":
        meta.update(locked=True, grade_id=grade_id)
    make = new_markdown_cell if kind == "answer" else new_code_cell
    return make(source, metadata={"nbgrader": meta})


def solution(name, body):
    return nbgrader_cell("solution", f"def {name}(x):\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION", name)


def tests(name, visible, hidden, points):
    """A test cell: an assert on `visible` ((argument, expected)), then one hidden in nbgrader's region."""
    (x, want), (hx, hwant) = visible, hidden
    return nbgrader_cell("test", f'assert {name}({x}) == {want}, "{name}({x}) should be {want}"\n'
                                 f"### BEGIN HIDDEN TESTS\n"
                                 f'assert {name}({hx}) == {hwant}, "{name}({hx}) should be {hwant}"\n'
                                 f"### END HIDDEN TESTS", f"{name}-tests", points)


def fixture_source():
    """The solutions notebook: setup, double (2 points), square (1 point), a written answer (1 point)."""
    return new_notebook(cells=[
        nbgrader_cell("locked", "import math", "setup"),
        solution("double", "return 2 * x"),
        tests("double", (3, 6), (-4, -8), 2),
        solution("square", "return x ** 2"),
        tests("square", (3, 9), (-2, 4), 1),
        nbgrader_cell("answer", "### BEGIN SOLUTION\nIt adds x to itself.\n### END SOLUTION", "why", 1),
    ], metadata=KERNEL)


def extra_source():
    """A second solutions notebook, which shares only its `setup` grade_id with the fixture."""
    return new_notebook(cells=[
        nbgrader_cell("locked", "import math", "setup"),
        solution("triple", "return 3 * x"),
        tests("triple", (2, 6), (-1, -3), 1),
    ], metadata=KERNEL)


def write_sources(folder, extra=False):
    """Write fixture.ipynb (and extra.ipynb) into `folder`, a solutions folder; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(fixture_source(), folder / "fixture.ipynb")
    if extra:
        nbformat.write(extra_source(), folder / "extra.ipynb")
    return folder


def points(source=None):
    """{grade_id: points} of the graded cells, and the automatic and hand-graded totals."""
    cells = [c for c in (source or fixture_source()).cells if c.metadata["nbgrader"].get("grade")]
    by_id = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in cells}
    automatic = sum(c.metadata["nbgrader"]["points"] for c in cells if c.cell_type == "code")
    return by_id, automatic, sum(by_id.values()) - automatic


def student_version(source=None):
    """The release a student gets, as nbgrader writes it: answers replaced, hidden tests removed."""
    nb = copy.deepcopy(source or fixture_source())
    for cell in nb.cells:
        placeholder = (r"\1YOUR ANSWER HERE" if cell.cell_type == "markdown"
                       else r"\1# YOUR CODE HERE\n\1raise NotImplementedError()")
        cell.source = HIDDEN_TESTS.sub("", SOLUTION.sub(placeholder, cell.source))
    return nb


def cell_of(nb, grade_id):
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def submission(answers=(), mutate=None, written=None):
    """A submission's JSON text: the student version with `answers` ({grade_id: code}) in place,
    `written` as the written answer, then `mutate(nb)` applied to the notebook as a plain dict."""
    nb = student_version()
    for key, code in dict(answers).items():
        cell_of(nb, key).source = code
    if written is not None:
        cell_of(nb, "why").source = written
    nb = json.loads(nbformat.writes(nb))
    if mutate:
        mutate(nb)
    return json.dumps(nb, indent=1)
