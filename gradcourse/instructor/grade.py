"""Grading submissions with nbgrader's autograder, on a temporary course, with no server to run.

nbgrader does the grading: it puts back every locked cell (the tests, hidden tests included) from
the source, restores a deleted test cell, runs the notebook in a fresh kernel, scores a test cell 0
when its run ended in an error (by the kernel's reply, so an error hidden from the output still
counts) or wrote to stderr, ignores graded cells it does not know, and keeps the scores in its
sqlite gradebook. What gradcourse adds on top, and why nbgrader alone does not do it:

- one command, no configuration: a temporary course is laid out from `solutions/` (one
  assignment per chapter) and released, and each submission is filed under its source's name,
  matched even when the file was renamed (`match_source`);
- a submission that breaks the notebook format, or nbgrader's metadata schema, scores 0 with the
  reason, and grading goes on (nbgrader would stop); a graded cell the source does not have is
  dropped before nbgrader sees it, and noted (`sanitize`);
- limits: per cell, per notebook (`GradingExecute`) and on output while it runs;
- before each test cell, the checkers and the casebook are reloaded from their files and the
  kernel's hooks are reset (`GUARD`), so an answer that patched them changes nothing; a guard that
  did not run as written fails its test;
- processes the submission started are killed after it (`processes.reaped`);
- points per exercise with the reason for each failure, written answers beside the model answer,
  and the report (report.py).

It runs the students' code, with your permissions: it is not a sandbox (see the README).
"""
import contextlib
import copy
import hashlib
import json
import math
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

import nbformat

from .. import validation
from . import processes
from .build import generate
from .course import CourseError, nbgrader_api, run
from .report import CellResult, NotebookResult, format_result, format_summary, one_line

DEFAULT_TIMEOUT = 60              # seconds per cell
DEFAULT_NOTEBOOK_TIMEOUT = 900    # seconds per notebook
OUTPUT_LIMIT = 1_000_000          # characters of output per cell
ANSWER_REGION = re.compile(r"^\s*### BEGIN SOLUTION\s*$(.*?)^\s*### END SOLUTION\s*$", re.S | re.M)


# ----- nbgrader's metadata ---------------------------------------------------------------------
def nbgrader_meta(cell):
    """A cell's nbgrader metadata; {} when there is none or it is not a dict (a malformed submission)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell):
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_test(cell):
    """A cell scored by running it: graded code that is not itself an answer."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


