"""Part B's explorers, built headless: residual, clipping, remedies, recurrence, isometry, lr finder."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from explorer_checks import assert_builds_headless, assert_redraws  # noqa: E402
from gradcourse import widgets  # noqa: E402

# name: (small settings to build with, so the tests stay fast; one control change to redraw)
EXPLORERS = {
    "residual_explorer": (dict(depth=6, steps=20), ("activation", "tanh")),
    "clipping_explorer": (dict(steps=40), ("threshold", 10.0)),
    "remedy_explorer": (dict(depth=6, steps=50), ("residual", True)),
    "rnn_explorer": (dict(length=20), ("cell", "lstm")),
    "isometry_explorer": (dict(depth=5, width=16), ("init", "xavier_normal")),
    "lr_finder_explorer": (dict(steps=30), ("optimizer", "adam")),
}
TRAINING_EXPLORERS = ("residual_explorer", "clipping_explorer", "remedy_explorer", "lr_finder_explorer")


@pytest.fixture(scope="module", params=list(EXPLORERS))
def built(request):
    settings, _ = EXPLORERS[request.param]
    return request.param, getattr(widgets, request.param)(**settings)


def test_explorers_are_listed():
    assert set(EXPLORERS) <= set(widgets.explorer_names())


def test_explorer_builds_headless(built):
    assert_builds_headless(built[1])


def test_changing_a_control_redraws(built):
    name, explorer = built
    assert_redraws(explorer, *EXPLORERS[name][1])


def test_controls_that_retrain_recompute_on_release_only(built):
    name, explorer = built
    if name in TRAINING_EXPLORERS:
        for control in explorer.controls.values():
            assert getattr(control, "continuous_update", False) is False


@pytest.mark.parametrize("name, build, extreme, words", [
    ("residual_explorer", dict(depth=5, steps=20), dict(lr=1.0, branch_scale=2.0), "residual net: loss became"),
    ("remedy_explorer", dict(depth=6, steps=50), dict(activation="relu"), "this recipe diverged"),
])
def test_divergence_is_a_status_line_not_an_exception(name, build, extreme, words):
    explorer = getattr(widgets, name)(**build)
    summary = explorer.set(**extreme)
    assert words in summary and "step" in summary
    assert explorer.result is None and "⚠" in explorer.status.value


def test_clipping_summary_names_the_divergence():
    explorer = widgets.clipping_explorer(steps=40)
    assert explorer.summary.startswith("no clipping: loss became nan at step")
    assert "clipped at 1: final loss" in explorer.summary


def test_remedy_explorer_reports_accuracy_and_gradient_ratio():
    explorer = widgets.remedy_explorer(depth=6, steps=50)
    summary = explorer.set(residual=True, optimizer="adam")
    assert summary.startswith("test accuracy 0.") and "|dL/dh| first/last block at init" in summary


def test_remedy_explorer_has_a_seed_and_reports_the_tables_final_loss():
    from gradcourse import ablation
    explorer = widgets.remedy_explorer(depth=4, steps=20, activation="tanh", init="xavier_normal")
    first, _ = explorer.result
    assert f"final loss (mean of the last 10 steps) {ablation.final_loss(first):.3g}" in explorer.summary
    explorer.set(seed=3)
    other, _ = explorer.result
    assert other.history.loss != first.history.loss
    assert explorer.controls["steps"].min == 10
