"""Words of prose in the course's notebooks, the measure the reading budgets are set in.

Prose = the text of markdown cells, without maths ($...$, $$...$$), code blocks, inline code,
HTML tags and link targets. Run `python tests/prose.py chapters/*.ipynb` for a table.
"""
import json
import re
import sys
from pathlib import Path

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
NOT_PROSE = [re.compile(pattern, re.S) for pattern in (
    r"\$\$.*?\$\$", r"\$[^$\n]*\$", r"```.*?```", r"`[^`\n]*`", r"<[^>\n]+>", r"\]\([^)\s]*\)")]
WORDS_PER_CHAPTER = 3500
WORDS_IN_COURSE = 24000
WORDS_PER_MINUTE = 120   # technical prose with maths, code and figures to look at


def prose(text):
    """The text of one markdown cell with maths, code, tags and link targets removed."""
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


def words(path):
    """Number of prose words in the markdown cells of the notebook at `path`."""
    cells = json.loads(Path(path).read_text())["cells"]
    return sum(len(WORD.findall(prose("".join(cell["source"]))))
               for cell in cells if cell["cell_type"] == "markdown")


def main(paths):
    total = 0
    for path in paths:
        count = words(path)
        total += count
        flag = "  OVER BUDGET" if count > WORDS_PER_CHAPTER else ""
        print(f"{count:6d}  {count / WORDS_PER_MINUTE:5.1f} min  {path}{flag}")
    print(f"{total:6d}  total (budget {WORDS_IN_COURSE})")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path("chapters").glob("*.ipynb")))
