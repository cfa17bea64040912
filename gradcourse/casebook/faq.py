"""Cases 7 and 8, for exercises 6.5 and 6.6: a deep network and a recurrent one that blow up.

    case  exercise  how it is run, and what a repair is
    7     6.5       `case7_model(seed)`, `case7_training(seed, repair)`: `repair(model)` changes the
                    freshly built network (7 weight layers) in place
    8     6.6       `case8_model(seed)`, `case8_training(seed, repair)`: `repair(model)` changes the
                    freshly built recurrent network (a `DigitsRNN`) in place

Both train with plain SGD at the rate `LR` for 200 steps of 64 digits. A step whose gradient is not
finite, which the optimiser refuses, ends the run, and its loss is recorded as nan (in every seed
measured, the loss of that step was nan itself).

A repaired case must reach `THRESHOLDS[case]` in every seed graded. The thresholds, and the bands the
exercises' checkers require of a repaired network before its first step, were chosen from measured
distributions over 10 seeds (0-9) of broken runs, right repairs and partial ones.
"""
import math

import numpy as np

from .. import functional as F
from .. import init, nn, optim
from ..autograd import tensor
from ._runs import HIDDEN, _finish, _run, _seeded

# (the cases' settings below are this module's constants, left out of `casebook`'s own names)
__all__ = ["DigitsRNN", "case7_model", "case7_training", "case7_measure", "case8_model", "case8_training",
           "case8_measure"]

CAUSE_DIGESTS = {
    7: "47e615360f4f3610807a2080fff3d13dfae4bc8450fbc8e24f3d79c819d6e33f",
    8: "a359c988303e4a93803f4e49fc701ec9ddc409cd9d260be26f89d568c850e91e",
}
THRESHOLDS = {7: 0.78, 8: 0.75}

LR = 0.1                 # both cases' learning rate
CASE7_DEPTH = 6          # case 7's hidden layers, HIDDEN units each, a ReLU after each
CASE7_STD = 1.0          # the standard deviation of case 7's initial weights
CASE8_GAIN = 4.0         # case 8's recurrent weight has N(0, CASE8_GAIN^2 / HIDDEN) entries
CASE8_SEQUENCE = (8, 8)  # case 8 reads each digit as 8 rows (time steps) of 8 pixels


def _repair(model, repair, seed):
    """`repair(model)`, drawing from a generator seeded by `seed`: a repair that draws new weights from the
    course's generator (`gradcourse.init`) draws the same ones whenever it repairs this seed's network."""
    if repair is not None:
        with _seeded(10_000 + seed):
            repair(model)
    return model


def _step(model, optimizer, xb, yb):
    """The casebook's own training step for cases 7 and 8, part of the course's code (an exercise that asks
    for a step refuses it): an optimiser's refusal of a non-finite gradient ends the run, with loss nan."""
    optimizer.zero_grad()
    loss = F.cross_entropy(model(tensor(xb)), yb)
    loss.backward()
    try:
        optimizer.step()
    except FloatingPointError:
        return math.nan
    return loss.item()


def _train(model, seed):
    with np.errstate(all="ignore"):  # (the broken runs overflow; their loss says so)
        return _finish(model, _run(model, optim.SGD(model.parameters(), lr=LR), seed, _step), seed)


# ----- case 7 --------------------------------------------------------------------------------
def case7_model(seed=0):
    """Case 7's network, freshly built: 64 -> 32 -> ... -> 32 -> 10, a ReLU after each hidden layer."""
    def draw(weight):
        return init.normal_(weight, 0.0, CASE7_STD)

    with _seeded(seed):
        layers, width = [], 64
        for _ in range(CASE7_DEPTH):
            layers += [nn.Linear(width, HIDDEN, init=draw), nn.ReLU()]
            width = HIDDEN
        layers.append(nn.Linear(width, 10, init=draw))
    return nn.Sequential(*layers)


def case7_training(seed=0, repair=None):
    """Case 7 as it was run (`repair(model)`, if given, first changes the new network in place)."""
    return _train(_repair(case7_model(seed), repair, seed), seed)


def case7_measure(repair, seeds=(0, 1, 2, 3, 4, 5)):
    """Test accuracy of case 7 with `repair(model)` applied to each freshly built network."""
    return [case7_training(seed, repair).test_accuracy for seed in seeds]


# ----- case 8 --------------------------------------------------------------------------------
class DigitsRNN(nn.Module):
    """Reads a digit row by row (8 time steps of 8 pixels) with a ReLU `rnn`; `head` classifies h_8.

    forward(x): x is (batch, 64), the digits as the casebook gives them; the logits are (batch, 10).
    After a forward, `self.rnn.hidden_states` is [h_1, ..., h_8] (see `nn.RNN`).
    """

    def __init__(self, hidden=HIDDEN):
        self.rnn = nn.RNN(CASE8_SEQUENCE[1], hidden, nonlinearity="relu")
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        _, h_last = self.rnn(x.reshape(x.shape[0], *CASE8_SEQUENCE))
        return self.head(h_last)


def case8_model(seed=0):
    """Case 8's network, freshly built (before any training)."""
    with _seeded(seed) as generator:
        model = DigitsRNN()
        hidden = model.rnn.hidden_size
        model.rnn.weight_hh.data[...] = generator.normal(0.0, CASE8_GAIN / math.sqrt(hidden), (hidden, hidden))
    return model


def case8_training(seed=0, repair=None):
    """Case 8 as it was run (`repair(model)`, if given, first changes the new network in place)."""
    return _train(_repair(case8_model(seed), repair, seed), seed)


def case8_measure(repair, seeds=(0, 1, 2, 3, 4, 5)):
    """Test accuracy of case 8 with `repair(model)` applied to each freshly built network."""
    return [case8_training(seed, repair).test_accuracy for seed in seeds]
