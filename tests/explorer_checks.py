"""Checks every explorer must pass, shared by tests/test_widgets_a.py and test_widgets_b.py."""
from matplotlib.figure import Figure

from gradcourse import experiments, widgets

# The registry split in two halves, so that pytest-xdist can run them on two workers.
NAMES = list(experiments.EXPLORERS)
PART_A, PART_B = NAMES[:len(NAMES) // 2], NAMES[len(NAMES) // 2:]


def build_small(name):
    """The explorer `name`, built headless with its spec's fast settings."""
    return widgets.build(name, **experiments.EXPLORERS[name].small)


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


def assert_shows_a_picture_before_it_runs(explorer):
    """Its display has the widget view, a PNG and a fixed text (the same on every run)."""
    bundle, metadata = explorer._repr_mimebundle_()
    assert widgets.WIDGET_VIEW in bundle
    assert metadata["image/png"]["width"] == round(explorer.figure.get_figwidth() * 100)
    assert bundle["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    assert bundle["text/plain"] == explorer.spec.text() and "VBox" not in bundle["text/plain"]


def assert_irrelevant_controls_are_disabled(explorer):
    """A control is disabled exactly when its spec says it has no effect with the current values."""
    values = explorer.values
    for control in explorer.spec.controls:
        assert explorer.controls[control.name].disabled == (not control.is_active(values)), control.name
