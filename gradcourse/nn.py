"""Layers: `Module`, `Linear`, activations, `Sequential`, normalisation, residual and recurrent
layers, and the `MLP` builder, with PyTorch's names.

One difference from PyTorch, chosen because it reads like the maths on numpy arrays: a
`Linear` weight has shape (in_features, out_features) and computes y = x @ W + b.
Initialisation schemes live in `gradcourse.nn.init` (the module `gradcourse.init`).
"""
import math
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from . import functional as F
from . import init
from . import validation as check
from .autograd import RemovableHandle, Tensor, as_tensor
from .autograd import require_shape as _shape
from .init import init_linear_
from .rng import generator

# What `load_state_dict` returns, with PyTorch's field names.
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A leaf tensor that a `Module` owns and an optimiser updates (requires_grad=True)."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class of every layer. Subclasses set attributes in `__init__` and define `forward`.

    Parameters and sub-modules are found by looking through the attributes, in the order they
    were assigned, so `parameters()` lists them layer by layer. A subclass names its buffers
    (arrays it updates itself, saved with the parameters) in `_buffers`, and the attributes
    that hold the last forward's graph (not saved by pickle) in `_not_saved`.
    """

    training = True
    _forward_hooks = {}  # replaced by a per-module dict on first register_forward_hook
    _buffers = ()
    _not_saved = ()

    def __call__(self, *inputs):
        output = self.forward(*inputs)
        if not self._forward_hooks:
            return output
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, inputs, output)
            if replaced is not None:
                output = replaced
        return output

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def register_forward_hook(self, hook):
        """Call `hook(module, inputs, output)` after every forward; it may return a new output."""
        check.require(callable(hook), "hook", hook, "a function hook(module, inputs, output)",
                      f"{type(self).__name__}.register_forward_hook", TypeError)
        if "_forward_hooks" not in self.__dict__:
            self._forward_hooks = {}
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def named_children(self):
        """(name, module) for each direct sub-module, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self):
        return (module for _, module in self.named_children())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) pairs, e.g. ('0.weight', ...), layer by layer.

        A parameter shared by two layers is listed once (under its first name), as in PyTorch,
        so an optimiser never updates it twice per step.
        """
        seen = set()
        for name, parameter in self._all_named_parameters(prefix):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def _all_named_parameters(self, prefix):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield (f"{prefix}.{name}" if prefix else name), value
        for name, child in self.named_children():
            yield from child._all_named_parameters(f"{prefix}.{name}" if prefix else name)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        """(dotted name, array) for each buffer, e.g. ('1.running_mean', ...), layer by layer."""
        for module_name, module in self.named_modules(prefix):
            for name in module._buffers:
                yield _dotted(module_name, name), getattr(module, name)

    # ----- saving and loading ----------------------------------------------------------------
    def state_dict(self):
        """An OrderedDict {dotted name: array} of every parameter and buffer, as PyTorch names them.

        e.g. '0.weight', '0.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked': a
        module's own parameters, then its buffers, then its children's, as in PyTorch. The arrays
        are copies (PyTorch's are shared), so training on does not change a saved state.

        Our `Linear.weight` is (in_features, out_features), the transpose of PyTorch's
        (out_features, in_features): a state dict from PyTorch needs `.T` on each Linear weight
        (`w.detach().numpy().T`) before `load_state_dict`, and one going to PyTorch the same.
        """
        return OrderedDict((name, np.array(value, copy=True)) for name, value in self._named_state(""))

    def _named_state(self, prefix):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield _dotted(prefix, name), value.data
        for name in self._buffers:
            yield _dotted(prefix, name), getattr(self, name)
        for name, child in self.named_children():
            yield from child._named_state(_dotted(prefix, name))

    def load_state_dict(self, state_dict, strict=True):
        """Copy each array of `state_dict` into the parameter or buffer of that name, in place.

        In place, so an optimiser holding `model.parameters()` goes on updating the same arrays.
        As in PyTorch: with `strict=True` the names must match exactly, and one RuntimeError lists
        the missing and the unexpected keys; with `strict=False` they are skipped. A shape that
        differs is a RuntimeError naming the key and both shapes, strict or not. Nothing is copied
        unless every check passes. Returns PyTorch's named tuple (missing_keys, unexpected_keys).
        PyTorch's Linear weights are transposed with respect to ours: see `state_dict`.
        """
        check.require(isinstance(state_dict, Mapping), "state_dict", state_dict,
                      "a mapping {name: array}, e.g. from model.state_dict()", "load_state_dict", TypeError)
        strict = check.boolean("strict", strict, "load_state_dict")
        own = OrderedDict(self._named_state(""))
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        values = {name: _array_to_load(name, state_dict[name]) for name in own if name in state_dict}
        errors = [_size_mismatch(name, values[name].shape, own[name].shape)
                  for name in values if values[name].shape != own[name].shape]
        if strict:
            errors = _key_errors(missing, unexpected) + errors
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for name, value in values.items():
            own[name][...] = value
        return IncompatibleKeys(missing, unexpected)

    def __getstate__(self):
        """What pickle (and copy.deepcopy) saves: the attributes, with those in `_not_saved` empty.

        Those hold the last forward's graph (e.g. RNN.hidden_states), whose backward closures
        pickle cannot save; a loaded model has them empty until its next forward.
        """
        state = dict(vars(self))
        for name in self._not_saved:
            state[name] = []
        return state

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of the last backward: None (PyTorch's default), or zeros if not `set_to_none`."""
        clear_grads(self.parameters(), set_to_none, f"{type(self).__name__}.zero_grad")

    def train(self, mode=True):
        """Put this module and every sub-module in training mode (`mode=True`) or eval mode.

        `mode` must be a bool: as in PyTorch, anything else is a ValueError ("training mode is
        expected to be boolean"), so that train("no") cannot mean True.
        """
        check.require(isinstance(mode, (bool, np.bool_)), "mode", mode,
                      "True or False (training mode is expected to be boolean, as in PyTorch)",
                      f"{type(self).__name__}.train")
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def extra_repr(self):
        return ""

    def __repr__(self):
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        settings = [f"  {self.extra_repr()}"] if self.extra_repr() else []  # e.g. Residual's scale
        return f"{type(self).__name__}(\n" + "\n".join(settings + children) + "\n)"


def check_module(name, value, where):
    """`value` if it is a Module (a layer or a network), else a TypeError naming `name` and `where`."""
    return check.instance(name, value, Module, "an nn.Module (a layer or a network, e.g. nn.MLP(...))", where)


def clear_grads(parameters, set_to_none=True, where="zero_grad"):
    """Set each parameter's `.grad` to None (PyTorch's default), or to zeros if not `set_to_none`.

    What `Module.zero_grad` and `Optimizer.zero_grad` do; `set_to_none` must be True or False.
    """
    set_to_none = check.boolean("set_to_none", set_to_none, where)
    for p in parameters:
        p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.grad)


