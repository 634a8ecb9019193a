"""The OCI runtime (runc, or crun) that runs the store's containers.

Which runtime is used, where it keeps container state (per user, as rootless
runc requires), which containers it holds a process for, and how one is
stopped: SIGTERM, then SIGKILL after a grace period, as `docker stop` does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ocitool.backends.oci import failures
from ocitool.errors import NotSupported
from ocitool.runner import Runner

RUNTIMES = ("runc", "crun")  # crun cannot run on hosts in cgroup hybrid mode, so runc first
LIVE = ("running", "created", "paused")
# runc's own log line when it cannot start the command (common/runc.py says why)
START_FAILED = re.compile(r'^time="[^"]*" level=error msg="runc (?:run|create) failed')
_POLL = 0.1


class Runtime:
    """runc (or crun, or the configured one) as the oci backend drives it."""

    def __init__(self, runner: Runner, configured: str | None) -> None:
        self.runner = runner
        self.configured = configured

    def path_or_none(self) -> str | None:
        candidates = [self.configured] if self.configured else list(RUNTIMES)
        return next((p for c in candidates if (p := shutil.which(c))), None)

    def path(self) -> str:
        found = self.path_or_none()
        if found is None:
            wanted = self.configured or " or ".join(RUNTIMES)
            raise NotSupported(
                f"no OCI runtime to run containers: {wanted} not found on PATH",
                hint="install runc (Debian: apt-get install runc), or use --backend docker "
                "or podman",
            )
        return found

    @staticmethod
    def root() -> str:
        return runtime_root()

    def states(self) -> dict[str, str]:
        """Container ID -> the runtime's state for it; empty with no runtime installed."""
        runtime = self.path_or_none()
        if runtime is None:
            return {}
        result = self.runner.run([runtime, "--root", self.root(), "list", "--format", "json"])
        failures.check(result)
        with failures.parsing(result):
            listed = json.loads(result.stdout or "null") or []
            return {c["id"]: c.get("status", "") for c in listed}

    def running(self) -> set[str]:
        """Containers the runtime holds a process for (created, running or paused)."""
        return {i for i, state in self.states().items() if state in LIVE}

    def kill(self, container_id: str, *, grace: int, ended: Callable[[], bool]) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; then wait for the supervisor's
        record to say the container ended."""
        if container_id not in self.running():
            return
        root, runtime = self.root(), self.path()
        for signal, wait in (("TERM", grace), ("KILL", 10)):
            if wait == 0 and signal == "TERM":
                continue
            self.runner.run([runtime, "--root", root, "kill", container_id, signal])
            if wait_for(lambda: container_id not in self.running(), seconds=wait):
                break
        wait_for(ended, seconds=10)


def wait_for(done: Callable[[], bool], *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


def runtime_root() -> str:
    """Where runc keeps container state: per user, as rootless runc requires."""
    if os.geteuid() == 0:
        root = Path("/run/ocitool/runc")
    elif os.environ.get("XDG_RUNTIME_DIR"):
        root = Path(os.environ["XDG_RUNTIME_DIR"]) / "ocitool-runc"
    else:
        root = _private_dir(Path(tempfile.gettempdir()) / f"ocitool-{os.geteuid()}") / "runc"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(root)


def _private_dir(path: Path) -> Path:
    """A directory in a shared place (/tmp) that only this user owns and can enter."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise NotSupported(
            f"{path} is not a private directory of this user",
            hint="set XDG_RUNTIME_DIR to a directory only you can use",
        )
    return path
