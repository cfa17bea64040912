"""Build the student notebooks from the solutions, and grade submissions against the solutions.

The notebooks in `solutions/` are the one source of truth, written in nbgrader's source format,
so an instructor who uses nbgrader can take the folder as it is; nobody else needs nbgrader:

- code between `### BEGIN SOLUTION` and `### END SOLUTION` is the answer; `build` replaces it
  with `# YOUR CODE HERE` / `raise NotImplementedError()` (in markdown: `YOUR ANSWER HERE`);
- code between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` (in a test cell) is removed
  from the student version and run again when grading;
- each cell's `metadata.nbgrader` says what it is: a solution cell (`solution`), a test cell worth
  `points` (`grade`, `locked`), a markdown answer graded by hand (`grade` and `solution`), or
  a read-only cell (`locked`), with a `grade_id` unique in its notebook.

`grade` runs each submission in a fresh kernel after putting back every locked cell (the tests,
hidden tests included) from the matching solutions notebook, and scores every test cell: its
points if it ran without an error, 0 and the reason otherwise. Before each test cell it reloads
the checkers and the casebook from their files (`GUARD`), so an answer that patched them changes
nothing. It runs student code as it is: it is not a sandbox.
"""
import copy
import csv
import json
import logging
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

SOLUTION_REGION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_TESTS_REGION = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
MARKDOWN_STUB = ["YOUR ANSWER HERE"]
DEFAULT_TIMEOUT = 60            # seconds per cell
OUTPUT_LIMIT = 1_000_000        # characters of output per cell
NBGRADER_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id", "points"}


class SourceError(ValueError):
    """A solutions notebook breaks the nbgrader source format; the message names the cell."""


# ----- reading a cell's nbgrader metadata ----------------------------------------------------
def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell):
    return bool(_nbgrader(cell).get("solution"))


def is_grade(cell):
    return bool(_nbgrader(cell).get("grade"))


def is_locked(cell):
    return bool(_nbgrader(cell).get("locked"))


def is_test(cell):
    """A cell that is scored by running it: graded code that is not itself an answer."""
    return is_grade(cell) and not is_solution(cell) and cell.get("cell_type") == "code"


def grade_id(cell):
    return _nbgrader(cell).get("grade_id")


def check_nbgrader_metadata(nb, name="notebook"):
    """Raise SourceError unless every cell's metadata follows nbgrader's schema version 3.

    The rules of nbgrader's `MetadataValidatorV3`: schema_version, grade, solution and locked
    are required; grade_id (letters, digits, _ and -) is required when any of them is true and
    must be unique; points (>= 0) only with grade; a markdown cell is graded iff it is a solution.
    """
    seen = set()
    for number, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        where = f"{name}, cell {number}"
        _check_cell_metadata(meta, cell.cell_type, where)
        if meta["grade"] or meta["solution"] or meta["locked"]:
            if meta["grade_id"] in seen:
                raise SourceError(f"{where}: grade_id {meta['grade_id']!r} is used twice")
            seen.add(meta["grade_id"])


def _check_cell_metadata(meta, cell_type, where):
    if set(meta) - NBGRADER_KEYS:
        raise SourceError(f"{where}: unexpected nbgrader keys {sorted(set(meta) - NBGRADER_KEYS)}")
    missing = {"schema_version", "grade", "solution", "locked"} - set(meta)
    if missing or meta["schema_version"] != 3:
        raise SourceError(f"{where}: nbgrader metadata needs schema_version 3, grade, solution and locked")
    flagged = meta["grade"] or meta["solution"] or meta["locked"]
    if flagged and not re.fullmatch(r"[a-zA-Z0-9_\-]+", str(meta.get("grade_id", ""))):
        raise SourceError(f"{where}: a graded, solution or locked cell needs a grade_id of letters, "
                          f"digits, _ and -")
    if "grade_id" in meta and not flagged:
        raise SourceError(f"{where}: grade_id is only for graded, solution or locked cells")
    if meta["grade"] != ("points" in meta) or meta.get("points", 0) < 0:
        raise SourceError(f"{where}: a graded cell needs points >= 0, and only a graded cell has points")
    if cell_type == "markdown" and meta["grade"] != meta["solution"]:
        raise SourceError(f"{where}: a markdown cell must be both graded and a solution, or neither")