def _dotted(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _array_to_load(name, value):
    """A state dict's value as a numeric numpy array (a Tensor gives its data), else a TypeError."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    check.require(array.dtype.kind in "iuf", f"state_dict[{name!r}]", value, "a numeric array",
                  "load_state_dict", TypeError)
    return array


def _key_errors(missing, unexpected):
    """PyTorch's lines: 'Missing key(s) in state_dict: "a", "b".' and the same for unexpected keys."""
    errors = []
    for label, names in (("Missing", missing), ("Unexpected", unexpected)):
        if names:
            errors.append(f"{label} key(s) in state_dict: " + ", ".join(f'"{name}"' for name in names) + ".")
    return errors


def _size_mismatch(name, loaded, expected):
    text = (f"size mismatch for {name}: copying a param with shape {loaded} from checkpoint, "
            f"the shape in current model is {expected}.")
    if len(expected) == 2 and loaded == expected[::-1]:
        text += " (A PyTorch Linear weight? Ours is its transpose, (in_features, out_features): use .T.)"
    return text


class Linear(Module):
    """y = x @ W + b with W of shape (in_features, out_features), b of shape (out_features,).

    `init` chooses how W and b start (see `init.init_linear_`):
      None or "default"  PyTorch's nn.Linear default, W and b from U(-1/sqrt(in), 1/sqrt(in)),
                         so Var(W) = 1 / (3 in_features);
      a scheme's name    a key of `init.LINEAR_SCHEMES`, e.g. "kaiming_normal"; b starts at 0;
      a function         fn(W) fills W in place, e.g. `lambda w: init.orthogonal_(w, gain=2)`;
                         b starts at 0.
    The sizes must be positive integers (a bool is not a size).
    """

    def __init__(self, in_features, out_features, bias=True, init=None):
        self.in_features = check.positive_int("in_features", in_features, "Linear")
        self.out_features = check.positive_int("out_features", out_features, "Linear")
        bias = check.boolean("bias", bias, "Linear")
        _check_init(init, "Linear")
        self.weight = Parameter(np.zeros((in_features, out_features)))
        self.bias = Parameter(np.zeros(out_features)) if bias else None
        self.reset_parameters(init)

    def reset_parameters(self, init=None):
        """Draw the weight and bias again with the scheme `init` (as in the constructor)."""
        _check_init(init, "Linear.reset_parameters")
        init_linear_(self.weight, self.bias, init)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _check_init(scheme, where):
    """`init` of a Linear (or of every Linear of an MLP): None, a scheme's name or a function."""
    rule = "None, a function fn(W) or a scheme name, one of " + ", ".join(map(repr, init.LINEAR_SCHEMES))
    check.require(scheme is None or callable(scheme) or isinstance(scheme, str), "init", scheme, rule, where, TypeError)
    check.require(scheme is None or callable(scheme) or scheme in init.LINEAR_SCHEMES, "init", scheme, rule, where)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=F.LEAKY_RELU_SLOPE):
        self.negative_slope = check.number("negative_slope", negative_slope, where="LeakyReLU")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate="none"):
        self.approximate = check.choice("approximate", approximate, F.GELU_APPROXIMATIONS, where="GELU")

    def forward(self, x):
        return F.gelu(x, self.approximate)


