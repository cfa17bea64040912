"""Exercises 3 (algorithms): cosine annealing, one step of Adam, a residual block, clipping by norm,
and case 5 (a clipped run at a large learning rate) to measure, diagnose and repair."""
import re

import numpy as np

from .. import casebook, functional, nn, optim, schedules
from ..autograd import Tensor, tensor
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _backward_through, _bind, _call, _close,
                    _course_generator_untouched, _fmt, _name, _passed, _recognise, _returned_none, _worst,
                    register_course_implementations)
from ._repairs import _check_accuracies, _watched_repair


register_course_implementations("cosine_lr", {
    "gradcourse.schedules.CosineAnnealing": schedules.CosineAnnealing.lr_at,
    "gradcourse.schedules (its cosine)": schedules._cosine_between,
})
register_course_implementations("adam_step", {
    "gradcourse.optim.Adam": optim.Adam._adam_update,
})
register_course_implementations("ResidualBlock", {
    "gradcourse.nn.Residual": nn.Residual.forward,
})
register_course_implementations("clip_grad_norm", {
    "gradcourse.optim.clip_grad_norm_": optim.clip_grad_norm_,
    "gradcourse.optim.grad_norm": optim.grad_norm,
})


def _signature_error(error, call):
    """The TypeError raised by calling your function with the task's arguments, as an ExerciseError when it
    is about the arguments (a signature other than the task's); any other TypeError is your code's own."""
    if not re.search(r"argument|takes \d|got an unexpected", str(error)):
        return error
    return ExerciseError(f"{call} raised TypeError: {error}. Write the function with the signature the task "
                         f"gives (the same argument names and defaults)")


