"""Round 2 of the strict engine: the classes of bad input an independent hostile tester found.

Each test asserts the exception type PyTorch raises (or gradcourse's `ShapeError`, which is both
PyTorch's RuntimeError and numpy's ValueError) and that the message names the argument. The
expected values in the "as PyTorch" tests were computed with torch 2.13 in float64.
"""
import re

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse.autograd import ShapeError, as_tensor, graph_was_freed, matmul
from gradcourse.experiments.graph import computation_graph


def param(*shape):
    return gc.tensor(np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape), requires_grad=True)


# ----- Python's conversions: bool, int, float, len, iter -------------------------------------
@pytest.mark.parametrize("values, expected", [([0.0], False), ([2.0], True), (0.0, False), ([[np.nan]], True)])
def test_bool_of_one_element_is_its_truth_as_in_pytorch(values, expected):
    assert bool(gc.tensor(values)) is expected


@pytest.mark.parametrize("values, words", [([1.0, 2.0], "more than one value"), ([], "no values")])
def test_bool_of_other_sizes_is_ambiguous(values, words):
    with pytest.raises(RuntimeError, match=f"{words} is ambiguous"):
        bool(gc.tensor(values))


def test_int_truncates_a_one_element_tensor_as_pytorch():
    assert int(gc.tensor(3.7)) == 3 and int(gc.tensor([-3.7])) == -3
    with pytest.raises(ValueError, match="one element"):  # (torch: ValueError too)
        int(gc.tensor([1.0, 2.0]))


def test_item_of_many_elements_is_a_runtime_error_as_in_pytorch_and_a_value_error():
    with pytest.raises(RuntimeError, match="2 elements") as caught:
        gc.tensor([1.0, 2.0]).item()
    assert isinstance(caught.value, ValueError)


