"""The experiments behind the explorers: pure functions from plain arguments to results.

Each function here answers one question a chapter asks, is tested without any widget, and is
what `gradcourse.widgets` recomputes when a slider moves. Results are small dataclasses of
numpy arrays, ready for `gradcourse.plots`.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import functional as F
from . import init as initialisers
from . import optim
from .autograd import tensor
from .data import adding_problem, linear_regression, load_digits, moons, standardize, train_test_split
from .diagnostics import GradientFlow, jacobian_singular_values, measure_at_init
from .lr_finder import lr_range_test
from .nn import LSTM, MLP, RNN, Linear
from .optim import SGD, Adam, AdamW, RMSprop
from .rng import generator, seeded
from .schedules import (BoldDriver, Constant, CosineAnnealing, ExponentialDecay, LinearWarmup,
                        LRScheduler, OneCycle, PolynomialDecay, ReduceLROnPlateau, StepDecay)
from .training import accuracy, fit

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
INITS = ("normal", "xavier_normal", "kaiming_normal", "orthogonal", "default")
NORMS = ("none", "layer", "batch")


# ----- chapters 1-3: a deep network at initialisation -------------------------------------------
@dataclass
class DepthResult:
    """Per-layer numbers of a deep MLP at initialisation, layer 1 (input side) to L.

    `grad_norm[l]` = ||dL/dh_l||, the gradient reaching layer l's output; `act_std[l]` = std(h_l).
    `ratio` = grad_norm[first] / grad_norm[last]: far below 1 is vanishing, far above exploding.
    `weight_grad_norm[l]` = ||dL/dW_l||, the gradient of block l's weight matrix (both matrices
    of a residual block, combined), and `weight_ratio` its first / last: what the update of
    each layer is proportional to, which can tell another story than `ratio`.
    """

    layer: np.ndarray
    grad_norm: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    ratio: float
    weight_grad_norm: np.ndarray
    weight_ratio: float


def first_over_last(norms):
    """norms[0] / norms[-1], the first layer's gradient over the last one's (inf if the last is 0)."""
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else np.inf


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
    scheme = (lambda w: initialisers.normal_(w, 0.0, weight_std)) if init == "normal" else init
    with seeded(seed):
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
    ratio = first_over_last(grad_norm)
    if not np.all(np.isfinite(grad_norm)) or not np.isfinite(ratio):
        first = int(np.argmax(~np.isfinite(grad_norm))) + 1
        raise FloatingPointError(f"the signal overflowed: the gradient reaching layer {first} is not finite; "
                                 f"lower the weight scale or the depth")
    weight_grad = np.asarray(row["layer_weight_grad_norm"], dtype=float)
    return DepthResult(np.arange(1, len(grad_norm) + 1), grad_norm, np.asarray(row["act_std"]),
                       np.asarray(row["saturated"]), ratio, weight_grad, first_over_last(weight_grad))


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


# ----- chapter 3: learning-rate schedules and the optimiser race -----------------------------------

LR_SCHEDULES = ("constant", "step", "exponential", "polynomial", "cosine", "warmup+cosine", "one-cycle",
                "bold driver", "reduce on plateau")
DEFAULT_LR_SCHEDULES = ("constant", "step", "cosine", "warmup+cosine", "one-cycle")


def make_schedule(name, lr=1.0, steps=100, gamma=0.97, power=1.0, warmup=10, step_size=25,
                  step_gamma=0.5):
    """A new schedule `name` (one of LR_SCHEDULES) for a run of `steps` steps that starts from `lr`.

    step: lr * step_gamma every step_size steps; exponential: lr * gamma^t; polynomial: to 0 at
    `steps` along (1 - t/steps)^power; cosine: to 0 at `steps`; warmup+cosine: `warmup` steps up,
    then a cosine ending at `steps`; one-cycle: up to lr (from lr/25) and down to ~0 at `steps`;
    bold driver (x1.05 / x0.5) and reduce on plateau (x0.5 after 10 steps without progress)
    follow the loss.
    """
    if name == "warmup+cosine" and not 0 < warmup < steps:
        raise ValueError(f"warmup must be shorter than the run: warmup={warmup}, steps={steps}")
    makers = {
        "constant": lambda: Constant(lr),
        "step": lambda: StepDecay(lr, step_size, step_gamma),
        "exponential": lambda: ExponentialDecay(lr, gamma),
        "polynomial": lambda: PolynomialDecay(lr, steps, power),
        "cosine": lambda: CosineAnnealing(lr, steps),
        "warmup+cosine": lambda: LinearWarmup(CosineAnnealing(lr, steps - warmup), warmup),
        "one-cycle": lambda: OneCycle(lr, steps),
        "bold driver": lambda: BoldDriver(lr, increase=1.05, decrease=0.5),
        "reduce on plateau": lambda: ReduceLROnPlateau(lr, factor=0.5, patience=10),
    }
    if name not in makers:
        raise ValueError(f"unknown schedule {name!r}; use one of {LR_SCHEDULES}")
    return makers[name]()


@dataclass
class ScheduleResult:
    """Learning rate and training loss per step for each schedule (dicts keyed by schedule name).

    `lr[name][t]` is the rate used at step t; `loss[name][t]` the full-batch loss before step t
    (nan after a divergence); `diverged_at[name]` the step where the run blew up, or None.
    """

    step: np.ndarray
    lr: dict
    loss: dict
    diverged_at: dict


def schedule_comparison(lr=1.0, steps=100, gamma=0.97, power=1.0, warmup=10, step_size=25,
                        step_gamma=0.5, schedules=DEFAULT_LR_SCHEDULES, hidden=16, momentum=0.9, seed=0):
    """Train the same small network (2 -> hidden tanh units -> 1 logit, same initial weights) on
    `data.moons` once per schedule: full batch, SGD with momentum, binary cross-entropy loss.
    The schedules' parameters are those of `make_schedule`."""
    _check_depth(steps, maximum=10_000, name="steps")
    names = [name for name in LR_SCHEDULES if name in schedules]
    unknown = set(schedules) - set(LR_SCHEDULES)
    if unknown or not names:
        raise ValueError(f"choose at least one schedule from {LR_SCHEDULES}, got {tuple(schedules)}")
    X, y = moons(100, noise=0.15, seed=seed)
    result = ScheduleResult(np.arange(steps), {}, {}, {})
    for name in names:
        schedule = make_schedule(name, lr, steps, gamma, power, warmup, step_size, step_gamma)
        result.lr[name], result.loss[name], result.diverged_at[name] = _train_with_schedule(
            schedule, X, y, steps, hidden, momentum, seed)
    return result


