"""What every case shares: the digits, the networks, a training run and how it is measured.

Each case trains a small network on the bundled digits for a fixed number of steps and measures
its accuracy on held-out digits; `Run` is what a run did.
"""
import contextlib
import functools

import numpy as np

from .. import functional as F
from .. import nn, rng
from ..autograd import no_grad, tensor
from ..data import load_digits, standardize, train_test_split

HIDDEN, STEPS, BATCH = 32, 200, 64          # the cases' network width, run length and batch size


@functools.lru_cache(maxsize=None)
def digits_split(seed=0):
    """Standardised digits: X_train, X_test, y_train, y_test (a quarter held out, split by `seed`)."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed, stratify=y)
    X_train, X_test = standardize(X_train, X_test)
    return X_train, X_test, y_train, y_test


@contextlib.contextmanager
def _seeded(seed):
    """Build from a generator seeded with `seed`; the notebook's own generator is left as it was."""
    with rng.seeded(seed) as generator:
        yield generator


def _mlp(seed, activation=nn.ReLU):
    """64 -> 32 -> 32 -> 10 with `activation` after each hidden layer, built from generator `seed`."""
    with _seeded(seed):
        return nn.Sequential(nn.Linear(64, HIDDEN), activation(), nn.Linear(HIDDEN, HIDDEN), activation(),
                             nn.Linear(HIDDEN, 10))


def test_accuracy(model, seed):
    """Fraction of the held-out digits (split `seed`) that `model` classifies right."""
    _, X_test, _, y_test = digits_split(seed)
    with no_grad():
        logits = model(tensor(X_test)).data
    return float(np.mean(logits.argmax(axis=1) == y_test))


def _batches(seed, steps=STEPS):
    X_train, _, y_train, _ = digits_split(seed)
    order = np.random.default_rng(seed + 1000)
    for _ in range(steps):
        idx = order.choice(len(X_train), BATCH, replace=False)
        yield X_train[idx], y_train[idx]


def _step(model, optimizer, xb, yb):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(tensor(xb)), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def _run(model, optimizer, seed, step=_step, after_step=None, steps=STEPS):
    """Train with `step(model, optimizer, xb, yb) -> loss`; the losses, as a list (nan stops the run).

    `after_step(model, t)`, if given, is called after step t = 1, 2, ... (to measure the model).
    """
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t, (xb, yb) in enumerate(_batches(seed, steps), start=1):
            loss = float(step(model, optimizer, xb, yb))
            losses.append(loss)
            if after_step is not None:
                after_step(model, t)
            if not np.isfinite(loss):
                break
    return losses


class Run:
    """What a case's training run did: its `model`, the `loss` per step and the `test_accuracy`."""

    def __init__(self, model, loss, accuracy):
        self.model, self.loss, self.test_accuracy = model, loss, accuracy

    def __repr__(self):
        last = self.loss[-1] if self.loss else float("nan")
        return (f"Run({len(self.loss)} steps, first loss {self.loss[0]:.3g}, last loss {last:.3g}, "
                f"test accuracy {self.test_accuracy:.3f})")


def _finish(model, losses, seed):
    finite = bool(losses) and np.isfinite(losses[-1])
    return Run(model, losses, test_accuracy(model, seed) if finite else 0.0)
