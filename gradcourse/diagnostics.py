"""Instruments that measure how gradients and activations flow through a network.

- `gradient_norms(model)`: the L2 norm of every parameter's gradient, layer by layer.
- `GradientFlow(model)`: per layer and per training step, the gradient reaching the layer's
  output, the activations' mean, std, saturated and dead fractions; per weight matrix, its
  gradient's norm and update-to-data ratio (the quantities of Karpathy's makemore part 3 and
  fastai's ActivationStats).
- `measure_at_init(model, x)`: one forward and backward pass, the same per-layer numbers.
- `jacobian_singular_values(model, x)`: how far the input-output map is from an isometry.
- `check_gradients(model, step)`: warns (`GradientWarning`) about vanishing, exploding or
  non-finite gradients, naming the parameter and the step.

What "a layer" is (`default_layers`): each block of a model that has `blocks` (as `nn.MLP`
builds); otherwise each activation module (Sigmoid, Tanh, ReLU, ...), so a layer's output is a
hidden layer's post-nonlinearity output; a network with no activation module at all is measured
at each Linear.

Two gradients, two stories. For a layer z_l = h_{l-1} W_l + b_l, h_l = f(z_l) (a batch as rows):

    dL/dh_{l-1} = (dL/dz_l) W_l^T         the gradient reaching the layer below: `grad_norm`
    dL/dW_l     = h_{l-1}^T (dL/dz_l)     what gradient descent moves W_l by: `weight_grad_norm`

The first is a product of one Jacobian per layer above l, and vanishes or explodes with depth.
The second multiplies it by the layer's input h_{l-1}, whose scale can compensate: in a net of
ReLU or linear layers with zero biases, a weight scale c per layer multiplies dL/dh_l by
c^(L-l) but h_{l-1} by c^(l-1), so every layer's weight gradient changes by the same factor.
"""
import math
import warnings

import numpy as np

from . import functional as F
from . import nn, validation
from .autograd import Tensor, as_tensor, require_shape

# Output ranges beyond which a squashing activation counts as saturated (its slope is tiny).
TANH_SATURATION = 0.97        # |tanh(x)| > 0.97   <=>  tanh'(x) < 0.06
SIGMOID_SATURATION = 0.03     # sigma(x) outside [0.03, 0.97]  <=>  sigma'(x) < 0.03


class GradientWarning(UserWarning):
    """Issued by `check_gradients` when gradients vanish, explode or become non-finite."""


def _measured(values, where, name="values"):
    """`values` as a float array (`validation.real_array`), non-empty: a fraction of nothing is no number."""
    array = validation.real_array(name, values, where)
    validation.require(array.size > 0, name, values, "a non-empty array", where)
    return array


# ----- per-parameter gradient norms ----------------------------------------------------------
def gradient_norms(model):
    """{parameter name: L2 norm of its gradient}, in layer order (the order of `named_parameters`).

    A parameter whose `.grad` is None (no backward has reached it yet) is left out, so an
    empty dict means "call loss.backward() first". A gradient containing nan or inf gives nan
    or inf, which `check_gradients` reports.
    """
    nn.check_module("model", model, "gradient_norms")
    return {name: float(np.linalg.norm(p.grad)) for name, p in model.named_parameters()
            if p.grad is not None}


def _weights(model):
    """(name, parameter) for the weight matrices: the parameters with two or more axes."""
    return [(name, p) for name, p in model.named_parameters() if p.data.ndim >= 2]


# ----- which modules are "layers", and which activation each one ends in ---------------------
# The activations whose saturated or dead units are counted, by their names in nn.ACTIVATIONS:
# the ones whose derivative is written from their output (functional.ACTIVATIONS_FROM_OUTPUT),
# so the slope that saturation and dead units set to ~0 is the one backward() multiplies by.
MEASURED_ACTIVATIONS = tuple(name for name in nn.ACTIVATIONS if name in F.ACTIVATIONS_FROM_OUTPUT)


def activation_kind(module):
    """'sigmoid', 'tanh' or 'relu' (MEASURED_ACTIVATIONS) for those activation modules, else None."""
    for name in MEASURED_ACTIVATIONS:
        if isinstance(module, nn.ACTIVATIONS[name]):
            return name
    return None


