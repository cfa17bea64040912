"""Layers: `Module`, `Linear`, activations, `Sequential`, normalisation, residual and recurrent
layers, and the `MLP` builder, with PyTorch's names.

One difference from PyTorch, chosen because it reads like the maths on numpy arrays: a
`Linear` weight has shape (in_features, out_features) and computes y = x @ W + b.
Initialisation schemes live in `gradcourse.nn.init` (the module `gradcourse.init`).
"""
import math

import numpy as np

from . import functional as F
from . import init
from .autograd import RemovableHandle, Tensor, as_tensor
from .init import init_linear_
from .rng import generator


class Parameter(Tensor):
    """A leaf tensor that a `Module` owns and an optimiser updates (requires_grad=True)."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class of every layer. Subclasses set attributes in `__init__` and define `forward`.

    Parameters and sub-modules are found by looking through the attributes, in the order they
    were assigned, so `parameters()` lists them layer by layer.
    """

    training = True
    _forward_hooks = {}  # replaced by a per-module dict on first register_forward_hook

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
        """(dotted name, Parameter) pairs, e.g. ('0.weight', ...), layer by layer."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield (f"{prefix}.{name}" if prefix else name), value
        for name, child in self.named_children():
            yield from child.named_parameters(f"{prefix}.{name}" if prefix else name)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Forget the gradients of the last backward (sets them to None, as PyTorch does)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
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
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"


class Linear(Module):
    """y = x @ W + b with W of shape (in_features, out_features), b of shape (out_features,).

    `init` chooses how W and b start (see `init.init_linear_` for the list):
      None or "default"  PyTorch's nn.Linear default, W and b from U(-1/sqrt(in), 1/sqrt(in)),
                         so Var(W) = 1 / (3 in_features);
      a scheme's name    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"
                         (these two with ReLU's gain: Var(W) = 2 / in_features), "orthogonal",
                         "normal" (N(0, 1)) or "zeros"; b starts at 0;
      a function         fn(W) fills W in place, e.g. `lambda w: init.orthogonal_(w, gain=2)`;
                         b starts at 0.
    """

    def __init__(self, in_features, out_features, bias=True, init=None):
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.zeros((in_features, out_features)))
        self.bias = Parameter(np.zeros(out_features)) if bias else None
        self.reset_parameters(init)

    def reset_parameters(self, init=None):
        """Draw the weight and bias again with the scheme `init` (as in the constructor)."""
        init_linear_(self.weight, self.bias, init)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


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
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)


class Identity(Module):
    def forward(self, x):
        return x


class Sequential(Module):
    """Applies its modules in order; indexable (`net[0]`, `net[1:3]`), iterable, with len()."""

    def __init__(self, *modules):
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        self.layers = list(modules)

    def named_children(self):
        for i, module in enumerate(self.layers):
            yield str(i), module

    def forward(self, x):
        for module in self.layers:
            x = module(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def append(self, module):
        self.layers.append(module)
        return self
