"""Part A's explorers, built headless (no kernel): depth, schedules, optimiser race; and their plots."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from explorer_checks import assert_builds_headless, assert_redraws  # noqa: E402
from gradcourse import experiments, plots, widgets  # noqa: E402

EXPLORERS = {
    "depth_explorer": dict(depth=10),
    "schedule_explorer": dict(lr=0.5),
    "optimizer_race_explorer": dict(lr=0.005),
}


@pytest.fixture(scope="module", params=list(EXPLORERS))
def built(request):
    return request.param, getattr(widgets, request.param)()


def test_explorers_are_listed():
    assert set(EXPLORERS) <= set(widgets.explorer_names())
    assert widgets.optimizer_race is widgets.optimizer_race_explorer


def test_explorer_builds_headless(built):
    assert_builds_headless(built[1])


def test_changing_a_control_redraws(built):
    name, explorer = built
    assert_redraws(explorer, *next(iter(EXPLORERS[name].items())))


def test_heavy_controls_recompute_on_release_only(built):
    _, explorer = built
    for control in explorer.controls.values():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False


def test_depth_explorer_diverging_setting_is_a_status_line():
    explorer = widgets.depth_explorer(depth=5)
    summary = explorer.set(depth=100, init="normal", weight_std=10.0, activation="relu")
    assert "overflowed" in summary and "lower the weight scale" in summary
    assert "overflowed" in explorer.status.value and explorer.result is None
    assert explorer.set(depth=5, init="xavier_normal", activation="sigmoid").startswith("layer 1 / layer 5: ")


def test_depth_explorer_summary_is_rounded():
    explorer = widgets.depth_explorer(depth=30)
    result = explorer.result
    assert explorer.summary == (f"layer 1 / layer 30: gradient reaching the layer |dL/dh| {result.ratio:.3g}, "
                                f"weight gradient |dL/dW| {result.weight_ratio:.3g}; "
                                f"activation std at layer 30 = {result.act_std[-1]:.3g}")
    assert "e-19" in explorer.summary or "e-2" in explorer.summary  # vanishing: far below 1


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
    # from code, the values given win over the surface's defaults
    explorer.set(surface="quadratic", lr=0.01)
    assert explorer.values["lr"] == pytest.approx(0.01)
    assert explorer.values["steps"] == experiments.RACE_DEFAULTS["quadratic"]["steps"]


def test_schedule_explorer_without_a_schedule_says_so():
    explorer = widgets.schedule_explorer(steps=20)
    assert explorer.set(schedules=()).startswith("choose at least one schedule")
    assert "⚠" in explorer.status.value


def test_schedule_explorer_flags_a_loss_that_rose():
    explorer = widgets.schedule_explorer(schedules=("constant", "one-cycle"))
    summary = explorer.set(lr=10.0)
    assert "constant" in summary and "(above its start)" in summary
    assert "one-cycle" in summary.split("(above its start)")[-1]


def test_schedule_explorer_summary_names_every_schedule():
    explorer = widgets.schedule_explorer(steps=20, schedules=("constant", "bold driver"))
    assert explorer.summary.startswith("final loss: constant ")
    assert "bold driver" in explorer.summary


# ----- the plots -------------------------------------------------------------------------------
@pytest.mark.parametrize("draw, result", [
    (plots.depth_profile, lambda: experiments.depth_profile(depth=8)),
    (plots.schedule_comparison, lambda: experiments.schedule_comparison(steps=20)),
    (plots.optimizer_race, lambda: experiments.optimizer_race("saddle", steps=20)),
    (plots.optimizer_race, lambda: experiments.optimizer_race("reddi", steps=30)),
    (plots.optimizer_race, lambda: experiments.optimizer_race("rosenbrock", lr=10.0, steps=20)),
])
def test_plots_return_figures_with_labelled_axes(draw, result):
    figure = draw(result())
    assert isinstance(figure, Figure) and figure.axes
    for ax in figure.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.mark.parametrize("make, compute", [(widgets.depth_explorer, experiments.depth_profile),
                                           (widgets.schedule_explorer, experiments.schedule_comparison)])
def test_explorer_defaults_are_the_compute_defaults(make, compute):
    """So that benchmarks/bench_explorers.py times what a student first sees."""
    import inspect
    explorer_defaults = {n: p.default for n, p in inspect.signature(make).parameters.items()}
    compute_defaults = {n: p.default for n, p in inspect.signature(compute).parameters.items()}
    assert {n: compute_defaults[n] for n in explorer_defaults} == explorer_defaults


def test_race_explorer_starts_from_the_surface_defaults():
    explorer = widgets.optimizer_race_explorer()
    defaults = experiments.RACE_DEFAULTS["rosenbrock"]
    assert {k: explorer.values[k] for k in defaults} == pytest.approx(defaults)


def test_a_failing_setting_replaces_the_picture_with_its_message():
    explorer = widgets.depth_explorer(depth=10)
    before = explorer.image.value
    explorer.set(depth=100, activation="relu", init="normal", weight_std=10.0)
    assert explorer.result is None and "overflowed" in explorer.summary
    assert explorer.image.value != before
    texts = [t.get_text() for ax in explorer.figure.axes for t in ax.texts]
    assert any("overflowed" in t for t in texts)
