"""The student notebooks are built from the solutions without leaking them, and grading is robust.

Grading starts real kernels, so the pathological submissions are graded together, once, against a
tiny notebook built here; tests/test_exercise_grading.py grades every real notebook (solution, blank,
typical mistakes); here three exercise notebooks are graded with answers that reach for the course's
code instead of the student's.
"""
import ast
import csv
import json
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gradcourse import cli, grading

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
REGIONS = (grading.SOLUTION_REGION, grading.HIDDEN_TESTS_REGION)


def read(path):
    return nbformat.read(path, as_version=4)


# ----- the source format ---------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_solutions_are_valid_nbgrader_sources(path):
    nb = read(path)
    grading.check_nbgrader_metadata(nb, path.name)
    nbformat.validate(nb)
    tests = [c for c in nb.cells if grading.is_test(c)]
    assert len(tests) >= 2
    for test in tests:  # each test cell follows its solution cell, and holds hidden tests
        before = nb.cells[nb.cells.index(test) - 1]
        assert grading.is_solution(before) and grading.SOLUTION_REGION[0] in before.source
        if "check_cause(" not in test.source:  # (a cause is named right or not: nothing to hide)
            assert grading.HIDDEN_TESTS_REGION[0] in test.source
        assert "check_" in test.source.split(grading.HIDDEN_TESTS_REGION[0])[0]


def test_there_are_six_solutions_notebooks():
    assert [p.name[:3] for p in sorted(SOLUTIONS.glob("*.ipynb"))] == [f"0{i}_" for i in range(1, 7)]


def nbgrader_cell(kind, source, grade_id=None, points=None):
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


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(extra=1), "unexpected nbgrader keys"),
    (lambda m: m.pop("locked"), "needs schema_version 3"),
    (lambda m: m.pop("grade_id"), "needs a grade_id"),
    (lambda m: m.pop("points"), "needs points"),
])
def test_invalid_nbgrader_metadata_is_refused(change, message):
    cell = nbgrader_cell("test", "assert True", "t", 1)
    change(cell.metadata["nbgrader"])
    with pytest.raises(grading.SourceError, match=message):
        grading.check_nbgrader_metadata(new_notebook(cells=[cell]))


def test_duplicate_grade_ids_are_refused():
    cells = [nbgrader_cell("test", "pass", "same", 1), nbgrader_cell("test", "pass", "same", 1)]
    with pytest.raises(grading.SourceError, match="used twice"):
        grading.check_nbgrader_metadata(new_notebook(cells=cells))


# ----- building the student version ----------------------------------------------------------
def test_student_version_replaces_answers_and_removes_hidden_tests():
    solution = nbgrader_cell("solution", "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                             "f")
    solution.outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    solution.execution_count = 3
    test = nbgrader_cell("test", "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n"
                                 "### END HIDDEN TESTS", "f-tests", 1)
    answer = nbgrader_cell("answer", "### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "why", 1)
    nb = new_notebook(cells=[solution, test, answer], metadata={"widgets": {"state": {}}})
    student = grading.student_version(nb)
    assert student.cells[0].source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert student.cells[0].outputs == [] and student.cells[0].execution_count is None
    assert student.cells[1].source == "assert f(1) == 2"
    assert student.cells[2].source == "YOUR ANSWER HERE"
    assert "widgets" not in student.metadata
    assert student.cells[1].metadata["editable"] is False
    assert "return 2 * x" in nb.cells[0].source  # the source is left as it was


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without '### END SOLUTION'"),
    ("x = 1\n### END SOLUTION", "without '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another region"),
])
def test_unbalanced_markers_are_refused(source, message):
    nb = new_notebook(cells=[nbgrader_cell("solution", source, "s")])
    with pytest.raises(grading.SourceError, match=message):
        grading.student_version(nb)


def test_regions_in_the_wrong_kind_of_cell_are_refused():
    hidden_in_solution = nbgrader_cell("solution", "### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS", "s")
    with pytest.raises(grading.SourceError, match="not graded"):
        grading.student_version(new_notebook(cells=[hidden_in_solution]))
    answer_in_plain_cell = new_code_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")
    with pytest.raises(grading.SourceError, match="not marked as a solution"):
        grading.student_version(new_notebook(cells=[answer_in_plain_cell]))


