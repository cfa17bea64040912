"""What every measure-diagnose-repair exercise shares: naming the cause, and grading a repaired run."""
from .. import casebook
from ._core import ExerciseError, _call, _name, _passed


def _watched_repair(fn, course):
    """`fn` as the casebook calls it, refusing (as `_call` does) the `course` code and the checkers'."""
    def watched(*args):
        __tracebackhide__ = True
        return _call(fn, *args, course=course)
    watched.__name__ = _name(fn)
    return watched


def check_cause(case, cause):
    """`cause`: the name, among `casebook.CAUSES`, of what broke case `case` (its number in the casebook)."""
    __tracebackhide__ = True
    names = ", ".join(f'"{n}"' for n in casebook.CAUSES)
    if cause is None or cause is NotImplemented or cause == "":
        raise ExerciseError(f"cause is not set yet: assign one of {names}")
    if not isinstance(cause, str) or cause not in casebook.CAUSES:
        raise ExerciseError(f"{cause!r} is not one of the causes this exercise knows: choose one of {names} "
                            f"(gradcourse.casebook.CAUSES says what each means)")
    if not casebook.is_cause(case, cause):
        raise ExerciseError(f'"{cause}" ({casebook.CAUSES[cause]}) is not what went wrong in case {case}: '
                            f"measure again (the loss per step, the gradient norms per layer, the activations) "
                            f"and compare with what each cause would show")
    _passed(f'case {case}: "{cause}" is the cause')


def _check_accuracies(case, accuracies, seeds, what, hint):
    shown = ", ".join(f"{a:.3f}" for a in accuracies)
    if min(accuracies) < casebook.threshold(case):
        raise ExerciseError(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}; every seed "
                            f"needs at least {casebook.threshold(case)}. {hint}")
    _passed(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}, each at least "
            f"{casebook.threshold(case)}")
