"""Processes a submission leaves behind: found, frozen and killed once its kernel has shut down.

Two ways to find them, because a process can shed either one:
- a marker in the environment: the kernel and its children inherit GRADCOURSE_GRADING=<token>, even
  a child that detached itself (setsid, a double fork);
- ancestry: the grading process makes itself a "child subreaper" (Linux's prctl), so that a
  descendant whose parent exits becomes its child instead of init's, even one that scrubbed its
  environment. (A process of its own: the grader does this only in the `gradcourse` command.)
Every process found is stopped (SIGSTOP) before any is killed, so that one that keeps forking cannot
outrun the sweep. Elsewhere than Linux nothing is found: grade untrusted work in a container.
"""
import contextlib
import ctypes
import os
import secrets
import signal
import sys
from pathlib import Path

MARKER = "GRADCOURSE_GRADING"
PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def become_subreaper():
    """Adopt the orphans of our descendants (Linux); True if this process now does."""
    global _subreaper
    if not _subreaper and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            _subreaper = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


def _processes():
    """{pid: (parent pid, environment bytes)} of every process we may read."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
        found[int(entry.name)] = (parent, environ)
    return found


def left_behind(token, before=None):
    """Pids that carry MARKER=token, or (when `before`, a set of pids, is given: as a subreaper) descend
    from us and were not there before."""
    needle, me = f"{MARKER}={token}".encode(), os.getpid()
    table = _processes()
    children = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    descendants, stack = set(), list(children.get(me, []))
    while stack:
        pid = stack.pop()
        if pid not in descendants:
            descendants.add(pid)
            stack.extend(children.get(pid, []))
    marked = {pid for pid, (_, environ) in table.items() if needle in environ.split(b"\0")}
    adopted = descendants - before if before is not None else set()
    return (marked | adopted) - {me}


def _signal_all(pids, sig):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_left_behind(token, before=None, rounds=20):
    """Freeze every process left behind, again until no new one appears, then kill them all and reap
    our own children; returns how many were killed."""
    frozen = set()
    for _ in range(rounds):
        new = left_behind(token, before) - frozen
        if not new:
            break
        _signal_all(new, signal.SIGSTOP)
        frozen |= new
    _signal_all(frozen, signal.SIGKILL)
    _signal_all(frozen, signal.SIGCONT)
    for pid in frozen:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)  # our child (adopted or not): no zombie left behind
    return len(frozen)


@contextlib.contextmanager
def reaped():
    """Mark every process started inside the block, and kill those still running when it ends."""
    token = secrets.token_hex(8)
    before = set(_processes()) if _subreaper else None
    previous = os.environ.get(MARKER)
    os.environ[MARKER] = token
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop(MARKER, None)
        else:
            os.environ[MARKER] = previous
        kill_left_behind(token, before)