def test_len_and_iter_of_a_0d_tensor_are_type_errors_naming_0d():
    with pytest.raises(TypeError, match="0-d"):
        len(gc.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(gc.tensor(1.0))
    rows = list(gc.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and rows[1].data.tolist() == [3.0, 4.0]


# ----- operands and exponents ----------------------------------------------------------------
@pytest.mark.parametrize("exponent", ["2", None, True, [2.0], gc.tensor([2.0])])
def test_pow_exponent_must_be_a_number(exponent):
    with pytest.raises(TypeError, match="exponent"):
        gc.tensor([2.0]) ** exponent


def test_pow_takes_numpy_scalars():
    assert (gc.tensor([3.0]) ** np.float64(2)).item() == 9.0


def test_rpow_number_base_value_and_gradient_as_pytorch():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    y = 2 ** x
    y.sum().backward()
    np.testing.assert_allclose(y.data, [2.0, 4.0])
    np.testing.assert_allclose(x.grad, [1.3862943611198906, 2.772588722239781])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_rpow_zero_base_gradient_is_zero_where_pytorch_says_so():
    x = gc.tensor([0.0, -1.0, 2.0], requires_grad=True)
    (0.0 ** x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, -np.inf, 0.0])


def test_rpow_array_base_broadcasts():
    x = gc.tensor(2.0, requires_grad=True)
    (np.array([1.0, 3.0]) ** x).sum().backward()
    np.testing.assert_allclose(x.grad, 9.0 * np.log(3.0))


@pytest.mark.parametrize("op", [lambda x: x + "a", lambda x: x - None, lambda x: x * "a", lambda x: x / None,
                                lambda x: "a" * x, lambda x: None + x, lambda x: "a" ** x])
def test_a_non_numeric_operand_is_a_type_error_naming_it(op):
    with pytest.raises(TypeError, match=r"(other|base) must be"):
        op(param(2))


def test_shape_mismatches_are_runtime_errors_as_in_pytorch():
    for bad in (lambda: param(2) + param(3), lambda: param(2, 3) @ param(2, 3), lambda: param(1) @ gc.tensor(2.0)):
        with pytest.raises(RuntimeError) as caught:
            bad()
        assert isinstance(caught.value, ValueError)


def test_matmul_function_takes_arrays_and_names_its_operands():
    np.testing.assert_array_equal(matmul(np.eye(2), np.ones(2)).data, [1.0, 1.0])
    with pytest.raises(TypeError, match="matmul: b must be"):
        matmul(param(2), "x")


# ----- axes of reductions, reshape and transpose -----------------------------------------------
REDUCTIONS = ["sum", "mean", "max"]


@pytest.mark.parametrize("method", REDUCTIONS)
@pytest.mark.parametrize("axis", [2, -3, (0, 2)])
def test_reduction_axis_out_of_range_is_an_index_error_naming_it(method, axis):
    with pytest.raises(IndexError, match=r"axis -?\d is out of range") as caught:
        getattr(param(2, 2), method)(axis=axis)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("method", REDUCTIONS)
@pytest.mark.parametrize("axis", [1.5, True, "0", (0, 1.0)])
def test_reduction_axis_of_another_kind_is_a_type_error(method, axis):
    with pytest.raises(TypeError, match=f"{method}: axis must be an integer"):
        getattr(param(2, 2), method)(axis=axis)


@pytest.mark.parametrize("method", REDUCTIONS)
@pytest.mark.parametrize("axis", [(0, 0), [1, -1]])
def test_reduction_axis_named_twice_is_a_runtime_error(method, axis):
    with pytest.raises(RuntimeError, match=f"{method}: axis must be distinct"):
        getattr(param(2, 2), method)(axis=axis)


@pytest.mark.parametrize("method", REDUCTIONS)
def test_reduction_keepdims_must_be_a_bool(method):
    with pytest.raises(TypeError, match="keepdims"):
        getattr(param(2, 2), method)(axis=0, keepdims=1)


def test_reduction_axis_list_and_empty_tuple_and_0d_as_pytorch():
    x = param(2, 3)
    y = x.sum(axis=[0, 1])
    y.backward()
    assert y.item() == 21.0 and x.grad.shape == (2, 3)
    assert x.mean(axis=()).item() == 3.5  # (torch: an empty list of dims reduces every axis)
    assert gc.tensor(4.0).sum(axis=0).item() == 4.0 and gc.tensor(4.0).max(axis=-1).item() == 4.0
    with pytest.raises(IndexError, match="axis 1"):
        gc.tensor(4.0).sum(axis=1)


def test_max_of_no_elements_is_an_error_naming_empty():
    with pytest.raises(RuntimeError, match="empty"):
        gc.tensor([]).max()
    with pytest.raises(RuntimeError, match="axis 1.*empty"):
        gc.tensor(np.ones((2, 0))).max(axis=1)
    assert gc.tensor(np.ones((0, 3))).max(axis=1).shape == (0,)  # (only the reduced axis must be non-empty)


def test_max_gradient_goes_to_the_nan_as_pytorch():
    x = gc.tensor([1.0, np.nan, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    x = gc.tensor([[1.0, np.nan], [3.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("shape", [(2.5,), (None,), (True, 3), ((2, "3"),)])
def test_reshape_sizes_must_be_integers(shape):
    with pytest.raises(TypeError, match="reshape: shape must be integers"):
        param(6).reshape(*shape)


@pytest.mark.parametrize("shape", [(-1, -1), (-2, -3)])
def test_reshape_allows_one_inferred_size(shape):
    with pytest.raises(RuntimeError, match="reshape: shape must be sizes >= 0, with at most one -1"):
        param(6).reshape(*shape)


def test_reshape_to_the_wrong_size_is_a_runtime_error_and_a_value_error():
    with pytest.raises(RuntimeError, match=r"\(6,\).*\(4, 2\)") as caught:
        param(6).reshape(4, 2)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("dims, error, words", [
    ((0, 0), RuntimeError, "permutation"), ((0,), RuntimeError, "permutation"),
    ((0, 5), IndexError, "axis 5 is out of range"), ((0, 1.0), TypeError, "dims must be an integer")])
def test_permute_dims_must_be_a_permutation(dims, error, words):
    with pytest.raises(error, match=f"permute: .*{words}"):
        param(2, 3).permute(*dims)


@pytest.mark.parametrize("dims, error, words", [
    ((0, 2), IndexError, "axis 2 is out of range"), ((-3, 0), IndexError, "axis -3 is out of range"),
    ((0, 1.0), TypeError, "dim1 must be an integer"), ((True, 0), TypeError, "dim0 must be an integer")])
def test_transpose_dims_must_be_axes_of_the_tensor(dims, error, words):
    with pytest.raises(error, match=f"transpose: .*{words}"):
        param(2, 3).transpose(*dims)


@pytest.mark.parametrize("dims", [((1, 0),), ([1, 0],), (0,), (2, 0, 1)])
def test_transpose_of_other_than_two_dims_points_to_permute(dims):
    with pytest.raises(TypeError, match=r"transpose\(dim0, dim1\).*permute"):
        param(2, 3, 4).transpose(*dims)


def test_transpose_swaps_the_two_dims_as_torch_does():
    x = param(2, 3)
    assert x.transpose(0, 1).shape == (3, 2) and x.transpose(-2, -1).shape == (3, 2)
    np.testing.assert_array_equal(x.transpose(0, 1).data, x.data.T)
    y = param(2, 3, 4)
    assert y.transpose(0, 2).shape == (4, 3, 2) and y.transpose(1, -1).shape == (2, 4, 3)
    assert y.transpose().shape == y.T.shape == (4, 3, 2)  # no argument: every axis reversed, as numpy's
    assert param().transpose(0, -1).shape == ()  # a 0-d tensor accepts 0 and -1, as in PyTorch


# ----- in-place arithmetic, as PyTorch --------------------------------------------------------------
IN_PLACE = {"+=": lambda a, b: a.__iadd__(b), "-=": lambda a, b: a.__isub__(b),
            "*=": lambda a, b: a.__imul__(b), "/=": lambda a, b: a.__itruediv__(b)}


@pytest.mark.parametrize("symbol", IN_PLACE)
def test_in_place_on_a_leaf_that_requires_grad_is_a_runtime_error_as_pytorch(symbol):
    w = param(2, 3)
    with pytest.raises(RuntimeError, match=f"leaf Variable that requires grad .* in-place .*'{re.escape(symbol)}'"):
        IN_PLACE[symbol](w, 2.0)
    np.testing.assert_array_equal(w.data, param(2, 3).data)


@pytest.mark.parametrize("symbol, expected", [("+=", [[3, 4, 5], [6, 7, 8]]), ("-=", [[-1, 0, 1], [2, 3, 4]]),
                                              ("*=", [[2, 4, 6], [8, 10, 12]]), ("/=", [[.5, 1, 1.5], [2, 2.5, 3]])])
def test_in_place_under_no_grad_changes_the_leaf_itself(symbol, expected):
    w = param(2, 3)
    w.grad = np.ones((2, 3))
    data, grad = w.data, w.grad
    with gc.no_grad():
        result = IN_PLACE[symbol](w, 2.0)
    assert result is w and w.data is data and w.grad is grad and w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.data, expected)
    np.testing.assert_array_equal(grad, np.ones((2, 3)))


def test_in_place_broadcasts_the_other_operand_into_self():
    x = gc.tensor(np.zeros((2, 3)))  # (no grad involved: in place with grad mode on too)
    alias = x
    x += gc.tensor([1.0, 2.0, 3.0])
    x *= np.array([[1.0], [2.0]])
    x -= [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]
    assert x is alias
    np.testing.assert_array_equal(x.data, [[0.5, 1.5, 2.5], [2.0, 4.0, 6.0]])


@pytest.mark.parametrize("other", [np.ones((2, 2, 3)), np.ones((3,))])
def test_in_place_that_would_change_the_shape_is_a_shape_error_as_pytorch(other):
    w = param(2, 3) if other.shape == (2, 2, 3) else param(1)
    with gc.no_grad(), pytest.raises(ShapeError, match=r"'\+=' in place: output with shape .* doesn't match "
                                                        r"the broadcast shape"):
        w += other
    assert w.shape in ((2, 3), (1,))


def test_in_place_with_a_graph_to_record_gives_a_new_tensor():
    w = param(3)
    y = w * 2.0
    before = y
    y += w  # a non-leaf that requires grad: out of place here (PyTorch: in place, version-counted)
    assert y is not before and not y.is_leaf
    np.testing.assert_array_equal(before.data, [2.0, 4.0, 6.0])
    total = gc.tensor(0.0)
    total += w.sum()  # a constant plus a tensor that requires grad: the result needs the graph
    total.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0, 1.0])


def test_student_sgd_step_under_no_grad_updates_the_linear_layers_weight():
    layer = gc.nn.Linear(3, 2)
    x, y = gc.tensor(np.ones((4, 3))), gc.tensor(np.zeros((4, 2)))
    before = layer.weight.data.copy()
    F.mse_loss(layer(x), y).backward()
    with gc.no_grad():
        for p in layer.parameters():
            p -= 0.1 * p.grad
    assert layer.weight.is_leaf and layer.weight in list(layer.parameters())
    np.testing.assert_allclose(layer.weight.data, before - 0.1 * layer.weight.grad)
    assert not np.allclose(layer.weight.data, before)


# ----- comparisons, as PyTorch ---------------------------------------------------------------------
@pytest.mark.parametrize("symbol, method, expected", [
    ("<", "lt", [True, False, False]), ("<=", "le", [True, True, False]), (">", "gt", [False, False, True]),
    (">=", "ge", [False, True, True]), ("==", "eq", [False, True, False]), ("!=", "ne", [True, False, True])])
def test_comparisons_give_a_bool_tensor_without_a_graph(symbol, method, expected):
    MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}  # (2 > x is x < 2)
    x = gc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (eval(f"x {symbol} 2"), getattr(x, method)(2.0), getattr(x, method)(gc.tensor([2.0])),
                   eval(f"np.full(3, 2.0) {MIRRORED.get(symbol, symbol)} x")):
        assert isinstance(result, gc.autograd.BoolTensor) and not result.requires_grad and result.is_leaf
        np.testing.assert_array_equal(result.data, expected)


def test_a_comparison_selects_as_a_mask_and_prints_as_bools():
    x = gc.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.data, [2.0, 3.0])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0], [1.0, 0.0]])
    assert repr(x > 0) == "tensor([[False,  True],\n        [ True, False]])"