# ----- building the student version ----------------------------------------------------------
def _regions(lines, markers, where):
    """(begin, end) line indices of each region delimited by `markers`; SourceError if unbalanced."""
    begin_marker, end_marker = markers
    regions, begin = [], None
    for index, line in enumerate(lines):
        text = line.strip()
        if text == begin_marker:
            if begin is not None:
                raise SourceError(f"{where}: {begin_marker!r} inside another region")
            begin = index
        elif text == end_marker:
            if begin is None:
                raise SourceError(f"{where}: {end_marker!r} without {begin_marker!r}")
            regions.append((begin, index))
            begin = None
    if begin is not None:
        raise SourceError(f"{where}: {begin_marker!r} without {end_marker!r}")
    return regions


def _replace_regions(source, markers, stub, where):
    """`source` with each region (markers included) replaced by `stub`, indented like its marker."""
    lines = source.split("\n")
    for begin, end in reversed(_regions(lines, markers, where)):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin:end + 1] = [indent + line for line in stub]
    return "\n".join(lines)


def student_cell(cell, where):
    """The student version of one cell: no answers, no hidden tests, no outputs."""
    cell = copy.deepcopy(cell)
    has_solution = bool(_regions(cell.source.split("\n"), SOLUTION_REGION, where))
    has_hidden = bool(_regions(cell.source.split("\n"), HIDDEN_TESTS_REGION, where))
    if has_solution and not is_solution(cell):
        raise SourceError(f"{where}: a solution region in a cell not marked as a solution")
    if has_hidden and not is_grade(cell):
        raise SourceError(f"{where}: hidden tests in a cell that is not graded")
    stub = MARKDOWN_STUB if cell.cell_type == "markdown" else CODE_STUB
    if is_solution(cell):
        cell.source = (_replace_regions(cell.source, SOLUTION_REGION, stub, where) if has_solution
                       else "\n".join(stub))
    cell.source = _replace_regions(cell.source, HIDDEN_TESTS_REGION, [], where)
    cell.metadata = {key: cell.metadata[key] for key in ("nbgrader", "tags") if key in cell.metadata}
    if is_locked(cell) or is_grade(cell):  # JupyterLab then keeps students from editing or deleting it
        cell.metadata.update({"deletable": False, "editable": not is_locked(cell)})
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def student_version(nb, name="notebook"):
    """The exercise notebook made from a solutions notebook (which is left unchanged)."""
    check_nbgrader_metadata(nb, name)
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)
    student.cells = [student_cell(cell, f"{name}, cell {number}")
                     for number, cell in enumerate(nb.cells, start=1)]
    return student


def notebook_text(nb):
    """The notebook as JSON text, exactly as Jupyter saves it (so a rebuild is byte-identical)."""
    return nbformat.writes(nb) + "\n"


def build(source="solutions", dest="exercises"):
    """Write the student version of every `source/*.ipynb` into `dest`; returns the paths written."""
    source, dest = Path(source), Path(dest)
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise SourceError(f"no notebooks in {source}")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = dest / path.name
        target.write_text(notebook_text(student_version(nb, path.name)), encoding="utf-8")
        written.append(target)
    return written


# ----- the results of grading ----------------------------------------------------------------
@dataclass
class CellResult:
    """One graded cell: `points` scored of `max_points`; status passed, failed or manual."""

    grade_id: str
    max_points: float
    points: float = None
    status: str = "failed"
    reason: str = ""


@dataclass
class NotebookResult:
    """One submission: its graded cells, and problems met in the cells that carry no points."""

    notebook: str
    source: str = None
    cells: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def score(self):
        return sum(c.points or 0 for c in self.cells if c.status != "manual")

    @property
    def max_score(self):
        return sum(c.max_points for c in self.cells if c.status != "manual")

    @property
    def manual_points(self):
        """Points of the markdown answers, which an instructor grades by hand."""
        return sum(c.max_points for c in self.cells if c.status == "manual")