class Identity(Module):
    def forward(self, x):
        return x


# The one list of activations by name: MLP, the experiments and the diagnostics take these names.
ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "gelu": GELU,
               "identity": Identity, "linear": Identity}

# Sequential runs a Linear followed by one of these as a single graph node: the activations
# that `F.linear_activation` computes, {layer class: name}.
_FUSABLE_ACTIVATIONS = {ACTIVATIONS[name]: name for name in F.ACTIVATIONS_FROM_OUTPUT}


class Sequential(Module):
    """Applies its modules in order; indexable (`net[0]`, `net[1:3]`), iterable, with len().

    A Linear directly followed by an activation in `_FUSABLE_ACTIVATIONS` runs as one graph node
    (`F.linear_activation`), unless either has a forward hook: nothing outside can see the
    pre-activation between them, and the values and gradients are bit for bit the same. With
    half the nodes to record and visit, a training step of a 50-layer, width-32 MLP takes about
    10% less time.
    """

    def __init__(self, *modules):
        for i, module in enumerate(modules):
            check_module(f"modules[{i}]", module, "Sequential")
        self.layers = list(modules)

    def named_children(self):
        for i, module in enumerate(self.layers):
            yield str(i), module

    def forward(self, x):
        layers, i = self.layers, 0
        while i < len(layers):
            module = layers[i]
            following = layers[i + 1] if i + 1 < len(layers) else None
            activation = _FUSABLE_ACTIVATIONS.get(type(following))
            if (activation and type(module) is Linear
                    and not (module._forward_hooks or following._forward_hooks)):
                x = F.linear_activation(x, module.weight, module.bias, activation)
                i += 2
            else:
                x = module(x)
                i += 1
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        check.require(check.is_integer(index), "index", index, "an integer or a slice", "Sequential", TypeError)
        check.require(-len(self.layers) <= index < len(self.layers), "index", index,
                      f"in [{-len(self.layers)}, {len(self.layers)}) for {len(self.layers)} modules", "Sequential",
                      IndexError)
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def append(self, module):
        """Add `module` at the end (a Module, TypeError otherwise, as the constructor and PyTorch)."""
        check_module("module", module, "Sequential.append")
        self.layers.append(module)
        return self


