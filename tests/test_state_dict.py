"""Saving and loading models: `state_dict` / `load_state_dict` as in PyTorch, and pickle."""
import pickle

import numpy as np
import pytest

import gradcourse as gc
from gradcourse import nn


def mlp(seed, **options):
    gc.manual_seed(seed)
    return nn.MLP(3, 5, 2, num_blocks=2, **options)


def batch(seed=0, n=8):
    return np.random.default_rng(seed).standard_normal((n, 3))


def train_a_little(model, steps=3, lr=0.1):
    """Plain SGD by hand (not gradcourse.optim), so this file tests saving and nothing else."""
    for step in range(steps):
        model.zero_grad()
        (model(batch(step)) ** 2).mean().backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    return model


# ----- the names and values ------------------------------------------------------------------
def test_state_dict_names_parameters_and_buffers_as_pytorch_does():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1, bias=False))
    # torch.nn.Sequential(Linear, BatchNorm1d, Tanh, Linear(bias=False)).state_dict().keys()
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                        "1.running_var", "1.num_batches_tracked", "3.weight"]
    assert [name for name, _ in model.named_buffers()] == ["1.running_mean", "1.running_var",
                                                            "1.num_batches_tracked"]


def test_state_dict_holds_copies_of_the_current_values():
    model = mlp(0, norm="batch")
    model(batch())
    saved = model.state_dict()
    bn = model.blocks[0].layers[1]
    np.testing.assert_array_equal(saved["blocks.0.1.running_mean"], bn.running_mean)
    assert saved["blocks.0.1.num_batches_tracked"] == 1
    np.testing.assert_array_equal(saved["output_layer.weight"], model.output_layer.weight.data)
    before = {name: value.copy() for name, value in saved.items()}
    train_a_little(model)
    assert bn.num_batches_tracked == 4 and not np.array_equal(bn.running_mean, before["blocks.0.1.running_mean"])
    for name, value in saved.items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


# ----- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"norm": "batch"}, {"norm": "layer", "residual": True}, {}],
                         ids=["batch-norm", "residual-layer-norm", "plain"])
def test_round_trip_into_a_fresh_model_gives_the_same_outputs(options):
    trained = train_a_little(mlp(1, **options)).eval()
    fresh = mlp(2, **options).eval()
    x = batch(seed=9, n=4)
    assert not np.allclose(fresh(x).data, trained(x).data)
    result = fresh.load_state_dict(trained.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).data, trained(x).data)  # eval: running statistics used


def test_loading_copies_in_place_so_an_optimisers_references_stay_valid():
    model = mlp(3, norm="batch")
    parameters = model.parameters()
    arrays = [p.data for p in parameters] + [buffer for _, buffer in model.named_buffers()]
    model.load_state_dict(train_a_little(mlp(4, norm="batch")).state_dict())
    assert all(a is b for a, b in zip(parameters, model.parameters()))
    assert all(a is b for a, b in zip(arrays, [p.data for p in parameters] + [b for _, b in model.named_buffers()]))
    np.testing.assert_array_equal(parameters[0].data, model.state_dict()["input_layer.0.weight"])


def test_pickle_round_trip_of_a_trained_model_and_of_its_state_dict():
    trained = train_a_little(mlp(5, norm="batch")).eval()
    x = batch(seed=3, n=4)
    loaded = pickle.loads(pickle.dumps(trained))
    np.testing.assert_array_equal(loaded(x).data, trained(x).data)
    fresh = mlp(6, norm="batch").eval()
    fresh.load_state_dict(pickle.loads(pickle.dumps(trained.state_dict())))
    np.testing.assert_array_equal(fresh(x).data, trained(x).data)


def test_a_pytorch_state_dict_loads_with_its_linear_weights_transposed():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 2)).double()
    reference(torch.randn(6, 3, dtype=torch.float64))  # move the running statistics
    reference.eval()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)).eval()
    linear_weights = {"0.weight", "3.weight"}
    model.load_state_dict({name: value.numpy().T if name in linear_weights else value.numpy()
                           for name, value in reference.state_dict().items()})
    assert model[1].num_batches_tracked == 1
    x = batch(seed=4, n=5)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-12, atol=1e-12)


# ----- what load_state_dict refuses ----------------------------------------------------------
def test_strict_loading_lists_missing_and_unexpected_keys_in_one_error():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    state = model.state_dict()
    del state["2.bias"]
    state["2.gamma"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r'(?s)Sequential.*Missing key\(s\) in state_dict: "2.bias"\..*'
                                           r'Unexpected key\(s\) in state_dict: "2.gamma"\.'):
        model.load_state_dict(state)


