"""Optimisers that update parameters from their gradients, and gradient clipping.

Each optimiser follows the algorithm of PyTorch's class of the same name. Its docstring writes the
update out as a pseudo-code box (the one in PyTorch's documentation), and the code of its `_update`
method reads line for line like that box.

A parameter is anything with a float ndarray `.data` and a `.grad` (an ndarray or None), such as
`gradcourse.tensor(x, requires_grad=True)`. Pass `model.named_parameters()` instead of
`model.parameters()` (as PyTorch allows) and a diverging step names the layer. A typical loop::

    opt = optim.Adam(params, lr=1e-3)
    for batch in batches:
        opt.zero_grad()
        loss = model(batch)
        loss.backward()
        opt.step()

What an optimiser refuses, as PyTorch does: a Module instead of its parameters (TypeError: pass
`model.parameters()`), a parameter listed twice (ValueError: it would be updated twice per step),
a tensor computed from others (ValueError: can't optimize a non-leaf Tensor), and at `step()` a
`.grad` whose shape is not its parameter's. Stricter than PyTorch: a tensor created without
`requires_grad=True` is refused too (PyTorch accepts it and silently never updates it). Looser: one
parameter on its own is taken as a list of one.
"""
import copy
import math
from collections.abc import Mapping

import numpy as np

from . import validation as check
from .nn import Module, clear_grads


# ---------------------------------------------------------------------------
# The parameter list: what an optimiser or a clipping function was given, checked once.

def _parameters_and_names(params, where, optimised=True):
    """(parameters, names) from one parameter, an iterable of them, or (name, parameter) pairs
    such as `model.named_parameters()` (names None where absent). Each entry is checked (to be
    `optimised`, a Tensor must be a leaf that requires grad), and a parameter listed twice is an
    error, as in PyTorch."""
    items = _as_list(params, where)
    if items and all(_is_named_pair(item) for item in items):
        params, names = [p for _, p in items], [name for name, _ in items]
    else:
        params, names = items, [getattr(p, "name", None) for p in items]
    for index, p in enumerate(params):
        _check_parameter(p, index, where, optimised)
    _check_no_duplicates(params, names, where)
    return params, names


def _as_list(params, where):
    if isinstance(params, Module):
        check.fail("params", params, "the model's parameters, not the module: pass model.parameters() "
                   "(or model.named_parameters())", where, TypeError)
    if isinstance(params, dict):
        check.fail("params", params, "a list of parameters, not a dict (parameter groups are not supported): "
                   "pass list(model.parameters())", where, TypeError)
    if hasattr(params, "grad"):  # one parameter on its own
        return [params]
    try:
        return list(params)
    except TypeError:
        check.fail("params", params, "an iterable of parameters such as model.parameters()", where, TypeError)


def _is_named_pair(item):
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)


def _check_parameter(p, index, where, optimised):
    """A parameter has an ndarray .data and a .grad; an optimised Tensor is a leaf that requires grad."""
    if isinstance(p, Module):
        check.fail(f"params[{index}]", p, "a parameter, not a module: pass model.parameters()", where, TypeError)
    check.require(isinstance(getattr(p, "data", None), np.ndarray) and hasattr(p, "grad"),
                  f"params[{index}]", p, "a parameter (a Tensor with requires_grad=True)", where, TypeError)
    if not optimised:
        return
    if not getattr(p, "is_leaf", True):
        raise ValueError(f"{where}: can't optimize a non-leaf Tensor: params[{index}] was computed "
                         "from other tensors (as in PyTorch, only leaves are optimised)")
    check.require(getattr(p, "requires_grad", True), f"params[{index}]", p,
                  "a Tensor with requires_grad=True (without it, it never gets a gradient)", where)


def _check_no_duplicates(params, names, where):
    """ValueError naming the first parameter listed twice (it would be updated twice per step)."""
    first_index = {}
    for index, p in enumerate(params):
        earlier = first_index.setdefault(id(p), index)
        if earlier != index:
            raise ValueError(
                f"{where}: some parameters appear more than once (as PyTorch forbids): "
                f"{_describe(p, index, names[index])} is {_describe(p, earlier, names[earlier])}; "
                "a layer shared by two models is listed by both: pass each parameter once")