# ----- the preprocessors gradcourse adds to nbgrader's autograder --------------------------------
def _preprocessor_classes():
    """(GradingExecute, InsertGuards, CheckGuards), defined on first use so that nbgrader is imported
    only by the commands that need it."""
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import DeadKernelError
    from nbgrader.preprocessors import Execute, NbGraderPreprocessor
    from traitlets import Bool, Enum, Integer, Unicode

    def error_output(ename, evalue):
        return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])

    class GradingExecute(Execute):
        """nbgrader's Execute with a limit per notebook and on output, surviving a dead kernel."""

        notebook_timeout = Integer(DEFAULT_NOTEBOOK_TIMEOUT, help="seconds the whole notebook may run").tag(config=True)
        output_limit = Integer(OUTPUT_LIMIT, help="characters of output a cell may print").tag(config=True)
        raise_on_iopub_timeout = Bool(False, help="a cell whose output never ends fails; the notebook goes on")
        shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                               help="the kernel is killed when the notebook is done: nothing in it is kept")

        def preprocess(self, nb, resources=None, km=None):
            self._deadline = time.monotonic() + self.notebook_timeout
            self._stopped, self._output_sizes, self._flooded = None, {}, set()
            with processes.reaped():
                return super().preprocess(nb, resources, km)

        async def async_start_new_kernel(self, **kwargs):
            kwargs.setdefault("stderr", subprocess.DEVNULL)  # the kernel's own log, not the cells' output
            return await super().async_start_new_kernel(**kwargs)

        start_new_kernel = run_sync(async_start_new_kernel)

        def _get_timeout(self, cell):
            timeout = super()._get_timeout(cell)
            remaining = max(1, math.ceil(self._deadline - time.monotonic()))
            return remaining if timeout is None else min(timeout, remaining)

        def output(self, outs, msg, display_id, cell_index):
            size = self._output_sizes.get(cell_index, 0) + len(json.dumps(msg["content"]))
            self._output_sizes[cell_index] = size
            if size > self.output_limit:
                self._flooded.add(cell_index)
                return None  # dropped: memory stays bounded, and the cell fails below
            return super().output(outs, msg, display_id, cell_index)

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type != "code":
                return cell, resources
            if self._stopped is None and time.monotonic() >= self._deadline:
                self._stopped = f"not run: the notebook used up its {self.notebook_timeout} s"
            if self._stopped:
                cell.outputs = [error_output("NotRun", self._stopped)]
                return cell, resources
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self._stopped = "not run: the kernel had died"
                cell.outputs.append(error_output(
                    "DeadKernelError", "the kernel stopped: exit() or os._exit(), a crash, or too much memory"))
            except Exception as error:  # noqa: BLE001 - e.g. no reply at all: stop here, keep what was scored
                self._stopped = "not run: the kernel stopped answering"
                cell.outputs.append(error_output("KernelError", f"the kernel stopped answering ({error})"))
            if any(output.get("ename") == "CellTimeoutError" for output in cell.outputs):
                # the KeyboardInterrupt is how the time limit stopped the cell: the limit is its error
                cell.outputs = [output for output in cell.outputs if output.get("ename") != "KeyboardInterrupt"]
            if index in self._flooded:
                cell.outputs.append(error_output(
                    "OutputLimit", f"printed too much output (more than {self.output_limit:,} characters)"))
            return cell, resources

    class InsertGuards(NbGraderPreprocessor):
        """Put PROLOGUE first and a GUARD cell before every test cell (CheckGuards takes them out again)."""

        token = Unicode("").tag(config=True)

        def preprocess(self, nb, resources):
            cells = [nbformat.v4.new_code_cell(PROLOGUE.format(token=self.token), metadata={"gradcourse_guard": True})]
            for cell in nb.cells:
                if is_test(cell):
                    cells.append(nbformat.v4.new_code_cell(GUARD.format(token=self.token),
                                                           metadata={"gradcourse_guard": True}))
                cells.append(cell)
            nb.cells = cells
            return nb, resources

    class CheckGuards(NbGraderPreprocessor):
        """Remove the guard cells; a test whose guard did not run as written fails, and a value displayed
        in a test cell (which nbgrader would read as that many points) is dropped."""

        token = Unicode("").tag(config=True)

        def preprocess(self, nb, resources):
            cells, failed_guard = [], False
            for cell in nb.cells:
                if cell.metadata.get("gradcourse_guard"):
                    printed = "".join(str(o.get("text", "")) for o in cell.outputs)
                    failed_guard = self.token not in printed or any(o.output_type == "error" for o in cell.outputs)
                    continue
                if is_test(cell):  # a test shows no value: one there was sent by the answer, and nbgrader
                    cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]  # would score it
                if failed_guard and is_test(cell) and not any(o.output_type == "error" for o in cell.outputs):
                    cell.outputs.append(error_output(
                        "GuardError", "the grader's reset before this test did not run as written "
                                      "(the kernel's input, output or hooks were tampered with)"))
                failed_guard = False
                cells.append(cell)
            nb.cells = cells
            return nb, resources

    return GradingExecute, InsertGuards, CheckGuards


