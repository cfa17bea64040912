"""Exercises 5 (future directions): layer and batch normalisation, the LSTM's forget-gate bias
measured through time, and case 6 (a BatchNorm network to measure, diagnose and repair)."""
import numpy as np

from .. import casebook, experiments, nn
from ..autograd import Tensor, tensor
from ..rng import seeded
from ._core import (COURSE_IMPLEMENTATIONS, ExerciseError, _array, _as_written, _bind, _call, _check_shape,
                    _close, _course_generator_untouched, _finite_difference, _fmt, _name, _passed,
                    _recognise, _returned, _watched, _worst, register_course_implementations)
from ._repairs import _check_accuracies, check_cause


register_course_implementations("layer_norm", {
    "gradcourse.nn.LayerNorm": nn.LayerNorm.forward,
})
register_course_implementations("batch_norm", {
    "gradcourse.nn.BatchNorm1d": nn.BatchNorm1d.forward,
})
register_course_implementations("set_forget_bias", {
    "gradcourse.nn.LSTM (its constructor, which adds forget_bias)": nn.LSTM.__init__,
})
register_course_implementations("input_gradient_norms", {
    "gradcourse.experiments.gradient_through_time": experiments.gradient_through_time,
})


def _standardised(x, eps, axis=-1, ddof=0, eps_outside=False):
    """(x - mean) / sqrt(var + eps) of a numpy array along `axis`, or a usual mistake's variant."""
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    scale = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return (x - mean) / scale


def _normalisation_mistakes(x, gamma, beta, eps, other_eps, axis, other_axis, other_name):
    """[(explanation, output)] of the usual wrong normalisations of x along `axis` (`other_eps`: the other
    eps the check passes, whose result an answer that ignores eps gives at both)."""
    def norm(**kwargs):
        return gamma * _standardised(x, **{"eps": eps, "axis": axis, **kwargs}) + beta
    std = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    mistakes = [(other_name, norm(axis=other_axis)),
                ("the variance is divided by n - 1: normalisation uses the biased variance (divide by n), "
                 "as PyTorch does", norm(ddof=1)),
                ("eps is outside the square root: divide by sqrt(var + eps)", norm(eps_outside=True))]
    if eps != 1e-5:
        mistakes.append((f"eps is not the one passed in: the result is that of eps = 1e-05 (the default), not of "
                         f"eps = {eps:g}; use the argument eps", norm(eps=1e-5)))
    mistakes.append((f"it ignores eps: the result is that of eps = {other_eps:g} (the other value the check "
                     f"passes), not of eps = {eps:g}; use the argument eps", norm(eps=other_eps)))
    mistakes += [("eps is missing: divide by sqrt(var + eps)", norm(eps=0.0)),
                 ("gamma and beta are missing: return gamma * x_hat + beta", _standardised(x, eps, axis=axis)),
                 ("it divides by the variance: divide by the standard deviation sqrt(var + eps)",
                  gamma * (x - x.mean(axis, keepdims=True)) / std**2 + beta)]
    return mistakes


# ----- 5.1 layer normalisation -----------------------------------------------------------------
def _eps_values(eps):
    """The two values of eps a visible check passes: `eps`, then ten times it."""
    return eps, 10 * eps


def check_layer_norm(layer_norm, eps=1e-2, seed=8):
    """`layer_norm(x, gamma, beta, eps)` normalises each row of x over its features, then scales and shifts.

    Checked at two values of eps, `eps` and 10 * eps, each on its own draw of x, gamma and beta: eps is
    large (1e-2, then 1e-1) and some rows' variances small (about 0.01), so where eps goes, and whether it
    is the eps passed in, shows in the numbers.
    """
    __tracebackhide__ = True
    for k, (e, other) in enumerate(zip(_eps_values(eps), _eps_values(eps)[::-1])):
        _check_layer_norm_at(layer_norm, e, other, seed + k)
    _passed(f"layer_norm(x, gamma, beta, eps) at eps = {eps:g} and at eps = {10 * eps:g} matches "
            f"gamma (x - mean) / sqrt(var + eps) + beta on 4 rows of 6 features, and its gradients with respect "
            f"to x, gamma and beta match finite differences")


