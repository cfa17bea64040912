"""The autograd engine: every op's gradient against finite differences, and the engine's contract.

Contract checked here: broadcasting on either side (numbers and ndarrays too), iterative
backward (deep chains), PyTorch-style accumulation, leaves owning their `.grad`, hooks,
retain_grad, no_grad, clear error messages, and gradcheck's own ability to fail.
"""
import math
import re
import warnings

import numpy as np
import pytest

import gradcourse as gc
from gradcourse.autograd import GradcheckError, record_op

# ----- every op, through gradcheck and against numpy -------------------------------------------
# (fn, input specs [(shape, kind)], numpy reference). A reference of None means "the same fn
# applied to the raw ndarrays": operators, indexing and the sum/mean/max/reshape/transpose
# methods are spelled identically in numpy, so numpy itself is the independent computation.
A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])  # a constant for "ndarray on the left"
V = np.array([0.5, -1.0, 2.0])

OPS = [
    # broadcasting arithmetic
    pytest.param(lambda a, b: a + b, [((3, 1), "any"), ((1, 4), "any")], None, id="add-(3,1)+(1,4)"),
    pytest.param(lambda a, b: a - b, [((2, 3, 4), "any"), ((4,), "any")], None, id="sub-(2,3,4)-(4,)"),
    pytest.param(lambda a, b: a - b, [((4,), "any"), ((2, 3, 4), "any")], None, id="sub-(4,)-(2,3,4)"),
    pytest.param(lambda a, b: a * b, [((2, 3, 4), "any"), ((4,), "any")], None, id="mul-(2,3,4)*(4,)"),
    pytest.param(lambda a, b: a * b, [((2, 1, 4), "any"), ((3, 1), "any")], None, id="mul-(2,1,4)*(3,1)"),
    pytest.param(lambda a, b: a / b, [((3, 1), "any"), ((1, 4), "positive")], None, id="div-(3,1)/(1,4)"),
    pytest.param(lambda a, b: a / b, [((2, 3), "any"), ((2, 3), "positive")], None, id="div-same-shape"),
    pytest.param(lambda a, b: a * b, [((), "any"), ((2, 3), "any")], None, id="mul-0d-tensor-left"),
    pytest.param(lambda a, b: a + b, [((2, 3), "any"), ((), "any")], None, id="add-0d-tensor-right"),
    pytest.param(lambda a, b: a / b, [((), "any"), ((3,), "positive")], None, id="div-0d-by-vector"),
    # a Python number on either side
    pytest.param(lambda a: 2.5 * a, [((2, 3), "any")], None, id="number*t"),
    pytest.param(lambda a: a * 2.5, [((2, 3), "any")], None, id="t*number"),
    pytest.param(lambda a: 1 + a, [((2, 3), "any")], None, id="number+t"),
    pytest.param(lambda a: 3.0 - a, [((2, 3), "any")], None, id="number-t"),
    pytest.param(lambda a: a - 3, [((2, 3), "any")], None, id="t-number"),
    pytest.param(lambda a: 2.0 / a, [((2, 3), "positive")], None, id="number/t"),
    pytest.param(lambda a: a / 4, [((2, 3), "any")], None, id="t/number"),
    # an ndarray on the left (numpy must hand over to the Tensor) and on the right
    pytest.param(lambda a: A * a, [((2, 3), "any")], None, id="ndarray*t"),
    pytest.param(lambda a: A + a, [((3,), "any")], None, id="ndarray+t-broadcast"),
    pytest.param(lambda a: A - a, [((2, 1), "any")], None, id="ndarray-t-broadcast"),
    pytest.param(lambda a: A / a, [((2, 3), "positive")], None, id="ndarray/t"),
    pytest.param(lambda a: V @ a, [((3, 2), "any")], None, id="ndarray@t"),
    pytest.param(lambda a: a @ V, [((2, 3), "any")], None, id="t@ndarray"),
    pytest.param(lambda a: a * A, [((2, 3), "any")], None, id="t*ndarray"),
    # powers and negation
    pytest.param(lambda a: a ** 2, [((2, 3), "any")], None, id="pow-2"),
    pytest.param(lambda a: a ** 3, [((2, 3), "any")], None, id="pow-3"),
    pytest.param(lambda a: a ** 0.5, [((2, 3), "positive")], None, id="pow-0.5"),
    pytest.param(lambda a: a ** -1.5, [((2, 3), "positive")], None, id="pow--1.5"),
    pytest.param(lambda a: a ** 0, [((2, 3), "any")], None, id="pow-0"),
    pytest.param(lambda a: -a, [((2, 3), "any")], None, id="neg"),
    # matmul: 2-D, 1-D on either side or both, batched
    pytest.param(lambda a, b: a @ b, [((2, 3), "any"), ((3, 4), "any")], None, id="matmul-2d"),
    pytest.param(lambda a, b: a @ b, [((3,), "any"), ((3, 4), "any")], None, id="matmul-1d@2d"),
    pytest.param(lambda a, b: a @ b, [((2, 3), "any"), ((3,), "any")], None, id="matmul-2d@1d"),
    pytest.param(lambda a, b: a @ b, [((3,), "any"), ((3,), "any")], None, id="matmul-1d@1d"),
    pytest.param(lambda a, b: a @ b, [((2, 2, 3), "any"), ((2, 3, 4), "any")], None, id="matmul-3d@3d"),
    pytest.param(lambda a, b: a @ b, [((2, 2, 3), "any"), ((3, 4), "any")], None, id="matmul-3d@2d"),
    pytest.param(lambda a, b: a @ b, [((2, 3), "any"), ((2, 3, 4), "any")], None, id="matmul-2d@3d"),
    pytest.param(lambda a, b: a @ b, [((3,), "any"), ((2, 3, 4), "any")], None, id="matmul-1d@3d"),
    pytest.param(lambda a, b: a @ b, [((2, 2, 3), "any"), ((3,), "any")], None, id="matmul-3d@1d"),
    pytest.param(lambda a, b: a @ b, [((2, 1, 2, 3), "any"), ((3, 3, 2), "any")], None, id="matmul-batch-bcast"),
    # indexing: ints, slices, integer arrays with repeats
    pytest.param(lambda a: a[1], [((3, 4), "any")], None, id="index-int"),
    pytest.param(lambda a: a[-1, 2], [((3, 4), "any")], None, id="index-int-int"),
    pytest.param(lambda a: a[1:, ::2], [((3, 4), "any")], None, id="index-slices"),
    pytest.param(lambda a: a[::-1], [((4,), "any")], None, id="index-reversed"),
    pytest.param(lambda a: a[np.array([0, 2, 0, 0])], [((3,), "any")], None, id="index-int-array-repeats"),
    pytest.param(lambda a: a[[0, 0, 1]], [((2, 3), "any")], None, id="index-list-rows-repeats"),
    pytest.param(lambda a: a[:, [2, 2, 0]], [((2, 3), "any")], None, id="index-slice-and-array"),
    pytest.param(lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])], [((2, 3), "any")], None,
                 id="index-array-pairs-repeats"),
    pytest.param(lambda a: a[np.array([[0, 1], [1, 1]])], [((3, 2), "any")], None, id="index-2d-array"),
    # reductions, with axes, negative axes, axis tuples and keepdims
    *[pytest.param(lambda a, m=m, ax=ax, kd=kd: getattr(a, m)(axis=ax, keepdims=kd), [((2, 3, 4), "any")], None,
                   id=f"{m}-axis={ax}-keepdims={kd}")
      for m in ("sum", "mean", "max")
      for ax, kd in ((None, False), (None, True), (0, False), (-1, True), ((0, 2), False), ((0, 2), True),
                     ((1, -1), False))],
    # shapes
    pytest.param(lambda a: a.reshape(6, 4), [((2, 3, 4), "any")], None, id="reshape-args"),
    pytest.param(lambda a: a.reshape((4, -1)), [((2, 3, 4), "any")], None, id="reshape-tuple"),
    pytest.param(lambda a: a.transpose(), [((2, 3, 4), "any")], None, id="transpose-reverse"),
    pytest.param(lambda a: a.transpose(0, 2), [((2, 3, 4), "any")], lambda a: np.swapaxes(a, 0, 2),
                 id="transpose-swap"),
    pytest.param(lambda a: a.transpose(-1, -2), [((2, 3, 4), "any")], lambda a: np.swapaxes(a, -1, -2),
                 id="transpose-swap-negative"),
    pytest.param(lambda a: a.transpose(0, 0), [((2, 3), "any")], lambda a: a, id="transpose-same-dim"),
    pytest.param(lambda a: a.permute(2, 0, 1), [((2, 3, 4), "any")], lambda a: a.transpose(2, 0, 1),
                 id="permute-args"),
    pytest.param(lambda a: a.permute((1, -3, 2)), [((2, 3, 4), "any")], lambda a: a.transpose(1, 0, 2),
                 id="permute-tuple"),
    pytest.param(lambda a: a.T, [((2, 3), "any")], None, id="T"),
    # elementwise functions (references written out from their definitions)
    pytest.param(lambda a: a.exp(), [((2, 3), "any")], lambda a: math.e ** a, id="exp"),
    pytest.param(lambda a: a.log(), [((2, 3), "positive")], np.log, id="log"),
    pytest.param(lambda a: a.sqrt(), [((2, 3), "positive")], lambda a: a ** 0.5, id="sqrt"),
    pytest.param(lambda a: a.tanh(), [((2, 3), "any")],
                 lambda a: (math.e ** (2 * a) - 1) / (math.e ** (2 * a) + 1), id="tanh"),
    pytest.param(lambda a: a.sigmoid(), [((2, 3), "any")], lambda a: 1 / (1 + math.e ** -a), id="sigmoid"),
    pytest.param(lambda a: a.relu(), [((2, 3), "nonzero")], lambda a: np.where(a > 0, a, 0.0), id="relu"),
    # reused nodes: one tensor feeding several inputs of the same op, and a diamond
    pytest.param(lambda a: a * a, [((2, 3), "any")], None, id="reuse-a*a"),
    pytest.param(lambda a: a + a, [((2, 3), "any")], None, id="reuse-a+a"),
    pytest.param(lambda a: a @ a.T, [((2, 3), "any")], None, id="reuse-a@a.T"),
    pytest.param(lambda x: ((x * x + x) * (x * x + x)).sum(), [((3,), "any")], None, id="diamond"),
    pytest.param(lambda a, b: (a @ b).tanh().sum(axis=0) * a.mean(), [((2, 3), "any"), ((3, 4), "any")],
                 lambda a, b: np.tanh(a @ b).sum(axis=0) * a.mean(), id="composite"),
]


