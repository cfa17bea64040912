"""The `gradcourse` command: build the student notebooks, and grade submitted ones.

    gradcourse exercises build [--source solutions] [--dest exercises]
    gradcourse grade NOTEBOOK... [--source solutions] [--timeout 60] [--report FILE.csv|FILE.json]
"""
import argparse
import sys

from . import grading


def build_command(args):
    for path in grading.build(args.source, args.dest):
        print(f"wrote {path}")
    return 0


def grade_command(args):
    grading.grade(args.notebooks, source=args.source, timeout=args.timeout, report=args.report,
                  output_limit=args.output_limit)
    if args.report:
        print(f"report written to {args.report}")
    return 0


def parser():
    main_parser = argparse.ArgumentParser(prog="gradcourse", description=__doc__.split("\n")[0])
    commands = main_parser.add_subparsers(dest="command", required=True)

    exercises = commands.add_parser("exercises", help="the student notebooks")
    actions = exercises.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="write the student notebooks from the solutions notebooks")
    build.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    build.add_argument("--dest", default="exercises", help="folder to write the student notebooks to "
                                                           "(default: exercises)")
    build.set_defaults(run=build_command)

    grade = commands.add_parser("grade", help="run submitted notebooks and score their tests",
                                description="Run each notebook in a fresh kernel, with the tests (hidden "
                                            "ones included) restored from the solutions, and score it. "
                                            "This runs the students' code: it is not a sandbox.")
    grade.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    grade.add_argument("--source", default="solutions", help="folder of solutions notebooks (default: solutions)")
    grade.add_argument("--timeout", type=float, default=grading.DEFAULT_TIMEOUT,
                       help=f"seconds a cell may run (default: {grading.DEFAULT_TIMEOUT})")
    grade.add_argument("--report", help="write the scores to this .csv or .json file")
    grade.add_argument("--output-limit", type=int, default=grading.OUTPUT_LIMIT,
                       help=f"characters of output a cell may print (default: {grading.OUTPUT_LIMIT:,})")
    grade.set_defaults(run=grade_command)
    return main_parser


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, "report", None) and not args.report.lower().endswith((".csv", ".json")):
        parser().error("--report needs a file name ending in .csv or .json")
    try:
        return args.run(args)
    except grading.SourceError as error:
        print(f"gradcourse: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
