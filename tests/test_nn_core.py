"""gradcourse.nn core: Module bookkeeping, Linear, the activation modules and Sequential."""
import math

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import nn
from gradcourse.autograd import ShapeError


def small_net():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1, bias=False))


# ----- Linear ----------------------------------------------------------------------------------
def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in(seeded):
    layer = nn.Linear(16, 500)
    bound = 1 / math.sqrt(16)
    w, b = layer.weight.data, layer.bias.data
    assert w.shape == (16, 500) and b.shape == (500,)
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound   # fills the interval
    assert abs(w.mean()) < 0.01                                # 6 standard errors of the mean
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.05)  # U(-c, c) has variance c^2 / 3
    assert b.max() > 0.9 * bound and b.min() < -0.9 * bound


def test_linear_parameters_are_leaf_parameters():
    layer = nn.Linear(3, 2)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    for p in layer.parameters():
        assert isinstance(p, nn.Parameter) and isinstance(p, gc.Tensor)
        assert p.requires_grad and p.is_leaf and p.grad is None


def test_linear_init_is_reproducible_with_manual_seed():
    gc.manual_seed(7)
    first = nn.Linear(4, 3).weight.data.copy()
    second = nn.Linear(4, 3).weight.data.copy()
    gc.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(4, 3).weight.data, first)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_forward_equals_numpy(x_shape, rng):
    layer = nn.Linear(3, 2)
    x = rng.standard_normal(x_shape)
    expected = np.tensordot(x, layer.weight.data, axes=([-1], [0])) + layer.bias.data
    out = layer(gc.tensor(x))
    assert out.shape == x_shape[:-1] + (2,)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)


def test_linear_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data)


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2)])
def test_linear_rejects_non_positive_sizes(sizes):
    with pytest.raises(ValueError, match="positive"):
        nn.Linear(*sizes)


def test_linear_gradcheck_through_its_parameters(make_leaf, seeded):
    layer = nn.Linear(3, 2)
    x = make_leaf((4, 3))
    assert gc.gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)


# ----- Module bookkeeping ----------------------------------------------------------------------
def test_sequential_parameter_names_and_order():
    net = small_net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight"]
    expected = [net[0].weight, net[0].bias, net[2].weight, net[2].bias, net[4].weight]
    assert len(net.parameters()) == len(expected)
    assert all(p is q for p, q in zip(net.parameters(), expected))


class Net(nn.Module):
    def __init__(self):
        self.scale = nn.Parameter(1.5)
        self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
        self.head = nn.Linear(3, 1)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.head(self.body(x)) * self.scale


def test_nested_module_parameter_names():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]


def test_calling_a_module_runs_forward():
    net = Net()
    out = net(np.ones((4, 2)))
    assert net.calls == 1 and out.shape == (4, 1)
    expected = (np.tanh(np.ones((4, 2)) @ net.body[0].weight.data + net.body[0].bias.data)
                @ net.head.weight.data + net.head.bias.data) * 1.5
    np.testing.assert_allclose(out.data, expected, rtol=1e-13)


def test_module_without_forward():
    with pytest.raises(NotImplementedError, match="Bare"):
        type("Bare", (nn.Module,), {})()(1.0)


