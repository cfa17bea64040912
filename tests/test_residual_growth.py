"""Tests of gradcourse.residual_growth: the forward signal of a residual stack, block by block."""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import data, nn, optim, training
from gradcourse.residual_growth import GrowthRecorder, branch_weights, forward_growth


def residual_mlp(seed=0, num_blocks=6, width=16, **options):
    gc.manual_seed(seed)
    return nn.MLP(8, width, 3, num_blocks, activation="relu", residual=True, **options)


def batch(n=64, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 8))


def test_the_block_by_block_pass_reproduces_the_models_own_hidden_states():
    model, x = residual_mlp(), batch()
    seen = []
    handles = [block.register_forward_hook(lambda module, inputs, output: seen.append(output.data.std()))
               for block in model.blocks]
    model(gc.tensor(x))
    for handle in handles:
        handle.remove()
    signal = forward_growth(model, x)
    np.testing.assert_allclose(signal.std[1:], seen, rtol=1e-12)
    assert signal.std[0] == pytest.approx(model.input_layer(gc.tensor(x)).data.std())
    assert signal.growth == pytest.approx(seen[-1] / signal.std[0])


def test_the_branch_gain_is_the_norm_of_the_branch_over_the_norm_of_its_input():
    model, x = residual_mlp(num_blocks=1), batch()
    h = model.input_layer(gc.tensor(x)).data
    branch = model.blocks[0].block(gc.tensor(h)).data
    assert forward_growth(model, x).gain[0] == pytest.approx(np.linalg.norm(branch) / np.linalg.norm(h))


def test_a_branch_scale_multiplies_the_first_blocks_gain():
    x = batch()
    unscaled = forward_growth(residual_mlp(), x).gain[0]
    assert forward_growth(residual_mlp(branch_scale=0.25), x).gain[0] == pytest.approx(0.25 * unscaled)


def test_zero_initialised_branches_start_as_the_identity():
    signal = forward_growth(residual_mlp(zero_init_residual=True), batch())
    np.testing.assert_array_equal(signal.gain, 0.0)
    assert signal.growth == pytest.approx(1.0)


def test_kaiming_branches_add_about_twice_the_input_variance():
    """v = Var(F(x)) / Var(x) = 2 for Linear -> ReLU -> Linear with Var(W) = 2 / n."""
    gc.manual_seed(0)
    model = nn.MLP(16, 256, 4, 20, activation="relu", init="kaiming_normal", residual=True)
    signal = forward_growth(model, np.random.default_rng(0).normal(size=(512, 16)))
    assert np.mean(signal.gain ** 2) == pytest.approx(2.0, rel=0.15)
    assert signal.uncorrelated_growth == pytest.approx(np.prod(np.sqrt(1 + signal.gain ** 2)))
    assert signal.growth == pytest.approx(signal.uncorrelated_growth, rel=0.5)


def test_only_residual_mlps_are_accepted():
    gc.manual_seed(0)
    with pytest.raises(ValueError, match="residual=True"):
        forward_growth(nn.MLP(8, 16, 3, 4, activation="relu"), batch())


def test_branch_weights_are_the_two_matrices_of_every_branch():
    model = residual_mlp(num_blocks=3, norm="layer")
    weights = branch_weights(model)
    assert len(weights) == 6 and all(w.data.shape == (16, 16) for w in weights)


def test_the_recorder_logs_one_row_per_step_before_each_update():
    X, y = data.spirals(90, seed=0)
    model = residual_mlp(num_blocks=4)
    model.input_layer = nn.Sequential(nn.Linear(2, 16), nn.ReLU())
    recorder = GrowthRecorder(model, X)
    at_start = forward_growth(model, X)
    history = training.fit(model, X, y, optim.SGD(model.parameters(), lr=0.1), 5, batch_size=30,
                           flow=recorder, progress=False, seed=0)
    record = recorder.history
    assert set(record) == {"growth", "uncorrelated_growth", "mean_gain", "max_gain", "weight_change", "lr"}
    assert all(len(values) == len(history.loss) == 5 for values in record.values())
    assert record["growth"][0] == pytest.approx(at_start.growth)
    assert record["mean_gain"][0] == pytest.approx(np.mean(at_start.gain))
    assert record["uncorrelated_growth"][0] == pytest.approx(at_start.uncorrelated_growth)
    assert record["weight_change"][0] == 0.0
    assert np.all(np.diff(record["weight_change"]) > 0)
    np.testing.assert_allclose(record["lr"], 0.1)


def test_an_empty_recorder_has_empty_columns():
    history = GrowthRecorder(residual_mlp(), batch()).history
    assert all(values.shape == (0,) for values in history.values())


# ----- bad arguments (issue 17, hostile round) -----------------------------------------------------
@pytest.mark.parametrize("call", [lambda m: forward_growth(m, np.ones((3, 2))), branch_weights,
                                  lambda m: GrowthRecorder(m, np.ones((3, 2)))])
def test_a_model_that_is_not_a_module_is_a_type_error_naming_model(call):
    with pytest.raises(TypeError, match=r"model must be an nn\.Module"):
        call(5)


def test_a_plain_net_is_a_value_error_and_the_batch_and_lr_are_checked():
    with pytest.raises(ValueError, match="forward_growth: model must be an nn.MLP built with residual=True"):
        forward_growth(nn.MLP(2, 4, 2, 2), np.ones((3, 2)))
    model = nn.MLP(2, 4, 2, 2, residual=True)
    with pytest.raises(ValueError, match="forward_growth: x must be a non-empty batch"):
        forward_growth(model, np.ones((0, 2)))
    with pytest.raises(TypeError, match="GrowthRecorder: x must be an array of real numbers"):
        GrowthRecorder(model, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="GrowthRecorder.record: lr must be a number >= 0"):
        GrowthRecorder(model, np.ones((3, 2))).record(lr=-1.0)


@pytest.mark.parametrize("call", [forward_growth, GrowthRecorder])
def test_a_nan_or_inf_batch_is_a_value_error_naming_x(call):
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"x\[0, 0\] must be a finite number"):
            call(residual_mlp(), np.full((2, 8), bad))


def test_all_zero_parameters_give_zero_gains_and_growth_not_nan():
    model = residual_mlp()
    for p in model.parameters():
        p.data[...] = 0.0
    signal = forward_growth(model, batch())
    assert np.array_equal(signal.gain, np.zeros(len(model.blocks))) and signal.growth == 0.0
    recorder = GrowthRecorder(model, batch())
    recorder.record(lr=0.1)
    assert recorder.history["weight_change"][0] == 0.0 and recorder.history["mean_gain"][0] == 0.0