def test_comparison_broadcasts_and_refuses_shapes_that_do_not_fit():
    np.testing.assert_array_equal((param(2, 1) < param(3)).data, [[0, 1, 1], [0, 0, 1]])
    with pytest.raises(ShapeError, match=r"\(2,\) and \(3,\) cannot be broadcast together for '<'"):
        param(2) < param(3)


def test_equality_is_by_value_and_hash_by_identity_as_pytorch():
    a, b = gc.tensor([1.0, 2.0]), gc.tensor([1.0, 2.0])
    assert hash(a) != hash(b) and len({a, b}) == 2 and {a: 1}[a] == 1
    assert bool((a == b).data.all()) and a in [a] and [a, b].index(a) == 0  # identity is tried first
    assert (a == None) is False and (a != "a") is True  # noqa: E711 (not numbers: never equal)
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        a in [b]  # as in PyTorch: == of several elements has no single truth
    with pytest.raises(TypeError, match="'<' not supported"):
        a < None


# ----- indexing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("index, words", [(5, "out of range"), ((0, 0), "too many indices"),
                                          (1.5, "index must be an integer")])
def test_bad_index_is_an_index_error_in_the_tensors_terms(index, words):
    with pytest.raises(IndexError, match=f"getitem: .*{words}"):
        param(2)[index]