def _check_layer_norm_at(layer_norm, eps, other_eps, seed):
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["layer_norm"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4, 6)) * np.array([[0.1], [0.3], [1.0], [2.0]]) + 1.0
    gamma, beta, upstream = 1 + 0.5 * rng.normal(size=6), 0.5 * rng.normal(size=6), rng.normal(size=(4, 6))
    inputs = [tensor(x, requires_grad=True), tensor(gamma, requires_grad=True), tensor(beta, requires_grad=True)]
    call = f"layer_norm(x, gamma, beta, eps={eps:g})"
    out = _connected(layer_norm, _call(_bind(layer_norm, eps=eps), *inputs, course=course), call)
    expected = gamma * _standardised(x, eps) + beta
    _check_shape(out.data, expected, call)
    if not _close(out.data, expected):
        i = _worst(out.data, expected)
        mistakes = _normalisation_mistakes(x, gamma, beta, eps, other_eps, -1, 0, (
            "it normalises each feature over the batch (axis 0, that is BatchNorm): LayerNorm normalises each "
            "example over its features (axis -1)"))
        hint = _recognise(out.data, mistakes) or "y = gamma * (x - mean) / sqrt(var + eps) + beta, per row"
        raise ExerciseError(f"{call} at row {i[0]}, feature {i[1]}: expected {_fmt(expected[i])}, got "
                            f"{_fmt(out.data[i])}: {hint}")
    _watched(layer_norm, course, out.backward, upstream)
    _check_gradients([t.grad for t in inputs], x, gamma, beta, upstream,
                     lambda v: v["gamma"] * _standardised(v["x"], eps) + v["beta"], where=f" at eps = {eps:g}")


def _connected(fn, out, call):
    """`out` if it is a Tensor through which a gradient can reach the inputs; an ExerciseError if not."""
    _returned(out, call)
    if not isinstance(out, Tensor):
        raise ExerciseError(f"{_name(fn)} should return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise ExerciseError(f"the Tensor {_name(fn)} returns is not connected to its inputs, so no gradient can "
                            f"reach them: build it from Tensor operations (or record_op), not from .data arrays")
    return out


def _check_gradients(grads, x, gamma, beta, upstream, forward, explain=None, where=""):
    """Each gradient against central differences of sum(upstream * forward(x, gamma, beta)).

    `explain(name, got)`, if given, returns the explanation of a wrong gradient, or None.
    """
    args = {"x": x, "gamma": gamma, "beta": beta}
    for (name, value), got in zip(args.items(), grads):
        def loss(v, name=name):
            return np.sum(upstream * forward({**args, name: v}))
        expected = _finite_difference(loss, value)
        if got is None:
            raise ExerciseError(f"no gradient reached {name}: compute the output from {name} with Tensor "
                                f"operations (not {name}.data), or, with record_op, list {name} among its parents "
                                f"and return one gradient per parent from backward")
        hint = (f": {name} is shared by every example of the batch, so sum its gradient over the batch (axis 0)"
                if name != "x" and np.shape(got) == x.shape else "")
        _check_shape(got, expected, f"the gradient with respect to {name}{where}", hint)
        if not _close(got, expected, rtol=1e-4, atol=1e-6):
            hint = explain(name, got) if explain else None
            if np.ndim(expected) == 2:  # (one entry: a whole matrix is too long to read)
                i = _worst(got, expected)
                at, expected, got = f" at example (row) {i[0]}, feature {i[1]}", expected[i], got[i]
            else:
                at = ""
            raise ExerciseError(f"the gradient with respect to {name}{where}{at} should be {_fmt(expected)}, got "
                                f"{_fmt(got)}" + (f": {hint}" if hint else ""))


# ----- 5.2 batch normalisation, forward and backward -------------------------------------------
def check_batch_norm(batch_norm, eps=1e-2, n=6, features=4, seed=9):
    """`batch_norm(x, gamma, beta, eps)`: BatchNorm in training mode, one record_op with its own backward.

    Checked twice: at `eps` on a batch of n examples of `features` features, then at 10 * eps on a batch
    of n + 4 examples of features + 1 features. Each feature (column) of x is normalised over the batch
    with its biased variance, eps inside the square root; the feature scales go down to 0.1 (variance
    about 0.01) and eps is 1e-2, then 1e-1, so where eps goes, and whether it is the eps passed in, shows.
    The backward is compared with finite differences for a random upstream gradient (with an upstream
    gradient of ones, dL/dx would be 0).
    """
    __tracebackhide__ = True
    shapes = [(n, features), (n + 4, features + 1)]
    for k, ((e, other), shape) in enumerate(zip(zip(_eps_values(eps), _eps_values(eps)[::-1]), shapes)):
        _check_batch_norm_at(batch_norm, e, other, *shape, seed + k)
    _passed(f"batch_norm(x, gamma, beta, eps) at eps = {eps:g} on a batch of {n} examples of {features} features, "
            f"and at eps = {10 * eps:g} on {n + 4} examples of {features + 1}, normalises each feature over the "
            f"batch (biased variance, eps inside the square root), and its backward gives dL/dx, dL/dgamma and "
            f"dL/dbeta matching finite differences for a random upstream gradient")


