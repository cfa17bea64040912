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


def test_show_source_of_code_made_by_exec_names_obj():
    namespace = {}
    exec("def made_by_exec():\n    return 1\n", namespace)
    with pytest.raises(ValueError, match="show_source: obj must be .*has no source file: define it in a file"):
        show_source(namespace["made_by_exec"])