# ----- residual connections ------------------------------------------------------------------
class Residual(Module):
    """y = x + scale * block(x): a residual (skip) connection, He et al. (2016).

    Backward: dL/dx = dL/dy + scale * (dL/dy) J_block(x). The first term, the identity path,
    carries the gradient back unchanged however small the block's Jacobian J_block has become.
    The block must map its input to an output of the same shape.
    """

    def __init__(self, block, scale=1.0):
        check_module("block", block, "Residual")
        self.block = block
        self.scale = check.number("scale", scale, where="Residual")

    def forward(self, x):
        x = as_tensor(x, "x", "Residual")
        branch = self.block(x)
        _shape(branch.shape == x.shape, "block(x)", branch.shape,
               f"of the input's shape {x.shape} (a residual block must preserve the shape, so that "
               f"x + block(x) is defined)", "Residual")
        if self.scale != 1.0:
            branch = branch * self.scale
        return x + branch

    def extra_repr(self):
        return f"scale={self.scale}"


# ----- normalisation -------------------------------------------------------------------------
class LayerNorm(Module):
    """Normalise each example over its last axis (Ba, Kiros & Hinton, 2016), like PyTorch:

        mu = mean(x),  var = mean((x - mu)^2)  (biased),  y = (x - mu) / sqrt(var + eps) * gamma + beta

    with learnable gamma (`weight`, starts at 1) and beta (`bias`, starts at 0) per feature.
    `normalized_shape` is the number of features (a positive int, or a tuple of them for the
    last few axes); `eps` > 0. Built from tensor operations, so its backward comes from theirs.
    """

    def __init__(self, normalized_shape, eps=1e-5):
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = check.positive("eps", eps, where="LayerNorm")
        self.weight = Parameter(np.ones(self.normalized_shape))
        self.bias = Parameter(np.zeros(self.normalized_shape))

    def forward(self, x):
        x = as_tensor(x, "x", "LayerNorm")
        n = len(self.normalized_shape)
        _shape(x.shape[x.ndim - n:] == self.normalized_shape, "x", x.shape,
               f"(..., {', '.join(map(str, self.normalized_shape))}): normalized_shape on the last axes", "LayerNorm")
        axes = tuple(range(-n, 0))
        centred = x - x.mean(axis=axes, keepdims=True)
        var = (centred * centred).mean(axis=axes, keepdims=True)
        return centred / (var + self.eps).sqrt() * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


def _normalized_shape(shape):
    """LayerNorm's normalized_shape as a tuple of positive ints (an int n means (n,))."""
    shape = (shape,) if check.is_integer(shape) else shape
    check.require(isinstance(shape, (tuple, list)), "normalized_shape", shape,
                  "a positive integer or a tuple of them", "LayerNorm", TypeError)
    check.require(len(shape) >= 1, "normalized_shape", shape, "a positive integer or a tuple of them", "LayerNorm")
    return tuple(check.positive_int("normalized_shape", n, "LayerNorm") for n in shape)


