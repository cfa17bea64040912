"""Case files: small training runs on the digits that fail for a hidden reason, to measure and repair.

Each case gives you a broken run to inspect with `gradcourse.diagnostics` and the History it
returns; the exercises of notebook 4 ask you to name its cause (one of `CAUSES`) and to repair
it. What your repaired run achieves is measured here, on held-out digits over several seeds:

- case 1, `case1_training(seed)`: trains a network with SGD; a repair is a learning rate, graded
  by `case1_measure(lr, seeds)`;
- case 2, `case2_model(seed)` and `case2_training(seed)`: a ReLU network; a repair is a function
  `repair(model)` that changes the freshly built network in place, graded by `case2_measure`;
- case 3, `case3_training(seed, after_step=...)`: a training loop built from one step function
  (`after_step(model, t)` lets you measure the model after every step); a repair is a step
  `train_step(model, optimizer, xb, yb)` that returns the batch's loss, graded by `case3_measure`.

Nothing here is a repaired run: the repairs are yours to write.
"""
import contextlib
import functools
import hashlib

import numpy as np

from . import functional as F
from . import nn, optim, rng
from .autograd import no_grad, tensor
from .data import load_digits, standardize, train_test_split

# The causes an exercise may name, and what each one means.
CAUSES = {
    "dead_relu": "ReLU units that output 0 for every example, so no gradient passes them",
    "forgotten_zero_grad": "gradients that accumulate over steps because nothing clears them",
    "batchnorm_in_eval": "BatchNorm left in eval mode (running statistics) while training",
    "clip_after_step": "gradient clipping applied after the optimiser's step, where it does nothing",
    "lr_too_high": "a learning rate far past the edge of stability",
    "saturated_init": "squashing units saturated by a too-large initial weight scale",
}
# sha256 of each case's cause: a check compares your name with it, without the name in plain text.
_CAUSE_DIGESTS = {
    1: "c780f2286940a2045800d0d7c1cc7fae777c9bf716e54308779123277ab2bf66",
    2: "042fbc61d57b58416ce36ebbdc04738c42c915df33e24e1413da3b8a6b9e75d4",
    3: "243bc4e77721316d3bd3ab518820aecebb5f0a3c653b769169f1755d9f3d80a0",
}
# A repaired case must reach this test accuracy in every seed. Measured over seeds 0-9
# (tests/test_casebook.py re-measures it): the reference repairs reach 0.916 to 0.96, the
# broken runs 0.098 to 0.20.
THRESHOLD = 0.85

HIDDEN, STEPS, BATCH = 32, 200, 64          # the cases' network width, run length and batch size
CASE1_LR = 3.0                              # case 1's learning rate
CASE2_BIAS = -3.0                           # case 2's hidden biases
LR = 0.1                                    # the learning rate of cases 2 and 3


def is_cause(case, name):
    """Whether `name` is the cause of case `case` (1, 2 or 3)."""
    return hashlib.sha256(f"gradcourse-casebook:{name}".encode()).hexdigest() == _CAUSE_DIGESTS[case]


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


def _run(model, optimizer, seed, step=_step, after_step=None):
    """Train with `step(model, optimizer, xb, yb) -> loss`; the losses, as a list (nan stops the run).

    `after_step(model, t)`, if given, is called after step t = 1, 2, ... (to measure the model).
    """
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t, (xb, yb) in enumerate(_batches(seed), start=1):
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


# ----- case 1 --------------------------------------------------------------------------------
def case1_training(seed=0, lr=CASE1_LR):
    """Case 1 as it was run: a ReLU network, plain SGD at the learning rate `lr`, 200 steps."""
    model = _mlp(seed)
    return _finish(model, _run(model, optim.SGD(model.parameters(), lr=lr), seed), seed)


def case1_measure(lr, seeds=(0, 1, 2)):
    """Test accuracy of case 1 trained at the learning rate `lr`, one per seed."""
    return [case1_training(seed, lr).test_accuracy for seed in seeds]


# ----- case 2 --------------------------------------------------------------------------------
def case2_model(seed=0):
    """Case 2's network, freshly built (before any training)."""
    model = _mlp(seed)
    for layer in (model[0], model[2]):
        layer.bias.data[...] = CASE2_BIAS
    return model


def case2_training(seed=0, repair=None):
    """Case 2 as it was run (`repair(model)`, if given, first changes the new network in place)."""
    model = case2_model(seed)
    if repair is not None:
        repair(model)
    return _finish(model, _run(model, optim.SGD(model.parameters(), lr=LR), seed), seed)


def case2_measure(repair, seeds=(0, 1, 2)):
    """Test accuracy of case 2 with `repair(model)` applied to each freshly built network."""
    return [case2_training(seed, repair).test_accuracy for seed in seeds]


# ----- case 3 --------------------------------------------------------------------------------
def _case3_step(model, optimizer, xb, yb):
    loss = F.cross_entropy(model(tensor(xb)), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def case3_training(seed=0, step=None, after_step=None):
    """Case 3 as it was run, with its own step function (or with `step(model, optimizer, xb, yb)`).

    `after_step(model, t)`, if given, is called after every step t = 1, 2, ...: measure the model there,
    e.g. with `gradcourse.diagnostics.gradient_norms(model)`.
    """
    model = _mlp(seed)
    step = _case3_step if step is None else step
    return _finish(model, _run(model, optim.SGD(model.parameters(), lr=LR), seed, step, after_step), seed)


def case3_measure(step, seeds=(0, 1, 2)):
    """Test accuracy of case 3 trained with `step(model, optimizer, xb, yb) -> loss`, one per seed."""
    return [case3_training(seed, step).test_accuracy for seed in seeds]