def _describe(param, index, name=None):
    """'parameter 2 'fc1.weight' of shape (32, 16)': enough to find it in a model."""
    label = f"parameter {index}" if name is None else f"parameter {index} {name!r}"
    return f"{label} of shape {np.shape(param.data)}"


def _state_array(label, value, p, name, where):
    """A loaded state array: real numbers (TypeError otherwise) of the shape of parameter `p`
    (ValueError naming both shapes otherwise), copied in `p`'s dtype."""
    array = np.asarray(value)
    check.require(array.dtype.kind in "iuf", label, value, f"an array of numbers of shape {np.shape(p.data)}",
                  where, TypeError)
    check.require(array.shape == p.data.shape, f"np.shape({label})", array.shape,
                  f"{np.shape(p.data)}, the shape of {name}", where)
    return np.array(array, dtype=p.data.dtype)


def _all_finite(grads):
    """True when no array in `grads` holds a nan or an inf.

    One number answers for all of them: the sum of the squares g.g (one BLAS call each, the
    fastest test numpy offers: about 0.6 us for a 32x32 array, against 1.25 us for
    math.isfinite(g.sum()) and 1.6 us for np.isfinite(g).all()). Any nan or inf makes it
    non-finite. It can also overflow for finite gradients (entries past about 1e154); then the
    exact element-wise test decides.
    """
    flat = [g.ravel() for g in grads]
    with np.errstate(over="ignore"):
        if math.isfinite(sum(f.dot(f) for f in flat)):
            return True
    return all(np.isfinite(f).all() for f in flat)


# ---------------------------------------------------------------------------
# The base class.