class BatchNorm1d(Module):
    """Normalise each feature over the batch (Ioffe & Szegedy, 2015), like PyTorch's BatchNorm1d.

    Input (batch, num_features), or (batch, num_features, length) as in PyTorch, the statistics then
    taken per feature over the batch and the length. In training mode, with the batch's mean mu and
    biased variance var (over n values per feature),

        y = (x - mu) / sqrt(var + eps) * gamma + beta
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)   (unbiased)

    `momentum=None` gives a cumulative moving average, as in PyTorch: the factor is
    1 / num_batches_tracked (this batch included) instead of momentum, so the running statistics
    are the plain means of the batch statistics so far. Otherwise momentum lies in [0, 1].

    In eval mode (`model.eval()`) the running statistics replace mu and var. `running_mean`,
    `running_var` and `num_batches_tracked` (a 0-d integer array) are buffers, not parameters:
    the optimiser never sees them, and `state_dict` saves them.
    """

    _buffers = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.num_features = check.positive_int("num_features", num_features, "BatchNorm1d")
        self.eps = check.positive("eps", eps, where="BatchNorm1d")
        self.momentum = None if momentum is None else check.probability("momentum", momentum, "BatchNorm1d")
        self.weight = Parameter(np.ones(num_features))
        self.bias = Parameter(np.zeros(num_features))
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.num_batches_tracked = np.zeros((), dtype=np.int64)

    def forward(self, x):
        x = as_tensor(x, "x", "BatchNorm1d")
        C = self.num_features
        _shape(x.ndim in (2, 3) and x.shape[1] == C, "x", x.shape,
               f"(batch, num_features) = (batch, {C}) or (batch, num_features, length) = (batch, {C}, length)",
               "BatchNorm1d")
        if x.ndim == 2:
            return self._normalise(x, axis=0, per_feature=lambda a: a)
        # (batch, C, length), as PyTorch: statistics per feature over the batch and the length
        return self._normalise(x, axis=(0, 2), per_feature=lambda a: a.reshape(1, C, 1))

    def _normalise(self, x, axis, per_feature):
        """y = (x - mu) / sqrt(var + eps) * gamma + beta, mu and var over `axis` (per feature);
        `per_feature` shapes a (num_features,) array to broadcast against x."""
        gamma, beta = per_feature(self.weight), per_feature(self.bias)
        if not self.training:
            x_hat = (x - per_feature(self.running_mean)) / np.sqrt(per_feature(self.running_var) + self.eps)
            return x_hat * gamma + beta
        n = x.size // self.num_features  # the values per feature
        _shape(n >= 2, "x", x.shape, "more than one value per feature (batch >= 2, or batch x length >= 2) in "
               "training mode, to estimate a variance (use a larger batch or call .eval())", "BatchNorm1d")
        keep = x.ndim == 3
        mean = x.mean(axis=axis, keepdims=keep)
        centred = x - mean
        var = (centred * centred).mean(axis=axis, keepdims=keep)
        self._update_running_stats(mean.data.reshape(-1), var.data.reshape(-1) * n / (n - 1))
        return centred / (var + self.eps).sqrt() * gamma + beta

    def _update_running_stats(self, batch_mean, unbiased_batch_var):
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean[...] = (1 - m) * self.running_mean + m * batch_mean
        self.running_var[...] = (1 - m) * self.running_var + m * unbiased_batch_var

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


# ----- recurrent layers ----------------------------------------------------------------------
def _sequence(layer, x, input_size):
    """`x` as a Tensor of shape (batch, time, input_size), time >= 1, else a ShapeError."""
    x = as_tensor(x, "x", layer)
    _shape(x.ndim == 3 and x.shape[2] == input_size and x.shape[1] > 0, "x", x.shape,
           f"(batch, time, input_size) = (batch, time, {input_size}) with time >= 1 (batch first)", layer)
    return x


def _initial_state(layer, name, state, batch, hidden_size):
    """The initial state `name` (h0 or c0): zeros if None, else a Tensor of shape (batch, hidden_size)."""
    if state is None:
        return Tensor(np.zeros((batch, hidden_size)))
    state = as_tensor(state, name, layer)
    _shape(state.shape == (batch, hidden_size), name, state.shape,
           f"(batch, hidden_size) = {(batch, hidden_size)}, an initial state's shape", layer)
    return state



