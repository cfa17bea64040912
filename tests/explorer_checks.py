"""Checks every explorer must pass, shared by tests/test_widgets_a.py and test_widgets_b.py."""
from matplotlib.figure import Figure

from gradcourse import widgets


def assert_builds_headless(explorer):
    """Built without a kernel, the explorer holds a figure, its PNG, a summary and the CSS class."""
    assert isinstance(explorer.figure, Figure)
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert explorer.result is not None and "⚠" not in explorer.status.value
    assert isinstance(explorer.summary, str) and explorer.summary
    assert widgets.EXPLORER_CSS_CLASS in explorer.widget._dom_classes


def assert_redraws(explorer, control, value):
    """Moving one control by hand gives a new figure and new PNG bytes."""
    before_png, before_figure = explorer.image.value, explorer.figure
    explorer.controls[control].value = value
    assert explorer.image.value != before_png
    assert explorer.figure is not before_figure and isinstance(explorer.figure, Figure)
