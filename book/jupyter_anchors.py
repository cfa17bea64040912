"""Heading anchors made as JupyterLab makes them, so that the chapters' links to a section, written
for JupyterLab (`02_core_concepts.ipynb#4.-A-deep-network:-...`), land on it in the website too."""


def jupyter_anchor(text):
    """The heading's text with each space a hyphen (JupyterLab keeps case and punctuation)."""
    return text.strip().replace(" ", "-")
