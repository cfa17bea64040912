"""Reverse-mode automatic differentiation on numpy arrays.

A `Tensor` wraps a float64 array. Every operation on tensors records, next to its result, a small
`backward` function holding the local derivative: given the gradient of the loss with respect to
the result, it returns the gradients with respect to the operation's inputs (a vector-Jacobian
product). `Tensor.backward()` walks that record from the loss back to the leaves and adds up
what reaches each of them, exactly like PyTorch's `loss.backward()`.
"""
import contextlib
import ctypes
import heapq
import itertools
import sys

import numpy as np

_grad_enabled = True
_creation_order = itertools.count()


def _keep_freed_memory_for_reuse():
    """Ask glibc to keep freed memory for the next training step instead of returning it.

    Every step frees its graph's arrays and allocates the same sizes again. By default glibc
    hands memory above 128 KiB back to the OS at once, and the next step page-faults it back
    in: that alone made a 20-layer, width-64 step twice as slow. (Linux only; harmless elsewhere.)
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_TRIM_THRESHOLD, 512 * 2**20)
        libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
    except (OSError, AttributeError):
        pass


_keep_freed_memory_for_reuse()


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
    intermediate results keep their gradient only if you call `retain_grad()` on them.
    """

    __array_ufunc__ = None  # make `ndarray * Tensor` call Tensor.__rmul__ instead of numpy
    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_order", "_hooks",
                 "_retains_grad", "__weakref__")

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _to_float_array(data)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._order = next(_creation_order)
        self._hooks = None
        self._retains_grad = False

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
        return self.transpose()

    @property
    def is_leaf(self):
        return self._backward is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        suffix = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{suffix})"

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self):
        """The underlying array (shared, not copied, as in PyTorch)."""
        return self.data

    def detach(self):
        """A tensor sharing this one's data but cut off from the graph."""
        return record_op(self.data, (), None)  # (Tensor(...) would copy the data)

    # ----- hooks -------------------------------------------------------------------------
    def register_hook(self, hook):
        """Call `hook(grad)` whenever the gradient with respect to this tensor is computed.

        A hook may return a new gradient to use instead. Returns a handle with `.remove()`.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
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
        """Accumulate d(self)/d(leaf) * grad into every leaf's `.grad`.

        Nodes are visited in reverse creation order, which is a topological order (a result is
        always created after its inputs), using a heap instead of recursion, so chains of any
        length work. `grad` defaults to 1 and is required when `self` is not a scalar.
        """
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
            grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad): grad has shape {grad.shape} but the tensor has shape {self.shape}")
        _run_backward(self, grad)

    # ----- arithmetic --------------------------------------------------------------------
    def __add__(self, other):
        other = as_tensor(other)
        out = _broadcasting("+", np.add, self, other)

        def backward(g):  # d(a+b)/da = d(a+b)/db = 1
            return _unbroadcast(g, self.shape), _unbroadcast(g, other.shape)
        return record_op(out, (self, other), backward)

    def __sub__(self, other):
        other = as_tensor(other)
        out = _broadcasting("-", np.subtract, self, other)

        def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
            return _unbroadcast(g, self.shape), _unbroadcast(-g, other.shape)
        return record_op(out, (self, other), backward)

    def __mul__(self, other):
        other = as_tensor(other)
        out = _broadcasting("*", np.multiply, self, other)

        def backward(g):  # d(ab)/da = b, d(ab)/db = a
            return _unbroadcast(g * other.data, self.shape), _unbroadcast(g * self.data, other.shape)
        return record_op(out, (self, other), backward)

    def __truediv__(self, other):
        other = as_tensor(other)
        out = _broadcasting("/", np.divide, self, other)

        def backward(g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            return (_unbroadcast(g / other.data, self.shape),
                    _unbroadcast(-g * out / other.data, other.shape))
        return record_op(out, (self, other), backward)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("x ** p supports a number p only; for a tensor exponent use (p * x.log()).exp()")
        p = float(exponent)
        out = self.data ** p

        def backward(g):  # d(x^p)/dx = p x^(p-1); for p = 0 it is 0 everywhere (0 * 0^-1 would give nan)
            return (g * p * self.data ** (p - 1) if p != 0 else np.zeros_like(self.data),)
        return record_op(out, (self,), backward)

    def __neg__(self):
        return record_op(-self.data, (self,), lambda g: (-g,))

    def __radd__(self, other):
        return as_tensor(other) + self

    def __rsub__(self, other):
        return as_tensor(other) - self

    def __rmul__(self, other):
        return as_tensor(other) * self

    def __rtruediv__(self, other):
        return as_tensor(other) / self

    def __matmul__(self, other):
        return matmul(self, as_tensor(other))

    def __rmatmul__(self, other):
        return matmul(as_tensor(other), self)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        out = self.data[index]

        def backward(g):  # scatter the gradient back to where the entries came from
            full = np.zeros_like(self.data)
            if _is_basic_index(index):
                full[index] = g
            else:  # integer arrays may repeat an index: each occurrence adds its gradient
                np.add.at(full, index, g)
            return (full,)
        return record_op(np.array(out, dtype=np.float64), (self,), backward)

    # ----- reductions --------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        out = np.sum(self.data, axis=axis, keepdims=keepdims)

        def backward(g):  # every summed entry receives the gradient of the sum
            return (np.broadcast_to(_restore_reduced_axes(g, axis, keepdims, self.ndim), self.shape),)
        return record_op(np.asarray(out), (self,), backward)

    def mean(self, axis=None, keepdims=False):
        count = self.data.size if axis is None else np.prod([self.shape[a] for a in np.atleast_1d(axis)])
        return self.sum(axis=axis, keepdims=keepdims) / float(count)

    def max(self, axis=None, keepdims=False):
        out = np.max(self.data, axis=axis, keepdims=keepdims)

        def backward(g):  # the gradient goes to the maximum; ties share it equally
            is_max = self.data == _restore_reduced_axes(out, axis, keepdims, self.ndim)
            share = is_max / is_max.sum(axis=axis, keepdims=True)
            return (share * _restore_reduced_axes(g, axis, keepdims, self.ndim),)
        return record_op(np.asarray(out), (self,), backward)

    # ----- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} ({self.size} elements) "
                             f"into shape {shape}") from None
        return record_op(out, (self,), lambda g: (g.reshape(self.shape),))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))
        return record_op(self.data.transpose(axes), (self,), lambda g: (g.transpose(inverse),))

    # ----- elementwise functions -----------------------------------------------------------
    def exp(self):
        out = np.exp(self.data)
        return record_op(out, (self,), lambda g: (g * out,))  # d e^x = e^x

    def log(self):
        return record_op(np.log(self.data), (self,), lambda g: (g / self.data,))  # d log x = 1/x

    def sqrt(self):
        out = np.sqrt(self.data)
        return record_op(out, (self,), lambda g: (g * 0.5 / out,))  # d sqrt(x) = 1/(2 sqrt(x))

    def tanh(self):
        out = np.tanh(self.data)
        return record_op(out, (self,), lambda g: (g * (1.0 - out * out),))  # d tanh = 1 - tanh^2

    def sigmoid(self):
        out = _stable_sigmoid(self.data)
        return record_op(out, (self,), lambda g: (g * out * (1.0 - out),))  # d sigma = sigma(1 - sigma)

    def relu(self):
        out = np.maximum(self.data, 0.0)
        return record_op(out, (self,), lambda g: (g * (self.data > 0),))  # d relu = 1 where x > 0


# ----- building blocks shared by every operation ---------------------------------------------
def _to_float_array(data):
    array = np.array(data, dtype=np.float64)
    if array.dtype == object:
        raise TypeError(f"cannot make a tensor from {type(data).__name__}")
    return array


def _stable_sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x) = exp(-log(1 + e^-x)): no overflow for |x| in the thousands."""
    return np.exp(-np.logaddexp(0.0, -x))