def _is_activation(module):
    """A nonlinearity of nn.ACTIVATIONS (its identity is not one)."""
    return isinstance(module, tuple(set(nn.ACTIVATIONS.values()) - {nn.Identity}))


def default_layers(model):
    """The (name, module) pairs measured when no `layers` are given, in forward order.

    `model.blocks` if the model has blocks (an `nn.MLP`); otherwise every activation module
    (the hidden layers' outputs after the nonlinearity); otherwise every Linear.
    """
    return _default_layers(nn.check_module("model", model, "default_layers"), "default_layers")


def _default_layers(model, where):
    names = {id(module): name for name, module in model.named_modules()}
    blocks = getattr(model, "blocks", None)
    if blocks is not None:
        return [(names.get(id(block), f"blocks.{i}"), block) for i, block in enumerate(blocks)]
    modules = list(model.named_modules())
    layers = [(name, m) for name, m in modules if _is_activation(m)]
    if not layers:
        layers = [(name, m) for name, m in modules if isinstance(m, nn.Linear)]
    validation.require(layers, "model", model, "a network with blocks, activation or Linear modules "
                       "(else pass layers=[...], a list of modules or of (name, module) pairs)", where)
    return layers


def _named_layers(model, layers, where):
    if layers is None:
        return _default_layers(model, where)
    validation.require(not isinstance(layers, (str, bytes, nn.Module)) and hasattr(layers, "__iter__"),
                       "layers", layers, "a list of modules or of (name, module) pairs", where, TypeError)
    names = {id(module): name for name, module in model.named_modules()}
    named = []
    for i, layer in enumerate(layers):
        if isinstance(layer, tuple) and len(layer) == 2:
            layer_name, layer = layer
        else:
            layer_name = names.get(id(layer), f"layer{i}")
        validation.instance(f"layers[{i}]", layer, nn.Module, "an nn.Module or a (name, module) pair", where)
        named.append((layer_name, layer))
    validation.require(named, "layers", layers, "a non-empty list of modules", where)
    return named


def _activation_module(layer):
    """The module whose output is checked for saturation and dead units: the layer itself if
    it is a Sigmoid/Tanh/ReLU, else the last such module inside it, else None."""
    found = None
    for module in layer.modules():
        if activation_kind(module) is not None:
            found = module
    return found


# ----- statistics of one array of activations -----------------------------------------------
def saturated_fraction(values, kind):
    """Fraction of entries where a squashing activation's slope is nearly zero.

    tanh: |y| > 0.97; sigmoid: y < 0.03 or y > 0.97; nan for relu, which does not saturate.
    `kind` is one of MEASURED_ACTIVATIONS (an error otherwise: a misspelt 'Tanh' is no kind).
    Empty `values` raise a ValueError (a fraction of nothing is no number).
    """
    values = _measured(values, "saturated_fraction")
    validation.choice("kind", kind, MEASURED_ACTIVATIONS, "saturated_fraction")
    if kind == "tanh":
        return float(np.mean(np.abs(values) > TANH_SATURATION))
    if kind == "sigmoid":
        return float(np.mean((values < SIGMOID_SATURATION) | (values > 1 - SIGMOID_SATURATION)))
    return math.nan


def dead_fraction(values, kind="relu"):
    """Fraction of ReLU units that output 0 for every example in the batch (they learn nothing).

    `values` has shape (batch, units) or (batch, ..., units); `kind` is one of
    MEASURED_ACTIVATIONS, and the fraction is nan unless it is 'relu' (only a ReLU outputs an
    exact 0 over a whole range). Empty `values` (or a scalar) raise a ValueError.
    """
    values = _measured(values, "dead_fraction")
    validation.require(values.ndim >= 1, "values", values, "an array of shape (batch, ..., units)",
                       "dead_fraction")
    validation.choice("kind", kind, MEASURED_ACTIVATIONS, "dead_fraction")
    if kind != "relu":
        return math.nan
    per_unit = values.reshape(-1, values.shape[-1])
    return float(np.mean(np.all(per_unit == 0, axis=0)))


def spread_across_examples(values):
    """mean over units of (std over the batch of each unit): rows are examples.

    Unlike the std over examples and units together, it is 0 when every example gives the same
    hidden state, even if the units differ from each other: the collapse deep nets suffer.
    """
    values = _measured(values, "spread_across_examples")
    if values.ndim < 2:
        return float(np.std(values))
    return float(np.mean(np.std(values.reshape(values.shape[0], -1), axis=0)))


