"""The student notebooks: nbgrader's `generate_assignment`, run on a temporary course.

`solutions/` is the one source of truth, in nbgrader's source format. nbgrader's own preprocessors
replace each `### BEGIN SOLUTION` region with `# YOUR CODE HERE` / `raise NotImplementedError()`
(`YOUR ANSWER HERE` in markdown), remove the `### BEGIN HIDDEN TESTS` regions, lock the test cells
and record each cell's checksum, so that `nbgrader validate` notices an edited test. This module only
lays out the course (course.lay_out) and copies the released notebooks to `dest`.
"""
import tempfile
from pathlib import Path

from .course import lay_out, nbgrader_api, released_notebook, run


def generate(solutions, root):
    """Lay out an nbgrader course at `root` from `solutions` and release every assignment; returns
    {assignment: released notebook path}."""
    names = lay_out(solutions, root)
    with nbgrader_api(root) as api:
        for name in names:
            run(api.generate_assignment(name), f"{name}: the solutions notebook breaks nbgrader's source format")
    return {name: released_notebook(root, name) for name in names}


def build(source="solutions", dest="exercises"):
    """Write the student version of every `source/*.ipynb` into `dest`; returns the paths written."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="gradcourse-build-") as root:
        released = generate(source, root)
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for name, path in released.items():
            target = dest / f"{name}.ipynb"
            target.write_bytes(path.read_bytes())
            written.append(target)
    return written
