"""The course's website (`make book`), checked as a reader meets it: `make test-book` builds it into
build/book/ (GRADCOURSE_BOOK), serves it on 127.0.0.1 and opens the index and every page in headless
Chromium. Each page: no console error, no request beyond localhost, its maths rendered by MathJax
(no raw TeX left), every image loaded, and a link to the next page in the course's order. A
screenshot of each goes to the browser tests' folder (book/). Without a built site these tests are
skipped; the checks that need no browser (no solution in the site, its size) run on the files.
"""
import functools
import http.server
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from conftest import SCREENSHOTS
from test_chapters_in_jupyterlab import explorers_owned

ROOT = Path(__file__).resolve().parents[3]
SITE = Path(os.environ.get("GRADCOURSE_BOOK", ROOT / "build" / "book"))
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
EXERCISES = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
# the reading order: the index, the chapters, the errata, the exercises page, then the exercise notebooks
ORDER = ["index", *(f"chapters/{c}" for c in CHAPTERS), "chapters/errata", "exercises",
         *(f"exercises/{e}" for e in EXERCISES)]
MAX_MEGABYTES = 50
MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")

pytestmark = pytest.mark.skipif(not (SITE / "index.html").is_file(),
                                reason=f"no website at {SITE}: `make test-book` builds and checks it")


# ----- the files ---------------------------------------------------------------------------------
def test_every_page_of_the_course_is_in_the_site():
    missing = [page for page in ORDER if not (SITE / f"{page}.html").is_file()]
    assert not missing, f"pages missing from {SITE}: {missing}"


def test_the_site_is_small_enough_to_host_anywhere():
    megabytes = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file()) / 1e6
    assert megabytes <= MAX_MEGABYTES, f"the site is {megabytes:.1f} MB"


def secret_lines():
    """Lines of the solutions' answers and hidden tests that appear nowhere in the student versions
    (an import shared with the visible code is no secret)."""
    hidden, visible = set(), set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for region in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, re.S):
                hidden |= {line.strip() for line in region.splitlines() if len(line.strip()) > 25}
    for path in [*(ROOT / "exercises").glob("*.ipynb"), *(ROOT / "chapters").glob("*.ipynb")]:
        for cell in nbformat.read(path, as_version=4).cells:
            visible |= {line.strip() for line in cell.source.splitlines()}
    return hidden - visible


def page_texts():
    import html
    for path in SITE.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".txt", ".ipynb", ".json"):
            yield path, html.unescape(path.read_text(encoding="utf-8", errors="replace"))


def test_no_solution_or_hidden_test_is_in_the_site():
    secrets = secret_lines()
    assert secrets, "no solution or hidden-test line found in solutions/: the check would be empty"
    assert not list(SITE.rglob("solutions")), "a solutions folder in the site"
    for path, text in page_texts():
        assert not any(marker in text for marker in MARKERS), f"{path} holds a solution or hidden-test marker"
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{path} holds a line of a solution or hidden test: {leaked[0]!r}"


def test_no_page_asks_for_anything_beyond_the_site():
    """The files themselves: no script, style sheet or image from another host (the browser checks
    below catch what scripts would fetch)."""
    remote = re.compile(r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//', re.I)
    for path in SITE.rglob("*.html"):
        found = remote.search(path.read_text(encoding="utf-8"))
        assert not found, f"{path}: {found.group(0)}"


def test_every_explorer_has_its_figure_and_a_note_that_its_controls_need_jupyterlab():
    for chapter in CHAPTERS:
        page = (SITE / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        owned = explorers_owned(chapter)
        notes = page.count("explorer-note")
        assert notes == owned, f"{chapter}: {notes} explorer notes for {owned} explorers"
        for note in re.finditer(r'class="[^"]*explorer-note', page):  # the picture comes just before the note
            assert "<img" in page[max(0, note.start() - 3000):note.start()], f"{chapter}: a note with no figure"


# ----- in the browser ----------------------------------------------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(QuietHandler, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def book_screenshots():
    folder = SCREENSHOTS / "book"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


MATHS_RENDERED = """() => window.MathJax && MathJax.startup && MathJax.startup.promise
    ? MathJax.startup.promise.then(() => true) : false"""

PAGE_STATE = """() => {
    const maths = [...document.querySelectorAll('.math')];
    const text = document.querySelector('main, .bd-article, body').innerText;
    return {
        maths: maths.length,
        rendered: maths.filter(m => m.querySelector('mjx-container')).length,
        rawTex: (text.match(/\\$\\$|\\\\\\[|\\\\\\(/g) || []).length,
        images: [...document.images].map(img => ({src: img.currentSrc, ok: img.complete && img.naturalWidth > 0})),
        next: (document.querySelector('a.right-next') || {}).href || null,
    };
}"""


@pytest.mark.parametrize("page", ORDER[:-len(EXERCISES)] or ORDER)
def test_page_reads_offline_with_maths_images_and_a_link_onwards(browser, site_url, book_screenshots, page):
    tab, errors, outside = browser.new_page(), [], []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or request_route.request.url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    tab.route("**/*", route)
    try:
        tab.goto(f"{site_url}/{page}.html", wait_until="load", timeout=60_000)
        if tab.locator(".math").count():  # (Sphinx loads MathJax on the pages that have maths)
            assert tab.evaluate(MATHS_RENDERED), f"{page}: MathJax did not load"
        tab.wait_for_load_state("networkidle", timeout=60_000)
        state = tab.evaluate(PAGE_STATE)
        tab.screenshot(path=str(book_screenshots / f"{page.replace('/', '-')}.png"), full_page=False)
    finally:
        tab.close()
    assert not outside, f"{page} asked for {outside}"
    assert not errors, f"{page}: console errors {errors}"
    assert state["rendered"] == state["maths"], f"{page}: {state['rendered']} of {state['maths']} maths rendered"
    assert state["rawTex"] == 0, f"{page}: raw TeX delimiters left in the text"
    broken = [image["src"] for image in state["images"] if not image["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    position = ORDER.index(page)
    if position + 1 < len(ORDER):
        assert state["next"] and state["next"].endswith(f"/{ORDER[position + 1]}.html"), \
            f"{page}: the next link is {state['next']}, expected {ORDER[position + 1]}"


def test_a_chapter_page_has_maths_figures_and_a_table_of_contents(browser, site_url):
    """The pages are not empty shells: chapter 2 has rendered maths, figures and its own contents."""
    tab = browser.new_page()
    try:
        tab.goto(f"{site_url}/chapters/02_core_concepts.html", wait_until="load")
        tab.evaluate(MATHS_RENDERED)
        counts = tab.evaluate("""() => ({
            maths: document.querySelectorAll('mjx-container').length,
            figures: [...document.images].filter(i => i.naturalWidth > 100).length,
            contents: document.querySelectorAll('.bd-toc a, #pst-page-navigation-heading-2 ~ * a, nav.page-toc a').length,
            search: !!document.querySelector('form[action*="search"], .search-button'),
        })""")
    finally:
        tab.close()
    assert counts["maths"] >= 10 and counts["figures"] >= 3, counts
    assert counts["contents"] >= 5, counts
    assert counts["search"], counts