@pytest.mark.parametrize("fn, specs, reference", OPS)
def test_gradcheck_every_op(fn, specs, reference, make_leaf):
    inputs = [make_leaf(shape, kind) for shape, kind in specs]
    assert gc.gradcheck(fn, *inputs)


@pytest.mark.parametrize("fn, specs, reference", OPS)
def test_forward_matches_numpy_and_stays_a_float64_array(fn, specs, reference, make_leaf):
    inputs = [make_leaf(shape, kind) for shape, kind in specs]
    arrays = [x.data.copy() for x in inputs]
    out = fn(*inputs)
    expected = (reference or fn)(*arrays)
    assert isinstance(out, gc.Tensor)
    assert type(out.data) is np.ndarray and out.data.dtype == np.float64  # also for 0-d results
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert out.requires_grad


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@"])
def test_ndarray_on_the_left_returns_a_tensor_with_a_gradient(op):
    t = gc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = eval(f"np.full((2, 2), 2.0) {op} t")
    assert isinstance(out, gc.Tensor) and out.requires_grad
    out.sum().backward()
    assert t.grad is not None and t.grad.shape == (2, 2)


# ----- hand computations -----------------------------------------------------------------------
def test_max_ties_share_the_gradient_equally():
    a = gc.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    (a.max(axis=1) * gc.tensor([2.0, 6.0])).sum().backward()
    np.testing.assert_allclose(a.grad, [[0.0, 1.0, 1.0], [2.0, 2.0, 2.0]])


