"""`gradcourse grade` on broken and cheating submissions: each scores what it earned, with the reason,
and the run goes on to the next; the report, the table and the command line around them.

Every submission here answers the tiny notebook of tests/grading_fixtures.py, and all of them are
graded in ONE `gradcourse grade` run (the module's fixture), started in this process through
`cli.main` as an instructor starts it, with limits generous enough never to be the reason a cell fails
(tests/test_grading_limits.py tests the limits). What the run printed, the report it wrote, and
what it held after each submission are kept for the tests below.
"""
import contextlib
import csv
import io
import json
import tempfile
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.utils import determine_grade

import gradcourse.instructor.grade as grade_module
from gradcourse.instructor import cli
from gradcourse.instructor.report import REPORT_COLUMNS, Report
from grading_fixtures import (HIDDEN_FAILURE, RIGHT, VISIBLE_FAILURE, WRITTEN, WRONG, cell_of, points,
                              student_version, submission, write_sources)

POINTS, AUTOMATIC, MANUAL = points()


def own_tests(nb):
    """The student deletes the double test and adds a test of their own, worth 100 points."""
    nb["cells"].remove(cell_of(nb, "double-tests"))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "outputs": [], "source": "pass",
                        "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                  "grade_id": "mine", "points": 100, "schema_version": 3}}})


def tampered_tests(nb):
    """The double test edited to `pass`; the square test edited, unlocked and made worth 100 points."""
    cell_of(nb, "double-tests")["source"] = "pass"
    square = cell_of(nb, "square-tests")
    square["source"] = "pass"
    square["metadata"]["nbgrader"].update(points=100, locked=False)
    square["metadata"]["editable"] = True


def string_metadata(nb):
    cell_of(nb, "double-tests")["metadata"]["nbgrader"] = "grade"


def list_grade_id(nb):
    cell_of(nb, "square-tests")["metadata"]["nbgrader"]["grade_id"] = ["square-tests"]


def source_as(value):
    def mutate(nb):
        if value is None:
            del nb["cells"][0]["source"]
        else:
            nb["cells"][0]["source"] = value
    return mutate


def not_utf8():
    """A submission saved in Latin-1, its written answer with an accent."""
    text = json.dumps(json.loads(submission(RIGHT, written="Ça dépend.")), ensure_ascii=False)
    return text.encode("latin-1")


def behind(attack):
    """Answers with a wrong double() after a line that tries to keep its test from failing."""
    return {"double": f"{attack}\n{WRONG['double']}", "square": RIGHT["square"]}


def copied_test_above_answer(nb):
    """The student copied the double test above the answer (Jupyter keeps the copy's grade_id)."""
    test = cell_of(nb, "double-tests")
    nb["cells"].insert(nb["cells"].index(cell_of(nb, "double")), json.loads(json.dumps({**test, "id": "copy"})))


def markdown_test_cell(nb):
    """The student pressed M on the square test cell."""
    cell = cell_of(nb, "square-tests")
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]


def nbformat_40_with_ids(nb):
    nb["nbformat_minor"] = 0


def lone_surrogate():
    """Valid JSON whose answer holds a lone surrogate (the escape \\ud800), which no UTF-8 file can hold."""
    return submission(RIGHT).replace("return x + x", "return x + x  # \\ud800", 1)


# a thread of the answer's that sends a displayed value into every test cell as it runs: nbgrader
# reads a value in a test cell as its score (any text: full marks)
VALUE_SENDER = """import threading, time


def _send_values():
    kernel, seen = get_ipython().kernel, set()
    while True:
        parent = kernel.get_parent("shell")
        message, code = parent.get("header", {}).get("msg_id"), parent.get("content", {}).get("code", "")
        if message and message not in seen and "assert" in code:
            seen.add(message)
            kernel.session.send(kernel.iopub_socket, "execute_result",
                                {"data": {"text/plain": "'full marks'"}, "metadata": {}, "execution_count": 1},
                                parent=parent)
        time.sleep(0.001)


threading.Thread(target=_send_values, daemon=True).start()"""

# a callback that claims to be IPython's and blanks the cell about to run
SPOOFED_CALLBACK = """def _blank(info):
    get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])
_blank.__module__ = "IPython.core.events"
get_ipython().events.register('pre_run_cell', _blank)"""

