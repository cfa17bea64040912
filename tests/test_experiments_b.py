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
