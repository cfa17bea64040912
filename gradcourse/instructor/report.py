"""Scores per exercise: the table `gradcourse grade` prints and the CSV/JSON report it writes.

The report is rewritten (atomically) after every submission, so a grader stopped half-way keeps
what it graded, and it never replaces an existing file unless asked to.
"""
import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT_FORMATS = (".csv", ".json")
MAX_NOTES = 10  # notes printed per submission; the report keeps them all


@dataclass
class CellResult:
    """One graded cell: `points` of `max_points`; status passed, failed or manual.

    A written answer (status manual) carries the student's `answer` and the `model_answer`.
    """

    grade_id: str
    max_points: float
    points: float = None
    status: str = "failed"
    reason: str = ""
    answer: str = None
    model_answer: str = None


@dataclass
class NotebookResult:
    """One submission: its graded cells, and notes on problems in the cells that carry no points.

    `graded` is False when the file could not be graded at all (missing, unreadable, no source).
    """

    notebook: str
    source: str = None
    cells: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    graded: bool = True

    @property
    def score(self):
        return sum(c.points or 0 for c in self.cells if c.status != "manual")

    @property
    def max_score(self):
        return sum(c.max_points for c in self.cells if c.status != "manual")

    @property
    def manual_points(self):
        """Points of the written answers, which an instructor grades by hand."""
        return sum(c.max_points for c in self.cells if c.status == "manual")


def one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _points(value):
    return "-" if value is None else f"{value:g}"


def _manual(result):
    return f" +{result.manual_points:g} manual" if result.manual_points else ""


def format_result(result, width=100):
    """A plain-text table: one line per graded cell, the written answers, then the total."""
    against = f" (checked against {result.source})" if result.source else ""
    lines = [f"{one_line(result.notebook)}{against}"]
    name_width = max([len(c.grade_id) for c in result.cells] + [len("exercise")])
    lines.append(f"  {'exercise':<{name_width}}  {'points':>9}  result")
    for cell in result.cells:
        points = f"{_points(cell.points)} / {_points(cell.max_points)}"
        outcome = cell.status if not cell.reason or cell.status == "passed" else f"{cell.status}: {cell.reason}"
        lines.append(f"  {cell.grade_id:<{name_width}}  {points:>9}  {one_line(outcome, width)}")
        if cell.status == "manual":
            lines.append(f"  {'':<{name_width}}  {'':>9}  answer: {one_line(cell.answer or '(blank)', width)}")
            lines.append(f"  {'':<{name_width}}  {'':>9}  model:  {one_line(cell.model_answer or '', width)}")
    total = f"{_points(result.score)} / {_points(result.max_score)}"
    lines.append(f"  {'total':<{name_width}}  {total:>9}{_manual(result)}")
    shown = result.problems[:MAX_NOTES]
    lines.extend(f"  note: {one_line(problem, width)}" for problem in shown)
    if len(result.problems) > len(shown):
        lines.append(f"  note: ... and {len(result.problems) - len(shown)} more (all in the report)")
    return "\n".join(lines) + "\n"


def format_summary(results):
    width = max(len(r.notebook) for r in results)
    lines = ["summary"] + [f"  {one_line(r.notebook):<{width}}  {_points(r.score)} / {_points(r.max_score)}{_manual(r)}"
                           + ("" if r.graded else "  (not graded)") for r in results]
    return "\n".join(lines) + "\n"


REPORT_COLUMNS = ["notebook", "source", "exercise", "points", "max_points", "status", "reason",
                  "answer", "model_answer"]


def report_rows(results):
    """One dict per graded cell and one per note (status "note"), with REPORT_COLUMNS."""
    rows = []
    for r in results:
        for c in r.cells:
            rows.append({"notebook": r.notebook, "source": r.source, "exercise": c.grade_id, "points": c.points,
                         "max_points": c.max_points, "status": c.status, "reason": c.reason,
                         "answer": c.answer, "model_answer": c.model_answer})
        for problem in r.problems:
            rows.append({"notebook": r.notebook, "source": r.source, "exercise": None, "points": None,
                         "max_points": None, "status": "note" if r.cells else "failed", "reason": problem})
    return rows


def _inert(value):
    """A CSV field a spreadsheet will not run as a formula (=, +, - or @ at its start)."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def report_text(results, suffix):
    """The report as text: JSON (a list of notebooks) or CSV (one row per graded cell or note)."""
    if suffix == ".json":
        payload = [{**asdict(r), "score": r.score, "max_score": r.max_score, "manual_points": r.manual_points}
                   for r in results]
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    writer.writerows({key: _inert(value) for key, value in row.items()} for row in report_rows(results))
    return buffer.getvalue()


class Report:
    """A report file, claimed before grading starts and rewritten after every submission."""

    def __init__(self, path, overwrite=False):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in REPORT_FORMATS:
            raise ValueError(f"report: {self.path} needs a file name ending in .csv or .json, e.g. scores.csv")
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"report: {self.path} exists; pass --overwrite to replace it, "
                                  f"or choose another file name")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"report: the folder {self.path.parent} does not exist")
        self.write([])  # fails now, before any grading, if the file cannot be written

    def write(self, results):
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                file.write(report_text(results, self.suffix))
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
