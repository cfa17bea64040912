"""Every explorer of the registry, built headless (no kernel); the first half's special cases.

The explorers come from `experiments.EXPLORERS`, so a new explorer is tested as soon as it is
registered. Here: the registry, the widgets module and the benchmark agree; every control
type, format and the disabling of controls that have no effect."""
import inspect

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import explorer_checks as checks  # noqa: E402
from gradcourse import experiments, widgets  # noqa: E402


@pytest.fixture(scope="module", params=checks.PART_A)
def built(request):
    return request.param, checks.build_small(request.param)


def test_explorer_builds_headless(built):
    checks.assert_builds_headless(built[1])


def test_changing_a_control_redraws(built):
    name, explorer = built
    checks.assert_redraws(explorer, *experiments.EXPLORERS[name].move)


def test_explorer_shows_a_picture_before_it_runs(built):
    checks.assert_shows_a_picture_before_it_runs(built[1])


def test_irrelevant_controls_are_disabled(built):
    checks.assert_irrelevant_controls_are_disabled(built[1])


def test_registry_widgets_and_benchmark_agree():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_explorers
    names = set(experiments.EXPLORERS)
    assert len(names) == 11
    assert set(widgets.explorer_names()) == {f"{name}_explorer" for name in names}
    assert {case[0] for case in bench_explorers.cases()} >= names
    assert set(checks.PART_A) | set(checks.PART_B) == names


@pytest.mark.parametrize("name", list(experiments.EXPLORERS))
def test_spec_is_complete_and_its_defaults_are_the_compute_defaults(name):
    """So that benchmarks/bench_explorers.py times what a student first sees."""
    spec = experiments.EXPLORERS[name]
    parameters = inspect.signature(spec.compute).parameters
    for control in spec.controls:
        assert control.name in parameters or "remedies" in parameters, (name, control.name)
        default = parameters[control.name].default if control.name in parameters else control.default
        if default is not None and default is not inspect.Parameter.empty:
            assert control.default == default, (name, control.name)
    assert spec.move[0] in spec.defaults() and spec.title and spec.question and spec.chapter
    assert spec.describe.__doc__ and spec.draw.__doc__ and spec.compute.__doc__
    assert str(inspect.signature(getattr(widgets, f"{name}_explorer"))).startswith("(*, ")


@pytest.mark.parametrize("name", list(experiments.EXPLORERS))
def test_ranges_that_span_decades_use_log_sliders(name):
    for control in experiments.EXPLORERS[name].controls:
        if control.kind in ("int", "float") and control.low > 0:
            assert control.high / control.low < 100 or control.kind == "int", (name, control.name)
        widget = widgets.make_control(control, control.default)
        if control.kind == "log":
            assert type(widget).__name__ == "FloatLogSlider"


def test_values_are_shown_to_their_meaningful_digits():
    race = experiments.EXPLORERS["optimizer_race"]
    for name, shown in (("beta1", "0.9"), ("beta2", "0.999"), ("eps", "1e-08")):
        control = race.control(name)
        assert format(control.default, control.fmt) == shown  # Python's format reads d3's ".4" alike
    assert format(0.9999, race.control("beta2").fmt) == "0.9999"
    assert format(0.999, experiments.EXPLORERS["adam_bias"].control("beta2").fmt) == "0.999"


@pytest.mark.parametrize("name", ["depth", "residual"])
def test_branch_scale_reaches_one_over_sqrt_blocks(name):
    spec = experiments.EXPLORERS[name]
    positions, blocks = spec.control("branch_scale").positions(), spec.control("num_blocks")
    for L in range(blocks.low, blocks.high + 1):
        nearest = positions[np.argmin(np.abs(np.log(positions * np.sqrt(L))))]
        assert abs(nearest * np.sqrt(L) - 1) < 0.01, (L, nearest)


def test_depth_explorer_disables_what_has_no_effect():
    explorer = widgets.depth_explorer(num_blocks=4)
    assert explorer.controls["weight_std"].disabled and explorer.controls["branch_scale"].disabled
    explorer.set(init="normal", residual=True)
    assert not explorer.controls["weight_std"].disabled and not explorer.controls["branch_scale"].disabled
    explorer.controls["residual"].value = False  # by hand
    assert explorer.controls["branch_scale"].disabled


def test_schedule_explorer_enables_only_the_parameters_of_the_chosen_schedules():
    explorer = widgets.schedule_explorer(steps=20, schedules=("constant",))
    disabled = {name for name, control in explorer.controls.items() if control.disabled}
    assert disabled == {"warmup", "gamma", "power", "step_size", "step_gamma"}
    explorer.set(schedules=("step", "exponential"))
    assert {name for name, c in explorer.controls.items() if c.disabled} == {"warmup", "power"}


def test_depth_explorer_diverging_setting_is_a_status_line():
    explorer = widgets.depth_explorer(num_blocks=5)
    summary = explorer.set(num_blocks=100, init="normal", weight_std=10.0, activation="relu")
    assert "overflowed" in summary and "lower the weight scale" in summary
    assert "overflowed" in explorer.status.value and explorer.result is None
    assert explorer.set(num_blocks=5, init="xavier_normal", activation="sigmoid").startswith("5 blocks (7 weight layers); ")


