"""The grader's limits: a cell's time, a notebook's time, a dead kernel, a flood of output, and the
processes a submission leaves behind. Each stops one submission, keeps what it scored before, and
lets the rest run.

The submissions answer the tiny notebook of tests/grading_fixtures.py and are graded in ONE
`grade` run (the module's fixture), with small limits: TIMEOUT seconds per cell, NOTEBOOK_TIMEOUT
per notebook, OUTPUT_LIMIT characters of output per cell.
"""
import contextlib
import math
import os
import re
import signal
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradcourse.instructor import cli
from gradcourse.instructor.grade import Grader, grade
from grading_fixtures import RIGHT, cell_of, points, submission, write_sources

POINTS, AUTOMATIC, MANUAL = points()
TIMEOUT, NOTEBOOK_TIMEOUT, OUTPUT_LIMIT = 2, 8, 10_000
SLEEPS = 40  # cells of SLEEP seconds each, every one under the cell limit
SLEEP = 1.5
# arguments no other process has, to find what the submission started
CHILD, DAEMON = f"613.{os.getpid()}", f"614.{os.getpid()}"


def sleeping_cells(nb):
    """SLEEPS cells of time.sleep after the double test: the square test comes after them."""
    at = nb["cells"].index(cell_of(nb, "double-tests")) + 1
    nb["cells"][at:at] = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": f"import time\ntime.sleep({SLEEP})"} for _ in range(SLEEPS)]


def daemons(pid_file):
    """An answer that starts a detached `sleep` and a double-forked one, and waits until both run."""
    return textwrap.dedent(f"""\
        import os
        import subprocess
        import time

        started = subprocess.Popen(["sleep", "{CHILD}"], start_new_session=True)
        with open({str(pid_file)!r}, "a") as file:
            file.write(f"{{started.pid}}\\n")
        middle = os.fork()
        if middle == 0:  # a daemon: fork, new session, fork again, and the middle one exits
            os.setsid()
            if os.fork() == 0:
                with open({str(pid_file)!r}, "a") as file:
                    file.write(f"{{os.getpid()}}\\n")
                os.execvp("sleep", ["sleep", "{DAEMON}"])
            os._exit(0)
        os.waitpid(middle, 0)
        while len(open({str(pid_file)!r}).read().split()) < 2:
            time.sleep(0.05)
        """) + RIGHT["double"]


def running_with(argument):
    """Process ids whose command line holds `argument`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if argument.encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `grade` run over the submissions below; `seconds` each took, from the times their results
    were printed (the first one's includes laying out the temporary course)."""
    root = tmp_path_factory.mktemp("limits")
    source = write_sources(root / "solutions")
    pid_file = root / "started.pids"
    submissions = {
        "fixture-loop.ipynb": submission({"double": "while True:\n    pass", "square": RIGHT["square"]}),
        "fixture-stubborn.ipynb": submission({"square": RIGHT["square"], "double": (
            "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
            "    except KeyboardInterrupt:\n        pass")}),
        "fixture-sleepy.ipynb": submission(RIGHT, sleeping_cells),
        "fixture-dead-kernel.ipynb": submission({"double": RIGHT["double"], "square": "import os\nos._exit(1)"}),
        "fixture-flood.ipynb": submission({"square": RIGHT["square"], "double": (
            f"def double(x):\n    print('x' * {10 * OUTPUT_LIMIT})\n    return 2 * x")}),
        "fixture-daemons.ipynb": submission({"double": daemons(pid_file), "square": RIGHT["square"]}),
    }
    paths = []
    for name, text in submissions.items():
        paths.append(root / name)
        paths[-1].write_text(text, encoding="utf-8")
    times = []

    def echo(text):
        times.append(time.monotonic())

    try:
        start = time.monotonic()
        results = grade(paths, source=source, timeout=TIMEOUT, notebook_timeout=NOTEBOOK_TIMEOUT,
                        output_limit=OUTPUT_LIMIT, echo=echo)
        left = {argument: running_with(argument) for argument in (CHILD, DAEMON)}
        yield SimpleNamespace(results={r.notebook: r for r in results}, left=left,
                              seconds=dict(zip(submissions, [b - a for a, b in zip([start, *times], times)])),
                              started=[int(pid) for pid in pid_file.read_text().split()] if pid_file.exists() else [])
    finally:
        for argument in (CHILD, DAEMON):  # whatever the grader left, this test does not
            for pid in running_with(argument):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


