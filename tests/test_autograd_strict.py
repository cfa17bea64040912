"""The engine as strict as PyTorch: a freed graph, named errors for bad input, index tensors,
`__array__`, op names on graph nodes, hooks that may not change a gradient's shape, and
retain_grad accumulating across backward calls.
"""
import gc as garbage_collector
import subprocess
import sys
import weakref

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import autograd, experiments, nn, training
from gradcourse.autograd import BoolTensor, Tensor, gradcheck, record_op


def _leaf(shape, seed=0):
    return gc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ----- backward frees the graph, as PyTorch does -------------------------------------------------
def test_a_second_backward_through_the_same_graph_raises_and_names_retain_graph():
    x = _leaf(3)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)  # the failed call added nothing


def test_a_new_graph_built_on_a_freed_node_cannot_backward_through_it():
    x = _leaf(3)
    h = x.tanh()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (h * 3.0).sum().backward()


def test_retain_graph_keeps_the_graph_and_the_gradients_add_up():
    x = _leaf(3)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 3 * 2 * x.data)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_leaves_are_never_freed():
    x = _leaf(3)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()  # the same leaf in a new graph
    x.backward(np.ones(3))      # and backward on the leaf itself, twice
    x.backward(np.ones(3))
    assert x.is_leaf
    np.testing.assert_allclose(x.grad, np.full(3, 2.0 + 3.0 + 2.0))


def test_freeing_releases_the_intermediate_results():
    x = _leaf((50, 50))
    kept_alive = []
    for retain in (False, True):
        h = (x @ x).tanh()
        loss = (h * h).mean()
        intermediate = weakref.ref(h)
        del h
        loss.backward(retain_graph=retain)
        garbage_collector.collect()
        kept_alive.append(intermediate() is not None)  # loss still holds the graph unless freed
    assert kept_alive == [False, True]


def test_retain_graph_must_be_a_bool():
    loss = (_leaf(2) * 2.0).sum()
    with pytest.raises(TypeError, match="retain_graph must be True or False"):
        loss.backward(retain_graph="yes")


# ----- retain_grad adds up across backward calls ------------------------------------------------
def test_retain_grad_accumulates_over_the_same_graph_and_over_two_graphs():
    x = _leaf(3)
    h = x * 2.0
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(h.grad, 2 * 2 * h.data)  # dL/dh = 2h, twice
    g = x * 1.0
    g.retain_grad()
    (g * 3.0).sum().backward(retain_graph=True)  # (g is part of this graph: keep it for the next)
    (g * 5.0).sum().backward()  # a second graph through g adds its gradient too
    np.testing.assert_allclose(g.grad, np.full(3, 8.0))


# ----- __array__ ---------------------------------------------------------------------------------
def test_numpy_reads_a_tensor_as_its_float64_data():
    t = gc.tensor([[1.0, 2.0], [3.0, 4.5]], requires_grad=True)
    array = np.asarray(t)
    assert array.dtype == np.float64 and array is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t, copy=True)
    assert not np.shares_memory(copied, t.data) and np.array_equal(copied, t.data)
    np.testing.assert_array_equal(np.array([gc.tensor(1.0), gc.tensor(2.0)]), [1.0, 2.0])
    assert float(gc.tensor([2.5])) == 2.5
    with pytest.raises(ValueError, match="copy=False"):
        t.__array__(np.float32, copy=False)


def test_accuracy_takes_labels_as_a_tensor():
    rng = np.random.default_rng(0)
    model = nn.Linear(3, 2)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    expected = training.accuracy(model, X, y)
    assert 0.0 < expected < 1.0
    assert training.accuracy(model, X, gc.tensor(y)) == expected


# ----- index tensors and arrays ----------------------------------------------------------------
MASK = np.array([True, False, True, True])
INDEXES = [
    pytest.param(lambda a: a[MASK], (4,), id="numpy-bool-mask"),
    pytest.param(lambda a: a[gc.tensor(MASK)], (4,), id="bool-tensor-mask"),
    pytest.param(lambda a: a[MASK.tolist()], (4,), id="list-of-bools"),
    pytest.param(lambda a: a[MASK, 1:], (4, 3), id="mask-and-slice"),
    pytest.param(lambda a: a[np.array([[True, False], [False, True]])], (2, 2), id="2d-mask"),
    pytest.param(lambda a: a[gc.tensor([2.0, 0.0, 2.0, 2.0])], (3,), id="float-tensor-of-integers-repeats"),
    pytest.param(lambda a: a[gc.tensor([1.0, 1.0]), np.array([0, 2])], (2, 3), id="tensor-and-array-pairs"),
]


