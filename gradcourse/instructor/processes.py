"""Processes a submission leaves behind: found by a marker in their environment, and killed.

A kernel's children inherit its environment, so every process started while a notebook is graded
carries GRADCOURSE_GRADING=<token>, even one that detached itself (setsid, double fork). After the
kernel has shut down, `reaped` kills every process that still carries the token. (Linux reads
/proc; elsewhere nothing is found, and a process that scrubbed its environment escapes: grade
untrusted work in a container, as the README says.)
"""
import contextlib
import os
import secrets
import signal
from pathlib import Path

MARKER = "GRADCOURSE_GRADING"


def marked(token):
    """Process ids whose environment holds MARKER=token."""
    needle = f"{MARKER}={token}".encode() + b"\0"
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes() + b"\0" and int(entry.name) != os.getpid():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def kill_marked(token, rounds=5):
    """SIGKILL every marked process (again, for those forked meanwhile); returns how many were killed."""
    killed = set()
    for _ in range(rounds):
        pids = [pid for pid in marked(token) if pid not in killed or _alive(pid)]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)  # our own child: no zombie left behind
    return len(killed)


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def reaped():
    """Mark every process started inside the block, and kill those still running when it ends."""
    token = secrets.token_hex(8)
    previous = os.environ.get(MARKER)
    os.environ[MARKER] = token
    try:
        yield token
    finally:
        if previous is None:
            os.environ.pop(MARKER, None)
        else:
            os.environ[MARKER] = previous
        kill_marked(token)