def _train_with_schedule(schedule, X, y, steps, hidden, momentum, seed):
    """(lr per step, loss per step, diverged_at) of one full-batch training run."""
    with seeded(seed):  # the same initial weights for every schedule
        model = MLP(X.shape[1], hidden, 1, depth=0, activation="tanh")
    optimizer = SGD(model.parameters(), lr=0.0, momentum=momentum)  # the scheduler sets lr
    scheduler = LRScheduler(optimizer, schedule)
    lrs, losses = np.full(steps, np.nan), np.full(steps, np.nan)
    inputs, targets = tensor(X), y.reshape(-1, 1).astype(float)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(inputs), targets)
            lrs[t], losses[t] = optimizer.lr, loss.item()
            if not np.isfinite(losses[t]):
                return lrs, losses, t
            loss.backward()
            try:
                optimizer.step()
            except FloatingPointError:
                return lrs, losses, t
            scheduler.step(losses[t])  # a step-driven schedule ignores the loss
    return lrs, losses, None


# The optimiser race: test functions f(x, y) that accept numpy grids, with their gradients.
def quadratic(x, y):
    """An ill-conditioned bowl: curvature 1 along x, 25 along y (condition number 25)."""
    return 0.5 * x**2 + 12.5 * y**2


def quadratic_grad(x, y):
    return np.array([x, 25.0 * y])


