"""The course's central facts, measured with gradcourse's own instruments.

Each test builds its network explicitly, measures at initialisation and asserts a range of about
an order of magnitude around the measured value (the reference values, measured with PyTorch in
float64 on other random draws, are quoted in each docstring). Conventions, as in the reference:
a batch of 128 standard-normal inputs, loss = mean of the squared output of the last layer, and
"the gradient reaching layer l" = the L2 norm of dL/d(output of layer l), layer 1 being the
first hidden layer (see `gradcourse.diagnostics.measure_at_init`).
"""
import numpy as np
import pytest

import gradcourse as gc
from gradcourse import diagnostics as D
from gradcourse import functional as F
from gradcourse import nn

BATCH = 128


def standard_normal_batch(width, seed):
    """Seed the course's generator, then draw the input batch from it (the net is drawn next)."""
    gc.manual_seed(seed)
    return gc.rng.generator().standard_normal((BATCH, width))


def plain_net(num_layers, width, activation, init):
    """num_layers x (Linear(width, width) -> activation): layer l's output is its activation's output."""
    layers = []
    for _ in range(num_layers):
        layers += [nn.Linear(width, width, init=init), activation()]
    return nn.Sequential(*layers)


# ----- saturating activations ------------------------------------------------------------------
def test_sigmoid_gradient_vanishes_through_30_layers():
    """Reference: the gradient reaching layer 1 is about 6e-19 of the one reaching layer 30;
    sigma' <= 1/4 gives (1/4)^29 = 3.5e-18, and sigma' is below 1/4 away from 0."""
    x = standard_normal_batch(64, seed=0)
    m = D.measure_at_init(plain_net(30, 64, nn.Sigmoid, "xavier_normal"), x)
    ratio = m["grad_norm"][0] / m["grad_norm"][-1]
    assert 1e-20 < ratio < 1e-17, f"sigmoid, 30 layers, Xavier: measured ratio layer 1 / layer 30 {ratio:.2e}"


def test_tanh_keeps_the_gradient_but_its_activations_shrink():
    """Reference: ratio layer 1 / layer 30 about 0.7; activation std 0.63 at layer 1, 0.15 at 30."""
    x = standard_normal_batch(64, seed=0)
    m = D.measure_at_init(plain_net(30, 64, nn.Tanh, "xavier_normal"), x)
    ratio = m["grad_norm"][0] / m["grad_norm"][-1]
    first, last = m["act_std"][0], m["act_std"][-1]
    message = (f"tanh, 30 layers, Xavier: measured ratio {ratio:.2e}, "
               f"activation std {first:.3f} at layer 1 and {last:.3f} at layer 30")
    assert 0.2 < ratio < 5, message
    assert 0.5 < first < 0.75, message
    assert 0.05 < last < 0.3 and last < first / 2, message


# ----- ReLU: Kaiming versus Xavier ---------------------------------------------------------------
def test_kaiming_init_keeps_relu_activations_flat_through_50_layers():
    """Reference: std 0.83 at layer 1 and at layer 50 (theory: sqrt(1 - 1/pi) = 0.826). Over 50
    layers of width 256 the variance takes a random walk in log space, hence the wider range at 50."""
    x = standard_normal_batch(256, seed=0)
    m = D.measure_at_init(plain_net(50, 256, nn.ReLU, "kaiming_normal"), x)
    first, last = m["act_std"][0], m["act_std"][-1]
    message = f"ReLU, 50 layers, Kaiming: measured activation std {first:.3f} at layer 1, {last:.3f} at layer 50"
    assert 0.7 < first < 0.95, message
    assert 0.25 < last < 2.5, message


def test_xavier_init_halves_relu_variance_at_every_layer():
    """Reference: the std shrinks by about 2.5e7 from layer 1 to 50; half the variance lost at
    each of 49 layers predicts 2^(49/2) = 2.4e7."""
    x = standard_normal_batch(256, seed=0)
    m = D.measure_at_init(plain_net(50, 256, nn.ReLU, "xavier_normal"), x)
    shrink = m["act_std"][0] / m["act_std"][-1]
    assert 2.5e6 < shrink < 2.5e8, (f"ReLU, 50 layers, Xavier: measured std shrink factor {shrink:.2e} "
                                    f"(std {m['act_std'][0]:.3f} at layer 1, {m['act_std'][-1]:.2e} at 50)")


# ----- residual networks -----------------------------------------------------------------------
def residual_blocks(width, num_blocks=50, **options):
    """`num_blocks` blocks x + scale * W2 relu(W1 [LayerNorm](x)), Kaiming-normal in both layers,
    applied directly to the input (nn.MLP's blocks without its input and output layers)."""
    blocks = nn.MLP(width, width, 1, num_blocks=num_blocks, activation="relu", init="kaiming_normal",
                    residual=True, **options).blocks
    return nn.Sequential(*blocks), blocks