class RNN(Module):
    """An Elman RNN over a (batch, time, input_size) sequence, like `nn.RNN(batch_first=True)`:

        h_t = tanh(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh),   h_0 = 0 unless given

    (`nonlinearity="relu"` replaces tanh). W_ih is (input_size, hidden_size), W_hh is
    (hidden_size, hidden_size); all four parameters start from U(-1/sqrt(hidden), 1/sqrt(hidden)).
    Backward through time multiplies by W_hh^T diag(tanh') once per step: that product is what
    vanishes or explodes.

    `forward(x, h0=None)` returns (outputs, h_last): outputs is (batch, time, hidden_size), and
    h_last, like h0, is (batch, hidden_size) (PyTorch adds a leading num_layers axis).
    After a forward, `self.hidden_states` is the list [h_1, ..., h_T] of the step tensors;
    call `.retain_grad()` on them before `backward()` to read dL/dh_t. Pickling the layer
    leaves that list out (it holds the graph): a loaded RNN has [] until its next forward.
    """

    NONLINEARITIES = ("tanh", "relu")
    _not_saved = ("hidden_states",)

    def __init__(self, input_size, hidden_size, nonlinearity="tanh"):
        self.input_size = check.positive_int("input_size", input_size, "RNN")
        self.hidden_size = check.positive_int("hidden_size", hidden_size, "RNN")
        self.nonlinearity = check.choice("nonlinearity", nonlinearity, self.NONLINEARITIES, "RNN")
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = Parameter(generator().uniform(-bound, bound, (input_size, hidden_size)))
        self.weight_hh = Parameter(generator().uniform(-bound, bound, (hidden_size, hidden_size)))
        self.bias_ih = Parameter(generator().uniform(-bound, bound, hidden_size))
        self.bias_hh = Parameter(generator().uniform(-bound, bound, hidden_size))
        self.hidden_states = []

    def cell(self, x_t, h):
        """One step: h_t = tanh(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)."""
        z = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        return z.tanh() if self.nonlinearity == "tanh" else z.relu()

    def forward(self, x, h0=None):
        x = _sequence("RNN", x, self.input_size)
        h = _initial_state("RNN", "h0", h0, x.shape[0], self.hidden_size)
        self.hidden_states = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            self.hidden_states.append(h)
        return F.stack(self.hidden_states, axis=1), h

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class LSTM(Module):
    """A long short-term memory layer (Hochreiter & Schmidhuber, 1997) with PyTorch's equations:

        i_t = sigmoid(x_t W_ii + b_ii + h_{t-1} W_hi + b_hi)     input gate
        f_t = sigmoid(x_t W_if + b_if + h_{t-1} W_hf + b_hf)     forget gate
        g_t = tanh(x_t W_ig + b_ig + h_{t-1} W_hg + b_hg)        candidate cell
        o_t = sigmoid(x_t W_io + b_io + h_{t-1} W_ho + b_ho)     output gate
        c_t = f_t * c_{t-1} + i_t * g_t,    h_t = o_t * tanh(c_t)

    The four gates sit side by side in `weight_ih` (input_size, 4 hidden), `weight_hh`
    (hidden, 4 hidden), `bias_ih` and `bias_hh` (4 hidden), in the order i, f, g, o. All start
    from U(-1/sqrt(hidden), 1/sqrt(hidden)); then `forget_bias` is added to the forget gate's
    part of `bias_ih`: forget_bias=1 is the recipe of Jozefowicz, Zaremba & Sutskever (2015),
    which keeps f_t near 1 so dc_t/dc_{t-1} = f_t lets the gradient through many steps.

    `forward(x, state=None)` takes x of shape (batch, time, input_size) and state = (h0, c0),
    each (batch, hidden), zeros if None; it returns (outputs, (h_last, c_last)), outputs of
    shape (batch, time, hidden). `self.hidden_states` and `self.cell_states` list the step
    tensors h_1..h_T and c_1..c_T (call `.retain_grad()` on them to read their gradients);
    pickling leaves both lists out (they hold the graph): [] until the next forward.
    """

    _not_saved = ("hidden_states", "cell_states")

    def __init__(self, input_size, hidden_size, forget_bias=0.0):
        self.input_size = check.positive_int("input_size", input_size, "LSTM")
        self.hidden_size = check.positive_int("hidden_size", hidden_size, "LSTM")
        self.forget_bias = check.number("forget_bias", forget_bias, where="LSTM")
        bound = 1.0 / math.sqrt(hidden_size)
        gates = 4 * hidden_size
        self.weight_ih = Parameter(generator().uniform(-bound, bound, (input_size, gates)))
        self.weight_hh = Parameter(generator().uniform(-bound, bound, (hidden_size, gates)))
        self.bias_ih = Parameter(generator().uniform(-bound, bound, gates))
        self.bias_hh = Parameter(generator().uniform(-bound, bound, gates))
        self.bias_ih.data[hidden_size:2 * hidden_size] += forget_bias
        self.hidden_states, self.cell_states = [], []

    def cell(self, x_t, h, c):
        """One step: the four gates from x_t and h_{t-1}, then c_t and h_t."""
        H = self.hidden_size
        z = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i = z[:, 0:H].sigmoid()
        f = z[:, H:2 * H].sigmoid()
        g = z[:, 2 * H:3 * H].tanh()
        o = z[:, 3 * H:4 * H].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        return h, c

    def forward(self, x, state=None):
        x = _sequence("LSTM", x, self.input_size)
        check.require(state is None or isinstance(state, (tuple, list)) and len(state) == 2, "state", state,
                      "None or a pair (h0, c0)", "LSTM", TypeError)
        h0, c0 = (None, None) if state is None else state
        h = _initial_state("LSTM", "h0", h0, x.shape[0], self.hidden_size)
        c = _initial_state("LSTM", "c0", c0, x.shape[0], self.hidden_size)
        self.hidden_states, self.cell_states = [], []
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], h, c)
            self.hidden_states.append(h)
            self.cell_states.append(c)
        return F.stack(self.hidden_states, axis=1), (h, c)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, forget_bias={self.forget_bias}"