def test_max_over_everything_with_ties():
    a = gc.tensor([[1.0, 5.0], [5.0, 5.0]], requires_grad=True)
    a.max().backward()
    np.testing.assert_allclose(a.grad, [[0.0, 1 / 3], [1 / 3, 1 / 3]])


def test_max_with_axis_tuple_keepdims_and_ties():
    a = gc.tensor([[[1.0, 4.0], [4.0, 0.0]], [[2.0, 2.0], [0.0, 2.0]]], requires_grad=True)  # (2, 2, 2)
    out = a.max(axis=(1, 2), keepdims=True)
    assert out.shape == (2, 1, 1)
    (out * gc.tensor([[[1.0]], [[9.0]]])).sum().backward()
    np.testing.assert_allclose(a.grad, [[[0.0, 0.5], [0.5, 0.0]], [[3.0, 3.0], [0.0, 3.0]]])


def test_repeated_indices_add_up():
    a = gc.tensor([10.0, 20.0, 30.0], requires_grad=True)
    (a[np.array([0, 2, 0, 0])] * gc.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(a.grad, [1.0 + 3.0 + 4.0, 0.0, 2.0])


def test_slice_gradient_is_zero_outside_the_slice():
    a = gc.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    a[1:, ::2].sum().backward()
    np.testing.assert_array_equal(a.grad, [[0, 0, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]])


def test_diamond_graph_matches_the_chain_rule_by_hand():
    xs = np.array([-1.5, 0.3, 2.0])
    x = gc.tensor(xs, requires_grad=True)
    y = x * x + x
    z = (y * y).sum()
    z.backward()
    y_ = xs * xs + xs
    np.testing.assert_allclose(z.item(), np.sum(y_ ** 2))
    np.testing.assert_allclose(x.grad, 2 * y_ * (2 * xs + 1))


def test_broadcast_gradient_is_reduced_to_each_input_shape():
    a = gc.tensor(np.ones((3, 1)), requires_grad=True)
    b = gc.tensor(np.ones((1, 4)), requires_grad=True)
    c = gc.tensor(2.0, requires_grad=True)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == ()
    np.testing.assert_allclose(a.grad, np.full((3, 1), 4 * 2.0))  # each row meets 4 columns
    np.testing.assert_allclose(b.grad, np.full((1, 4), 3 * 2.0))
    np.testing.assert_allclose(c.grad, 12.0)


# ----- deep graphs: no recursion ---------------------------------------------------------------
@pytest.mark.parametrize("n_ops", [3000, 10000])
def test_long_chain_matches_closed_form(n_ops):
    x0 = np.array([0.5, -1.0, 2.0])
    x = gc.tensor(x0, requires_grad=True)
    y, c, s = x, 1.0003, 0.01
    for i in range(n_ops):  # alternately y <- c y and y <- y + s
        y = y * c if i % 2 == 0 else y + s
    y.sum().backward()
    n_mul = (n_ops + 1) // 2
    value = x0.copy()
    for i in range(n_ops):
        value = value * c if i % 2 == 0 else value + s
    np.testing.assert_allclose(y.data, value, rtol=1e-12)
    np.testing.assert_allclose(x.grad, np.full(3, c ** n_mul), rtol=1e-9)


@pytest.mark.parametrize("steps", [1000, 3400])
def test_deep_graph_reusing_the_leaf_at_every_step(steps):
    # y_{k+1} = c y_k + d x, so dy_n/dx = c^n + d (c^n - 1) / (c - 1): n + 1 paths reach x
    x = gc.tensor([1.0, -2.0], requires_grad=True)
    c, d, y = 0.999, 0.002, x
    for _ in range(steps):
        y = y * c + x * d
    y.sum().backward()
    expected = c ** steps + d * (c ** steps - 1) / (c - 1)
    np.testing.assert_allclose(x.grad, [expected, expected], rtol=1e-9)


# ----- accumulation and ownership of .grad -----------------------------------------------------
def test_two_backward_calls_accumulate():
    x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * np.array([1.0, 2.0, 3.0]))
    (x * 5.0).sum().backward()  # a different graph adds on top as well
    np.testing.assert_allclose(x.grad, 4 * np.array([1.0, 2.0, 3.0]) + 5.0)