# ----- the limits, as the command line and the API take them -------------------------------------
@pytest.mark.parametrize("option", ["--timeout", "--notebook-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "abc"])
def test_a_time_limit_must_be_a_positive_number(option, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["grade", "a.ipynb", option, value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "positive" in err and repr(value) in err


@pytest.mark.parametrize("setting, error, rule", [
    ({"timeout": 0}, ValueError, "a number > 0, got 0.0"),
    ({"notebook_timeout": -1}, ValueError, "a number > 0, got -1.0"),
    ({"timeout": math.nan}, ValueError, "a number > 0, got nan"),
    ({"timeout": True}, TypeError, "a number > 0, got True"),
    ({"notebook_timeout": "60"}, TypeError, "a number > 0, got '60'"),
    ({"output_limit": 0}, ValueError, "a positive integer, got 0"),
    ({"output_limit": 1.5}, TypeError, "a positive integer, got 1.5")])
def test_the_grader_refuses_a_limit_that_is_not_a_positive_number(setting, error, rule, tmp_path):
    """Checked by grade, the function called, before anything is laid out, and by Grader too."""
    name = next(iter(setting))
    with pytest.raises(error, match=f"^Grader: {name} must be {re.escape(rule)}$"):
        Grader(tmp_path / "no solutions here", tmp_path / "course", **setting)
    with pytest.raises(error, match=f"^grade: {name} must be {re.escape(rule)}$"):
        grade(["a.ipynb"], source=tmp_path / "no solutions here", **setting)


# ----- the limits, while grading -------------------------------------------------------------------
def test_an_endless_loop_times_out_and_the_rest_still_runs(run):
    result = run.results["fixture-loop.ipynb"]
    double, square = result.cells[:2]
    assert (double.points, double.status) == (0, "failed") and "NameError" in double.reason
    assert any("CellTimeoutError" in p and f"{TIMEOUT} s limit" in p for p in result.problems), result.problems
    assert square.status == "passed"  # the cells after the loop ran
    assert list(run.results) == list(run.seconds)  # and so did the submissions after it


def test_a_loop_that_swallows_the_interrupt_is_stopped_by_the_notebook_limit(run):
    result = run.results["fixture-stubborn.ipynb"]
    assert result.score == 0
    for cell in result.cells[:2]:
        assert f"not run: the notebook used up its {NOTEBOOK_TIMEOUT} s" in cell.reason, cell.reason


def test_a_notebook_of_slow_cells_stops_at_the_notebook_limit(run):
    """Each cell keeps under the cell limit; the notebook limit stops them, long before they are all run,
    and keeps the points scored before it."""
    result = run.results["fixture-sleepy.ipynb"]
    double, square = result.cells[:2]
    assert double.status == "passed"
    assert square.status == "failed" and f"not run: the notebook used up its {NOTEBOOK_TIMEOUT} s" in square.reason
    assert sum("NotRun" in problem for problem in result.problems) > SLEEPS / 2  # most sleeping cells never ran
    assert run.seconds["fixture-sleepy.ipynb"] < SLEEPS * SLEEP / 2  # all of them take SLEEPS * SLEEP


def test_a_dead_kernel_keeps_the_points_before_it_and_marks_the_rest(run):
    result = run.results["fixture-dead-kernel.ipynb"]
    double, square = result.cells[:2]
    assert (double.points, double.status) == (POINTS["double-tests"], "passed")
    assert square.status == "failed" and "not run: the kernel had died" in square.reason
    assert any("DeadKernelError" in problem for problem in result.problems), result.problems


def test_huge_output_fails_the_cell(run):
    double, square = run.results["fixture-flood.ipynb"].cells[:2]
    assert (double.points, double.status) == (0, "failed")
    assert f"printed too much output (more than {OUTPUT_LIMIT:,} characters)" in double.reason
    assert square.status == "passed"


def test_processes_a_submission_starts_are_gone_after_grading(run):
    """A detached child (a new session) and a double-forked daemon, both still running when the
    notebook ends; the submission itself is graded as usual."""
    result = run.results["fixture-daemons.ipynb"]
    assert (result.score, result.max_score) == (AUTOMATIC, AUTOMATIC)
    assert len(run.started) == 2  # both were running: the answer waited for them
    assert run.left == {CHILD: [], DAEMON: []}



def test_ctrl_c_stops_grading_after_the_current_submission_and_keeps_the_report(tmp_path):
    """nbgrader swallows a KeyboardInterrupt while it grades; the `gradcourse` command must not: it
    stops, says so, exits 130, and its report holds the submissions graded before the signal."""
    import json
    import subprocess
    import sys

    source = write_sources(tmp_path / "solutions")
    files = []
    for name, answers in (("fixture-first.ipynb", RIGHT), ("fixture-slow.ipynb", {
            "double": "import time\ntime.sleep(60)\n" + RIGHT["double"]}), ("fixture-last.ipynb", RIGHT)):
        files.append(tmp_path / name)
        files[-1].write_text(submission(answers), encoding="utf-8")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "gradcourse.instructor.cli", "grade", *map(str, files), "--source", str(source),
               "--report", str(report)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (report.is_file() and json.loads(report.read_text() or "[]")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # the slow one is running now
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, (out, err)
    assert "stopped by SIGINT after 1 of 3 submissions" in err
    assert [r["notebook"] for r in json.loads(report.read_text())] == ["fixture-first.ipynb"]