def update_to_data_ratio(weight, grad, lr):
    """lr * std(grad) / std(weight): how big a plain SGD step is next to the weight itself.

    Around 1e-3 is the usual healthy value (log10 ratio about -3). `weight` and `grad` must have
    the same shape and `lr` be >= 0. A constant weight (std 0, e.g. a zero-initialised matrix)
    gives inf, or nan if the gradient is constant too (0 / 0): no scale to compare the step with.
    """
    where = "update_to_data_ratio"
    lr = validation.non_negative("lr", lr, where)
    weight, grad = _measured(weight, where, "weight"), _measured(grad, where, "grad")
    require_shape(weight.shape == grad.shape, "grad.shape", grad.shape, f"the weight's shape {weight.shape}", where)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(lr * np.std(grad) / np.std(weight))


# ----- GradientFlow: per layer, per step -------------------------------------------------------
QUANTITIES = ("grad_norm", "act_mean", "act_std", "act_spread", "saturated", "dead")
WEIGHT_QUANTITIES = ("weight_grad_norm", "update_ratio")


class GradientFlow:
    """Record, at every training step, how the gradient and the activations flow layer by layer.

    Per layer (see `default_layers`; or pass `layers`, a list of modules or (name, module)):
      grad_norm  L2 norm of dL/d(layer output) over the whole batch: the gradient reaching it;
      act_mean, act_std  mean and std of the layer's output (over examples and units);
      act_spread the spread across examples: for each unit the std over the batch, averaged over
                 the units (what collapses when every example gives the same hidden state);
      saturated  fraction of saturated units of its activation (tanh: |y| > 0.97, sigmoid: y
                 outside [0.03, 0.97]; nan for other activations);
      dead       fraction of ReLU units that are 0 for every example of the batch (nan if not ReLU).
    Saturation and dead units are measured on the layer's activation: the layer itself if it is
    a Sigmoid/Tanh/ReLU, else the last such module inside it (e.g. an MLP block's), or on the
    layer's output with `activation="tanh"|"sigmoid"|"relu"`.
    Per weight matrix (every parameter with two or more axes, names in `weight_names`):
      weight_grad_norm  Frobenius norm of dL/dW = h_{l-1}^T dL/dz_l, the weight's own gradient;
      update_ratio      lr * std(grad) / std(weight), when `record` is given the learning rate.
    `grad_norm` and `weight_grad_norm` can tell different stories (see the module docstring).

    Forward hooks keep each layer's latest output (only from forwards that build a graph, so an
    evaluation under `no_grad()` does not disturb them) and call `retain_grad()` on it. A layer
    run several times in one forward is measured at its last call. Usage:

        flow = GradientFlow(model)
        for step in range(steps):
            loss = loss_fn(model(x), y)        # forward
            optimizer.zero_grad()
            loss.backward()                    # backward
            flow.record(lr=optimizer.lr)       # read the gradients before they are used
            optimizer.step()
        flow.remove()                          # or use `with GradientFlow(model) as flow:`
        flow.history["grad_norm"]              # numpy array, steps x layers

    `history` maps each quantity to a (steps x layers) array (steps x weights for
    `weight_grad_norm` and `update_ratio`), plus `step`, the step numbers; `to_frame()` gives a
    pandas DataFrame.
    """

    def __init__(self, model, layers=None, activation=None):
        nn.check_module("model", model, "GradientFlow")
        if activation is not None:
            validation.choice("activation", activation, MEASURED_ACTIVATIONS, "GradientFlow")
        self.model = model
        named = _named_layers(model, layers, "GradientFlow")
        self.layer_names = [name for name, _ in named]
        self.layers = [layer for _, layer in named]
        self.activation = activation
        self.weight_names = [name for name, _ in _weights(model)]
        self._rows = {key: [] for key in QUANTITIES + WEIGHT_QUANTITIES}
        self._steps = []
        self._handles = []
        self._clear_outputs()
        self.attach()

    # ----- hooks ---------------------------------------------------------------------------
    def attach(self):
        """Register the forward hooks (done by the constructor; needed only after `remove()`).

        Attaching hooks that are attached already does nothing (the captured pass is kept)."""
        if self._handles:
            return self
        self._clear_outputs()
        self._kinds = [self.activation] * len(self.layers)
        for i, layer in enumerate(self.layers):
            self._handles.append(layer.register_forward_hook(self._output_hook(i)))
            act = None if self.activation else _activation_module(layer)
            if act is not None:
                self._kinds[i] = activation_kind(act)
                self._handles.append(act.register_forward_hook(self._activation_hook(i)))
        return self

    def remove(self):
        """Unregister the hooks and forget the captured pass; the history is kept.

        `record()` then raises a RuntimeError until `attach()` is called again."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._clear_outputs()

    def _clear_outputs(self):
        """Forget the layer outputs and activations captured by the hooks."""
        self._outputs = [None] * len(self.layers)
        self._activations = [None] * len(self.layers)
        self._recorded = False

    detach = remove

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.remove()

    def _output_hook(self, i):
        def hook(module, inputs, output):
            if isinstance(output, Tensor) and output.requires_grad:
                output.retain_grad()
                self._outputs[i] = output
                self._recorded = False
                if self.activation:
                    self._activations[i] = output.data
        return hook

    def _activation_hook(self, i):
        def hook(module, inputs, output):
            if isinstance(output, Tensor) and output.requires_grad:
                self._activations[i] = output.data
        return hook

    # ----- recording -------------------------------------------------------------------------
    def record(self, lr=None, *, step=None):
        """Store this step's numbers; call it after `loss.backward()` and before `optimizer.step()`.

        `lr` (the optimiser's learning rate) is needed for the update-to-data ratios (nan without
        it). `step` defaults to the number of steps recorded so far. Returns this step's numbers.
        A RuntimeError is raised after `remove()` (until `attach()`), before any forward and
        backward pass, and for a second record of the same pass (each step is recorded once).
        """
        self._check_recordable()
        if lr is not None:
            lr = validation.non_negative("lr", lr, "GradientFlow.record")
        if step is not None:
            step = validation.non_negative_int("step", step, "GradientFlow.record")
        row = {key: [] for key in QUANTITIES}
        for out, act, kind in zip(self._outputs, self._activations, self._kinds):
            row["grad_norm"].append(math.nan if out is None or out.grad is None
                                    else float(np.linalg.norm(out.grad)))
            row["act_mean"].append(math.nan if out is None else float(np.mean(out.data)))
            row["act_std"].append(math.nan if out is None else float(np.std(out.data)))
            row["act_spread"].append(math.nan if out is None else spread_across_examples(out.data))
            row["saturated"].append(math.nan if act is None else saturated_fraction(act, kind))
            row["dead"].append(math.nan if act is None else dead_fraction(act, kind))
        weights = [p for _, p in _weights(self.model)]
        row["weight_grad_norm"] = [math.nan if p.grad is None else float(np.linalg.norm(p.grad))
                                   for p in weights]
        row["update_ratio"] = [
            math.nan if lr is None or p.grad is None else update_to_data_ratio(p.data, p.grad, lr)
            for p in weights]
        for key, values in row.items():
            self._rows[key].append(values)
        self._recorded = True
        self._steps.append(len(self._steps) if step is None else step)
        return {key: np.array(values) for key, values in row.items()}

    def _check_recordable(self):
        """A RuntimeError unless the hooks are attached and captured a pass not yet recorded."""
        if not self._handles:
            raise RuntimeError("GradientFlow.record: the hooks were removed; call attach() "
                               "(or use `with GradientFlow(model):`)")
        if all(out is None for out in self._outputs):
            raise RuntimeError("GradientFlow.record(): no layer output was captured; run a forward "
                               "pass (with gradients enabled) and backward() before record()")
        if all(out is None or out.grad is None for out in self._outputs):
            raise RuntimeError("GradientFlow.record(): the layer outputs have no gradient yet; "
                               "call loss.backward() before record()")
        if self._recorded:
            raise RuntimeError("GradientFlow.record(): this forward and backward pass was recorded "
                               "already; run a new forward pass and backward() before record()")

    @property
    def history(self):
        """{quantity: array (steps x layers)}; `weight_grad_norm` and `update_ratio` are
        steps x weights (columns in the order of `weight_names`); `step`: (steps,)."""
        steps, layers, weights = len(self._steps), len(self.layers), len(self.weight_names)
        history = {key: np.array(self._rows[key], dtype=np.float64).reshape(steps, layers)
                   for key in QUANTITIES}
        for key in WEIGHT_QUANTITIES:
            history[key] = np.array(self._rows[key], dtype=np.float64).reshape(steps, weights)
        history["step"] = np.array(self._steps)
        return history

    def as_dict(self):
        """The same as `history`."""
        return self.history

    def to_frame(self):
        """A pandas DataFrame indexed by step, with columns (quantity, layer or weight name).

        `flow.to_frame()["grad_norm"]` is then a steps x layers table. Needs pandas (optional).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("GradientFlow.to_frame() needs pandas, which gradcourse does not "
                              "require: pip install pandas, or use flow.history (numpy arrays)") from None
        history = self.history
        columns, data = [], []
        for key in QUANTITIES:
            columns += [(key, name) for name in self.layer_names]
            data.append(history[key])
        for key in WEIGHT_QUANTITIES:
            columns += [(key, name) for name in self.weight_names]
            data.append(history[key])
        return pd.DataFrame(np.hstack(data), index=pd.Index(history["step"], name="step"),
                            columns=pd.MultiIndex.from_tuples(columns, names=["quantity", "name"]))

    def __repr__(self):
        return (f"GradientFlow({len(self.layers)} layers, {len(self._steps)} steps recorded, "
                f"{'attached' if self._handles else 'detached'})")