# ----- putting the tests back ----------------------------------------------------------------
def read_sources(source):
    """{file name: notebook} for every solutions notebook in the folder `source`."""
    paths = sorted(Path(source).glob("*.ipynb"))
    if not paths:
        raise SourceError(f"no solutions notebooks in {source}: pass the folder with --source")
    return {path.name: nbformat.read(path, as_version=4) for path in paths}


def match_source(name, nb, sources):
    """The name of the solutions notebook a submission answers, or None.

    The same file name wins; otherwise the source sharing most grade_ids; otherwise a source
    whose name (without .ipynb) starts the submission's name, e.g. 01_background-jdoe.ipynb.
    """
    if name in sources:
        return name
    if nb is not None:
        ids = {grade_id(c) for c in nb.cells} - {None}
        shared = {key: len(ids & {grade_id(c) for c in source.cells}) for key, source in sources.items()}
        best = max(shared, key=shared.get)
        if shared[best] > 0:
            return best
    prefixed = [key for key in sources if name.startswith(Path(key).stem)]
    return prefixed[0] if prefixed else None


def assemble(submission, source):
    """The notebook to run: the submission with every locked cell restored from the source.

    Test cells come back with their hidden tests, so editing or deleting one changes nothing; a
    deleted one is put back after the cell that precedes it in the source. Answers are kept.
    """
    restored = {grade_id(c): c for c in source.cells if is_locked(c) or is_test(c)}
    cells, placed = [], set()
    for cell in submission.cells:
        key = grade_id(cell)
        if key in restored and key not in placed:
            cells.append(copy.deepcopy(restored[key]))
            placed.add(key)
        elif key in restored:  # a duplicated test cell: keep the code, drop the claim to be that cell
            cells.append(_without_nbgrader(cell))
        else:
            cells.append(copy.deepcopy(cell))
    for position, cell in enumerate(source.cells):
        key = grade_id(cell)
        if key in restored and key not in placed:
            earlier = {grade_id(c) for c in source.cells[:position]}
            after = max((i for i, c in enumerate(cells) if grade_id(c) in earlier), default=-1)
            cells.insert(after + 1, copy.deepcopy(cell))
            placed.add(key)
    assembled = copy.deepcopy(source)
    assembled.cells = cells
    return assembled


# Run before every test cell: the checkers and the casebook are reloaded from their files, so an answer
# cell that changed them (`gradcourse.exercises.check_sigmoid = ...`, `casebook.threshold = ...`) changes
# nothing. The casebook comes first, so that the checkers' list of the course's own code holds its new
# functions. (A guard, not a sandbox: see the module's docstring.)
GUARD = """\
import importlib as _importlib
import sys as _sys
for _name in sorted((_n for _n in list(_sys.modules) if _n.startswith(("gradcourse.casebook", "gradcourse.exercises"))),
                    key=lambda _n: (_n.startswith("gradcourse.exercises"), -_n.count("."), _n)):
    _importlib.reload(_sys.modules[_name])
"""


def guarded(nb):
    """`nb` with a cell that reloads the checkers and the casebook (GUARD) before each test cell."""
    guarded = copy.deepcopy(nb)
    cells = []
    for cell in guarded.cells:
        if is_test(cell):
            cells.append(nbformat.v4.new_code_cell(GUARD))
        cells.append(cell)
    guarded.cells = cells
    return guarded


def _without_nbgrader(cell):
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


