"""Taking the store's flock without waiting forever or in silence.

A writer holds the lock for its whole write, which can take minutes (a big
import), so a second ocitool waits: it says so on stderr after a moment,
naming the process that holds the lock (read from /proc/locks), and gives up
with LockTimeout (exit 7) once OCITOOL_TIMEOUT has passed.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from ocitool.errors import LockTimeout
from ocitool.notes import note

ANNOUNCE_AFTER = 1.0  # seconds of waiting before the note
_POLL = 0.1  # the longest sleep between two tries


def take(handle: IO[str], path: Path, *, exclusive: bool, timeout: float) -> None:
    """flock `handle` (the store's lock file at `path`) within `timeout` seconds."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    started = time.monotonic()
    delay, announced = 0.005, False
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - started
        if waited >= timeout:
            raise LockTimeout(
                f"the oci store {path.parent} stayed locked by {holders(path)} "
                f"for {timeout:g}s, so ocitool gave up",
                hint="let that ocitool finish, or wait longer with OCITOOL_TIMEOUT=SECONDS",
            )
        if not announced and waited >= ANNOUNCE_AFTER:
            note(
                "waiting for the store lock held by %s (up to %gs, OCITOOL_TIMEOUT)",
                holders(path),
                timeout,
            )
            announced = True
        time.sleep(min(delay, timeout - waited, _POLL))
        delay *= 2


def holders(path: Path) -> str:
    """`pid N` for the processes holding a flock on `path`, as /proc/locks lists them."""
    try:
        info = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another process"
    inode = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    # `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; blocked waiters have `->`
    held = [f for f in (line.split() for line in lines) if len(f) >= 6 and f[1] == "FLOCK"]
    pids = list(dict.fromkeys(f[4] for f in held if f[5] == inode and f[4] != str(os.getpid())))
    if not pids:
        return "another process"
    return ("pid " if len(pids) == 1 else "pids ") + ", ".join(pids)