# ----- one measurement at initialisation ------------------------------------------------------
def mean_square(output, y=None):
    """mean(output^2) without a target (it only sets where the gradient starts), else mse_loss."""
    return (output * output).mean() if y is None else F.mse_loss(output, y)


def measure_at_init(model, x, y=None, loss="mean_square", layers=None, activation=None):
    """Run one forward and backward pass and return the per-layer numbers of `GradientFlow`.

    The loss is `mean_square` by default (mean(output^2): no target needed), a name of
    functional.LOSSES (e.g. "mse", "cross_entropy") against `y`, or any function (output, y) -> scalar.
    The model's parameter gradients are cleared first and left holding this pass's gradients.
    Returns a dict of numpy arrays over the layers: grad_norm (of dL/d(layer output)),
    act_mean, act_std, act_spread, saturated, dead, and layer_weight_grad_norm (the norm of the gradients of
    all weight matrices inside the layer, nan for a layer without weights); over the weight
    matrices: weight_grad_norm (of dL/dW), named by `weight_names`; plus `layers` (the layer
    names) and `loss` (a float).
    """
    where = "measure_at_init"
    nn.check_module("model", model, where)
    loss_fn = F.loss_function(loss, where, extra={"mean_square": mean_square})
    if activation is not None:
        validation.choice("activation", activation, MEASURED_ACTIVATIONS, where)
    x = as_tensor(x, "x", where)
    validation.real_array("x", x.data, where, finite=True)
    model.zero_grad()
    with GradientFlow(model, layers=_named_layers(model, layers, where), activation=activation) as flow:
        value = loss_fn(model(x), y)
        value.backward()
        row = flow.record()
    del row["update_ratio"]
    row["weight_names"] = flow.weight_names
    row["layer_weight_grad_norm"] = per_layer(row["weight_grad_norm"], flow.weight_names, flow.layer_names)
    row["layers"] = flow.layer_names
    row["loss"] = value.item()
    return row


