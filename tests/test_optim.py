"""Tests for gradcourse.optim: each optimiser against a plain-numpy reference written here from
PyTorch's documented pseudo-code, plus state dicts, errors, clipping and AMSGrad's counterexample.

Gradients are computed analytically in numpy and set by hand, so these tests do not depend on the
autograd. If torch is importable, extra tests compare with torch.optim as well.
"""
import copy
import math

import numpy as np
import pytest

from gradcourse import optim
from gradcourse.autograd import tensor

# ---------------------------------------------------------------------------
# The objective: f(x) = 1/2 x.A x + sum(sin(3 x)) over all parameters flattened into one x,
# with A symmetric positive definite and ill-conditioned (eigenvalues from 1 to 100).

SHAPES = [(3,), (2, 4), ()]
SIZE = sum(int(np.prod(s)) for s in SHAPES)


def _make_problem():
    rng = np.random.default_rng(1234)
    q, _ = np.linalg.qr(rng.standard_normal((SIZE, SIZE)))
    A = q @ np.diag(np.geomspace(1.0, 100.0, SIZE)) @ q.T
    x0 = rng.uniform(-2, 2, SIZE)
    return A, x0


A, X0 = _make_problem()


def gradient(x):
    return A @ x + 3 * np.cos(3 * x)


def split(x):
    """The flat vector x cut into arrays of SHAPES."""
    out, start = [], 0
    for shape in SHAPES:
        n = int(np.prod(shape))
        out.append(x[start:start + n].reshape(shape))
        start += n
    return out


def flatten(params):
    return np.concatenate([np.ravel(p.data) for p in params])


def make_params(x=X0):
    return [tensor(a.copy(), requires_grad=True) for a in split(x)]


def set_grads(params):
    for p, g in zip(params, split(gradient(flatten(params)))):
        p.grad = g.copy()


def run(opt, params, steps):
    """`steps` optimiser steps on the objective; returns the flat x after each step."""
    path = []
    for _ in range(steps):
        set_grads(params)
        opt.step()
        path.append(flatten(params))
    return np.array(path)


# ---------------------------------------------------------------------------
# References, one per algorithm, written from the pseudo-code in PyTorch's documentation.
# They work on the flat vector x; t counts from 1.

def reference_sgd(x, steps, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    path, b = [], None
    for t in range(1, steps + 1):
        g = gradient(x)
        if weight_decay != 0:
            g = g + weight_decay * x
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        x = x - lr * g
        path.append(x)
    return np.array(path)


def reference_rmsprop(x, steps, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                      weight_decay=0.0):
    path = []
    v, b, g_ave = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = gradient(x)
        if weight_decay != 0:
            g = g + weight_decay * x
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            x = x - lr * b
        else:
            x = x - lr * g / (np.sqrt(v_tilde) + eps)
        path.append(x)
    return np.array(path)


def reference_adagrad(x, steps, lr=0.01, eps=1e-10, weight_decay=0.0):
    path, state_sum = [], np.zeros_like(x)
    for t in range(1, steps + 1):
        g = gradient(x)
        if weight_decay != 0:
            g = g + weight_decay * x
        state_sum = state_sum + g**2
        x = x - lr * g / (np.sqrt(state_sum) + eps)
        path.append(x)
    return np.array(path)


def reference_adam(x, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, decoupled=False):
    beta1, beta2 = betas
    path, m, v, v_max = [], np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = gradient(x)
        if decoupled:                       # AdamW
            x = x - lr * weight_decay * x
        elif weight_decay != 0:             # Adam
            g = g + weight_decay * x
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(x)
    return np.array(path)


def reference_adamw(x, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                    amsgrad=False):
    return reference_adam(x, steps, lr, betas, eps, weight_decay, amsgrad, decoupled=True)


REFERENCES = {optim.SGD: reference_sgd, optim.RMSprop: reference_rmsprop,
              optim.Adagrad: reference_adagrad, optim.Adam: reference_adam,
              optim.AdamW: reference_adamw}

CONFIGS = [
    (optim.SGD, dict(lr=0.005)),
    (optim.SGD, dict(lr=0.002, momentum=0.9)),
    (optim.SGD, dict(lr=0.002, momentum=0.8, dampening=0.3, weight_decay=0.05)),
    (optim.SGD, dict(lr=0.002, momentum=0.9, nesterov=True)),
    (optim.SGD, dict(lr=0.002, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.003)),
    (optim.RMSprop, dict(lr=0.001, alpha=0.9, momentum=0.9, centered=True)),
    (optim.RMSprop, dict(lr=0.003, centered=True, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.001, momentum=0.5, weight_decay=0.01, eps=1e-6)),
    (optim.Adagrad, dict(lr=0.1)),
    (optim.Adagrad, dict(lr=0.3, weight_decay=0.05, eps=1e-6)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (optim.Adam, dict(lr=0.02, betas=(0.0, 0.99), weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, dict(lr=0.02, weight_decay=0.5, amsgrad=True)),
]
CONFIG_IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items())
              for cls, kw in CONFIGS]


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_optimiser_follows_its_documented_update_for_1000_steps(cls, kwargs):
    params = make_params()
    path = run(cls(params, **kwargs), params, 1000)
    expected = REFERENCES[cls](X0.copy(), 1000, **kwargs)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-14)
    assert np.abs(path[-1] - X0).max() > 0.1, "the run should actually move the parameters"