def test_non_strict_loading_returns_the_keys_it_skipped_and_loads_the_rest():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    source = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    state = source.state_dict()
    del state["0.bias"]
    state["extra"] = np.ones(2)
    bias_before = model[0].bias.data.copy()
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.data, source[0].weight.data)
    np.testing.assert_array_equal(model[0].bias.data, bias_before)


@pytest.mark.parametrize("strict", [True, False])
def test_a_shape_mismatch_names_the_key_and_both_shapes_and_copies_nothing(strict):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    state = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).state_dict()
    state["2.bias"] = np.zeros(3)
    before = model.state_dict()
    with pytest.raises(RuntimeError, match=r"size mismatch for 2\.bias: .*shape \(3,\) .*current model is \(2,\)"):
        model.load_state_dict(state, strict=strict)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_a_transposed_linear_weight_gets_a_hint_about_pytorchs_layout():
    model = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"weight: .*\(2, 3\).*\(3, 2\).*PyTorch Linear weight.*\.T"):
        model.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(2)})


def test_load_state_dict_rejects_what_is_not_a_mapping_of_numbers():
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="load_state_dict: state_dict must be a mapping"):
        model.load_state_dict([np.zeros((3, 2)), np.zeros(2)])
    with pytest.raises(TypeError, match=r"load_state_dict: state_dict\['bias'\] must be a numeric array"):
        model.load_state_dict({"weight": np.zeros((3, 2)), "bias": ["a", "b"]})


# ----- pickle, for every layer ---------------------------------------------------------------
LAYERS = {
    nn.Linear: (lambda: nn.Linear(3, 2), (4, 3)),
    nn.Sigmoid: (nn.Sigmoid, (4, 3)),
    nn.Tanh: (nn.Tanh, (4, 3)),
    nn.ReLU: (nn.ReLU, (4, 3)),
    nn.LeakyReLU: (lambda: nn.LeakyReLU(0.2), (4, 3)),
    nn.GELU: (lambda: nn.GELU("tanh"), (4, 3)),
    nn.Identity: (nn.Identity, (4, 3)),
    nn.Sequential: (lambda: nn.Sequential(nn.Linear(3, 3), nn.Tanh()), (4, 3)),
    nn.Residual: (lambda: nn.Residual(nn.Linear(3, 3), scale=0.5), (4, 3)),
    nn.LayerNorm: (lambda: nn.LayerNorm(3), (4, 3)),
    nn.BatchNorm1d: (lambda: nn.BatchNorm1d(3, momentum=None), (4, 3)),
    nn.RNN: (lambda: nn.RNN(3, 2), (2, 5, 3)),
    nn.LSTM: (lambda: nn.LSTM(3, 2), (2, 5, 3)),
    nn.MLP: (lambda: nn.MLP(3, 4, 2, num_blocks=1, norm="batch"), (4, 3)),
}


def test_every_layer_type_is_in_the_pickle_test():
    layer_types = {value for value in vars(nn).values()
                   if isinstance(value, type) and issubclass(value, nn.Module) and value is not nn.Module}
    assert layer_types == set(LAYERS)


@pytest.mark.parametrize("layer_type", list(LAYERS), ids=lambda t: t.__name__)
def test_every_layer_pickles_after_a_forward_and_computes_the_same(layer_type):
    make, shape = LAYERS[layer_type]
    gc.manual_seed(0)
    layer = make()
    x = np.random.default_rng(1).standard_normal(shape)
    output = layer(gc.tensor(x, requires_grad=True))  # a graph, with closures, hangs off the layer now
    loaded = pickle.loads(pickle.dumps(layer))
    assert type(loaded) is layer_type
    first = output[0] if isinstance(output, tuple) else output
    again = loaded(x)
    np.testing.assert_allclose((again[0] if isinstance(again, tuple) else again).data, first.data, rtol=1e-12)
    for name, value in layer.state_dict().items():
        if not name.endswith(("running_mean", "running_var", "num_batches_tracked")):  # moved by the forward
            np.testing.assert_array_equal(loaded.state_dict()[name], value, err_msg=name)


@pytest.mark.parametrize("layer_type, lists", [(nn.RNN, ["hidden_states"]),
                                               (nn.LSTM, ["hidden_states", "cell_states"])])
def test_pickling_a_recurrent_layer_leaves_out_its_step_lists(layer_type, lists):
    layer = layer_type(3, 2)
    layer(np.ones((2, 4, 3)))
    loaded = pickle.loads(pickle.dumps(layer))
    for name in lists:
        assert getattr(loaded, name) == [] and len(getattr(layer, name)) == 4  # the original keeps its own
    loaded(np.ones((2, 3, 3)))
    assert all(len(getattr(loaded, name)) == 3 for name in lists)