class Optimizer:
    """Base class: holds the parameters, the learning rate `lr` and per-parameter state.

    `lr` is a plain attribute, read at every step, so a schedule may change it between steps.
    `step_count` counts the completed calls of `step()`. `state[i]` is the dict of running
    averages of parameter i (None until the parameter first has a gradient, as in PyTorch).
    A subclass lists its hyperparameters in `hyperparameter_names`, builds a parameter's state
    in `_initial_state` and updates one parameter in `_update`.
    """

    hyperparameter_names = ("lr", "weight_decay")

    def __init__(self, params, lr, weight_decay=0.0):
        where = type(self).__name__
        self.params, self.param_names = _parameters_and_names(params, where)
        check.require(self.params, "params", self.params, "a non-empty list: the optimiser has nothing to "
                      "update (PyTorch: optimizer got an empty parameter list)", where)
        self.lr = check.non_negative("lr", lr, where)
        self.weight_decay = check.non_negative("weight_decay", weight_decay, where)
        self.step_count = 0
        self.state = [None] * len(self.params)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set every `.grad` to None (PyTorch's default), or to zeros if not `set_to_none`."""
        clear_grads(self.params, set_to_none, f"{type(self).__name__}.zero_grad")

    def step(self):
        """Update every parameter that has a gradient; skip those whose `.grad` is None.

        All gradients are checked before any parameter changes (each must be an array of its
        parameter's shape, ValueError otherwise, as PyTorch; and finite, FloatingPointError
        otherwise), so a failed step leaves the parameters and the optimiser exactly as they were.
        """
        step = self.step_count + 1
        self._check_gradients(step)
        update, states = self._update, self.state
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            if states[index] is None:
                states[index] = self._initial_state(p)
            update(p, p.grad, states[index])
        self.step_count = step

    def _check_gradients(self, step):
        """Raise naming the first parameter whose gradient has the wrong shape or holds nan or inf."""
        grads = []
        for index, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if not isinstance(g, np.ndarray) or g.shape != p.data.shape:
                self._wrong_gradient(index, g, step)
            grads.append(g)
        if not _all_finite(grads):
            self._non_finite_gradient(step)

    def _wrong_gradient(self, index, g, step):
        p, where = self.params[index], type(self).__name__
        name = _describe(p, index, self.param_names[index])
        if not isinstance(g, np.ndarray):
            raise TypeError(f"{where}: the .grad of {name} must be a numpy array, got {type(g).__name__}")
        raise ValueError(f"{where}: the .grad of {name} has shape {g.shape} at step {step}: a gradient "
                         "must have its parameter's shape (PyTorch raises too)")

    def _non_finite_gradient(self, step):
        """Raise FloatingPointError naming the first parameter whose gradient holds nan or inf."""
        for index, p in enumerate(self.params):
            if p.grad is not None and not np.isfinite(p.grad).all():
                name = _describe(p, index, self.param_names[index])
                raise FloatingPointError(
                    f"non-finite gradient (nan or inf) in {name} at step {step}; the run is diverging: "
                    "lower the learning rate or clip the gradients (optim.clip_grad_norm_)")

    def _initial_state(self, p):
        return {}

    def _update(self, p, g, state):
        raise NotImplementedError

    def state_dict(self):
        """A deep copy of everything needed to resume: hyperparameters, step count, state."""
        return {
            "hyperparameters": {name: getattr(self, name) for name in self.hyperparameter_names},
            "step_count": self.step_count,
            "state": copy.deepcopy(self.state),
        }

    def load_state_dict(self, state_dict):
        """Restore a `state_dict()` (copied, so the dict itself is never changed by steps).

        Everything is checked before anything changes: the keys, the hyperparameters (their names,
        and their values by the constructor's own checks: TypeError or ValueError as there), one
        state per parameter, and in each state the keys this optimiser keeps, every array of its
        parameter's shape (ValueError naming the parameter, the key and both shapes) and every
        counter (Adam's "step") a non-negative integer. A scalar may come back from numpy or pickle
        tools as a numpy scalar or a 0-d array: either is taken as the scalar it holds.
        """
        where = f"{type(self).__name__}.load_state_dict"
        check.require(isinstance(state_dict, Mapping), "state_dict", state_dict,
                      "a dict from optimizer.state_dict()", where, TypeError)
        missing = {"hyperparameters", "step_count", "state"} - set(state_dict)
        check.require(not missing, "state_dict", sorted(state_dict),
                      "a dict with keys 'hyperparameters', 'step_count' and 'state'", where)
        hyperparameters, states = state_dict["hyperparameters"], state_dict["state"]
        check.require(isinstance(hyperparameters, Mapping), "state_dict['hyperparameters']", hyperparameters,
                      "a dict {name: value}", where, TypeError)
        check.require(set(hyperparameters) == set(self.hyperparameter_names), "state_dict['hyperparameters']",
                      sorted(hyperparameters), f"the hyperparameters of a {type(self).__name__}, "
                      f"{sorted(self.hyperparameter_names)} (the state dict comes from another optimiser)", where)
        check.require(isinstance(states, (list, tuple)), "state_dict['state']", states,
                      "a list with one state (a dict or None) per parameter", where, TypeError)
        check.require(len(states) == len(self.params), "len(state_dict['state'])", len(states),
                      f"{len(self.params)}, one state per parameter of this optimiser", where)
        step_count = check.non_negative_int("state_dict['step_count']", state_dict["step_count"], where)
        loaded = self._rebuilt(hyperparameters, where)  # its hyperparameters decide the state's keys (AMSGrad)
        new_states = []
        for index, state in enumerate(states):
            check.require(state is None or isinstance(state, Mapping), f"state_dict['state'][{index}]", state,
                          "a dict or None", where, TypeError)
            new_states.append(None if state is None else loaded._loaded_state(index, state, where))
        for name in self.hyperparameter_names:
            setattr(self, name, getattr(loaded, name))
        self.step_count = step_count
        self.state = new_states

    def _rebuilt(self, hyperparameters, where):
        """A new optimiser of this class over the same parameters, built with `hyperparameters`, so
        that the constructor's checks apply to loaded values too (a subclass's constructor takes
        its hyperparameters by the names in `hyperparameter_names`)."""
        try:
            rebuilt = type(self)(self.params, **{name: check.scalar(value) for name, value in hyperparameters.items()})
        except (TypeError, ValueError) as error:
            refused = error
        else:
            rebuilt.param_names = self.param_names
            return rebuilt
        check.fail("state_dict['hyperparameters']", hyperparameters,
                   f"values the constructor accepts ({refused})", where, type(refused))

    def _loaded_state(self, index, state, where):
        """Parameter `index`'s state, checked and copied into the types `_update` uses: each value
        like the one `_initial_state` makes (an array of the parameter's shape; a counter as an
        int; where it makes None, None or such an array)."""
        p = self.params[index]
        name = _describe(p, index, self.param_names[index])
        expected = self._initial_state(p)
        missing, extra = expected.keys() - state.keys(), state.keys() - expected.keys()
        check.require(not (missing or extra), f"the keys of state_dict['state'][{index}]", sorted(state),
                      f"the keys {type(self).__name__} keeps for {name}, {sorted(expected)}", where)
        loaded = {}
        for key, value in state.items():
            label = f"state_dict['state'][{index}][{key!r}]"
            if check.is_integer(expected[key]):  # a counter, such as Adam's step
                loaded[key] = check.non_negative_int(label, value, where)
            elif expected[key] is None and value is None:  # SGD's momentum buffer before its first step
                loaded[key] = None
            else:
                loaded[key] = _state_array(label, value, p, name, where)
        return loaded

    def __repr__(self):
        settings = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.hyperparameter_names)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


