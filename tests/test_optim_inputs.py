"""What the optimisers and the clipping functions accept and refuse (as PyTorch does), the
per-parameter step count of Adam and the exact clipping rule at max_norm.

Every refusal is checked for its type and for a message that names the argument and the problem.
"""
import math

import numpy as np
import pytest

from gradcourse import nn, optim
from gradcourse.autograd import tensor


def leaf(*shape):
    return tensor(np.zeros(shape), requires_grad=True)


def two_models_sharing_a_layer():
    shared = nn.Linear(2, 2)
    return nn.Sequential(nn.Linear(3, 2), nn.Tanh(), shared), nn.Sequential(shared, nn.Tanh(), nn.Linear(2, 1))


# ---------------------------------------------------------------------------
# What an optimiser is given

@pytest.mark.parametrize("params, message", [
    (nn.Linear(2, 2), "SGD: params must be the model's parameters, not the module: pass model.parameters() "
                      "(or model.named_parameters()), got Linear("),
    ({"w": leaf(2)}, "SGD: params must be a list of parameters, not a dict (parameter groups are not supported): "
                     "pass list(model.parameters()), got {'w':"),
    (3, "SGD: params must be an iterable of parameters such as model.parameters(), got 3"),
    ([leaf(2), "w"], "SGD: params[1] must be a parameter (a Tensor with requires_grad=True), got 'w'"),
    ([nn.Linear(2, 2)], "SGD: params[0] must be a parameter, not a module: pass model.parameters(), got Linear("),
])
def test_what_is_not_a_list_of_parameters_is_a_type_error(params, message):
    with pytest.raises(TypeError) as info:
        optim.SGD(params, lr=0.1)
    assert message in str(info.value)


def test_a_parameter_listed_twice_is_refused_naming_both_places():
    w, b = leaf(2, 2), leaf(2)
    with pytest.raises(ValueError, match=r"Adam: some parameters appear more than once.*"
                                         r"parameter 2 of shape \(2, 2\) is parameter 0 of shape \(2, 2\)"):
        optim.Adam([w, b, w])


def test_two_models_sharing_a_layer_are_refused_naming_the_shared_parameter():
    a, b = two_models_sharing_a_layer()
    with pytest.raises(ValueError, match=r"more than once.*parameter 4 of shape \(2, 2\) is parameter 2"):
        optim.SGD(list(a.parameters()) + list(b.parameters()), lr=0.1)
    named = [(f"a.{n}", p) for n, p in a.named_parameters()] + [(f"b.{n}", p) for n, p in b.named_parameters()]
    with pytest.raises(ValueError, match=r"parameter 4 'b\.0\.weight' of shape \(2, 2\) is parameter 2 'a\.2\.weight'"):
        optim.SGD(named, lr=0.1)


def test_a_non_leaf_tensor_is_refused_as_in_pytorch():
    w = leaf(2)
    with pytest.raises(ValueError, match=r"SGD: can't optimize a non-leaf Tensor: params\[1\]"):
        optim.SGD([leaf(3), w * 2.0], lr=0.1)


def test_a_tensor_without_requires_grad_is_refused():
    with pytest.raises(ValueError, match=r"Adam: params\[0\] must be a Tensor with requires_grad=True"):
        optim.Adam([tensor(np.zeros(2))])


def test_one_parameter_on_its_own_is_a_list_of_one():
    w = leaf(2)
    assert optim.SGD(w, lr=0.1).params == [w]


@pytest.mark.parametrize("make, error, message", [
    (lambda p: optim.SGD(p, lr=True), TypeError, "SGD: lr must be a number >= 0, got True"),
    (lambda p: optim.SGD(p, lr="0.1"), TypeError, "SGD: lr must be a number >= 0, got '0.1'"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov="yes"), TypeError, "SGD: nesterov must be True or False"),
    (lambda p: optim.Adam(p, betas=0.9), TypeError, "Adam: betas must be a pair (beta1, beta2), got 0.9"),
    (lambda p: optim.Adam(p, amsgrad=1), TypeError, "Adam: amsgrad must be True or False, got 1"),
    (lambda p: optim.RMSprop(p, alpha=float("nan")), ValueError, "RMSprop: alpha must be a number in [0, 1), got nan"),
    (lambda p: optim.Adagrad(p, eps=float("inf")), ValueError, "Adagrad: eps must be a number > 0, got inf"),
])
def test_hyperparameters_of_the_wrong_kind_or_value_are_named(make, error, message):
    with pytest.raises(error) as info:
        make([leaf(2)])
    assert message in str(info.value)


