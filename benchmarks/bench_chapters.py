"""How long does each chapter take to run top to bottom in a fresh kernel?

Executes every notebook given (default: chapters/*.ipynb) with nbclient, without saving, and
prints a table of seconds against the course's target of 60 s per chapter.
Run: `python benchmarks/bench_chapters.py [NOTEBOOK ...]`.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TARGET_SECONDS = 60.0


def execution_seconds(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(names):
    root = Path(__file__).resolve().parents[1]
    paths = [Path(name) for name in names] or sorted((root / "chapters").glob("[0-9]*.ipynb"))
    print(f"{'notebook':42} {'seconds':>8} {'target':>7}")
    for path in paths:
        seconds = execution_seconds(path)
        verdict = "ok" if seconds <= TARGET_SECONDS else "TOO SLOW"
        print(f"{path.name:42} {seconds:8.1f} {TARGET_SECONDS:7.0f}  {verdict}")


if __name__ == "__main__":
    main(sys.argv[1:])
