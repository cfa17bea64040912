"""Session fixtures for the browser tests: one JupyterLab server and one headless Chromium.

The server runs from the Python that runs pytest (under `make`, the project's .venv), on
127.0.0.1 at a free port with a random token. Its root is laid out as a student's `make lab` root:
a working copy made by the Makefile's own `make work WORK=...` (chapters/ and exercises/), plus
tests/browser/fixtures/. Its config is a copy of the course's jupyter/ folder, the one `make lab`
uses (custom CSS on, nbgrader's server and lab extensions off), with the course's settings
(jupyter/overrides.json) as user settings. Jupyter's config, data, runtime, settings and workspace
folders are all in a temporary directory: nothing in the repository or in the user's home is changed.

The tests are skipped, with the reason in pytest's summary, when Chromium or the Playwright
package is missing (`make test-browser` installs both). With GRADCOURSE_BROWSER_TESTS=required
(set by .ci/run) a missing piece is an error instead of a skip.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = os.environ.get("GRADCOURSE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("GRADCOURSE_SCREENSHOTS", HERE / "screenshots"))

# the fixture notebooks are opened by the browser tests, never collected (e.g. by `pytest --nbval`)
collect_ignore_glob = ["fixtures/*", "screenshots/*"]

# per-test guard: a test that is still running after this many seconds fails instead of hanging
TEST_TIMEOUT = int(os.environ.get("GRADCOURSE_BROWSER_TEST_TIMEOUT", "240"))
SERVER_START_TIMEOUT = 90


def _missing():
    """Why the browser tests cannot run here, or None."""
    reasons = []
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        reasons.append(f"no Chromium at {CHROMIUM} (Debian: `apt-get install chromium`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the Playwright package is not installed (`pip install -e '.[browser]'`)")
    if not reasons:
        return None
    return "browser tests skipped: " + "; ".join(reasons) + " -- `make test-browser` installs what is missing"


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("GRADCOURSE_BROWSER_TESTS") == "required":
        raise pytest.UsageError(reason.replace("skipped", "required but cannot run"))
    mark = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"browser-test screenshots: {SCREENSHOTS}")


class BrowserTestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _alarm_guard():
    """Fail a browser test that runs longer than TEST_TIMEOUT seconds, rather than hang."""
    def on_alarm(signum, frame):
        raise BrowserTestTimeout(f"browser test still running after {TEST_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    def __init__(self, url, token, root, log):
        self.url, self.token, self.root, self.log = url, token, root, log

    def api(self, method, path):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, chars=4000):
        return self.log.read_text(errors="replace")[-chars:]


# what `make lab` gives a student (JUPYTER_CONFIG_DIR=jupyter/): jupyter_server_config.json (custom CSS
# on, nbgrader's server extensions off), labconfig/page_config.json (nbgrader's lab extension off),
# custom/custom.css (readable prose width); and overrides.json, which `make lab` installs as settings
COURSE_SETTINGS = ROOT / "jupyter"
# what Jupyter itself writes into its config folder: not part of the course's config
_JUPYTER_WRITES = shutil.ignore_patterns("lab", "migrated", ".ipynb_checkpoints", "__pycache__")


def _write_settings(settings_dir, config_dir):
    """The course's config folder as Jupyter's config folder (a copy: the server writes into it), and
    its lab settings (jupyter/overrides.json: no news, no update check) as user settings."""
    shutil.copytree(COURSE_SETTINGS, config_dir, ignore=_JUPYTER_WRITES, dirs_exist_ok=True)
    overrides = json.loads((COURSE_SETTINGS / "overrides.json").read_text())
    for plugin_id, settings in overrides.items():
        package, plugin = plugin_id.split(":")
        path = settings_dir / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


def _make_working_copy(root):
    """The student's working copy, made by the Makefile's own `work` target (WORK=root)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "-s", "--no-print-directory", "work", f"WORK={root}"], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0 or not (root / "chapters").is_dir():
        raise RuntimeError(f"`make work WORK={root}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _stop(process):
    """SIGTERM the server's process group (the server shuts its kernels down), then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_server():
    if _missing():
        pytest.skip(_missing())
    tmp = Path(tempfile.mkdtemp(prefix="gradcourse-browser-"))
    root = tmp / "root"
    _make_working_copy(root)  # chapters/ and exercises/, as `make lab` serves them
    shutil.copytree(HERE / "fixtures", root / "fixtures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in ("config", "data", "runtime", "workspaces", "settings", "ipython"):
        (tmp / name).mkdir()
    _write_settings(tmp / "settings", tmp / "config")

    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               IPYTHONDIR=str(tmp / "ipython"),
               npm_config_logs_max="0")  # jupyter-lsp asks `npm prefix`: no log file in ~/.npm
    env.pop("MPLBACKEND", None)  # the kernel must use the inline backend, as for a student
    env.pop("JUPYTER_TOKEN", None)
    token = secrets.token_hex(24)
    port = _free_port()
    log = tmp / "jupyter-lab.log"
    command = [sys.executable, "-m", "jupyterlab",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
               f"--ServerApp.root_dir={root}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.workspaces_dir=" + str(tmp / "workspaces"),
               "--LabApp.user_settings_dir=" + str(tmp / "settings"),
               # (custom CSS is on through the course's jupyter_server_config.json, as for `make lab`)
               "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.terminals_enabled=False"]
    if os.geteuid() == 0:  # CI and these machines run as root
        command.append("--allow-root")
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab not answering after {SERVER_START_TIMEOUT} s:\n"
                                       f"{server.log_tail()}")
                time.sleep(0.25)
        yield server
    finally:
        try:
            if process.poll() is None:
                server.shutdown_kernels()
        except Exception:
            pass
        _stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    if _missing():
        pytest.skip(_missing())
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="gradcourse-chromium-")
    playwright = sync_playwright().start()
    context = None
    try:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, timeout=60_000,
            # Chromium keeps its crash-report database under $XDG_CONFIG_HOME/chromium whatever the
            # --user-data-dir: point it (and the cache) into the temporary profile as well
            env={**os.environ, "XDG_CONFIG_HOME": os.path.join(profile, "xdg-config"),
                 "XDG_CACHE_HOME": os.path.join(profile, "xdg-cache")},
            viewport={"width": 1400, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--disable-default-apps", "--disable-extensions"])
        yield context
    finally:
        try:
            if context is not None:
                context.close()
        finally:
            playwright.stop()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if "GRADCOURSE_SCREENSHOTS" not in os.environ:  # our own folder: drop the last run's pictures
        earlier_run = time.time() - 60  # (not those another xdist worker of this run just took)
        for old in [*SCREENSHOTS.glob("*.png"), *SCREENSHOTS.glob("*-FAILED-jupyter-lab.log")]:
            if old.stat().st_mtime < earlier_run:
                old.unlink(missing_ok=True)
    print(f"\nbrowser-test screenshots go to {SCREENSHOTS}")
    return SCREENSHOTS