# ----- backward, hooks, gradcheck ----------------------------------------------------------------
def test_backward_grad_of_the_wrong_shape_is_a_mismatch_in_shape():
    with pytest.raises(RuntimeError, match=r"mismatch in shape.*\(3,\).*\(2,\)"):
        (param(2) * 2).backward(np.ones(3))


@pytest.mark.parametrize("returned", ["abc", [None], {"g": 1}])
def test_a_hook_returning_no_gradient_is_a_type_error_naming_the_hook(returned):
    x = param(1)

    def bad_hook(g):
        return returned
    x.register_hook(bad_hook)
    with pytest.raises(TypeError, match="hook 'test_.*bad_hook' must return None or a gradient"):
        (x * 2).sum().backward()


def test_gradcheck_leaves_every_grad_alone_as_pytorch():
    x, w = param(2), param(2)
    x.grad, w.grad = np.array([7.0, 7.0]), np.array([5.0, 5.0])
    assert gc.gradcheck(lambda v: (v * w).sum(), x)
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])
    np.testing.assert_array_equal(w.grad, [5.0, 5.0])  # (a leaf captured by fn, not an input)


def test_gradcheck_names_its_inputs_and_seed():
    with pytest.raises(TypeError, match=r"gradcheck: inputs\[1\] must be"):
        gc.gradcheck(lambda a, b: a * 2, param(1), "x")
    with pytest.raises(TypeError, match="gradcheck: seed"):
        gc.gradcheck(lambda a: a * 2, param(1), seed="x")


