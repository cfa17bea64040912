"""Build the course's website: `python book/build.py [OUT]` (what `make book` runs).

Sphinx reads one source folder; the site's pages come from three places (this folder's pages and
configuration, chapters/, exercises/), so they are copied side by side into a temporary folder
first, keeping the relative links between chapters and exercises as they are in the repository.
Nothing is converted or executed here: Sphinx and myst-nb do the rest (conf.py).
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("conf.py", "jupyter_anchors.py", "index.md", "exercises.md")
FOLDERS = ("chapters", "exercises")
OWN_FOLDERS = ("_static",)  # never solutions/: the site shows the student versions only
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")


def stage(folder):
    """Copy the site's sources into `folder`."""
    for name in PAGES:
        shutil.copy2(ROOT / "book" / name, folder / name)
    for name in OWN_FOLDERS:
        shutil.copytree(ROOT / "book" / name, folder / name, ignore=IGNORED)
    for name in FOLDERS:
        shutil.copytree(ROOT / name, folder / name, ignore=IGNORED)


def size_of(folder):
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())


def build(out):
    """Build the site into `out` (replaced); returns Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="gradcourse-book-") as source:
        stage(Path(source))
        return build_main(["-b", "html", "-q", "-E", "-j", "auto", source, str(out)])


def main(argv):
    out = Path(argv[0] if argv else ROOT / "build" / "book")
    start = time.monotonic()
    status = build(out)
    if status == 0:
        print(f"built {out / 'index.html'} in {time.monotonic() - start:.0f} s ({size_of(out) / 1e6:.0f} MB); "
              f"open it in a browser, or serve it: python -m http.server -d {out}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
