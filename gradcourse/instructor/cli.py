"""The `gradcourse` command, for instructors: build the student notebooks, grade submissions, and
write what students get or what nbgrader reads.

    gradcourse exercises build [--source solutions] [--dest exercises]
    gradcourse grade NOTEBOOK... [--source solutions] [--timeout 60] [--notebook-timeout 900]
                     [--report FILE.csv|FILE.json [--overwrite]]
    gradcourse handout DEST [--source solutions]
    gradcourse nbgrader-course DEST [--source solutions]
    gradcourse --version

Exit status: 0 when every submission was graded (whatever its score), 1 when a file could not be
graded at all (missing, unreadable, or no solutions notebook has its exercises) or a step failed,
2 for a wrong command line, 130 when Ctrl-C or SIGTERM stopped grading (the report keeps what was
graded).
"""
import argparse
import math
import sys
from importlib import metadata
from pathlib import Path

from .course import CourseError


def version():
    def of(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"
    return f"gradcourse {of('gradcourse')} (nbgrader {of('nbgrader')})"


def positive(unit, whole=False):
    """An argparse type: a positive (whole, if asked) number of `unit`."""
    def parse(text):
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            kind = "whole number" if whole else "number"
            raise argparse.ArgumentTypeError(f"must be a positive {kind} of {unit}, got {text!r}")
        return value
    return parse


def build_command(args):
    from .build import build
    for path in build(args.source, args.dest):
        print(f"wrote {path}")
    return 0


def grade_command(args):
    from . import processes
    from .grade import Stop, grade
    from .report import Report
    if args.report and any(Path(args.report).resolve() == Path(p).resolve() for p in args.notebooks):
        raise CourseError(f"report: {args.report} is one of the submissions; choose another file name")
    try:
        report = Report(args.report, overwrite=args.overwrite) if args.report else None
    except (OSError, ValueError) as error:
        raise CourseError(str(error)) from None
    processes.become_subreaper()  # orphans of a submission's processes come back to us, to be killed
    try:
        results = grade(args.notebooks, source=args.source, timeout=args.timeout,
                        notebook_timeout=args.notebook_timeout, report=report, output_limit=args.output_limit)
    except Stop as stop:
        print(f"gradcourse: {stop}" + (f"; the report {report.path} holds them" if report else ""), file=sys.stderr)
        return 130
    if report:
        print(f"report written to {report.path}")
    not_graded = [r.notebook for r in results if not r.graded]
    if not_graded:
        print(f"gradcourse: could not grade {', '.join(not_graded)}", file=sys.stderr)
    return 1 if not_graded else 0


def handout_command(args):
    from .handout import handout
    print(f"wrote the students' handout to {handout(args.dest, source=args.source)}")
    return 0


def nbgrader_course_command(args):
    from .handout import nbgrader_course
    root = nbgrader_course(args.dest, source=args.source)
    print(f"wrote an nbgrader course to {root}: one assignment per chapter in source/, and nbgrader_config.py")
    return 0


def parser():
    from .grade import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, OUTPUT_LIMIT

    main_parser = argparse.ArgumentParser(prog="gradcourse", description=__doc__.split("\n")[0])
    main_parser.add_argument("--version", action="version", version=version())
    commands = main_parser.add_subparsers(dest="command", required=True)

    exercises = commands.add_parser("exercises", help="the student notebooks")
    actions = exercises.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="write the student notebooks from the solutions notebooks, "
                                             "with nbgrader's generate_assignment")
    build.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    build.add_argument("--dest", default="exercises", help="folder to write the student notebooks to "
                                                           "(default: exercises)")
    build.set_defaults(run=build_command)

    grade = commands.add_parser(
        "grade", help="run submitted notebooks with nbgrader's autograder and score their tests",
        description="Grade each notebook with nbgrader's autograder on a temporary course made from the "
                    "solutions: the tests (hidden ones included) are put back, the notebook runs in a fresh "
                    "kernel, and each test cell scores its points if it ran without an error. This runs the "
                    "students' code with your permissions: it is not a sandbox.")
    grade.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    grade.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    grade.add_argument("--timeout", type=positive("seconds"), default=DEFAULT_TIMEOUT,
                       help=f"seconds a cell may run (default: {DEFAULT_TIMEOUT})")
    grade.add_argument("--notebook-timeout", type=positive("seconds"), default=DEFAULT_NOTEBOOK_TIMEOUT,
                       help=f"seconds a whole notebook may run (default: {DEFAULT_NOTEBOOK_TIMEOUT})")
    grade.add_argument("--report", help="write the scores to this .csv or .json file, after every submission")
    grade.add_argument("--overwrite", action="store_true", help="replace the report file if it exists")
    grade.add_argument("--output-limit", type=positive("characters", whole=True), default=OUTPUT_LIMIT,
                       help=f"characters of output a cell may print (default: {OUTPUT_LIMIT:,})")
    grade.set_defaults(run=grade_command)

    handout = commands.add_parser("handout", help="write what students get: chapters, exercises, the package, "
                                                  "a short README; never the solutions")
    handout.add_argument("dest", help="folder to create (must not exist yet)")
    handout.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    handout.set_defaults(run=handout_command)

    course = commands.add_parser("nbgrader-course", help="lay out an nbgrader course: source/<chapter>/ and "
                                                         "nbgrader_config.py, one assignment per chapter")
    course.add_argument("dest", help="folder to create (must not exist yet)")
    course.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    course.set_defaults(run=nbgrader_course_command)
    return main_parser


def main(argv=None):
    command_line = parser()
    args = command_line.parse_args(argv)
    if getattr(args, "report", None) and not args.report.lower().endswith((".csv", ".json")):
        command_line.error("--report needs a file name ending in .csv or .json")
    try:
        return args.run(args)
    except CourseError as error:
        print(f"gradcourse: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