def test_zero_grad_sets_every_gradient_to_none():
    net = Net()
    net(np.ones((4, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert [m.training for m in net.modules()] == [False] * 5  # Net, body, body.0, body.1, head
    net.body.train()
    assert net.body[1].training and not net.training and not net.head.training
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not any(m.training for m in net.modules())


# ----- forward hooks ---------------------------------------------------------------------------
def test_forward_hook_reads_the_output():
    net = small_net()
    seen = []
    net[1].register_forward_hook(lambda module, inputs, output: seen.append((module, inputs, output)))
    x = gc.tensor(np.ones((2, 3)))
    out = net(x)
    (module, inputs, output), = seen
    assert module is net[1] and isinstance(inputs, tuple) and len(inputs) == 1
    np.testing.assert_allclose(output.data, np.tanh(inputs[0].data))
    np.testing.assert_allclose(out.data, net[2:](output).data)


def test_forward_hook_can_replace_the_output_and_be_removed():
    layer = nn.Tanh()
    other = nn.Tanh()
    handle = layer.register_forward_hook(lambda module, inputs, output: output * 0.0 + 7.0)
    np.testing.assert_allclose(layer(np.zeros(3)).data, 7.0)
    np.testing.assert_allclose(other(np.zeros(3)).data, 0.0)  # hooks belong to one module only
    handle.remove()
    np.testing.assert_allclose(layer(np.zeros(3)).data, 0.0)


def test_forward_hook_replacement_carries_gradients():
    layer = nn.Linear(2, 2)
    layer.register_forward_hook(lambda module, inputs, output: output * 3.0)
    x = gc.tensor(np.ones((1, 2)), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.bias.grad, [3.0, 3.0])


# ----- Sequential ------------------------------------------------------------------------------
def test_sequential_indexing_iteration_and_len():
    net = small_net()
    modules = list(net)
    assert len(net) == 5 and len(modules) == 5
    assert net[0] is modules[0] and net[-1] is modules[4]
    assert isinstance(net[1], nn.Tanh) and isinstance(net[3], nn.ReLU)


def test_sequential_slice_shares_modules_and_composes(rng):
    net = small_net()
    head, tail = net[:2], net[2:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and len(tail) == 3
    assert head[0] is net[0] and tail[0] is net[2]
    assert [name for name, _ in tail.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(tail(head(x)).data, net(x).data, rtol=1e-14)
    assert len(net[::2]) == 3 and net[::2][1] is net[2]


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="function"):
        nn.Sequential(nn.Tanh(), lambda x: x)


# ----- Sequential's fused Linear + activation nodes ------------------------------------------
def run_unfused(net, x):
    """The same forward one module at a time, so every Linear makes its own graph node."""
    for module in net:
        x = module(x)
    return x


def graph_size(root):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen and node._backward is not None:
            seen.add(id(node))
            stack.extend(node._parents)
    return len(seen)


@pytest.mark.parametrize("name", list(nn.ACTIVATIONS))
def test_sequential_fuses_exactly_the_activations_that_linear_activation_computes(name):
    net = nn.Sequential(nn.Linear(3, 2), nn.activation_module(name))
    x = gc.tensor(np.ones((4, 3)), requires_grad=True)
    out = net(x)
    fused = name in F.ACTIVATIONS_FROM_OUTPUT
    assert graph_size(out) == (1 if fused else 1 + (name not in ("identity", "linear")))
    np.testing.assert_array_equal(out.data, run_unfused(net, x).data)


@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.ReLU])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(6, 3), (2, 5, 3)])
def test_fused_layers_give_bit_identical_values_and_gradients(activation, bias, x_shape, rng, seeded):
    net = nn.Sequential(nn.Linear(3, 4, bias=bias), activation(), nn.Linear(4, 4, bias=bias), activation(),
                        nn.Linear(4, 1))
    x_data = rng.standard_normal(x_shape)
    results = []
    for forward in (net, lambda x: run_unfused(net, x)):
        net.zero_grad()
        x = gc.tensor(x_data, requires_grad=True)
        loss = (forward(x) ** 2).mean()
        nodes = graph_size(loss)  # (before backward, which frees the graph)
        loss.backward()
        results.append((nodes, loss.item(), x.grad, [p.grad for p in net.parameters()]))
    (fused_nodes, *fused), (plain_nodes, *plain) = results
    assert fused_nodes == plain_nodes - 2  # two Linear + activation pairs, one node each
    assert fused[0] == plain[0]
    np.testing.assert_array_equal(fused[1], plain[1])
    for fused_grad, plain_grad in zip(fused[2], plain[2]):
        np.testing.assert_array_equal(fused_grad, plain_grad)


def test_a_forward_hook_on_either_module_keeps_the_pre_activation_visible(rng):
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    x = gc.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    seen = []
    handle = net[1].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    out = net(x)
    handle.remove()
    pre_activation = seen[0]
    assert isinstance(pre_activation, gc.Tensor) and pre_activation.requires_grad
    np.testing.assert_array_equal(out.data, np.tanh(pre_activation.data))
    assert out._parents == (pre_activation,)  # the Tanh ran as its own node on the Linear's output
    assert graph_size(net(x)) == 1 and graph_size(out) == 2  # without the hook the pair fuses again


def test_fusion_is_skipped_for_subclasses_and_other_activations(rng):
    class ScaledLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2.0
    x = gc.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    for net in (nn.Sequential(ScaledLinear(3, 3), nn.Tanh()), nn.Sequential(nn.Linear(3, 3), nn.GELU())):
        assert graph_size(net(x)) == graph_size(run_unfused(net, x))
    scaled = nn.Sequential(ScaledLinear(3, 3), nn.Tanh())
    np.testing.assert_array_equal(scaled(x).data, np.tanh(2.0 * (x.data @ scaled[0].weight.data + scaled[0].bias.data)))