def _check_batch_norm_at(batch_norm, eps, other_eps, n, features, seed):
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["batch_norm"]
    rng = np.random.default_rng(seed)
    scales = np.resize([0.1, 0.3, 1.0, 2.0], features)
    x = rng.normal(size=(n, features)) * scales + rng.normal(size=features)
    gamma, beta = 1 + 0.5 * rng.normal(size=features), 0.5 * rng.normal(size=features)
    upstream = rng.normal(size=(n, features))
    inputs = [tensor(x, requires_grad=True), tensor(gamma, requires_grad=True), tensor(beta, requires_grad=True)]
    call = f"batch_norm(x, gamma, beta, eps={eps:g}) for x of shape ({n}, {features})"
    out = _connected(batch_norm, _call(_bind(batch_norm, eps=eps), *inputs, course=course), call)
    expected = gamma * _standardised(x, eps, axis=0) + beta
    _check_shape(out.data, expected, call)
    if not _close(out.data, expected):
        i = _worst(out.data, expected)
        mistakes = _normalisation_mistakes(x, gamma, beta, eps, other_eps, 0, -1, (
            "it normalises each example over its features (axis -1, that is LayerNorm): BatchNorm normalises "
            "each feature over the batch (axis 0)"))
        hint = _recognise(out.data, mistakes) or "y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature"
        raise ExerciseError(f"{call}, example {i[0]}, feature {i[1]}: expected {_fmt(expected[i])}, "
                            f"got {_fmt(out.data[i])}: {hint}")
    if {id(p) for p in getattr(out, "_parents", ())} != {id(t) for t in inputs}:
        raise ExerciseError(f"{call} is right, but its result is not one record_op whose parents are x, gamma "
                            f"and beta: part of it comes from Tensor operations, whose backward the autograd "
                            f"writes for you. Compute the output with numpy (x.data, gamma.data, beta.data) and "
                            f"return record_op(out, (x, gamma, beta), backward), with a backward you write.")
    grads = _watched(batch_norm, course, out._backward, upstream)
    _returned(grads, f"the backward of {call}")
    _watched(batch_norm, course, out.backward, upstream)
    _check_gradients([t.grad for t in inputs], x, gamma, beta, upstream,
                     lambda v: v["gamma"] * _standardised(v["x"], eps, axis=0) + v["beta"],
                     _batch_norm_backward_mistakes(x, gamma, eps, other_eps, upstream), where=f" at eps = {eps:g}")