def test_build_is_deterministic_and_matches_the_committed_exercises(tmp_path):
    first = grading.build(SOLUTIONS, tmp_path / "first")
    second = grading.build(SOLUTIONS, tmp_path / "second")
    assert [p.name for p in first] == sorted(p.name for p in EXERCISES.glob("*.ipynb"))
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
        committed = json.loads((EXERCISES / a.name).read_text(encoding="utf-8"))
        assert json.loads(a.read_text(encoding="utf-8")) == committed, \
            f"exercises/{a.name} is stale: run `make exercises` (gradcourse exercises build)"


def region_lines(source, markers):
    lines = source.split("\n")
    return [lines[i].strip() for begin, end in grading._regions(lines, markers, "test")
            for i in range(begin + 1, end)]


TRIVIAL = {"", "return", "pass", "else:", "break", "continue", "try:", "return x", "return out"}


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_answer_or_hidden_test_leaks_into_the_exercises(path):
    """Every line that only the solution and hidden-test regions hold is absent from the exercises.

    Lines that also stand outside the regions (the buggy code that chapter 4 asks to repair shares
    lines with its repair) are shown to students on purpose; trivially short lines are skipped.
    """
    source = read(path)
    exercise_text = (EXERCISES / path.name).read_text(encoding="utf-8")
    exercise_lines = {line.strip() for c in read(EXERCISES / path.name).cells for line in c.source.split("\n")}
    secret, public = set(), set()
    for cell in source.cells:
        inside = {line for markers in REGIONS for line in region_lines(cell.source, markers)}
        secret |= inside
        public |= {line.strip() for line in cell.source.split("\n")} - inside
    for line in sorted(secret - public):
        if line in TRIVIAL or len(line) < 8:
            continue
        assert line not in exercise_lines, f"{path.name}: {line!r} leaks into the exercises"
        assert len(line) < 25 or json.dumps(line)[1:-1] not in exercise_text, \
            f"{path.name}: {line!r} leaks into the exercises"