def test_depth_explorer_summary_is_rounded_and_counts_weight_layers():
    explorer = widgets.depth_explorer(num_blocks=30)
    result = explorer.result
    assert explorer.summary == (f"30 blocks (32 weight layers); block 1 / block 30: gradient reaching the block "
                                f"|dL/dh| {result.ratio:.3g}, weight gradient |dL/dW| {result.weight_ratio:.3g}; "
                                f"spread across examples at block 30 = {result.act_spread[-1]:.3g}")
    assert "e-19" in explorer.summary or "e-2" in explorer.summary  # vanishing: far below 1
    assert explorer.set(residual=True).startswith("30 blocks (62 weight layers)")


def test_depth_explorer_axes_say_blocks_and_weight_layers():
    figure = widgets.depth_explorer(num_blocks=8).figure
    for ax in figure.axes:
        assert ax.get_xlabel().startswith("block") and "10 weight layers" in ax.get_xlabel()
    assert "spread across examples" in figure.axes[1].get_ylabel()


def test_race_lr_10_reports_the_divergence():
    explorer = widgets.optimizer_race_explorer(steps=50)
    summary = explorer.set(lr=10.0)
    assert "SGD diverged at step" in summary and "momentum diverged at step" in summary
    assert isinstance(explorer.figure, Figure)


def test_race_surface_menu_moves_the_sliders_to_its_defaults():
    explorer = widgets.optimizer_race_explorer()
    explorer.controls["surface"].value = "reddi"  # by hand
    defaults = experiments.RACE_DEFAULTS["reddi"]
    assert {k: explorer.values[k] for k in defaults} == pytest.approx(defaults)
    assert "Adam +1" in explorer.summary and "AMSGrad -0.99" in explorer.summary
    assert explorer.controls["momentum"].disabled and explorer.controls["weight_decay"].disabled
    # from code, the values given win over the surface's defaults
    explorer.set(surface="quadratic", lr=0.01)
    assert explorer.values["lr"] == pytest.approx(0.01)
    assert explorer.values["steps"] == experiments.RACE_DEFAULTS["quadratic"]["steps"]
    assert not explorer.controls["momentum"].disabled


def test_race_explorer_starts_from_the_surface_defaults():
    for surface in experiments.SURFACES:
        explorer = widgets.optimizer_race_explorer(surface=surface, steps=20)
        defaults = {k: v for k, v in experiments.RACE_DEFAULTS[surface].items() if k != "steps"}
        assert {k: explorer.values[k] for k in defaults} == pytest.approx(defaults)


def test_schedule_explorer_without_a_schedule_says_so():
    explorer = widgets.schedule_explorer(steps=20)
    assert "schedules must be at least one of" in explorer.set(schedules=())
    assert "⚠" in explorer.status.value


def test_schedule_explorer_flags_a_loss_that_rose():
    explorer = widgets.schedule_explorer(schedules=("constant", "one-cycle"))
    summary = explorer.set(lr=10.0)
    assert "constant" in summary and "(above its start)" in summary
    assert "one-cycle" in summary.split("(above its start)")[-1]


def test_a_failing_setting_replaces_the_picture_with_its_message():
    explorer = widgets.depth_explorer(num_blocks=10)
    before = explorer.image.value
    explorer.set(num_blocks=100, activation="relu", init="normal", weight_std=10.0)
    assert explorer.result is None and "overflowed" in explorer.summary
    assert explorer.image.value != before and isinstance(explorer.figure, Figure)
    texts = [t.get_text() for ax in explorer.figure.axes for t in ax.texts]
    assert any("overflowed" in t for t in texts)


def test_unknown_arguments_and_controls_are_named():
    """An unexpected name is a TypeError in both, as Python raises for an unexpected keyword."""
    with pytest.raises(TypeError, match="depth_explorer: control must be one of 'num_blocks', .*got 'depth'"):
        widgets.depth_explorer(depth=10)
    with pytest.raises(TypeError, match="Explorer.set: control must be one of 'num_layers', .*got 'depth'"):
        widgets.chain_explorer(num_layers=5).set(depth=3)


# ----- bad arguments (issue 17, hostile round) -----------------------------------------------------
@pytest.mark.parametrize("name, error", [([], TypeError), (5, TypeError), (None, TypeError), ("bogus", ValueError)])
def test_build_names_the_explorer_argument(name, error):
    with pytest.raises(error, match="build: name must be the name of an explorer, one of 'adam_bias'"):
        widgets.build(name)


@pytest.mark.parametrize("values, match, error", [
    (dict(num_layers=2.5), "chain_explorer: num_layers must be an integer", TypeError),
    (dict(weight="big"), "chain_explorer: weight must be a finite number", TypeError),
    (dict(weight=float("nan")), "chain_explorer: weight must be a finite number", ValueError),
    (dict(activation=["tanh"]), "chain_explorer: activation must be one of", TypeError),
    (dict(activation="Tanh"), "chain_explorer: activation must be one of", ValueError),
])
def test_build_checks_every_control_value_by_its_kind(values, match, error):
    with pytest.raises(error, match=match):
        widgets.chain_explorer(**values)


def test_a_checkbox_takes_only_a_bool_and_set_checks_values_too():
    with pytest.raises(TypeError, match="depth_explorer: residual must be True or False"):
        widgets.depth_explorer(residual="yes")
    with pytest.raises(TypeError, match="schedule_explorer: schedules must be a list of entries"):
        widgets.schedule_explorer(schedules="cosine")
    explorer = widgets.chain_explorer(num_layers=3)
    with pytest.raises(TypeError, match="Explorer.set: num_layers must be an integer"):
        explorer.set(num_layers="4")