def _batch_norm_backward_mistakes(x, gamma, eps, other_eps, g):
    """explain(name, got): the usual wrong backwards of batch norm, for the upstream gradient g."""
    n = len(x)
    x_hat = _standardised(x, eps, axis=0)

    def dx(g, eps=eps, gamma=gamma, mean_term=True, var_term=True, scale=1.0 / n):
        x_hat = _standardised(x, eps, axis=0)
        total = n * g - (g.sum(0) if mean_term else 0) - (x_hat * (g * x_hat).sum(0) if var_term else 0)
        return scale * gamma / np.sqrt(x.var(0) + eps) * total

    ones = np.ones_like(g)
    constants = ("it treats the batch's mean and variance as constants: they depend on every x of the batch, "
                 "so dx has two more terms, dx = (1/N) gamma / sqrt(var + eps) (N g - sum g - x_hat sum(g x_hat))")
    mistakes = {
        "x": [(constants, dx(g, mean_term=False, var_term=False)),
              ("it misses the term that comes through the variance, - x_hat sum(g x_hat): "
               "dx = (1/N) gamma / sqrt(var + eps) (N g - sum g - x_hat sum(g x_hat))", dx(g, var_term=False)),
              ("it misses the term that comes through the mean, - sum g: "
               "dx = (1/N) gamma / sqrt(var + eps) (N g - sum g - x_hat sum(g x_hat))", dx(g, mean_term=False)),
              (f"it is N = {n} times too large: the closed form has a factor 1/N", dx(g, scale=1.0)),
              ("gamma is missing: the output is gamma x_hat + beta, so dx carries the factor gamma",
               dx(g, gamma=1.0)),
              ("it ignores the upstream gradient g (it is the gradient of the sum of the outputs, which is 0 "
               "for batch norm): use the g that backward receives", dx(ones)),
              ("it ignores the upstream gradient g and " + constants[3:],
               dx(ones, mean_term=False, var_term=False))],
        "gamma": [("it ignores the upstream gradient g: dgamma = sum over the batch of g * x_hat",
                   x_hat.sum(0)),
                  ("it uses x where x_hat belongs: dgamma = sum over the batch of g * x_hat", (g * x).sum(0)),
                  ("dgamma and dbeta are swapped: backward returns one gradient per parent, in the order of "
                   "record_op's parents", g.sum(0)),
                  ("it is the mean over the batch: gamma is used by every example, so its gradient is the sum",
                   (g * x_hat).mean(0))],
        "beta": [("it ignores the upstream gradient g: dbeta = sum over the batch of g", ones.sum(0)),
                 ("dgamma and dbeta are swapped: backward returns one gradient per parent, in the order of "
                  "record_op's parents", (g * x_hat).sum(0)),
                 ("it is the mean over the batch: beta is used by every example, so its gradient is the sum",
                  g.mean(0))],
    }
    if eps != 1e-5:
        mistakes["x"].append((f"the backward uses eps = 1e-05 (the default), not the eps = {eps:g} passed in",
                              dx(g, eps=1e-5)))
    mistakes["x"].append((f"the backward ignores eps: it uses eps = {other_eps:g} (the other value the check "
                          f"passes), not the eps = {eps:g} passed in", dx(g, eps=other_eps)))
    return lambda name, got: _recognise(got, mistakes[name])


# ----- 5.3 the forget-gate bias ----------------------------------------------------------------
_GATES = ("input gate i", "forget gate f", "candidate g", "output gate o")


def _lstm(input_size, hidden, seed):
    with _course_generator_untouched(), seeded(seed):
        return nn.LSTM(input_size, hidden)


def _other_value(value):
    """The second value of the forget bias a visible check sets (one that differs from `value`)."""
    return -0.5 if value != -0.5 else 0.5


