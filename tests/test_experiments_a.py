"""The pure functions behind part A's explorers: depth_profile, schedule comparison, optimiser race."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradcourse import experiments as E  # noqa: E402


# ----- depth_profile ---------------------------------------------------------------------------
def test_depth_profile_shapes():
    result = E.depth_profile(num_blocks=12, width=16)
    for values in (result.layer, result.grad_norm, result.act_std, result.saturated):
        assert values.shape == (12,)
    assert list(result.layer) == list(range(1, 13))
    assert result.ratio == pytest.approx(result.grad_norm[0] / result.grad_norm[-1])


def test_sigmoid_xavier_gradient_vanishes_over_30_blocks():
    assert E.depth_profile(num_blocks=30, activation="sigmoid", init="xavier_normal").ratio < 1e-12


def test_relu_kaiming_gradient_survives_30_blocks():
    assert 0.1 < E.depth_profile(num_blocks=30, activation="relu", init="kaiming_normal").ratio < 10


def test_depth_profile_is_deterministic():
    a, b = E.depth_profile(num_blocks=5), E.depth_profile(num_blocks=5)
    np.testing.assert_array_equal(a.grad_norm, b.grad_norm)


def test_depth_profile_overflow_is_a_floating_point_error():
    with pytest.raises(FloatingPointError, match="lower the weight scale or num_blocks"):
        E.depth_profile(num_blocks=100, activation="relu", init="normal", weight_std=10.0)


@pytest.mark.parametrize("bad, error, named", [
    (dict(init="he"), ValueError, "init"), (dict(norm="group"), ValueError, "norm"),
    (dict(num_blocks=0), ValueError, "num_blocks"), (dict(num_blocks=2.5), TypeError, "num_blocks"),
    (dict(num_blocks=True), TypeError, "num_blocks")])
def test_depth_profile_rejects_bad_settings(bad, error, named):
    """Through gradcourse.validation: a wrong kind is a TypeError, a wrong value a ValueError;
    each function names itself, not the one it passes the setting on to."""
    with pytest.raises(error, match=f"depth_profile: {named} must be"):
        E.depth_profile(**bad)
    with pytest.raises(error, match=f"deep_mlp: {named} must be"):
        E.deep_mlp(**bad)


# ----- schedule_comparison ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def all_schedules():
    return E.schedule_comparison(steps=60, schedules=E.LR_SCHEDULES)


def test_schedule_comparison_shapes(all_schedules):
    r = all_schedules
    assert list(r.lr) == list(E.LR_SCHEDULES) == list(r.loss) == list(r.diverged_at)
    assert r.step.shape == (60,)
    for name in E.LR_SCHEDULES:
        assert r.lr[name].shape == r.loss[name].shape == (60,)
        assert np.all(np.isfinite(r.loss[name])) and r.diverged_at[name] is None


def test_every_schedule_starts_from_the_same_network(all_schedules):
    first_losses = {round(float(loss[0]), 12) for loss in all_schedules.loss.values()}
    assert len(first_losses) == 1


@pytest.mark.parametrize("name", [n for n in E.LR_SCHEDULES if n not in ("bold driver", "reduce on plateau")])
def test_schedule_curves_equal_the_schedule_classes(all_schedules, name):
    schedule = E.make_schedule(name, steps=60)
    np.testing.assert_allclose(all_schedules.lr[name], [schedule(t) for t in range(60)], rtol=0, atol=1e-15)


def test_schedule_curves_match_their_formulas(all_schedules):
    t = np.arange(60)
    lr = all_schedules.lr
    np.testing.assert_allclose(lr["constant"], 1.0)
    np.testing.assert_allclose(lr["step"], 0.5 ** (t // 25))
    np.testing.assert_allclose(lr["exponential"], 0.97**t)
    np.testing.assert_allclose(lr["polynomial"], 1 - t / 60, atol=1e-15)
    np.testing.assert_allclose(lr["cosine"], (1 + np.cos(np.pi * t / 60)) / 2, atol=1e-15)
    assert lr["warmup+cosine"][0] == 0 and lr["warmup+cosine"][10] == pytest.approx(1.0)
    assert np.argmax(lr["one-cycle"]) == round(0.3 * 60) - 1


def test_bold_driver_follows_the_loss(all_schedules):
    lr, loss = all_schedules.lr["bold driver"], all_schedules.loss["bold driver"]
    assert lr[1] == lr[0] == 1.0
    for t in range(1, 59):
        factor = 1.05 if loss[t] < loss[t - 1] else 0.5 if loss[t] > loss[t - 1] else 1.0
        assert lr[t + 1] == pytest.approx(lr[t] * factor)


def test_warmup_and_one_cycle_tame_a_large_learning_rate():
    """At lr 10 a constant rate thrashes; warming up (or one cycle) reaches a far lower loss."""
    r = E.schedule_comparison(lr=10.0, schedules=("constant", "warmup+cosine", "one-cycle"))
    assert r.loss["constant"][-1] > r.loss["constant"][0]
    assert r.loss["warmup+cosine"][-1] < 0.1 and r.loss["one-cycle"][-1] < 0.01


def test_a_stable_constant_rate_wins_a_short_full_batch_run():
    """At lr 1 nothing is unstable, and decaying early only slows the descent."""
    r = E.schedule_comparison(lr=1.0)
    assert min(r.loss, key=lambda name: r.loss[name][-1]) == "constant"


@pytest.mark.parametrize("bad", [dict(schedules=()), dict(schedules=("cosine", "sgdr")),
                                 dict(warmup=100, steps=100, schedules=("warmup+cosine",)),
                                 dict(steps=0)])
def test_schedule_comparison_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        E.schedule_comparison(**bad)


# ----- optimizer_race --------------------------------------------------------------------------
@pytest.mark.parametrize("surface", ["quadratic", "rosenbrock", "saddle"])
def test_surface_gradients_match_central_differences(surface):
    s = E.SURFACES[surface]
    h = 1e-6
    for x, y in [(-1.2, 1.0), (0.3, -0.7), (1.5, 0.2)]:
        numeric = [(s.f(x + h, y) - s.f(x - h, y)) / (2 * h), (s.f(x, y + h) - s.f(x, y - h)) / (2 * h)]
        np.testing.assert_allclose(s.grad(x, y), numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("surface", ["quadratic", "rosenbrock", "saddle"])
def test_race_shapes(surface):
    r = E.optimizer_race(surface, steps=20)
    assert list(r.path) == list(E.RACE_OPTIMIZERS)
    for name in E.RACE_OPTIMIZERS:
        assert r.path[name].shape == (21, 2) and r.gap[name].shape == (21,)
        np.testing.assert_array_equal(r.path[name][0], E.SURFACES[surface].start)
        assert r.diverged_at[name] is None


def test_every_optimiser_makes_progress_on_the_quadratic():
    r = E.optimizer_race("quadratic")
    for name, gap in r.gap.items():
        assert gap[-1] < 1e-2 * gap[0], name


def test_sgd_stalls_at_the_saddle_where_adam_escapes():
    r = E.optimizer_race("saddle")
    assert r.gap["SGD"][-1] > 0.2             # still next to the saddle point, f = 0
    assert r.gap["Adam"][-1] < 0.01           # in a minimum, f = -1/4


def test_sgd_diverges_at_lr_10_without_an_exception():
    r = E.optimizer_race("rosenbrock", lr=10.0)
    step = r.diverged_at["SGD"]
    assert isinstance(step, int) and 1 <= step < 20
    assert np.all(np.isnan(r.path["SGD"][step:]))


def test_race_defaults_come_from_the_surface():
    r = E.optimizer_race("reddi")
    assert r.path["Adam"].shape == (E.RACE_DEFAULTS["reddi"]["steps"] + 1, 1)
    assert E.RACE_DEFAULTS["reddi"]["beta1"] == 0 and E.RACE_DEFAULTS["reddi"]["beta2"] == 1 / (1 + 3**2)


def test_reddi_gradients():
    assert [E.reddi_gradient(t) for t in range(1, 7)] == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]


def test_adam_ends_at_plus_one_and_amsgrad_near_minus_one_on_reddi():
    r = E.optimizer_race("reddi")
    assert list(r.path) == ["Adam", "AMSGrad"]
    assert r.path["Adam"][-1, 0] == 1.0
    assert r.path["AMSGrad"][-1, 0] < -0.95
    for path in r.path.values():
        assert np.all(np.abs(path) <= 1.0)


def test_reddi_race_reuses_the_optimiser_classes():
    """One step by hand with gradcourse.optim.Adam gives the race's first step."""
    from gradcourse import optim, tensor
    x = tensor(np.zeros(1), requires_grad=True)
    opt = optim.Adam(x, lr=0.01, betas=(0.0, 0.1))
    x.grad = np.array([3.0])
    opt.step()
    assert E.optimizer_race("reddi", steps=1).path["Adam"][1, 0] == pytest.approx(x.data[0])


@pytest.mark.parametrize("bad", [dict(surface="himmelblau"), dict(steps=0), dict(lr=-1.0),
                                 dict(beta2=1.0)])
def test_race_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        E.optimizer_race(**bad)
