"""Initialisation schemes: each variance against its formula, gains, validation, Linear's init."""
import math

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import init, nn
from gradcourse.autograd import Tensor

FAN_IN, FAN_OUT = 400, 300  # a (fan_in, fan_out) = (in_features, out_features) weight


def weight(shape=(FAN_IN, FAN_OUT)):
    return Tensor(np.full(shape, np.nan))


def variance_about_zero(t):
    return float(np.mean(t.data ** 2))


# ----- variances against the papers' formulas -------------------------------------------------
SCHEMES = [
    # (name, fill, target variance)
    ("xavier_uniform", lambda w: init.xavier_uniform_(w), 2 / (FAN_IN + FAN_OUT)),
    ("xavier_uniform gain 2", lambda w: init.xavier_uniform_(w, gain=2.0), 4 * 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal", lambda w: init.xavier_normal_(w), 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal tanh", lambda w: init.xavier_normal_(w, gain=init.calculate_gain("tanh")),
     (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT)),
    ("kaiming_uniform", lambda w: init.kaiming_uniform_(w), 2 / FAN_IN),
    ("kaiming_normal", lambda w: init.kaiming_normal_(w), 2 / FAN_IN),
    ("kaiming_normal fan_out", lambda w: init.kaiming_normal_(w, mode="fan_out"), 2 / FAN_OUT),
    ("kaiming_uniform leaky 0.2", lambda w: init.kaiming_uniform_(w, a=0.2),
     2 / (1 + 0.2 ** 2) / FAN_IN),
    ("kaiming_normal tanh fan_out", lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="tanh"),
     (5 / 3) ** 2 / FAN_OUT),
    ("uniform(-3, 3)", lambda w: init.uniform_(w, -3.0, 3.0), 6.0 ** 2 / 12),
    ("normal std 0.5", lambda w: init.normal_(w, std=0.5), 0.25),
]


@pytest.mark.parametrize("name, fill, target", SCHEMES, ids=[s[0] for s in SCHEMES])
def test_empirical_variance_is_within_5_percent_of_the_formula(name, fill, target):
    gc.manual_seed(1)
    w = weight()
    assert fill(w) is w  # in place, returning the tensor
    assert abs(float(w.data.mean())) < 0.05 * math.sqrt(target)
    assert variance_about_zero(w) == pytest.approx(target, rel=0.05)


@pytest.mark.parametrize("fill, bound", [
    (lambda w: init.xavier_uniform_(w), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda w: init.kaiming_uniform_(w), math.sqrt(6 / FAN_IN)),
    (lambda w: init.uniform_(w, -0.1, 0.1), 0.1),
])
def test_uniform_schemes_stay_inside_their_bounds_and_nearly_reach_them(fill, bound):
    gc.manual_seed(2)
    w = fill(weight())
    assert np.all(np.abs(w.data) <= bound)
    assert np.max(np.abs(w.data)) > 0.99 * bound


def test_uniform_default_range_is_zero_to_one():
    gc.manual_seed(3)
    w = init.uniform_(weight())
    assert w.data.min() >= 0 and w.data.max() <= 1
    assert w.data.mean() == pytest.approx(0.5, abs=0.01)


def test_normal_mean_and_constant_fills():
    gc.manual_seed(4)
    assert init.normal_(weight(), mean=3.0).data.mean() == pytest.approx(3.0, abs=0.01)
    assert np.all(init.zeros_(weight()).data == 0)
    assert np.all(init.ones_(weight()).data == 1)
    assert np.all(init.constant_(weight((3,)), 0.25).data == 0.25)


# ----- orthogonal --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(400, 300), (300, 400), (50, 50)], ids=["tall", "wide", "square"])
@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_orthogonal_columns_or_rows_are_orthonormal_times_gain(shape, gain):
    gc.manual_seed(5)
    w = init.orthogonal_(weight(shape), gain=gain).data
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(shape)), atol=1e-10)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), gain, atol=1e-10)


@pytest.mark.parametrize("shape", [(40, 30), (30, 40)], ids=["tall", "wide"])
def test_orthogonal_is_the_sign_fixed_q_factor_of_a_gaussian_matrix(shape):
    # PyTorch's recipe: A ~ N(0, 1) of shape (rows, cols), transposed if wide; A = QR; Q * sign(diag R).
    # Then Q^T A is R with a positive diagonal: upper triangular, diagonal > 0.
    gc.manual_seed(6)
    w = init.orthogonal_(weight(shape)).data
    a = np.random.default_rng(6).standard_normal(shape)
    q, a_tall = (w, a) if shape[0] >= shape[1] else (w.T, a.T)
    r = q.T @ a_tall
    assert np.allclose(np.tril(r, -1), 0, atol=1e-10)
    assert np.all(np.diag(r) > 0)


# ----- gains -------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity, param, expected", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)),
])
def test_calculate_gain_matches_the_formula(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_unknown_nonlinearity_lists_the_valid_ones():
    with pytest.raises(ValueError, match="tanh.*relu.*leaky_relu"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="swish"):
        init.kaiming_normal_(weight(), nonlinearity="swish")
    with pytest.raises(TypeError, match="calculate_gain: param must be a finite number, got '0.1'"):
        init.calculate_gain("leaky_relu", "0.1")


def test_unknown_mode_lists_fan_in_and_fan_out():
    with pytest.raises(ValueError, match="kaiming_uniform_: mode must be one of 'fan_in', 'fan_out'"):
        init.kaiming_uniform_(weight(), mode="fan_avg")


@pytest.mark.parametrize("fill", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                  init.kaiming_normal_, init.orthogonal_])
def test_fan_based_schemes_reject_a_1d_tensor(fill):
    with pytest.raises(ValueError, match="2 dimensions"):
        fill(weight((10,)))