def check_set_forget_bias(set_forget_bias, value=1.5, hidden=8, seed=10):
    """`set_forget_bias(lstm, value)` makes the forget gate's bias b_if + b_hf equal `value` for every
    unit, in place, and changes nothing else; checked at `value` and at a second value (-0.5), each on a
    fresh LSTM(3, hidden). Then measures what that does over 50 steps of one LSTM(2, 16)."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["set_forget_bias"]
    other = _other_value(value)
    results = {v: _forget_bias_after(set_forget_bias, v, hidden, seed, course) for v in (value, other)}
    H = hidden
    for v, (before, after, total) in results.items():
        if _close(total, np.full(H, v)):
            continue
        call = f"set_forget_bias(lstm, {v:g})"
        old_ih, old_hh = before["bias_ih"][H:2 * H], before["bias_hh"][H:2 * H]
        ih, hh, full = after["bias_ih"][H:2 * H], after["bias_hh"][H:2 * H], np.full(H, v)
        mistakes = [
            (_close(ih, old_ih) and _close(hh, old_hh),
             "nothing changed: change lstm.bias_ih (or bias_hh) in place, through its .data"),
            (_close(results[value][2], results[other][2]),
             f"your function ignores value: set_forget_bias(lstm, {value:g}) and set_forget_bias(lstm, {other:g}) "
             f"leave the same forget-gate bias. Set it from the argument value"),
            (_close(total, old_ih + old_hh + v),
             f"it adds {v:g} to the forget gate's bias instead of setting it (nn.LSTM(..., forget_bias) adds "
             f"to a freshly drawn bias): afterwards the gate's bias must be {v:g}, whatever it was before"),
            (_close(ih, full) and _close(hh, full),
             f"both bias_ih and bias_hh hold {v:g} in their forget part, and the gate adds them (x_t W_if + "
             f"b_if + h_(t-1) W_hf + b_hf), so its bias is {2 * v:g}: set one to {v:g} and the other to 0"),
            (_close(ih, full) and _close(hh, old_hh),
             "bias_hh's forget part still holds its initial random values, and the gate adds them to bias_ih's: "
             f"its bias is b_if + b_hf. Set bias_hh's forget part to 0 (and bias_ih's to {v:g})"),
            (_close(ih, old_ih) and _close(hh, full),
             "bias_ih's forget part still holds its initial random values, and the gate adds them to bias_hh's: "
             f"its bias is b_if + b_hf. Set bias_ih's forget part to 0 (and bias_hh's to {v:g})")]
        hint = next((explanation for found, explanation in mistakes if found),
                    "the forget gate's bias is b_if + b_hf: bias_ih[H:2H] + bias_hh[H:2H]")
        raise ExerciseError(f"after {call} the forget gate's bias b_if + b_hf (bias_ih[{H}:{2 * H}] + "
                            f"bias_hh[{H}:{2 * H}]) should be {v:g} for each of the {H} units, got "
                            f"{_fmt(total)}: {hint}")
    reach = {bias: _gradient_reaching_step_1(set_forget_bias, bias, course) for bias in (0.0, 2.0)}
    if not reach[2.0] > 100 * reach[0.0]:
        raise ExerciseError(f"with {_name(set_forget_bias)}(lstm, 2) the gradient reaching step 1 of 50 is "
                            f"{_fmt(reach[2.0])}, with bias 0 {_fmt(reach[0.0])}: a forget gate near "
                            f"sigmoid(2) = 0.88 should let far more of it through than one near 0.5")
    _passed(f"set_forget_bias(lstm, value) at value = {value:g} and at {other:g} sets b_if + b_hf to value for all "
            f"{H} units and leaves the weights and the other gates' biases as they were. In one LSTM(2, 16) "
            f"(one seed, 8 sequences of 50 steps), the gradient reaching step 1 (|dL/dx_1|, L the sum of h_50) is "
            f"{reach[2.0] / reach[0.0]:.2g} times larger at forget bias 2 than at 0")


def _forget_bias_after(set_forget_bias, value, hidden, seed, course):
    """({name: before}, {name: after}, b_if + b_hf after) for set_forget_bias(lstm, value) on a fresh LSTM;
    an ExerciseError if it changed a weight or another gate's bias."""
    __tracebackhide__ = True
    lstm = _lstm(3, hidden, seed)
    before = {name: p.data.copy() for name, p in lstm.named_parameters()}
    call = f"set_forget_bias(lstm, {value:g})"
    _call(set_forget_bias, lstm, value, course=course)
    after = {name: np.asarray(getattr(lstm, name).data, dtype=float) for name in before}
    H = hidden
    for name in ("weight_ih", "weight_hh"):
        if after[name].shape != before[name].shape or not np.array_equal(after[name], before[name]):
            raise ExerciseError(f"{call} changed lstm.{name}: only the forget gate's biases should change")
    for name in ("bias_ih", "bias_hh"):
        _check_shape(after[name], before[name], f"lstm.{name} after {call}")
        for k, gate in enumerate(_GATES):
            part = slice(k * H, (k + 1) * H)
            if k != 1 and not np.array_equal(after[name][part], before[name][part]):
                raise ExerciseError(
                    f"{call} changed entries {k * H} to {(k + 1) * H - 1} of lstm.{name}, the {gate}'s part: "
                    f"the four gates sit side by side in the order i, f, g, o, so with hidden_size H = {H} the "
                    f"forget gate's part is entries H to 2H - 1 ({H} to {2 * H - 1})")
    return before, after, after["bias_ih"][H:2 * H] + after["bias_hh"][H:2 * H]


def _gradient_reaching_step_1(set_forget_bias, bias, course, steps=50, seed=20):
    """|dL/dx_1| over `steps` steps of an LSTM(2, 16) whose forget bias your function set; L = sum of h_T."""
    lstm = _lstm(2, 16, seed)
    _call(set_forget_bias, lstm, bias, course=course)
    x = tensor(np.random.default_rng(seed).normal(size=(8, steps, 2)), requires_grad=True)
    _, (h, _) = lstm(x)
    h.sum().backward()
    return float(np.linalg.norm(x.grad[:, 0]))