def test_cli_build_writes_the_exercises(tmp_path, capsys):
    assert cli.main(["exercises", "build", "--source", str(SOLUTIONS), "--dest", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(list(tmp_path.glob("*.ipynb"))) == 6


# ----- grading: a tiny course notebook and pathological submissions --------------------------
def fixture_source():
    """A one-exercise solutions notebook: double(x), a visible test, a hidden test, a written answer."""
    return new_notebook(cells=[
        nbgrader_cell("locked", "import math", "setup"),
        nbgrader_cell("solution", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      "double"),
        nbgrader_cell("test", 'assert double(3) == 6, "double(3) should be 6"\n### BEGIN HIDDEN TESTS\n'
                              'assert double(-4) == -8, "double(-4) should be -8"\n### END HIDDEN TESTS',
                      "double-tests", 2),
        nbgrader_cell("answer", "### BEGIN SOLUTION\nIt adds x to itself.\n### END SOLUTION", "why", 1),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def submission(answer_code, test_code=None):
    """The student version of the fixture, with the answer (and perhaps the test cell) replaced."""
    nb = grading.student_version(fixture_source())
    nb.cells[1].source = answer_code
    if test_code is not None:
        nb.cells[2].source = test_code
    return grading.notebook_text(nb)


SUBMISSIONS = {
    "fixture-good.ipynb": submission("def double(x):\n    return x + x"),
    "fixture-edited-test.ipynb": submission("def double(x):\n    return x", test_code="pass"),
    "fixture-only-visible.ipynb": submission("def double(x):\n    return 6 if x == 3 else 0"),
    "fixture-loop.ipynb": submission("while True:\n    pass"),
    "fixture-stubborn.ipynb": submission("import time\nwhile True:\n    try:\n        time.sleep(10)\n"
                                         "    except KeyboardInterrupt:\n        pass"),
    "fixture-flood.ipynb": submission("def double(x):\n    print('x' * 2_000_000)\n    return 2 * x"),
    "fixture-not-json.ipynb": '{"cells": [ this is not json',
    "fixture-unchanged.ipynb": submission("# YOUR CODE HERE\nraise NotImplementedError()"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    source = root / "source"
    source.mkdir()
    nbformat.write(fixture_source(), source / "fixture.ipynb")
    paths = []
    for name, text in SUBMISSIONS.items():
        paths.append(root / name)
        paths[-1].write_text(text, encoding="utf-8")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    printed = []
    results = grading.grade(paths, source=source, timeout=2, report=root / "report.csv", echo=printed.append)
    return SimpleNamespace(results={r.notebook: r for r in results}, before=before, root=root,
                           printed="\n".join(printed), report=root / "report.csv")


def test_a_correct_submission_gets_every_automatic_point(graded):
    result = graded.results["fixture-good.ipynb"]
    assert (result.score, result.max_score, result.manual_points) == (2, 2, 1)
    assert [c.status for c in result.cells] == ["passed", "manual"]
    assert result.source == "fixture.ipynb"


def test_editing_a_test_away_does_not_help(graded):
    cell = graded.results["fixture-edited-test.ipynb"].cells[0]
    assert (cell.points, cell.status) == (0, "failed")
    assert "double(3) should be 6" in cell.reason


def test_hidden_tests_run_when_grading(graded):
    cell = graded.results["fixture-only-visible.ipynb"].cells[0]
    assert cell.points == 0 and "double(-4) should be -8" in cell.reason


def test_an_endless_loop_times_out_and_the_rest_still_runs(graded):
    result = graded.results["fixture-loop.ipynb"]
    assert result.score == 0
    assert "timed out after 2 s" in result.cells[0].reason and "NameError" in result.cells[0].reason
    assert graded.results["fixture-good.ipynb"].score == 2  # graded after it


def test_a_loop_that_swallows_the_interrupt_stops_the_notebook(graded):
    result = graded.results["fixture-stubborn.ipynb"]
    assert result.score == 0
    assert "ignored the interrupt" in result.cells[0].reason


def test_huge_output_fails_the_cell(graded):
    cell = graded.results["fixture-flood.ipynb"].cells[0]
    assert cell.points == 0 and "printed too much output" in cell.reason


def test_invalid_json_gets_zero_and_a_reason(graded):
    result = graded.results["fixture-not-json.ipynb"]
    assert result.source == "fixture.ipynb" and result.score == 0 and result.max_score == 2
    assert "not valid notebook JSON" in result.cells[0].reason


def test_the_unchanged_student_version_scores_zero(graded):
    cell = graded.results["fixture-unchanged.ipynb"].cells[0]
    assert cell.points == 0 and "NotImplementedError" in cell.reason


def test_submitted_files_are_never_modified(graded):
    for path, (data, mtime) in graded.before.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in graded.root.iterdir()) == sorted([*SUBMISSIONS, "source", "report.csv"])


def test_the_table_shows_points_per_exercise_and_the_total(graded):
    assert re.search(r"fixture-good\.ipynb \(checked against fixture\.ipynb\)\n.*\n  double-tests +2 / 2  passed",
                     graded.printed)
    assert "(+ 1 points to grade by hand)" in graded.printed
    assert re.search(r"summary\n(.*\n)*  fixture-loop\.ipynb +0 / 2", graded.printed)


def test_the_csv_report_has_one_row_per_graded_cell(graded):
    with graded.report.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == grading.REPORT_COLUMNS
    assert len(rows) == 2 * len(SUBMISSIONS)
    good = [r for r in rows if r["notebook"] == "fixture-good.ipynb"]
    assert [(r["exercise"], r["points"], r["max_points"], r["status"]) for r in good] == [
        ("double-tests", "2", "2", "passed"), ("why", "", "1", "manual")]


def test_the_json_report_has_scores_and_reasons(graded, tmp_path):
    grading.write_report(list(graded.results.values()), tmp_path / "report.json")
    report = {r["notebook"]: r for r in json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))}
    assert report["fixture-good.ipynb"]["score"] == 2 and report["fixture-good.ipynb"]["max_score"] == 2
    assert "printed too much output" in report["fixture-flood.ipynb"]["cells"][0]["reason"]


def test_cli_grade_writes_a_json_report(tmp_path, capsys):
    broken = tmp_path / "01_background.ipynb"
    broken.write_text("not a notebook", encoding="utf-8")
    report = tmp_path / "scores.json"
    assert cli.main(["grade", str(broken), "--source", str(SOLUTIONS), "--report", str(report)]) == 0
    assert "not valid notebook JSON" in capsys.readouterr().out
    assert json.loads(report.read_text(encoding="utf-8"))[0]["score"] == 0


def test_a_deleted_test_cell_is_put_back():
    source = fixture_source()
    student = grading.student_version(source)
    del student.cells[2]
    assembled = grading.assemble(student, source)
    assert [grading.grade_id(c) for c in assembled.cells] == ["setup", "double", "double-tests", "why"]
    assert "BEGIN HIDDEN TESTS" in assembled.cells[2].source


# ----- grading the real notebooks: tests/test_exercise_grading.py grades every one ----------
def test_cli_grade_explains_a_missing_solutions_folder(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "a.ipynb"), "--source", str(tmp_path / "nowhere")]) == 1
    assert "no solutions notebooks" in capsys.readouterr().err


# ----- what a student sees in Jupyter, and what a grader sees --------------------------------
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def test_in_a_kernel_a_failed_check_is_a_short_block_and_a_pass_is_rich_output(tmp_path):
    right = "lambda a: float(np.mean(np.all(a == 0, axis=0)))"
    wrong = "lambda a: float(np.mean(a == 0))"
    nb = new_notebook(cells=[
        new_code_cell(f"import numpy as np\nfrom gradcourse.exercises import check_dead_relu_fraction\n"
                      f"check_dead_relu_fraction({right})"),
        new_code_cell(f"check_dead_relu_fraction({wrong})"),
        new_code_cell("def dead_relu_fraction(a):\n    return undefined_name\n\n\n"
                      "check_dead_relu_fraction(dead_relu_fraction)"),
    ], metadata=KERNEL)
    problems = grading.run_cells(nb, tmp_path)
    (passed,), (error,), (own_bug,) = (cell.outputs for cell in nb.cells)
    # a ✓ is rich output: green HTML in Jupyter, the same line as text/plain (which nbval compares)
    assert passed.output_type == "display_data"
    assert passed.data["text/plain"] == ("✓ dead_relu_fraction: 2 of 5 units are zero on every example -> 0.4; "
                                         "1 of 3 units are zero on every example -> 0.333")
    assert "✓ dead_relu_fraction" in passed.data["text/html"] and "#2e7d32" in passed.data["text/html"]
    # a failure is still an error (nbgrader and `gradcourse grade` count the cell failed) ...
    assert error.output_type == "error" and error.ename == "ExerciseError" and "zero entries" in error.evalue
    assert list(problems) == [1, 2] and problems[1].startswith("ExerciseError: expected 0.4 (2 of 5 units")
    # ... shown as a short block: the message, no traceback through the checker and its reference values
    assert "✗" in error.traceback[0] and len(error.traceback) <= 5, error.traceback
    shown = "\n".join(error.traceback)
    for checker_code in ("gradcourse/exercises/", "File ", "np.all(per_unit == 0", "Traceback"):
        assert checker_code not in shown
    # a bug in your own code keeps its traceback, through your lines only: the checker's frames are hidden
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(own_bug.traceback))  # (without the colours)
    assert own_bug.ename == "NameError" and "return undefined_name" in shown and "skipping hidden" in shown
    assert "gradcourse/exercises/" not in shown and "np.all(per_unit == 0" not in shown


