"""Every exercise, graded as an instructor grades it: the solution scores full, the blank 0, and a
typical wrong answer 0 with a message that names the mistake.

The typical mistakes are fixtures, one file per notebook in tests/mistakes/ (its README says how
they are written). Each notebook is graded in one `gradcourse grade` run: its blank student version and
its typical mistakes. That the solution scores full is nbval's run of solutions/ (`make test`): the
same cells, hidden tests included, in a fresh kernel, where every test cell must pass and write nothing
to stderr (nbgrader's autograder scores such a cell in full); tests/test_nbgrader_roundtrip.py grades
one notebook's solution with both nbgrader and `gradcourse grade` and finds full marks. A class per
notebook lets pytest-xdist share the notebooks out; each grades against a source folder of its own
notebook alone, so that `gradcourse grade` releases that one notebook, not all six.
"""
import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_solution

from gradcourse.instructor import cli
from gradcourse.instructor.grade import grade_id, is_test

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES, MISTAKES = ROOT / "solutions", ROOT / "exercises", Path(__file__).parent / "mistakes"
NOTEBOOKS = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))
KINDS = ("blank", "mistakes")


def mistakes_of(notebook):
    """{test cell: ({answer cell: wrong source}, phrase)} from tests/mistakes/<notebook>.py."""
    spec = importlib.util.spec_from_file_location(f"mistakes_{notebook}", MISTAKES / f"{notebook}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MISTAKES


def graded_cells(notebook):
    return [grade_id(c) for c in nbformat.read(SOLUTIONS / f"{notebook}.ipynb", as_version=4).cells
            if is_test(c)]


def with_mistakes(notebook):
    """The solutions notebook with every typical mistake of its fixture in place of the right answer."""
    nb = nbformat.read(SOLUTIONS / f"{notebook}.ipynb", as_version=4)
    answers = {}
    for test_cell, (replaced, _) in mistakes_of(notebook).items():
        for answer, source in replaced.items():
            assert answers.setdefault(answer, source) == source, f"{test_cell}: two wrong answers for {answer}"
    for cell in nb.cells:
        if grade_id(cell) in answers:
            assert is_solution(cell), f"{grade_id(cell)} is not an answer cell"
            cell.source = answers.pop(grade_id(cell))
    assert not answers, f"no answer cells {sorted(answers)} in {notebook}"
    return nbformat.writes(nb)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_test_cell_has_a_typical_mistake(notebook):
    assert (MISTAKES / f"{notebook}.py").exists(), f"tests/mistakes/{notebook}.py is missing"
    assert sorted(mistakes_of(notebook)) == sorted(graded_cells(notebook))


def grade_both(notebook, root):
    """{(kind, test cell): that cell's result} for the blank and the mistakes."""
    paths = []
    for kind in KINDS:
        (root / kind).mkdir()
        path = root / kind / f"{notebook}.ipynb"
        if kind == "mistakes":
            path.write_text(with_mistakes(notebook), encoding="utf-8")
        else:
            path.write_bytes((EXERCISES / path.name).read_bytes())
        paths.append(str(path))
    source = root / "source"
    source.mkdir()
    shutil.copyfile(SOLUTIONS / f"{notebook}.ipynb", source / f"{notebook}.ipynb")
    report = root / "report.json"
    assert cli.main(["grade", *paths, "--source", str(source), "--timeout", "120",
                     "--report", str(report)]) == 0
    results = json.loads(report.read_text(encoding="utf-8"))
    return {(kind, cell["grade_id"]): cell for kind, result in zip(KINDS, results) for cell in result["cells"]}


@pytest.fixture(scope="class")
def graded(request, tmp_path_factory):
    """The two gradings of the notebook of the test's class."""
    return grade_both(request.cls.notebook, tmp_path_factory.mktemp(request.cls.notebook))


class GradedNotebook:
    notebook = None

    def test_the_solution_scores_full(self):
        """nbval's run, whose stored outputs show every test cell passed, and wrote nothing to stderr
        (nbgrader scores a test cell that did, a warning say, 0)."""
        assert "solutions/*.ipynb" in (ROOT / "Makefile").read_text(encoding="utf-8")
        nb = nbformat.read(SOLUTIONS / f"{self.notebook}.ipynb", as_version=4)
        for cell in (c for c in nb.cells if is_test(c)):
            assert cell.outputs and all(o.output_type != "error" for o in cell.outputs), grade_id(cell)
            assert any("✓" in str(o.get("text", o.get("data", ""))) for o in cell.outputs), grade_id(cell)
            assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs), grade_id(cell)

    def test_the_blank_scores_zero(self, graded):
        for cell in graded_cells(self.notebook):
            assert (graded[("blank", cell)]["points"], graded[("blank", cell)]["status"]) == (0, "failed")

    def test_each_typical_mistake_scores_zero_and_is_named(self, graded):
        for cell, (_, phrase) in mistakes_of(self.notebook).items():
            result = graded[("mistakes", cell)]
            assert (result["points"], result["status"]) == (0, "failed"), (cell, result)
            assert phrase in result["reason"], (cell, phrase, result["reason"])


for _notebook in NOTEBOOKS:
    _name = "TestNotebook" + _notebook.split("_")[0]
    globals()[_name] = type(_name, (GradedNotebook,), {"notebook": _notebook})
