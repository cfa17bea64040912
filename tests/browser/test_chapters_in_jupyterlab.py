"""Each chapter, as a student meets it: JupyterLab serves it and shows its stored outputs (no widget
error, every explorer's picture), Chromium runs its imports and its explorers' cells (and, for
RUN_ALL, every cell: nbval runs and checks every cell of every chapter in `make test`), every
explorer (a widget with the CSS class `gradcourse-explorer`) gets one control changed, and its
figure must be redrawn. A widget that passes the unit tests can still show "Error displaying
widget" here.

Fixtures (one JupyterLab server, one Chromium, per session) are in conftest.py. Screenshots of
each notebook and of each explorer before and after the change go to tests/browser/screenshots/
(or $GRADCOURSE_SCREENSHOTS); the path is printed at the end of the run.
"""
import os
import re
import secrets
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the chapters, as a student runs them (the solutions, which have no explorers, are left to nbval:
# running them here too would cost CI about a minute and test nothing a browser adds)
NOTEBOOK_DIRS = ("chapters",)
# (the start page has no explorer; nbval runs its one cell)
CHAPTERS = [f"{folder}/{p.name}" for folder in NOTEBOOK_DIRS for p in sorted((ROOT / folder).glob("*.ipynb"))
            if not p.name.startswith("00_")]


def explorers_owned(chapter):
    """How many explorers the registry says this chapter builds (each must be found and redrawn)."""
    from gradcourse.experiments import EXPLORERS
    stem = Path(chapter).stem
    return sum(spec.chapter == stem for spec in EXPLORERS.values())
# the second half runs from test_chapters_second_half.py, which pytest-xdist can hand to the other
# worker (with its own server and browser), so the browser tests take half as long in `make test`
# the chapter that is run whole in the lab, Run All as a student clicks it: the shortest one
RUN_ALL = {"chapters/06_faq.ipynb"}
FIRST_HALF, SECOND_HALF = CHAPTERS[:(len(CHAPTERS) + 1) // 2], CHAPTERS[(len(CHAPTERS) + 1) // 2:]

STEP_TIMEOUT_MS = 30_000                                                   # any one click or wait
RUN_TIMEOUT_MS = int(os.environ.get("GRADCOURSE_BROWSER_RUN_TIMEOUT", "120")) * 1000  # one notebook's Run All
REDRAW_TIMEOUT_MS = 60_000                                                 # one explorer's redraw

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# True once Run All has finished: nothing queued or running, and either every non-empty code cell
# has an execution count or some output is a traceback (Run All stops at the first error).
_RUN_FINISHED = r"""() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
                 && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const nb = panel.node.querySelector('.jp-Notebook');
  const prompts = [...nb.querySelectorAll('.jp-CodeCell')]
    .filter(cell => (cell.querySelector('.cm-content') || {}).textContent.trim() !== '')
    .map(cell => cell.querySelector('.jp-InputPrompt').textContent.trim());
  if (prompts.some(p => p.includes('*'))) return false;
  const errored = [...panel.content.model.cells].some(
    c => c.type === 'code' && [...Array(c.outputs.length).keys()].some(i => c.outputs.get(i).type === 'error'));
  return errored || prompts.every(p => /\[\d+\]/.test(p));
}"""

# The page elements of the top-level outputs whose model holds a widget view, as [cell index, element].
_WIDGET_OUTPUTS = r"""(panel, widgetMime) => {
  const found = [];
  [...panel.content.model.cells].forEach((c, n) => {
    if (c.type !== 'code') return;
    const els = panel.content.widgets[n].node.querySelectorAll(
      '.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output');
    for (let i = 0; i < c.outputs.length; i++)
      if (widgetMime in c.outputs.get(i).data) found.push([n, els[i]]);
  });
  return found;
}"""

# Errors in the notebook's model (error outputs; code cells Run All did not reach) and in the page
# (tracebacks in stderr outputs, also inside Output widgets; "Error displaying widget"; widget
# outputs rendered as something else, i.e. no widget manager). A cell tagged `raises-exception`
# (JupyterLab runs on past it; nbval accepts the tag too) may show its error.
_COLLECT_ERRORS = r"""([widgetMime]) => {
  const widgetOutputs = """ + _WIDGET_OUTPUTS + r""";
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [], notRun = [];
  let stoppedBy = null;
  [...panel.content.model.cells].forEach((c, n) => {
    if (c.type !== 'code') return;
    const source = c.sharedModel.getSource();
    const tags = c.getMetadata('tags') || [];
    const mayRaise = tags.includes('raises-exception');
    const nbvalRaises = tags.includes('nbval-raises-exception')
                        || /^\s*#\s*NBVAL_RAISES_EXCEPTION/.test(source);
    if (source.trim() && c.executionCount === null) notRun.push(n);
    let errored = false;
    for (let i = 0; i < c.outputs.length; i++) {
      const o = c.outputs.get(i).toJSON();
      if (o.output_type !== 'error') continue;
      errored = true;
      if (!mayRaise && !nbvalRaises) found.push(`cell ${n}: ${o.ename}: ${o.evalue}`);
    }
    if (errored && nbvalRaises && !mayRaise && stoppedBy === null) stoppedBy = n;
    if (mayRaise || nbvalRaises) return;
    const node = panel.content.widgets[n].node;
    node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(el => {
      if (el.textContent.includes('Traceback'))
        found.push(`cell ${n}: traceback in the page: ` + el.textContent.slice(0, 600));
    });
    node.querySelectorAll('.jp-RenderedText[data-mime-type*="error"]').forEach(el =>
      found.push(`cell ${n}: error output in the page: ` + el.textContent.slice(0, 600)));
  });
  if (notRun.length && !found.length)
    found.push(`code cells ${notRun.join(', ')} were not run by Run All` + (stoppedBy === null ? '' :
      ` (it stopped at cell ${stoppedBy}, which expects an exception: tag that cell raises-exception` +
      ` so that JupyterLab runs past it, as a student's Run All would need)`));
  const nb = panel.node.querySelector('.jp-Notebook');
  nb.querySelectorAll('.jp-OutputArea-output').forEach(el => {
    if (el.textContent.includes('Error displaying widget'))
      found.push('widget error in the page: ' + el.textContent.trim().slice(0, 300));
  });
  widgetOutputs(panel, widgetMime).forEach(([n, el]) => {
    if (!el) found.push(`cell ${n}: widget output missing from the page`);
    else if (!el.querySelector(':scope > .jupyter-widgets'))
      found.push(`cell ${n}: widget not rendered as a widget: ` + el.textContent.trim().slice(0, 300));
  });
  return found;
}"""

# True once every widget output has been rendered: as a widget, as its error, or as a fallback.
_WIDGETS_RENDERED = r"""([widgetMime]) => {
  const widgetOutputs = """ + _WIDGET_OUTPUTS + r""";
  return widgetOutputs(window.jupyterapp.shell.currentWidget, widgetMime).every(([n, el]) =>
    el && (el.querySelector(':scope > .jupyter-widgets') || el.hasAttribute('data-mime-type')
           || el.textContent.includes('Error displaying widget')));
}"""

# True once the notebook's kernel has started and is connected and idle.
_KERNEL_READY = r"""() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const context = panel && panel.sessionContext;
  const kernel = context && context.session && context.session.kernel;
  return !!(context && context.isReady && kernel && kernel.status === 'idle'
            && kernel.connectionStatus === 'connected');
}"""

# Before anything runs: what a student sees on opening the notebook. Explorer cells with stored
# output must show their picture (not "Error displaying widget" or a VBox(...) repr), and prose keeps a readable width.
_STATIC_VIEW = r"""() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const outputs = [...panel.node.querySelectorAll('.jp-OutputArea-output')].map(el => el.textContent).join(' ');
  const broken = (outputs.match(/Error displaying widget|VBox\(/g) || []).length;
  let explorerCells = 0, pictures = 0;
  [...panel.content.model.cells].forEach((c, n) => {
    if (c.type !== 'code' || !c.outputs.length || !/_explorer\(/.test(c.sharedModel.getSource())) return;
    explorerCells += 1;
    if (panel.content.widgets[n].node.querySelector('.jp-OutputArea-output img')) pictures += 1;
  });
  const prose = [...panel.node.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
    .map(el => el.getBoundingClientRect().width).filter(w => w > 0);
  return {broken, explorerCells, pictures, proseWidth: Math.max(0, ...prose)};
}"""
MAX_PROSE_WIDTH_PX = 46 * 16 + 1   # jupyter/custom/custom.css: 46rem, about 80 characters a line

_IMAGES = "el => [...el.querySelectorAll('img')].map(i => i.src)"

# True once the explorer shows loaded images whose data differ from `before`.
_REDRAWN = r"""([el, before]) => {
  const imgs = [...el.querySelectorAll('img')];
  if (!imgs.length || !imgs.every(i => i.complete && i.naturalWidth > 0)) return false;
  const now = imgs.map(i => i.src);
  return JSON.stringify(now) !== JSON.stringify(before);
}"""


def _open(browser, server, path):
    """A new tab with `path` open in its own empty JupyterLab workspace, its kernel idle."""
    page = browser.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    workspace = "test-" + secrets.token_hex(4)
    page.goto(f"{server.url}/lab/workspaces/{workspace}/tree/{path}?token={server.token}",
              timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    # a notebook without kernel metadata asks which kernel to start: take the default
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()
    page.wait_for_function(_KERNEL_READY, timeout=60_000, polling=250)
    page.wait_for_selector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')
    return page


def _menu(page, menu, command):
    """Click a menu-bar entry, then the item that runs `command`, as a student would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def _run_all(page):
    """Clear stored outputs (so that stale execution counts can't look finished), then Run All."""
    _menu(page, "Edit", "editmenu:clear-all")
    page.wait_for_function("""() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')].every(
        p => !/\\d/.test(p.textContent))""")
    _menu(page, "Run", "runmenu:run-all")
    page.wait_for_function(_RUN_FINISHED, timeout=RUN_TIMEOUT_MS, polling=250)
    page.wait_for_function(_WIDGETS_RENDERED, arg=[WIDGET_MIME], timeout=STEP_TIMEOUT_MS)


# Run the first code cell (the chapter's imports) and every cell that builds an explorer, in order.
_RUN_EXPLORER_CELLS = r"""async () => {
  const app = window.jupyterapp, panel = app.shell.currentWidget, cells = panel.content.widgets;
  const code = [...cells.keys()].filter(i => cells[i].model.type === 'code');
  const wanted = [code[0], ...code.filter(i => /_explorer\(/.test(cells[i].model.sharedModel.getSource()))];
  for (const i of wanted) {
    panel.content.activeCellIndex = i;
    await app.commands.execute('notebook:run-cell');
  }
  return wanted.length;
}"""


def _run_explorer_cells(page):
    """Run the imports and the explorers' cells only: the rest of the chapter is what nbval runs and
    checks in `make test`, and its stored outputs are what the reader sees (checked before this)."""
    ran = page.evaluate(_RUN_EXPLORER_CELLS)
    assert ran >= 2, "no explorer cell to run"
    page.wait_for_function(_RUN_FINISHED, timeout=RUN_TIMEOUT_MS, polling=250)
    page.wait_for_function(_WIDGETS_RENDERED, arg=[WIDGET_MIME], timeout=STEP_TIMEOUT_MS)


def _errors(page):
    return page.evaluate(_COLLECT_ERRORS, [WIDGET_MIME])


def _change_one_control(explorer):
    """Move one control of the explorer by one step; returns what was changed."""
    handles = explorer.locator(".noUi-handle")
    if handles.count():
        handle = handles.first
        handle.scroll_into_view_if_needed()
        now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
        key = "ArrowLeft" if now is not None and now == top else "ArrowRight"
        handle.focus()
        handle.press(key)
        return f"slider {now} {key}"
    selects = explorer.locator(".widget-dropdown select")
    if selects.count():
        select = selects.first
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        current = select.input_value()
        other = next(v for v in values if v != current)
        select.select_option(other)
        return f"dropdown {current} -> {other}"
    toggles = explorer.locator(".widget-toggle-button:not(.mod-active), .widget-radio-box input:not(:checked)")
    if toggles.count():
        toggles.first.click()
        return "toggle/radio"
    checkboxes = explorer.locator(".widget-checkbox input")
    if checkboxes.count():
        checkboxes.first.click()
        return "checkbox"
    raise AssertionError("explorer has no slider, dropdown, toggle or checkbox to change")


def check_notebook(browser, server, path, shots, min_explorers=0, expect_errors=False, run_all=True):
    """Open, run (all of it, or with `run_all=False` its imports and explorers), check for errors, and
    exercise every explorer of the notebook at `path`."""
    stem = path.replace("/", "-").removesuffix(".ipynb")
    page = _open(browser, server, path)
    try:
        try:  # JupyterLab renders the stored outputs of cells out of view on idle: give it time
            page.wait_for_function(f"() => {{ const v = ({_STATIC_VIEW})(); "
                                   "return v.pictures === v.explorerCells && v.proseWidth > 0; }",
                                   timeout=STEP_TIMEOUT_MS, polling=250)
        except Exception:
            pass  # the assertions below say what is missing
        static = page.evaluate(_STATIC_VIEW)
        page.screenshot(path=str(shots / f"{stem}-before-run.png"))
        assert not static["broken"], f"{path}: before running, a widget shows an error or a raw repr"
        assert static["pictures"] == static["explorerCells"], \
            f"{path}: before running, {static['pictures']} of {static['explorerCells']} explorers show a picture"
        assert 0 < static["proseWidth"] <= MAX_PROSE_WIDTH_PX, \
            f"{path}: prose {static['proseWidth']:.0f} px wide; the course's CSS caps it at 46rem"
        (_run_all if run_all else _run_explorer_cells)(page)
        errors = _errors(page)
        page.screenshot(path=str(shots / f"{stem}.png"))
        assert not errors, f"{path}: errors in JupyterLab:\n" + "\n".join(errors)

        explorers = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .gradcourse-explorer")
        count = explorers.count()
        assert count >= min_explorers, f"{path}: {count} explorer(s), expected at least {min_explorers}"
        for i in range(count):
            explorer = explorers.nth(i)
            explorer.scroll_into_view_if_needed()
            before = explorer.evaluate(_IMAGES)
            assert before, f"{path}: explorer {i} shows no figure (no <img> in it)"
            images = explorer.locator("img")
            before_pngs = [images.nth(k).screenshot() for k in range(images.count())]
            explorer.screenshot(path=str(shots / f"{stem}-explorer{i}-before.png"))
            what = _change_one_control(explorer)
            try:
                page.wait_for_function(_REDRAWN, arg=[explorer.element_handle(), before],
                                       timeout=REDRAW_TIMEOUT_MS, polling=100)
            except Exception as error:
                raise AssertionError(f"{path}: explorer {i}'s figure did not change after {what}") from error
            after_pngs = [images.nth(k).screenshot() for k in range(images.count())]
            explorer.screenshot(path=str(shots / f"{stem}-explorer{i}-after.png"))
            assert after_pngs != before_pngs, f"{path}: explorer {i}: new image data but identical pixels ({what})"
        errors = _errors(page)
        assert not errors, f"{path}: errors after moving the controls:\n" + "\n".join(errors)
        page.screenshot(path=str(shots / f"{stem}.png"))
        return count
    except BaseException:
        if expect_errors:
            raise
        quietly(page.screenshot, path=str(shots / f"{stem}-FAILED.png"))
        if page.console_errors:
            print(f"page errors in {path}:", *page.console_errors, sep="\n  ")
        quietly(lambda: (shots / f"{stem}-FAILED-jupyter-lab.log").write_text(server.log_tail(20_000)))
        raise
    finally:
        close(page, server)


def quietly(action, *args, **kwargs):
    """A clean-up step after a failure: its own failure must not hide the test's."""
    try:
        action(*args, **kwargs)
    except Exception:
        pass


def close(page, server):
    """Close the tab and stop the kernels it started."""
    page.close()
    quietly(server.shutdown_kernels)


@pytest.mark.parametrize("chapter", FIRST_HALF)
def test_chapter_runs_and_its_explorers_redraw(lab_server, browser, screenshots, chapter):
    owned = explorers_owned(chapter)
    assert check_notebook(browser, lab_server, chapter, screenshots, min_explorers=owned,
                          run_all=chapter in RUN_ALL) == owned