# ---------------------------------------------------------------------------
# Gradients and state of the wrong shape

def test_a_gradient_of_the_wrong_shape_is_refused_before_anything_moves():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    model[0].bias.grad = np.ones((1, 2))              # would broadcast silently into the (2,) bias
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"SGD: the \.grad of parameter 1 '0\.bias' of shape \(2,\) has "
                                         r"shape \(1, 2\) at step 1"):
        opt.step()
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)
    assert opt.step_count == 0


def test_a_gradient_that_is_not_an_array_is_a_type_error():
    w = leaf(2)
    opt = optim.Adam([w])
    w.grad = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"Adam: the \.grad of parameter 0 of shape \(2,\) must be a numpy array, "
                                        r"got list"):
        opt.step()


def stepped_adam(*shapes, amsgrad=False):
    params = [leaf(*shape) for shape in shapes]
    opt = optim.Adam(params, amsgrad=amsgrad)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    return params, opt


def test_load_state_dict_refuses_state_of_the_wrong_shape_naming_index_key_and_shapes():
    _, saved = stepped_adam((2, 3), (3,))
    params, opt = stepped_adam((2, 3), (4,))
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"Adam\.load_state_dict: np\.shape\(state_dict\['state'\]\[1\]\['exp_avg'\]\) "
                                         r"must be \(4,\), the shape of parameter 1 of shape \(4,\), got \(3,\)"):
        opt.load_state_dict(saved.state_dict())
    np.testing.assert_array_equal(opt.state[1]["exp_avg"], before["state"][1]["exp_avg"])  # nothing loaded


def test_load_state_dict_refuses_missing_or_foreign_state_keys():
    _, opt = stepped_adam((2,))
    saved = opt.state_dict()
    del saved["state"][0]["exp_avg_sq"]
    with pytest.raises(ValueError, match=r"the keys of state_dict\['state'\]\[0\] must be the keys Adam keeps for "
                                         r"parameter 0 of shape \(2,\), \['exp_avg', 'exp_avg_sq', 'step'\], "
                                         r"got \['exp_avg', 'step'\]"):
        opt.load_state_dict(saved)
    with pytest.raises(ValueError, match=r"state_dict must be a dict with keys 'hyperparameters', 'step_count' "
                                         r"and 'state'"):
        opt.load_state_dict({"state": []})


def test_load_state_dict_checks_the_state_against_the_loaded_hyperparameters():
    """An AMSGrad state (with its running maximum) loads into a plain Adam, which becomes AMSGrad."""
    _, amsgrad = stepped_adam((2,), amsgrad=True)
    _, plain = stepped_adam((2,))
    plain.load_state_dict(amsgrad.state_dict())
    assert plain.amsgrad and "max_exp_avg_sq" in plain.state[0]


def test_load_state_dict_takes_numpy_scalars_and_0d_arrays_as_the_scalars_they_hold():
    """As numpy and pickle tools give them back: Adam's step as np.int64 or a 0-d array, the step
    count and hyperparameters as 0-d arrays, betas as an array; loaded as plain Python values."""
    params, opt = stepped_adam((2,), (3,))
    saved = opt.state_dict()
    saved["state"][0]["step"], saved["state"][1]["step"] = np.int64(1), np.array(1)
    saved["step_count"] = np.array(1)
    saved["hyperparameters"].update(lr=np.array(0.01), betas=np.array([0.8, 0.9]), amsgrad=np.array(False))
    fresh = optim.Adam([leaf(2), leaf(3)])
    fresh.load_state_dict(saved)
    assert [type(state["step"]) for state in fresh.state] == [int, int] and fresh.step_count == 1
    assert (fresh.lr, fresh.betas, fresh.amsgrad) == (0.01, (0.8, 0.9), False)
    assert type(fresh.lr) is float and type(fresh.amsgrad) is bool
    np.testing.assert_array_equal(fresh.state[1]["exp_avg"], opt.state[1]["exp_avg"])