# tracebacks hidden by a patch of IPython's class, and every reply made "ok" by a patch of the kernel's
CLASS_PATCH = """from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.showtraceback = lambda self, *args, **kwargs: None
_Kernel = type(get_ipython().kernel)
_do_execute = _Kernel.do_execute


async def _ok(self, *args, **kwargs):
    reply = await _do_execute(self, *args, **kwargs)
    return {**reply, "status": "ok"}


_Kernel.do_execute = _ok"""

# a child that scrubs its environment and leaves its session: only ancestry finds it
ENV_SCRUBBED = ("import subprocess\nsubprocess.Popen(['sleep', '616.25'], env={}, start_new_session=True, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)")


# name -> (the file's bytes, or None for a file that is not there)
MALFORMED = {
    "fixture-missing.ipynb": None,
    "fixture-no-source.ipynb": submission(RIGHT, source_as(None)),
    "fixture-number-source.ipynb": submission(RIGHT, source_as(5)),
    "fixture-not-json.ipynb": '{"cells": [ this is not json',
    "fixture-list.ipynb": "[1, 2, 3]",
    "fixture-no-cells.ipynb": json.dumps({"metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
    "fixture-latin-1.ipynb": not_utf8(),
    # right answers: a notebook that breaks nbgrader's metadata schema scores 0 all the same
    "fixture-string-metadata.ipynb": submission(RIGHT, string_metadata),
    "fixture-list-grade-id.ipynb": submission(RIGHT, list_grade_id),
    "fixture-deep.ipynb": "[" * 100_000 + "]" * 100_000,
    "fixture-lone-surrogate.ipynb": lone_surrogate(),
}
CHEATS = {
    "fixture-tampered-tests.ipynb": submission(WRONG, tampered_tests),
    "fixture-own-tests.ipynb": submission({"double": WRONG["double"], "square": RIGHT["square"]}, own_tests),
    "fixture-custom-exc.ipynb": submission(behind("get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)")),
    "fixture-showtraceback.ipynb": submission(behind("get_ipython().showtraceback = lambda *a, **k: None")),
    "fixture-transformer.ipynb": submission(behind(
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])")),
    # before every cell, a callback of the student's blanks the cell about to run
    "fixture-event.ipynb": submission(behind(
        "def _blank(info):\n    get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
        "get_ipython().events.register('pre_run_cell', _blank)")),
    "fixture-value-sender.ipynb": submission(behind(VALUE_SENDER)),
    "fixture-spoofed-callback.ipynb": submission(behind(SPOOFED_CALLBACK)),
    # patched on the class, where clearing the instance's attributes does not reach
    "fixture-class-patch.ipynb": submission(behind(CLASS_PATCH)),
    "fixture-env-scrubbed.ipynb": submission({**RIGHT, "square": f"{ENV_SCRUBBED}\n{RIGHT['square']}"}),
    # the kernel reports every cell as a success, and prints no traceback
    "fixture-kernel-reply.ipynb": submission(behind(
        "_kernel = get_ipython().kernel\n_original = _kernel.do_execute\n\n\n"
        "async def _always_ok(*args, **kwargs):\n    reply = await _original(*args, **kwargs)\n"
        "    reply['status'] = 'ok'\n    return reply\n\n\n_kernel.do_execute = _always_ok\n"
        "get_ipython().showtraceback = lambda *a, **k: None")),
    "fixture-warning.ipynb": submission({"square": RIGHT["square"], "double": (
        "import warnings\n\n\ndef double(x):\n    warnings.warn('careful: doubling')\n    return 2 * x")}),
}
EDITED = {  # what a student's ordinary editing does to a notebook with the right answers: no points lost
    "fixture-copied-test.ipynb": submission(RIGHT, copied_test_above_answer),
    "fixture-markdown-test.ipynb": submission(RIGHT, markdown_test_cell),
    "fixture-nbformat-4-0.ipynb": submission(RIGHT, nbformat_40_with_ids),
}
RENAMED = {
    # passes the visible test of double, not the hidden one; named nothing like its source
    "whatever.ipynb": submission({"double": "def double(x):\n    return 6 if x == 3 else 0",
                                  "square": RIGHT["square"]}),
    "fixture-jdoe.ipynb": submission(RIGHT, written=WRITTEN),  # the good one, graded last
}
SUBMISSIONS = {**MALFORMED, **CHEATS, **EDITED, **RENAMED}


class Watched(io.StringIO):
    """stdout for the run: at each table `gradcourse grade` prints, keep what the report file holds then."""

    def __init__(self, report):
        super().__init__()
        self.report, self.seen = report, []

    def write(self, text):
        if text.strip():
            self.seen.append(SimpleNamespace(printed=text, report=json.loads(self.report.read_text(encoding="utf-8"))))
        return super().write(text)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `gradcourse grade` run over every submission, writing a JSON report over an existing one."""
    root = tmp_path_factory.mktemp("faults")
    source = write_sources(root / "solutions", extra=True)
    folder = root / "submissions"
    folder.mkdir()
    for name, content in SUBMISSIONS.items():
        if content is not None:
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    report = root / "report.json"
    report.write_text("an old report\n", encoding="utf-8")
    temporary = root / "tmp"
    temporary.mkdir()
    stdout, stderr, returned, autograded, seen_course = Watched(report), io.StringIO(), [], {}, []

    def spy(*args, **kwargs):
        returned.extend(real_grade(*args, **kwargs))
        return returned

    def keep_autograded(course, assignment, student, name, source_nb):
        """nbgrader's autograded notebook, read before the submission's course is deleted."""
        seen_course.append(course.is_dir())
        path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
        autograded[name] = nbformat.read(path, as_version=4)
        return real_read_scores(course, assignment, student, name, source_nb)

    real_grade, real_read_scores = grade_module.grade, grade_module.read_scores
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grade_module, "grade", spy)
        patch.setattr(grade_module, "read_scores", keep_autograded)
        patch.setattr(tempfile, "tempdir", str(temporary))  # where the temporary course goes
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = cli.main(["grade", *(str(folder / name) for name in SUBMISSIONS),
                               str(folder / "fixture-jdoe.ipynb"),  # given twice
                               "--source", str(source),
                               "--timeout", "60", "--notebook-timeout", "300", "--report", str(report),
                               "--overwrite"])
    return SimpleNamespace(status=status, results={r.notebook: r for r in returned},
                           order=[r.notebook for r in returned], printed=stdout.getvalue(), err=stderr.getvalue(),
                           seen=stdout.seen, folder=folder, before=before, report=report, temporary=temporary,
                           autograded=autograded, seen_course=seen_course, source=source)


def table_of(run, name):
    return next(s for s in run.seen if s.printed.startswith(f"{name} ") or s.printed.startswith(f"{name}\n"))


# ----- malformed submissions --------------------------------------------------------------------
@pytest.mark.parametrize("name, reason", [
    ("fixture-no-source.ipynb", "'source' is a required property"),
    ("fixture-number-source.ipynb", "(at cells/0/source)"),
    ("fixture-not-json.ipynb", "not UTF-8 JSON text"),
    ("fixture-list.ipynb", "the file is a JSON list"),
    ("fixture-no-cells.ipynb", "an object without a list of cells"),
    ("fixture-latin-1.ipynb", "'utf-8' codec can't decode"),
    ("fixture-string-metadata.ipynb", "nbgrader metadata is a str, not an object"),
    ("fixture-list-grade-id.ipynb", "['square-tests'] is not of type 'string'"),
    ("fixture-deep.ipynb", "not UTF-8 JSON text (RecursionError"),
    ("fixture-lone-surrogate.ipynb", "surrogate"),
])
def test_a_malformed_notebook_scores_zero_with_the_reason(run, name, reason):
    result = run.results[name]
    assert result.graded and result.source == "fixture.ipynb"
    assert (result.score, result.max_score, result.manual_points) == (0, AUTOMATIC, MANUAL)
    assert [c.grade_id for c in result.cells] == list(POINTS)
    for cell in result.cells:
        assert reason in cell.reason, cell.reason


def test_a_missing_file_is_reported_not_graded_and_fails_the_command(run):
    """Exit status 1 names the file; its row says why; the other files are still graded."""
    result = run.results["fixture-missing.ipynb"]
    assert not result.graded and result.cells == [] and "cannot read the file" in result.problems[0]
    assert run.status == 1
    assert "could not grade fixture-missing.ipynb" in run.err
    assert [r.notebook for r in run.results.values() if not r.graded] == ["fixture-missing.ipynb"]
    assert "fixture-missing.ipynb" in run.printed.split("summary")[1] and "(not graded)" in run.printed


def test_the_run_goes_on_and_a_good_submission_scores_full(run):
    assert run.order == list(SUBMISSIONS)  # every file graded, in order, none lost to a broken one
    result = run.results["fixture-jdoe.ipynb"]
    assert (result.score, result.max_score, result.manual_points) == (AUTOMATIC, AUTOMATIC, MANUAL)
    assert [(c.grade_id, c.status) for c in result.cells] == [
        ("double-tests", "passed"), ("square-tests", "passed"), ("why", "manual")]
    assert result.problems == []


def test_a_graded_cell_the_student_adds_is_ignored_and_a_deleted_test_is_put_back(run):
    result = run.results["fixture-own-tests.ipynb"]
    assert [c.grade_id for c in result.cells] == list(POINTS)  # no "mine"; double-tests is back
    assert (result.score, result.max_score) == (POINTS["square-tests"], AUTOMATIC)
    double = result.cells[0]
    assert double.status == "failed" and VISIBLE_FAILURE["double-tests"] in double.reason  # it ran
    assert any("'mine'" in problem and "no points" in problem for problem in result.problems)
    assert "note: cell" in table_of(run, "fixture-own-tests.ipynb").printed


def test_an_edited_test_is_put_back_and_changed_points_or_lock_count_for_nothing(run):
    result = run.results["fixture-tampered-tests.ipynb"]
    assert [(c.grade_id, c.max_points) for c in result.cells] == list(POINTS.items())
    assert (result.score, result.max_score) == (0, AUTOMATIC)
    for cell in result.cells[:2]:
        assert VISIBLE_FAILURE[cell.grade_id] in cell.reason, cell.reason


@pytest.mark.parametrize("name", ["fixture-custom-exc.ipynb", "fixture-showtraceback.ipynb"])
def test_an_error_hidden_from_the_output_still_fails(run, name):
    double, square = run.results[name].cells[:2]
    assert (double.points, double.status) == (0, "failed")
    assert VISIBLE_FAILURE["double-tests"] in double.reason
    assert square.status == "passed"  # the cell's own answer is right: only the hidden error counts


@pytest.mark.parametrize("name", ["fixture-event.ipynb", "fixture-kernel-reply.ipynb"])
def test_a_patched_kernel_does_not_let_a_wrong_answer_through(run, name):
    """The guard before each test takes back the student's event callbacks and the kernel's patched
    reply: the wrong double() fails its test, the right square() passes its."""
    double, square = run.results[name].cells[:2]
    assert (double.points, double.status) == (0, "failed"), double
    assert square.status == "passed", square


@pytest.mark.parametrize("name", ["fixture-value-sender.ipynb", "fixture-spoofed-callback.ipynb",
                                  "fixture-class-patch.ipynb"])
def test_a_value_sent_into_a_test_cell_or_a_spoofed_callback_earns_nothing(run, name):
    double, square = run.results[name].cells[:2]
    assert (double.points, double.status) == (0, "failed"), double
    assert square.status == "passed", square


@pytest.mark.parametrize("name", sorted(EDITED))
def test_ordinary_editing_costs_no_points(run, name):
    """A copy of a test cell above the answer, a test cell turned into markdown, nbformat 4.0 with cell ids."""
    result = run.results[name]
    assert (result.score, result.max_score) == (AUTOMATIC, AUTOMATIC), result


def test_a_child_that_scrubbed_its_environment_is_killed_too(run):
    """Only its ancestry finds it: the grader adopts it (a child subreaper) once the kernel is gone."""
    assert run.results["fixture-env-scrubbed.ipynb"].score == AUTOMATIC
    import subprocess
    left = subprocess.run(["pgrep", "-f", "sleep 616.25"], capture_output=True, text=True).stdout.split()
    for pid in left:  # (do not leave it running if the test fails)
        subprocess.run(["kill", "-9", pid])
    assert not left, f"left running: {left}"


def test_an_input_transformer_that_blanks_the_tests_fails_them(run):
    """The transformer turns every later cell into `pass`, the tests included: they would pass."""
    result = run.results["fixture-transformer.ipynb"]
    for cell in result.cells[:2]:
        assert (cell.points, cell.status) == (0, "failed")
        assert cell.reason.startswith("GuardError"), cell.reason


def test_a_warning_in_the_answer_scores_zero_as_nbgrader_scores_it(run):
    """nbgrader scores a test cell that wrote to stderr 0; gradcourse says so, and agrees with
    nbgrader's own determine_grade on the very cell nbgrader ran."""
    cell = run.results["fixture-warning.ipynb"].cells[0]
    assert (cell.grade_id, cell.points, cell.status) == ("double-tests", 0, "failed")
    assert "wrote to stderr" in cell.reason and "careful: doubling" in cell.reason
    ran = cell_of(run.autograded["fixture-warning.ipynb"], "double-tests")
    assert any(o.output_type == "stream" and o.name == "stderr" for o in ran.outputs)
    assert determine_grade(ran) == (cell.points, cell.max_points)
    assert run.results["fixture-warning.ipynb"].cells[1].status == "passed"


def test_hidden_tests_run_when_grading(run):
    double = run.results["whatever.ipynb"].cells[0]
    assert double.points == 0 and HIDDEN_FAILURE["double-tests"] in double.reason


# ----- the files -----------------------------------------------------------------------------------
def test_renamed_submissions_are_matched_to_their_source(run):
    """By its exercises (the source folder holds extra.ipynb too, sharing the `setup` cell), or, for
    a file that cannot be read as a notebook, by the start of its name."""
    for name in ("fixture-jdoe.ipynb", "whatever.ipynb", "fixture-not-json.ipynb"):
        assert run.results[name].source == "fixture.ipynb", name
    assert "whatever.ipynb (checked against fixture.ipynb)" in run.printed


def test_submitted_files_are_never_modified(run):
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.folder.iterdir()} == run.before


def test_grading_leaves_no_temporary_course_behind(run):
    assert run.seen_course and all(run.seen_course)  # (each course was there, in this folder, while it ran)
    assert list(run.temporary.glob("gradcourse-grade-*")) == []


def test_the_submissions_here_are_what_nbgrader_releases(run, tmp_path):
    """The fixture's student version (grading_fixtures.student_version) is nbgrader's release, cell for cell."""
    from gradcourse.instructor.build import build
    release = nbformat.read(next(p for p in build(run.source, tmp_path) if p.stem == "fixture"), as_version=4)
    assert [(c.cell_type, c.source) for c in release.cells] == [
        (c.cell_type, c.source) for c in student_version().cells]


# ----- the report, the table, the command line ---------------------------------------------------
def test_the_report_is_written_after_every_submission(run):
    """When the table of submission k is printed, the report already holds submissions 1..k-1, so a
    run stopped half-way keeps what it graded."""
    tables = [s for s in run.seen if s.printed.startswith(tuple(SUBMISSIONS)) and "given twice" not in s.printed]
    assert [s.printed.split()[0] for s in tables] == list(SUBMISSIONS)
    for k, seen in enumerate(tables):
        assert [r["notebook"] for r in seen.report] == list(SUBMISSIONS)[:k]
    assert [r["notebook"] for r in json.loads(run.report.read_text(encoding="utf-8"))] == list(SUBMISSIONS)


def test_an_existing_report_is_replaced_with_overwrite(run):
    assert run.report.read_text(encoding="utf-8") != "an old report\n"
    assert f"report written to {run.report}" in run.printed


def test_the_json_report_keeps_the_documented_keys(run):
    report = {r["notebook"]: r for r in json.loads(run.report.read_text(encoding="utf-8"))}
    good = report["fixture-jdoe.ipynb"]
    assert {"notebook", "source", "score", "max_score", "manual_points", "cells"} <= set(good)
    assert (good["source"], good["score"], good["max_score"], good["manual_points"]) == (
        "fixture.ipynb", AUTOMATIC, AUTOMATIC, MANUAL)
    for cell in good["cells"]:
        assert {"grade_id", "points", "max_points", "status", "reason"} <= set(cell)
    assert [(c["grade_id"], c["max_points"]) for c in good["cells"]] == list(POINTS.items())
    tampered = report["fixture-tampered-tests.ipynb"]["cells"][0]
    assert (tampered["points"], tampered["status"]) == (0, "failed")
    assert VISIBLE_FAILURE["double-tests"] in tampered["reason"]


def test_the_csv_report_has_the_written_answers_and_the_notes(run, tmp_path):
    """The CSV (the same results, as `--report scores.csv` writes them): one row per graded cell,
    the written answer beside the model answer, and one row per note."""
    report = Report(tmp_path / "scores.csv")
    report.write(list(run.results.values()))
    with report.path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == REPORT_COLUMNS
    written = [r for r in rows if r["notebook"] == "fixture-jdoe.ipynb" and r["exercise"] == "why"]
    assert [(r["status"], r["answer"], r["model_answer"]) for r in written] == [
        ("manual", WRITTEN, "It adds x to itself.")]
    notes = [r for r in rows if r["notebook"] == "fixture-own-tests.ipynb" and r["status"] == "note"]
    assert notes and "'mine'" in notes[0]["reason"]
    missing = [r for r in rows if r["notebook"] == "fixture-missing.ipynb"]
    assert len(missing) == 1 and "cannot read the file" in missing[0]["reason"]


def test_written_answers_are_shown_beside_the_model_answer(run):
    table = table_of(run, "fixture-jdoe.ipynb").printed
    assert f"answer: {WRITTEN}\n" in table and "model:  It adds x to itself.\n" in table
    cell = json.loads(run.report.read_text(encoding="utf-8"))[-1]["cells"][-1]
    assert (cell["status"], cell["answer"], cell["model_answer"]) == ("manual", WRITTEN, "It adds x to itself.")


def test_the_summary_counts_the_points_graded_by_hand(run):
    summary = run.printed.split("\nsummary\n")[1]
    line = next(line for line in summary.splitlines() if "fixture-jdoe.ipynb" in line)
    assert line.split() == ["fixture-jdoe.ipynb", f"{AUTOMATIC:g}", "/", f"{AUTOMATIC:g}", f"+{MANUAL:g}", "manual"]


@pytest.fixture
def no_grading(monkeypatch):
    """Fail the test if grading starts."""
    def refuse(*args, **kwargs):
        raise AssertionError("grading started")
    monkeypatch.setattr(grade_module, "grade", refuse)
    monkeypatch.setattr(grade_module, "Grader", refuse)


def test_an_existing_report_is_kept_without_overwrite(tmp_path, capsys, no_grading):
    report = tmp_path / "scores.csv"
    report.write_text("last week's scores\n", encoding="utf-8")
    before = report.stat().st_mtime_ns
    assert cli.main(["grade", str(tmp_path / "a.ipynb"), "--report", str(report)]) == 1
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert report.read_text(encoding="utf-8") == "last week's scores\n" and report.stat().st_mtime_ns == before


def test_a_report_in_a_missing_folder_fails_before_grading(tmp_path, capsys, no_grading):
    report = tmp_path / "no such folder" / "scores.json"
    assert cli.main(["grade", str(tmp_path / "a.ipynb"), "--report", str(report)]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and str(report.parent) in err
    assert not report.parent.exists()


def test_a_missing_solutions_folder_is_explained(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "a.ipynb"), "--source", str(tmp_path / "nowhere")]) == 1
    assert "pass the solutions folder with --source" in capsys.readouterr().err