def test_grad_is_assignable_and_backward_adds_to_it():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([10.0, 20.0])
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [13.0, 23.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_zero_d_leaf_grad_is_an_ndarray_even_after_accumulating():
    s = gc.tensor(1.5, requires_grad=True)
    (s * s).backward()  # two contributions to the same 0-d leaf
    assert type(s.grad) is np.ndarray and s.grad.shape == ()
    np.testing.assert_allclose(s.grad, 3.0)


GRAPHS_OF_TWO_LEAVES = [
    pytest.param(lambda a, b: (a + b).sum(), id="a+b"),
    pytest.param(lambda a, b: (a - b).sum(), id="a-b"),
    pytest.param(lambda a, b: a.sum() + b.sum(), id="sum+sum"),
    pytest.param(lambda a, b: (a.reshape(6) + b.reshape(6)).sum(), id="reshape"),
    pytest.param(lambda a, b: (a.T + b.T).sum(), id="transpose"),
    pytest.param(lambda a, b: (a + b).mean() * 3.0, id="mean"),
    pytest.param(lambda a, b: (a[0] + b[0]).sum() + (a + b).sum(), id="index"),
]


@pytest.mark.parametrize("graph", GRAPHS_OF_TWO_LEAVES)
def test_leaves_own_their_grad_arrays(graph):
    a = gc.tensor(np.ones((2, 3)), requires_grad=True)
    b = gc.tensor(np.ones((2, 3)), requires_grad=True)
    graph(a, b).backward()
    b_before = b.grad.copy()
    assert a.grad.flags.writeable and b.grad.flags.writeable
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 2  # an optimiser or clipping modifies gradients in place
    np.testing.assert_array_equal(b.grad, b_before)


def test_backward_copies_the_given_gradient():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (x * 1.0).backward(seed)
    seed[:] = 100.0
    np.testing.assert_allclose(x.grad, [1.0, 1.0])
    leaf = gc.tensor([1.0, 2.0], requires_grad=True)
    leaf.backward(seed)  # backward on a leaf itself
    seed[:] = -1.0
    np.testing.assert_allclose(leaf.grad, [100.0, 100.0])


def test_backward_with_explicit_grad_is_a_vector_jacobian_product():
    x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad, [2.0, 2.0, -6.0])


