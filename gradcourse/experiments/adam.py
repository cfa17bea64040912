"""Chapter 3c: Adam's moments and bias correction, the optimiser race, and what a step costs
(the adam_bias and optimizer_race explorers).

The optimisers are `gradcourse.optim` (PyTorch's update rules, the equation in each
docstring); the race runs them on 2-D test surfaces where every step can be drawn, and on
Reddi et al.'s online problem where Adam drifts to the worst point.
"""
import time
from dataclasses import dataclass

import numpy as np

from .. import plots
from ..autograd import tensor
from .. import validation
from ..rng import generator
from .common import RACE_OPTIMIZERS, check_optimizer_settings, check_result, make_optimizer
from .spec import AT_INIT, TRAINS, Control, ExplorerSpec


# ----- Adam's bias correction (the adam_bias explorer) ------------------------------------------
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
    validation.count("steps", steps, 100_000, "adam_moments")
    validation.fraction("beta1", beta1, "adam_moments")
    validation.fraction("beta2", beta2, "adam_moments")
    validation.positive("eps", eps, "adam_moments")
    validation.number("gradient", gradient, where="adam_moments")
    validation.non_negative("noise", noise, "adam_moments")
    validation.non_negative_int("seed", seed, "adam_moments")
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


def plot_adam_moments(result):
    """Adam's first moment and step size over the first steps, with and without bias correction.

    `result`: an `experiments.AdamMomentsResult`. Left: the gradients g_t, the running average m_t
    (starts near 0) and the corrected m_hat_t (right from step 1). Right: the update in units of
    the learning rate; uncorrected, the first steps are too small (or too large, if beta2's
    average is the slower one to warm up).
    """
    check_result(result, AdamMomentsResult, "plot_adam_moments")
    fig, (left, right) = plots.subplots(1, 2)
    with plots.style():
        t = np.asarray(result.t)
        left.plot(t, result.gradients, linestyle="none", marker=".", color=plots.PALETTE[6], alpha=0.5,
                  label="gradient g_t")
        left.plot(t, result.m, color=plots.PALETTE[1], linestyle="--", label="m_t (uncorrected)")
        left.plot(t, result.m_hat, color=plots.PALETTE[0], label="m_hat_t = m_t / (1 - beta1^t)")
        left.set_xlabel("step t")
        left.set_ylabel("first moment (average gradient)")
        left.set_title("the running average of the gradient")
        right.plot(t, result.step_uncorrected, color=plots.PALETTE[1], linestyle="--",
                   label="m_t / (sqrt(v_t) + eps)")
        right.plot(t, result.step_corrected, color=plots.PALETTE[0],
                   label="m_hat_t / (sqrt(v_hat_t) + eps)")
        right.set_xlabel("step t")
        right.set_ylabel("update size / learning rate")
        right.set_title("the step Adam takes")
        for ax in (left, right):
            plots.legend(ax)
        return fig


def describe_adam(result):
    """One line: the first step with and without the correction."""
    check_result(result, AdamMomentsResult, "describe_adam")
    return (f"first step: {result.step_corrected[0]:.3g} lr corrected, "
            f"{result.step_uncorrected[0]:.3g} lr uncorrected")


ADAM_BIAS_EXPLORER = ExplorerSpec(
    name="adam_bias", title="Adam's bias correction", chapter="03c_adam",
    question="How large is Adam's first step, with and without the correction?",
    compute=adam_moments, draw=plot_adam_moments, describe=describe_adam,
    controls=(
        Control("steps", "steps", "int", 50, 5, 500, 5),
        Control("beta1", "beta1", "float", 0.9, 0.0, 0.99, 0.01, fmt=".3", continuous=True),
        Control("beta2", "beta2", "float", 0.999, 0.9, 0.9999, 0.0001, fmt=".4", continuous=True),
        Control("noise", "gradient noise (std)", "float", 0.0, 0.0, 3.0, 0.1, fmt=".3", continuous=True),
    ),
    small=dict(steps=20), move=("beta2", 0.99), budget_ms=AT_INIT,
    variants={"noisy": dict(noise=1.0)},
)


# ----- the optimiser race (the optimizer_race explorer) -----------------------------------------
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


def reddi_gradient(t, C=3.0):
    """Reddi, Kale & Kumar (2018), section 3: f_t(x) = C x if t mod 3 == 1 else -x, on [-1, 1].

    Over each period of three steps the losses add up to (C - 2) x, so the best point is x = -1;
    the large gradient C comes once, the small -1 twice. `t` counts steps from 1."""
    validation.positive_int("t", t, "reddi_gradient")
    validation.number("C", C, where="reddi_gradient")
    return C if t % 3 == 1 else -1.0


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
    where = "optimizer_race"
    validation.choice("surface", surface, tuple(SURFACES), where)
    defaults = RACE_DEFAULTS[surface]
    lr = defaults["lr"] if lr is None else lr
    beta1 = defaults["beta1"] if beta1 is None else beta1
    beta2 = defaults["beta2"] if beta2 is None else beta2
    steps = defaults["steps"] if steps is None else steps
    validation.count("steps", steps, 100_000, where)
    check_optimizer_settings(where, lr, beta1, beta2, eps, momentum, weight_decay)
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