# ----- 5.4 the gradient reaching each step ------------------------------------------------------
def check_input_gradient_norms(input_gradient_norms, steps=30, batch=4, hidden=8, seed=11):
    """`input_gradient_norms(lstm, x)`: |dL/dx_t| for t = 1..T, L the sum of the last hidden state h_T.

    Checked on two LSTMs and sequences: an LSTM(2, hidden) on x of shape (batch, steps, 2), then an
    LSTM(2, hidden // 2 + 1) on x of shape (batch + 1, steps // 3 + 2, 2).
    """
    __tracebackhide__ = True
    settings = [(steps, batch, hidden, seed), (steps // 3 + 2, batch + 1, hidden // 2 + 1, seed + 1)]
    measured = [_check_input_gradient_norms_at(input_gradient_norms, *setting) for setting in settings]
    (first, last), (T, B, H) = measured[0], settings[0][:3]
    _passed(f"input_gradient_norms(lstm, x) gives |dL/dx_t| for each step, L the sum of the last hidden state h_T, "
            f"for an LSTM(2, {H}) on x of shape ({B}, {T}, 2) ({_fmt(last)} at t = {T}, {_fmt(first)} at t = 1) "
            f"and for an LSTM(2, {settings[1][2]}) on x of shape ({settings[1][1]}, {settings[1][0]}, 2)")


def _check_input_gradient_norms_at(input_gradient_norms, steps, batch, hidden, seed):
    """(|dL/dx_1|, |dL/dx_T|) if your function gives every step's right; an ExerciseError if not."""
    __tracebackhide__ = True
    course = COURSE_IMPLEMENTATIONS["input_gradient_norms"]
    lstm = _lstm(2, hidden, seed)
    lstm.bias_ih.data[hidden:2 * hidden] += 1.0  # (so the gradient spans a few decades over the steps)
    before = [p.data.copy() for p in lstm.parameters()]
    x = np.random.default_rng(seed).normal(size=(batch, steps, 2))
    expected, mistakes = _through_time(lstm, x)
    call = f"input_gradient_norms(lstm, x) for an LSTM(2, {hidden}) and x of shape {x.shape}"
    got = _array(_returned(_call(input_gradient_norms, lstm, x.copy(), course=course), call),
                 call)
    if any(not np.array_equal(p.data, b) for p, b in zip(lstm.parameters(), before)):
        raise ExerciseError(f"{call} changed the LSTM's parameters: measure the network as it is")
    if np.shape(got) in ((batch, steps), (steps, batch)):
        raise ExerciseError(f"{call} has shape {np.shape(got)}, one number per example and step; expected one "
                            f"per step, shape ({steps},): the norm of dL/dx_t over the batch and the input "
                            f"features together")
    _check_shape(got, expected, call, ": one number per time step t = 1, ..., T")
    if not _close(got, expected, rtol=1e-6, atol=1e-12):
        t = _worst(got, expected)[0]
        hint = _recognise(got, mistakes) or ("entry t - 1 is the norm of the gradient of L = h_T.sum() with "
                                             "respect to the input x_t, over the batch and the input features")
        raise ExerciseError(f"{call} at step t = {t + 1}: expected {_fmt(expected[t])}, got {_fmt(got[t])}: {hint}")
    return expected[0], expected[-1]


def _through_time(lstm, x):
    """|dL/dx_t| per step for L = h_T.sum(), and [(explanation, value)] of the usual wrong measurements."""
    batch, steps, _ = x.shape
    xt = tensor(x, requires_grad=True)
    _, (h, _) = lstm(xt)
    states = {"hidden state h_t": lstm.hidden_states, "cell state c_t": lstm.cell_states}
    for tensors in states.values():
        for s in tensors:
            s.retain_grad()
    h.sum().backward()
    expected = np.linalg.norm(xt.grad, axis=(0, 2))
    every = tensor(x, requires_grad=True)
    outputs, _ = lstm(every)
    outputs.sum().backward()
    mistakes = [("the steps are in reverse order: entry 0 is t = 1, the input furthest from the loss",
                 expected[::-1]),
                ("these are squared norms: take the square root (np.linalg.norm)", expected**2),
                (f"the loss is the mean of h_T: the task's L is its sum, h_T.sum() (the mean divides every "
                 f"gradient by {batch * lstm.hidden_size})", expected / (batch * lstm.hidden_size)),
                ("the loss reads every step's hidden state (outputs.sum()): the task's L reads only the last one, "
                 "h_T", np.linalg.norm(every.grad, axis=(0, 2)))]
    for name, tensors in states.items():
        mistakes.append((f"this is the gradient reaching the {name}, not the input x_t: measure x.grad, with x a "
                         f"Tensor made with requires_grad=True", np.array([np.linalg.norm(s.grad) for s in tensors])))
    lstm.zero_grad()
    return expected, mistakes


# ----- 5.5 case 6: measure, diagnose, repair (the run is in gradcourse.casebook) ---------------
def _batch_norms(model):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]


def _cross_entropy(logits, labels):
    """The mean cross-entropy of numpy logits (batch, classes) for integer labels, as a float."""
    logits = np.asarray(logits, dtype=float)
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_z - logits[np.arange(len(labels)), np.asarray(labels, dtype=int)]))


