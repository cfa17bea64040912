"""Structural rules every chapter notebook keeps (nbval checks their outputs separately)."""
import ast
import re
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
START_PAGE = ROOT / "chapters" / "00_start_here.ipynb"
CHAPTERS = [path for path in NOTEBOOKS if path != START_PAGE]
ALLOWED_IMPORTS = {"gradcourse", "numpy", "matplotlib", "IPython"}


def code_cells(path):
    notebook = json.loads(path.read_text())
    return [("".join(cell["source"]), cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def imported_modules(source):
    """Top-level package names imported by one cell (IPython magics are skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_the_start_page_and_all_six_chapters_exist():
    assert START_PAGE.exists(), "chapters/00_start_here.ipynb maps the course"
    numbers = {path.name[:2] for path in CHAPTERS}
    assert numbers == {"01", "02", "03", "04", "05", "06"}, f"chapters found: {[p.name for p in CHAPTERS]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_imports_only_gradcourse_numpy_and_matplotlib(path):
    outside = {name for source, _ in code_cells(path) for name in imported_modules(source)} - ALLOWED_IMPORTS
    assert not outside, f"{path.name} computes with {sorted(outside)}; move that code into gradcourse"


EXPLORER_CALL = re.compile(r"\b(\w+)_explorer\(|\boptimizer_race\(|\bbuild\(\s*[\"'](\w+)[\"']")


def explorers_built(source):
    """The registry names of the explorers a cell builds (widgets.<name>_explorer(...))."""
    if "widgets" not in source:
        return []
    names = []
    for match in EXPLORER_CALL.finditer(source):
        names.append(match.group(1) or match.group(2) or "optimizer_race")
    return names


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_explorers_leave_a_picture_for_readers_without_a_kernel(path):
    """Issue 14: a notebook opened before it has run shows a picture where each explorer will be,
    not a `VBox(...)` repr or "Error displaying widget" (the saved output holds no widget view)."""
    cells = [(source, cell) for source, cell in code_cells(path) if "_explorer(" in source]
    assert cells, f"{path.name} embeds no gradcourse explorer"
    for source, cell in cells:
        data = [output.get("data", {}) for output in cell.get("outputs", []) if "data" in output]
        assert any("image/png" in d for d in data), f"{path.name}: no stored picture for\n{source}"
        assert not any("application/vnd.jupyter.widget-view+json" in d for d in data), \
            f"{path.name}: a stored widget view shows an error without a kernel:\n{source}"
        assert not any("VBox(" in "".join(d.get("text/plain", "")) for d in data), source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_builds_exactly_the_explorers_it_owns(path):
    """Issue 14: each explorer is built in one chapter, the one its spec names (the others link
    to it), and its cell stores the explorer's picture for a reader who has not run it."""
    from gradcourse.experiments import EXPLORERS
    owned = {name for name, spec in EXPLORERS.items() if spec.chapter == path.stem}
    built = {}
    for source, cell in code_cells(path):
        for name in explorers_built(source):
            built[name] = cell
    assert set(built) == owned, (f"{path.name} builds the explorers {sorted(built)}; it owns {sorted(owned)} "
                                 f"(gradcourse.experiments.EXPLORERS[...].chapter): link to the others")
    for name, cell in built.items():
        pictures = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert pictures, f"{path.name}: the {name} explorer's cell stores no picture; run `make notebooks`"


def test_explorer_calls_are_recognised():
    assert explorers_built("e = widgets.depth_explorer(num_blocks=3)\nr = widgets.optimizer_race()") == \
        ["depth", "optimizer_race"]
    assert explorers_built("x = experiments.depth_profile()") == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_seeded_and_executed(path):
    cells = code_cells(path)
    assert any("manual_seed" in source for source, _ in cells[:3]), f"{path.name}: seed in the first cells"
    unexecuted = [i for i, (_, cell) in enumerate(cells) if cell.get("execution_count") is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} have no stored output; run `make notebooks`"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_only_widget_cells_ignore_their_output(path):
    for source, cell in code_cells(path):
        ignored = "NBVAL_IGNORE_OUTPUT" in source or "nbval-ignore-output" in cell["metadata"].get("tags", [])
        skipped = "NBVAL_SKIP" in source or "nbval-skip" in cell["metadata"].get("tags", [])
        assert not skipped, f"{path.name}: a skipped cell proves nothing:\n{source}"
        if ignored:
            assert "_explorer(" in source, \
                f"{path.name}: only explorer cells may ignore their output:\n{source}"


def test_import_rule_detects_an_outside_import():
    assert set(imported_modules("import scipy.linalg\nfrom gradcourse import nn\n%matplotlib inline")) == \
        {"scipy", "gradcourse"}


def stored_text_outputs(path):
    """Every stream and text/plain output a notebook stores, joined."""
    texts = []
    for _, cell in code_cells(path):
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


SEED_COUNT = re.compile(r"\b(\d+) of (\d+) seeds\b")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_comparisons_print_how_many_seeds_they_hold_in(path):
    """Issue 13: a comparison in prose rests on at least 5 seeds, and the output says in how many
    it holds ("9 of 10 seeds"), so nbval guards the sentence that quotes it."""
    counts = [(int(k), int(n)) for k, n in SEED_COUNT.findall(stored_text_outputs(path))]
    assert counts, f"{path.name} prints no 'k of n seeds' line"
    assert all(n >= 5 and 0 <= k <= n for k, n in counts), f"{path.name}: {counts}"


def test_seed_count_rule_reads_the_printed_lines():
    assert SEED_COUNT.findall("warmup wins in 4 of 5 seeds; 10 of 10 seeds") == [("4", "5"), ("10", "10")]
