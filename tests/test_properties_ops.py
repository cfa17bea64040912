"""Property tests: the autograd's operations against PyTorch float64, values and gradients.

Hypothesis draws shapes (broadcasting, size-1 axes and 0-d tensors included) and values; each
test runs one computation in both libraries on the same arrays, then compares the results and
the gradients of sum(result * v), v a random cotangent, with respect to every input.
Profiles ("ci", fixed and small; "dev", more) are in tests/conftest.py.
"""
import operator

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import gradcourse as gc

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-12, 1e-14


def values(shape, low=-3.0, high=3.0):
    """Arrays of `shape` with float64 entries in [low, high] (hypothesis favours 0, repeats and the ends)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def assert_close(ours, theirs, what, rtol=RTOL, atol=ATOL):
    theirs = theirs.detach().numpy()
    assert np.shape(ours) == theirs.shape, f"{what}: shape {np.shape(ours)}, PyTorch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def check_against_torch(our_fn, torch_fn, *arrays, rtol=RTOL, atol=ATOL):
    """our_fn(*gradcourse leaves) against torch_fn(*torch leaves): the result, then each input's gradient."""
    ours = [gc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = our_fn(*ours), torch_fn(*theirs)
    assert_close(out.data, ref, "value", rtol, atol)
    cotangent = np.random.default_rng(out.size).standard_normal(out.shape)
    out.backward(cotangent)
    ref.backward(torch.tensor(cotangent, dtype=torch.float64))
    for i, (leaf, torch_leaf) in enumerate(zip(ours, theirs)):
        assert_close(leaf.grad, torch_leaf.grad, f"gradient of input {i}", rtol, atol)


# ----- elementwise ---------------------------------------------------------------------------
# name -> (the operation, the range of the second operand: the divisor stays away from 0)
BINARY = {"+": (operator.add, (-3, 3)), "-": (operator.sub, (-3, 3)), "*": (operator.mul, (-3, 3)),
          "/": (operator.truediv, (0.5, 3))}


@pytest.mark.parametrize("symbol", BINARY)
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_binary_op_broadcasts_like_torch(symbol, data, shapes):
    op, (low, high) = BINARY[symbol]
    a = data.draw(values(shapes.input_shapes[0]), label="a")
    b = data.draw(values(shapes.input_shapes[1], low, high), label="b")
    if symbol == "/" and data.draw(st.booleans(), label="negative divisor"):
        b = -b
    check_against_torch(op, op, a, b)


@pytest.mark.parametrize("symbol", BINARY)
@given(x=values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), 0.5, 3),
       constant=st.floats(-2, 2).filter(lambda c: abs(c) > 0.1))
def test_number_on_either_side_like_torch(symbol, x, constant):
    op = BINARY[symbol][0]
    check_against_torch(lambda t: op(constant, t), lambda t: op(constant, t), x)
    check_against_torch(lambda t: op(t, constant), lambda t: op(t, constant), x)


# method name -> the range of its inputs (log and sqrt need positive ones)
UNARY = {"__neg__": (-3, 3), "exp": (-3, 3), "log": (0.1, 3), "sqrt": (0.1, 3), "tanh": (-3, 3),
         "sigmoid": (-30, 30), "relu": (-3, 3)}


@pytest.mark.parametrize("method", UNARY)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=3))
def test_unary_op_like_torch(method, data, shape):
    x = data.draw(values(shape, *UNARY[method]), label="x")  # (relu at exactly 0: gradient 0 in both)
    check_against_torch(lambda t: getattr(t, method)(), lambda t: getattr(t, method)(), x)


@given(x=values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), 0.2, 3),
       p=st.sampled_from([0, 1, 2, 3, -1, 0.5, -1.5, 2.5]) | st.floats(-3, 3))
def test_power_like_torch(x, p):
    check_against_torch(lambda t: t ** p, lambda t: t ** p, x)


@given(x=values(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)), p=st.sampled_from([0, 1, 2, 3]))
def test_integer_power_of_any_sign_like_torch(x, p):
    check_against_torch(lambda t: t ** p, lambda t: t ** p, x)


