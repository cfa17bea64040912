"""Issue 14: one clear path. Reading budgets, each chapter's frame (question, prerequisites,
reading time; summary, exercises, next), links that resolve, and each explorer built in exactly
one chapter."""
import json
import math
import re
from pathlib import Path

import pytest

from prose import WORDS_IN_COURSE, WORDS_PER_CHAPTER, WORDS_PER_MINUTE, prose, words

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_DIR = ROOT / "chapters"
NOTEBOOKS = sorted(CHAPTER_DIR.glob("[0-9]*.ipynb"))
START_PAGE = CHAPTER_DIR / "00_start_here.ipynb"
CHAPTERS = [path for path in NOTEBOOKS if path != START_PAGE]
MAX_READING_MINUTES = 45
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
READING_TIME = re.compile(r"\*\*Reading time:\*\* about (\d+) minutes")


def markdown_cells(path):
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "markdown"]


def code_sources(path):
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "code"]


def stated_minutes(path):
    match = READING_TIME.search(markdown_cells(path)[0])
    assert match, f"{path.name}: the first cell states '**Reading time:** about N minutes'"
    return int(match.group(1))


# ----- budgets --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_prose_fits_its_budget(path):
    assert words(path) <= WORDS_PER_CHAPTER, f"{path.name}: {words(path)} words of prose"


def test_course_prose_fits_its_budget():
    total = sum(words(path) for path in NOTEBOOKS)
    assert total <= WORDS_IN_COURSE, f"the chapters hold {total} words of prose"


def test_word_count_leaves_out_maths_code_and_link_targets():
    text = "Two words $a + b = c$ and `code here` [a link](01_background.ipynb#Some-long-anchor)\n$$x^2$$"
    assert prose(text).split() == ["Two", "words", "and", "[a", "link"]


# ----- each chapter's frame ---------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_opens_with_its_question_prerequisites_and_reading_time(path):
    first = markdown_cells(path)[0]
    assert first.startswith("# "), f"{path.name}: the first cell starts with the chapter's title"
    question = re.search(r"\*\*Question:\*\* (.+)", first)
    assert question and question.group(1).rstrip().endswith("?"), f"{path.name}: '**Question:** ...?'"
    assert "**You need:**" in first, f"{path.name}: state the prerequisites ('**You need:** ...')"
    minutes = stated_minutes(path)
    assert minutes <= MAX_READING_MINUTES, f"{path.name}: {minutes} minutes of reading"
    needed = math.ceil(words(path) / WORDS_PER_MINUTE)
    assert minutes >= needed, f"{path.name}: {words(path)} words take at least {needed} minutes, not {minutes}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_ends_with_a_short_summary_and_links_to_its_exercises(path):
    last = markdown_cells(path)[-1]
    assert last.startswith("## Summary"), f"{path.name}: the last cell is the summary"
    summary = last.split("**Exercises:**")[0]
    bullets = [line for line in summary.splitlines() if line.startswith(("- ", "* ", "1. "))]
    assert 1 <= len(bullets) <= 5, f"{path.name}: {len(bullets)} summary lines (at most five)"
    exercises = [target for _, target in LINK.findall(last) if target.startswith("../exercises/")]
    assert exercises, f"{path.name}: end with a link to its exercise notebook"
    assert "**Next:**" in last, f"{path.name}: end with a link to the next chapter"


def test_the_start_page_maps_every_chapter_with_its_reading_time():
    text = "\n".join(markdown_cells(START_PAGE))
    for path in CHAPTERS:
        row = next((line for line in text.splitlines() if f"]({path.name})" in line), None)
        assert row, f"the start page's map has no row for {path.name}"
        assert f"| {stated_minutes(path)} min |" in row, \
            f"the map's reading time for {path.name} differs from the chapter's own ({stated_minutes(path)} min)"
        assert "../exercises/" in row, f"the map names {path.name}'s exercises"


def test_the_start_page_names_the_article_and_explains_the_errata_labels():
    text = "\n".join(markdown_cells(START_PAGE))
    assert "Chinese-language blog article" in text
    for labels in ("C1–C7", "F1–F4", "code 1–7"):
        assert labels in text, f"the start page explains the labels {labels}"
    assert "](errata.md)" in text
    table = (CHAPTER_DIR / "errata.md").read_text()
    labels = re.findall(r"^\| (C\d|F\d|code \d) \|", table, re.M)
    assert labels == [f"C{i}" for i in range(1, 8)] + [f"F{i}" for i in range(1, 5)] + \
        [f"code {i}" for i in range(1, 8)]


# ----- links ----------------------------------------------------------------------------------
def heading_key(text):
    """How a heading and an anchor to it compare: letters and digits only, lower case."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def headings(path):
    found = []
    for cell in markdown_cells(path):
        for line in cell.splitlines():
            if line.startswith("#"):
                found.append(heading_key(re.sub(r"[`*$\\]", "", line.lstrip("#"))))
    return found


def links(path):
    texts = markdown_cells(path) if path.suffix == ".ipynb" else [path.read_text()]
    return [target for text in texts for _, target in LINK.findall(text)]


@pytest.mark.parametrize("path", NOTEBOOKS + [CHAPTER_DIR / "errata.md"], ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    for target in links(path):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), f"{path.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".ipynb":
            assert heading_key(anchor) in headings(linked), \
                f"{path.name} links to {target}, but {linked.name} has no heading '{anchor}'"


MENTION = re.compile(r"\b[Cc]hapters? \d[a-d]?\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_mention_of_another_chapter_is_a_link(path):
    own = path.name[:3].rstrip("_").lstrip("0")
    for cell in markdown_cells(path):
        unlinked = MENTION.findall(LINK.sub("", cell))
        foreign = [m for m in unlinked if m.split()[-1] != own]
        assert not foreign, f"{path.name}: make {foreign} links to the chapters they name"


# ----- explorers ------------------------------------------------------------------------------
EXPLORER_CALL = re.compile(r"\b(\w+_explorer)\(")


def explorers_built_in(path):
    return {name for source in code_sources(path) for name in EXPLORER_CALL.findall(source)}


def test_each_explorer_is_built_in_exactly_one_chapter():
    from gradcourse import widgets

    owners = {name: [path.name for path in NOTEBOOKS if name in explorers_built_in(path)]
              for name in widgets.explorer_names()}
    assert all(len(chapters) == 1 for chapters in owners.values()), owners
