"""Case 6, for exercise 5.5: a deeper network with BatchNorm that does not learn.

    case6_model(seed)                        the network, freshly built: CASE6_BLOCKS blocks of
                                             Linear -> BatchNorm1d -> ReLU (width 32, PyTorch's default
                                             initialisation), then Linear(32, 10)
    case6_training(seed, step, after_step)   case 6 as it was run: CASE6_STEPS steps of SGD with
                                             `step(model, optimizer, xb, yb)`, then the test
    case6_measure(step, seeds)               the test accuracy of case 6 trained with `step`, one per seed

THRESHOLDS[6] = 0.85, chosen from the test accuracies measured over seeds 0-9: the broken run reaches
0.098 to 0.189, a repaired one 0.944 to 0.973. A run takes about 0.15 s.
"""
from .. import nn, optim
from ._runs import HIDDEN, _finish, _run, _seeded, _step, test_accuracy

__all__ = ["CASE6_BLOCKS", "CASE6_STEPS", "case6_model", "case6_training", "case6_measure"]

CAUSE_DIGESTS = {6: "4356c228d4b72d1b947ce5e8ef836b5f51e5e027f387fe870d765033d50865ef"}
THRESHOLDS = {6: 0.85}

CASE6_BLOCKS = 5                            # Linear -> BatchNorm1d -> ReLU blocks before the output layer
CASE6_STEPS = 100                           # steps of SGD, one batch of 64 training digits each
LR = 0.1                                    # case 6's learning rate (that of cases 2 and 3)


def case6_model(seed=0):
    """Case 6's network, freshly built (before any training): a Sequential of CASE6_BLOCKS blocks
    Linear -> BatchNorm1d -> ReLU of width 32, then Linear(32, 10)."""
    with _seeded(seed):
        layers, width = [], 64
        for _ in range(CASE6_BLOCKS):
            layers += [nn.Linear(width, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.ReLU()]
            width = HIDDEN
        return nn.Sequential(*layers, nn.Linear(HIDDEN, 10))


def _accuracy_before(model, seed):
    """The untrained network's accuracy on the held-out digits (about 0.1: ten classes)."""
    model.eval()
    return test_accuracy(model, seed)


def case6_training(seed=0, step=None, after_step=None):
    """Case 6 as it was run, with its own step function (or with `step(model, optimizer, xb, yb)`).

    CASE6_STEPS = 100 steps of SGD at lr = 0.1, one batch of 64 training digits each; `after_step(model, t)`,
    if given, is called after every step t = 1, 2, ... (measure the model there). Then the test.
    """
    model = case6_model(seed)
    _accuracy_before(model, seed)
    losses = _run(model, optim.SGD(model.parameters(), lr=LR), seed, _step if step is None else step, after_step,
                  steps=CASE6_STEPS)
    model.eval()
    return _finish(model, losses, seed)


def case6_measure(step, seeds=(0, 1, 2)):
    """Test accuracy of case 6 trained with `step(model, optimizer, xb, yb) -> loss`, one per seed."""
    return [case6_training(seed, step).test_accuracy for seed in seeds]
