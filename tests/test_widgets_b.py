"""Every explorer of the registry's second half, built headless; their special cases."""
import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import explorer_checks as checks  # noqa: E402
from gradcourse import ablation, experiments, widgets  # noqa: E402

TRAINING = [name for name, spec in experiments.EXPLORERS.items() if spec.budget_ms == experiments.spec.TRAINS]


@pytest.fixture(scope="module", params=checks.PART_B)
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


@pytest.mark.parametrize("name, variant", [(name, variant) for name, spec in experiments.EXPLORERS.items()
                                           for variant in spec.variants])
def test_every_variant_builds(name, variant):
    spec = experiments.EXPLORERS[name]
    checks.assert_builds_headless(widgets.build(name, **{**spec.small, **spec.variants[variant]}))


@pytest.mark.parametrize("name", TRAINING)
def test_controls_that_retrain_recompute_on_release_only(name):
    for control in experiments.EXPLORERS[name].controls:
        assert not control.continuous, (name, control.name)


@pytest.mark.parametrize("name, build, extreme, words", [
    ("residual", dict(num_blocks=5, steps=20), dict(lr=1.0, branch_scale=2.0), "residual net: loss .* at step"),
    ("remedy", dict(num_blocks=6, steps=50), dict(activation="relu"), "this recipe diverged"),
])
def test_divergence_is_a_status_line_not_an_exception(name, build, extreme, words):
    explorer = widgets.build(name, **build)
    summary = explorer.set(**extreme)
    assert re.search(words, summary) and "step" in summary
    assert explorer.result is None and "⚠" in explorer.status.value


def test_rnn_explorer_enables_the_forget_bias_for_the_lstm_only():
    explorer = widgets.rnn_explorer(length=10)
    assert explorer.controls["forget_bias"].disabled
    explorer.controls["cell"].value = "lstm"
    assert not explorer.controls["forget_bias"].disabled


def test_clipping_summary_names_the_divergence():
    explorer = widgets.clipping_explorer(steps=40)
    assert explorer.summary.startswith("no clipping: loss became nan at step")
    assert "clipped at 1: final loss" in explorer.summary


def test_remedy_explorer_reports_accuracy_and_gradient_ratio():
    explorer = widgets.remedy_explorer(num_blocks=6, steps=50)
    summary = explorer.set(residual=True, optimizer="adam")
    assert summary.startswith("test accuracy 0.") and "|dL/dh| first/last block at init" in summary


def test_remedy_explorer_has_a_seed_and_reports_the_tables_final_loss():
    explorer = widgets.remedy_explorer(num_blocks=4, steps=20, activation="tanh", init="xavier_normal")
    first, _ = explorer.result
    assert f"final loss (mean of the last 10 steps) {ablation.final_loss(first):.3g}" in explorer.summary
    explorer.set(seed=3)
    other, _ = explorer.result
    assert other.history.loss != first.history.loss
    assert explorer.controls["steps"].min == 10


def test_chain_explorer_counts_layers_and_matches_the_formula():
    explorer = widgets.chain_explorer(num_layers=10)
    assert explorer.result.measured.shape == (11,)
    assert explorer.set(weight=4.0, preactivation=0.0).startswith("factor per layer |w f'(z)| = 1;")


def test_adam_bias_explorer_first_step_is_one_lr_when_corrected():
    explorer = widgets.adam_bias_explorer(steps=10)
    assert explorer.summary.startswith("first step: 1 lr corrected")
