"""How much does gradcourse's autograd cost over hand-written numpy?

One SGD training step of a deep tanh MLP (mean-squared-error loss), timed in gradcourse and in
the same network with its forward and backward written out by hand in numpy. The two are
interleaved step by step in one process so that machine noise hits both alike, and the ratio of
the medians is printed. Run: `make bench` or `python benchmarks/bench_autograd.py [--steps N]`.

The gradcourse network is built as a student would write it, `nn.Sequential(Linear, Tanh, ...)`;
Sequential records each Linear + Tanh pair as one graph node (`F.linear_activation`). The last
line repeats the 50-layer step calling the modules one by one, so that each records its own
node, to show what the fusion is worth.
"""
import argparse
import time

import numpy as np

import gradcourse as gc
from gradcourse import functional as F
from gradcourse import nn, optim

LR = 0.01


def make_weights(num_layers, width, seed=0):
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(width)
    return [(rng.uniform(-bound, bound, (width, width)), rng.uniform(-bound, bound, width))
            for _ in range(num_layers)]


class HandWrittenMLP:
    """The same network, with forward and backward written by hand (no graph)."""

    def __init__(self, weights):
        self.weights = [(W.copy(), b.copy()) for W, b in weights]

    def step(self, x, y):
        activations = [x]
        for W, b in self.weights:
            activations.append(np.tanh(activations[-1] @ W + b))
        out = activations[-1]
        loss = np.mean((out - y) ** 2)
        grad_h = 2.0 * (out - y) / out.size
        for layer in reversed(range(len(self.weights))):
            W, b = self.weights[layer]
            h = activations[layer + 1]
            grad_z = grad_h * (1.0 - h * h)
            grad_W = activations[layer].T @ grad_z
            grad_b = grad_z.sum(axis=0)
            grad_h = grad_z @ W.T
            W -= LR * grad_W
            b -= LR * grad_b
        return loss


class GradcourseMLP:
    """The network built from gradcourse layers, trained by `optim.SGD`.

    `fuse=False` calls the modules one by one instead of through Sequential, so that every
    Linear and every Tanh records its own graph node.
    """

    def __init__(self, weights, fuse=True):
        layers = []
        for W, b in weights:
            linear = nn.Linear(*W.shape)
            linear.weight.data[...] = W
            linear.bias.data[...] = b
            layers += [linear, nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.forward = self.model if fuse else self.one_module_at_a_time
        self.optimizer = optim.SGD(self.model.parameters(), lr=LR)

    def one_module_at_a_time(self, x):
        for module in self.model:
            x = module(x)
        return x

    def step(self, x, y):
        self.optimizer.zero_grad()
        loss = F.mse_loss(self.forward(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def compare(num_layers, width, batch, steps, fuse=True):
    weights = make_weights(num_layers, width)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    ours, by_hand = GradcourseMLP(weights, fuse), HandWrittenMLP(weights)
    x_tensor, y_tensor = gc.tensor(x), gc.tensor(y)
    times = {"gradcourse": [], "numpy": []}
    for _ in range(steps):
        for name, run in (("gradcourse", lambda: ours.step(x_tensor, y_tensor)),
                          ("numpy", lambda: by_hand.step(x, y))):
            start = time.perf_counter()
            loss = run()
            times[name].append(time.perf_counter() - start)
    assert np.isclose(ours.step(x_tensor, y_tensor), by_hand.step(x, y), rtol=1e-9), "the two networks disagree"
    ours_ms, numpy_ms = (1e3 * np.median(times[k]) for k in ("gradcourse", "numpy"))
    return ours_ms, numpy_ms, loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    print(f"{'weight layers x width x batch':>31} {'gradcourse ms':>14} {'numpy ms':>9} {'ratio':>6}")
    for num_layers, width, batch, fuse in ((20, 64, 64, True), (50, 32, 32, True), (50, 32, 32, False)):
        ours_ms, numpy_ms, _ = compare(num_layers, width, batch, args.steps, fuse)
        label = f"{num_layers} x {width} x {batch}" + ("" if fuse else ", unfused")
        print(f"{label:>31} {ours_ms:14.3f} {numpy_ms:9.3f} {ours_ms / numpy_ms:6.2f}x")
    print("target: at most 1.30x on the first two lines (for scale, PyTorch's CPU float64 step "
          "measured 1.7x and 3.1x there)")


if __name__ == "__main__":
    main()