def rosenbrock(x, y):
    """Rosenbrock's banana valley, minimum 0 at (1, 1): (1 - x)^2 + 100 (y - x^2)^2."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def saddle(x, y):
    """A saddle at (0, 0) between two minima -1/4 at (0, +-1): x^2 + y^4/4 - y^2/2."""
    return x**2 + y**4 / 4 - y**2 / 2


def saddle_grad(x, y):
    return np.array([2 * x, y**3 - y])


@dataclass
class Surface:
    """A 2-D test function: f and its gradient, the start point, the window to draw, min f."""

    f: object
    grad: object
    start: tuple
    xlim: tuple
    ylim: tuple
    minimum: float


SURFACES = {
    "quadratic": Surface(quadratic, quadratic_grad, (-4.0, 1.5), (-4.5, 4.5), (-2.0, 2.0), 0.0),
    "rosenbrock": Surface(rosenbrock, rosenbrock_grad, (-1.2, 1.0), (-2.0, 2.0), (-1.0, 3.0), 0.0),
    "saddle": Surface(saddle, saddle_grad, (-1.5, 1e-3), (-2.0, 2.0), (-1.5, 1.5), -0.25),
    "reddi": None,  # 1-D, online: see reddi_gradient
}
# The settings each surface starts from in the explorer (None arguments of optimizer_race).
RACE_DEFAULTS = {
    "quadratic": dict(lr=0.03, beta1=0.9, beta2=0.999, steps=300),
    "rosenbrock": dict(lr=0.002, beta1=0.9, beta2=0.999, steps=300),
    "saddle": dict(lr=0.01, beta1=0.9, beta2=0.999, steps=300),
    "reddi": dict(lr=0.01, beta1=0.0, beta2=1 / (1 + 3**2), steps=1500),
}
RACE_OPTIMIZERS = ("SGD", "momentum", "RMSprop", "Adam", "AdamW", "AMSGrad")


def reddi_gradient(t, C=3.0):
    """Reddi, Kale & Kumar (2018), section 3: f_t(x) = C x if t mod 3 == 1 else -x, on [-1, 1].

    Over each period of three steps the losses add up to (C - 2) x, so the best point is x = -1;
    the large gradient C comes once, the small -1 twice."""
    return C if t % 3 == 1 else -1.0


def make_optimizer(name, params, lr, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9,
                   weight_decay=0.01):
    """One of RACE_OPTIMIZERS from gradcourse.optim. RMSprop averages g^2 with alpha = beta2, so
    it is Adam without momentum and without bias correction."""
    betas = (beta1, beta2)
    makers = {
        "SGD": lambda: SGD(params, lr),
        "momentum": lambda: SGD(params, lr, momentum=momentum),
        "RMSprop": lambda: RMSprop(params, lr, alpha=beta2, eps=eps),
        "Adam": lambda: Adam(params, lr, betas, eps),
        "AdamW": lambda: AdamW(params, lr, betas, eps, weight_decay=weight_decay),
        "AMSGrad": lambda: Adam(params, lr, betas, eps, amsgrad=True),
    }
    if name not in makers:
        raise ValueError(f"unknown optimiser {name!r}; use one of {RACE_OPTIMIZERS}")
    return makers[name]()


@dataclass
class RaceResult:
    """Each optimiser's path on one surface (dicts keyed by optimiser name).

    `path[name]`: (steps + 1, 2) positions, the start first ((steps + 1, 1) for "reddi"), nan
    after a divergence; `gap[name]`: f - f_min at each position (for "reddi" the average loss of
    one period, (x + 1) / 3 above its minimum); `diverged_at[name]`: step number or None.
    `f`, `xlim`, `ylim`: the surface and its window, for `plots.loss_surface` (f is None for reddi).
    """

    surface: str
    path: dict
    gap: dict
    diverged_at: dict
    f: object
    xlim: tuple
    ylim: tuple


def optimizer_race(surface="rosenbrock", lr=None, beta1=None, beta2=None, eps=1e-8, momentum=0.9,
                   weight_decay=0.01, steps=None):
    """Run SGD, momentum, RMSprop, Adam, AdamW and AMSGrad from the same start on `surface`
    (one of SURFACES), with the same lr, betas and eps. None takes the surface's RACE_DEFAULTS.

    "reddi" runs Adam and AMSGrad on Reddi et al.'s online problem (reddi_gradient), projecting
    x back into [-1, 1] after each step, from x = 0. With beta1 = 0 and beta2 = 1/(1 + 3^2),
    Adam's v forgets the rare large gradient within a step or two, so the two small ones push
    x up: Adam drifts to +1, the worst point, while AMSGrad, whose v only grows, goes to -1.
    (Reddi et al. let lr decay as lr/sqrt(t); a constant lr shows the same drift.)
    """
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; use one of {tuple(SURFACES)}")
    defaults = RACE_DEFAULTS[surface]
    lr = defaults["lr"] if lr is None else lr
    beta1 = defaults["beta1"] if beta1 is None else beta1
    beta2 = defaults["beta2"] if beta2 is None else beta2
    steps = defaults["steps"] if steps is None else steps
    _check_depth(steps, maximum=100_000, name="steps")
    settings = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, momentum=momentum,
                    weight_decay=weight_decay)
    if surface == "reddi":
        return _reddi_race(steps, settings)
    s = SURFACES[surface]
    result = RaceResult(surface, {}, {}, {}, s.f, s.xlim, s.ylim)
    for name in RACE_OPTIMIZERS:
        x = tensor(np.array(s.start), requires_grad=True)
        optimizer = make_optimizer(name, x, **settings)
        path = np.full((steps + 1, 2), np.nan)
        path[0] = x.data
        result.diverged_at[name] = None
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(1, steps + 1):
                x.grad = s.grad(*x.data)
                try:
                    optimizer.step()
                except FloatingPointError:  # the gradient overflowed: the run diverged
                    result.diverged_at[name] = t
                    break
                path[t] = x.data
            result.path[name] = path
            result.gap[name] = s.f(path[:, 0], path[:, 1]) - s.minimum
    return result


def _reddi_race(steps, settings):
    result = RaceResult("reddi", {}, {}, {}, None, (0, steps), (-1.05, 1.05))
    for name in ("Adam", "AMSGrad"):
        x = tensor(np.zeros(1), requires_grad=True)
        optimizer = make_optimizer(name, x, **settings)
        path = np.zeros((steps + 1, 1))
        for t in range(1, steps + 1):
            x.grad = np.array([reddi_gradient(t)])
            optimizer.step()
            np.clip(x.data, -1.0, 1.0, out=x.data)  # the projection onto the feasible set [-1, 1]
            path[t] = x.data
        result.path[name], result.gap[name], result.diverged_at[name] = path, (path[:, 0] + 1) / 3, None
    return result


# ----- chapters 4-6: training deep nets on the digits ------------------------------------------
OPTIMIZERS = ("sgd", "adam")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.003}
REMEDY_SCHEDULES = ("constant", "warmup+cosine")


# ----- chapter 4: residual connections ---------------------------------------------------------
@dataclass
class ResidualResult:
    """A plain and a residual deep MLP trained alike on the digits.

    `plain`, `residual`: their `training.History`; `plain_flow`, `residual_flow`: the gradient
    reaching each block's output (records x blocks, from `diagnostics.GradientFlow`), recorded
    at the steps `flow_steps` (0 = the first step).
    """

    plain: object
    residual: object
    plain_flow: np.ndarray
    residual_flow: np.ndarray
    flow_steps: np.ndarray


class _RecordEvery:
    """Pass every `every`-th `record(lr)` call (and the last) on to a GradientFlow: a full
    record of every block costs a few milliseconds, as much as the training step itself."""

    def __init__(self, flow, every, steps):
        self.flow, self.every, self.steps, self.calls = flow, every, steps, 0

    def record(self, lr):
        if self.calls % self.every == 0 or self.calls == self.steps - 1:
            self.flow.record(lr, step=self.calls)
        self.calls += 1


@lru_cache(maxsize=4)
def digits_split(seed=0):
    """The digits, split 75/25 (stratified) and standardised with the training statistics."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed, stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


