import pytest

from gradcourse import experiments
from gradcourse.source import show_source


def test_show_source_displays_the_functions_own_code_and_where_it_lives():
    shown = show_source(experiments.first_over_last)
    markdown = shown._repr_markdown_()
    assert "def first_over_last(norms):" in markdown
    assert markdown.count("```") == 2
    assert shown.file.startswith("gradcourse/experiments")
    assert "first_over_last" in repr(shown)


def test_show_source_rejects_what_has_no_source():
    with pytest.raises(TypeError, match="^show_source: obj must be a function, method or class, got 3$"):
        show_source(3)