def check_optimizer(optimizer, where, model=None, name="optimizer"):
    """`optimizer` if it has an optimiser's interface (params, a writable lr, zero_grad(), step()),
    else a TypeError naming `name`. With `model`, it must also hold at least one of the model's
    parameters (ValueError otherwise: built from another model, it would leave this one as it
    is). Holding only some of them is allowed (training some layers only), and so are parameters
    from elsewhere (they get no gradient from this model, so they are skipped). PyTorch does not
    check this."""
    ok = all(hasattr(optimizer, attribute) for attribute in ("params", "lr", "zero_grad", "step"))
    check.require(ok, name, optimizer, "an optimiser such as optim.SGD(model.parameters(), lr=0.1)", where,
                  TypeError)
    if model is not None:
        own = {id(p) for p in model.parameters()}
        check.require(not own or any(id(p) in own for p in optimizer.params), name, optimizer,
                      "an optimiser holding some of the model's parameters (this one holds none: was it built "
                      "from another model, or from a copy?), e.g. optim.SGD(model.parameters(), lr=0.1)", where)
    return optimizer


# ---------------------------------------------------------------------------
# The optimisers.

class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum (heavy ball or Nesterov).

    ::

        input: gamma (lr), theta_0 (params), f(theta) (objective),
               lambda (weight_decay), mu (momentum), tau (dampening), nesterov
        for t = 1, 2, ...:
            g_t <- grad f(theta_{t-1})
            if lambda != 0:
                g_t <- g_t + lambda * theta_{t-1}
            if mu != 0:
                if t > 1:
                    b_t <- mu * b_{t-1} + (1 - tau) * g_t
                else:
                    b_t <- g_t
                if nesterov:
                    g_t <- g_t + mu * b_t
                else:
                    g_t <- b_t
            theta_t <- theta_{t-1} - gamma * g_t

    b_t is the momentum buffer (state "momentum_buffer"); "t > 1" means the buffer exists.
    Without momentum and decay a step is exactly `p.data -= lr * g`.
    """

    hyperparameter_names = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        where = type(self).__name__
        self.momentum = check.non_negative("momentum", momentum, where)
        self.dampening = check.probability("dampening", dampening, where)
        self.nesterov = check.boolean("nesterov", nesterov, where)
        if nesterov:
            check.require(momentum > 0, "momentum", momentum, "> 0 when nesterov=True", where)
            check.require(dampening == 0, "dampening", dampening, "0 when nesterov=True", where)

    def _initial_state(self, p):
        return {"momentum_buffer": None}

    def _update(self, p, g, state):
        mu, tau = self.momentum, self.dampening
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        if mu != 0:
            b = state["momentum_buffer"]
            if b is not None:
                b = mu * b + (1 - tau) * g
            else:
                b = g.copy()
            state["momentum_buffer"] = b
            if self.nesterov:
                g = g + mu * b
            else:
                g = b
        p.data -= self.lr * g


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e): divide the gradient by a running RMS of its recent values.

    ::

        input: alpha (alpha), gamma (lr), theta_0 (params), f(theta) (objective),
               lambda (weight_decay), mu (momentum), centered, epsilon (eps)
        initialize: v_0 <- 0 (square average), b_0 <- 0 (buffer), g_ave_0 <- 0
        for t = 1, 2, ...:
            g_t <- grad f(theta_{t-1})
            if lambda != 0:
                g_t <- g_t + lambda * theta_{t-1}
            v_t <- alpha * v_{t-1} + (1 - alpha) * g_t^2
            v~_t <- v_t
            if centered:
                g_ave_t <- alpha * g_ave_{t-1} + (1 - alpha) * g_t
                v~_t <- v~_t - g_ave_t^2
            if mu > 0:
                b_t <- mu * b_{t-1} + g_t / (sqrt(v~_t) + epsilon)
                theta_t <- theta_{t-1} - gamma * b_t
            else:
                theta_t <- theta_{t-1} - gamma * g_t / (sqrt(v~_t) + epsilon)

    State: v is "square_avg", g_ave is "grad_avg", b is "momentum_buffer".
    """

    hyperparameter_names = ("lr", "alpha", "eps", "momentum", "centered", "weight_decay")

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        where = type(self).__name__
        self.alpha = check.fraction("alpha", alpha, where)
        self.eps = check.positive("eps", eps, where)
        self.momentum = check.non_negative("momentum", momentum, where)
        self.centered = check.boolean("centered", centered, where)

    def _initial_state(self, p):
        zeros = np.zeros_like(p.data)
        return {"square_avg": zeros, "grad_avg": zeros.copy(), "momentum_buffer": zeros.copy()}

    def _update(self, p, g, state):
        alpha, mu, eps = self.alpha, self.momentum, self.eps
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        v = state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * g**2
        v_tilde = v
        if self.centered:
            g_ave = state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if mu > 0:
            b_previous = state["momentum_buffer"]
            b = state["momentum_buffer"] = mu * b_previous + g / (np.sqrt(v_tilde) + eps)
            p.data -= self.lr * b
        else:
            p.data -= self.lr * g / (np.sqrt(v_tilde) + eps)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011): per-coordinate rates from all past squared gradients.

    ::

        input: gamma (lr), theta_0 (params), f(theta) (objective), lambda (weight_decay),
               epsilon (eps)
        initialize: state_sum_0 <- 0
        for t = 1, 2, ...:
            g_t <- grad f(theta_{t-1})
            if lambda != 0:
                g_t <- g_t + lambda * theta_{t-1}
            state_sum_t <- state_sum_{t-1} + g_t^2
            theta_t <- theta_{t-1} - gamma * g_t / (sqrt(state_sum_t) + epsilon)

    This is PyTorch's Adagrad with lr_decay=0 and initial_accumulator_value=0. The sum only
    grows, so the effective rate gamma / sqrt(state_sum_t) only shrinks.
    """

    hyperparameter_names = ("lr", "eps", "weight_decay")

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.eps = check.positive("eps", eps, type(self).__name__)

    def _initial_state(self, p):
        return {"sum": np.zeros_like(p.data)}

    def _update(self, p, g, state):
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        state_sum = state["sum"] = state["sum"] + g**2
        p.data -= self.lr * g / (np.sqrt(state_sum) + self.eps)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, Algorithm 1), with the AMSGrad variant (Reddi, Kale & Kumar 2018).

    ::

        input: gamma (lr), beta_1, beta_2 (betas), theta_0 (params), f(theta) (objective),
               lambda (weight_decay), amsgrad, epsilon (eps)
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment), v_max_0 <- 0
        for t = 1, 2, ...:
            g_t <- grad f(theta_{t-1})
            if lambda != 0:
                g_t <- g_t + lambda * theta_{t-1}
            m_t <- beta_1 * m_{t-1} + (1 - beta_1) * g_t
            v_t <- beta_2 * v_{t-1} + (1 - beta_2) * g_t^2
            m^_t <- m_t / (1 - beta_1^t)
            if amsgrad:
                v_max_t <- max(v_max_{t-1}, v_t)
                v^_t <- v_max_t / (1 - beta_2^t)
            else:
                v^_t <- v_t / (1 - beta_2^t)
            theta_t <- theta_{t-1} - gamma * m^_t / (sqrt(v^_t) + epsilon)

    State: m is "exp_avg", v is "exp_avg_sq", v_max is "max_exp_avg_sq", t is "step" (counted
    per parameter, as in PyTorch). On the first step m^_1 = g_1 and v^_1 = g_1^2, so each
    coordinate moves by about gamma * sign(g_1), whatever the size of the gradient.
    """

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, lr, weight_decay)
        where = type(self).__name__
        pair = np.shape(betas) == (2,) if isinstance(betas, np.ndarray) else \
            isinstance(betas, (tuple, list)) and len(betas) == 2
        check.require(pair, "betas", betas, "a pair (beta1, beta2)", where, TypeError)
        self.betas = (check.fraction("betas[0]", betas[0], where), check.fraction("betas[1]", betas[1], where))
        self.eps = check.positive("eps", eps, where)
        self.amsgrad = check.boolean("amsgrad", amsgrad, where)

    def _initial_state(self, p):
        state = {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}
        if self.amsgrad:  # (as in PyTorch, only AMSGrad keeps the running maximum)
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        return state

    def _update(self, p, g, state):
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        self._adam_update(p, g, state)

    def _adam_update(self, p, g, state):
        """The lines from m_t to the end of the box, shared with AdamW."""
        beta1, beta2 = self.betas
        t = state["step"] = state["step"] + 1
        m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if self.amsgrad:
            v_max = state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with the weight decay taken out of the gradient.

    ::

        input: gamma (lr), beta_1, beta_2 (betas), theta_0 (params), f(theta) (objective),
               epsilon (eps), lambda (weight_decay), amsgrad
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment), v_max_0 <- 0
        for t = 1, 2, ...:
            g_t <- grad f(theta_{t-1})
            theta_t <- theta_{t-1} - gamma * lambda * theta_{t-1}
            m_t <- beta_1 * m_{t-1} + (1 - beta_1) * g_t
            v_t <- beta_2 * v_{t-1} + (1 - beta_2) * g_t^2
            m^_t <- m_t / (1 - beta_1^t)
            if amsgrad:
                v_max_t <- max(v_max_{t-1}, v_t)
                v^_t <- v_max_t / (1 - beta_2^t)
            else:
                v^_t <- v_t / (1 - beta_2^t)
            theta_t <- theta_t - gamma * m^_t / (sqrt(v^_t) + epsilon)

    In Adam the decay lambda * theta is divided by sqrt(v^_t) like the rest of the gradient, so
    weights with large gradients are barely decayed; here every weight shrinks by the same
    factor (1 - gamma * lambda) per step. State as in Adam.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _update(self, p, g, state):
        p.data -= self.lr * self.weight_decay * p.data
        self._adam_update(p, g, state)


