"""What the checkers' tests share: expect a ✓, or an ExerciseError whose message holds some phrases."""
import pytest

from gradcourse import exercises as ex


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