# Run first, before any of the student's code: it keeps what the GUARD restores before each test (the
# methods of IPython's and the kernel's classes, the builtins, numpy's functions, the import machinery)
# in a closure, in a module named by the run's token. (Code that knows where to look can still find
# it: a guard, not a sandbox.)
PROLOGUE = """\
import builtins as _builtins, sys as _sys, types as _types
import numpy as _numpy, numpy.linalg as _linalg
def _keeper():
    shell = get_ipython()
    def methods(cls):
        return {{k: v for k, v in vars(cls).items() if callable(v) or isinstance(v, (property, staticmethod, classmethod))}}
    classes = [c for c in type(shell).__mro__ + type(shell.kernel).__mro__
               if c.__module__.split(".")[0] in ("IPython", "ipykernel")]
    kept = {{c: methods(c) for c in classes}}
    values = {{m: dict(vars(m)) for m in (_builtins, _numpy, _linalg)}}
    finders, hooks = list(_sys.meta_path), list(_sys.path_hooks)
    def restore():
        for cls, saved in kept.items():
            for name in set(methods(cls)) - set(saved):
                delattr(cls, name)
            for name, value in saved.items():
                if vars(cls).get(name) is not value:
                    setattr(cls, name, value)
        for module, saved in values.items():
            for name, value in saved.items():
                if vars(module).get(name) is not value:
                    setattr(module, name, value)
        _sys.meta_path[:], _sys.path_hooks[:] = finders, hooks
        _sys.path_importer_cache.clear()
    keeper = _types.ModuleType("{token}")
    keeper.restore = restore
    _sys.modules["{token}"] = keeper
_keeper()
del _keeper
print("{token}")
"""


# Run before every test cell. It takes back what an answer cell may have changed in the kernel: the
# classes' methods, builtins, numpy and import machinery PROLOGUE kept, the shell's and the kernel's
# own methods, the event callbacks of other modules, the input transformers and the exception hooks
# (so an error cannot be hidden or a test rewritten on its way in), then
# reloads the casebook and the checkers from their files (so `check_sigmoid = ...` or
# `casebook.threshold = ...` changes nothing; the casebook first, so that the checkers' list of the
# course's own code holds its new functions), and prints a token the grader looks for.
GUARD = """\
import importlib as _importlib
import sys as _sys
import types as _types
_sys.modules["{token}"].restore()
from IPython.core.inputtransformer2 import TransformerManager as _TransformerManager
_shell = get_ipython()
_TRUSTED = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm")
for _name in ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell", "showtraceback",
              "_showtraceback", "showsyntaxerror", "CustomTB"):
    _shell.__dict__.pop(_name, None)
for _name in ("do_execute", "execute_request", "send_response"):
    _shell.kernel.__dict__.pop(_name, None)
import functools as _functools, importlib.util as _util, os as _os
_FOLDERS = tuple(_os.path.dirname(_util.find_spec(_m).origin) + _os.sep for _m in _TRUSTED if _util.find_spec(_m))
def _trusted(_callback):
    _callback = _callback.func if isinstance(_callback, _functools.partial) else _callback
    _code = getattr(getattr(_callback, "__func__", _callback), "__code__", None)
    _code = _code or getattr(getattr(type(_callback), "__call__", None), "__code__", None)
    return _code is not None and _os.path.realpath(_code.co_filename).startswith(_FOLDERS)
for _callbacks in _shell.events.callbacks.values():
    _callbacks[:] = [_c for _c in _callbacks if _trusted(_c)]
_shell.custom_exceptions = ()
_shell.input_transformer_manager = _TransformerManager()
_shell.input_transformers_post = []
_shell.ast_transformers = []
_sys.excepthook = _sys.__excepthook__
for _name in sorted((_n for _n in list(_sys.modules) if _n.startswith(("gradcourse.casebook", "gradcourse.exercises"))),
                    key=lambda _n: (_n.startswith("gradcourse.exercises"), -_n.count("."), _n)):
    if type(_sys.modules[_name]) is not _types.ModuleType:
        _sys.modules[_name].__class__ = _types.ModuleType
    _importlib.reload(_sys.modules[_name])
print("{token}")
"""