# ----- running a notebook --------------------------------------------------------------------
def _quiet_logger():
    log = logging.getLogger("gradcourse.grading")
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def _client_class():
    """NotebookClient that caps each cell's output and records which cells timed out.

    (Defined on first use, so that importing gradcourse does not import nbclient.)
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    class GradingClient(NotebookClient):
        def __init__(self, nb, output_limit, **kwargs):
            super().__init__(nb, **kwargs)
            self.output_limit = output_limit
            self.output_sizes, self.flooded, self.timed_out = {}, set(), set()
            self.current_cell = None

        def output(self, outs, msg, display_id, cell_index):
            size = self.output_sizes.get(cell_index, 0) + len(json.dumps(msg["content"]))
            self.output_sizes[cell_index] = size
            if size > self.output_limit:
                self.flooded.add(cell_index)
                return None  # drop it: the cell fails anyway, and memory stays bounded
            return super().output(outs, msg, display_id, cell_index)

        async def _async_handle_timeout(self, timeout, cell=None):
            if self.current_cell in self.timed_out:  # the interrupt did not stop it either
                raise CellTimeoutError.error_from_timeout_and_cell("ignored the interrupt", timeout, cell)
            self.timed_out.add(self.current_cell)
            return await super()._async_handle_timeout(timeout, cell)

    return GradingClient


def run_cells(nb, workdir, timeout=DEFAULT_TIMEOUT, output_limit=OUTPUT_LIMIT):
    """Execute `nb` in a fresh python3 kernel started in `workdir`, going on after errors.

    Returns {cell index: problem} for every code cell that failed, timed out, printed too much,
    or could not run because the kernel died or would not stop.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = _client_class()(nb, output_limit, timeout=timeout, kernel_name="python3", allow_errors=True,
                             interrupt_on_timeout=True, record_timing=False, shutdown_kernel="immediate",
                             log=_quiet_logger(),
                             resources={"metadata": {"path": str(workdir)}})
    problems, stopped = {}, None
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # (the kernel's own log, not the cells' output)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if stopped:
                problems[index] = f"not run: {stopped}"
                continue
            client.current_cell = index
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                stopped = f"a cell ran past the {timeout:g} s limit and ignored the interrupt"
            except DeadKernelError:
                stopped = "the kernel died (the code crashed Python or used too much memory)"
            problem = _problem(cell, index, client, timeout) or stopped
            if problem:
                problems[index] = problem
    return problems


def _problem(cell, index, client, timeout):
    if index in client.flooded:
        return f"printed too much output (more than {client.output_limit:,} characters)"
    if index in client.timed_out:
        return f"timed out after {timeout:g} s (an endless loop?)"
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            evalue = output.get("evalue")
            return _one_line(f"{output.get('ename')}: {evalue}" if evalue else output.get("ename"))
    return None


def _one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----- grading -------------------------------------------------------------------------------
def _empty_result(name, source, reason):
    """Every graded cell of `source` at 0 points, with `reason` (or one row if there is no source)."""
    result = NotebookResult(name, source=None if source is None else source[0])
    if source is None:
        result.problems.append(reason)
        return result
    for cell in source[1].cells:
        if is_grade(cell):
            manual = cell.cell_type == "markdown"
            result.cells.append(CellResult(grade_id(cell), _nbgrader(cell)["points"], None if manual else 0,
                                           "manual" if manual else "failed", reason))
    return result


def _score(assembled, problems, source_name, name):
    """Score the source's graded cells from the problems found while running `assembled`."""
    result = NotebookResult(name, source=source_name)
    answer_problem = None  # a problem in an answer cell since the last graded cell: its test's likely cause
    for index, cell in enumerate(assembled.cells):
        meta = _nbgrader(cell)
        if not is_grade(cell):
            if index in problems:
                problem = f"{grade_id(cell) or f'cell {index + 1}'}: {problems[index]}"
                result.problems.append(problem)
                answer_problem = problem if is_solution(cell) else answer_problem
            continue
        if cell.cell_type == "markdown":
            result.cells.append(CellResult(meta["grade_id"], meta["points"], None, "manual",
                                           "a written answer: grade it by hand"))
        elif index in problems:
            reason = problems[index] + (f" (after an error in {answer_problem})" if answer_problem else "")
            result.cells.append(CellResult(meta["grade_id"], meta["points"], 0, "failed", reason))
        else:
            result.cells.append(CellResult(meta["grade_id"], meta["points"], meta["points"], "passed"))
        answer_problem = None
    return result