def imported_names(source):
    return {alias.asname or alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_each_test_cell_imports_the_checkers_it_calls(path):
    """So that a checker's name rebound in an answer cell is imported afresh before the test runs.

    The hidden tests import the modules they use (np, gc, ...) again too.
    """
    setup = [c for c in read(path).cells if grading.grade_id(c) == "setup"][0]
    assert "check_" not in setup.source  # imported where it is used, not once for the whole notebook
    for cell in read(path).cells:
        if not grading.is_test(cell):
            continue
        first = cell.source.split("\n")[0]
        called = set(re.findall(r"\bcheck_\w+(?=\()", cell.source))
        assert first.startswith("from gradcourse.exercises import "), f"{grading.grade_id(cell)}: {first}"
        assert called and called <= set(first.split(" import ")[1].split(", ")), grading.grade_id(cell)
        used = {node.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Name)}
        assert used & imported_names(setup.source) <= imported_names(cell.source), grading.grade_id(cell)


def answered(notebook, answers):
    """The student version of `notebook` with the answer cells named in `answers` filled in."""
    nb = read(EXERCISES / notebook)
    for cell in nb.cells:
        if grading.grade_id(cell) in answers:
            cell.source = answers[grading.grade_id(cell)]
    assert {grading.grade_id(c) for c in nb.cells} >= set(answers)
    return grading.notebook_text(nb)