# ---------------------------------------------------------------------------
# Gradient clipping.

def check_clip_threshold(name, value, where, optional=False):
    """The one rule for a clipping threshold (max_norm, clip_value, fit's clip_norm, ...): a number
    > 0, inf allowed (with finite gradients it never clips, only measures). With `optional`, None
    too, meaning no clipping. 0 is refused: it would set every gradient to 0, which freezes the
    model rather than clipping it (PyTorch does not check the threshold)."""
    if optional and value is None:
        return None
    return check.positive(name, value, where, allow_inf=True)


def _gradients(params, where):
    """The non-None gradients of one parameter, an iterable of them, or (name, parameter) pairs."""
    params, _ = _parameters_and_names(params, where, optimised=False)
    return [p.grad for p in params if p.grad is not None]


def grad_norm(params, norm_type=2.0):
    """|| concat(g_1, ..., g_n) ||_p over the parameters' gradients (0.0 when there are none).

    `params` as for `clip_grad_norm_`. Computed as the p-norm of the per-gradient p-norms, which
    is the same number without building one long vector (as PyTorch does).
    """
    norm_type = check.positive("norm_type", norm_type, "grad_norm", allow_inf=True)
    return _total_norm(_gradients(params, "grad_norm"), norm_type)


def _total_norm(grads, norm_type):
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    return float(np.linalg.norm(norms, ord=norm_type)) if norms else 0.0