# ----- submissions -------------------------------------------------------------------------------
def match_source(name, nb, released):
    """The assignment a submission answers, or None.

    The same file name wins; otherwise the assignment sharing most grade_ids; otherwise one whose
    name starts the submission's name, e.g. 01_background-jdoe.ipynb.
    """
    stem = Path(name).stem
    if stem in released:
        return stem
    if nb is not None:
        cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
        ids = {grade_id(c) for c in cells} - {None}
        shared = {key: len(ids & {grade_id(c) for c in source.cells}) for key, source in released.items()}
        best = max(shared, key=shared.get)
        if shared[best] > 0:
            return best
    prefixed = [key for key in released if stem.startswith(key)]
    return prefixed[0] if prefixed else None


def read_submission(data):
    """(notebook, None) from a file's bytes, or (what could be read or None, why it is not a notebook)."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except Exception as error:  # noqa: BLE001 - not UTF-8, not JSON, or nested too deep to read
        return None, one_line(f"not a notebook: not UTF-8 JSON text ({type(error).__name__}: {error})", 200)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("cells", parsed.get("worksheets")), list):
        kind = "an object without a list of cells" if isinstance(parsed, dict) else f"a JSON {type(parsed).__name__}"
        return None, f"not a notebook: the file is {kind}"
    if parsed.get("nbformat") == 4 and any(isinstance(c, dict) and "id" in c for c in parsed["cells"]):
        parsed["nbformat_minor"] = max(parsed.get("nbformat_minor", 0), 5)  # cell ids came with 4.5
        data = json.dumps(parsed).encode("utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's warnings about old notebooks: the checks below decide
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any parse failure is the student's, not ours
        return None, one_line(f"not a valid notebook: {error}", 200)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except Exception as error:  # noqa: BLE001 - nbformat's ValidationError and its relatives
        return nb, one_line(f"not a valid notebook: {_validation_message(error)}", 300)
    return nb, None


def _validation_message(error):
    message = getattr(error, "message", None) or str(error).splitlines()[0]
    path = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
    return f"{message} (at {path})" if path else message


def metadata_problem(nb, released):
    """Why a submission's nbgrader metadata breaks nbgrader's schema (version 3), or None.

    The check is nbgrader's own MetadataValidator, on the cells whose grade_id the source does not
    have (the others get the source's metadata back, `sanitize`): metadata that is not a dict, a
    grade_id that is not a string, points that are not a number, a missing flag...
    """
    from nbgrader.nbgraderformat import MetadataValidator

    validator, known = MetadataValidator(), {grade_id(c) for c in released.cells} - {None}
    for number, cell in enumerate(nb.cells, start=1):
        if "nbgrader" not in cell.get("metadata", {}) or grade_id(cell) in known:
            continue
        if not isinstance(cell.metadata.nbgrader, dict):
            kind = type(cell.metadata.nbgrader).__name__
            return f"cell {number}: its nbgrader metadata is a {kind}, not an object as nbgrader's format needs"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                validator.validate_cell(copy.deepcopy(cell))
        except Exception as error:  # noqa: BLE001 - jsonschema's, nbgrader's, or a str that has no .get
            detail = getattr(error, "message", None) or str(error) or type(error).__name__
            return one_line(f"cell {number}: its nbgrader metadata breaks nbgrader's format: {detail}", 300)
    return None


def sanitize(nb, released):
    """The submission with every cell's nbgrader metadata taken from the released notebook.

    A cell whose grade_id the source has (the first one only) gets the source's metadata back, so a
    changed point value or lock counts for nothing; any other nbgrader metadata, e.g. a graded cell
    the student added, is dropped: that cell still runs, for no points. Returns (notebook, notes).
    """
    known = {grade_id(c): c.metadata["nbgrader"] for c in released.cells if grade_id(c)}
    tests = {grade_id(c) for c in released.cells if is_test(c)}
    nb, notes = copy.deepcopy(nb), []
    keep = {}  # grade_id -> the cell that is it: the first copy, but the last of a test (it runs after the answer)
    for index, cell in enumerate(nb.cells):
        key = grade_id(cell) if "nbgrader" in cell.get("metadata", {}) else None
        if key in known and (key not in keep or key in tests):
            keep[key] = index
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        key, claimed_points = grade_id(cell), nbgrader_meta(cell).get("grade")
        if keep.get(key) == index:
            cell.metadata["nbgrader"] = copy.deepcopy(known[key])
            continue
        del cell.metadata["nbgrader"]
        if key in known:
            notes.append(f"cell {index + 1}: a copy of {key!r}; it ran for no points")
        elif claimed_points:
            notes.append(f"cell {index + 1}: graded cell {key!r} is not in the source; it ran for no points")
    return nb, notes


# ----- grading -----------------------------------------------------------------------------------
def _ungraded(name, released, source, reason):
    """Every graded cell of the released notebook at 0, with `reason` (one note if there is no source)."""
    result = NotebookResult(name, source=source and f"{source}.ipynb", graded=released is not None)
    if released is None:
        result.problems.append(reason)
        return result
    for cell in released.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "markdown":
            result.cells.append(CellResult(meta["grade_id"], float(meta["points"]), None, "manual", reason))
        elif meta.get("grade"):
            result.cells.append(CellResult(meta["grade_id"], float(meta["points"]), 0.0, "failed", reason))
    return result


def _reason(cell):
    """Why a test cell scored 0: its error, or what it wrote to stderr."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return one_line(f"{output.get('ename')}: {output.get('evalue')}" if output.get("evalue")
                            else output.get("ename"))
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return one_line(f"wrote to stderr (nbgrader scores that 0): {output.get('text', '')}")
    return "scored 0 by nbgrader"