def _is_basic_index(index):
    """True for ints, slices, None and Ellipsis (no entry can be picked twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice)) for part in parts)


def as_tensor(value):
    """`value` itself if it is a Tensor, otherwise a constant Tensor holding it."""
    return value if isinstance(value, Tensor) else Tensor(value)


def tensor(data, requires_grad=False):
    """Create a leaf tensor (like `torch.tensor`): the data is copied and converted to float64."""
    return Tensor(data, requires_grad=requires_grad)


def record_op(data, parents, backward):
    """Wrap an operation's result; remember `parents` and `backward` if a gradient is needed.

    `backward(g)` receives dL/d(result) and returns one gradient per parent, in order.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)  # numpy gives 0-d results as scalars
    out.grad = None
    out._order = next(_creation_order)
    out._hooks = None
    out._retains_grad = False
    out.requires_grad, out._parents, out._backward = False, (), None
    if _grad_enabled:
        for parent in parents:  # (a plain loop: this runs for every operation, so it is kept lean)
            if parent.requires_grad:
                out.requires_grad, out._parents, out._backward = True, parents, backward
                break
    return out


def _broadcasting(symbol, ufunc, a, b):
    try:
        return ufunc(a.data, b.data)
    except ValueError:
        raise ValueError(f"shapes {a.shape} and {b.shape} cannot be broadcast together for '{symbol}'") from None


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
    """a @ b with numpy's rules (1-D operands and batched stacks included)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}; use * for scalars")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape}; the last axis of the left "
                         f"operand ({inner_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} "
                         f"axis of the right one ({inner_b})")
    try:
        out = a.data @ b.data
    except ValueError:
        raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} cannot be broadcast") from None
    if a.ndim == 2 and b.ndim == 2:
        def backward(g):  # dL/dA = G B^T, dL/dB = A^T G
            return (g @ b.data.T if a.requires_grad else None,
                    a.data.T @ g if b.requires_grad else None)
    else:
        def backward(g):
            return _matmul_backward_general(a.data, b.data, g)
    return record_op(out, (a, b), backward)


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


def _run_backward(root, grad):
    """Propagate `grad` from `root` to the leaves, in reverse creation order.

    `pending` holds the gradient summed so far for each node waiting its turn. A node runs only
    after every node that used it: the most recently created waiting node always goes next (a
    result is created after its inputs), found with a heap. In a chain, the next node is the
    parent just reached, so it goes straight on without passing through the heap.
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
            if node._retains_grad:
                node.grad = np.array(g) if node.grad is None else np.asarray(node.grad + g)
            reached = _send_to_parents(node, g, pending, heap)
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


def _apply_hooks(node, g):
    for hook in list(node._hooks.values()):
        replaced = hook(g)
        if replaced is not None:
            g = np.asarray(replaced.data if isinstance(replaced, Tensor) else replaced, dtype=np.float64)
    return g


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
    inputs = [as_tensor(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for x in inputs:
        x.grad = None
    output = fn(*inputs)
    cotangent = np.random.default_rng(seed).standard_normal(output.shape)
    output.backward(cotangent)
    for i in checked:
        analytic = inputs[i].grad if inputs[i].grad is not None else np.zeros(inputs[i].shape)
        numeric = _numeric_gradient(fn, inputs, i, cotangent, eps)
        _compare(i, inputs[i].shape, analytic, numeric, atol, rtol)
    return True


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