def per_layer(weight_values, weight_names, layer_names):
    """Combine per-weight gradient norms into one norm per layer: sqrt(sum of squares) over the
    weights whose name lies inside the layer ("blocks.3.0.weight" is inside "blocks.3").

    A plain MLP block holds one weight matrix, so its entry is that matrix's norm; a residual
    block holds two. A layer that holds no weight (an activation module) gets nan.
    """
    weight_values = validation.real_array("weight_values", weight_values, "per_layer")
    validation.require(weight_values.ndim == 1 and len(weight_values) == len(weight_names), "weight_values",
                       weight_values, f"one value for each of the {len(weight_names)} weight names", "per_layer")
    combined = []
    for layer in layer_names:
        inside = [i for i, name in enumerate(weight_names) if name.startswith(layer + ".")]
        combined.append(float(np.sqrt(np.sum(weight_values[inside] ** 2))) if inside else math.nan)
    return np.array(combined)


# ----- the input-output Jacobian ---------------------------------------------------------------
def input_output_jacobian(model, x):
    """J[i, j] = d output_i / d x_j at one input x of shape (features,) or (1, features).

    One backward pass per output unit through the same graph, each giving one row of J (all but
    the last keep the graph: retain_graph=True, as PyTorch needs). The parameters' `.grad` are
    restored afterwards. (Put models with BatchNorm in eval() mode: a batch of one has no std.)
    `x` must be finite: a ValueError names its first nan or inf.
    """
    return _jacobian(model, x, "input_output_jacobian")