def test_a_file_given_twice_is_graded_once(run):
    assert run.order.count("fixture-jdoe.ipynb") == 1
    assert "fixture-jdoe.ipynb: given twice; graded once" in run.printed


def test_submissions_that_share_a_file_name_are_named_by_their_paths():
    assert grade_module.display_names(["alice/01_a.ipynb", "bob/01_a.ipynb", "carol/02_b.ipynb"]) == [
        "alice/01_a.ipynb", "bob/01_a.ipynb", "02_b.ipynb"]


def test_a_report_that_is_a_submission_is_refused(tmp_path, capsys, no_grading):
    submitted = tmp_path / "fixture.json"
    submitted.write_text("{}", encoding="utf-8")
    assert cli.main(["grade", str(submitted), "--report", str(submitted), "--overwrite"]) == 1
    assert "is one of the submissions" in capsys.readouterr().err and submitted.read_text() == "{}"


def test_the_student_versions_are_refused_as_the_source(tmp_path, capsys):
    """Grading against exercises/ would run no hidden test: the grader says so and grades nothing."""
    source = write_sources(tmp_path / "solutions")
    from gradcourse.instructor.build import build
    build(source, tmp_path / "released")
    assert cli.main(["grade", str(tmp_path / "released" / "fixture.ipynb"),
                     "--source", str(tmp_path / "released")]) == 1
    assert "holds no solution regions" in capsys.readouterr().err


def test_version_names_gradcourse_and_nbgrader(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    printed = capsys.readouterr().out
    assert f"gradcourse {metadata.version('gradcourse')}" in printed
    assert f"nbgrader {metadata.version('nbgrader')}" in printed

