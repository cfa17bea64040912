"""What every measure-diagnose-repair exercise shares: naming the cause, and grading a repaired run."""
import contextlib
import inspect
import sys
import types

from .. import casebook, training
from ._core import COURSE_IMPLEMENTATIONS, ExerciseError, _call, _name, _passed, register_course_implementations


def _casebook_functions():
    """{qualified name: holder of its code} of every function the casebook defines, the functions nested in
    them included (a step a closure builds): its runs, its steps, its builders. (The watch needs only each
    one's code.)"""
    def with_nested(name, code):
        yield name, code
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                yield from with_nested(f"{name}.<{const.co_name}>", const)

    found = {}
    for module_name, module in sorted(sys.modules.items()):
        if module is not None and module_name.startswith("gradcourse.casebook"):
            for name, value in vars(module).items():
                if inspect.isfunction(value) and value.__module__ == module_name:
                    for shown, code in with_nested(f"{module_name}.{name}", value.__code__):
                        found[shown] = types.SimpleNamespace(__code__=code)
    return found


# What no repair may run: the casebook's own code (its runs and steps) and the course's training loop.
register_course_implementations("casebook", {**_casebook_functions(), "gradcourse.training.fit": training.fit,
                                             "gradcourse.training._train_step": training._train_step})


def _watched_repair(fn):
    """`fn` as the casebook calls it, refusing (as `_call` does) the checkers' code, any of the casebook's own
    functions and the course's training loop (a repair that runs them is not a repair)."""
    course = COURSE_IMPLEMENTATIONS["casebook"]

    def watched(*args):
        __tracebackhide__ = True
        return _call(fn, *args, course=course)
    watched.__name__ = _name(fn)
    return watched


def _layout(model):
    """What a repair must keep: each module's type, and each parameter's name, shape and identity."""
    return ([type(module).__name__ for module in model.modules()],
            [(name, p.shape, id(p)) for name, p in model.named_parameters()])


def _check_kept_layout(fn, layout, model):
    """ExerciseError if `fn(model)` replaced a layer or a parameter instead of changing its values in place."""
    modules, parameters = _layout(model)
    if modules != layout[0]:
        raise ExerciseError(f"{_name(fn)}(model) changed the network's layers (it was {', '.join(layout[0][1:])}; "
                            f"now {', '.join(modules[1:])}): keep the layers as they are and change the values "
                            f"of their parameters in place, through p.data.")
    if parameters != layout[1]:
        raise ExerciseError(f"{_name(fn)}(model) replaced or reshaped parameters: change their values in place "
                            f"(p.data[...] = ...), so that the optimiser, built on the same objects, trains them.")


def check_cause(case, cause):
    """`cause`: the name, among `casebook.CAUSES`, of what broke case `case` (its number in the casebook)."""
    __tracebackhide__ = True
    names = ", ".join(f'"{n}"' for n in casebook.CAUSES)
    if cause is None or cause is NotImplemented or cause == "":
        raise ExerciseError(f"cause is not set yet: assign one of {names}")
    if not isinstance(cause, str) or cause not in casebook.CAUSES:
        raise ExerciseError(f"{cause!r} is not one of the causes this exercise knows: choose one of {names} "
                            f"(gradcourse.casebook.CAUSES says what each means)")
    if not casebook._is_cause(case, cause):
        raise ExerciseError(f'"{cause}" ({casebook.CAUSES[cause]}) is not what went wrong in case {case}: '
                            f"measure again (the loss per step, the gradient norms per layer, the activations) "
                            f"and compare with what each cause would show")
    _passed(f'case {case}: "{cause}" is the cause')


_tolerance = [0.0]  # how far below the threshold a seed may end: 0, or OTHER_SEEDS_TOLERANCE inside other_seeds()
OTHER_SEEDS_TOLERANCE = 0.05


@contextlib.contextmanager
def other_seeds(tolerance=OTHER_SEEDS_TOLERANCE):
    """Grade a repair on seeds it was not tuned on: each may end up to `tolerance` below the threshold.

    (The hidden tests train each case on three more seeds. A repair tuned until the visible check
    passes sits near the threshold there, and accuracy varies from seed to seed: the tolerance keeps
    such a repair from failing on other seeds by chance, while a repair that does not fix the cause
    still fails by far.)
    """
    _tolerance.append(tolerance)
    try:
        yield
    finally:
        _tolerance.pop()


def _check_accuracies(case, accuracies, seeds, what, hint):
    shown = ", ".join(f"{a:.3f}" for a in accuracies)
    required = round(casebook.threshold(case) - _tolerance[-1], 3)
    if min(accuracies) < required:
        raise ExerciseError(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}; every seed "
                            f"needs at least {required:g}. {hint}")
    _passed(f"case {case} {what}: test accuracy {shown} over seeds {list(seeds)}, each at least {required:g}")