def _jacobian(model, x, where):
    """`input_output_jacobian`, its arguments checked under the name of the function called."""
    nn.check_module("model", model, where)
    x = validation.real_array("x", x.data if isinstance(x, Tensor) else x, where, finite=True)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    require_shape(x.ndim == 1, "x.shape", x.shape, "(features,) or (1, features): a single input", where)
    saved = [(p, p.grad) for p in model.parameters()]
    inp = Tensor(x.reshape(1, -1), requires_grad=True)
    out = model(inp)
    require_shape(out.ndim == 2 and out.shape[0] == 1, "model(x).shape", out.shape,
                  "(1, outputs): one output vector for the one input", where)
    rows, outputs = [], out.shape[1]
    for i in range(outputs):
        inp.grad = None
        seed = np.zeros(out.shape)
        seed[0, i] = 1.0
        out.backward(seed, retain_graph=i < outputs - 1)  # the same graph, once per row
        rows.append(inp.grad[0].copy())
    for p, grad in saved:
        p.grad = grad
    return np.array(rows)


def jacobian_singular_values(model, x):
    """Singular values, largest first, of the input-output Jacobian at one input x.

    All close to 1 is "dynamical isometry" (Saxe et al., 2014; Pennington et al., 2017): every
    direction of a perturbation, and so of the gradient coming back, keeps its length.
    """
    return np.linalg.svd(_jacobian(model, x, "jacobian_singular_values"), compute_uv=False)


# ----- warnings during training -------------------------------------------------------------
def check_gradients(model, step, vanishing=1e-6, exploding=1e6):
    """Warn (`GradientWarning`) about unhealthy gradients and return the messages (empty if healthy).

    - non-finite: some parameter's gradient contains nan or inf;
    - exploding: some parameter's gradient norm exceeds `exploding` (the largest is named);
    - vanishing: the first weight matrix's gradient norm is below `vanishing` times the last's.
    Each message names the step and the parameter, e.g. "step 37: vanishing gradient: the first
    layer's weight gradient (0.weight, norm 3.2e-12) is 4.1e-09 of the last layer's (...)".
    Parameters whose `.grad` is None are ignored.
    """
    nn.check_module("model", model, "check_gradients")
    validation.positive("vanishing", vanishing, "check_gradients")
    validation.positive("exploding", exploding, "check_gradients")
    norms = gradient_norms(model)
    problems = []
    bad = [name for name, norm in norms.items() if not math.isfinite(norm)]
    if bad:
        problems.append(f"step {step}: non-finite gradient (nan or inf) in {len(bad)} of {len(norms)} "
                        f"parameters, first in {bad[0]}")
    finite = {name: norm for name, norm in norms.items() if math.isfinite(norm)}
    if finite:
        largest = max(finite, key=finite.get)
        if finite[largest] > exploding:
            problems.append(f"step {step}: exploding gradient: {largest} has gradient norm "
                            f"{finite[largest]:.2g}, above {exploding:.0e}")
    weights = [name for name, _ in _weights(model) if name in finite]
    if len(weights) >= 2:
        first, last = weights[0], weights[-1]
        ratio = finite[first] / finite[last] if finite[last] > 0 else math.inf
        if ratio < vanishing:
            problems.append(f"step {step}: vanishing gradient: the first layer's weight gradient "
                            f"({first}, norm {finite[first]:.2g}) is {ratio:.2g} of the last "
                            f"layer's ({last}, norm {finite[last]:.2g})")
    for message in problems:
        warnings.warn(message, GradientWarning, stacklevel=2)
    return problems
