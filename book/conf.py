"""The course as a static website (`make book`): Sphinx with myst-nb reads the committed notebooks
and never runs them, so every figure and printed number is the one nbval checks.

What this file adds to the tools' defaults, and why:
- MathJax 3 from the `django-static-mathjax` package (MathJax's distribution as a wheel), copied into
  the site, so that maths renders with no network access (Sphinx would load it from a CDN);
- heading anchors made the way Jupyter makes them (spaces become hyphens), so that the chapters'
  links to a section, written for JupyterLab, land on it here too;
- a note under each explorer's figure: on the web it is a picture, its controls move in JupyterLab;
- no widget JavaScript (it would come from a CDN): each explorer's output carries its picture.
"""
import re
import shutil
import sys
from pathlib import Path

import mathjax  # the django-static-mathjax package
from docutils import nodes

sys.path.insert(0, str(Path(__file__).parent))  # for jupyter_anchors
project = "gradcourse"
author = "the gradcourse authors"
copyright = "the gradcourse authors, MIT licence"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "solutions/**"]

# the notebooks as committed, never executed; no widget manager from a CDN
nb_execution_mode = "off"
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 6
myst_heading_slug_func = "jupyter_anchors.jupyter_anchor"
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_title = "gradcourse: vanishing and exploding gradients, measured"
html_favicon = "_static/favicon.svg"
html_copy_source = False
html_show_sourcelink = False
html_context = {"default_mode": "light"}  # (without it the theme logs an error on a first visit)
html_theme_options = {"show_toc_level": 2, "use_download_button": False, "home_page_in_toc": True}

# MathJax 3 (SVG output: no web fonts to fetch) from the `django-static-mathjax` package, which is
# MathJax's own distribution as a Python wheel; only what tex-svg.js loads is copied into the site
MATHJAX = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
MATHJAX_PARTS = ("tex-svg.js", "input", "output/svg", "output/svg.js", "ui", "a11y", "adaptors")
mathjax_path = "mathjax/tex-svg.js"

EXPLORER_CALL = re.compile(r"\b\w+_explorer\(")
EXPLORER_NOTE = ("This explorer is a picture here: its controls move in JupyterLab. Run `make lab` "
                 "(see the course's README) and open this chapter to change them.")


def note_explorers(app, doctree):
    """Put EXPLORER_NOTE under the output of every code cell that builds an explorer."""
    for cell in doctree.findall(lambda node: isinstance(node, nodes.container) and "cell" in node["classes"]):
        source = "".join(block.astext() for block in cell.findall(nodes.literal_block)
                         if "cell_input" in block.parent.get("classes", []))
        if EXPLORER_CALL.search(source):
            cell += nodes.note("", nodes.paragraph(text=EXPLORER_NOTE), classes=["explorer-note"])


def copy_mathjax(app, error):
    if error is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        for part in MATHJAX_PARTS:
            source = MATHJAX / part
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target / part, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target / part)


def setup(app):
    app.connect("doctree-read", note_explorers)
    app.connect("build-finished", copy_mathjax)