def _optimizer(name, params, lr):
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def _raise_if_diverged(history, what):
    if history.diverged:
        raise FloatingPointError(f"{what}: {history.message}")


def residual_vs_plain(depth=20, width=32, activation="relu", steps=100, lr=0.1, optimizer="sgd",
                      branch_scale=1.0, batch_size=64, seed=0):
    """Train a plain and a residual `nn.MLP` (default PyTorch init) on the digits, same settings.

    In the plain net the gradient reaching the first blocks shrinks layer after layer, so they
    barely learn and the loss stalls near log(10) = 2.30; the residual blocks x + s F(x) pass the
    gradient back through the identity, and the same depth trains.
    """
    _check_depth(depth, maximum=100)
    _check_depth(steps, maximum=5000, name="steps")
    X, _, y, _ = digits_split(seed)
    runs = {}
    for residual in (False, True):
        with seeded(seed):
            model = MLP(X.shape[1], width, 10, depth, activation=activation, residual=residual,
                        branch_scale=branch_scale if residual else 1.0)
        flow = GradientFlow(model)
        history = fit(model, X, y, _optimizer(optimizer, model.parameters(), lr), steps,
                      batch_size=batch_size, flow=_RecordEvery(flow, max(1, steps // 10), steps),
                      eval_every=steps, progress=False, seed=seed)
        flow.remove()
        _raise_if_diverged(history, "residual net" if residual else "plain net")
        runs[residual] = (history, flow.history)
    plain, residual = runs[False], runs[True]
    return ResidualResult(plain[0], residual[0], plain[1]["grad_norm"], residual[1]["grad_norm"],
                          plain[1]["step"])


# ----- chapter 4: gradient clipping ------------------------------------------------------------
@dataclass
class ClippingResult:
    """The same deep linear net trained without and with gradient-norm clipping."""

    unclipped: object
    clipped: object
    threshold: float


def clipping_runs(weight_scale=1.5, threshold=1.0, steps=200, lr=0.01, depth=10, width=16, seed=0):
    """Exploding gradients in a deep *linear* net y = x W_1 ... W_L (plus biases), and clipping.

    Every weight starts from N(0, weight_scale^2 / width): each layer multiplies the signal, and
    the gradient, by about weight_scale, so the first gradients are ~weight_scale^(2 depth) too
    large and plain SGD overshoots to inf within a few steps. `clip_grad_norm_(threshold)`
    rescales each step's gradient to norm <= threshold: the step can no longer explode.
    The data: `data.linear_regression` (256 samples, 8 features), mean squared error.
    """
    _check_depth(depth, maximum=100)
    _check_depth(steps, maximum=5000, name="steps")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    problem = linear_regression(256, 8, seed=seed)
    X, y = problem.X, problem.y.reshape(-1, 1)
    runs = []
    for clip_norm in (None, threshold):
        with seeded(seed):
            model = MLP(8, width, 1, depth, activation="linear",
                        init=lambda w: initialisers.normal_(w, 0.0, weight_scale / np.sqrt(w.shape[0])))
        runs.append(fit(model, X, y, optim.SGD(model.parameters(), lr=lr), steps, loss="mse",
                        clip_norm=clip_norm, progress=False, seed=seed))
    if runs[1].diverged:
        raise FloatingPointError(f"even with clipping at {threshold:g}: {runs[1].message}; "
                                 "lower the learning rate or the threshold")
    return ClippingResult(runs[0], runs[1], float(threshold))


# ----- chapter 4: the remedies, one at a time ----------------------------------------------------
@dataclass
class RemedyResult:
    """One training run of `train_with_remedies`.

    `grad_at_init`: the gradient reaching each block's output, ||dL/dh_l||, at initialisation
    (cross-entropy on one training batch); `grad_ratio` = its first / last entry.
    `weight_grad_at_init`: the gradient of each block's weights, ||dL/dW_l||, in the same pass.
    `test_accuracy`: after the last step, on the held-out quarter of `digits_split(seed)`.
    `history`: the loss, rate and gradient norm (before clipping) of every step; it holds no
    accuracies. `steps_to_target`: first step where the running loss (10 steps) is below
    `target_loss` (None if never).
    """

    settings: dict
    history: object
    test_accuracy: float
    grad_at_init: np.ndarray
    grad_ratio: float
    steps_to_target: int
    target_loss: float
    weight_grad_at_init: np.ndarray


def train_with_remedies(activation="sigmoid", init="normal", residual=False, optimizer="sgd",
                        schedule="constant", clipping=False, depth=20, width=32, steps=150,
                        batch_size=64, lr=None, clip_norm=1.0, target_loss=1.0, seed=0):
    """A deep MLP on the digits with the naive recipe, or with remedies switched on one by one.

    Naive: sigmoid, every weight N(0, 1) (init="normal"), plain SGD at a constant rate 0.1.
    Remedies: activation ("tanh", "relu", ...), init ("default", "xavier_normal",
    "kaiming_normal", "orthogonal"), residual=True (branches scaled by 1/sqrt(depth), which keeps
    the forward signal bounded, see ERRATA C3), optimizer="adam" (lr 0.003), schedule=
    "warmup+cosine" (linear warm-up over the first 10% of the steps, then cosine to 0) and
    clipping=True (`clip_grad_norm_` at `clip_norm`). lr=None takes DEFAULT_LR[optimizer].
    `seed` sets everything random: the train/test split (`digits_split(seed)`), the initial
    weights and the order of the minibatches.
    """
    if schedule not in REMEDY_SCHEDULES:
        raise ValueError(f"schedule must be one of {REMEDY_SCHEDULES}, got {schedule!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    _check_depth(steps, maximum=5000, name="steps")
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    settings = dict(activation=activation, init=init, residual=residual, optimizer=optimizer,
                    schedule=schedule, clipping=clipping)
    X, X_test, y, y_test = digits_split(seed)
    model = deep_mlp(depth, width, activation, init, residual=residual, branch_scale=1 / np.sqrt(depth),
                     in_features=X.shape[1], out_features=10, seed=seed)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        at_init = measure_at_init(model, X[:batch_size], y[:batch_size], loss="cross_entropy")
    grad_at_init = np.asarray(at_init["grad_norm"])
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    rates = None if schedule == "constant" else make_schedule(schedule, lr, steps, warmup=max(1, steps // 10))
    # eval_every=0: no accuracy pass over the whole training set, which costs as much as a few
    # steps (an ablation runs this hundreds of times); the test accuracy is measured below.
    history = fit(model, X, y, _optimizer(optimizer, model.parameters(), lr), steps,
                  batch_size=batch_size, schedule=rates, clip_norm=clip_norm if clipping else None,
                  eval_every=0, progress=False, seed=seed)
    _raise_if_diverged(history, "this recipe diverged")
    return RemedyResult(settings, history, accuracy(model, X_test, y_test), grad_at_init,
                        first_over_last(grad_at_init), history.steps_to(target_loss), target_loss,
                        np.asarray(at_init["layer_weight_grad_norm"]))


def naive_baseline(depth=20, steps=150, seed=0):
    """`train_with_remedies()` with every remedy off (cached: the explorer compares against it)."""
    return _cached_naive_baseline(depth, steps, seed)


@lru_cache(maxsize=8)
def _cached_naive_baseline(depth, steps, seed):
    return train_with_remedies(depth=depth, steps=steps, seed=seed)


def compare_with_naive(depth=20, steps=150, seed=0, **remedies):
    """(train_with_remedies(**remedies), the naive baseline) at the same depth and steps."""
    baseline = naive_baseline(depth, steps, seed)
    naive = all(remedies.get(key, value) == value for key, value in baseline.settings.items())
    result = baseline if naive else train_with_remedies(depth=depth, steps=steps, seed=seed, **remedies)
    return result, baseline


# ----- chapter 5: gradients through time ----------------------------------------------------------
CELLS = ("rnn", "lstm")


@dataclass
class TimeGradientResult:
    """|dL/dx_t| for every input step t of a sequence, at initialisation.

    `grad_norm[t]`: the norm (over the batch and the two input channels) of the gradient of the
    loss with respect to the input at step t; the loss reads only the last hidden state, so
    step t's input is length - t steps of recurrence away from it. `ratio` = first / last.
    """

    t: np.ndarray
    grad_norm: np.ndarray
    cell: str
    ratio: float


def gradient_through_time(length=50, hidden=32, cell="rnn", forget_bias=0.0, weight_scale=1.0,
                          batch=32, seed=0):
    """How much of the loss's gradient reaches each input step of an RNN or LSTM, at init.

    The adding problem (`data.adding_problem`), a linear read-out of the last hidden state,
    mean squared error. `weight_scale` multiplies the recurrent weights W_hh after the default
    init; `forget_bias` is added to the LSTM's forget-gate bias (ignored by the RNN).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    _check_depth(length, maximum=1000, name="length")
    X, y = adding_problem(batch, max(length, 2), seed=seed)
    X = X[:, -length:]
    with seeded(seed):
        layer = RNN(2, hidden) if cell == "rnn" else LSTM(2, hidden, forget_bias=forget_bias)
        readout = Linear(hidden, 1)
    layer.weight_hh.data *= weight_scale
    x = tensor(X, requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        _, state = layer(x)
        h_last = state if cell == "rnn" else state[0]
        F.mse_loss(readout(h_last), y).backward()
    grad_norm = np.linalg.norm(x.grad, axis=(0, 2))
    if not np.all(np.isfinite(grad_norm)):
        raise FloatingPointError("the gradient through time overflowed; lower the weight scale")
    return TimeGradientResult(np.arange(1, length + 1), grad_norm, cell, first_over_last(grad_norm))


# ----- chapter 5: dynamical isometry ------------------------------------------------------------
@dataclass
class IsometryResult:
    """Singular values of the input-output Jacobian of a deep MLP at one input, at init."""

    singular_values: np.ndarray
    label: str


ISOMETRY_INITS = ("orthogonal", "xavier_normal", "kaiming_normal", "normal")


def _isometry_init(init, gain):
    """A Linear init function for `jacobian_isometry`: the named scheme, scaled by `gain`."""
    if init == "orthogonal":
        return lambda w: initialisers.orthogonal_(w, gain=gain)
    if init == "xavier_normal":
        return lambda w: initialisers.xavier_normal_(w, gain=gain)
    if init == "kaiming_normal":  # std = sqrt(2 / fan_in), times gain
        return lambda w: initialisers.normal_(w, 0.0, gain * np.sqrt(2.0 / w.shape[0]))
    if init == "normal":
        return lambda w: initialisers.normal_(w, 0.0, gain)
    raise ValueError(f"init must be one of {ISOMETRY_INITS}, got {init!r}")


def jacobian_isometry(depth=30, width=64, init="orthogonal", activation="tanh", gain=1.0, seed=0):
    """The singular values of d output / d input for `nn.MLP(width, width, width, depth)`.

    init: "orthogonal", "xavier_normal", "kaiming_normal" (each multiplied by `gain`) or "normal"
    (N(0, gain^2), the naive choice); biases start at 0. An orthogonal linear net is an exact
    isometry (every singular value 1); with tanh, orthogonal weights keep the spectrum
    concentrated near 1 (Saxe et al. 2014; Pennington et al. 2017), Gaussian ones spread it.
    """
    _check_depth(depth, maximum=200)
    with seeded(seed):
        model = MLP(width, width, width, depth, activation=activation, init=_isometry_init(init, gain))
    x = generator(seed).standard_normal(width)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = jacobian_singular_values(model, x)
    if not np.all(np.isfinite(s)):
        raise FloatingPointError("the Jacobian overflowed; lower the gain or the depth")
    return IsometryResult(s, f"{init}, {activation}, gain {gain:g}, depth {depth}")


# ----- chapter 6: the learning-rate range test ----------------------------------------------------
def lr_range_on_digits(optimizer="sgd", depth=4, width=32, steps=100, smooth=0.9, start_lr=1e-5,
                       end_lr=10.0, seed=0):
    """`lr_finder.lr_range_test` for a ReLU MLP (Kaiming init) on the digits."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    X, _, y, _ = digits_split(seed)

    def model():
        with seeded(seed):
            return MLP(X.shape[1], width, 10, depth, activation="relu", init="kaiming_normal")

    return lr_range_test(model, X, y, lambda params: _optimizer(optimizer, params, start_lr),
                         start_lr=start_lr, end_lr=end_lr, steps=steps, smooth=smooth, seed=seed)


# ----- chapter 3c: what one optimiser step costs -------------------------------------------------
class _CountingArray(np.ndarray):
    """An ndarray that counts the numpy ufunc calls (element-wise passes) it takes part in."""

    counts = None  # dict ufunc name -> calls while counting, else None

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if _CountingArray.counts is not None:
            _CountingArray.counts[ufunc.__name__] = _CountingArray.counts.get(ufunc.__name__, 0) + 1
        inputs = [np.asarray(x) if isinstance(x, _CountingArray) else x for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(np.asarray(o) for o in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(_CountingArray) if isinstance(result, np.ndarray) else result


@dataclass
class StepCost:
    """What one optimiser step costs for one parameter.

    `operations`: numpy array operations (ufunc calls, each one pass over the parameter's
    elements) per step, by name; `total`: their sum; `state_arrays`: arrays of the parameter's
    shape the optimiser keeps between steps; `seconds`: the fastest measured step (volatile:
    compare two of them, never print it).
    """

    operations: dict
    total: int
    state_arrays: int
    seconds: float


def optimizer_step_cost(make_optimizer, shape=(256, 256), steps=20, seed=0):
    """Count and time the array operations one step of `make_optimizer([param])` makes.

    The parameter (and so the optimiser's state) is an ndarray subclass that counts every ufunc
    it enters, so the count is the code's, not an estimate. The first step (which creates the
    state) is not counted. The gradients are fixed random arrays, the same for every optimiser. Timing uses plain arrays and keeps the fastest step.
    """
    import time

    rng = generator(seed)
    grads = [rng.standard_normal(shape) for _ in range(steps)]
    counted = tensor(np.zeros(shape), requires_grad=True)
    counted.data = rng.standard_normal(shape).view(_CountingArray)
    optimizer = make_optimizer([counted])
    counted.grad = grads[0].view(_CountingArray)
    optimizer.step()  # the first step creates the state; count the steps after it
    _CountingArray.counts = {}
    try:
        for g in grads[1:]:
            counted.grad = g.view(_CountingArray)
            optimizer.step()
        counts = {name: round(calls / (steps - 1), 2) for name, calls in _CountingArray.counts.items()}
    finally:
        _CountingArray.counts = None
    state = optimizer.state[0] or {}
    arrays = sum(isinstance(v, np.ndarray) and v.shape == tuple(shape) for v in state.values())
    plain = tensor(rng.standard_normal(shape), requires_grad=True)
    optimizer, best = make_optimizer([plain]), float("inf")
    for g in grads:
        plain.grad = g
        start = time.perf_counter()
        optimizer.step()
        best = min(best, time.perf_counter() - start)
    return StepCost(counts, int(round(sum(counts.values()))), int(arrays), best)


# ----- chapter 2: the computation graph behind one backward() ------------------------------------
@dataclass
class GraphNode:
    """One node of a computation graph: `op` made it from `inputs` (names); `grad` is its `.grad`
    (None unless it is a leaf that requires grad, or retain_grad() was called before backward())."""

    name: str
    op: str
    inputs: tuple
    value: np.ndarray
    grad: object


_OP_SYMBOLS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__pow__": "**",
               "__neg__": "neg", "matmul": "@", "__getitem__": "index"}


def computation_graph(root, names=None):
    """The nodes that produced `root`, inputs first (creation order, a topological order).

    `names`: dict name -> Tensor to label nodes; other nodes are called t1, t2, ... and
    constants c1, c2, .... A node's operation is read from its recorded backward function.
    """
    labels = {id(t): name for name, t in (names or {}).items()}
    seen, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop()._parents:
            if id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    nodes, counts = [], {"t": 0, "c": 0}
    for t in sorted(seen.values(), key=lambda t: t._order):
        if id(t) not in labels:
            kind = "t" if t.requires_grad else "c"
            counts[kind] += 1
            labels[id(t)] = f"{kind}{counts[kind]}"
        if t._backward is None:
            op = "leaf" if t.requires_grad else "constant"
        else:
            op = t._backward.__qualname__.split(".<locals>")[0].split(".")[-1]
        nodes.append(GraphNode(labels[id(t)], _OP_SYMBOLS.get(op, op),
                               tuple(labels[id(p)] for p in t._parents), t.data, t.grad))
    return nodes
