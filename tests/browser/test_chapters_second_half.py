"""The second half of the chapters in JupyterLab (see test_chapters_in_jupyterlab.py).

A module of its own so that pytest-xdist runs it on the other worker, with its own server and
browser, while the first half runs. The harness's own test runs here too: the first half's chapters
take longer.
"""
import pytest

from test_chapters_in_jupyterlab import SECOND_HALF, check_notebook, explorers_owned


@pytest.mark.parametrize("chapter", SECOND_HALF)
def test_chapter_runs_and_its_explorers_redraw(lab_server, browser, screenshots, chapter):
    owned = explorers_owned(chapter)
    assert check_notebook(browser, lab_server, chapter, screenshots, min_explorers=owned) == owned


def test_harness_reports_errors(lab_server, browser, screenshots):
    """The harness must see a traceback and a widget that cannot be displayed."""
    with pytest.raises(AssertionError) as failure:
        check_notebook(browser, lab_server, "fixtures/raises.ipynb", screenshots, expect_errors=True)
    message = str(failure.value)
    assert "ValueError: deliberate failure" in message
    assert "Error displaying widget" in message
