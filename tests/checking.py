"""What the checkers' tests share: expect a ✓, or an ExerciseError whose message holds some phrases;
and the reference answers that more than one test file uses."""
import pytest

import gradcourse as gc
from gradcourse import exercises as ex
from gradcourse import functional as F
from gradcourse import nn


def fails_with(checker, fn, *phrases):
    """Run `checker(fn)`, expect an ExerciseError, and check that its message holds every phrase."""
    with pytest.raises(ex.ExerciseError) as error:
        checker(fn)
    message = str(error.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    return message


def passes(checker, fn, capsys):
    """Run `checker(fn)` and expect its ✓ line (and nothing before it)."""
    checker(fn)
    assert capsys.readouterr().out.startswith("✓ ")


class ResidualBlock(nn.Module):
    """Exercise 3.3's answer: y = x + fc2(relu(fc1(x)))."""

    def __init__(self, width):
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc2(F.relu(self.fc1(x)))


def batchnorm_train_step(model, optimizer, xb, yb):
    """Case 6's repair (exercise 5.5): training mode (batch statistics), then clear, forward, backward, step."""
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(gc.tensor(xb)), yb)
    loss.backward()
    optimizer.step()
    return loss.item()