def test_linear_activation_accepts_arrays_and_rejects_unknown_activations(rng):
    layer = nn.Linear(3, 2)
    x = rng.standard_normal((4, 3))
    out = F.linear_activation(x, layer.weight, layer.bias, "sigmoid")
    np.testing.assert_array_equal(out.data, F.sigmoid(F.linear(x, layer.weight, layer.bias)).data)
    from_arrays = F.linear_activation(x, layer.weight.data, layer.bias.data, "sigmoid")
    np.testing.assert_array_equal(from_arrays.data, out.data)
    with pytest.raises(ValueError, match="gelu.*relu.*sigmoid.*tanh|must be one of"):
        F.linear_activation(x, layer.weight, layer.bias, "gelu")
    with pytest.raises(ShapeError, match=r"input must be \(\.\.\., 2\).*\(2, 2\).*got \(4, 3\)"):
        F.linear_activation(x, nn.Linear(2, 2).weight, None, "tanh")


# ----- activation modules ----------------------------------------------------------------------
X = np.array([[-3.0, -0.4, 0.2, 1.0, 2.5]])


@pytest.mark.parametrize("module, reference", [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)),
    (nn.ReLU(), lambda x: np.where(x > 0, x, 0.0)),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.GELU(), lambda x: np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x)),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Identity(), lambda x: x),
], ids=["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "LeakyReLU-0.2", "GELU", "GELU-tanh", "Identity"])
def test_activation_modules(module, reference):
    out = module(gc.tensor(X))
    np.testing.assert_allclose(out.data, reference(X), rtol=1e-12, atol=1e-15)
    assert module.parameters() == []


def test_identity_returns_its_input():
    x = gc.tensor([1.0, 2.0], requires_grad=True)
    assert nn.Identity()(x) is x


def test_gradcheck_through_an_mlp_with_every_activation(make_leaf, seeded):
    net = nn.Sequential(
        nn.Linear(3, 4), nn.Sigmoid(),
        nn.Linear(4, 4), nn.Tanh(),
        nn.Linear(4, 4), nn.ReLU(),
        nn.Linear(4, 4), nn.LeakyReLU(0.1),
        nn.Linear(4, 4), nn.GELU(),
        nn.Linear(4, 4), nn.GELU(approximate="tanh"),
        nn.Identity(), nn.Linear(4, 2),
    )
    x = make_leaf((5, 3))
    params = net.parameters()
    assert len(params) == 14
    # gradcheck nudges each parameter's data in place, so passing them checks dL/dW and dL/db too
    assert gc.gradcheck(lambda x, *ps: net(x), x, *params)


def test_module_repr_names_its_layers():
    text = repr(small_net())
    assert "(0): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "(1): Tanh()" in text and "(4): Linear(in_features=2, out_features=1, bias=False)" in text


def test_a_shared_layer_is_listed_once():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias"]
    assert len(net.parameters()) == 2


# ----- the one list of norms, the one model check, the one zero_grad ---------------------------
@pytest.mark.parametrize("norm, kinds", [(None, []), ("none", []), ("layer", [nn.LayerNorm]), ("batch", [nn.BatchNorm1d])])
def test_mlp_takes_each_name_in_norms(norm, kinds):
    model = nn.MLP(2, 4, 1, 2, norm=norm)
    found = [type(m) for m in model.modules() if isinstance(m, (nn.LayerNorm, nn.BatchNorm1d))]
    assert found == kinds * 2
    assert norm in nn.NORMS and ("none" if norm is None else norm) in nn.NORM_NAMES


def test_check_module_returns_the_module_and_refuses_anything_else():
    layer = nn.Linear(2, 2)
    assert nn.check_module("model", layer, "fit") is layer
    with pytest.raises(TypeError, match=r"^accuracy: model must be an nn.Module .*got <function"):
        nn.check_module("model", lambda x: x, "accuracy")


def test_clear_grads_is_what_zero_grad_does():
    net = nn.Linear(2, 2)
    for set_to_none, expected in ((False, 0.0), (True, None)):
        for p in net.parameters():
            p.grad = np.ones_like(p.data)
        nn.clear_grads(net.parameters(), set_to_none)
        assert all((p.grad is None) if expected is None else np.all(p.grad == 0) for p in net.parameters())
    with pytest.raises(TypeError, match="SGD.zero_grad: set_to_none must be True or False, got 1"):
        nn.clear_grads(net.parameters(), 1, "SGD.zero_grad")