@pytest.mark.parametrize("step, error", [(np.zeros(2), TypeError), (1.0, TypeError), (None, TypeError),
                                         ("1", TypeError), (True, TypeError), (np.int64(-1), ValueError)])
def test_load_state_dict_names_a_step_that_is_not_a_non_negative_integer(step, error):
    _, opt = stepped_adam((2,))
    saved = opt.state_dict()
    saved["state"][0]["step"] = step
    with pytest.raises(error, match=r"Adam\.load_state_dict: state_dict\['state'\]\[0\]\['step'\] must be a "
                                    r"non-negative integer, got "):
        opt.load_state_dict(saved)
    assert opt.state[0]["step"] == 1  # nothing loaded


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.RMSprop(ps),
                                  lambda ps: optim.Adagrad(ps), lambda ps: optim.AdamW(ps, amsgrad=True)],
                         ids=["SGD", "RMSprop", "Adagrad", "AdamW"])
def test_every_optimisers_state_loads_from_lists_and_refuses_strings(make):
    """A 0-d parameter's state may be numpy scalars; a 1-D one's, lists (as from JSON): both are
    loaded as float arrays. Text where an array belongs is a TypeError naming the key."""
    params = [leaf(), leaf(2)]
    opt = make(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    saved = opt.state_dict()
    for state in saved["state"]:
        for key, value in state.items():
            state[key] = value[()] if np.ndim(value) == 0 and isinstance(value, np.ndarray) else \
                value.tolist() if isinstance(value, np.ndarray) else value
    fresh = make([leaf(), leaf(2)])
    fresh.load_state_dict(saved)
    for loaded, original in zip(fresh.state, opt.state):
        for key, value in original.items():
            if key == "step":
                assert type(loaded[key]) is int
            else:
                assert isinstance(loaded[key], np.ndarray) and loaded[key].shape == np.shape(value)
            np.testing.assert_array_equal(loaded[key], value)
    key = next(k for k, v in opt.state[1].items() if isinstance(v, np.ndarray))
    saved["state"][1][key] = ["a", "b"]
    with pytest.raises(TypeError, match=rf"state_dict\['state'\]\[1\]\['{key}'\] must be an array of numbers "
                                        r"of shape \(2,\)"):
        fresh.load_state_dict(saved)


# ---------------------------------------------------------------------------
# Adam counts steps per parameter, as PyTorch does

def test_adam_counts_steps_per_parameter():
    """A parameter that first gets a gradient at step 3 takes Adam's first step (t = 1), whose
    bias correction makes m^ = g and v^ = g^2: it moves by lr * g / (|g| + eps), exactly."""
    early, late = leaf(2), leaf(2)
    opt = optim.Adam([early, late], lr=0.1)
    for _ in range(2):
        early.grad = np.array([1.0, -1.0])
        opt.step()
    early.grad, late.grad = np.array([1.0, -1.0]), np.array([0.5, -4.0])
    opt.step()
    assert opt.step_count == 3 and opt.state[0]["step"] == 3 and opt.state[1]["step"] == 1
    g = np.array([0.5, -4.0])
    np.testing.assert_allclose(late.data, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-13)


# ---------------------------------------------------------------------------
# Clipping

def test_clipping_at_exactly_max_norm_scales_by_pytorchs_coefficient():
    """PyTorch: clip_coef = max_norm / (total + 1e-6), applied when < 1, so a norm equal to
    max_norm is scaled by max_norm / (max_norm + 1e-6), not left alone."""
    w = leaf(2)
    w.grad = np.array([3.0, 4.0])                     # norm exactly 5
    assert optim.clip_grad_norm_([w], max_norm=5.0) == 5.0
    np.testing.assert_array_equal(w.grad, np.array([3.0, 4.0]) * (5.0 / (5.0 + 1e-6)))


def model_with_grads():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    for k, p in enumerate(model.parameters()):
        p.grad = np.full_like(p.data, k + 1.0)
    return model


def test_clipping_and_grad_norm_accept_named_parameters():
    expected = model_with_grads()
    norm = optim.clip_grad_norm_(expected.parameters(), 1.0)
    model = model_with_grads()
    assert optim.grad_norm(model.named_parameters()) == norm
    assert optim.clip_grad_norm_(model.named_parameters(), 1.0) == norm
    for p, q in zip(model.parameters(), expected.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)
    optim.clip_grad_value_(model.named_parameters(), 0.1)
    assert all(np.abs(p.grad).max() <= 0.1 for p in model.parameters())


@pytest.mark.parametrize("norm_type, error, message", [
    (0, ValueError, "clip_grad_norm_: norm_type must be a number > 0, got 0"),
    (-2.0, ValueError, "clip_grad_norm_: norm_type must be a number > 0, got -2.0"),
    (float("nan"), ValueError, "clip_grad_norm_: norm_type must be a number > 0, got nan"),
    ("fro", TypeError, "clip_grad_norm_: norm_type must be a number > 0, got 'fro'"),
])
def test_clip_grad_norm_checks_norm_type(norm_type, error, message):
    with pytest.raises(error) as info:
        optim.clip_grad_norm_(model_with_grads().parameters(), 1.0, norm_type=norm_type)
    assert message in str(info.value)


def test_clip_grad_norm_takes_the_inf_norm_and_an_infinite_max_norm_never_clips():
    assert optim.clip_grad_norm_(model_with_grads().parameters(), 1.0, norm_type=math.inf) == 4.0
    model = model_with_grads()
    assert optim.clip_grad_norm_(model.parameters(), math.inf) == optim.grad_norm(model.parameters()) > 1
    assert [float(p.grad.flat[0]) for p in model.parameters()] == [1.0, 2.0, 3.0, 4.0]


def test_clipping_refuses_a_module_and_duplicates():
    model = model_with_grads()
    with pytest.raises(TypeError, match=r"clip_grad_norm_: .*pass model\.parameters\(\)"):
        optim.clip_grad_norm_(model, 1.0)
    w = model.parameters()[0]
    with pytest.raises(ValueError, match="clip_grad_value_: some parameters appear more than once"):
        optim.clip_grad_value_([w, w], 1.0)


# ---------------------------------------------------------------------------
# load_state_dict checks what it loads as the constructor checks what it is given

@pytest.mark.parametrize("state_dict, error, message", [
    (None, TypeError, "SGD.load_state_dict: state_dict must be a dict from optimizer.state_dict(), got None"),
    ([1, 2], TypeError, "SGD.load_state_dict: state_dict must be a dict"),
    ({"hyperparameters": None, "step_count": 0, "state": [None]}, TypeError,
     "state_dict['hyperparameters'] must be a dict"),
    ({"hyperparameters": {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
      "step_count": 0, "state": 5}, TypeError, "state_dict['state'] must be a list"),
    ({"hyperparameters": {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
      "step_count": 0, "state": ["x"]}, TypeError, "state_dict['state'][0] must be a dict or None"),
    ({"hyperparameters": {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
      "step_count": -1, "state": [None]}, ValueError, "state_dict['step_count'] must be a non-negative integer"),
])
def test_load_state_dict_names_a_malformed_state_dict(state_dict, error, message):
    opt = optim.SGD([leaf(2)], lr=0.1)
    with pytest.raises(error) as info:
        opt.load_state_dict(state_dict)
    assert message in str(info.value)
    assert opt.lr == 0.1


@pytest.mark.parametrize("name, value, error, message", [
    ("lr", -1.0, ValueError, "SGD: lr must be a number >= 0, got -1.0"),
    ("lr", "x", TypeError, "SGD: lr must be a number >= 0, got 'x'"),
    ("lr", math.nan, ValueError, "SGD: lr must be a number >= 0, got nan"),
    ("nesterov", "yes", TypeError, "SGD: nesterov must be True or False"),
    ("momentum", -0.5, ValueError, "SGD: momentum must be a number >= 0"),
])
def test_load_state_dict_checks_hyperparameters_as_the_constructor_does(name, value, error, message):
    opt = optim.SGD([leaf(2)], lr=0.1, momentum=0.9)
    saved = opt.state_dict()
    saved["hyperparameters"][name] = value
    with pytest.raises(error) as info:
        opt.load_state_dict(saved)
    assert "SGD.load_state_dict: state_dict['hyperparameters']" in str(info.value) and message in str(info.value)
    assert (opt.lr, opt.momentum, opt.nesterov) == (0.1, 0.9, False)  # nothing loaded


def test_loaded_hyperparameters_are_the_checked_values():
    opt = optim.Adam([leaf(2)])
    saved = opt.state_dict()
    saved["hyperparameters"]["betas"] = [0.5, 0.6]
    opt.load_state_dict(saved)
    assert opt.betas == (0.5, 0.6)
    bad = opt.state_dict()
    bad["hyperparameters"]["betas"] = (0.5, 1.0)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a number in \[0, 1\)"):
        opt.load_state_dict(bad)


def test_zero_grad_takes_a_bool_flag():
    with pytest.raises(TypeError, match="SGD.zero_grad: set_to_none must be True or False, got 'no'"):
        optim.SGD([leaf(2)], lr=0.1).zero_grad("no")


def test_check_optimizer_names_the_argument_and_a_foreign_optimiser():
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="where: optimizer must be an optimiser"):
        optim.check_optimizer("opt", "where")
    with pytest.raises(ValueError, match="where: optimizer must be an optimiser holding some of the model's "
                                         "parameters"):
        optim.check_optimizer(optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1), "where", model)
    some = optim.SGD([model.weight], lr=0.1)  # training some layers only is allowed
    assert optim.check_optimizer(some, "where", model) is some


# ---------------------------------------------------------------------------
# clip_grad_norm_ with a non-finite norm does what PyTorch does

@pytest.mark.parametrize("grad, max_norm", [
    ([math.inf, 1.0], 1.0), ([math.nan, 1.0], 1.0), ([math.inf, 1.0], math.inf), ([-math.inf, 2.0], 0.5),
    ([3.0, 4.0], math.inf), ([3.0, 4.0], 1e-3), ([3.0, 4.0], 1.0),
])
def test_clip_grad_norm_with_a_non_finite_norm_matches_torch(grad, max_norm):
    torch = pytest.importorskip("torch")
    p = leaf(2)
    p.grad = np.array(grad)
    theirs = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    theirs.grad = torch.tensor(grad, dtype=torch.float64)
    with np.errstate(all="raise"):  # no numpy warning escapes either
        norm = optim.clip_grad_norm_([p], max_norm)
    their_norm = torch.nn.utils.clip_grad_norm_([theirs], max_norm)
    np.testing.assert_allclose(norm, float(their_norm), rtol=1e-12)
    np.testing.assert_allclose(p.grad, theirs.grad.numpy(), rtol=1e-12)  # nan where torch has nan


def test_clip_grad_norm_error_if_nonfinite_raises_as_pytorch_and_leaves_the_gradients():
    p = leaf(2)
    p.grad = np.array([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is inf"):
        optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad.tolist() == [math.inf, 1.0]
    with pytest.raises(TypeError, match="clip_grad_norm_: error_if_nonfinite must be True or False"):
        optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=1)


# ---------------------------------------------------------------------------
# Round 3: one rule for a clipping threshold (check_clip_threshold), the one fit and the remedies use

@pytest.mark.parametrize("value, error", [(0, ValueError), (0.0, ValueError), (-1.0, ValueError),
                                          (math.nan, ValueError), ("1", TypeError), (None, TypeError)])
def test_a_clipping_threshold_is_a_number_above_zero(value, error):
    with pytest.raises(error, match=r"clip_grad_norm_: max_norm must be a number > 0, got "):
        optim.clip_grad_norm_(model_with_grads().parameters(), value)
    with pytest.raises(error, match=r"clip_grad_value_: clip_value must be a number > 0, got "):
        optim.clip_grad_value_(model_with_grads().parameters(), value)


def test_check_clip_threshold_takes_inf_and_none_when_optional():
    assert optim.check_clip_threshold("clip", math.inf, "here") == math.inf
    assert optim.check_clip_threshold("clip", None, "here", optional=True) is None
    with pytest.raises(TypeError, match="here: clip must be a number > 0, got None"):
        optim.check_clip_threshold("clip", None, "here")


def test_optimiser_argument_errors_follow_the_template():
    with pytest.raises(ValueError, match=r"^SGD: params must be a non-empty list.*got \[\]$"):
        optim.SGD(iter([]), lr=0.1)