def _mode_of_each_batch_norm(model, modes):
    """How each BatchNorm layer ran in one call of your step, layers that ran alike said together."""
    where = {id(m): f"model[{i}]" for i, m in enumerate(model)}
    states = {}
    for k, norm in enumerate(_batch_norms(model), start=1):
        flags = modes[id(norm)]
        if not flags:
            state = "did not run"
        elif all(flags):
            state = "ran in training mode (.training True), with the batch's mean and variance"
        elif not any(flags):
            state = "ran in eval mode (.training False), with the running statistics"
        else:
            state = (f"ran in eval mode (.training False), with the running statistics, in {flags.count(False)} "
                     f"of {len(flags)} forward passes")
        states.setdefault(state, []).append((k, where.get(id(norm), "inside model")))
    said = []
    for state, layers in states.items():
        numbers = [str(k) for k, _ in layers]
        numbers = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
        said.append(f"BatchNorm layer{'s' if len(layers) > 1 else ''} {numbers} "
                    f"({', '.join(w for _, w in layers)}) {state}")
    return said


def _checked_case6_step(train_step, course):
    """`step(model, optimizer, xb, yb)` for case 6's run: calls your train_step and, at every step t of the
    run, checks what one step of SGD on the batch must do. It must:
      - run the model on xb as given (within float32 rounding) and return a number, the cross-entropy of
        that output for yb (the input and output of each forward pass are recorded at the network's first
        and last layers, so model(x), model.forward(x) and a loop over the layers are all seen);
      - keep case 6's network: the same layers and parameters, changed only by one call of optimizer.step();
      - run every BatchNorm layer, in each of the step's forward passes, with the batch's statistics
        (recorded at every forward of every BatchNorm layer, through forward hooks)."""
    name = _name(train_step)
    run = {"model": None, "t": 0}

    def step(model, optimizer, xb, yb):
        __tracebackhide__ = True
        if run["model"] is not model:  # (a new run: its network as case 6 built it, read once)
            run.update(model=model, t=0, layers=[(id(m), type(m)) for m in model.modules()],
                       named=list(model.named_parameters()), norms=_batch_norms(model))
        run["t"] += 1
        at = f"at step {run['t']} of case 6's run"
        layers, named, norms = run["layers"], run["named"], run["norms"]
        start = [p.data.copy() for _, p in named]
        modes, forwards, around_steps = {id(m): [] for m in norms}, [], []

        def record_mode(module, inputs, output):
            modes[id(module)].append(bool(module.training))

        def record_input(module, inputs, output):
            given = inputs[0].data if isinstance(inputs[0], Tensor) else inputs[0]
            forwards.append([np.array(given), None])  # (a copy: what the model was given then)

        def record_output(module, inputs, output):
            if forwards and forwards[-1][1] is None:
                forwards[-1][1] = np.array(getattr(output, "data", output), dtype=float)

        optimizer_step = optimizer.step

        def counted_step(*args, **kwargs):
            before = [p.data.copy() for _, p in named]
            result = optimizer_step(*args, **kwargs)
            around_steps.append((before, [p.data.copy() for _, p in named]))
            return result

        handles = [m.register_forward_hook(record_mode) for m in norms]
        handles += [model[0].register_forward_hook(record_input), model[-1].register_forward_hook(record_output)]
        optimizer.step = counted_step
        batch = np.array(xb)
        try:
            loss = _call(train_step, model, optimizer, xb, yb, course=course)
        finally:
            for handle in handles:
                handle.remove()
            vars(optimizer).pop("step", None)
        _returned(loss, f"{name}(model, optimizer, xb, yb)")
        if [(id(m), type(m)) for m in model.modules()] != layers or \
                [id(p) for _, p in model.named_parameters()] != [id(p) for _, p in named]:
            raise ExerciseError(f"{at}, {name} replaced layers or parameters of case 6's network. The repair is "
                                f"the step: keep the network as case 6 built it, and let only optimizer.step() "
                                f"change its parameters.")
        if len(around_steps) != 1:
            raise ExerciseError(f"{at}, {name} called optimizer.step() {len(around_steps)} times: one step of SGD "
                                f"calls it once, after loss.backward()")
        (before, after), end = around_steps[0], [p.data for _, p in named]
        for (what, old, new) in (("before", start, before), ("after", after, end)):
            changed = [n for (n, _), a, b in zip(named, old, new) if not np.array_equal(a, b)]
            if changed:
                raise ExerciseError(f"{at}, {name} changed {', '.join(map(_as_written, changed[:3]))}" + (" ..." if changed[3:] else "")
                                    + f" {what} optimizer.step(): a new initialisation, or an update of its own. The "
                                    f"repair is the step: keep the network as case 6 built it, and let only "
                                    f"optimizer.step() change its parameters.")
        if not all(modes[id(m)] and all(modes[id(m)]) for m in norms):
            raise ExerciseError(f"{at}, in the forward passes of {name}: " + "; ".join(
                _mode_of_each_batch_norm(model, modes)) + ". A BatchNorm layer in eval mode normalises with its "
                "running statistics (running_mean, running_var), not with the batch's mean and variance: every "
                "forward pass of a training step must normalise each batch with its own.")
        try:
            value = float(loss)
        except (TypeError, ValueError):
            raise ExerciseError(f"{name} should return the loss as a float (loss.item()), got "
                                f"{type(loss).__name__}") from None
        whole = [(given, out) for given, out in forwards if out is not None and np.shape(given) == np.shape(xb)
                 and np.shape(out) == (len(yb), 10)]
        on_xb = [_cross_entropy(out, yb) for given, out in whole
                 if np.allclose(np.asarray(given, dtype=float), batch, rtol=1e-6, atol=1e-12)]  # (float32 rounding)
        if not on_xb and whole:
            given = np.asarray(whole[-1][0])
            gap = np.max(np.abs(np.asarray(given, dtype=float) - batch))
            raise ExerciseError(f"{at}, {name} ran the model on an input of xb's shape that is not xb as given "
                                f"(a {given.dtype} array differing from xb by up to {gap:.3g}): one step of SGD on the batch (xb, yb) "
                                f"computes the loss of model(gc.tensor(xb)) for the labels yb")
        if not on_xb:
            shapes = sorted({str(np.shape(given)) for given, _ in forwards})
            ran = f"its forward passes took inputs of shape {', '.join(shapes)}" if shapes else "it ran no forward pass"
            raise ExerciseError(f"{at}, {name} never ran the model on the batch xb, of shape {np.shape(xb)} ({ran}): "
                                f"one step of SGD on the batch (xb, yb) computes the loss of model(gc.tensor(xb)) "
                                f"for the labels yb")
        if np.isfinite(value) and not any(np.isclose(value, ce, rtol=1e-5, atol=1e-6) for ce in on_xb):  # (float32 too)
            raise ExerciseError(f"{at}, {name} returned {value:.6g}, but the cross-entropy of the model's output on "
                                f"(xb, yb) in that step is {on_xb[-1]:.6g}: return the cross-entropy loss of the "
                                f"batch, as a float (loss.item())")
        return value

    step.__name__ = name
    return step


def check_case6_repair(train_step, seeds=(0, 1, 2, 3, 4, 5)):
    """`train_step(model, optimizer, xb, yb)` trains case 6's network as BatchNorm needs, to the threshold.

    At every step of every run it is checked as `_checked_case6_step` says; then the test accuracies."""
    __tracebackhide__ = True
    step = _checked_case6_step(train_step, COURSE_IMPLEMENTATIONS["casebook"])
    with _course_generator_untouched():
        accuracies = casebook.case6_measure(step, seeds)
    _check_accuracies(6, accuracies, seeds, f"trained with {_name(train_step)}",
                      "At every step, each BatchNorm layer normalised with the batch's statistics and the "
                      "parameters changed only through optimizer.step(): look at what else the step does "
                      "(clear the gradients, forward, backward, step) against case 6's own step.")


CHECKERS = [check_layer_norm, check_batch_norm, check_set_forget_bias, check_input_gradient_norms,
            check_cause, check_case6_repair]
