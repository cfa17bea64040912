"""The solutions are nbgrader sources, the student notebooks are nbgrader's release of them, nothing
secret leaks into those, and answers that reach for the checkers or the course's code score 0.

The grader's behaviour on broken and cheating submissions is tested on a tiny notebook in
tests/test_grading_faults.py and tests/test_grading_limits.py; tests/test_exercise_grading.py grades
every real notebook (blank, typical mistakes); tests/test_nbgrader_roundtrip.py runs nbgrader's own
command line. Here the real notebooks are checked as files, built once, and three of them graded once.
"""
import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.utils import compute_checksum, is_grade, is_locked, is_solution

from gradcourse.instructor import cli

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
PATHS = sorted(SOLUTIONS.glob("*.ipynb"))
REGIONS = {"solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
           "hidden tests": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")}


def read(path):
    return nbformat.read(path, as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_test(cell):
    """A cell scored by running it (nbgrader: graded, not an answer, code)."""
    return is_grade(cell) and not is_solution(cell) and cell.cell_type == "code"


def region_lines(source, kind):
    """The lines strictly inside every `kind` region of a cell's source, stripped."""
    begin, end = REGIONS[kind]
    inside, lines = False, []
    for line in source.split("\n"):
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


# ----- the source format ---------------------------------------------------------------------
def test_there_are_six_solutions_notebooks():
    assert [p.name[:3] for p in PATHS] == [f"0{i}_" for i in range(1, 7)]
    assert [p.name for p in PATHS] == sorted(p.name for p in EXERCISES.glob("*.ipynb"))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_solutions_are_valid_nbgrader_sources(path):
    """nbgrader's own validator accepts every cell, and each exercise is a solution cell followed by
    its test cell, which calls a checker in its visible part and holds hidden tests."""
    nb = read(path)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)  # schema 3, grade_ids, points, no duplicate ids: ValidationError
    tests = [c for c in nb.cells if is_test(c)]
    assert len(tests) >= 2
    for test in tests:
        before = nb.cells[nb.cells.index(test) - 1]
        assert is_solution(before) and REGIONS["solution"][0] in before.source, grade_id(test)
        if "check_cause(" not in test.source:  # (a cause is named right or not: nothing to hide)
            assert REGIONS["hidden tests"][0] in test.source, grade_id(test)
        assert "check_" in test.source.split(REGIONS["hidden tests"][0])[0], grade_id(test)
    # a cell that is none of these carries no nbgrader metadata: nbgrader 0.9's autograde, asked to put
    # back deleted cells, stops with KeyError 'grade_id' on such a cell in the notebook it grades
    for number, cell in enumerate(nb.cells, start=1):
        if "nbgrader" in cell.metadata:
            assert any(cell.metadata.nbgrader.get(flag) for flag in ("grade", "solution", "locked", "task")), number


def imported(source):
    return {alias.asname or alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_each_test_cell_imports_the_checkers_it_calls(path):
    """So that a checker's name rebound in an answer cell is imported afresh before the test runs.

    The hidden tests import the modules they use (np, gc, ...) again too.
    """
    cells = read(path).cells
    setup = next(c for c in cells if grade_id(c) == "setup")
    assert "check_" not in setup.source  # imported where it is used, not once for the whole notebook
    for cell in filter(is_test, cells):
        first = cell.source.split("\n")[0]
        called = set(re.findall(r"\bcheck_\w+(?=\()", cell.source))
        assert first.startswith("from gradcourse.exercises import "), f"{grade_id(cell)}: {first}"
        assert called and called <= set(first.split(" import ")[1].split(", ")), grade_id(cell)
        used = {node.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Name)}
        assert used & imported(setup.source) <= imported(cell.source), grade_id(cell)


# ----- the student notebooks: nbgrader's release ------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`gradcourse exercises build` into a new folder, once."""
    dest = tmp_path_factory.mktemp("exercises")
    assert cli.main(["exercises", "build", "--source", str(SOLUTIONS), "--dest", str(dest)]) == 0
    return dest


def test_the_build_is_the_committed_exercises_byte_for_byte(built):
    """The committed exercises/ were built earlier, in another temporary course: the same bytes now
    mean the build depends on the solutions alone (no dates, paths or ids), and exercises/ is current."""
    assert sorted(p.name for p in built.iterdir()) == sorted(p.name for p in EXERCISES.glob("*.ipynb"))
    for path in sorted(built.iterdir()):
        assert path.read_bytes() == (EXERCISES / path.name).read_bytes(), \
            f"exercises/{path.name} is stale: run `make exercises` (gradcourse exercises build)"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_exercises_have_every_answer_blank_and_no_output(path):
    exercise = read(EXERCISES / path.name)
    assert [grade_id(c) for c in exercise.cells] == [grade_id(c) for c in read(path).cells]
    for cell in exercise.cells:
        if is_solution(cell) and cell.cell_type == "code":
            assert "# YOUR CODE HERE" in cell.source and "raise NotImplementedError()" in cell.source, grade_id(cell)
        elif is_solution(cell):
            assert cell.source == "YOUR ANSWER HERE", grade_id(cell)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, grade_id(cell)


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_graded_or_locked_cell_of_the_exercises_has_its_checksum(path):
    """The checksum nbgrader records, and `nbgrader validate` compares, to notice an edited test."""
    cells = [c for c in read(path).cells if is_grade(c) or is_solution(c) or is_locked(c)]
    assert any(is_test(c) for c in cells)
    for cell in cells:
        assert cell.metadata.nbgrader.get("checksum") == compute_checksum(cell), grade_id(cell)
        if is_test(cell) or is_locked(cell):
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False


TRIVIAL = {"", "return", "pass", "else:", "break", "continue", "try:", "return x", "return out"}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_answer_or_hidden_test_leaks_into_the_exercises(path):
    """Every line that only the solution and hidden-test regions hold is absent from the exercises.

    Lines that also stand outside the regions (the buggy code that chapter 4 asks to repair shares
    lines with its repair) are shown to students on purpose; trivially short lines are skipped.
    """
    exercise_text = (EXERCISES / path.name).read_text(encoding="utf-8")
    exercise_lines = {line.strip() for c in read(EXERCISES / path.name).cells for line in c.source.split("\n")}
    secret, public = set(), set()
    for cell in read(path).cells:
        inside = {line for kind in REGIONS for line in region_lines(cell.source, kind)}
        secret |= inside
        public |= {line.strip() for line in cell.source.split("\n")} - inside
    assert secret, "no solution or hidden-test lines found: is the source format still nbgrader's?"
    for line in sorted(secret - public):
        if line in TRIVIAL or len(line) < 8:
            continue
        assert line not in exercise_lines, f"{path.name}: {line!r} leaks into the exercises"
        assert len(line) < 25 or json.dumps(line)[1:-1] not in exercise_text, \
            f"{path.name}: {line!r} leaks into the exercises"
    for marker in (marker for pair in REGIONS.values() for marker in pair):
        assert marker not in exercise_text


# ----- what a student sees in Jupyter -----------------------------------------------------------
def test_in_a_kernel_a_failed_check_is_a_short_block_and_a_pass_is_rich_output():
    right = "lambda a: float(np.mean(np.all(a == 0, axis=0)))"
    wrong = "lambda a: float(np.mean(a == 0))"
    nb = new_notebook(cells=[
        new_code_cell(f"import numpy as np\nfrom gradcourse.exercises import check_dead_relu_fraction\n"
                      f"check_dead_relu_fraction({right})"),
        new_code_cell(f"check_dead_relu_fraction({wrong})"),
        new_code_cell("def dead_relu_fraction(a):\n    return undefined_name\n\n\n"
                      "check_dead_relu_fraction(dead_relu_fraction)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, allow_errors=True).execute()
    (passed,), (error,), (own_bug,) = (cell.outputs for cell in nb.cells)
    # a ✓ is rich output: green HTML in Jupyter, the same line as text/plain (which nbval compares)
    assert passed.output_type == "display_data"
    assert passed.data["text/plain"] == ("✓ dead_relu_fraction: 2 of 5 units are zero on every example -> 0.4; "
                                         "1 of 3 units are zero on every example -> 0.333")
    assert "✓ dead_relu_fraction" in passed.data["text/html"] and "#2e7d32" in passed.data["text/html"]
    # a failure is still an error (nbgrader scores the cell 0) ...
    assert error.output_type == "error" and error.ename == "ExerciseError" and "zero entries" in error.evalue
    assert error.evalue.startswith("expected 0.4 (2 of 5 units")
    # ... shown as a short block: the message, no traceback through the checker and its reference values
    assert "✗" in error.traceback[0] and len(error.traceback) <= 5, error.traceback
    shown = "\n".join(error.traceback)
    for checker_code in ("gradcourse/exercises/", "File ", "np.all(per_unit == 0", "Traceback"):
        assert checker_code not in shown
    # a bug in your own code keeps its traceback, through your lines only: the checker's frames are hidden
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(own_bug.traceback))  # (without the colours)
    assert own_bug.ename == "NameError" and "return undefined_name" in shown and "skipping hidden" in shown
    assert "gradcourse/exercises/" not in shown and "np.all(per_unit == 0" not in shown


# ----- answers within reach of the checkers or the course's code --------------------------------
def answered(notebook, answers):
    """The student version of `notebook` with the answer cells named in `answers` filled in."""
    nb = read(EXERCISES / notebook)
    assert {grade_id(c) for c in nb.cells} >= set(answers)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nbformat.writes(nb)


# Submissions that scored full marks before the checkers, and the grader's reset before each test
# cell, kept the answers out of reach. Each answer below is wrong.
ADVERSARIAL = {
    # rebinding the checkers' names in an answer cell; passing the course's own function as the answer
    "02_core_concepts.ipynb": answered("02_core_concepts.ipynb", {
        "sigmoid": "def sigmoid(x):\n    raise NotImplementedError()\n\n\n"
                   "check_sigmoid_forward = check_sigmoid_backward = lambda *args, **kwargs: print('✓ right')",
        "jacobian-spectrum": "jacobian_singular_values = gc.diagnostics.jacobian_singular_values",
    }),
    # patching the checkers' module or the casebook from an answer cell
    "04_worked_example.ipynb": answered("04_worked_example.ipynb", {
        "regression-loss": "import gradcourse.exercises as _ex\n_ex.check_regression_loss = lambda *a, **k: print('✓')\n"
                           "def regression_loss(pred, target):\n    return ((pred - target) ** 2).mean()",
        "case1-cause": "casebook._is_cause = lambda case, name: True\ncause1 = 'dead_relu'",
        "case1": "casebook.threshold = lambda case: 0.0\nlr = 3.0",
        "case2": "from gradcourse.casebook import _runs\n_runs._finish = lambda model, losses, seed: _runs.Run(model, losses, 0.99)\n"
                 "def repair(model):\n    pass",
    }),
    # importing the checkers' private reference; calling the course's own code from an answer
    "06_faq.ipynb": answered("06_faq.ipynb", {
        "lr-range-test": "from gradcourse.exercises import _range_test\n\n\n"
                         "def lr_range_test(step_fn, lr_min, lr_max, steps, diverge_factor=4.0):\n"
                         "    return _range_test(step_fn, lr_min, lr_max, steps, diverge_factor)",
        "suggest-lr": "from gradcourse.lr_finder import suggest\n\n\ndef suggest_lr(lrs, losses):\n"
                      "    return suggest(lrs, np.where(np.isfinite(losses), losses, np.inf))[0]",
    }),
}


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    for name, text in ADVERSARIAL.items():
        (root / name).write_text(text, encoding="utf-8")
    report = root / "report.json"
    assert cli.main(["grade", *map(str, sorted(root.glob("*.ipynb"))), "--source", str(SOLUTIONS),
                     "--timeout", "60", "--report", str(report)]) == 0
    results = json.loads(report.read_text(encoding="utf-8"))
    return {(r["notebook"], c["grade_id"]): c for r in results for c in r["cells"]}


@pytest.mark.parametrize("notebook, exercise, reason", [
    ("02_core_concepts.ipynb", "sigmoid-tests", "sigmoid is not written yet"),  # the rebinding changed nothing
    ("02_core_concepts.ipynb", "jacobian-spectrum-tests",
     "is gradcourse.diagnostics.jacobian_singular_values, the course's own code"),
    ("04_worked_example.ipynb", "regression-loss-tests", "broadcasts to a matrix"),
    ("04_worked_example.ipynb", "case1-cause-tests", "is not what went wrong in case 1"),
    ("04_worked_example.ipynb", "case1-tests", "no smaller than the rate case 1 was run at"),
    ("04_worked_example.ipynb", "case2-tests", "still 0"),
    ("06_faq.ipynb", "lr-range-test-tests", "cannot import name '_range_test' from 'gradcourse.exercises'"),
    ("06_faq.ipynb", "suggest-lr-tests", "runs gradcourse.lr_finder.suggest, the course's own code"),
])
def test_an_answer_within_reach_scores_zero(adversarial, notebook, exercise, reason):
    cell = adversarial[(notebook, exercise)]
    assert (cell["points"], cell["status"]) == (0, "failed")
    assert reason in cell["reason"], cell["reason"]
