"""Reverse-mode automatic differentiation on numpy arrays.

A `Tensor` wraps a float64 array. Every operation on tensors records, next to its result, a small
`backward` function holding the local derivative: given the gradient of the loss with respect to
the result, it returns the gradients with respect to the operation's inputs (a vector-Jacobian
product). `Tensor.backward()` walks that record from the loss back to the leaves, adds up what
reaches each of them and frees the record it walked, exactly like PyTorch's `loss.backward()`.
"""
import contextlib
import ctypes
import heapq
import itertools
import math
import sys

import numpy as np

from . import validation

_grad_enabled = True
_creation_order = itertools.count()


def keep_freed_memory_for_reuse():
    """Opt-in: ask glibc to keep freed memory for the next training step instead of returning it.

    Every step frees its graph's arrays and allocates the same sizes again; by default glibc hands
    blocks above 128 KiB back to the OS at once, and the next step page-faults them back in. The
    setting holds for the whole process and cannot be undone, so the package never makes it on
    its own: the benchmarks call this, for both sides they time. Returns True if it was applied
    (Linux with glibc only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 512 * 2**20) and libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20))
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def no_grad():
    """Context manager in which operations record no graph (like `torch.no_grad()`)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    """True unless inside `no_grad()`."""
    return _grad_enabled


class ShapeError(RuntimeError, ValueError):
    """A shape, size or set of axes that does not fit the operation.

    A RuntimeError, as PyTorch raises in these cases, and also a ValueError, as numpy raises (and
    as gradcourse did before), so that either `except` catches it: numpy's AxisError is likewise
    both a ValueError and an IndexError.
    """


def require_shape(ok, name, shape, rule, where):
    """Raise a ShapeError '<where>: <name> must be <rule>, got <shape>' unless `ok` (validation's template)."""
    if not ok:
        validation.fail(name, shape, rule, where, ShapeError)