def grade_notebook(path, sources, timeout=DEFAULT_TIMEOUT, output_limit=OUTPUT_LIMIT):
    """Grade one submitted notebook against `sources` ({name: solutions notebook}).

    The submitted file is only read: the run happens on a copy in a temporary folder, which is
    also the kernel's working directory.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return _empty_result(path.name, None, f"cannot read the file: {error.strerror}")
    try:
        submission = nbformat.reads(data.decode("utf-8"), as_version=4)
        submission.cells  # (a JSON file that is not a notebook has no cells)
    except Exception as error:  # noqa: BLE001 - any parse failure is the student's, not ours
        source = match_source(path.name, None, sources)
        reason = _one_line(f"not valid notebook JSON: {error}", 200)
        return _empty_result(path.name, source and (source, sources[source]), reason)
    source = match_source(path.name, submission, sources)
    if source is None:
        return _empty_result(path.name, None, "no solutions notebook has its name or its exercises")
    assembled = guarded(assemble(submission, sources[source]))
    with tempfile.TemporaryDirectory(prefix="gradcourse-grade-") as workdir:
        (Path(workdir) / path.name).write_bytes(data)
        problems = run_cells(assembled, workdir, timeout, output_limit)
    return _score(assembled, problems, source, path.name)


def grade(paths, source="solutions", timeout=DEFAULT_TIMEOUT, report=None, output_limit=OUTPUT_LIMIT,
          echo=print):
    """Grade every notebook in `paths`, print a table for each, and write `report` (.csv or .json)."""
    sources = read_sources(source)
    results = []
    for path in paths:
        result = grade_notebook(path, sources, timeout, output_limit)
        echo(format_result(result))
        results.append(result)
    if len(results) > 1:
        echo(format_summary(results))
    if report is not None:
        write_report(results, report)
    return results


# ----- tables and reports --------------------------------------------------------------------
def _points(value):
    return "-" if value is None else f"{value:g}"


def format_result(result, width=100):
    """A plain-text table: one line per graded cell, then the total."""
    against = f" (checked against {result.source})" if result.source else ""
    lines = [f"{result.notebook}{against}"]
    name_width = max([len(c.grade_id) for c in result.cells] + [len("exercise")])
    lines.append(f"  {'exercise':<{name_width}}  {'points':>9}  result")
    for cell in result.cells:
        points = f"{_points(cell.points)} / {_points(cell.max_points)}"
        outcome = cell.status if not cell.reason or cell.status == "passed" else f"{cell.status}: {cell.reason}"
        lines.append(f"  {cell.grade_id:<{name_width}}  {points:>9}  {_one_line(outcome, width)}")
    total = f"{_points(result.score)} / {_points(result.max_score)}"
    manual = f"  (+ {result.manual_points:g} points to grade by hand)" if result.manual_points else ""
    lines.append(f"  {'total':<{name_width}}  {total:>9}{manual}")
    lines.extend(f"  note: {_one_line(problem, width)}" for problem in result.problems)
    return "\n".join(lines) + "\n"


def format_summary(results):
    width = max(len(r.notebook) for r in results)
    lines = ["summary"] + [f"  {r.notebook:<{width}}  {_points(r.score)} / {_points(r.max_score)}"
                           for r in results]
    return "\n".join(lines) + "\n"


REPORT_COLUMNS = ["notebook", "source", "exercise", "points", "max_points", "status", "reason"]


def report_rows(results):
    """One dict per graded cell (one per notebook with no graded cell), with REPORT_COLUMNS."""
    rows = []
    for r in results:
        for c in r.cells:
            rows.append({"notebook": r.notebook, "source": r.source, "exercise": c.grade_id,
                         "points": c.points, "max_points": c.max_points, "status": c.status,
                         "reason": c.reason})
        if not r.cells:
            rows.append({"notebook": r.notebook, "source": r.source, "exercise": None, "points": 0,
                         "max_points": 0, "status": "failed", "reason": "; ".join(r.problems)})
    return rows


def write_report(results, path):
    """Write the results as CSV (one row per graded cell) or JSON, chosen by the file extension."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        payload = [{**asdict(r), "score": r.score, "max_score": r.max_score,
                    "manual_points": r.manual_points} for r in results]
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(report_rows(results))
    else:
        raise ValueError(f"report {path}: use a .csv or .json file name")

