"""Execute notebooks in place (what `make notebooks` runs), so stored outputs match the code.

Each notebook runs in a fresh kernel from its own folder. Widget state is stripped from the
saved file: it holds random model ids that nbval does not compare and GitHub cannot render.
Without that state a saved widget view can only show "Error displaying widget", so the view
entries are stripped from the outputs too: an explorer's output keeps its PNG and its short
text (see `gradcourse.widgets.Explorer._repr_mimebundle_`), which a reader sees before running
the notebook; a live kernel displays the widget again when the cell runs.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_views(notebook):
    """Remove every widget view from the outputs; an output left without data is removed."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept


def execute(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    notebook.metadata.pop("widgets", None)
    strip_widget_views(notebook)
    nbformat.write(notebook, path)


def main(paths):
    for name in paths:
        path = Path(name)
        start = time.perf_counter()
        print(f"executing {path} ...", end=" ", flush=True)
        execute(path)
        print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
