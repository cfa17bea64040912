"""Every optimiser against torch.optim, float64: 50 steps on the same gradients, hyperparameters drawn.

Both libraries start from the same parameters and receive the same gradient at every step
(random, drawn once per example). One parameter gets a gradient only on some steps, so that
skipping a parameter whose `.grad` is None, and Adam's per-parameter step count, are compared
too. Profiles ("ci", fixed and small; "dev", more) are in tests/conftest.py.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gradcourse as gc
from gradcourse import optim

torch = pytest.importorskip("torch")

STEPS = 50
SHAPES = [(3,), (2, 3), (4,)]


def rates(low=1e-4, high=0.5):
    return st.floats(low, high)


def decays():
    return st.just(0.0) | st.floats(1e-4, 0.1)


@st.composite
def sgd_settings(draw):
    nesterov = draw(st.booleans())
    momentum = draw(st.floats(0.05, 0.99) if nesterov else st.just(0.0) | st.floats(0.05, 0.99))
    dampening = 0.0 if nesterov else draw(st.just(0.0) | st.floats(0.0, 1.0))
    return dict(lr=draw(rates()), momentum=momentum, dampening=dampening, nesterov=nesterov,
                weight_decay=draw(decays()))


@st.composite
def rmsprop_settings(draw):
    return dict(lr=draw(rates(1e-4, 0.05)), alpha=draw(st.floats(0.5, 0.999)),
                eps=draw(st.sampled_from([1e-8, 1e-6, 1e-3])), momentum=draw(st.just(0.0) | st.floats(0.05, 0.95)),
                centered=draw(st.booleans()), weight_decay=draw(decays()))


@st.composite
def adagrad_settings(draw):
    return dict(lr=draw(rates()), eps=draw(st.sampled_from([1e-10, 1e-6, 1e-3])), weight_decay=draw(decays()))


@st.composite
def adam_settings(draw, weight_decay):
    return dict(lr=draw(rates(1e-4, 0.1)), betas=(draw(st.floats(0.0, 0.99)), draw(st.floats(0.9, 0.9999))),
                eps=draw(st.sampled_from([1e-8, 1e-6, 1e-3])), weight_decay=draw(weight_decay),
                amsgrad=draw(st.booleans()))


SETTINGS = {"SGD": sgd_settings(), "RMSprop": rmsprop_settings(), "Adagrad": adagrad_settings(),
            "Adam": adam_settings(decays()), "AdamW": adam_settings(st.floats(0.0, 0.1))}


def trajectories(make_optimizer, start, gradients, has_grad, as_tensor, to_numpy, set_grad):
    """The parameters after each step, with gradients[t][i] given to parameter i where has_grad[t][i]."""
    params = [as_tensor(a.copy()) for a in start]
    optimizer = make_optimizer(params)
    visited = []
    for grads, present in zip(gradients, has_grad):
        for p, g, here in zip(params, grads, present):
            set_grad(p, g.copy() if here else None)
        optimizer.step()
        visited.append(np.concatenate([to_numpy(p).ravel() for p in params]))
    return np.array(visited)


@pytest.mark.parametrize("name", SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_optimiser_follows_torch_for_50_steps(name, data, seed):
    kwargs = data.draw(SETTINGS[name], label="hyperparameters")
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    gradients = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(STEPS)]
    has_grad = [(True, True, bool(rng.random() < 0.6)) for _ in range(STEPS)]

    ours = trajectories(lambda ps: getattr(optim, name)(ps, **kwargs), start, gradients, has_grad,
                        lambda a: gc.tensor(a, requires_grad=True), lambda p: p.data,
                        lambda p, g: setattr(p, "grad", g))
    theirs = trajectories(lambda ps: getattr(torch.optim, name)(ps, **kwargs), start, gradients, has_grad,
                          lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True),
                          lambda p: p.detach().numpy().copy(),
                          lambda p, g: setattr(p, "grad", None if g is None else torch.from_numpy(g)))
    # PyTorch orders a few operations differently (Adam divides sqrt(v_t) by sqrt(1 - beta_2^t)):
    # the last bits differ, and 50 steps amplify them a little
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11, err_msg=f"{name}({kwargs})")