def measure_residual(seed=0, width=64, **options):
    x = standard_normal_batch(width, seed)
    net, blocks = residual_blocks(width, **options)
    m = D.measure_at_init(net, x, layers=blocks)
    return x, m["act_std"][-1], m["grad_norm"][0] / m["grad_norm"][-1]


def test_residual_connections_alone_explode_the_forward_signal():
    """Reference: std about 4e11 after 50 blocks (each block multiplies the variance by 1 + 2:
    3^25 = 8.5e11)."""
    _, std, ratio = measure_residual()
    message = f"50 residual blocks, Kaiming, no scaling: measured std {std:.2e}, gradient ratio {ratio:.2e}"
    assert 1e10 < std < 1e13, message
    assert ratio > 1e10, message


def test_scaling_each_branch_by_one_over_sqrt_blocks_keeps_the_signal():
    """Reference: std 2.6 after 50 blocks ((1 + 2/50)^(50/2) = 2.7), gradient ratio 5.6."""
    _, std, ratio = measure_residual(branch_scale=1 / np.sqrt(50))
    message = f"50 residual blocks, branch scale 1/sqrt(50): measured std {std:.3f}, gradient ratio {ratio:.3f}"
    assert 1.5 < std < 5, message
    assert 2 < ratio < 15, message


def test_zero_initialised_last_layer_makes_each_block_the_identity():
    """Reference: std exactly 1 and ratio exactly 1: each block starts as x + 0."""
    x, std, ratio = measure_residual(zero_init_residual=True)
    message = f"50 residual blocks, W2 = 0: measured std {std:.6f} (input's {np.std(x):.6f}), gradient ratio {ratio:.6f}"
    assert std == pytest.approx(np.std(x), rel=1e-12), message
    assert ratio == pytest.approx(1.0, rel=1e-12), message


def test_pre_layernorm_branches_keep_the_gradient_ratio_small():
    """Reference: gradient ratio 6.2. The std grows like sqrt(1 + 2 l): about 10 after 50 blocks."""
    _, std, ratio = measure_residual(norm="layer")
    message = f"50 pre-LayerNorm residual blocks: measured std {std:.3f}, gradient ratio {ratio:.3f}"
    assert 2 < ratio < 20, message
    assert 5 < std < 20, message


# ----- recurrent networks on the adding problem ---------------------------------------------------
def first_to_last_input_gradient(recurrent, seed=0, length=100):
    """|dL/dx_1| / |dL/dx_T| for a recurrent layer with a Linear(hidden, 1) head on its last
    hidden state, loss = mse against the adding problem's target (batch 128, length 100)."""
    X, y = gc.data.adding_problem(BATCH, length, seed=seed)
    head = nn.Linear(recurrent.hidden_size, 1)
    x = gc.tensor(X, requires_grad=True)
    _, state = recurrent(x)
    h_last = state[0] if isinstance(state, tuple) else state
    F.mse_loss(head(h_last), gc.tensor(y)).backward()
    return np.linalg.norm(x.grad[:, 0]) / np.linalg.norm(x.grad[:, -1])


def test_vanilla_rnn_forgets_the_start_of_a_100_step_sequence():
    """Reference: about 1e-23 (hidden 64, PyTorch's default init U(-1/8, 1/8))."""
    gc.manual_seed(0)
    ratio = first_to_last_input_gradient(nn.RNN(2, 64))
    assert 1e-25 < ratio < 1e-20, f"tanh RNN, hidden 64, length 100: measured ratio first/last input {ratio:.2e}"


def test_lstm_needs_a_forget_gate_bias_to_remember():
    """Reference: about 1e-20 at PyTorch's default init. Along the cell, dc_t/dc_{t-1} = f_t, and
    the forget gate starts near sigmoid(0) = 0.5, so the gradient shrinks geometrically with the
    distance. A forget-gate bias b (Jozefowicz et al., 2015) starts f near sigmoid(b): 0.73 for
    b = 1, 0.95 for b = 3, and keeps 13 and 20 orders of magnitude more."""
    ratios = {}
    for forget_bias in (0.0, 1.0, 3.0):
        gc.manual_seed(0)
        ratios[forget_bias] = first_to_last_input_gradient(nn.LSTM(2, 64, forget_bias=forget_bias))
    message = "LSTM, hidden 64, length 100: measured ratios first/last input " + ", ".join(
        f"{r:.2e} with forget bias {b:g}" for b, r in ratios.items())
    assert 1e-22 < ratios[0.0] < 1e-17, message
    assert 1e-8 < ratios[1.0] < 1e-5, message
    assert ratios[1.0] > 1e10 * ratios[0.0], message
    assert 0.1 < ratios[3.0] < 10, message