def plot_optimizer_race(result):
    """The optimiser race. `result`: an `experiments.RaceResult`.

    On a 2-D surface: each optimiser's path over the loss contours (left) and its distance to
    the minimum value, f - f_min, over the steps (right, log scale; an X where it diverged).
    On "reddi": x over the steps for Adam and AMSGrad; the dashed line at -1 is the best point.
    """
    check_result(result, RaceResult, "plot_optimizer_race")
    if result.f is None:
        return _plot_reddi_race(result)
    fig, (left, right) = plots.subplots(1, 2)
    plots.loss_surface(result.f, result.xlim, result.ylim, trajectories=result.path, ax=left,
                 title=f"{result.surface}: paths from the same start")
    cap = 100 * max(gap[0] for gap in result.gap.values())  # runs that blow up stop at the cap
    runs = {name: dict(loss=np.minimum(gap, cap), diverged_at=result.diverged_at[name])
            for name, gap in result.gap.items()}
    plots.training_curves(runs, ax=right, logy=True, title="distance to the minimum value")
    right.set_ylabel(f"f - f_min (log scale, cut at {cap:.3g})")
    return fig


def _plot_reddi_race(result):
    fig, ax = plots.subplots()
    with plots.style():
        for (name, path), color in zip(result.path.items(), plots.colors(len(result.path))):
            ax.plot(np.arange(len(path)), path[:, 0], color=color, label=f"{name}: ends at {path[-1, 0]:+.3g}")
        ax.axhline(-1.0, color=plots.REFERENCE_COLOR, linestyle="--", linewidth=1.2, gid="reference",
                   label="best point x = -1")
        ax.set_ylim(*result.ylim)
        ax.set_xlabel("step t")
        ax.set_ylabel("x (kept in [-1, 1])")
        ax.set_title("Reddi et al.'s problem: f_t(x) = 3x if t mod 3 = 1, else -x")
        plots.legend(ax)
    return fig


def describe_race(result):
    """One line: where each optimiser ended (distance to the minimum value, or x for reddi)."""
    check_result(result, RaceResult, "describe_race")
    if result.surface == "reddi":
        ends = ", ".join(f"{name} {path[-1, 0]:+.3g}" for name, path in result.path.items())
        return f"x after {len(next(iter(result.path.values()))) - 1} steps: {ends} (best point: -1)"
    parts = [f"{name} diverged at step {result.diverged_at[name]}" if result.diverged_at[name] is not None
             else f"{name} {gap[-1]:.2g}" for name, gap in result.gap.items()]
    return "f - f_min at the end: " + ", ".join(parts)


def _not_reddi(values):
    """On "reddi" only Adam and AMSGrad run: momentum (SGD) and weight decay (AdamW) do nothing."""
    return values["surface"] != "reddi"


_START = RACE_DEFAULTS["rosenbrock"]
OPTIMIZER_RACE_EXPLORER = ExplorerSpec(
    name="optimizer_race", title="The optimiser race", chapter="03c_adam",
    question="Who reaches the minimum first, and who never does?",
    compute=optimizer_race, draw=plot_optimizer_race, describe=describe_race,
    controls=(
        Control("surface", "surface", "choice", "rosenbrock", options=tuple(SURFACES)),
        Control("lr", "lr", "log", _START["lr"], 1e-4, 10.0, 0.1, fmt=".3"),
        Control("beta1", "beta1 (Adam family)", "float", _START["beta1"], 0.0, 0.99, 0.01, fmt=".3"),
        Control("beta2", "beta2 (and RMSprop's alpha)", "float", _START["beta2"], 0.0, 0.9999, 0.0001, fmt=".4"),
        Control("eps", "eps", "log", 1e-8, 1e-10, 1.0, 1.0, fmt=".0e"),
        Control("momentum", "momentum (SGD)", "float", 0.9, 0.0, 0.99, 0.01, fmt=".3", active=_not_reddi),
        Control("weight_decay", "weight decay (AdamW)", "float", 0.01, 0.0, 0.5, 0.01, fmt=".3", active=_not_reddi),
        Control("steps", "steps", "int", _START["steps"], 10, 3000, 10),
    ),
    presets={"surface": lambda surface: RACE_DEFAULTS[surface]},
    small=dict(lr=0.005, steps=50), move=("lr", 0.01), budget_ms=TRAINS,
    variants={"reddi": dict(surface="reddi", **RACE_DEFAULTS["reddi"])},
)


# ----- what one optimiser step costs -------------------------------------------------------------
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
    `steps` >= 2 (the first step is not counted).
    """
    where = "optimizer_step_cost"
    validation.require(callable(make_optimizer), "make_optimizer", make_optimizer,
                       "a function [parameter] -> optimiser", where, TypeError)
    validation.require(isinstance(shape, tuple) and len(shape) > 0, "shape", shape, "a non-empty tuple of sizes",
                       where, TypeError)
    for size in shape:
        validation.positive_int("shape", size, where)
    validation.integer("steps", steps, "an integer >= 2", where, minimum=2)
    validation.non_negative_int("seed", seed, where)
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