# Submissions that scored full marks before the checkers kept the answers out of reach
ADVERSARIAL = {
    "02_core_concepts.ipynb": answered("02_core_concepts.ipynb", {
        "sigmoid": "def sigmoid(x):\n    raise NotImplementedError()\n\n\n"
                   "check_sigmoid_forward = check_sigmoid_backward = lambda *args, **kwargs: print('✓ right')",
    }),
    "03_algorithms.ipynb": answered("03_algorithms.ipynb", {
        "cosine-lr": "def cosine_lr(t, lr_max, total_steps, lr_min=0.0):\n"
                     "    return gc.schedules.CosineAnnealing(lr_max, total_steps, min_lr=lr_min)(t)",
        "clip-grad-norm": "clip_grad_norm = gc.optim.clip_grad_norm_",
    }),
    # patching the checkers or the casebook from an answer cell (each answer below is wrong)
    "04_worked_example.ipynb": answered("04_worked_example.ipynb", {
        "regression-loss": "import gradcourse.exercises as _ex\n_ex.check_regression_loss = lambda *a, **k: print('✓')\n"
                           "def regression_loss(pred, target):\n    return ((pred - target) ** 2).mean()",
        "case1-cause": "casebook._is_cause = lambda case, name: True\ncause1 = 'dead_relu'",
        "case1": "casebook.threshold = lambda case: 0.0\nlr = 3.0",
        "case2": "from gradcourse.casebook import _runs\n_runs._finish = lambda model, losses, seed: _runs.Run(model, losses, 0.99)\n"
                 "def repair(model):\n    pass",
    }),
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
                     "--timeout", "30", "--report", str(report)]) == 0
    results = json.loads(report.read_text(encoding="utf-8"))
    return {(r["notebook"], c["grade_id"]): c for r in results for c in r["cells"]}


@pytest.mark.parametrize("notebook, exercise, reason", [
    ("02_core_concepts.ipynb", "sigmoid-tests", "sigmoid is not written yet"),  # the rebinding changed nothing
    ("03_algorithms.ipynb", "cosine-lr-tests", "runs gradcourse.schedules.CosineAnnealing, the course's own code"),
    ("03_algorithms.ipynb", "clip-grad-norm-tests", "is gradcourse.optim.clip_grad_norm_, the course's own code"),
    ("06_faq.ipynb", "lr-range-test-tests", "cannot import name '_range_test' from 'gradcourse.exercises'"),
    ("06_faq.ipynb", "suggest-lr-tests", "runs gradcourse.lr_finder.suggest, the course's own code"),
    ("04_worked_example.ipynb", "regression-loss-tests", "broadcasts to a matrix"),
    ("04_worked_example.ipynb", "case1-cause-tests", "is not what went wrong in case 1"),
    ("04_worked_example.ipynb", "case1-tests", "no smaller than the rate case 1 was run at"),
    ("04_worked_example.ipynb", "case2-tests", "still 0"),
])
def test_an_answer_within_reach_scores_zero(adversarial, notebook, exercise, reason):
    cell = adversarial[(notebook, exercise)]
    assert (cell["points"], cell["status"]) == (0, "failed")
    assert reason in cell["reason"], cell["reason"]
