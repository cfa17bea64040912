"""Rewrite notebook code cells (and .py files) for the issue-14 API; run once, then delete.

    python tools/migrate14.py chapters/*.ipynb exercises/*.ipynb solutions/*.ipynb [--dry-run]

What it rewrites, in code cells only (markdown cells are left as they are):
- keyword `depth=` -> `num_blocks=` in calls of nn.MLP, experiments.deep_mlp, depth_profile,
  residual_vs_plain, clipping_runs, jacobian_isometry, lr_range_on_digits, train_with_remedies,
  naive_baseline, compare_with_naive, ablation.run_ablation and the depth, residual, remedy,
  isometry and lr_finder explorers; `depth=` -> `num_layers=` in scalar_chain and chain_explorer;
- the same keyword in `<explorer>.set(...)`, where <explorer> is a name assigned from one of
  those explorers anywhere in the notebook, and `<explorer>.controls["depth"]`;
- the explorers' drawings that moved from `plots` to their topic modules:
  `plots.chain(` -> `experiments.plot_chain(`, `plots.residual_training(` ->
  `experiments.plot_residual_training(`, etc. (see MOVED).
Every change is printed (file, cell, line: old -> new). What it cannot decide is printed as
`CHECK` for a hand edit: `depth=` in dict(...) or other calls, `.depth` attributes, cells that
show `explorer.figure`, moved drawings in a notebook that does not import `experiments`.
A notebook is written back only if something changed (nbformat 4 JSON, one line per source line).
"""
import ast
import json
import sys
from pathlib import Path

BLOCK_FUNCTIONS = {"MLP", "deep_mlp", "depth_profile", "residual_vs_plain", "clipping_runs", "jacobian_isometry",
                   "lr_range_on_digits", "train_with_remedies", "naive_baseline", "compare_with_naive",
                   "run_ablation", "depth_explorer", "residual_explorer", "remedy_explorer", "isometry_explorer",
                   "lr_finder_explorer"}
LAYER_FUNCTIONS = {"scalar_chain", "chain_explorer"}
MOVED = {"chain": "plot_chain", "adam_moments": "plot_adam_moments", "depth_profile": "plot_depth_profile",
         "schedule_comparison": "plot_schedule_comparison", "optimizer_race": "plot_optimizer_race",
         "residual_training": "plot_residual_training", "clipping": "plot_clipping", "remedies": "plot_remedies",
         "gradient_through_time": "plot_gradient_through_time", "lr_range": "plot_lr_range"}


def new_keyword(function):
    """What `depth=` becomes in a call of `function`, or None if that call keeps it."""
    if function in BLOCK_FUNCTIONS:
        return "num_blocks"
    if function in LAYER_FUNCTIONS:
        return "num_layers"
    return None


def callee(node):
    """The called name: `f` for f(...), `attr` for x.attr(...)."""
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def parseable(source):
    """The source with IPython lines (%magic, !shell) blanked, same line count, for ast."""
    lines = source.split("\n")
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def explorer_names(sources):
    """{variable: new keyword or None} for variables assigned from an explorer in any cell, and
    whether some call of a renamed function takes `**settings` (then dict(depth=...) feeds it)."""
    found, splats = {}, False
    for source in sources:
        try:
            tree = ast.parse(parseable(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and new_keyword(callee(node)):
                splats |= any(kw.arg is None for kw in node.keywords)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                function = callee(node.value) or ""
                if function.endswith("_explorer") or function == "optimizer_race":
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            found[target.id] = new_keyword(function)
    return found, splats


def edits_for(source, explorers, splats=False):
    """[(line, col, old_text, new_text)] (col in utf-8 bytes, as ast reports) and [check notes]."""
    tree = ast.parse(parseable(source))
    edits, checks = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = callee(node)
            keyword = new_keyword(function)
            func = node.func
            if (function == "set" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id in explorers):
                keyword = explorers[func.value.id]  # None: an explorer whose controls kept their names
            if function == "dict" and splats and any(kw.arg == "depth" for kw in node.keywords):
                keyword = "num_blocks"
                checks.append((node.lineno, "dict(depth=...) renamed, assuming it is passed as **settings to a "
                                            "renamed function (this notebook does that somewhere)"))
            for kw in node.keywords:
                if kw.arg == "depth":
                    if keyword:
                        edits.append((kw.lineno, kw.col_offset, "depth", keyword))
                    else:
                        checks.append((kw.lineno, f"`depth=` in a call of {function or 'an expression'}()"))
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "plots"
                    and func.attr in MOVED):
                edits.append((func.lineno, func.col_offset, f"plots.{func.attr}", f"experiments.{MOVED[func.attr]}"))
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "controls"
              and isinstance(node.value.value, ast.Name) and node.value.value.id in explorers
              and isinstance(node.slice, ast.Constant) and node.slice.value == "depth"):
            edits.append((node.slice.lineno, node.slice.col_offset + 1, "depth",
                          explorers[node.value.value.id] or "num_blocks"))
        elif isinstance(node, ast.Attribute) and node.attr == "depth" and not (
                isinstance(node.value, ast.Name) and node.value.id in explorers):
            checks.append((node.lineno, "a `.depth` attribute (nn.MLP's is now `.num_blocks`)"))
        elif isinstance(node, ast.Attribute) and node.attr == "figure" and isinstance(node.value, ast.Name) \
                and node.value.id in explorers:
            checks.append((node.lineno, f"`{node.value.id}.figure`: the explorer now shows its own picture; "
                                        "delete a cell that only shows it"))
    return edits, checks


