"""Show the code behind a measurement, so a student can check what a helper computes.

The first time a chapter measures something with a package helper, it displays the helper's
source: which loss, which gradient and which inputs are used is then on the page, not hidden.
"""
import inspect

from . import validation


class Source:
    """The source of a function or class, shown as a highlighted code block in a notebook."""

    def __init__(self, obj):
        validation.require(inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj), "obj", obj,
                           "a function, method or class", "show_source", TypeError)
        try:
            lines, first = inspect.getsourcelines(obj)
        except OSError:  # made by exec or typed at a bare interpreter prompt: no file to read it from
            validation.fail("obj", obj, "code with a source (it has no source file: define it in a file "
                            "or a notebook cell)", "show_source")
        module = inspect.getmodule(obj)
        self.name = f"{module.__name__}.{obj.__qualname__}"
        self.file = "/".join(module.__name__.split(".")) + ".py"
        self.first_line, self.code = first, "".join(lines)

    def _repr_markdown_(self):
        return f"`{self.name}` ({self.file}, line {self.first_line}):\n```python\n{self.code}```"

    def __repr__(self):
        return f"source of {self.name} ({self.file}, line {self.first_line})"


def show_source(obj):
    """The source of `obj` (a function, method or class), displayed as code when it ends a cell."""
    return Source(obj)