def check_cosine_lr(cosine_lr, lr_max=0.1, total_steps=100, lr_min=0.01, then=(0.5, 40)):
    """`cosine_lr(t, lr_max, total_steps, lr_min=0.0)`: half a cosine from lr_max to lr_min, then flat.

    Checked at six steps (one past total_steps) with `lr_max`, `total_steps` and `lr_min` given, then at
    six steps with the other `lr_max` and `total_steps` in `then` and lr_min left at its default 0, so
    that every argument is checked at two values.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["cosine_lr"]
    for a, T, low, given in ((lr_max, total_steps, lr_min, True), (then[0], then[1], 0.0, False)):
        steps = np.array([0, T // 4, T // 2, 3 * T // 4, T, 3 * T // 2])
        call = (f"cosine_lr(t, {a:g}, {T}, {low:g})" if given
                else f"cosine_lr(t, {a:g}, {T}) (lr_min left at its default)")

        def rates(a, T, low=None, call=call, steps=steps):
            __tracebackhide__ = True
            arguments = (a, T) if low is None else (a, T, low)
            got = []
            for t in steps:  # (a loop, not a list comprehension: its frame would show in a traceback)
                try:
                    value = _call(cosine_lr, int(t), *arguments, course=course)
                except TypeError as error:
                    raise _signature_error(error, call) from None
                if value is None:
                    raise _returned_none(f"{call} at t = {t}", "the learning rate at step t")
                got.append(value)
            return _array(got, "cosine_lr(...)")

        got = rates(a, T, low if given else None)
        _explain_cosine(got, steps, np.minimum(steps, T), a, T, low, call, rates if given else
                        (lambda a, T, low=None, rates=rates: rates(a, T)))
    _passed(f"cosine_lr matches lr_min + (lr_max - lr_min)(1 + cos(pi t / T)) / 2 at 6 steps each with "
            f"lr_max = {lr_max:g}, T = {total_steps}, lr_min = {lr_min:g} and with lr_max = {then[0]:g}, "
            f"T = {then[1]} and the default lr_min = 0, and stays at lr_min past T")


def _cosine(steps, lr_max, T, lr_min):
    return lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * np.minimum(steps, T) / T)) / 2


def _ignored_cosine_argument(got, steps, lr_max, T, lr_min, rates):
    """An explanation if changing lr_max, total_steps or (when given) lr_min leaves your rates as they were."""
    probes = [("lr_max", (2 * lr_max, T, lr_min)), ("total_steps", (lr_max, 2 * T, lr_min))]
    if lr_min != 0:
        probes.append(("lr_min", (lr_max, T, 2 * lr_min)))
    for name, (a, T2, low) in probes:
        if _close(_cosine(steps, a, T2, low), _cosine(steps, lr_max, T, lr_min)):
            continue  # (this change does not change the right rates either)
        try:
            other = rates(a, T2, low)
        except Exception:  # (a probe only: the check itself reports errors)
            continue
        if np.array_equal(other, got):
            value, changed = {"lr_max": (lr_max, a), "total_steps": (T, T2), "lr_min": (lr_min, low)}[name]
            return (f"{name} is ignored: with {name} = {value:g} or {changed:g} your rates are the same at "
                    f"every step; use the argument, not a fixed number")
    return None


def _explain_cosine(got, steps, clamped, lr_max, T, lr_min, call, rates):
    expected = _cosine(steps, lr_max, T, lr_min)
    if _close(got, expected):
        return
    mistakes = [(f"past total_steps = {T} the rate climbs back up: clamp t to total_steps so it stays at lr_min",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * steps / T)) / 2),
                ("the factor 1/2 is missing: (1 + cos) goes from 2 to 0, so halve it",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * clamped / T))),
                ("pi is missing: the cosine must go through half a period, cos(pi t / T)",
                 lr_min + (lr_max - lr_min) * (1 + np.cos(clamped / T)) / 2),
                ("the schedule runs backwards: use (1 + cos), which starts at 2, not (1 - cos)",
                 lr_min + (lr_max - lr_min) * (1 - np.cos(np.pi * clamped / T)) / 2)]
    if lr_min != 0:
        mistakes += [(f"lr_min is ignored: the rate falls to 0 instead of lr_min = {lr_min:g}",
                      lr_max * (1 + np.cos(np.pi * clamped / T)) / 2),
                     ("the cosine scales lr_max instead of (lr_max - lr_min): the rate starts at lr_max + lr_min "
                      "and ends at lr_min",
                      lr_min + lr_max * (1 + np.cos(np.pi * clamped / T)) / 2)]
    i = _worst(got, expected)
    formula = "lr_t = lr_min + (lr_max - lr_min) (1 + cos(pi t / T)) / 2"
    hint = (_recognise(got, mistakes) or _ignored_cosine_argument(got, steps, lr_max, T, lr_min, rates)
            or (formula if lr_min != 0 else f"{formula}, with lr_min = 0.0 by default"))
    raise ExerciseError(f"{call} at t = {steps[i]} (total_steps = {T}) expected {_fmt(expected[i])}, "
                        f"got {_fmt(got[i])}: {hint}")


def _adam_trajectories(theta0, grads, lr, beta1, beta2, eps):
    """{variant: theta after each step (one row per step)}: "right", and each of _ADAM_MISTAKES.

    In closed form, for all steps at once (no step function): a running average with decay beta
    is m_t = sum over k <= t of (1 - beta) beta^(t - k) g_k, a lower-triangular matrix of powers
    times the gradients, and theta_t = theta_0 - lr * (cumulative sum of the steps' updates).
    """
    G = np.array(grads)
    t = np.arange(1, len(grads) + 1)[:, None]
    powers = np.maximum(t - t.T, 0)

    def average(decay, gain, values):
        return np.tril(decay ** powers) @ (gain * values)

    m, v = average(beta1, 1 - beta1, G), average(beta2, 1 - beta2, G**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        right = {"m_hat": m / (1 - beta1**t), "v_hat": v / (1 - beta2**t)}
        variants = {
            "right": right,
            "no_correction": {"m_hat": m, "v_hat": v},
            "eps_inside_sqrt": {**right, "eps_inside": True},
            "t_minus_1": {"m_hat": m / (1 - beta1 ** (t - 1)), "v_hat": v / (1 - beta2 ** (t - 1))},
            "t_plus_1": {"m_hat": m / (1 - beta1 ** (t + 1)), "v_hat": v / (1 - beta2 ** (t + 1))},
            "m_uncorrected": {**right, "m_hat": m},
            "v_uncorrected": {**right, "v_hat": v},
            "v_of_g": {**right, "v_hat": average(beta2, 1 - beta2, G) / (1 - beta2**t)},
            "betas_swapped": {**right, "m_hat": average(1 - beta1, beta1, G) / (1 - beta1**t)},
        }
        thetas = {}
        for name, variant in variants.items():
            v_hat = variant["v_hat"]
            denominator = np.sqrt(v_hat + eps) if variant.get("eps_inside") else np.sqrt(v_hat) + eps
            thetas[name] = theta0 - lr * np.cumsum(variant["m_hat"] / denominator, axis=0)
    return thetas


_ADAM_MISTAKES = {
    "no_correction": "the bias correction is missing: divide m_t by (1 - beta1^t) and v_t by (1 - beta2^t)",
    "eps_inside_sqrt": "epsilon is inside the square root: Adam divides by sqrt(v_hat) + eps",
    "t_minus_1": "the bias correction uses t - 1: steps are numbered from t = 1, so at the first step "
                 "1 - beta^t = 1 - beta (with t - 1 = 0 it divides by zero)",
    "t_plus_1": "the bias correction uses t + 1: steps are numbered from t = 1, use beta^t",
    "m_uncorrected": "only v is bias-corrected: m_hat = m_t / (1 - beta1^t) too",
    "v_uncorrected": "only m is bias-corrected: v_hat = v_t / (1 - beta2^t) too",
    "v_of_g": "v averages g instead of g^2: the second moment is the running mean of squared gradients",
    "betas_swapped": "the running mean is reversed: m_t = beta1 m_(t-1) + (1 - beta1) g_t",
}


_ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def check_adam_step(adam_step, lr=0.1, beta1=0.8, beta2=0.99, eps=1e-3, default_lr=0.03):
    """`adam_step(theta, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8) -> (theta, m, v)`: one step of Adam.

    Checked over 3 steps at `lr` with beta1, beta2 and eps given, then over 3 steps at `default_lr` with
    them left at their defaults, so that every argument is checked at two values. The gradients are
    small (about 0.01) and eps large (1e-3), so where eps goes matters.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["adam_step"]
    rng = np.random.default_rng(5)
    theta0, grads = rng.normal(size=4), [0.01 * rng.normal(size=4) for _ in range(3)]
    given = {"beta1": beta1, "beta2": beta2, "eps": eps}
    for settings, rate in ((given, lr), (None, default_lr)):
        if settings is None:
            settings, fn = _ADAM_DEFAULTS, adam_step
            call = f"adam_step(theta, g, m, v, t, {rate:g}) (beta1, beta2 and eps left at their defaults)"
        else:
            fn = _bind(adam_step, beta1, beta2, eps)
            call = f"adam_step(theta, g, m, v, t, {rate:g}, {beta1:g}, {beta2:g}, {eps:g})"
        trajectories = _adam_trajectories(theta0, grads, rate, **settings)
        ignored = _adam_ignored(theta0, grads, rate, settings) if settings is given else []

        def probe(t, rate=rate, settings=settings):
            return _ignored_adam_arguments(adam_step, theta0, grads, t, rate, settings, course)

        theta, m, v = theta0.copy(), np.zeros(4), np.zeros(4)
        for t, g in enumerate(grads, start=1):
            try:
                with np.errstate(divide="ignore", invalid="ignore"):
                    result = _call(fn, theta.copy(), g.copy(), m.copy(), v.copy(), t, rate, course=course)
            except TypeError as error:
                raise _signature_error(error, call) from None
            theta, m, v = _unpack_adam(result, f"{call} at step t = {t}")
            if not _close(theta, trajectories["right"][t - 1], rtol=1e-6, atol=1e-12):
                _explain_adam(theta, t, trajectories, ignored, call, probe)
            _check_adam_moments(m, v, grads[:t], settings["beta1"], settings["beta2"], t, call, probe)
    _passed(f"adam_step matches Adam's update over 3 steps with lr = {lr:g}, beta1 = {beta1:g}, beta2 = {beta2:g}, "
            f"eps = {eps:g}, and over 3 steps with lr = {default_lr:g} and its default betas and eps (0.9, 0.999, "
            f"1e-8): bias correction from t = 1, epsilon outside the square root")


def _listed(words):
    """"a", "a and b", "a, b and c"."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _adam_ignored(theta0, grads, lr, settings):
    """[(explanation, theta after each step)] for an adam_step that uses its defaults in place of `settings`."""
    found = []
    for names in (("eps",), ("beta1",), ("beta2",), ("beta1", "beta2"), ("beta1", "beta2", "eps")):
        values = {**settings, **{name: _ADAM_DEFAULTS[name] for name in names}}
        if values == settings:
            continue
        shown = _listed(f"{name} = {_ADAM_DEFAULTS[name]:g}" for name in names)
        passed = _listed(f"{name} = {settings[name]:g}" for name in names)
        found.append((f"{_listed(names)} {'is' if len(names) == 1 else 'are'} ignored: the update is Adam's "
                      f"with {shown} (the default{'' if len(names) == 1 else 's'}), not with the {passed} passed in; "
                      f"use the arguments",
                      _adam_trajectories(theta0, grads, lr, **values)["right"]))
    return found


def _ignored_adam_arguments(adam_step, theta0, grads, t, lr, settings, course):
    """An explanation if changing lr, beta1, beta2 or eps changes nothing your steps 1..t return, though it
    changes Adam's; else None. (A probe: your function is run again, with every argument passed.)"""
    def yours(lr, values):
        theta, m, v = theta0.copy(), np.zeros(4), np.zeros(4)
        for k, g in enumerate(grads[:t], start=1):
            theta, m, v = (np.asarray(x, dtype=float) for x in _call(
                adam_step, theta.copy(), g.copy(), m.copy(), v.copy(), k, lr, values["beta1"], values["beta2"],
                values["eps"], course=course))
        return np.concatenate([theta, m, v])

    def adams(lr, values):
        theta = _adam_trajectories(theta0, grads[:t], lr, **values)["right"][t - 1]
        m, v = _running_average(values["beta1"], grads[:t], t), _running_average(values["beta2"], [g**2 for g in grads[:t]], t)
        return np.concatenate([theta, m, v])

    others = {"lr": 2 * lr, "beta1": 0.5 if settings["beta1"] != 0.5 else 0.7,
              "beta2": 0.9 if settings["beta2"] != 0.9 else 0.95, "eps": 1e-2 if settings["eps"] != 1e-2 else 1e-4}
    try:
        with np.errstate(all="ignore"):
            base = yours(lr, settings)
            for name, other in others.items():
                changed = (other, settings) if name == "lr" else (lr, {**settings, name: other})
                if _close(adams(*changed), adams(lr, settings), rtol=1e-9, atol=1e-15):
                    continue  # (at this step the change does not change Adam's result either)
                if np.array_equal(yours(*changed), base):
                    value = lr if name == "lr" else settings[name]
                    return (f"{name} is ignored: with {name} = {value:g} or {other:g} your steps return the same "
                            f"theta, m and v; use the argument, not a fixed number")
    except Exception:  # (a probe only: the check itself reports errors)
        return None
    return None


def _unpack_adam(result, call):
    if result is None:
        raise _returned_none(call, "the tuple (theta, m, v)")
    if not isinstance(result, tuple) or len(result) != 3:
        raise ExerciseError(f"adam_step should return a tuple (theta, m, v), got {type(result).__name__}")
    for value, name in zip(result, ("theta", "m", "v")):
        if value is None:
            raise ExerciseError(f"{call} returned None as {name}: return the new (theta, m, v)")
    return [_array(value, f"adam_step's {name}") for value, name in zip(result, ("theta", "m", "v"))]


def _running_average(beta, values, t):
    return sum((1 - beta) * beta ** (t - k) * value for k, value in enumerate(values, start=1))


def _check_adam_moments(m, v, grads, beta1, beta2, t, call, probe):
    m_expected, v_expected = _running_average(beta1, grads, t), _running_average(beta2, [g**2 for g in grads], t)
    for name, got, expected, beta, values in (("m", m, m_expected, beta1, grads),
                                              ("v", v, v_expected, beta2, [g**2 for g in grads])):
        default = _ADAM_DEFAULTS[f"beta{1 if name == 'm' else 2}"]
        if beta != default and _close(got, _running_average(default, values, t), atol=1e-15):
            raise ExerciseError(f"{call} at step t = {t}: the returned {name} is the running average with "
                                f"beta{1 if name == 'm' else 2} = {default:g} (the default), not with the "
                                f"{beta:g} passed in: beta{1 if name == 'm' else 2} is ignored; use the arguments")
        if _close(got, expected / (1 - beta**t), atol=1e-15):
            raise ExerciseError(f"{call} at step t = {t} returned the bias-corrected {name}_hat as {name}: "
                                f"return the raw running average {name}_t; the correction is only used "
                                f"for the update (the next step builds on the raw {name}_t)")
        if not _close(got, expected, atol=1e-15):
            hint = probe(t)
            raise ExerciseError(f"{call} at step t = {t}: the returned {name} should be {_fmt(expected)}, "
                                f"got {_fmt(got)}" + (f": {hint}" if hint else ""))


def _explain_adam(got, t, trajectories, ignored, call, probe):
    mistakes = [(text, theta[t - 1]) for text, theta in ignored]
    mistakes += [(text, trajectories[name][t - 1]) for name, text in _ADAM_MISTAKES.items()]
    hint = _recognise(got, mistakes) or probe(t)
    hint = hint or ("theta_t = theta_(t-1) - lr * m_hat / (sqrt(v_hat) + eps) with "
                    "m_hat = m_t / (1 - beta1^t), v_hat = v_t / (1 - beta2^t)")
    raise ExerciseError(f"{call} at step t = {t}: theta should be {_fmt(trajectories['right'][t - 1])}, "
                        f"got {_fmt(got)}: {hint}")


def check_residual_block(ResidualBlock, width=4, seed=6):
    """`ResidualBlock(width)(x)` computes x + fc2(relu(fc1(x))) and backpropagates through both paths."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["ResidualBlock"]
    rng = np.random.default_rng(seed)
    with _course_generator_untouched():
        block = _call(ResidualBlock, width, course=course)
    W1, b1, W2, b2 = (rng.normal(size=s) for s in [(width, width), width, (width, width), width])
    for parameter, value in zip([block.fc1.weight, block.fc1.bias, block.fc2.weight, block.fc2.bias],
                                [W1, b1, W2, b2]):
        parameter.data[...] = value
    x, upstream = rng.normal(size=(3, width)), rng.normal(size=(3, width))
    if _call(block, tensor(x), course=course) is None:
        raise _returned_none(f"ResidualBlock({width})(x)", "forward returns the block's output, a Tensor")
    h = x @ W1 + b1
    branch = np.maximum(h, 0) @ W2 + b2
    out, (grad_x,) = _backward_through(block, [tensor(x, requires_grad=True)], upstream, course=course)
    mistakes = [("the skip connection is missing: the block returns fc2(relu(fc1(x))) without adding x", branch),
                ("relu is applied after the addition: the block adds x to the branch's output as it is",
                 np.maximum(x + branch, 0)),
                ("the relu between fc1 and fc2 is missing", x + h @ W2 + b2)]
    if not _close(out.data, x + branch):
        hint = _recognise(out.data, mistakes) or "the block computes x + fc2(relu(fc1(x)))"
        raise ExerciseError(f"ResidualBlock output: expected {_fmt(x + branch)}, got {_fmt(out.data)}: {hint}")
    expected_grad = upstream + ((upstream @ W2.T) * (h > 0)) @ W1.T
    if not _close(grad_x, expected_grad):
        raise ExerciseError(f"the gradient reaching x should be G + (relu'(h) * G W2^T) W1^T = "
                            f"{_fmt(expected_grad)}, got {_fmt(grad_x)}")
    _passed("ResidualBlock computes x + fc2(relu(fc1(x))), and the gradient reaching x is "
            "G (through the skip) + (relu'(h) * G W2^T) W1^T (through the branch)")


def check_clip_grad_norm(clip_grad_norm):
    """`clip_grad_norm(params, max_norm) -> float` rescales all gradients together; returns the norm before.

    Checked on two gradients of joint norm 13 at three max_norm values (two that clip, one above the
    norm), then on two others of joint norm 3 with a parameter whose .grad is None among them.
    """
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["clip_grad_norm"]
    grads = [np.array([3.0, 4.0]), np.array([[0.0, 12.0]])]        # joint norm sqrt(9 + 16 + 144) = 13
    for max_norm, factor in [(6.5, 0.5), (1.3, 0.1), (100.0, 1.0)]:
        params = _with_gradients(grads)
        returned = _clip_returned(clip_grad_norm, params, max_norm, course)
        _check_clipped(params, grads, max_norm, factor)
        _check_returned_norm(returned, grads, factor)
    # joint norm sqrt(1 + 4 + 4) = 3; a matrix of rank 2, whose spectral norm (sqrt 2) is not its Frobenius norm (2)
    others = [np.array([1.0, -2.0]), np.sqrt(2.0) * np.eye(2)]
    params = _with_gradients(others) + [tensor(np.zeros(3), requires_grad=True)]  # (its .grad is None)
    try:
        returned = _clip_returned(clip_grad_norm, params, 1.5, course)
    except (TypeError, AttributeError) as error:
        raise ExerciseError(f"clip_grad_norm(params, 1.5) failed on a parameter whose .grad is None "
                            f"({type(error).__name__}: {error}): skip the parameters without a gradient") from None
    if params[2].grad is not None:
        raise ExerciseError("clip_grad_norm gave a gradient to a parameter whose .grad was None: leave such "
                            "parameters as they are (skip them)")
    _check_clipped(params[:2], others, 1.5, 0.5)
    _check_returned_norm(returned, others, 0.5)
    _passed("clip_grad_norm rescales all gradients together (joint norm 13, clipped to max_norm = 6.5 and 1.3), "
            "leaves them alone below max_norm (100), skips a parameter whose .grad is None (among two gradients "
            "of joint norm 3, clipped to 1.5), and returns the norm before clipping")


def _clip_returned(clip_grad_norm, params, max_norm, course):
    __tracebackhide__ = True
    returned = _call(clip_grad_norm, params, max_norm, course=course)
    if returned is None:
        raise _returned_none(f"clip_grad_norm(params, {max_norm:g})", "the joint norm of the gradients before "
                             "clipping, as a float")
    return _array(returned, f"clip_grad_norm(params, {max_norm:g})")


def _with_gradients(grads):
    params = [tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return params


def _norms(grads):
    """(the joint norm of the gradients, the sum of their norms, how the joint norm is written out)."""
    norms = [float(np.linalg.norm(g)) for g in grads]
    return float(np.sqrt(sum(n**2 for n in norms))), sum(norms), " + ".join(f"{n:g}^2" for n in norms)


def _check_returned_norm(returned, grads, factor):
    norm, summed, squares = _norms(grads)
    if factor != 1 and _close(returned, norm * factor):
        raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}, the norm after clipping: return the "
                            f"norm before clipping ({norm:g}), the number worth logging")
    if _close(returned, summed):
        raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}, the sum of the parameters' norms: the "
                            f"joint norm is the square root of the sum of their squares, sqrt({squares}) = {norm:g}")
    if _close(returned, norm**2):
        raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}, the squared norm: take its square root "
                            f"({norm:g})")
    if not _close(returned, norm):
        raise ExerciseError(f"clip_grad_norm returned {_fmt(returned)}; the joint norm of the gradients "
                            f"{' and '.join(_fmt(g) for g in grads)} before clipping is sqrt({squares}) = {norm:g}")


def _check_clipped(params, grads, max_norm, factor):
    got = [p.grad for p in params]
    expected = [factor * g for g in grads]
    if all(g is not None and _close(a, b, rtol=1e-5) for a, b, g in zip(got, expected, got)):
        return
    if any(g is None for g in got):
        raise ExerciseError("after clip_grad_norm a parameter's .grad is None: change the gradients (or assign "
                            "p.grad), do not remove them")
    norm, summed, squares = _norms(grads)
    if factor == 1:
        hint = (f"the total norm {norm:g} is below max_norm = {max_norm:g}, so nothing should change; only scale "
                f"down, when total_norm > max_norm")
    elif all(_close(a, b) for a, b in zip(got, grads)):
        hint = ("the gradients did not change: scale each p.grad in place (p.grad *= coef) or assign "
                "p.grad = p.grad * coef")
    elif all(_close(a, g * min(1.0, max_norm / np.linalg.norm(g))) for a, g in zip(got, grads)):
        hint = ("each gradient was clipped on its own: compute one norm over all gradients together, "
                "sqrt(sum of every squared entry), and scale them all by the same factor")
    elif all(_close(a, g * max_norm / summed) for a, g in zip(got, grads)):
        hint = (f"the gradients were scaled by max_norm / {summed:.4g}, with {summed:.4g} the sum of the "
                f"parameters' norms: the joint norm is sqrt({squares}) = {norm:g}")
    elif all(_close(a, np.clip(g, -max_norm, max_norm)) for a, g in zip(got, grads)):
        hint = ("each entry was clipped by value to [-max_norm, max_norm]: clipping by norm scales all the "
                "gradients by one factor, max_norm / total_norm")
    else:
        hint = "scale every gradient by max_norm / total_norm when total_norm > max_norm"
    expected, got = " and ".join(_fmt(e) for e in expected), " and ".join(_fmt(g) for g in got)
    raise ExerciseError(f"with max_norm = {max_norm:g} the gradients should be {expected}, got {got}: {hint}")


# ----- 3.5: measure, diagnose, repair (case 5 is in gradcourse.casebook) -----------------------
def _norm(arrays):
    return float(np.sqrt(sum(np.sum(a**2) for a in arrays)))


def _first_steps(train_step, watched, seed):
    """Your step, twice, on case 5's new network and its first two batches, at case 5's learning rate.

    Each must be a step of SGD on its own batch's gradient, clipped at CASE5_MAX_NORM, and return the
    batch's loss. Returns (the length of the first step, the norm of the gradient it had to clip).
    """
    __tracebackhide__ = True
    lr, max_norm = casebook.CASE5_LR, casebook.CASE5_MAX_NORM
    model = casebook._mlp(seed)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    name = _name(train_step)
    first = None
    for k, (xb, yb) in enumerate(casebook._batches(seed, steps=2), start=1):
        which = "first" if k == 1 else "second"
        # the batch's own gradient at the weights before the step (what .grad held is put back)
        held = [None if p.grad is None else p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        loss = functional.cross_entropy(model(casebook.tensor(xb)), yb)
        loss.backward()
        gradient = [p.grad.copy() for p in model.parameters()]
        norm = _norm(gradient)
        for p, g in zip(model.parameters(), held):
            p.grad = g
        before = [p.data.copy() for p in model.parameters()]
        returned = watched(model, optimizer, xb, yb)
        _check_returned_loss(returned, loss.item(), name, which)
        if optimizer.lr != lr:
            raise ExerciseError(f"{name} changed optimizer.lr from {_fmt(lr)} to {_fmt(optimizer.lr)}: the step "
                                f"is one of SGD at the optimiser's learning rate, with the gradient clipped at "
                                f"max_norm = {_fmt(max_norm)}. Leave optimizer.lr as it is.")
        update = [p.data - b for p, b in zip(model.parameters(), before)]
        length = _norm(update)
        _check_step(update, length, gradient, norm, held, model, name, which)
        first = first or (length, norm)
    return first


def _check_returned_loss(returned, loss, name, which):
    call = f"{name}(model, optimizer, xb, yb) on the {which} batch"
    if returned is None:
        raise _returned_none(call, "the batch's cross-entropy loss as a float, loss.item()")
    if isinstance(returned, Tensor):
        raise ExerciseError(f"{call} returned a Tensor: return the loss as a float, loss.item()")
    if not isinstance(returned, (int, float, np.floating, np.integer)):
        raise ExerciseError(f"{call} returned {type(returned).__name__} {returned!r:.60}: return the loss as a "
                            f"Python float, loss.item()")
    if abs(float(returned) - loss) > 1e-6 * abs(loss):
        raise ExerciseError(f"{call} returned {returned!r:.60}, not the batch's cross-entropy loss {loss:.6g} (at "
                            f"the weights before the step): return loss.item()")


def _check_step(update, length, gradient, norm, held, model, name, which):
    """An ExerciseError unless `update` is -lr times the batch's `gradient` clipped at CASE5_MAX_NORM."""
    lr, max_norm = casebook.CASE5_LR, casebook.CASE5_MAX_NORM
    measured = (f"its {which} step moved the weights by {length:.3g} (the length of theta_after - theta_before); "
                f"the batch's gradient has norm {norm:.3g}, so clipped at max_norm = {_fmt(max_norm)} a step of SGD "
                f"at lr = {_fmt(lr)} is lr × max_norm = {lr * max_norm:.3g} long, unclipped lr × {norm:.3g} = "
                f"{lr * norm:.3g}")
    if not np.isfinite(length):
        raise ExerciseError(f"after {name}'s {which} step the weights hold nan or inf values: measure the loss "
                            f"and the gradient's norm in your step")
    if length == 0:
        raise ExerciseError(f"{name} did not change the weights: call optimizer.step() after clipping")
    if which == "second" and all(h is not None for h in held):
        accumulated = [h + g for h, g in zip(held, gradient)]
        direction = -sum(np.sum(u * a) for u, a in zip(update, accumulated)) / (length * _norm(accumulated))
        along_own = -sum(np.sum(u * g) for u, g in zip(update, gradient)) / (length * norm)
        if direction > 1 - 1e-6 and along_own < 1 - 1e-6:
            raise ExerciseError(f"{name}'s second step moved the weights along the sum of this batch's gradient "
                                f"and the gradient the first step left in .grad, not along this batch's gradient "
                                f"alone: loss.backward() adds to .grad, so the gradients accumulate from step to "
                                f"step. Clear them (optimizer.zero_grad()) before loss.backward().")
    along = -sum(np.sum(u * g) for u, g in zip(update, gradient)) / (length * norm)
    by_value = [-lr * np.clip(g, -max_norm, max_norm) for g in gradient]
    largest_entry = max(float(np.max(np.abs(g))) for g in gradient)
    if abs(length - lr * norm) <= 1e-4 * lr * norm and along > 1 - 1e-6:
        left = [p.grad for p in model.parameters()]
        left = None if any(g is None for g in left) else _norm(left)
        if left is not None and abs(left - max_norm) <= 1e-4 * max_norm:
            raise ExerciseError(f"{name} clips after the step: {measured}. After the step .grad holds a gradient "
                                f"of norm {left:.3g}: the clipping changed .grad after optimizer.step() had already "
                                f"used the whole gradient. Clip between loss.backward() and optimizer.step().")
        by_value_note = (f" Clipping each entry by value (clip_grad_value_) at {_fmt(max_norm)} leaves this "
                         f"gradient as it is (its largest entry is {largest_entry:.3g}): clip the joint norm."
                         if largest_entry <= max_norm else "")
        raise ExerciseError(f"{name} does not clip the gradient before the step: {measured}. Clip the joint norm "
                            f"at casebook.CASE5_MAX_NORM between loss.backward() and optimizer.step() (at a "
                            f"max_norm above {norm:.3g} this gradient is left as it is).{by_value_note}")
    if along < 1 - 1e-6:
        per_parameter = [-lr * g * min(1.0, max_norm / np.linalg.norm(g)) for g in gradient]
        if all(_close(u, e, rtol=1e-4, atol=1e-12) for u, e in zip(update, per_parameter)):
            hint = ("each parameter's gradient was clipped on its own, which turns the step: clip the joint "
                    "norm of all the gradients together")
        elif all(_close(u, e, rtol=1e-4, atol=1e-12) for u, e in zip(update, by_value)):
            hint = ("each entry of the gradient was clipped by value (as clip_grad_value_ does), which turns the "
                    "step: clip the joint norm of all the gradients together (clip_grad_norm_), which keeps "
                    "the direction")
        else:
            hint = "a step of SGD on a clipped gradient moves the weights against the gradient's direction"
        raise ExerciseError(f"{name}'s {which} step does not point against its batch's gradient (cosine "
                            f"{along:.4f}, not 1): {hint}")
    if abs(length - lr * max_norm) > 1e-4 * lr * max_norm:
        raise ExerciseError(f"{name}'s step has the wrong length: {measured}. Clip the joint norm at "
                            f"casebook.CASE5_MAX_NORM, and step with the optimiser as it is.")


def check_case5_repair(train_step, seeds=(0, 1, 2, 3, 4, 5)):
    """`train_step(model, optimizer, xb, yb)`: one step of SGD on the batch, its gradient clipped at
    CASE5_MAX_NORM, returning the loss. Measured on two steps, then graded on case 5's accuracy."""
    __tracebackhide__ = True
    watched = _watched_repair(train_step)
    lr, max_norm = casebook.CASE5_LR, casebook.CASE5_MAX_NORM
    with _course_generator_untouched():
        length, norm = _first_steps(train_step, watched, seeds[0])
        _passed(f"{_name(train_step)} takes a step of SGD on its batch's clipped gradient and returns the loss: "
                f"on case 5's first two batches (seed {seeds[0]}) each step moved the weights against the batch's "
                f"own gradient by lr × max_norm ({_fmt(lr)} × {_fmt(max_norm)} = {lr * max_norm:.3g}; the first "
                f"batch's gradient has norm {norm:.3g})")
        accuracies = casebook.case5_measure(watched, seeds)
    _check_accuracies(5, accuracies, seeds, f"trained with {_name(train_step)}",
                      "Measure the loss and the length of every step of your run "
                      "(casebook.case5_training(seed, step=train_step, after_step=...)).")


CHECKERS = [check_cosine_lr, check_adam_step, check_residual_block, check_clip_grad_norm, check_case5_repair]