def clip_grad_norm_(params, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale the gradients in place so that their joint norm is at most about `max_norm`.

    ::

        total_norm <- || concat(g_1, ..., g_n) ||_p          (p = norm_type > 0; inf = max |g|)
        clip_coef  <- min(max_norm / (total_norm + 1e-6), 1)         (a nan stays nan)
        g_i <- g_i * clip_coef                                for every gradient

    PyTorch's rule, exactly: a norm equal to max_norm is scaled too, by max_norm / (max_norm + 1e-6).
    `params` is one parameter, an iterable of them, or `model.named_parameters()` (as the
    optimisers accept); those whose `.grad` is None are skipped. `max_norm` is a number > 0
    (`check_clip_threshold`: 0, which PyTorch accepts, would zero every gradient); with finite
    gradients max_norm = inf never clips (only measures). Returns total_norm, the norm
    *before* clipping, as a float (0.0 when there is no gradient), which is the number worth
    logging: it shows how large the gradients really were.

    A non-finite total norm scales the gradients too, as in PyTorch: an inf norm gives
    clip_coef = 0, so inf entries become nan and finite ones 0 (every entry becomes nan when
    max_norm is inf too, inf / inf being nan), and a nan norm makes every entry nan. The
    optimiser's next step then reports the non-finite gradient. With `error_if_nonfinite=True` a non-finite norm
    raises RuntimeError instead and leaves the gradients as they are (PyTorch's flag).
    """
    where = "clip_grad_norm_"
    max_norm = check_clip_threshold("max_norm", max_norm, where)
    norm_type = check.positive("norm_type", norm_type, where, allow_inf=True)
    error_if_nonfinite = check.boolean("error_if_nonfinite", error_if_nonfinite, where)
    grads = _gradients(params, where)
    total_norm = _total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(f"{where}: the total norm of order {norm_type} of the gradients is {total_norm}, "
                           "so it cannot be clipped; error_if_nonfinite=False scales by it anyway (as PyTorch)")
    clip_coef = max_norm / (total_norm + 1e-6)  # inf / inf and anything / nan are nan
    if not clip_coef >= 1:  # (a nan coefficient scales too, as torch.clamp(nan, max=1) is nan)
        with np.errstate(invalid="ignore"):  # inf * 0 = nan, as in PyTorch
            for g in grads:
                g *= clip_coef
    return total_norm


def clip_grad_value_(params, clip_value):
    """Clamp every gradient entry in place to [-clip_value, clip_value]; None grads are skipped.

    `params` as for `clip_grad_norm_`; `clip_value` a number > 0 (`check_clip_threshold`).
    """
    clip_value = check_clip_threshold("clip_value", clip_value, "clip_grad_value_")
    for g in _gradients(params, "clip_grad_value_"):
        np.clip(g, -clip_value, clip_value, out=g)