class RemovableHandle:
    """Returned by `register_hook`-style calls; `.remove()` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(self._next_id)

    def remove(self):
        self._hooks.pop(self.id, None)


class Tensor:
    """A float64 numpy array that remembers how it was computed.

    Leaves (tensors you create) with `requires_grad=True` receive `.grad` after `backward()`;
    intermediate results keep their gradient only if you call `retain_grad()` on them. A result
    remembers its inputs (`_parents`), its `_backward` function and its operation's name (`_op`).
    """

    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__ instead of numpy
    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_op", "_order", "_hooks",
                 "_retains_grad", "__weakref__")

    def __init__(self, data, requires_grad=False):
        requires_grad = validation.boolean("requires_grad", requires_grad, "tensor")
        _set_fields(self, _to_float_array(data), requires_grad, (), None, None)

    # ----- basic attributes -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        """Every axis reversed, as numpy's `.T` and `transpose()` (PyTorch's `.T` also; for 2-D, the transpose)."""
        return self.transpose()

    @property
    def is_leaf(self):
        return self._backward is None

    def __len__(self):
        """The size of the first axis; a TypeError for a 0-d tensor, as in PyTorch."""
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no axis (its shape is ())")
        return len(self.data)

    def __iter__(self):
        """The entries along the first axis, as tensors (a TypeError for a 0-d tensor, as in PyTorch)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor: it has no axis (its shape is ())")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        """The truth of a one-element tensor; more or fewer elements are ambiguous (RuntimeError), as in PyTorch."""
        if self.data.size != 1:
            amount = "no values" if self.data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous (shape {self.shape}); "
                               f"ask about its entries instead, e.g. bool((t.data > 0).any())")
        return bool(self.data.reshape(()))

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        suffix = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{suffix})"

    def item(self):
        """The value of a one-element tensor as a Python float.

        Any other size is a `ShapeError` (a RuntimeError, as in PyTorch, and a ValueError).
        """
        if self.data.size != 1:
            raise ShapeError(f"item() needs a tensor with one element, this one has shape {self.shape}: "
                             f"a Tensor with {self.data.size} elements cannot be converted to a Python number")
        return float(self.data.reshape(()))

    def __float__(self):
        """float(t) for a one-element tensor, as in PyTorch (numpy uses it for lists of 0-d tensors)."""
        return self.item()

    def __int__(self):
        """int(t) for a one-element tensor, truncated toward zero as in PyTorch (int(tensor(3.7)) == 3)."""
        return int(self.item())

    def numpy(self):
        """The underlying array (shared, not copied, as in PyTorch)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        """The data for numpy, so `np.asarray(t)` is the float64 array (numpy 2's protocol, as PyTorch has)."""
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError(f"__array__: a {np.dtype(dtype)} array of a float64 tensor needs a copy, "
                             f"but copy=False was asked")
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def detach(self):
        """A tensor sharing this one's data but cut off from the graph."""
        return _set_fields(Tensor.__new__(Tensor), self.data, False, (), None, None)  # (Tensor() would copy)

    # ----- hooks -------------------------------------------------------------------------
    def register_hook(self, hook):
        """Call `hook(grad)` whenever the gradient with respect to this tensor is computed.

        A hook may return a new gradient to use instead. Returns a handle with `.remove()`.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        validation.require(callable(hook), "hook", hook, "a function hook(grad) -> new grad or None",
                           "register_hook", TypeError)
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def retain_grad(self):
        """Keep `.grad` on this intermediate result after `backward()` (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("cannot retain_grad() on a tensor that does not require grad")
        self._retains_grad = True

    # ----- backward ----------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into every leaf's `.grad`, then free the graph.

        Nodes are visited in reverse creation order, which is a topological order (a result is
        always created after its inputs), using a heap instead of recursion, so chains of any
        length work. `grad` defaults to 1 and is required when `self` is not a scalar.

        As in PyTorch, the walk frees the graph behind it: each visited result drops its
        backward function and its inputs (so their arrays can be released), and a second
        backward through any of its nodes raises a RuntimeError. `retain_graph=True` keeps the
        graph for another call. Leaves are never freed, and `.grad` adds up across calls. (PyTorch
        raises only at a node that saved tensors for its backward, so `(x + 1).sum()` may pass
        twice there; here every node is freed, which gives one rule to remember.)
        """
        retain_graph = validation.boolean("retain_graph", retain_graph, "backward")
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad "
                               "(did you create the inputs with requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a grad argument needs a scalar, this tensor has "
                                   f"shape {self.shape}; reduce it first (e.g. .sum() or .mean()) or pass "
                                   f"grad of that shape")
            grad = np.ones_like(self.data)
        else:
            grad = _to_float_array(grad, "grad", "backward")
            if grad.shape != self.shape:  # (a RuntimeError in PyTorch: "Mismatch in shape")
                raise ShapeError(f"backward(grad): mismatch in shape: grad has shape {grad.shape} but the tensor "
                                 f"has shape {self.shape}")
        _run_backward(self, grad, retain_graph)

    # ----- arithmetic --------------------------------------------------------------------
    # A Python number c needs no Tensor of its own: x + c records one input, x. Otherwise a
    # backward computes a gradient only for the inputs that need one (None for the others).
    def __add__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(x+c)/dx = 1
            return record_op(self.data + other, (self,), lambda g: (g,), "add")
        other = as_tensor(other, "other", "+")
        out = _broadcasting("+", np.add, self, other)

        def backward(g):  # d(a+b)/da = d(a+b)/db = 1
            return _unbroadcast(g, self.shape), _unbroadcast(g, other.shape)
        return record_op(out, (self, other), backward, "add")

    def __sub__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(x-c)/dx = 1
            return record_op(self.data - other, (self,), lambda g: (g,), "sub")
        other = as_tensor(other, "other", "-")
        out = _broadcasting("-", np.subtract, self, other)

        def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
            return (_unbroadcast(g, self.shape) if self.requires_grad else None,
                    _unbroadcast(-g, other.shape) if other.requires_grad else None)
        return record_op(out, (self, other), backward, "sub")

    def __mul__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(cx)/dx = c
            return record_op(self.data * other, (self,), lambda g: (g * other,), "mul")
        other = as_tensor(other, "other", "*")
        out = _broadcasting("*", np.multiply, self, other)

        def backward(g):  # d(ab)/da = b, d(ab)/db = a
            return (_unbroadcast(g * other.data, self.shape) if self.requires_grad else None,
                    _unbroadcast(g * self.data, other.shape) if other.requires_grad else None)
        return record_op(out, (self, other), backward, "mul")

    def __truediv__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(x/c)/dx = 1/c
            return record_op(self.data / other, (self,), lambda g: (g / other,), "div")
        other = as_tensor(other, "other", "/")
        out = _broadcasting("/", np.divide, self, other)

        def backward(g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            return (_unbroadcast(g / other.data, self.shape) if self.requires_grad else None,
                    _unbroadcast(-g * out / other.data, other.shape) if other.requires_grad else None)
        return record_op(out, (self, other), backward, "div")

    def __pow__(self, exponent):
        """x ** p for a number p (a Tensor exponent is a TypeError: write (p * x.log()).exp())."""
        if type(exponent) not in _NUMBER_TYPES:
            validation.require(validation.is_number(exponent), "exponent", exponent, "a number (int or float); "
                               "for a tensor exponent p write (p * x.log()).exp()", "x ** exponent", TypeError)
        p = float(exponent)
        out = self.data ** p

        def backward(g):  # d(x^p)/dx = p x^(p-1); for p = 0 it is 0 everywhere (0 * 0^-1 would give nan)
            return (g * p * self.data ** (p - 1) if p != 0 else np.zeros_like(self.data),)
        return record_op(out, (self,), backward, "pow")

    def __neg__(self):
        return record_op(-self.data, (self,), lambda g: (-g,), "neg")

    def __radd__(self, other):
        return self + other if type(other) in _NUMBER_TYPES else as_tensor(other, "other", "+") + self

    def __rsub__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(c-x)/dx = -1
            return record_op(other - self.data, (self,), lambda g: (-g,), "sub")
        return as_tensor(other, "other", "-") - self

    def __rmul__(self, other):
        return self * other if type(other) in _NUMBER_TYPES else as_tensor(other, "other", "*") * self

    def __rtruediv__(self, other):
        if type(other) in _NUMBER_TYPES:  # d(c/x)/dx = -c/x^2 = -(c/x)/x
            out = other / self.data
            return record_op(out, (self,), lambda g: (-g * out / self.data,), "div")
        return as_tensor(other, "other", "/") / self

    def __rpow__(self, base):
        """c ** x for a constant base c (a number or an array), as in PyTorch: 2 ** tensor([3.]) is tensor([8.]).

        d(c^x)/dx = c^x log c; where c = 0 and x >= 0 the derivative is taken as 0, as PyTorch does.
        """
        base = _checked_array(base, "base", "base ** x")
        out = _broadcasting("**", np.power, _constant(base.astype(np.float64)), self)

        def backward(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where((base == 0) & (self.data >= 0), 0.0, out * np.log(base))
            return (_unbroadcast(g * local, self.shape),)
        return record_op(out, (self,), backward, "pow")

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # ----- in place: the parameter update w -= lr * w.grad, inside no_grad() ----------------------
    def __iadd__(self, other):
        return self._in_place(other, np.add, Tensor.__add__, "+=")

    def __isub__(self, other):
        return self._in_place(other, np.subtract, Tensor.__sub__, "-=")

    def __imul__(self, other):
        return self._in_place(other, np.multiply, Tensor.__mul__, "*=")

    def __itruediv__(self, other):
        return self._in_place(other, np.true_divide, Tensor.__truediv__, "/=")

    def _in_place(self, other, ufunc, operation, symbol):
        """`self <symbol> other` (e.g. `w -= lr * w.grad`), following PyTorch:

        - with grad mode on, a leaf that requires grad is a RuntimeError ("a leaf Variable that
          requires grad is being used in an in-place operation");
        - inside `no_grad()`, or when no gradient is involved, `self.data` is changed in place (every
          alias of it sees the change) and `self` is returned; `other` broadcasts into self's shape,
          and a shape that would change self is a ShapeError. `.grad` is left alone;
        - otherwise (self is a non-leaf that requires grad, or `other` requires grad) the result
          needs a graph: here it is a new tensor, `self = self <op> other`, and the old tensor is
          unchanged. (PyTorch changes the tensor in place and keeps a version counter to refuse a
          backward through values that changed; gradcourse has no version counter, so it neither
          changes a recorded tensor nor notices if you change one's `.data` yourself.)
        """
        if _grad_enabled and (self.requires_grad or isinstance(other, Tensor) and other.requires_grad):
            if self.requires_grad and self._backward is None:
                raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                                   f"('{symbol}'), as in PyTorch: update parameters inside `with gc.no_grad():`, "
                                   f"or write `w = w {symbol[0]} ...` for a new tensor")
            return operation(self, other)
        values = other if type(other) in _NUMBER_TYPES else _checked_array(other, "other", symbol)
        if np.shape(values) != self.shape:
            _check_broadcasts_into(self.shape, np.shape(values), symbol)
        ufunc(self.data, values, out=self.data)
        return self

    # ----- comparisons: elementwise, giving a BoolTensor (no graph), as in PyTorch -----------------
    __hash__ = object.__hash__  # (by identity, as PyTorch's: == no longer is)

    def eq(self, other):
        """self == other elementwise (with broadcasting), a BoolTensor, as `torch.eq`."""
        return _comparison(self, other, np.equal, "==")

    def ne(self, other):
        """self != other elementwise, as `torch.ne`."""
        return _comparison(self, other, np.not_equal, "!=")

    def lt(self, other):
        """self < other elementwise, as `torch.lt`."""
        return _comparison(self, other, np.less, "<")

    def le(self, other):
        """self <= other elementwise, as `torch.le`."""
        return _comparison(self, other, np.less_equal, "<=")

    def gt(self, other):
        """self > other elementwise, as `torch.gt`."""
        return _comparison(self, other, np.greater, ">")

    def ge(self, other):
        """self >= other elementwise, as `torch.ge`."""
        return _comparison(self, other, np.greater_equal, ">=")

    # A value that is not numbers (None, a string, a Module) is never equal to a tensor, and cannot be
    # ordered with one (Python's TypeError), as in PyTorch. `bool(t == u)` of several elements is a
    # RuntimeError, so `x in list_of_tensors` is safe only by identity: compare tensors with `is`.
    def __eq__(self, other):
        return self.eq(other) if _is_numeric_operand(other) else NotImplemented

    def __ne__(self, other):
        return self.ne(other) if _is_numeric_operand(other) else NotImplemented

    def __lt__(self, other):
        return self.lt(other) if _is_numeric_operand(other) else NotImplemented

    def __le__(self, other):
        return self.le(other) if _is_numeric_operand(other) else NotImplemented

    def __gt__(self, other):
        return self.gt(other) if _is_numeric_operand(other) else NotImplemented

    def __ge__(self, other):
        return self.ge(other) if _is_numeric_operand(other) else NotImplemented

    def __getitem__(self, index):
        """self[index] with numpy's rules: ints, slices, None, ..., bool masks, integer arrays.

        Index tensors: one that `gc.tensor` made from bools is a bool mask (like torch.bool); any
        other Tensor holds float64 (gradcourse's only kind), and is read as integer positions if
        every value is a whole number, an IndexError otherwise. A float ndarray is an IndexError,
        as in numpy. Backward: each picked entry receives its gradient; an integer index that
        repeats an entry adds up the gradients of all its occurrences.
        """
        index = _numpy_index(index)
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(_index_error_message(index, self.shape, error)) from None

        def backward(g):  # scatter the gradient back to where the entries came from
            full = np.zeros_like(self.data)
            if _picks_each_entry_once(index):
                full[index] = g
            else:  # integer arrays may repeat an index: each occurrence adds its gradient
                np.add.at(full, index, g)
            return (full,)
        return record_op(np.array(out, dtype=np.float64), (self,), backward, "index")

    # ----- reductions --------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """The sum over `axis` (None: all; an int or a tuple of distinct ints), as `torch.sum(dim=)`."""
        if axis is not None:
            axis = _reduction_axes(axis, self.ndim, "sum")
        if type(keepdims) is not bool:
            keepdims = validation.boolean("keepdims", keepdims, "sum")
        out = np.sum(self.data, axis=axis, keepdims=keepdims)

        def backward(g):  # every summed entry receives the gradient of the sum
            return (np.broadcast_to(_restore_reduced_axes(g, axis, keepdims, self.ndim), self.shape),)
        return record_op(out, (self,), backward, "sum")

    def mean(self, axis=None, keepdims=False):
        """The mean over `axis` (as `sum`); the mean of no elements is nan, as in PyTorch."""
        if axis is not None:
            axis = _reduction_axes(axis, self.ndim, "mean")
        if type(keepdims) is not bool:
            keepdims = validation.boolean("keepdims", keepdims, "mean")
        out = np.mean(self.data, axis=axis, keepdims=keepdims)
        count = self.data.size if axis is None else math.prod(self.shape[a] for a in np.atleast_1d(axis))

        def backward(g):  # each of the `count` averaged entries receives g / count
            return (np.broadcast_to(_restore_reduced_axes(g / count, axis, keepdims, self.ndim), self.shape),)
        return record_op(out, (self,), backward, "mean")

    def max(self, axis=None, keepdims=False):
        """The maximum over `axis` (as `sum`), like `torch.amax`; over no elements it is an error.

        Backward: the gradient goes to the maximum, and ties share it equally; a NaN is the
        maximum of its slice and receives the gradient, as in PyTorch.
        """
        if axis is not None:
            axis = _reduction_axes(axis, self.ndim, "max")
        if type(keepdims) is not bool:
            keepdims = validation.boolean("keepdims", keepdims, "max")
        if self.data.size == 0:
            _check_max_not_empty(self.shape, axis)
        out = np.max(self.data, axis=axis, keepdims=keepdims)

        def backward(g):
            is_max = (self.data == _restore_reduced_axes(out, axis, keepdims, self.ndim)) | np.isnan(self.data)
            share = is_max / is_max.sum(axis=axis, keepdims=True)
            return (share * _restore_reduced_axes(g, axis, keepdims, self.ndim),)
        return record_op(out, (self,), backward, "max")

    # ----- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same entries in a new shape: integers, one of which may be -1 (inferred), as in PyTorch."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        _check_new_shape(shape)
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {self.shape} ({self.size} elements) "
                             f"into shape {shape}") from None
        return record_op(out, (self,), lambda g: (g.reshape(self.shape),), "reshape")

    def transpose(self, *dims):
        """`transpose(dim0, dim1)`: the two axes swapped, as `torch.transpose` (negative dims count from the end).

        With no argument, every axis reversed, as numpy's `.transpose()` and `.T` (PyTorch requires the
        two dims). Any other call is a TypeError: a full permutation of the axes is `permute(*dims)`.
        """
        if not dims:
            return self._permuted(tuple(reversed(range(self.ndim))), "transpose")
        if len(dims) != 2:
            raise TypeError(f"transpose(dim0, dim1) swaps two axes, as in PyTorch, got {validation.show(dims)}; "
                            f"for a permutation of all the axes use permute(*dims), e.g. x.permute(2, 0, 1)")
        span = max(self.ndim, 1)  # (a 0-d tensor accepts the dims 0 and -1, as in PyTorch)
        d0, d1 = (_dim(d, span, "transpose", name) for d, name in zip(dims, ("dim0", "dim1")))
        if self.ndim == 0:
            return record_op(self.data.view(), (self,), lambda g: (g,), "transpose")
        return record_op(self.data.swapaxes(d0, d1), (self,), lambda g: (g.swapaxes(d0, d1),), "transpose")

    def permute(self, *dims):
        """The axes reordered, as `torch.permute`: axis i of the result is axis dims[i] of self.

        `dims` names every axis once (negative dims count from the end), as separate integers or one
        tuple or list; otherwise a ShapeError. Backward applies the inverse permutation.
        """
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return self._permuted(_permutation(dims, self.ndim), "permute")

    def _permuted(self, dims, op):
        inverse = tuple(np.argsort(dims))  # backward undoes the permutation
        return record_op(self.data.transpose(dims), (self,), lambda g: (g.transpose(inverse),), op)

    # ----- elementwise functions -----------------------------------------------------------
    def exp(self):
        out = np.exp(self.data)
        return record_op(out, (self,), lambda g: (g * out,), "exp")  # d e^x = e^x

    def log(self):
        return record_op(np.log(self.data), (self,), lambda g: (g / self.data,), "log")  # d log x = 1/x

    def sqrt(self):
        out = np.sqrt(self.data)
        return record_op(out, (self,), lambda g: (g * 0.5 / out,), "sqrt")  # d sqrt(x) = 1/(2 sqrt(x))

    def tanh(self):
        return self._activation("tanh")  # d tanh = 1 - tanh^2

    def sigmoid(self):
        return self._activation("sigmoid")  # d sigma = sigma (1 - sigma)

    def relu(self):
        return self._activation("relu")  # d relu = 1 where x > 0

    def _activation(self, name):
        """act(x) for an activation of `ACTIVATIONS_FROM_OUTPUT`, whose backward needs only its output."""
        act, act_backward = ACTIVATIONS_FROM_OUTPUT[name]
        out = act(self.data)
        return record_op(out, (self,), lambda g: (act_backward(g, out),), name)


class BoolTensor(Tensor):
    """A tensor that `gc.tensor` made from bools (PyTorch's torch.bool): its data is 0. and 1.

    It computes like any tensor, and its results are ordinary tensors; only as an index does it
    differ, selecting like a numpy bool mask instead of picking the positions 0 and 1. Comparisons
    (`x > 0`, `x.eq(y)`) give one, so `x[x > 0]` selects as in PyTorch.
    """

    __slots__ = ()

    def __repr__(self):
        """tensor([True, False]), as PyTorch prints a torch.bool tensor."""
        body = np.array2string(self.data != 0, separator=", ", prefix="tensor(")
        return f"tensor({body}{', requires_grad=True' if self.requires_grad else ''})"


# ----- building blocks shared by every operation ---------------------------------------------
def _set_fields(t, data, requires_grad, parents, backward, op):
    """The one place where a Tensor's fields are set (for the constructor and for `record_op`)."""
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._parents = parents
    t._backward = backward
    t._op = op
    t._order = next(_creation_order)
    t._hooks = None
    t._retains_grad = False
    return t


def _checked_array(data, name="data", where="tensor"):
    """`data` as a float64 array (not copied if it is one already): bools become 0. and 1.

    Like PyTorch, refuses None, strings, complex numbers and other objects (TypeError), and
    ragged nested lists (ValueError), instead of turning them into NaN or dropping a part
    (`validation.real_array`).
    """
    if isinstance(data, Tensor):
        return data.data
    return validation.real_array(name, data, where)


def _to_float_array(data, name="data", where="tensor"):
    """A new float64 array holding `data` (bools become 0. and 1.)."""
    array = _checked_array(data, name, where)
    return array if type(data) in _FRESH_KINDS else array.copy()


_FRESH_KINDS = (list, tuple, float, int)  # numpy builds a new array from these: no copy needed


_NUMBER_TYPES = (float, int)  # a Python number as an operand is a constant (a bool is not a number)


def _stable_sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x) = exp(-log(1 + e^-x)): no overflow for |x| in the thousands."""
    return np.exp(-np.logaddexp(0.0, -x))


# Activations whose derivative can be written from their output y = act(z) alone, each as
# {name: (act(z), backward(g, y) = g * act'(z))}. Tensor.tanh, .sigmoid and .relu compute with them,
# and `functional.linear_activation` fuses them with a linear map: the one list of both (also of
# the activations that the diagnostics measure).
ACTIVATIONS_FROM_OUTPUT = {
    "tanh": (np.tanh, lambda g, y: g * (1.0 - y * y)),                 # tanh' = 1 - tanh^2
    "sigmoid": (_stable_sigmoid, lambda g, y: g * y * (1.0 - y)),      # sigma' = sigma (1 - sigma)
    "relu": (lambda z: np.maximum(z, 0.0), lambda g, y: g * (y > 0)),  # relu' = 1 where z > 0
}


def _numpy_index(index):
    """`index` with every Tensor or list in it made into the numpy index it stands for."""
    if isinstance(index, tuple):
        return tuple(_numpy_index_part(part) for part in index)
    return _numpy_index_part(index)


def _numpy_index_part(part):
    if isinstance(part, BoolTensor):
        return part.data != 0
    if isinstance(part, Tensor):
        whole = np.isfinite(part.data) & (part.data == np.round(part.data))
        validation.require(np.all(whole), "index", part, "a Tensor of whole numbers (integer positions) "
                           "or one made from bools", "getitem", IndexError)
        return part.data.astype(np.intp)
    if isinstance(part, list):
        part = np.asarray(part)
    if isinstance(part, np.ndarray) and part.dtype.kind not in "biu":
        validation.fail("index", part, "an array of integers or bools, as in numpy", "getitem", IndexError)
    return part


def _picks_each_entry_once(index):
    """True unless `index` holds an integer array, which may pick an entry more than once."""
    parts = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(part, np.ndarray) and part.dtype.kind in "iu" for part in parts)


def as_tensor(value, name="value", where="as_tensor"):
    """`value` itself if it is a Tensor, otherwise a constant Tensor holding it.

    `name` and `where` name the caller's argument in the error for a value that is not numbers.
    """
    if isinstance(value, Tensor):
        return value
    return _set_fields(Tensor.__new__(Tensor), _to_float_array(value, name, where), False, (), None, None)


def _constant(array):
    """A constant Tensor around `array` (not copied)."""
    return _set_fields(Tensor.__new__(Tensor), array, False, (), None, None)


def tensor(data, requires_grad=False):
    """Create a leaf tensor (like `torch.tensor`): the data is copied and converted to float64.

    Bools become 0. and 1. in a `BoolTensor`, which indexes as a bool mask. None, strings,
    complex numbers and other objects are a TypeError, as in PyTorch.
    """
    requires_grad = validation.boolean("requires_grad", requires_grad, "tensor")
    array = _to_float_array(data)
    kind = BoolTensor if not isinstance(data, Tensor) and np.asarray(data).dtype == np.bool_ else Tensor
    return _set_fields(kind.__new__(kind), array, requires_grad, (), None, None)


def record_op(data, parents, backward, op=None):
    """Wrap an operation's result; remember `parents`, `backward` and `op` if a gradient is needed.

    `backward(g)` receives dL/d(result) and returns one gradient per parent, in order (or None
    for a parent that needs none). `op` names the operation in the graph (e.g. "matmul", read by
    `experiments.computation_graph`); it defaults to the name of the function calling record_op.
    """
    if type(data) is not np.ndarray:
        data = np.asarray(data)  # numpy gives 0-d results as scalars
    if _grad_enabled:
        for parent in parents:  # (a plain loop: this runs for every operation, so it is kept lean)
            if parent.requires_grad:
                return _set_fields(Tensor.__new__(Tensor), data, True, parents, backward,
                                   op or sys._getframe(1).f_code.co_name)
    return _set_fields(Tensor.__new__(Tensor), data, False, (), None, None)


def _comparison(a, b, ufunc, symbol):
    """ufunc(a, b) as a BoolTensor (data 0. and 1.), recording no graph: comparisons have no gradient."""
    b = as_tensor(b, "other", symbol)
    result = _broadcasting(symbol, ufunc, a, b).astype(np.float64)
    return _set_fields(BoolTensor.__new__(BoolTensor), result, False, (), None, None)


def _is_numeric_operand(value):
    """True for what a comparison compares elementwise; anything else gets NotImplemented (so == is False)."""
    return isinstance(value, (Tensor, np.ndarray, np.number, np.bool_, int, float, list, tuple))


def _check_broadcasts_into(shape, other_shape, symbol):
    """A ShapeError unless an operand of `other_shape` broadcasts into `shape` (an in-place operation)."""
    try:
        fits = np.broadcast_shapes(shape, other_shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"'{symbol}' in place: output with shape {shape} doesn't match the broadcast shape "
                         f"of it and the other operand's shape {other_shape}, as in PyTorch; the tensor "
                         f"changed in place keeps its shape")


def _broadcasting(symbol, ufunc, a, b):
    try:
        return ufunc(a.data, b.data)
    except ValueError:
        raise ShapeError(f"shapes {a.shape} and {b.shape} cannot be broadcast together for '{symbol}'") from None


# ----- axes and shapes, checked as PyTorch checks them -----------------------------------------
def _dim(axis, ndim, where, name="axis"):
    """`axis` as an index in [0, ndim); it must be an integer in [-ndim, ndim).

    A TypeError for a non-integer (a bool too); for one out of range, numpy's AxisError, which is
    an IndexError (as PyTorch's "Dimension out of range") and a ValueError.
    """
    validation.require(validation.is_integer(axis), name, axis, "an integer (or a tuple of them)", where, TypeError)
    if not -ndim <= axis < ndim:
        span = f"in [{-ndim}, {ndim - 1}]" if ndim else "absent (the tensor has no axis)"
        raise np.exceptions.AxisError(f"{where}: axis {axis} is out of range for a {ndim}-D tensor: {name} must "
                                      f"be {span} (dimension out of range)")
    return int(axis) % ndim


def _reduction_axes(axis, ndim, where):
    """A reduction's `axis` as None (every axis) or a tuple of distinct axes in [0, ndim).

    As in PyTorch: a list or tuple may name several axes but each once (a ShapeError
    otherwise), an empty one means every axis, and a 0-d tensor accepts the axis 0 or -1.
    """
    several = isinstance(axis, (tuple, list))
    axes = tuple(_dim(a, max(ndim, 1), where) for a in (axis if several else (axis,)))
    if len(set(axes)) != len(axes):
        validation.fail("axis", axis, "distinct dimensions (each named once)", where, ShapeError)
    return axes if axes and ndim else None


def _check_max_not_empty(shape, axis):
    """A ShapeError if max would run over no element (it has no value there), as in PyTorch."""
    if axis is None:
        raise ShapeError(f"max: the tensor of shape {shape} is empty (no elements), so it has no maximum")
    for a in axis:
        if shape[a] == 0:
            raise ShapeError(f"max: axis {a} of the tensor of shape {shape} is empty (size 0), so there is "
                             f"no maximum along it")


def _check_new_shape(shape):
    """reshape's `shape`: integers (a TypeError otherwise), each >= 0 except one -1 at most."""
    for n in shape:
        if not validation.is_integer(n):
            validation.fail("shape", shape, "integers (one of them may be -1)", "reshape", TypeError)
    if any(n < -1 for n in shape) or sum(n == -1 for n in shape) > 1:
        validation.fail("shape", shape, "sizes >= 0, with at most one -1 (the one size inferred)", "reshape",
                        ShapeError)


def _permutation(dims, ndim):
    """permute's `dims` as a tuple naming each of the ndim axes once (as torch.permute's)."""
    dims = tuple(_dim(d, ndim, "permute", "dims") for d in dims)
    if sorted(dims) != list(range(ndim)):
        validation.fail("dims", dims, f"a permutation of the {ndim} axes (each axis once)", "permute", ShapeError)
    return dims


def _index_error_message(index, shape, error):
    """numpy's IndexError said in the tensor's terms."""
    text, shown = str(error), validation.show(index)
    if "out of bounds" in text:
        return f"getitem: index {shown} is out of range for a tensor of shape {shape}"
    if "too many indices" in text:
        return f"getitem: index {shown} has too many indices for a {len(shape)}-D tensor of shape {shape}"
    if "only integers" in text:
        return (f"getitem: index must be an integer, a slice, None, ..., or an array of integers or bools, "
                f"as in numpy, got {shown}")
    return f"getitem: index {shown} does not fit a tensor of shape {shape}: {text}"


def _unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, giving it `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True).reshape(shape)


def _restore_reduced_axes(value, axis, keepdims, ndim):
    """Put back (as size 1) the axes a reduction removed, so `value` broadcasts to the input."""
    if keepdims or axis is None and np.ndim(value) == ndim:
        return value
    if axis is None:
        return np.reshape(value, (1,) * ndim)
    axes = sorted(a % ndim for a in np.atleast_1d(axis))
    return np.expand_dims(value, axes)


def matmul(a, b):
    """a @ b with numpy's rules (1-D operands and batched stacks included).

    Operands that do not fit are a `ShapeError` (a RuntimeError, as in PyTorch, and a ValueError).
    """
    a, b = as_tensor(a, "a", "matmul"), as_tensor(b, "b", "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}; use * for scalars")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ShapeError(f"matmul shape mismatch: {a.shape} @ {b.shape}; the last axis of the left "
                         f"operand ({inner_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} "
                         f"axis of the right one ({inner_b})")
    try:
        out = a.data @ b.data
    except ValueError:
        raise ShapeError(f"matmul: batch shapes of {a.shape} and {b.shape} cannot be broadcast") from None
    if a.ndim == 2 and b.ndim == 2:
        def backward(g):  # dL/dA = G B^T, dL/dB = A^T G
            return (g @ b.data.T if a.requires_grad else None,
                    a.data.T @ g if b.requires_grad else None)
    else:
        def backward(g):
            return _matmul_backward_general(a.data, b.data, g)
    return record_op(out, (a, b), backward, "matmul")


def _matmul_backward_general(A, B, g):
    """Matmul's backward for 1-D and batched operands: promote to matrices, then undo."""
    A2 = A[np.newaxis, :] if A.ndim == 1 else A
    B2 = B[:, np.newaxis] if B.ndim == 1 else B
    G = g
    if B.ndim == 1:  # (first, so that a 0-d g from vector @ vector becomes (1,) and then (1, 1))
        G = np.expand_dims(G, -1)
    if A.ndim == 1:
        G = np.expand_dims(G, -2)
    grad_a = _unbroadcast(G @ np.swapaxes(B2, -1, -2), A2.shape).reshape(A.shape)
    grad_b = _unbroadcast(np.swapaxes(A2, -1, -2) @ G, B2.shape).reshape(B.shape)
    return grad_a, grad_b


def _run_backward(root, grad, retain_graph):
    """Propagate `grad` from `root` to the leaves, in reverse creation order, freeing the graph.

    `pending` holds the gradient summed so far for each node waiting its turn. A node runs only
    after every node that used it: the most recently created waiting node always goes next (a
    result is created after its inputs), found with a heap. In a chain, the next node is the
    parent just reached, so it goes straight on without passing through the heap. Once a node
    has passed its gradient on, nothing needs its backward or its inputs again, unless
    `retain_graph`: both are dropped.
    """
    pending = {root._order: grad}
    heap = []
    node = root
    while node is not None:
        g = pending.pop(node._order)
        if node._hooks:
            g = _apply_hooks(node, g)
        reached = None
        if node._backward is None:  # a leaf with hooks, or the root itself
            _accumulate_leaf(node, g, g)
        else:
            reached = _send_to_parents(node, g, pending, heap)
            if node._retains_grad:
                node.grad = np.array(g) if node.grad is None else np.asarray(node.grad + g)
            if not retain_graph:
                node._parents = ()
                node._backward = _freed_graph
        if reached is not None and (not heap or reached._order > -heap[0][0]):
            node = reached
        else:
            if reached is not None:
                heapq.heappush(heap, (-reached._order, reached))
            node = heapq.heappop(heap)[1] if heap else None


def _send_to_parents(node, g, pending, heap):
    """Hand each parent its share of the gradient: leaves store it, other nodes wait for it.

    Returns one newly reached node (the latest created) without queueing it; the rest are queued.
    """
    reached = None
    for parent, parent_grad in zip(node._parents, node._backward(g)):
        if parent_grad is None or not parent.requires_grad:
            continue
        if parent._backward is None and not parent._hooks:  # a leaf: store it, no need to queue
            if parent.grad is None and type(parent_grad) is np.ndarray and parent_grad.base is None \
                    and parent_grad is not g:
                parent.grad = parent_grad  # (_accumulate_leaf's common case, inlined: it is hot)
            else:
                _accumulate_leaf(parent, parent_grad, g)
            continue
        key = parent._order
        queued = pending.get(key)
        if queued is not None:
            pending[key] = queued + parent_grad
            continue
        pending[key] = parent_grad
        if reached is None:
            reached = parent
        elif key > reached._order:
            heapq.heappush(heap, (-reached._order, reached))
            reached = parent
        else:
            heapq.heappush(heap, (-key, parent))
    return reached


def _freed_graph(g):
    """The backward of a node whose graph an earlier backward() freed: always an error."""
    raise RuntimeError("Trying to backward through the graph a second time: backward() frees the graph it "
                       "walks, as PyTorch does. Specify retain_graph=True in the earlier backward() call if you "
                       "need to backward through the graph again.")


def graph_was_freed(t):
    """True if a backward() without retain_graph=True has freed the graph that made `t`."""
    validation.require(isinstance(t, Tensor), "t", t, "a Tensor", "graph_was_freed", TypeError)
    return t._backward is _freed_graph


def _apply_hooks(node, g):
    """Call each hook on `g`; a hook's return value, if not None, replaces it (same shape only, as in PyTorch)."""
    for hook in list(node._hooks.values()):
        replaced = hook(g)
        if replaced is not None:
            replaced = _hook_gradient(hook, replaced)
            if replaced.shape != np.shape(g):
                raise RuntimeError(f"hook {getattr(hook, '__qualname__', repr(hook))!r} returned a gradient of shape "
                                   f"{replaced.shape}, but the gradient it replaces has shape {np.shape(g)}; "
                                   f"a hook may change the values of a gradient, not its shape")
            g = replaced
    return g


def _hook_gradient(hook, replaced):
    """A hook's return value as a float array; a TypeError naming the hook for anything but numbers."""
    array = np.asarray(replaced.data if isinstance(replaced, Tensor) else replaced)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"backward: hook {getattr(hook, '__qualname__', repr(hook))!r} must return None or a "
                        f"gradient (a Tensor or an array of numbers), got {validation.show(replaced)}")
    return array.astype(np.float64)


def _accumulate_leaf(leaf, g, upstream):
    """Add `g` into `leaf.grad`, as PyTorch does across backward() calls.

    A leaf must own its `.grad`, since an optimiser or clipping may change it in place: a view
    of another array, or the very array `upstream` that was also handed to a sibling, is copied.
    """
    if g is upstream or type(g) is not np.ndarray or g.base is not None:
        g = np.array(g)
    leaf.grad = g if leaf.grad is None else np.asarray(leaf.grad + g)  # (0-d + 0-d gives a numpy scalar)


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when autograd and finite differences disagree."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Compare autograd's gradients of `fn(*inputs)` with central finite differences.

    For a non-scalar output, both sides are contracted with the same random cotangent v, so
    what is checked is the vector-Jacobian product v^T J that `backward` computes:
        numeric_i = (f(x + eps e_i) - f(x - eps e_i)) . v / (2 eps).
    Raises `GradcheckError` naming the input and its worst entry; returns True otherwise.
    """
    validation.require(callable(fn), "fn", fn, "a function of the inputs returning a Tensor", "gradcheck",
                       TypeError)
    eps = validation.positive("eps", eps, "gradcheck")
    atol = validation.non_negative("atol", atol, "gradcheck")
    rtol = validation.non_negative("rtol", rtol, "gradcheck")
    seed = validation.non_negative_int("seed", seed, "gradcheck")
    inputs = [as_tensor(x, f"inputs[{i}]", "gradcheck") for i, x in enumerate(inputs)]
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        validation.fail("inputs", [x.shape for x in inputs], "tensors of which at least one has requires_grad=True "
                        "(else there is nothing to check)", "gradcheck")
    output = fn(*inputs)
    validation.require(isinstance(output, Tensor), "fn", fn, f"a function returning a Tensor (it returned a "
                       f"{type(output).__name__}, which has no graph to check)", "gradcheck", TypeError)
    cotangent = np.random.default_rng(seed).standard_normal(output.shape)
    analytic = _gradients_leaving_grad_alone(output, cotangent, [inputs[i] for i in checked])
    for i, grad in zip(checked, analytic):
        numeric = _numeric_gradient(fn, inputs, i, cotangent, eps)
        _compare(i, inputs[i].shape, grad, numeric, atol, rtol)
    return True


def _gradients_leaving_grad_alone(output, cotangent, inputs):
    """The gradients of `output` (contracted with `cotangent`) for `inputs`, without touching any `.grad`.

    As PyTorch's gradcheck, which uses `torch.autograd.grad`: every leaf of the graph keeps the
    `.grad` it had before (the caller's accumulated gradients, a model's parameters).
    """
    leaves = _leaves(output)
    saved = [(leaf, leaf.grad) for leaf in leaves]
    try:
        for leaf in leaves:
            leaf.grad = None
        output.backward(cotangent)
        reached = {id(leaf) for leaf in leaves}
        return [x.grad if id(x) in reached and x.grad is not None else np.zeros(x.shape) for x in inputs]
    finally:
        for leaf, grad in saved:
            leaf.grad = grad


def graph_nodes(root):
    """Every tensor in the graph behind `root` (root included), each once, in no set order."""
    seen, stack = {id(root)}, [root]
    while stack:
        node = stack.pop()
        yield node
        for parent in node._parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)


def _leaves(root):
    """The leaves requiring grad that a backward() from `root` reaches."""
    return [node for node in graph_nodes(root) if node._backward is None and node.requires_grad]


def _numeric_gradient(fn, inputs, index, cotangent, eps):
    x = inputs[index].data
    numeric = np.zeros_like(x)
    with no_grad():
        for position in np.ndindex(x.shape):
            original = x[position]
            x[position] = original + eps
            plus = np.sum(fn(*inputs).data * cotangent)
            x[position] = original - eps
            minus = np.sum(fn(*inputs).data * cotangent)
            x[position] = original
            numeric[position] = (plus - minus) / (2 * eps)
    return numeric


def _compare(index, shape, analytic, numeric, atol, rtol):
    if np.shape(analytic) != shape:
        raise GradcheckError(f"gradcheck failed for input {index} (shape {shape}): autograd gives a gradient "
                             f"of shape {np.shape(analytic)}; a backward did not reduce it to its input's shape")
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.all(excess <= 0):
        return
    worst = np.unravel_index(np.argmax(excess), shape) if shape else ()
    raise GradcheckError(
        f"gradcheck failed for input {index} (shape {shape}): at index {tuple(int(w) for w in worst)} "
        f"autograd gives {analytic[worst]:.6g} but finite differences give {numeric[worst]:.6g}; "
        f"{int(np.sum(excess > 0))} of {analytic.size} entries are outside atol + rtol*|numeric|")