def apply(source, edits):
    """The source with the edits made (right to left on each line, so offsets stay valid)."""
    lines = source.split("\n")
    for line, col, old, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        raw = lines[line - 1].encode("utf-8")
        if raw[col:col + len(old.encode())] != old.encode():
            raise RuntimeError(f"line {line}: expected {old!r} at byte {col}, found {raw[col:col + 20]!r}")
        lines[line - 1] = (raw[:col] + new.encode() + raw[col + len(old.encode()):]).decode("utf-8")
    return "\n".join(lines)


def migrate_sources(path, sources):
    """The migrated sources (a list, one per code cell), printing every change and check."""
    explorers, splats = explorer_names(sources)
    migrated = []
    for index, source in enumerate(sources):
        try:
            edits, checks = edits_for(source, explorers, splats)
        except SyntaxError as error:
            print(f"{path}: code cell {index}: CHECK not parsed ({error.msg}); left as it is")
            migrated.append(source)
            continue
        new = apply(source, edits)
        old_lines, new_lines = source.split("\n"), new.split("\n")
        for number, (before, after) in enumerate(zip(old_lines, new_lines), start=1):
            if before != after:
                print(f"{path}: code cell {index}, line {number}:\n    - {before.strip()}\n    + {after.strip()}")
        for number, note in sorted(set(checks)):
            print(f"{path}: code cell {index}, line {number}: CHECK {note}: {old_lines[number - 1].strip()}")
        if any(e[3].startswith("experiments.") for e in edits) and not _imports_experiments(sources):
            print(f"{path}: code cell {index}: CHECK uses `experiments.` but the notebook does not import it")
        migrated.append(new)
    return migrated


def _imports_experiments(sources):
    return any("import experiments" in s or (" experiments" in s and "from gradcourse import" in s) for s in sources)


def migrate_notebook(path, dry_run=False):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    sources = ["".join(cell["source"]) for cell in cells]
    migrated = migrate_sources(path, sources)
    changed = False
    for cell, old, new in zip(cells, sources, migrated):
        if new != old:
            cell["source"] = new.splitlines(keepends=True)
            changed = True
    if changed and not dry_run:
        path.write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def migrate_python(path, dry_run=False):
    source = path.read_text(encoding="utf-8")
    new = migrate_sources(path, [source])[0]
    if new != source and not dry_run:
        path.write_text(new, encoding="utf-8")
    return new != source


def main(argv):
    dry_run = "--dry-run" in argv
    paths = [Path(a) for a in argv if a != "--dry-run"]
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        changed = (migrate_notebook if path.suffix == ".ipynb" else migrate_python)(path, dry_run)
        print(f"{path}: {'rewritten' if changed and not dry_run else 'would change' if changed else 'unchanged'}")


if __name__ == "__main__":
    main(sys.argv[1:])