def test_adam_first_step_moves_each_coordinate_by_lr_times_sign_of_gradient():
    lr = 0.01
    grads = [np.array([1e-3, -2.0, 5e2]), np.array([[-1e-2, 3.0], [7.0, -1e3]])]
    params = [tensor(np.ones_like(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g
    optim.Adam(params, lr=lr).step()
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.data - 1.0, -lr * np.sign(g), rtol=1e-4)


def test_zero_grad_sets_grads_to_none_and_none_grads_are_skipped():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    set_grads(params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    params[0].grad = np.ones(3)
    before = [p.data.copy() for p in params]
    opt.step()
    opt.step()
    assert not np.array_equal(params[0].data, before[0])
    np.testing.assert_array_equal(params[1].data, before[1])
    assert opt.state[1] is None and opt.state[0]["step"] == 2 and opt.step_count == 2


def test_plain_sgd_step_is_exactly_lr_times_gradient_and_reads_the_live_lr():
    p = tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    p.grad = np.array([0.25, 1.0])
    opt.step()
    np.testing.assert_array_equal(p.data, [1.0 - 0.5 * 0.25, -2.0 - 0.5 * 1.0])
    opt.lr = 0.0
    opt.step()
    np.testing.assert_array_equal(p.data, [1.0 - 0.5 * 0.25, -2.0 - 0.5 * 1.0])


def test_parameters_may_be_passed_as_a_generator():
    params = make_params()
    opt = optim.SGD((p for p in params), lr=0.1)
    assert len(opt.params) == len(SHAPES)


# ---------------------------------------------------------------------------
# state_dict / load_state_dict

STATEFUL_CONFIGS = [c for c in CONFIGS if c[1].get("momentum") or c[0] is not optim.SGD]


@pytest.mark.parametrize("cls, kwargs", STATEFUL_CONFIGS,
                         ids=[i for c, i in zip(CONFIGS, CONFIG_IDS) if c in STATEFUL_CONFIGS])
def test_state_dict_resumes_the_identical_trajectory(cls, kwargs):
    params = make_params()
    opt = cls(params, **kwargs)
    run(opt, params, 20)
    saved = opt.state_dict()
    saved_copy = copy.deepcopy(saved)
    x20 = flatten(params)
    uninterrupted = run(opt, params, 20)
    opt.lr = 123.0                                  # mutating the optimiser after saving ...
    assert_state_dicts_equal(saved, saved_copy)     # ... leaves the saved dict alone

    resumed_params = make_params(x20)
    resumed_opt = cls(resumed_params, lr=9.0)      # the loaded hyperparameters replace these
    resumed_opt.load_state_dict(saved)
    resumed = run(resumed_opt, resumed_params, 20)
    np.testing.assert_array_equal(resumed, uninterrupted)
    assert resumed_opt.step_count == 40
    assert_state_dicts_equal(saved, saved_copy)     # the loaded optimiser copied it too


def assert_state_dicts_equal(a, b):
    assert a["hyperparameters"] == b["hyperparameters"]
    assert a["step_count"] == b["step_count"]
    assert len(a["state"]) == len(b["state"])
    for state_a, state_b in zip(a["state"], b["state"]):
        assert state_a.keys() == state_b.keys()
        for key in state_a:
            np.testing.assert_array_equal(state_a[key], state_b[key])


def test_load_state_dict_rejects_another_optimiser_or_other_parameters():
    params = make_params()
    saved = optim.Adam(params).state_dict()
    with pytest.raises(ValueError, match=r"len\(state_dict\['state'\]\) must be 2, one state per parameter of this optimiser, got 3"):
        optim.Adam(params[:2]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: state_dict\['hyperparameters'\] must be the hyperparameters of a SGD"):
        optim.SGD(params, lr=0.1).load_state_dict(saved)


# ---------------------------------------------------------------------------
# Errors

P0 = [tensor(np.zeros(2), requires_grad=True)]
BAD_HYPERPARAMETERS = [
    (lambda: optim.SGD(P0, lr=-0.1), "lr", "-0.1"),
    (lambda: optim.SGD(P0, lr=float("nan")), "lr", "nan"),
    (lambda: optim.SGD(P0, lr=0.1, momentum=-0.5), "momentum", "-0.5"),
    (lambda: optim.SGD(P0, lr=0.1, weight_decay=-1e-4), "weight_decay", "-0.0001"),
    (lambda: optim.SGD(P0, lr=0.1, dampening=1.5), "dampening", "1.5"),
    (lambda: optim.SGD(P0, lr=0.1, nesterov=True), "momentum", "0.0"),
    (lambda: optim.SGD(P0, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening",
     "0.1"),
    (lambda: optim.SGD([], lr=0.1), "params", "empty"),
    (lambda: optim.RMSprop(P0, alpha=1.0), "alpha", "1.0"),
    (lambda: optim.RMSprop(P0, alpha=-0.1), "alpha", "-0.1"),
    (lambda: optim.RMSprop(P0, eps=0.0), "eps", "0.0"),
    (lambda: optim.RMSprop(P0, momentum=-0.9), "momentum", "-0.9"),
    (lambda: optim.RMSprop(P0, lr=-1), "lr", "-1"),
    (lambda: optim.Adagrad(P0, eps=-1e-10), "eps", "-1e-10"),
    (lambda: optim.Adagrad(P0, weight_decay=-0.1), "weight_decay", "-0.1"),
    (lambda: optim.Adam(P0, betas=(1.0, 0.999)), r"betas\[0\]", "1.0"),
    (lambda: optim.Adam(P0, betas=(0.9, 1.5)), r"betas\[1\]", "1.5"),
    (lambda: optim.Adam(P0, betas=(-0.1, 0.999)), r"betas\[0\]", "-0.1"),
    (lambda: optim.Adam(P0, eps=0), "eps", "0"),
    (lambda: optim.Adam(P0, lr=-1e-3), "lr", "-0.001"),
    (lambda: optim.AdamW(P0, weight_decay=-0.01), "weight_decay", "-0.01"),
    (lambda: optim.AdamW(P0, betas=(0.9, 1.0)), r"betas\[1\]", "1.0"),
    (lambda: optim.AdamW([], lr=0.1), "params", "empty"),
    (lambda: optim.clip_grad_norm_(P0, max_norm=-1.0), "max_norm", "-1.0"),
    (lambda: optim.clip_grad_value_(P0, clip_value=-0.5), "clip_value", "-0.5"),
]


@pytest.mark.parametrize("make, name, value", BAD_HYPERPARAMETERS,
                         ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_HYPERPARAMETERS)])
def test_out_of_range_hyperparameters_raise_value_error_naming_them(make, name, value):
    with pytest.raises(ValueError, match=name) as info:
        make()
    assert value in str(info.value)


class NamedParameter:
    """A stand-in for a parameter that carries a name (the optimiser only needs .data, .grad)."""

    def __init__(self, data, name):
        self.data, self.grad, self.name = data, None, name


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_names_the_parameter_and_the_step(bad):
    params = make_params()
    params[1] = NamedParameter(params[1].data, "layer2.weight")
    opt = optim.SGD(params, lr=1e-3, momentum=0.9)
    run(opt, params, 2)
    set_grads(params)
    params[1].grad[1, 2] = bad
    before = [p.data.copy() for p in params]
    with pytest.raises(FloatingPointError) as info:
        opt.step()
    message = str(info.value)
    assert "parameter 1 'layer2.weight'" in message
    assert "(2, 4)" in message
    assert "step 3" in message
    for p, b in zip(params, before):      # nothing was updated by the failed step
        np.testing.assert_array_equal(p.data, b)
    assert opt.step_count == 2


def test_non_finite_gradient_without_a_name_gives_the_index():
    params = make_params()
    params[2].grad = np.array(np.nan)
    with pytest.raises(FloatingPointError, match=r"parameter 2 of shape \(\) at step 1"):
        optim.Adam(params).step()


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_huge_but_finite_gradient_is_not_mistaken_for_overflow():
    # 1e200**2 overflows, so a quick sum-of-squares test alone would call this non-finite.
    p = tensor(np.zeros((4, 4)), requires_grad=True)
    p.grad = np.full((4, 4), 1e200)
    optim.SGD([p], lr=1e-200).step()
    np.testing.assert_allclose(p.data, -1.0)


# ---------------------------------------------------------------------------
# Clipping

def _params_with_grads(grads):
    params = [tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return params


GRADS = [np.array([3.0, -4.0]), np.array([[1.0, 2.0], [-2.0, 0.5]]), np.array(-6.0)]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
def test_clip_grad_norm_returns_the_norm_and_scales_by_the_pytorch_coefficient(norm_type):
    entries = np.concatenate([g.ravel() for g in GRADS])
    if norm_type == math.inf:
        total = max(abs(e) for e in entries)
    else:
        total = sum(abs(e) ** norm_type for e in entries) ** (1 / norm_type)
    params = _params_with_grads(GRADS)
    params.append(tensor(np.ones(3), requires_grad=True))         # grad None: skipped
    returned = optim.clip_grad_norm_(params, max_norm=2.0, norm_type=norm_type)
    assert isinstance(returned, float)
    assert returned == pytest.approx(total, rel=1e-12)
    for p, g in zip(params, GRADS):
        np.testing.assert_allclose(p.grad, g * 2.0 / (total + 1e-6), rtol=1e-12)
    clipped = np.concatenate([p.grad.ravel() for p in params[:3]])
    assert np.linalg.norm(clipped, ord=norm_type) == pytest.approx(2.0, rel=1e-6)
    assert params[3].grad is None


def test_clip_grad_norm_leaves_small_gradients_untouched():
    params = _params_with_grads(GRADS)
    total = optim.clip_grad_norm_(params, max_norm=100.0)
    assert total == pytest.approx(math.sqrt(sum((g**2).sum() for g in GRADS)), rel=1e-12)
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(p.grad, g)


def test_clip_grad_norm_accepts_a_single_tensor_and_no_gradients():
    (p,) = _params_with_grads([np.array([6.0, 8.0])])
    assert optim.clip_grad_norm_(p, 5.0) == pytest.approx(10.0)
    np.testing.assert_allclose(p.grad, [6.0 * 5 / (10 + 1e-6), 8.0 * 5 / (10 + 1e-6)])
    assert optim.clip_grad_norm_([tensor(np.ones(2))], 1.0) == 0.0


def test_clip_grad_norm_accepts_a_generator_as_pytorch_does():
    params = _params_with_grads(GRADS)
    total = math.sqrt(sum((g**2).sum() for g in GRADS))
    assert optim.clip_grad_norm_((p for p in params), max_norm=1.0) == pytest.approx(total, rel=1e-12)
    for p, g in zip(params, GRADS):
        np.testing.assert_allclose(p.grad, g / (total + 1e-6), rtol=1e-12)


def test_clip_grad_value_clamps_in_place():
    params = _params_with_grads(GRADS) + [tensor(np.ones(2), requires_grad=True)]
    optim.clip_grad_value_(params, 2.0)
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(p.grad, np.minimum(np.maximum(g, -2.0), 2.0))
    (single,) = _params_with_grads([np.array([-5.0, 0.1])])
    optim.clip_grad_value_(single, 1.0)
    np.testing.assert_array_equal(single.grad, [-1.0, 0.1])


# ---------------------------------------------------------------------------
# Reddi, Kale & Kumar (2018), Theorem 1: Adam fails on a simple convex problem, AMSGrad does not.

def run_reddi_counterexample(amsgrad, betas, steps=30_000, lr=0.01):
    """f_t(x) = 3x if t mod 3 == 1 else -x on [-1, 1]; the sum is minimised at x = -1."""
    x = tensor(np.zeros(1), requires_grad=True)
    opt = optim.Adam([x], lr=lr, betas=betas, amsgrad=amsgrad)
    for t in range(1, steps + 1):
        x.grad = np.array([3.0 if t % 3 == 1 else -1.0])
        opt.step()
        np.clip(x.data, -1.0, 1.0, out=x.data)        # projection onto the feasible set
    return x.data[0]


def test_adam_converges_to_the_worst_point_and_amsgrad_to_the_optimum():
    betas = (0.0, 1 / (1 + 3**2))
    assert run_reddi_counterexample(amsgrad=False, betas=betas) == pytest.approx(1.0, abs=1e-6)
    assert run_reddi_counterexample(amsgrad=True, betas=betas) < -0.98


def test_with_default_betas_adam_and_amsgrad_both_reach_the_optimum():
    assert run_reddi_counterexample(amsgrad=False, betas=(0.9, 0.999)) < -0.98
    assert run_reddi_counterexample(amsgrad=True, betas=(0.9, 0.999)) < -0.98


# ---------------------------------------------------------------------------
# Against PyTorch, when it is installed (it is not a dependency of the course).

TORCH_CLASSES = {optim.SGD: "SGD", optim.RMSprop: "RMSprop", optim.Adagrad: "Adagrad",
                 optim.Adam: "Adam", optim.AdamW: "AdamW"}


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_optimiser_matches_torch(cls, kwargs):
    torch = pytest.importorskip("torch")
    # torch orders a few operations differently (Adam divides sqrt(v_t) by sqrt(1 - beta_2^t)),
    # so the last bits differ; after a few hundred steps RMSprop, hopping about a minimum,
    # amplifies them, so compare the first 300 steps.
    steps = 300
    params = make_params()
    ours = run(cls(params, **kwargs), params, steps)

    torch_params = [torch.tensor(a.copy(), dtype=torch.float64, requires_grad=True)
                    for a in split(X0)]
    torch_opt = getattr(torch.optim, TORCH_CLASSES[cls])(torch_params, **kwargs)
    theirs = []
    for _ in range(steps):
        x = np.concatenate([p.detach().numpy().ravel() for p in torch_params])
        for p, g in zip(torch_params, split(gradient(x))):
            p.grad = torch.from_numpy(g.copy())
        torch_opt.step()
        theirs.append(np.concatenate([p.detach().numpy().ravel() for p in torch_params]))
    np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    params = _params_with_grads(GRADS)
    torch_params = [torch.zeros(g.shape, dtype=torch.float64) for g in GRADS]
    for p, g in zip(torch_params, GRADS):
        p.grad = torch.from_numpy(g.copy())
    total = optim.clip_grad_norm_(params, 1.5, norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(torch_params, 1.5, norm_type)
    assert total == pytest.approx(float(torch_total), rel=1e-12)
    for p, q in zip(params, torch_params):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)


def test_named_parameters_name_the_culprit_in_the_error():
    from gradcourse import nn
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.params == model.parameters()
    for p in model.parameters():
        p.grad = np.zeros_like(p.data)
    model[2].weight.grad[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match=r"parameter 2 '2\.weight' of shape \(2, 1\) at step 1"):
        opt.step()


def test_zero_grad_sets_none_by_default_and_zeros_on_request():
    """As PyTorch's zero_grad(set_to_none=True): None by default, zeros of the right shape otherwise."""
    from gradcourse import nn
    layer = nn.Linear(3, 2)
    optimizer = optim.SGD(layer.parameters(), lr=0.1)
    for clear in (lambda: optimizer.zero_grad(set_to_none=False), lambda: layer.zero_grad(set_to_none=False)):
        (layer(tensor(np.ones((4, 3)))) ** 2).sum().backward()
        clear()
        assert all(p.grad is not None and p.grad.shape == p.shape and not p.grad.any() for p in layer.parameters())
    optimizer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