def test_fans_follow_the_in_features_out_features_layout():
    assert init.calculate_fan_in_and_fan_out(weight((7, 3))) == (7, 3)
    assert init.calculate_fan_in_and_fan_out(weight((7, 3, 2, 2))) == (28, 12)


# ----- reproducibility and the module path ---------------------------------------------------
def test_manual_seed_makes_every_scheme_repeatable():
    fills = [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
             init.orthogonal_, init.normal_, init.uniform_]
    runs = []
    for _ in range(2):
        gc.manual_seed(123)
        runs.append([fill(weight((20, 10))).data.copy() for fill in fills])
    for first, second in zip(*runs):
        np.testing.assert_array_equal(first, second)
    gc.manual_seed(124)
    assert not np.array_equal(init.xavier_uniform_(weight((20, 10))).data, runs[0][0])


def test_nn_init_fills_a_layer_the_pytorch_way():
    """`nn.init.kaiming_normal_(layer.weight, ...)`, as written with PyTorch, fills the layer in place."""
    gc.manual_seed(3)
    layer = nn.Linear(FAN_IN, FAN_OUT)
    returned = nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    assert returned is layer.weight
    assert variance_about_zero(layer.weight) == pytest.approx(2 / FAN_IN, rel=0.02)


def test_every_gain_matches_pytorch():
    torch_init = pytest.importorskip("torch.nn.init")
    assert init.calculate_gain("identity") == init.calculate_gain("linear")  # our alias; PyTorch has no "identity"
    for name in set(init.NONLINEARITIES) - {"identity"}:
        assert init.calculate_gain(name) == pytest.approx(torch_init.calculate_gain(name), rel=1e-12), name
    assert init.calculate_gain("leaky_relu", 0.3) == pytest.approx(torch_init.calculate_gain("leaky_relu", 0.3))


def test_default_leaky_relu_slope_is_pytorchs_everywhere():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, 3.0])
    assert np.allclose(nn.LeakyReLU()(x).data, torch.nn.LeakyReLU()(torch.tensor(x)).numpy())
    assert init.calculate_gain("leaky_relu") == pytest.approx(torch.nn.init.calculate_gain("leaky_relu"))


# ----- Linear's init argument ----------------------------------------------------------------
def test_linear_default_is_pytorchs_uniform_bound_for_weight_and_bias():
    gc.manual_seed(7)
    layer = nn.Linear(FAN_IN, FAN_OUT)
    bound = 1 / math.sqrt(FAN_IN)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.data) <= bound)
        assert np.max(np.abs(p.data)) > 0.95 * bound
    assert variance_about_zero(layer.weight) == pytest.approx(1 / (3 * FAN_IN), rel=0.05)


NAMED_SCHEME_VARIANCES = [
    ("xavier_uniform", 2 / (FAN_IN + FAN_OUT)), ("xavier_normal", 2 / (FAN_IN + FAN_OUT)),
    ("kaiming_uniform", 2 / FAN_IN), ("kaiming_normal", 2 / FAN_IN),
    ("orthogonal", 1 / FAN_IN),  # tall: FAN_OUT unit columns over FAN_IN * FAN_OUT entries
    ("normal", 1.0),
]


def test_every_linear_scheme_has_a_test_of_what_it_draws():
    tested_elsewhere = {"default", "zeros"}  # test_linear_default_is_pytorchs_..., test_linear_zeros_scheme_...
    assert set(init.LINEAR_SCHEMES) == {name for name, _ in NAMED_SCHEME_VARIANCES} | tested_elsewhere


@pytest.mark.parametrize("scheme, target", NAMED_SCHEME_VARIANCES)
def test_linear_named_schemes_give_their_variance_and_a_zero_bias(scheme, target):
    gc.manual_seed(8)
    layer = nn.Linear(FAN_IN, FAN_OUT, init=scheme)
    assert variance_about_zero(layer.weight) == pytest.approx(target, rel=0.05)
    assert np.all(layer.bias.data == 0)


def test_linear_zeros_scheme_and_no_bias():
    layer = nn.Linear(4, 3, init="zeros")
    assert np.all(layer.weight.data == 0) and np.all(layer.bias.data == 0)
    assert nn.Linear(4, 3, bias=False, init="xavier_normal").bias is None


def test_linear_accepts_a_function_that_fills_the_weight_in_place():
    seen = []

    def fill(w):
        seen.append(w.shape)
        return init.constant_(w, 0.5)

    layer = nn.Linear(5, 2, init=fill)
    assert seen == [(5, 2)]
    assert np.all(layer.weight.data == 0.5) and np.all(layer.bias.data == 0)


def test_linear_unknown_scheme_lists_the_valid_names():
    with pytest.raises(ValueError, match="xavier_uniform.*kaiming_normal.*orthogonal"):
        nn.Linear(3, 2, init="he")


def test_linear_with_manual_seed_is_repeatable_and_reset_parameters_redraws():
    gc.manual_seed(9)
    a = nn.Linear(6, 4, init="kaiming_normal")
    gc.manual_seed(9)
    b = nn.Linear(6, 4, init="kaiming_normal")
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    before = a.weight.data.copy()
    a.reset_parameters("kaiming_normal")
    assert not np.array_equal(before, a.weight.data)
