"""The pictures draw the right numbers: each line's data, each bar's height, against the result.

The label tests elsewhere would pass if two series were swapped or one drawn twice; these read
the data back from the artists, so a plot drawing the wrong series fails.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradcourse import plots  # noqa: E402
from gradcourse import experiments as E  # noqa: E402


def lines(ax):
    """{label: (x, y)} of the labelled data lines of an Axes (as floats)."""
    return {line.get_label(): (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
            for line in ax.get_lines() if not line.get_label().startswith("_")}


def close(drawn, expected):
    np.testing.assert_allclose(np.asarray(drawn, float), np.asarray(expected, float), rtol=1e-12, equal_nan=True)


# ----- gradcourse.plots ------------------------------------------------------------------------
def test_gradient_flow_and_activation_std_draw_each_series_at_its_layers():
    series = {"a": np.array([1.0, 2.0, 4.0]), "b": np.array([3.0, 0.5, 0.25])}
    for draw in (plots.gradient_flow, plots.activation_std):
        drawn = lines(draw(series).axes[0])
        for label, values in series.items():
            close(drawn[label][0], [1, 2, 3])
            close(drawn[label][1], values)


def test_training_curves_and_schedules_draw_each_run():
    runs = {"slow": dict(loss=[2.0, 1.5, 1.2]), "fast": dict(loss=[2.0, 0.5, 0.1])}
    drawn = lines(plots.training_curves(runs).axes[0])
    for label, run in runs.items():
        close(drawn[label][1], run["loss"])
    rates = {"constant": np.full(4, 0.1), "decay": 0.1 * 0.5 ** np.arange(4)}
    drawn = lines(plots.schedules(rates).axes[0])
    for label, lr in rates.items():
        close(drawn[label][1], lr)


def test_bar_comparison_heights_follow_the_labels():
    values = {"naive": 2.3, "adam": 0.4, "relu": 1.1}
    ax = plots.bar_comparison(values, "final loss").axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    ticks = [tick.get_text() for tick in ax.get_xticklabels()]
    assert dict(zip(ticks, heights)) == values


def test_update_ratio_draws_log10_of_each_column():
    table = np.array([[1e-3, 1e-2], [1e-4, 1e-1]])
    drawn = lines(plots.update_ratio(table, labels=["first", "second"]).axes[0])
    close(drawn["first"][1], np.log10(table[:, 0]))
    close(drawn["second"][1], np.log10(table[:, 1]))


def test_jacobian_spectrum_steps_through_the_sorted_singular_values():
    s = np.array([2.0, 0.5, 1.0, 4.0])
    x, y = lines(plots.jacobian_spectrum({"net": s}).axes[0])["net"]
    close(x, np.sort(s))
    close(y, np.arange(1, 5) / 4)


def test_loss_surface_draws_each_path():
    paths = {"SGD": np.array([[0.0, 1.0], [0.5, 0.5]]), "Adam": np.array([[1.0, 0.0], [0.2, 0.1]])}
    drawn = lines(plots.loss_surface(lambda x, y: x**2 + y**2, (-1, 1), (-1, 1), trajectories=paths).axes[0])
    for label, path in paths.items():
        close(drawn[label][0], path[:, 0])
        close(drawn[label][1], path[:, 1])


# ----- the explorers' plot_ functions ---------------------------------------------------------
def test_plot_chain_dots_are_measured_and_the_dashed_line_the_formula():
    result = E.scalar_chain(num_layers=6, weight=1.5, activation="tanh")
    drawn = lines(E.plot_chain(result).axes[0])
    close(drawn["measured by autograd"][1], result.measured)
    close(drawn[next(label for label in drawn if label.startswith("formula"))][1], result.analytic)


def test_plot_depth_profile_draws_both_gradients_and_the_spread():
    result = E.depth_profile(num_blocks=4, width=16, batch=16)
    left, right = E.plot_depth_profile(result).axes
    drawn = lines(left)
    close(drawn["‖∂L/∂h_l‖, reaching the block"][1], result.grad_norm)
    close(drawn["‖∂L/∂W_l‖, the block's weights"][1], result.weight_grad_norm)
    close(right.get_lines()[0].get_ydata(), result.act_spread)


def test_plot_adam_moments_draws_each_moment_and_step():
    result = E.adam_moments(steps=10, noise=1.0)
    left, right = E.plot_adam_moments(result).axes
    drawn, steps = lines(left), lines(right)
    close(drawn["gradient g_t"][1], result.gradients)
    close(drawn["m_t (uncorrected)"][1], result.m)
    close(drawn["m_hat_t = m_t / (1 - beta1^t)"][1], result.m_hat)
    close(steps["m_t / (sqrt(v_t) + eps)"][1], result.step_uncorrected)
    close(steps["m_hat_t / (sqrt(v_hat_t) + eps)"][1], result.step_corrected)


def test_plot_schedule_comparison_draws_each_schedules_rate_and_loss():
    result = E.schedule_comparison(steps=10, schedules=("constant", "cosine"))
    left, right = E.plot_schedule_comparison(result).axes
    rates, losses = lines(left), lines(right)
    for name in ("constant", "cosine"):
        close(rates[name][1], result.lr[name])
        close(losses[name][1], result.loss[name])


def test_plot_clipping_draws_each_runs_gradient_norm():
    result = E.clipping_runs(steps=5, num_blocks=2)
    right = E.plot_clipping(result).axes[1]
    drawn = lines(right)
    close(drawn["no clipping"][1], result.unclipped.grad_norm)
    close(drawn[f"clipped at {result.threshold:g}"][1], result.clipped.grad_norm)
    reference = [line for line in right.get_lines() if line.get_gid() == "reference"]
    assert [line.get_ydata()[0] for line in reference] == [result.threshold]


def test_plot_gradient_through_time_draws_the_norms_per_step():
    result = E.gradient_through_time(length=6, hidden=4, batch=4)
    line = E.plot_gradient_through_time(result).axes[0].get_lines()[0]
    close(line.get_xdata(), result.t)
    close(line.get_ydata(), result.grad_norm)


def test_plot_isometry_draws_the_sorted_singular_values():
    result = E.jacobian_isometry(num_blocks=2, width=8)
    x, _ = lines(E.plot_isometry(result).axes[0])[result.label]
    close(x, np.sort(result.singular_values))


def test_plot_optimizer_race_draws_each_path():
    result = E.optimizer_race("quadratic", steps=10)
    left, right = E.plot_optimizer_race(result).axes
    paths, gaps = lines(left), lines(right)
    for name, path in result.path.items():
        close(paths[name][0], path[:, 0])
        close(paths[name][1], path[:, 1])
        close(gaps[name][1], result.gap[name])
    reddi = E.optimizer_race("reddi", steps=30)
    drawn = {label.split(":")[0]: y for label, (_, y) in lines(E.plot_optimizer_race(reddi).axes[0]).items()}
    for name, path in reddi.path.items():
        close(drawn[name], path[:, 0])


def test_plot_lr_range_draws_the_losses_and_the_suggestion():
    result = E.lr_range_on_digits(steps=20)
    ax = E.plot_lr_range(result).axes[0]
    drawn = lines(ax)
    close(drawn["minibatch loss"][1], result.losses)
    close(drawn["moving average"][1], result.smoothed)
    suggestion = [line for line in ax.get_lines() if line.get_gid() == "suggestion"]
    assert suggestion[0].get_xdata()[0] == pytest.approx(result.suggestion)


@pytest.fixture(scope="module")
def residual_result():
    return E.residual_vs_plain(num_blocks=3, width=8, steps=4)


def test_plot_residual_training_draws_each_nets_loss_and_flow(residual_result):
    result = residual_result
    left, right = E.plot_residual_training(result).axes
    losses, flows = lines(left), lines(right)
    close(losses["plain"][1], result.plain.loss)
    close(losses["residual"][1], result.residual.loss)
    last = int(result.flow_steps[-1]) + 1
    close(flows["plain, step 1"][1], result.plain_flow[0])
    close(flows[f"residual, step {last}"][1], result.residual_flow[-1])


def test_plot_remedies_draws_the_recipe_against_the_naive_one():
    result = E.train_with_remedies(num_blocks=3, width=8, steps=5, activation="relu")
    naive = E.train_with_remedies(num_blocks=3, width=8, steps=5)
    left, right = E.plot_remedies(result, naive).axes
    flows = lines(right)
    close(flows["naive"][1], naive.grad_at_init)
    close(flows["your recipe"][1], result.grad_at_init)
    losses = [line.get_ydata() for line in left.get_lines() if not line.get_label().startswith("_")]
    close(losses[0], naive.history.loss)
    close(losses[1], result.history.loss)


# ----- plots.reusing: an explorer's redraw into its figure -------------------------------------
def test_reusing_redraws_into_the_same_figure_and_keeps_nothing_of_the_old_picture():
    old = plots.training_curves({"a": dict(loss=[1e3, 1e-3]), "b": dict(loss=[5.0, 1.0])}, title="old")
    with plots.reusing(old):
        new = plots.gradient_flow({"c": np.array([0.5, 0.25, 0.0])})
    fresh = plots.gradient_flow({"c": np.array([0.5, 0.25, 0.0])})
    assert new is old
    for ax, expected in zip(new.axes, fresh.axes):
        assert list(lines(ax)) == list(lines(expected)) == ["c"]
        close(lines(ax)["c"][1], lines(expected)["c"][1])
        assert [t.get_text() for t in ax.texts] == [t.get_text() for t in expected.texts] == ["↓0"]
        assert ax.get_title() == expected.get_title() and ax.get_ylabel() == expected.get_ylabel()
        assert ax.get_yscale() == expected.get_yscale() and ax.get_ylim() == expected.get_ylim()


def test_reusing_makes_a_new_figure_for_another_shape():
    one_panel = plots.gradient_flow(np.ones(3))
    with plots.reusing(one_panel):
        two_panels = plots.gradient_profiles(np.ones(3), np.ones(3))
    assert two_panels is not one_panel and len(one_panel.axes[0].get_lines()) == 1