# ----- a deep MLP in one call ------------------------------------------------------------------
# The one list of normalisations by name: MLP(norm=...) and the experiments take these names.
# None and "none" both mean no normalisation ("none" is the name a menu shows).
NORMS = {None: None, "none": None, "layer": LayerNorm, "batch": BatchNorm1d}
NORM_NAMES = tuple(name for name in NORMS if name is not None)  # ("none", "layer", "batch"): for menus


def activation_module(name):
    """A new activation layer from its name: one of the keys of `ACTIVATIONS`."""
    return ACTIVATIONS[check.choice("activation", name, tuple(ACTIVATIONS), "activation_module")]()


def norm_module(name, features):
    """A new normalisation layer from its name in `NORMS`: "layer" -> LayerNorm, "batch" -> BatchNorm1d."""
    check.choice("norm", name, tuple(norm for norm, kind in NORMS.items() if kind is not None), "norm_module")
    return NORMS[name](check.positive_int("features", features, "norm_module"))


class MLP(Module):
    """A deep fully connected network, plain, residual or normalised, built in one call.

        input_layer    Linear(in_features, hidden) -> act
        blocks[0], ..., blocks[num_blocks - 1], each a Module mapping (batch, hidden) to (batch, hidden):
          plain        Sequential(Linear(hidden, hidden), [Norm], act)
          residual     Residual(F, branch_scale):  x + branch_scale * F(x), with
                       F = Sequential([Norm], Linear(hidden, hidden), act, Linear(hidden, hidden))
                       (pre-normalised when norm is given; no activation after the sum)
        output_layer   Linear(hidden, out_features)

    `num_blocks` is the number of blocks: plain blocks (num_blocks + 2 weight layers, i.e. Linear
    layers, in all) or residual blocks (2 num_blocks + 2 weight layers); `weight_layers` says how many.
    forward(x) = output_layer(blocks[num_blocks-1](...blocks[0](input_layer(x)))), so the output of
    `blocks[l]` is the hidden state of layer l, and a forward hook on it sees that state.

    in_features, hidden, out_features  positive integers; num_blocks a non-negative integer
    activation  a name in `ACTIVATIONS`
    init        for every Linear: a scheme name or a function (see `Linear`)
    norm        a name in `NORMS`: None or "none", "layer" (LayerNorm) or "batch" (BatchNorm1d)
    branch_scale  multiplies each residual branch, e.g. 1 / np.sqrt(num_blocks)
    zero_init_residual  start the last Linear of every branch (weight and bias) at zero, so each
                block starts as the identity (as torchvision's ResNet does with its last BN)
    """

    def __init__(self, in_features, hidden, out_features, num_blocks, activation="tanh", init=None,
                 residual=False, norm=None, branch_scale=1.0, zero_init_residual=False):
        _check_mlp_arguments(in_features, hidden, out_features, num_blocks, activation, norm)
        _check_init(init, "MLP")
        residual = check.boolean("residual", residual, "MLP")
        zero_init_residual = check.boolean("zero_init_residual", zero_init_residual, "MLP")
        branch_scale = check.number("branch_scale", branch_scale, where="MLP")
        check.require(residual or branch_scale == 1.0, "branch_scale", branch_scale,
                      "1.0 unless residual=True (it scales the residual branches)", "MLP")
        check.require(residual or not zero_init_residual, "zero_init_residual", zero_init_residual,
                      "False unless residual=True (it zeroes the residual branches)", "MLP")
        self.num_blocks, self.activation, self.residual, self.norm = num_blocks, activation, residual, norm
        self.input_layer = Sequential(Linear(in_features, hidden, init=init), activation_module(activation))
        if residual:
            self.blocks = [self._residual_block(hidden, init, branch_scale, zero_init_residual)
                           for _ in range(num_blocks)]
        else:
            self.blocks = [self._plain_block(hidden, init) for _ in range(num_blocks)]
        self.output_layer = Linear(hidden, out_features, init=init)

    @property
    def weight_layers(self):
        """The number of Linear layers: num_blocks + 2, or 2 num_blocks + 2 when residual."""
        return (2 if self.residual else 1) * self.num_blocks + 2

    def _plain_block(self, hidden, scheme):
        """Linear(hidden, hidden) -> [Norm] -> act."""
        layers = [Linear(hidden, hidden, init=scheme)] + self._norm_layers(hidden)
        return Sequential(*layers, activation_module(self.activation))

    def _residual_block(self, hidden, scheme, branch_scale, zero_init_residual):
        """x + branch_scale * ([Norm] -> Linear -> act -> Linear)(x)."""
        first = Linear(hidden, hidden, init=scheme)
        last = Linear(hidden, hidden, init=scheme)
        if zero_init_residual:
            init.zeros_(last.weight)
            init.zeros_(last.bias)
        branch = Sequential(*self._norm_layers(hidden), first, activation_module(self.activation), last)
        return Residual(branch, scale=branch_scale)

    def _norm_layers(self, hidden):
        return [] if NORMS[self.norm] is None else [norm_module(self.norm, hidden)]

    def forward(self, x):
        x = self.input_layer(x)
        for block in self.blocks:
            x = block(x)
        return self.output_layer(x)


def _check_mlp_arguments(in_features, hidden, out_features, num_blocks, activation, norm):
    """Every size and choice of an MLP, checked before anything is built."""
    for name, size in (("in_features", in_features), ("hidden", hidden), ("out_features", out_features)):
        check.positive_int(name, size, "MLP")
    check.non_negative_int("num_blocks", num_blocks, "MLP")
    check.choice("activation", activation, tuple(ACTIVATIONS), "MLP")
    check.choice("norm", norm, tuple(NORMS), "MLP")