# ----- hooks and retain_grad -------------------------------------------------------------------
def test_register_hook_sees_the_gradient_and_can_replace_it():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(np.array(g)))
    y.register_hook(lambda g: g * 10.0)
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * np.array([3.0, 6.0]))  # d(y^2)/dy = 2y
    np.testing.assert_allclose(x.grad, 3.0 * 10.0 * 2 * np.array([3.0, 6.0]))


def test_hook_on_a_leaf_replaces_what_reaches_grad():
    x = gc.tensor([1.0, -1.0], requires_grad=True)
    x.register_hook(lambda g: np.clip(g, -0.5, 0.5))
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5])


def test_hook_handle_remove():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or g * 0.0)
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0])
    handle.remove()
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])
    assert len(calls) == 1


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="requires? grad"):
        gc.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_on_an_intermediate():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    w = x + 1.0
    y.retain_grad()
    (y * y + w).sum().backward()
    np.testing.assert_allclose(y.grad, 2 * np.array([2.0, 4.0]))
    assert w.grad is None  # intermediates keep no gradient unless asked
    assert x.grad is not None


# ----- no_grad and detach ----------------------------------------------------------------------
def test_no_grad_records_nothing_and_nests():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    assert gc.is_grad_enabled()
    with gc.no_grad():
        y = (x * 2.0).exp().sum()
        assert not y.requires_grad and not gc.is_grad_enabled()
        with gc.no_grad():
            pass
        assert not gc.is_grad_enabled()  # the inner block restored "disabled", not "enabled"
        assert not (x + 1).requires_grad
    assert gc.is_grad_enabled()
    assert (x * 2.0).requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_restores_after_an_exception():
    with pytest.raises(KeyError):
        with gc.no_grad():
            raise KeyError
    assert gc.is_grad_enabled()


def test_detach_shares_data_and_cuts_the_graph():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad
    assert np.shares_memory(d.data, y.data)
    (x * d).sum().backward()  # d is a constant: only the direct path reaches x
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


# ----- construction and small methods ----------------------------------------------------------
@pytest.mark.parametrize("data", [[1, 2, 3], np.array([1, 2, 3], dtype=np.int32), [True, False], 7, np.int64(3)])
def test_int_and_bool_input_become_float64(data):
    t = gc.tensor(data)
    assert t.data.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=float))
    assert gc.Tensor(data).data.dtype == np.float64


def test_tensor_copies_its_input():
    source = np.array([1.0, 2.0])
    t = gc.tensor(source)
    source[0] = 99.0
    assert t.data[0] == 1.0


def test_attributes():
    t = gc.tensor(np.arange(6).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.requires_grad and t.grad is None
    assert t.T.shape == (3, 2)
    np.testing.assert_array_equal(t.T.data, np.arange(6).reshape(2, 3).T)
    assert not gc.tensor([1.0]).requires_grad
    assert t.numpy() is t.data


def test_item():
    assert gc.tensor([[2.5]]).item() == 2.5 and isinstance(gc.tensor(3).item(), float)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        gc.tensor(np.ones((2, 2))).item()


# ----- error messages --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_broadcast_error_names_both_shapes(op):
    a, b = gc.tensor(np.ones((2, 3))), gc.tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        eval(f"a {op} b")
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        eval(f"np.ones((2, 3)) {op} b")  # ndarray on the left


@pytest.mark.parametrize("shape_a, shape_b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((5,), (3, 2)),
                                              ((2, 3, 4), (3, 4, 5))])
