"""Checks every explorer must pass, shared by tests/test_widgets_a.py and test_widgets_b.py."""
import io

import matplotlib.image
import numpy as np
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
    """Moving one control by hand redraws: new PNG bytes, pixel for pixel those of an explorer
    built afresh at the new value (the redraw reuses the figure and its Axes; nothing of the
    old picture may survive in it)."""
    before_png = explorer.image.value
    explorer.controls[control].value = value
    assert explorer.image.value != before_png
    assert isinstance(explorer.figure, Figure)
    fresh = widgets.build(explorer.spec.name, **explorer.values)
    assert fresh.figure is not explorer.figure
    assert_same_picture(explorer.image.value, fresh.image.value)


def assert_same_picture(png, expected_png, tolerance=1e-3):
    """Two PNGs show the same picture: at most `tolerance` of the pixels differ. (A layout solved
    twice can land 1e-16 apart, which moves a line's anti-aliasing by a level in a few pixels;
    a stale or wrong line, label or tick changes thousands.)"""
    image, expected = (matplotlib.image.imread(io.BytesIO(data), format="png") for data in (png, expected_png))
    assert image.shape == expected.shape
    differ = np.any(image != expected, axis=-1)
    assert differ.mean() <= tolerance, f"{differ.sum()} of {differ.size} pixels differ from a fresh draw"


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