def model_answer(source_cell):
    regions = ANSWER_REGION.findall(source_cell.source)
    return "\n".join(r.strip() for r in regions) if regions else source_cell.source.strip()


def read_scores(course, assignment, student, name, source_nb):
    """The result of one autograded submission, from nbgrader's gradebook and autograded notebook."""
    from nbgrader.api import Gradebook

    graded_nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    cells = {grade_id(c): c for c in graded_nb.cells if grade_id(c)}
    sources = {grade_id(c): c for c in source_nb.cells if grade_id(c)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grades = {g.name: (g.auto_score, g.max_score, g.cell_type)
                  for g in gradebook.find_submission_notebook(assignment, assignment, student).grades}
    result = NotebookResult(name, source=f"{assignment}.ipynb")
    answer_problem = None  # an error in an answer cell since the last graded cell: its test's likely cause
    for number, cell in enumerate(graded_nb.cells, start=1):
        key = grade_id(cell)
        if key not in grades:
            problem = _error_of(cell)
            if problem:
                answer_problem = f"{key or f'cell {number}'}: {problem}"
                result.problems.append(answer_problem)
            continue
        auto_score, max_score, cell_type = grades[key]
        if cell_type == "markdown":
            blank = auto_score == 0
            result.cells.append(CellResult(key, max_score, None, "manual",
                                           "left blank (nbgrader scores it 0)" if blank else "grade it by hand",
                                           answer=cell.source, model_answer=model_answer(sources[key])))
        elif auto_score == max_score:
            result.cells.append(CellResult(key, max_score, auto_score, "passed"))
        else:
            reason = _reason(cell) + (f" (after an error in {answer_problem})" if answer_problem else "")
            result.cells.append(CellResult(key, max_score, auto_score or 0.0, "failed", reason))
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            problem = _error_of(cell)
            answer_problem = f"{key}: {problem}" if problem else None
            if problem:
                result.problems.append(answer_problem)
        else:
            answer_problem = None
    return result


def _error_of(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return one_line(f"{output.get('ename')}: {output.get('evalue')}")
    return None


class Grader:
    """Grades one submission at a time with nbgrader, each in a course of its own.

    `solutions` is released once into a temporary course; its gradebook (which holds the tests) is
    then the only file kept, and each submission is graded in a fresh copy of it that is deleted
    afterwards, so that nothing one submission leaves behind reaches the next one's grading.
    """

    def __init__(self, solutions, root, timeout=DEFAULT_TIMEOUT, notebook_timeout=DEFAULT_NOTEBOOK_TIMEOUT,
                 output_limit=OUTPUT_LIMIT):
        timeout, notebook_timeout, output_limit = _check_limits(timeout, notebook_timeout, output_limit, "Grader")
        self.root = Path(root)
        released = generate(solutions, self.root / "release-course")
        self.released = {name: nbformat.read(path, as_version=4) for name, path in released.items()}
        self.sources = {name: nbformat.read(self.root / "release-course" / "source" / name / f"{name}.ipynb",
                                            as_version=4) for name in released}
        _check_is_solutions(solutions, self.sources)
        self.gradebook = self.root / "gradebook.db"
        shutil.move(self.root / "release-course" / "gradebook.db", self.gradebook)
        shutil.rmtree(self.root / "release-course")
        self.fingerprint = hashlib.sha256(self.gradebook.read_bytes()).hexdigest()
        token = secrets.token_hex(12)
        GradingExecute, InsertGuards, CheckGuards = _preprocessor_classes()
        from nbgrader.converters.autograde import Autograde

        nbgrader_steps = Autograde.class_traits()["autograde_preprocessors"].default()
        preprocessors = [InsertGuards, GradingExecute, CheckGuards] + [p for p in nbgrader_steps if p.__name__ != "Execute"]
        seconds = max(1, math.ceil(timeout))
        self.settings = {"Execute.timeout": seconds,
                         "Execute.error_on_timeout": {
                             "ename": "CellTimeoutError", "evalue": f"ran past the {seconds} s limit (an endless loop?)",
                             "traceback": [f"CellTimeoutError: ran past the {seconds} s limit"]},
                         "GradingExecute.notebook_timeout": max(1, math.ceil(notebook_timeout)),
                         "GradingExecute.output_limit": int(output_limit),
                         "InsertGuards.token": token, "CheckGuards.token": token,
                         "Autograde.autograde_preprocessors": preprocessors}
        self.count = 0

    def grade(self, path, name=None):
        """The NotebookResult of the submission at `path` (read only, never changed), shown as `name`.

        Whatever the file holds, the result is a row: a file that breaks the grader gets 0 and the error.
        """
        path = Path(path)
        name = name or path.name
        try:
            return self._grade(path, name)
        except Exception as error:  # noqa: BLE001 - one broken file must not stop the others' grading
            return _ungraded(name, None, None, one_line(f"the grader could not handle this file: "
                                                        f"{type(error).__name__}: {error}", 300))

    def _grade(self, path, name):
        try:
            data = path.read_bytes()
        except OSError as error:
            return _ungraded(name, None, None, f"cannot read the file: {error.strerror or error}")
        nb, problem = read_submission(data)
        assignment = match_source(path.name, nb, self.released)
        if assignment is None:
            return _ungraded(name, None, None, problem or "no solutions notebook has its name or its exercises")
        released = self.released[assignment]
        problem = problem or metadata_problem(nb, released)
        if problem:
            return _ungraded(name, released, assignment, problem)
        nb, notes = sanitize(nb, released)
        try:
            text = nbformat.writes(nb)
            text.encode("utf-8")
        except (UnicodeError, ValueError) as error:
            return _ungraded(name, released, assignment, one_line(f"not a valid notebook: {error}", 200))
        self.count += 1
        student, course = f"submission{self.count:04d}", self.root / f"course{self.count:04d}"
        self._fresh_course(course)
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(text, encoding="utf-8")
        try:
            with nbgrader_api(course, **self.settings) as api, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's sessions
                run(api.autograde(assignment, student), "nbgrader could not grade it")
            result = read_scores(course, assignment, student, name, self.sources[assignment])
        except CourseError as error:
            return _ungraded(name, released, assignment, str(error))
        finally:
            shutil.rmtree(course, ignore_errors=True)
        result.problems[:0] = notes
        return result

    def _fresh_course(self, course):
        """A course holding a copy of the released gradebook, checked to be the one released."""
        if hashlib.sha256(self.gradebook.read_bytes()).hexdigest() != self.fingerprint:
            raise CourseError("the released gradebook changed during grading (a submission's process wrote "
                              "to it?): grade again, inside a container")
        course.mkdir()
        shutil.copy2(self.gradebook, course / "gradebook.db")


def _check_is_solutions(solutions, sources):
    """CourseError unless the source notebooks hold answers: a folder of student versions is no source."""
    if not any("### BEGIN SOLUTION" in cell.source for nb in sources.values() for cell in nb.cells):
        raise CourseError(f"{solutions} holds no solution regions (### BEGIN SOLUTION): pass the solutions "
                          f"folder with --source, not the student versions")


def _check_limits(timeout, notebook_timeout, output_limit, where):
    """The grading limits: seconds (numbers > 0) and a count of characters (a positive integer)."""
    return (validation.positive("timeout", timeout, where),
            validation.positive("notebook_timeout", notebook_timeout, where),
            validation.positive_int("output_limit", output_limit, where))


def display_names(paths):
    """How each submission is named in the table and the report: its file name, or, when two share
    one (alice/01_background.ipynb, bob/01_background.ipynb), its path as given."""
    files = {}  # file name -> the distinct files of that name (a file given twice is one file)
    for path in paths:
        files.setdefault(Path(path).name, set()).add(Path(path).resolve())
    return [Path(p).name if len(files[Path(p).name]) == 1 else str(p) for p in paths]


class Stop(Exception):
    """Ctrl-C or SIGTERM: grading stops after the current submission (nbgrader swallows the signal
    while it runs one)."""


@contextlib.contextmanager
def stop_on_signals(stop):
    """Record SIGINT and SIGTERM in `stop` (a list) instead of dying mid-submission, so that the report
    and the temporary course are dealt with; only in the main thread, where Python takes signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def record(signum, frame):
        stop.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def grade(paths, source="solutions", timeout=DEFAULT_TIMEOUT, notebook_timeout=DEFAULT_NOTEBOOK_TIMEOUT,
          report=None, output_limit=OUTPUT_LIMIT, echo=print):
    """Grade every notebook in `paths`, print a table for each, and rewrite `report` (a report.Report)
    after each one. Returns the NotebookResults; a file given twice is graded once. Raises Stop after
    Ctrl-C or SIGTERM, once the report holds what was graded."""
    _check_limits(timeout, notebook_timeout, output_limit, "grade")
    results, stop, seen = [], [], set()
    with tempfile.TemporaryDirectory(prefix="gradcourse-grade-") as root, stop_on_signals(stop):
        grader = Grader(source, Path(root) / "course", timeout, notebook_timeout, output_limit)
        for path, name in zip(paths, display_names(paths)):
            if Path(path).resolve() in seen:
                echo(f"{name}: given twice; graded once\n")
                continue
            seen.add(Path(path).resolve())
            try:
                result = grader.grade(path, name)
            except KeyboardInterrupt:
                stop.append("SIGINT")
            if stop:
                break
            echo(format_result(result))
            results.append(result)
            if report is not None:
                report.write(results)
    if len(results) > 1:
        echo(format_summary(results))
    if stop:
        raise Stop(f"stopped by {stop[0]} after {len(results)} of {len(paths)} submissions")
    return results
