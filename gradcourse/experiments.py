"""The experiments behind the explorers: pure functions from plain arguments to results.

Each function here answers one question a chapter asks, is tested without any widget, and is
what `gradcourse.widgets` recomputes when a slider moves. Results are small dataclasses of
numpy arrays, ready for `gradcourse.plots`.
"""
from dataclasses import dataclass

import numpy as np

from . import functional as F
from . import init as initialisers
from .autograd import tensor
from .diagnostics import measure_at_init
from .nn import MLP
from .rng import generator, manual_seed

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
INITS = ("normal", "xavier_normal", "kaiming_normal", "orthogonal", "default")
NORMS = ("none", "layer", "batch")


# ----- chapters 1-3: a deep network at initialisation -------------------------------------------
@dataclass
class DepthResult:
    """Per-layer numbers of a deep MLP at initialisation, layer 1 (input side) to L.

    `grad_norm[l]` = ||dL/dh_l||, the gradient reaching layer l's output; `act_std[l]` = std(h_l).
    `ratio` = grad_norm[first] / grad_norm[last]: far below 1 is vanishing, far above exploding.
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    ratio: float


def deep_mlp(depth=30, width=64, activation="sigmoid", init="xavier_normal", weight_std=1.0,
             residual=False, branch_scale=1.0, norm="none", in_features=None, out_features=1, seed=0):
    """The network the depth explorer measures: `nn.MLP` with `depth` hidden blocks of `width`.

    init: one of INITS; "normal" draws every weight from N(0, weight_std^2), whatever the width,
    which is the naive choice the chapters start from. Seeded, so a setting always gives one net.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    _check_depth(depth, maximum=200)
    manual_seed(seed)
    scheme = (lambda w: initialisers.normal_(w, 0.0, weight_std)) if init == "normal" else init
    return MLP(in_features or width, width, out_features, depth, activation=activation, init=scheme,
               residual=residual, norm=None if norm == "none" else norm,
               branch_scale=branch_scale if residual else 1.0)


def depth_profile(depth=30, width=64, activation="sigmoid", init="xavier_normal", weight_std=1.0,
                  residual=False, branch_scale=1.0, norm="none", batch=128, seed=0):
    """Gradient norm and activation std per layer of `deep_mlp(...)` at initialisation, for a
    batch of standard-normal inputs and the loss mean(output^2) (as in the chapters' tests)."""
    model = deep_mlp(depth, width, activation, init, weight_std, residual, branch_scale, norm, seed=seed)
    x = generator(seed).standard_normal((batch, width))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        row = measure_at_init(model, x)
    grad_norm = np.asarray(row["grad_norm"], dtype=float)
    ratio = grad_norm[0] / grad_norm[-1] if grad_norm[-1] > 0 else np.inf
    if not np.all(np.isfinite(grad_norm)) or not np.isfinite(ratio):
        first = int(np.argmax(~np.isfinite(grad_norm))) + 1
        raise FloatingPointError(f"the signal overflowed: the gradient reaching layer {first} is not finite; "
                                 f"lower the weight scale or the depth")
    return DepthResult(np.arange(1, len(grad_norm) + 1), grad_norm, np.asarray(row["act_std"]),
                       np.asarray(row["saturated"]), float(ratio))


# ----- chapter 2: the scalar chain ----------------------------------------------------------
@dataclass
class ChainResult:
    """Gradient reaching each layer of a scalar chain, from the output (layer L) down.

    `distance[k]` = L - l, the number of layers between layer l and the output;
    `measured[k]` = |dh_L / dh_l| from autograd; `analytic[k]` = |w f'(z)|^(L - l).
    """

    distance: np.ndarray
    measured: np.ndarray
    analytic: np.ndarray
    factor: float


def scalar_chain(depth=30, weight=1.0, preactivation=0.0, activation="sigmoid"):
    """A chain h_l = f(w h_{l-1} + b_l) of `depth` scalar units, with every bias chosen so that
    each pre-activation equals `preactivation` (z). Backpropagation multiplies one factor
    w f'(z) per layer, so the gradient reaching layer l from the output is (w f'(z))^(L - l).
    Measured with autograd (retain_grad on every h_l) and compared with that formula.
    """
    _check_depth(depth, maximum=500)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    activate = getattr(F, activation)
    z = tensor(float(preactivation))
    h = tensor(0.0, requires_grad=True)
    hidden = [h]
    for _ in range(depth):
        bias = z.data - weight * h.data  # a constant: it pins the pre-activation at z
        h = activate(h * weight + bias)
        h.retain_grad()
        hidden.append(h)
    h.backward()
    measured = np.array([abs(float(layer.grad)) for layer in reversed(hidden)])
    factor = abs(weight * _derivative(activation, float(preactivation)))
    distance = np.arange(depth + 1)
    return ChainResult(distance, measured, factor ** distance, factor)


def _derivative(activation, z):
    """f'(z) of one activation at one point, from autograd (so the formula is not repeated)."""
    x = tensor(z, requires_grad=True)
    getattr(F, activation)(x).backward()
    return float(x.grad)


# ----- chapter 3: Adam's bias correction -------------------------------------------------------
@dataclass
class AdamMomentsResult:
    """Adam's moment estimates over the first steps for a stream of gradients.

    `m`, `v`: the running averages; `m_hat`, `v_hat`: bias-corrected; `step_corrected` and
    `step_uncorrected`: m_hat / (sqrt(v_hat) + eps) and m / (sqrt(v) + eps), the update in
    units of the learning rate.
    """

    t: np.ndarray
    gradients: np.ndarray
    m: np.ndarray
    v: np.ndarray
    m_hat: np.ndarray
    v_hat: np.ndarray
    step_corrected: np.ndarray
    step_uncorrected: np.ndarray


def adam_moments(steps=50, beta1=0.9, beta2=0.999, eps=1e-8, gradient=1.0, noise=0.0, seed=0):
    """Run Adam's two moment estimates (Kingma & Ba 2015, Algorithm 1) on a gradient stream
    g_t = gradient + noise * N(0, 1), for t = 1..steps:

        m_t = beta1 m_{t-1} + (1 - beta1) g_t          m_hat_t = m_t / (1 - beta1^t)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2        v_hat_t = v_t / (1 - beta2^t)

    Both averages start at 0, so without the correction they are biased towards 0 in the first
    steps: m_1 = (1 - beta1) g_1 is a tenth of the gradient at the default beta1.
    """
    _check_depth(steps, maximum=100_000, name="steps")
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    t = np.arange(1, steps + 1)
    g = gradient + noise * np.random.default_rng(seed).standard_normal(steps)
    m, v = np.zeros(steps), np.zeros(steps)
    m_prev = v_prev = 0.0
    for i in range(steps):
        m[i] = m_prev = beta1 * m_prev + (1 - beta1) * g[i]
        v[i] = v_prev = beta2 * v_prev + (1 - beta2) * g[i] ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return AdamMomentsResult(t, g, m, v, m_hat, v_hat,
                             step_corrected=m_hat / (np.sqrt(v_hat) + eps),
                             step_uncorrected=m / (np.sqrt(v) + eps))


def _check_depth(value, maximum, name="depth"):
    if not isinstance(value, (int, np.integer)) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")


# ===== part A: depth, schedules, optimiser race (add above this line) =====


# ===== part B: residual, clipping, remedies, recurrence, isometry, lr finder (add above this line) =====