# ----- matmul --------------------------------------------------------------------------------
@st.composite
def matmul_shapes(draw):
    """(a_shape, b_shape): each operand 1-D, 2-D or a broadcast stack of matrices."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    a_shape = draw(st.sampled_from([(k,), batch.input_shapes[0] + (n, k)]))
    b_shape = draw(st.sampled_from([(k,), batch.input_shapes[1] + (k, m)]))
    return a_shape, b_shape


@given(data=st.data(), shapes=matmul_shapes())
def test_matmul_like_torch(data, shapes):
    a = data.draw(values(shapes[0]), label="a")
    b = data.draw(values(shapes[1]), label="b")
    check_against_torch(operator.matmul, operator.matmul, a, b, rtol=1e-11, atol=1e-12)


# ----- reductions ----------------------------------------------------------------------------
@st.composite
def reductions(draw):
    """(x, axis, keepdims): axis None, one axis (possibly negative) or a non-empty tuple of axes."""
    x = draw(values(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3)))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)
                | hnp.valid_tuple_axes(x.ndim, min_size=1))
    return x, axis, draw(st.booleans())


def torch_dims(axis, ndim):
    """PyTorch's dim for numpy's axis (dim=() would mean every axis in torch.sum, but none in numpy)."""
    return tuple(range(ndim)) if axis is None else axis


TORCH_REDUCTIONS = {"sum": torch.sum, "mean": torch.mean,
                    "max": torch.amax}  # (amax: ties share the gradient, as in gradcourse)


@pytest.mark.parametrize("name", TORCH_REDUCTIONS)
@given(case=reductions())
def test_reduction_like_torch(name, case):
    """x.sum / x.mean / x.max over axis with keepdims; hypothesis makes ties for max often."""
    x, axis, keepdims = case
    check_against_torch(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
                        lambda t: TORCH_REDUCTIONS[name](t, dim=torch_dims(axis, x.ndim), keepdim=keepdims), x)


# ----- reshape, transpose, indexing ----------------------------------------------------------
@st.composite
def reshapes(draw):
    """(x, new_shape): the same entries in another shape, -1 standing for one axis at times."""
    x = draw(values(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3)))
    shape = draw(st.sampled_from([(x.size,), (1, x.size), (x.size, 1), x.shape[::-1], (1,) + x.shape + (1,)]))
    if shape and draw(st.booleans()):
        position = draw(st.integers(0, len(shape) - 1))
        shape = shape[:position] + (-1,) + shape[position + 1:]
    return x, shape


@given(case=reshapes())
def test_reshape_like_torch(case):
    x, shape = case
    check_against_torch(lambda t: t.reshape(shape), lambda t: t.reshape(shape), x)


@given(data=st.data(), x=values(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3)))
def test_permute_like_torch(data, x):
    axes = data.draw(st.none() | st.permutations(range(x.ndim)), label="axes")
    if axes is None:  # all axes reversed, as numpy's .transpose() and .T
        check_against_torch(lambda t: t.transpose(), lambda t: t.permute(*reversed(range(x.ndim))), x)
    else:
        check_against_torch(lambda t: t.permute(*axes), lambda t: t.permute(*axes), x)


@given(data=st.data(), x=values(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3)))
def test_transpose_like_torch(data, x):
    dim = st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)
    dim0, dim1 = data.draw(dim, label="dim0"), data.draw(dim, label="dim1")
    check_against_torch(lambda t: t.transpose(dim0, dim1), lambda t: t.transpose(dim0, dim1), x)


COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
               "!=": operator.ne}


@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_comparisons_like_torch(data, shapes):
    a = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=st.sampled_from([-1.0, 0.0, 1.0])))
    b = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=st.sampled_from([-1.0, 0.0, 1.0])))
    op = COMPARISONS[data.draw(st.sampled_from(sorted(COMPARISONS)), label="op")]
    ours, theirs = op(gc.tensor(a), gc.tensor(b)), op(torch.tensor(a), torch.tensor(b))
    assert isinstance(ours, gc.autograd.BoolTensor)
    np.testing.assert_array_equal(ours.data != 0, theirs.numpy())


@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_in_place_under_no_grad_like_torch(data, shapes):
    a = data.draw(values(shapes.result_shape), label="a")  # self keeps its shape: other broadcasts into it
    b = data.draw(values(shapes.input_shapes[1], 0.5, 3), label="b")
    op = data.draw(st.sampled_from([operator.iadd, operator.isub, operator.imul, operator.itruediv]), label="op")
    ours, theirs = gc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with gc.no_grad(), torch.no_grad():
        assert op(ours, gc.tensor(b)) is ours and op(theirs, torch.tensor(b)) is theirs
    assert_close(ours.data, theirs, "value")


def has_negative_step(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, slice) and p.step is not None and p.step < 0 for p in parts)


@given(data=st.data(), x=values(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4)))
def test_basic_indexing_like_torch(data, x):
    """Integers, slices (PyTorch has no negative steps), None and Ellipsis."""
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True)
                      .filter(lambda i: not has_negative_step(i)), label="index")
    check_against_torch(lambda t: t[index], lambda t: t[index], x)


# Integer arrays only, or with slices: numpy and PyTorch then agree on where the indexed axes go.
# (Not mixed with a plain integer: `x[0, :, idx]` puts the indexed axis first in numpy, and so in
# gradcourse, but PyTorch orders those axes differently.)
@st.composite
def integer_array_indexing(draw):
    """(x, index): one array on one axis, or two broadcasting arrays on adjacent axes; repeats are common."""
    x = draw(values(hnp.array_shapes(min_dims=2, max_dims=3, max_side=4)))
    axis = draw(st.integers(0, x.ndim - 2))
    count = draw(st.integers(1, 2))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=1, max_dims=2, max_side=4))
    arrays = [draw(hnp.arrays(np.intp, shape, elements=st.integers(-n, n - 1)))
              for n, shape in zip(x.shape[axis:], shapes.input_shapes)]
    return x, (slice(None),) * axis + tuple(arrays)


@given(case=integer_array_indexing())
def test_integer_array_indexing_with_repeats_like_torch(case):
    x, index = case
    torch_index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
    check_against_torch(lambda t: t[index], lambda t: t[torch_index], x)


@given(data=st.data(), x=values(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
def test_boolean_mask_indexing_like_torch(data, x):
    mask = data.draw(hnp.arrays(np.bool_, x.shape), label="mask")
    check_against_torch(lambda t: t[mask], lambda t: t[torch.from_numpy(mask)], x)