@pytest.mark.parametrize("select, shape", INDEXES)
def test_index_tensors_select_as_numpy_and_their_gradients_pass_gradcheck(select, shape):
    a = _leaf(shape)
    expected = select(_NumpyView(a.data))
    np.testing.assert_array_equal(select(a).data, expected)
    assert gradcheck(select, a)


class _NumpyView:
    """Indexes the raw array with each Tensor in the index replaced by what numpy itself takes."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        parts = index if isinstance(index, tuple) else (index,)
        numpy_parts = tuple(p.data.astype(bool) if isinstance(p, BoolTensor)
                            else p.data.astype(int) if isinstance(p, Tensor) else p for p in parts)
        return self.array[numpy_parts if isinstance(index, tuple) else numpy_parts[0]]


def test_repeated_tensor_indices_add_their_gradients():
    a = _leaf(3)
    a[gc.tensor([0.0, 2.0, 0.0, 0.0])].sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 0.0, 1.0])


def test_a_bool_tensor_is_a_mask_not_the_positions_0_and_1():
    a = gc.tensor([10.0, 20.0, 30.0])
    np.testing.assert_array_equal(a[gc.tensor([False, True, True])].data, [20.0, 30.0])
    np.testing.assert_array_equal(a[gc.tensor([0.0, 1.0, 1.0])].data, [10.0, 20.0, 20.0])  # positions


@pytest.mark.parametrize("index", [gc.tensor([0.5, 1.0]), gc.tensor([np.nan]), (slice(None), gc.tensor([1.2])),
                                   np.array([0.0, 1.0]), [0.0, 1.5]], ids=["tensor-0.5", "tensor-nan", "in-tuple",
                                                                           "float-array", "float-list"])
def test_a_float_index_that_is_not_integer_positions_is_an_index_error(index):
    with pytest.raises(IndexError, match="getitem: index must be"):
        _leaf((2, 3))[index]


# ----- gc.tensor refuses what PyTorch refuses ----------------------------------------------------
@pytest.mark.parametrize("data", [None, "1.5", b"1", 1 + 2j, np.array([1 + 1j, 2]), [1.0, None], [1.0, "2"],
                                  np.array([1, 2], dtype=object), {"a": 1}, object()],
                         ids=["None", "str", "bytes", "complex", "complex-array", "list-with-None",
                              "list-with-str", "object-array", "dict", "object"])
def test_tensor_of_a_non_number_is_a_type_error_naming_data(data):
    with pytest.raises(TypeError, match=r"tensor: data must be an array of real numbers, got "):
        gc.tensor(data)
    with pytest.raises(TypeError, match="data must be an array of real numbers"):
        Tensor(data)


def test_a_ragged_list_is_a_value_error():
    with pytest.raises(ValueError, match="rectangular"):
        gc.tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("flag", ["yes", 1, None, 0.0])
def test_requires_grad_must_be_a_bool(flag):
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        gc.tensor([1.0], requires_grad=flag)


def test_bools_become_zeros_and_ones_in_a_bool_tensor():
    t = gc.tensor([True, False])
    assert type(t) is BoolTensor and t.data.dtype == np.float64
    np.testing.assert_array_equal(t.data, [1.0, 0.0])
    assert type(t * 2.0) is Tensor and type(gc.tensor([1, 0])) is Tensor
    assert type(gc.tensor(np.bool_(True), requires_grad=np.True_)) is BoolTensor


# ----- hooks may change a gradient's values, not its shape ----------------------------------------
def test_a_hook_returning_the_wrong_shape_is_an_error_naming_it_and_both_shapes():
    x = _leaf((2, 3))

    def flatten_it(g):
        return g.reshape(-1)
    y = x * 2.0
    y.register_hook(flatten_it)
    with pytest.raises(RuntimeError, match=r"flatten_it.*\(6,\).*\(2, 3\)"):
        y.sum().backward()
    x.register_hook(lambda g: np.ones(1))  # on a leaf too
    with pytest.raises(RuntimeError, match=r"lambda.*\(1,\).*\(2, 3\)"):
        (x * 2.0).sum().backward()


# ----- gradcheck needs a Tensor ------------------------------------------------------------------
@pytest.mark.parametrize("returns", [lambda a: a.data * 2.0, lambda a: float(a.data.sum())], ids=["ndarray", "float"])
def test_gradcheck_of_a_function_not_returning_a_tensor_is_a_type_error(returns):
    with pytest.raises(TypeError, match="gradcheck: fn must be a function returning a Tensor"):
        gradcheck(returns, _leaf(3))


# ----- graph nodes: op names, fields set in one place ------------------------------------------------
OP_NAMES = [
    (lambda a, b: a + b, "add"), (lambda a, b: a + 1.0, "add"), (lambda a, b: 2 + a, "add"),
    (lambda a, b: a - b, "sub"), (lambda a, b: 1.0 - a, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: 3 * a, "mul"), (lambda a, b: a / b, "div"), (lambda a, b: 1.0 / a, "div"),
    (lambda a, b: a ** 2, "pow"), (lambda a, b: -a, "neg"), (lambda a, b: a @ b.T, "matmul"),
    (lambda a, b: a[0], "index"), (lambda a, b: a.sum(), "sum"), (lambda a, b: a.mean(), "mean"),
    (lambda a, b: a.max(), "max"), (lambda a, b: a.reshape(-1), "reshape"), (lambda a, b: a.T, "transpose"),
    (lambda a, b: a.exp(), "exp"), (lambda a, b: b.log(), "log"), (lambda a, b: b.sqrt(), "sqrt"),
    (lambda a, b: a.tanh(), "tanh"), (lambda a, b: a.sigmoid(), "sigmoid"), (lambda a, b: a.relu(), "relu"),
]


@pytest.mark.parametrize("fn, name", OP_NAMES, ids=[f"{name}-{i}" for i, (_, name) in enumerate(OP_NAMES)])
def test_each_op_records_its_name(fn, name):
    a, b = _leaf((2, 3)), gc.tensor(np.full((2, 3), 2.0), requires_grad=True)
    assert fn(a, b)._op == name


def test_record_op_without_a_name_uses_the_calling_function_s_name():
    def my_sigmoid(x):
        out = 1 / (1 + np.exp(-x.data))
        return record_op(out, (x,), lambda g: (g * out * (1 - out),))
    assert my_sigmoid(_leaf(2))._op == "my_sigmoid"
    assert record_op(np.ones(2), (_leaf(2),), lambda g: (g,), "custom")._op == "custom"


def test_a_tensor_from_every_path_has_every_field_set():
    x = _leaf(2)
    with gc.no_grad():
        untracked = x * 2.0
    made = {"constructor": Tensor([1.0]), "tensor()": gc.tensor([True]), "as_tensor": autograd.as_tensor([1.0]),
            "recorded": x * 2.0, "untracked": untracked, "detach": x.detach()}
    fields = [name for name in Tensor.__slots__ if name != "__weakref__"]
    for how, t in made.items():
        missing = [name for name in fields if not hasattr(t, name)]
        assert not missing, f"{how} leaves {missing} unset"
    assert made["recorded"]._op == "mul" and made["untracked"]._op is None and made["constructor"]._op is None


def test_computation_graph_reads_the_recorded_names_and_needs_the_graph_kept():
    x, w = gc.tensor(2.0, requires_grad=True), gc.tensor(-0.5, requires_grad=True)
    loss = ((w * x + 1.0).sigmoid() - 0.25) ** 2
    loss.backward(retain_graph=True)
    ops = [node.op for node in experiments.computation_graph(loss, names={"x": x, "w": w})]
    assert ops == ["leaf", "leaf", "*", "+", "sigmoid", "-", "**"]
    loss.backward()  # frees it
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        experiments.computation_graph(loss)


# ----- the allocator is an opt-in, not an import side effect ----------------------------------------
def test_importing_gradcourse_leaves_the_allocator_alone():
    probe = ("import ctypes\n"
             "calls = []\n"
             "class Recording(ctypes.CDLL):\n"
             "    def __init__(self, name, *args, **kwargs):\n"
             "        calls.append(name)\n"
             "        super().__init__(name, *args, **kwargs)\n"
             "ctypes.CDLL = Recording\n"
             "import gradcourse.autograd as autograd\n"
             "before = list(calls)\n"
             "autograd.keep_freed_memory_for_reuse()\n"
             "print(before, calls)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    before, after = out.stdout.strip().split("] [")
    assert "libc" not in before
    assert sys.platform != "linux" or "libc" in after
