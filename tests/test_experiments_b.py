"""Tests of the experiments behind part B's explorers: each claim a chapter makes, measured."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradcourse import experiments as E  # noqa: E402


def final_loss(history, window=10):
    return float(np.mean(history.loss[-window:]))


# ----- residual connections ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def residual_default():
    return E.residual_vs_plain()


def test_residual_trains_where_plain_stalls_at_defaults(residual_default):
    r = residual_default
    assert final_loss(r.plain) > 2.2            # stuck near log(10) = 2.30: chance level
    assert final_loss(r.residual) < 0.5
    assert r.residual.train_accuracy[-1] > 0.9 > 0.2 > r.plain.train_accuracy[-1]


def test_residual_keeps_the_gradient_at_the_first_block(residual_default):
    r = residual_default
    plain_ratio = r.plain_flow[0, 0] / r.plain_flow[0, -1]
    residual_ratio = r.residual_flow[0, 0] / r.residual_flow[0, -1]
    assert plain_ratio < 1e-4 and residual_ratio > 0.1
    assert r.plain_flow.shape == r.residual_flow.shape == (len(r.flow_steps), 20)
    assert r.flow_steps[0] == 0 and r.flow_steps[-1] == 99


def test_residual_divergence_is_a_floating_point_error():
    with pytest.raises(FloatingPointError, match="residual net: .*step"):
        E.residual_vs_plain(num_blocks=5, steps=20, lr=1.0, branch_scale=2.0)


# ----- clipping ------------------------------------------------------------------------------------
def test_clipping_keeps_finite_a_run_that_diverges_without_it():
    r = E.clipping_runs()
    assert r.unclipped.diverged and "step" in r.unclipped.message
    assert not r.clipped.diverged and len(r.clipped.loss) == 200
    assert r.clipped.loss[-1] < r.clipped.loss[0] / 1000
    assert max(r.clipped.grad_norm) > 1e4 * r.threshold  # the gradients were huge, yet the run lived


def test_clipping_is_not_needed_at_unit_gain():
    r = E.clipping_runs(weight_scale=1.0, steps=50)
    assert not r.unclipped.diverged and r.unclipped.loss[-1] < r.unclipped.loss[0]


def test_clipping_rejects_a_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        E.clipping_runs(threshold=0)


# ----- remedies ----------------------------------------------------------------------------------
def test_naive_recipe_fails_and_remedies_fix_it():
    naive = E.naive_baseline()
    assert naive.test_accuracy < 0.2 and naive.steps_to_target is None
    assert naive.grad_ratio < 0.01                     # the first block gets <1% of the last's gradient
    residual = E.train_with_remedies(residual=True)    # one remedy alone
    assert residual.test_accuracy > naive.test_accuracy + 0.5
    best = E.train_with_remedies(activation="relu", init="kaiming_normal", residual=True, optimizer="adam")
    assert best.test_accuracy > 0.9 and best.steps_to_target is not None
    assert 0.1 < best.grad_ratio < 10


def test_a_remedy_run_is_the_plain_training_loop_on_its_seeds_split():
    """Chapter 4 says train_with_remedies is the chapter's own fit loop, and that the seed sets
    the split, the initial weights and the batch order: rebuild one run by hand."""
    from gradcourse import init, nn, optim, training
    from gradcourse.rng import seeded
    result = E.train_with_remedies(num_blocks=3, steps=6, seed=2)
    X, X_test, y, y_test = E.digits_split(2)
    with seeded(2):
        model = nn.MLP(64, 32, 10, 3, activation="sigmoid", init=lambda w: init.normal_(w, 0.0, 1.0))
    history = training.fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), 6, progress=False, seed=2)
    assert result.history.loss == history.loss
    assert result.test_accuracy == training.accuracy(model, X_test, y_test)
    assert result.grad_at_init.shape == result.weight_grad_at_init.shape == (3,)
    assert not np.array_equal(E.digits_split(2)[1], E.digits_split(3)[1])    # another seed, another split


def test_compare_with_naive_reuses_the_baseline_at_defaults():
    result, baseline = E.compare_with_naive()
    assert result is baseline is E.naive_baseline()


def test_remedies_reject_unknown_settings():
    for bad in (dict(schedule="cosine"), dict(optimizer="lbfgs"), dict(init="lecun"), dict(steps=1)):
        with pytest.raises(ValueError):
            E.train_with_remedies(**bad)


def test_a_diverging_recipe_is_a_floating_point_error():
    with pytest.raises(FloatingPointError, match="diverged"):
        E.train_with_remedies(activation="relu", steps=20)   # relu with N(0, 1) weights overflows


# ----- gradients through time ------------------------------------------------------------------------
def test_lstm_with_forget_bias_keeps_more_gradient_than_rnn():
    rnn = E.gradient_through_time(cell="rnn")
    lstm = E.gradient_through_time(cell="lstm", forget_bias=1.0)
    lstm_open = E.gradient_through_time(cell="lstm", forget_bias=3.0)
    assert rnn.grad_norm.shape == (50,) and np.all(rnn.grad_norm > 0)
    assert rnn.ratio < 1e-8
    assert lstm.ratio > 1e3 * rnn.ratio
    assert lstm_open.ratio > lstm.ratio


def test_gradient_through_time_checks_its_cell():
    with pytest.raises(ValueError, match="cell"):
        E.gradient_through_time(cell="gru")


# ----- dynamical isometry ---------------------------------------------------------------------------
def test_orthogonal_linear_net_is_an_exact_isometry():
    s = E.jacobian_isometry(init="orthogonal", activation="linear").singular_values
    assert s.shape == (64,)
    np.testing.assert_allclose(s, 1.0, atol=1e-8)


def test_gaussian_init_spreads_the_spectrum_more_than_orthogonal():
    orthogonal = E.jacobian_isometry(init="orthogonal", activation="tanh").singular_values
    gaussian = E.jacobian_isometry(init="xavier_normal", activation="tanh").singular_values
    assert orthogonal.max() / orthogonal.min() * 1e6 < gaussian.max() / gaussian.min()


# ----- learning-rate range test on the digits -------------------------------------------------------
def test_lr_range_on_digits_suggests_a_usable_rate():
    result = E.lr_range_on_digits(smooth=0.9)
    assert 1e-3 < result.suggestion < 1.0
    assert result.stopped_early


# ----- bad arguments (issue 17, hostile round): each is checked before anything is computed, ------
# ----- under the name the caller passed --------------------------------------------------------------
def test_reddi_gradient_counts_steps_from_one():
    assert [E.reddi_gradient(t) for t in (1, 2, 3, 4)] == [3.0, -1.0, -1.0, 3.0]
    for t, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="reddi_gradient: t must be a positive integer"):
            E.reddi_gradient(t)
    with pytest.raises(ValueError, match="reddi_gradient: C must be a finite number"):
        E.reddi_gradient(1, C=float("nan"))


@pytest.mark.parametrize("call, name, error", [
    (lambda: E.jacobian_isometry(num_blocks=2, width=0), "jacobian_isometry: width", ValueError),
    (lambda: E.jacobian_isometry(num_blocks=2, width=4, gain=-1.0), "jacobian_isometry: gain", ValueError),
    (lambda: E.jacobian_isometry(num_blocks=2, width=4, init="bogus"), "jacobian_isometry: init", ValueError),
    (lambda: E.deep_mlp(2, 4, residual="yes"), "deep_mlp: residual", TypeError),
    (lambda: E.deep_mlp(2, 4, out_features=0), "deep_mlp: out_features", ValueError),
    (lambda: E.deep_mlp(2, 4, weight_std=0.0), "deep_mlp: weight_std", ValueError),
    (lambda: E.depth_profile(num_blocks=2, width=4, batch=0), "depth_profile: batch", ValueError),
    (lambda: E.clipping_runs(width=0, steps=2), "clipping_runs: width", ValueError),
    (lambda: E.clipping_runs(lr=-0.1, steps=2), "clipping_runs: lr", ValueError),
    (lambda: E.gradient_through_time(length=3, hidden=0), "gradient_through_time: hidden", ValueError),
    (lambda: E.gradient_through_time(length=3, batch=2.0), "gradient_through_time: batch", TypeError),
    (lambda: E.gradient_through_time(length=3, weight_scale=float("nan")), "gradient_through_time: weight_scale",
     ValueError),
    (lambda: E.train_with_remedies(residual="no", steps=2), "train_with_remedies: residual", TypeError),
    (lambda: E.train_with_remedies(clipping=1, steps=2), "train_with_remedies: clipping", TypeError),
    (lambda: E.train_with_remedies(batch_size=0, steps=2), "train_with_remedies: batch_size", ValueError),
    (lambda: E.train_with_remedies(width=0, steps=2), "train_with_remedies: width", ValueError),
    (lambda: E.train_with_remedies(lr=0.0, steps=2), "train_with_remedies: lr", ValueError),
    (lambda: E.residual_vs_plain(width=0, steps=2), "residual_vs_plain: width", ValueError),
    (lambda: E.residual_vs_plain(batch_size=-1, steps=2), "residual_vs_plain: batch_size", ValueError),
    (lambda: E.lr_range_on_digits(width=0), "lr_range_on_digits: width", ValueError),
    (lambda: E.lr_range_on_digits(num_blocks=0), "lr_range_on_digits: num_blocks", ValueError),
    (lambda: E.schedule_comparison(schedules="cosine"), "schedule_comparison: schedules", TypeError),
    (lambda: E.schedule_comparison(hidden=0), "schedule_comparison: hidden", ValueError),
    (lambda: E.make_schedule("warmup+cosine", steps=10, warmup="3"), "make_schedule: warmup", TypeError),
    (lambda: E.adam_moments(noise=-1.0), "adam_moments: noise", ValueError),
    (lambda: E.optimizer_step_cost(lambda p: None, shape=(2,), steps=1), "optimizer_step_cost: steps", ValueError),
    (lambda: E.optimizer_step_cost(5, shape=(2,)), "optimizer_step_cost: make_optimizer", TypeError),
    (lambda: E.optimizer_step_cost(lambda p: None, shape=(0,)), "optimizer_step_cost: shape", ValueError),
])
def test_every_size_flag_and_number_is_checked_under_the_callers_name(call, name, error):
    with pytest.raises(error, match=name):
        call()


PLOTS_AND_DESCRIPTIONS = [
    (E.plot_chain, "ChainResult"), (E.chain.describe_chain, "ChainResult"),
    (E.plot_adam_moments, "AdamMomentsResult"), (E.adam.describe_adam, "AdamMomentsResult"),
    (E.plot_optimizer_race, "RaceResult"), (E.adam.describe_race, "RaceResult"),
    (E.plot_clipping, "ClippingResult"), (E.clipping.describe_clipping, "ClippingResult"),
    (E.plot_depth_profile, "DepthResult"), (E.depth.describe_depth, "DepthResult"),
    (E.plot_isometry, "IsometryResult"), (E.isometry.describe_isometry, "IsometryResult"),
    (E.plot_lr_range, "LRRangeResult"), (E.lr_range.describe_lr_range, "LRRangeResult"),
    (E.plot_gradient_through_time, "TimeGradientResult"), (E.recurrent.describe_rnn, "TimeGradientResult"),
    (E.plot_residual_training, "ResidualResult"), (E.residual.describe_residual, "ResidualResult"),
    (E.plot_schedule_comparison, "ScheduleResult"), (E.schedules.describe_schedules, "ScheduleResult"),
]


@pytest.mark.parametrize("draw, kind", PLOTS_AND_DESCRIPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_every_plot_and_describe_checks_its_result(draw, kind):
    with pytest.raises(TypeError, match=f"{draw.__name__}: result must be a {kind}"):
        draw(5)


def test_the_remedy_pictures_check_both_results_and_the_pair():
    with pytest.raises(TypeError, match="plot_remedies: result must be a RemedyResult"):
        E.plot_remedies(5, 5)
    with pytest.raises(TypeError, match="plot_comparison: pair must be a"):
        E.remedies.plot_comparison(5)
    with pytest.raises(TypeError, match=r"describe_remedy: pair\[0\] must be a RemedyResult"):
        E.remedies.describe_remedy((5, 5))


def test_a_panel_function_rejects_an_ax_that_is_not_an_axes():
    result = E.scalar_chain(num_layers=3)
    for draw in (lambda ax: E.plot_chain(result, ax=ax), lambda ax: E.plot_gradient_through_time(5, ax=ax)):
        with pytest.raises(TypeError, match="ax must be None or a matplotlib Axes|result must be"):
            draw("left")
    with pytest.raises(TypeError, match="plot_chain: ax must be None or a matplotlib Axes"):
        E.plot_chain(result, ax="left")


def test_the_shared_helpers_check_their_arguments_before_a_cache_sees_them():
    with pytest.raises(ValueError, match="first_over_last: norms must be a non-empty list"):
        E.first_over_last([])
    with pytest.raises(TypeError, match="weight_layers: residual must be True or False"):
        E.weight_layers(3, residual="yes")
    with pytest.raises(TypeError, match="digits_split: seed must be a non-negative integer"):
        E.digits_split([0])  # a list would reach lru_cache as "unhashable type"
    with pytest.raises(TypeError, match="naive_baseline: seed must be a non-negative integer"):
        E.naive_baseline(seed=[0])
    with pytest.raises(ValueError, match="naive_baseline: steps must be an integer from 2 to 5000"):
        E.naive_baseline(steps=0)


def test_plot_lr_range_rejects_a_nan_or_empty_smoothed_loss():
    from types import SimpleNamespace
    for smoothed in ([1.0, float("nan"), 0.5], []):
        result = SimpleNamespace(lrs=[1e-3, 1e-2, 1e-1][:len(smoothed)], losses=smoothed, smoothed=smoothed,
                                 suggestion=1e-3, min_loss_lr=1e-2, steepest_lr=1e-2, stopped_early=False, message="")
        with pytest.raises(ValueError, match=r"plot_lr_range: result.smoothed must be a non-empty array without nan"):
            E.plot_lr_range(result)


# ----- round 3: each argument checked once, by one rule, under the name the user called ---------------
@pytest.mark.parametrize("call, match, error", [
    (lambda: E.deep_mlp(activation="sigmod"), "deep_mlp: activation must be one of", ValueError),
    (lambda: E.depth_profile(activation="sigmod"), "depth_profile: activation must be one of", ValueError),
    (lambda: E.depth_profile(norm="group"), "depth_profile: norm must be one of", ValueError),
    (lambda: E.optimizer_race(beta1=1.0), r"optimizer_race: beta1 must be a number in \[0, 1\)", ValueError),
    (lambda: E.optimizer_race(eps=0.0), "optimizer_race: eps must be a number > 0", ValueError),
    (lambda: E.make_optimizer("Adam", [], 0.1, beta2=1.0), "make_optimizer: beta2 must be", ValueError),
    (lambda: E.make_schedule("step", step_gamma=0), "make_schedule: step_gamma must be a number > 0", ValueError),
    (lambda: E.make_schedule("one-cycle", steps=3), "make_schedule: steps must be more than 3.33 for 'one-cycle'",
     ValueError),
    (lambda: E.schedule_comparison(steps=1), r"schedule_comparison: warmup must be .*steps=1", ValueError),
    (lambda: E.schedule_comparison(schedules=("cosine", "cosin")), "schedule_comparison: schedules must be one of",
     ValueError),
    (lambda: E.lr_range_on_digits(smooth=1.0), r"lr_range_on_digits: smooth must be a number in \[0, 1\)", ValueError),
    (lambda: E.lr_range_on_digits(steps=1), "lr_range_on_digits: steps must be an integer >= 2", ValueError),
    (lambda: E.residual_vs_plain(activation="sigmod"), "residual_vs_plain: activation must be one of", ValueError),
    (lambda: E.residual_vs_plain(optimizer="lion"), "residual_vs_plain: optimizer must be one of 'sgd', 'adam'",
     ValueError),
    (lambda: E.train_with_remedies(activation="sigmod"), "train_with_remedies: activation must be one of", ValueError),
    (lambda: E.train_with_remedies(init="he"), "train_with_remedies: init must be one of", ValueError),
    (lambda: E.compare_with_naive(activation="sigmod"), "compare_with_naive: activation must be one of", ValueError),
    (lambda: E.compare_with_naive(speed=3), "compare_with_naive: argument must be one of train_with_remedies'",
     TypeError),
])
def test_arguments_are_checked_by_the_function_called(call, match, error):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("steps", [1, 6000])
def test_train_with_remedies_states_one_rule_for_steps(steps):
    with pytest.raises(ValueError, match=f"train_with_remedies: steps must be an integer from 2 to 5000, got {steps}"):
        E.train_with_remedies(steps=steps)


def test_a_clipping_threshold_follows_fits_rule_positive_and_inf_allowed():
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="train_with_remedies: clip_norm must be a number > 0"):
            E.train_with_remedies(clip_norm=bad)
        with pytest.raises(ValueError, match="clipping_runs: threshold must be a number > 0"):
            E.clipping_runs(threshold=bad)
    E.remedies.check_recipe("train_with_remedies", **{**E.remedies.DEFAULTS, "clip_norm": float("inf")})
    result = E.clipping_runs(threshold=float("inf"), steps=3, num_blocks=1, width=4)   # measures, never clips
    np.testing.assert_allclose(result.clipped.loss, result.unclipped.loss)


def test_deep_mlp_takes_none_and_none_for_no_normalisation():
    def weights(norm):
        return [p.data for p in E.deep_mlp(num_blocks=2, width=4, norm=norm).parameters()]
    for a, b in zip(weights(None), weights("none")):
        np.testing.assert_array_equal(a, b)
    assert len(weights("layer")) > len(weights(None))


def test_each_optimiser_name_makes_its_optimiser_and_the_training_names_are_race_names():
    from gradcourse import optim
    x = E.adam.tensor(np.zeros(2), requires_grad=True)
    made = {name: E.make_optimizer(name, [x], 0.1) for name in E.RACE_OPTIMIZERS}
    assert type(made["SGD"]) is optim.SGD and made["SGD"].momentum == 0
    assert type(made["momentum"]) is optim.SGD and made["momentum"].momentum == 0.9
    assert type(made["RMSprop"]) is optim.RMSprop and made["RMSprop"].alpha == 0.999
    assert type(made["AdamW"]) is optim.AdamW and made["AMSGrad"].amsgrad and not made["Adam"].amsgrad
    for name in E.OPTIMIZERS:
        assert type(E.common.training_optimizer(name, [x], 0.1)) is type(made[E.common.RACE_NAME[name]])
    with pytest.raises(ValueError, match="residual_vs_plain: optimizer"):
        E.common.training_optimizer("lion", [x], 0.1, where="residual_vs_plain")


def test_every_schedule_name_builds_its_schedule_and_the_menus_are_checked_names():
    from gradcourse import schedules as S
    kinds = {name: type(E.make_schedule(name, steps=20, warmup=2)) for name in E.LR_SCHEDULES}
    assert kinds["step"] is S.StepDecay and kinds["cosine"] is S.CosineAnnealing
    assert kinds["warmup+cosine"] is S.LinearWarmup and kinds["one-cycle"] is S.OneCycle
    assert kinds["reduce on plateau"] is S.ReduceLROnPlateau and kinds["bold driver"] is S.BoldDriver
    assert set(E.DEFAULT_LR_SCHEDULES) <= set(E.LR_SCHEDULES) and set(E.REMEDY_SCHEDULES) <= set(E.LR_SCHEDULES)
    with pytest.raises(ValueError, match="schedule_names: schedule must be one of .*got 'cosin'"):
        E.schedules.schedule_names("cosine", "cosin")


def test_residual_vs_plain_takes_the_optimisers_default_rate():
    result = E.residual_vs_plain(num_blocks=2, width=8, steps=2, optimizer="adam")
    assert result.plain.lr[0] == E.DEFAULT_LR["adam"]


def test_isometry_schemes_are_course_schemes_and_kaiming_keeps_its_std_times_the_gain():
    from gradcourse import nn
    assert set(E.ISOMETRY_INITS) <= set(E.INITS)
    w = nn.Linear(400, 300).weight
    E.isometry.ISOMETRY_INIT["kaiming_normal"](w, 0.5)
    assert np.std(w.data) == pytest.approx(0.5 * np.sqrt(2 / 400), rel=0.02)


@pytest.mark.parametrize("plot, compute", [
    ("plot_chain", lambda: E.scalar_chain(num_layers=2)),
    ("plot_gradient_through_time", lambda: E.gradient_through_time(length=2, hidden=2, batch=2))])
def test_an_ax_that_is_not_an_axes_is_named_by_the_plot_called(plot, compute):
    with pytest.raises(TypeError, match=f"{plot}: ax must be None or a matplotlib Axes, got 5"):
        getattr(E, plot)(compute(), ax=5)


def test_a_control_states_its_kind_and_log_range_through_validation():
    with pytest.raises(ValueError, match="Control 'x': kind must be one of 'int'"):
        E.Control("x", "x", "slider", 1)
    with pytest.raises(ValueError, match="Control 'x': low must be a number > 0"):
        E.Control("x", "x", "log", 1.0, 0.0, 10.0, 0.1)
    with pytest.raises(ValueError, match="Control 'x': high must be a number > low = 1"):
        E.Control("x", "x", "log", 1.0, 1.0, 1.0, 0.1)


@pytest.mark.parametrize("norms, error, message", [
    (5, TypeError, "first_over_last: norms must be a list of gradient norms"),
    ([1.0, "a"], TypeError, "first_over_last: norms must be an array of real numbers"),
    ([[1.0], [2.0]], TypeError, "first_over_last: norms must be a list of gradient norms"),
    ([1.0, -1.0], ValueError, "first_over_last: norms must be >= 0"),
])
def test_first_over_last_rejects_what_is_not_a_list_of_norms(norms, error, message):
    with pytest.raises(error, match=message):
        E.first_over_last(norms)


def test_first_over_last_still_divides_and_gives_inf_over_a_zero_last_norm():
    assert E.first_over_last([6.0, 3.0]) == 2.0 and E.first_over_last(np.array([1.0, 0.0])) == np.inf
