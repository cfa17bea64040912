"""Every explorer control moves the computed result, and the experiments read the controls they take.

Registry-driven: for every explorer of `experiments.EXPLORERS` and every control of its spec,
moving the control from its value in the spec's fast settings (`spec.small`) to another valid
value changes the result's numbers, unless the spec disables the control in that setting (its
`active` says it has no effect there). A compute function that ignores one of its arguments
(a planted `weight_scale`, `gain` or `momentum` left unused) fails here. Compute only, no
figure: about 5 s for all of them.
"""
import dataclasses

import numpy as np
import pytest

from gradcourse import experiments as E
from gradcourse.experiments import EXPLORERS


def numbers(value):
    """Every number in a result, flattened in a fixed order: dataclass fields, dicts, sequences,
    arrays and objects such as training.History (through their attributes)."""
    if isinstance(value, (bool, int, float, np.number)):
        return [float(value)]
    if isinstance(value, np.ndarray):
        return list(np.asarray(value, dtype=float).ravel()) if value.dtype.kind in "biuf" else []
    if isinstance(value, dict):
        return [x for key in sorted(value, key=str) for x in numbers(value[key])]
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in numbers(item)]
    if dataclasses.is_dataclass(value):
        return [x for field in dataclasses.fields(value) for x in numbers(getattr(value, field.name))]
    if hasattr(value, "__dict__") and not callable(value):
        return numbers({key: item for key, item in vars(value).items() if not key.startswith("_")})
    return []


def same_numbers(a, b):
    a, b = numbers(a), numbers(b)
    return len(a) == len(b) and np.array_equal(np.array(a), np.array(b), equal_nan=True)


def another_value(control, value):
    """A valid value of `control` other than `value`: the next slider position (the one before at
    the top end), the first other menu entry, the other state of a checkbox, or one more entry
    in a multiple choice."""
    if control.kind == "bool":
        return not value
    if control.kind == "choice":
        return next(option for option in control.options if option != value)
    if control.kind == "multi":
        return tuple(value) + (next(option for option in control.options if option not in value),)
    positions = [p.item() if hasattr(p, "item") else p for p in control.positions()]
    above = [p for p in positions if p > value * (1 + 1e-9) + 1e-12]
    moved = above[0] if above else max(p for p in positions if p < value)
    return int(round(moved)) if control.kind == "int" else float(moved)


CASES = [(name, control.name) for name, spec in EXPLORERS.items() for control in spec.controls]


@pytest.fixture(scope="module")
def baselines():
    """{explorer name: (settings, result)} at the spec's fast settings (computed once)."""
    computed = {}

    def get(name):
        if name not in computed:
            spec = EXPLORERS[name]
            settings = {**spec.defaults(), **spec.small}
            computed[name] = settings, spec.compute(**settings)
        return computed[name]
    return get


def activating(spec, control, settings):
    """`settings`, or, where the spec disables `control` there, settings one menu or checkbox
    move away where it is enabled (init "normal" for weight_std, an LSTM for forget_bias)."""
    if control.is_active(settings):
        return settings
    for other in spec.controls:
        if other.kind in ("choice", "bool", "multi") and other is not control:
            candidates = [(*settings[other.name], option) for option in other.options] if other.kind == "multi" \
                else [not settings[other.name]] if other.kind == "bool" else other.options
            for value in candidates:
                moved = {**settings, other.name: value}
                if control.is_active(moved):
                    return moved
    raise AssertionError(f"{spec.name}: no setting one move away enables {control.name}")


@pytest.mark.parametrize("name, control_name", CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_moving_a_control_changes_the_result(name, control_name, baselines):
    """Where the control is enabled it changes the result; where the spec disables it, moving it
    changes nothing (so disabling it hides no effect from the student)."""
    spec = EXPLORERS[name]
    control = spec.control(control_name)
    settings, result = baselines(name)
    moved = {**settings, control_name: another_value(control, settings[control_name])}
    if not control.is_active(settings):
        assert same_numbers(spec.compute(**moved), result), f"{name}: disabled {control_name} has an effect"
        settings = activating(spec, control, settings)
        result = spec.compute(**settings)
        moved = {**settings, control_name: moved[control_name]}
    assert not same_numbers(spec.compute(**moved), result), (
        f"{name}: moving {control_name} from {settings[control_name]!r} to {moved[control_name]!r} "
        f"left every number of the result unchanged")


def test_the_registry_test_sees_a_changed_number():
    """The comparison itself: one number changed anywhere in a result is a change."""
    result = E.adam_moments(steps=5)
    changed = dataclasses.replace(result, v_hat=result.v_hat.copy())
    assert same_numbers(result, changed)
    changed.v_hat[-1] += 1e-12
    assert not same_numbers(result, changed)


# ----- the controls the registry test reaches only in one setting --------------------------------
@pytest.mark.parametrize("init", E.ISOMETRY_INITS)
def test_isometry_gain_scales_every_init(init):
    """Linear net, `num_blocks + 2` layers: each scheme times gain multiplies J by gain^(blocks+2)."""
    one = E.jacobian_isometry(num_blocks=2, width=8, init=init, activation="linear", gain=1.0)
    two = E.jacobian_isometry(num_blocks=2, width=8, init=init, activation="linear", gain=2.0)
    np.testing.assert_allclose(two.singular_values, 2.0 ** 4 * one.singular_values, rtol=1e-10)


@pytest.mark.parametrize("cell", E.CELLS)
def test_recurrent_weight_scale_reaches_both_cells(cell):
    small = E.gradient_through_time(length=10, hidden=8, cell=cell, weight_scale=0.5, batch=4)
    large = E.gradient_through_time(length=10, hidden=8, cell=cell, weight_scale=2.0, batch=4)
    assert large.grad_norm[0] > small.grad_norm[0]
    assert not np.allclose(large.grad_norm, small.grad_norm)


def test_clipping_weight_scale_sets_the_gradients_at_the_first_step():
    """Every layer's weights scale with weight_scale: the first gradient norm grows with it."""
    norms = [E.clipping_runs(weight_scale=scale, steps=2, num_blocks=3).clipped.grad_norm[0]
             for scale in (0.5, 1.0, 2.0)]
    assert norms[0] < norms[1] < norms[2]


def test_schedule_comparison_uses_its_momentum():
    """momentum is not a control of the schedule explorer, but the chapters pass it."""
    slow = E.schedule_comparison(steps=10, schedules=("constant",), momentum=0.0)
    fast = E.schedule_comparison(steps=10, schedules=("constant",), momentum=0.9)
    assert not np.allclose(slow.loss["constant"][1:], fast.loss["constant"][1:])
    assert slow.loss["constant"][0] == fast.loss["constant"][0]  # the same start


def test_race_momentum_moves_only_the_momentum_run():
    runs = [E.optimizer_race("quadratic", steps=20, momentum=m) for m in (0.5, 0.9)]
    for name in E.RACE_OPTIMIZERS:
        same = np.array_equal(runs[0].path[name], runs[1].path[name])
        assert same == (name != "momentum"), name