def test_graph_helpers_check_their_arguments():
    with pytest.raises(TypeError, match="graph_was_freed: t must be a Tensor"):
        graph_was_freed(np.ones(2))
    with pytest.raises(TypeError, match="computation_graph: names must be"):
        computation_graph(param(1) * 2, names=5)
    with pytest.raises(TypeError, match="computation_graph: names must be"):
        computation_graph(param(1) * 2, names={"x": np.ones(1)})


# ----- functional: stack, concatenate, softmax's axis, named inputs ------------------------------
@pytest.mark.parametrize("join", [F.stack, F.concatenate])
def test_join_axis_out_of_range_names_it(join):
    with pytest.raises(IndexError, match=f"{join.__name__}: axis 5 is out of range"):
        join([param(1), param(1)], axis=5)


def test_stack_accepts_the_new_last_axis_and_negative_axes():
    assert F.stack([param(2), param(2)], axis=1).shape == (2, 2)
    assert F.stack([param(2), param(2)], axis=-3 + 1).shape == (2, 2)
    with pytest.raises(IndexError, match="axis -3"):
        F.stack([param(2), param(2)], axis=-3)


@pytest.mark.parametrize("join", [F.stack, F.concatenate])
@pytest.mark.parametrize("tensors", [param(2, 2), np.ones((2, 2)), "ab", 5])
def test_join_needs_a_list_of_tensors(join, tensors):
    with pytest.raises(TypeError, match=f"{join.__name__}: tensors must be a list"):
        join(tensors)


@pytest.mark.parametrize("join", [F.stack, F.concatenate])
def test_join_names_the_bad_element_and_the_empty_list(join):
    with pytest.raises(TypeError, match=fr"{join.__name__}: tensors\[1\] must be"):
        join([param(1), "a"])
    with pytest.raises(RuntimeError, match="at least one tensor"):
        join([])


def test_concatenate_refuses_0d_tensors_and_mixed_ranks_as_pytorch():
    with pytest.raises(RuntimeError, match=r"tensors\[0\] must be at least 1-D \(a zero-dimensional"):
        F.concatenate([gc.tensor(1.0), gc.tensor(2.0)])
    with pytest.raises(RuntimeError, match="same number of axes"):
        F.concatenate([param(1), param(1, 1)])


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_axis_is_checked(fn):
    with pytest.raises(IndexError, match=f"{fn.__name__}: axis 2 is out of range"):
        fn(param(2, 2), axis=2)
    with pytest.raises(TypeError, match=f"{fn.__name__}: axis must be an integer"):
        fn(param(2, 2), axis=1.0)


@pytest.mark.parametrize("call, words", [
    (lambda: F.relu("a"), "relu: x must be"), (lambda: F.softmax(None), "softmax: x must be"),
    (lambda: F.mse_loss([1.0], "a"), "mse_loss: target must be"),
    (lambda: F.cross_entropy("a", [0]), "cross_entropy: logits must be"),
    (lambda: F.linear(np.ones((1, 2)), "w"), "linear: weight must be"),
    (lambda: F.linear_activation(np.ones((1, 2)), np.ones((2, 2)), "b", "tanh"), "linear_activation: bias must be"),
    (lambda: as_tensor(None), "as_tensor: value must be")])
def test_functions_name_the_argument_the_caller_passed(call, words):
    with pytest.raises(TypeError, match=words):
        call()


def test_shape_error_is_both_runtime_and_value_error():
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
