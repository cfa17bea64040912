"""The second half of the chapters in JupyterLab (see test_chapters_in_jupyterlab.py).

A module of its own so that pytest-xdist runs it on the other worker, with its own server and
browser, while the first half runs. The harness's own test runs here too: the first half's chapters
take longer. So does the check of the lab a student's `make lab` opens: it needs no lab of its own,
only a tab in this module's (about 10 s).
"""
import re
import secrets

import pytest

from test_chapters_in_jupyterlab import (_KERNEL_READY, RUN_ALL, SECOND_HALF, STEP_TIMEOUT_MS, check_notebook, close,
                                         explorers_owned, quietly)


@pytest.mark.parametrize("chapter", SECOND_HALF)
def test_chapter_runs_and_its_explorers_redraw(lab_server, browser, screenshots, chapter):
    owned = explorers_owned(chapter)
    assert check_notebook(browser, lab_server, chapter, screenshots, min_explorers=owned,
                          run_all=chapter in RUN_ALL) == owned


def test_harness_reports_errors(lab_server, browser, screenshots):
    """The harness must see a traceback and a widget that cannot be displayed."""
    with pytest.raises(AssertionError) as failure:
        check_notebook(browser, lab_server, "fixtures/raises.ipynb", screenshots, expect_errors=True)
    message = str(failure.value)
    assert "ValueError: deliberate failure" in message
    assert "Error displaying widget" in message


# What the page shows: dialogs, error notifications, menu-bar titles, anything of nbgrader's (its
# plugins, commands, and elements whose id or class names it), and the file browser's listing.
_LAB_STATE = r"""() => ({
  dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.trim().slice(0, 300)),
  errors: [...document.querySelectorAll('.Toastify__toast--error, .jp-Notification-Toast-error')]
          .map(t => t.innerText.trim().slice(0, 300)),
  menus: [...document.querySelectorAll('.lm-MenuBar-item')].map(m => m.textContent.trim()),
  nbgrader: [...window.jupyterapp.listPlugins().filter(p => /nbgrader/i.test(p)),
             ...window.jupyterapp.commands.listCommands().filter(c => /nbgrader/i.test(c)),
             ...[...document.querySelectorAll('[id*="nbgrader" i], [class*="nbgrader" i], [data-id*="nbgrader" i]')]
                .map(e => `<${e.tagName.toLowerCase()} id="${e.id}" class="${e.className}">`)],
  listing: [...document.querySelectorAll('.jp-FileBrowser .jp-DirListing-item .jp-DirListing-itemText')]
           .map(e => e.textContent.trim()),
})"""
# the menus a student must not see: nbgrader's own, and those of its assignment and course lists
_INSTRUCTOR_MENU = re.compile(r"nbgrader|assignment|course|formgrader", re.I)


def _assert_clean(state, when):
    assert not state["dialogs"], f"{when}: a dialog is open: {state['dialogs']}"
    assert not state["errors"], f"{when}: error notifications: {state['errors']}"
    assert not [m for m in state["menus"] if _INSTRUCTOR_MENU.search(m)], \
        f"{when}: instructor menus in the menu bar: {state['menus']}"
    assert not state["nbgrader"], f"{when}: nbgrader's lab extension is active: {state['nbgrader'][:10]}"


def test_the_lab_opens_clean_on_the_working_copy(lab_server, browser, screenshots):
    """The lab as `make lab` gives it (the course's jupyter/ config, a working copy as its root): no
    dialog, no error, nothing of nbgrader's (menus, panels, server extensions); chapters/ and exercises/
    side by side at the root; the start page opens from the file browser, and its kernel starts."""
    page = browser.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{lab_server.url}/lab/workspaces/start-{secrets.token_hex(4)}?token={lab_server.token}",
                  timeout=60_000)
        page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-DirListing-item')",
                               timeout=60_000, polling=250)
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        page.wait_for_timeout(1000)  # a late error dialog or notification would show by now
        state = page.evaluate(_LAB_STATE)
        page.screenshot(path=str(screenshots / "lab-root.png"))
        _assert_clean(state, "after the lab loaded")
        assert {"chapters", "exercises"} <= set(state["listing"]), \
            f"the file browser's root lists {state['listing']}, not chapters/ and exercises/"

        # as a student: open chapters/, then the start page
        page.locator(".jp-DirListing-itemText", has_text=re.compile(r"^\s*chapters\s*$")).dblclick()
        page.locator(".jp-DirListing-itemText", has_text=re.compile(r"^\s*00_start_here\.ipynb\s*$")).dblclick()
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_function(_KERNEL_READY, timeout=60_000, polling=250)
        page.wait_for_timeout(500)
        state = page.evaluate(_LAB_STATE)
        page.screenshot(path=str(screenshots / "lab-start-page.png"))
        _assert_clean(state, "after opening chapters/00_start_here.ipynb")
        assert not errors, f"errors in the page: {errors}"
        server_log = lab_server.log.read_text(errors="replace")
        assert "nbgrader" not in server_log.lower(), \
            "nbgrader's server extensions were loaded:\n" + server_log[-3000:]
    except BaseException:
        quietly(page.screenshot, path=str(screenshots / "lab-FAILED.png"))
        raise
    finally:
        close(page, lab_server)