def test_matmul_error_names_both_shapes(shape_a, shape_b):
    a, b = gc.tensor(np.ones(shape_a)), gc.tensor(np.ones(shape_b))
    with pytest.raises(ValueError, match=re.escape(str(shape_a)) + ".*" + re.escape(str(shape_b))):
        a @ b


def test_backward_on_non_scalar_without_grad():
    y = gc.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()


def test_backward_grad_of_wrong_shape():
    y = gc.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="requires_grad"):
        (gc.tensor([1.0]) * 2).sum().backward()


def test_reshape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        gc.tensor(np.ones((2, 3))).reshape(4, 2)


def test_pow_needs_a_number_exponent():
    with pytest.raises(TypeError, match="exponent must be a number"):
        gc.tensor([1.0]) ** gc.tensor([2.0])


# ----- stability -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sigmoid", "tanh"])
def test_saturating_activations_at_huge_inputs(method, strict_floats):
    x = gc.tensor([-5000.0, -1000.0, 0.0, 1000.0, 5000.0], requires_grad=True)
    y = getattr(x, method)()
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    low = 0.0 if method == "sigmoid" else -1.0
    np.testing.assert_allclose(y.data[[0, 1, 3, 4]], [low, low, 1.0, 1.0])
    np.testing.assert_allclose(x.grad[[0, 1, 3, 4]], 0.0)
    np.testing.assert_allclose(x.grad[2], 0.25 if method == "sigmoid" else 1.0)


# ----- gradcheck itself ------------------------------------------------------------------------
def _mul_with_backward(wrong):
    """a * b built with record_op, with the backward rule replaced by `wrong(g, a, b)`."""
    def fn(a, b):
        return record_op(a.data * b.data, (a, b), lambda g: wrong(g, a.data, b.data))
    return fn


def test_gradcheck_passes_a_correct_backward(make_leaf):
    fn = _mul_with_backward(lambda g, a, b: (g * b, g * a))
    assert gc.gradcheck(fn, make_leaf((2, 3)), make_leaf((2, 3)))


@pytest.mark.parametrize("wrong, bad_input", [
    (lambda g, a, b: (g * a, g * a), 0),                       # d/da uses the wrong factor
    (lambda g, a, b: (g * b, g * b), 1),                       # d/db uses the wrong factor
    (lambda g, a, b: (g * b, 1.001 * g * a), 1),               # only 0.1% off
])
def test_gradcheck_catches_a_wrong_backward(wrong, bad_input, make_leaf):
    with pytest.raises(GradcheckError, match=f"input {bad_input}"):
        gc.gradcheck(_mul_with_backward(wrong), make_leaf((2, 3), "positive"), make_leaf((2, 3), "positive"))


def test_gradcheck_names_the_worst_entry(make_leaf):
    def wrong(g, a, b):
        grad_a = g * b
        grad_a[1, 2] += 1.0
        return grad_a, g * a
    with pytest.raises(GradcheckError, match=r"input 0.*\(1, 2\)"):
        gc.gradcheck(_mul_with_backward(wrong), make_leaf((2, 3)), make_leaf((2, 3)))


def test_gradcheck_catches_a_gradient_of_the_wrong_shape(make_leaf):
    def fn(a):  # a (3, 1) input broadcast to (3, 4), with the broadcast not undone in backward
        return record_op(a.data + np.zeros((1, 4)), (a,), lambda g: (g,))
    with pytest.raises(GradcheckError, match="input 0"):
        gc.gradcheck(fn, make_leaf((3, 1)))


def test_gradcheck_skips_constants_and_needs_one_input(make_leaf):
    assert gc.gradcheck(lambda a, c: a * c, make_leaf((3,)), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="requires_grad"):
        gc.gradcheck(lambda c: c * 2, np.ones(3))


def test_gradcheck_leaves_no_warning_or_state_behind(make_leaf):
    x = make_leaf((2, 2))
    before = x.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.gradcheck(lambda a: (a * a).sum(), x)
    np.testing.assert_array_equal(x.data, before)  # the finite-difference nudges were undone
    assert gc.is_grad_enabled()
