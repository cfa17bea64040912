"""Execute notebooks in place (what `make notebooks` runs), so stored outputs match the code.

Each notebook runs in a fresh kernel from its own folder. Widget state is stripped from the
saved file: it holds random model ids that nbval does not compare and GitHub cannot render.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    notebook.metadata.pop("widgets", None)
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
