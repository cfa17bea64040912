"""How much does gradcourse's autograd cost over hand-written numpy?

One SGD training step of a deep tanh MLP (mean-squared-error loss), timed in gradcourse and in
the same network with its forward and backward written out by hand in numpy. The two are
interleaved step by step in one process (which runs nothing else), so that machine noise hits
both alike, and the ratio of the medians is printed, with the cost per graph node:
(gradcourse step - numpy step) / nodes recorded per step. Run: `make bench` or
`python benchmarks/bench_autograd.py [--steps N] [--system-allocator]`.

The "student" rows write the step as a student does:

    loss = ((model(x) - y) ** 2).mean()
    for p in params: p.grad = None
    loss.backward()
    for p in params: p.data -= lr * p.grad

on `nn.Sequential(Linear, Tanh, ...)`, which records each Linear + Tanh pair as one node
(`F.linear_activation`). The "optimizer" row uses `F.mse_loss` and `optim.SGD` instead, and the
"unfused" row calls the modules one by one, so that each records its own node.
"""
import argparse
import time

import numpy as np

import gradcourse as gc
from gradcourse import autograd, nn, optim
from gradcourse import functional as F

LR = 0.01
TARGET = 1.2


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
    """The network built from gradcourse layers; `style` is "student", "optimizer" or "unfused"."""

    def __init__(self, weights, style):
        layers = []
        for W, b in weights:
            linear = nn.Linear(*W.shape)
            linear.weight.data[...] = W
            linear.bias.data[...] = b
            layers += [linear, nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.params = list(self.model.parameters())
        self.optimizer = optim.SGD(self.params, lr=LR)
        self.step = {"student": self.student_step, "optimizer": self.optimizer_step,
                     "unfused": self.unfused_step}[style]
        self.loss = {"student": self.student_loss, "optimizer": self.mse_loss,
                     "unfused": self.unfused_loss}[style]

    def student_loss(self, x, y):
        return ((self.model(x) - y) ** 2).mean()

    def mse_loss(self, x, y):
        return F.mse_loss(self.model(x), y)

    def unfused_loss(self, x, y):
        for module in self.model:
            x = module(x)
        return F.mse_loss(x, y)

    def student_step(self, x, y):
        loss = self.student_loss(x, y)
        for p in self.params:
            p.grad = None
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
        return loss.item()

    def optimizer_step(self, x, y):
        return self._step_with_optimizer(self.mse_loss(x, y))

    def unfused_step(self, x, y):
        return self._step_with_optimizer(self.unfused_loss(x, y))

    def _step_with_optimizer(self, loss):
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()


def recorded_ops(root):
    """The number of recorded operations (non-leaf nodes) in the graph behind `root`."""
    return sum(not node.is_leaf for node in autograd.graph_nodes(root))


def compare(num_layers, width, batch, steps, style):
    """Median step times (ms) of gradcourse and numpy, interleaved, and the nodes per step."""
    weights = make_weights(num_layers, width)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    ours, by_hand = GradcourseMLP(weights, style), HandWrittenMLP(weights)
    x_tensor, y_tensor = gc.tensor(x), gc.tensor(y)
    nodes = recorded_ops(ours.loss(x_tensor, y_tensor))
    runs = {"gradcourse": lambda: ours.step(x_tensor, y_tensor), "numpy": lambda: by_hand.step(x, y)}
    times = {name: [] for name in runs}
    for step in range(steps):
        for name in sorted(runs, reverse=step % 2 == 1):  # alternate which goes first
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    assert np.isclose(ours.step(x_tensor, y_tensor), by_hand.step(x, y), rtol=1e-9), "the two networks disagree"
    ours_ms, numpy_ms = (1e3 * np.median(times[name]) for name in runs)
    return ours_ms, numpy_ms, nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--system-allocator", action="store_true",
                        help="skip autograd.keep_freed_memory_for_reuse() (glibc's default allocator settings)")
    args = parser.parse_args()
    applied = False if args.system_allocator else autograd.keep_freed_memory_for_reuse()
    print(f"allocator: {'freed memory kept for reuse (opt-in applied)' if applied else 'system default'}; "
          f"median of {args.steps} interleaved steps")
    print(f"{'step':>10} {'layers x width x batch':>23} {'gradcourse ms':>14} {'numpy ms':>9} {'ratio':>6} "
          f"{'nodes':>6} {'us/node':>8}")
    for style, num_layers, width, batch in (("student", 20, 64, 64), ("student", 50, 32, 32),
                                            ("optimizer", 50, 32, 32), ("unfused", 50, 32, 32)):
        ours_ms, numpy_ms, nodes = compare(num_layers, width, batch, args.steps, style)
        per_node_us = 1e3 * (ours_ms - numpy_ms) / nodes
        print(f"{style:>10} {f'{num_layers} x {width} x {batch}':>23} {ours_ms:14.3f} {numpy_ms:9.3f} "
              f"{ours_ms / numpy_ms:5.2f}x {nodes:6d} {per_node_us:8.2f}")
    print(f"target: at most {TARGET:.2f}x on the student rows (for scale, PyTorch's CPU float64 step "
          f"measured 2.1-2.4x and 2.8-2.9x there)")


if __name__ == "__main__":
    main()
