"""The one place ocitool starts processes.

Backends build argv lists and hand them here; they never touch subprocess.
Every call has a timeout, inherits the environment (DOCKER_HOST,
CONTAINERS_CONF, XDG_RUNTIME_DIR ...), and is logged under --debug, so what
ocitool asked of an engine is always visible and reproducible.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ocitool.errors import BackendUnavailable, EngineTimeout

log = logging.getLogger("ocitool.runner")

DEFAULT_TIMEOUT = 120.0


def default_timeout() -> float:
    """OCITOOL_TIMEOUT overrides the per-call limit for slow hosts."""
    raw = os.environ.get("OCITOOL_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Completed:
    """What one engine call returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Runner:
    """Runs argv lists with a timeout; counts calls so tests can prove batching."""

    timeout: float = field(default_factory=default_timeout)
    env: Mapping[str, str] | None = None
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run to completion and capture output. Secrets go in `input`, never in argv."""
        args = self._checked(argv)
        limit = timeout or self.timeout
        started = time.monotonic()
        try:
            proc = subprocess.run(
                args,
                input=input,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=limit,
                env=self._env(env),
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise _missing(args[0]) from exc
        except subprocess.TimeoutExpired as exc:
            self._log(args, None, time.monotonic() - started)
            raise EngineTimeout(args, limit, _text(exc.stderr)) from exc
        result = Completed(
            tuple(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started
        )
        self._log(args, proc.returncode, result.seconds)
        if log.isEnabledFor(logging.DEBUG) and proc.stderr.strip():
            log.debug("  stderr: %s", proc.stderr.strip()[-2000:])
        return result

    def stream(
        self,
        argv: Sequence[str],
        on_line: Callable[[str, str], None],
        *,
        timeout: float | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run while handing each output line to `on_line(stream_name, line)` as it comes.

        Engines write progress to different streams (podman: stderr, skopeo:
        stdout), so both are read. Output is also kept, for error mapping.
        """
        args = self._checked(argv)
        limit = timeout or self.timeout
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                env=self._env(env),
            )
        except FileNotFoundError as exc:
            raise _missing(args[0]) from exc
        kept: dict[str, list[str]] = {"stdout": [], "stderr": []}

        def pump(name: str) -> None:
            pipe = proc.stdout if name == "stdout" else proc.stderr
            for line in pipe or ():
                kept[name].append(line)
                on_line(name, line.rstrip("\n"))

        readers = [threading.Thread(target=pump, args=(n,), daemon=True) for n in kept]
        for reader in readers:
            reader.start()
        with _killed_on_exit(proc):
            if input is not None and proc.stdin is not None:
                proc.stdin.write(input)
                proc.stdin.close()
            try:
                returncode = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                self._log(args, None, time.monotonic() - started)
                raise EngineTimeout(args, limit, "".join(kept["stderr"])) from exc
        for reader in readers:
            reader.join(timeout=5)
        result = Completed(
            tuple(args),
            returncode,
            "".join(kept["stdout"]),
            "".join(kept["stderr"]),
            time.monotonic() - started,
        )
        self._log(args, returncode, result.seconds)
        return result

    def _checked(self, argv: Sequence[str]) -> list[str]:
        if isinstance(argv, str) or not argv:
            raise TypeError("argv must be a non-empty list of strings, never a shell string")
        args = [str(a) for a in argv]
        self.calls.append(tuple(args))
        return args

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str] | None:
        if self.env is None and extra is None:
            return None  # inherit the caller's environment unchanged
        merged = dict(os.environ)
        merged.update(self.env or {})
        merged.update(extra or {})
        return merged

    @staticmethod
    def _log(args: Sequence[str], returncode: int | None, seconds: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            status = "timeout" if returncode is None else f"rc={returncode}"
            log.debug("+ %s  [%s, %.3fs]", shlex.join(args), status, seconds)


@contextmanager
def _killed_on_exit(proc: subprocess.Popen[str]) -> Iterator[None]:
    """Ctrl-C or an error while streaming must not leave the engine running."""
    try:
        yield
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise


def _missing(program: str) -> BackendUnavailable:
    name = os.path.basename(program)
    return BackendUnavailable(
        name,
        f"executable {program!r} not found on PATH",
        hint=f"install {name} (Debian: apt-get install {_PACKAGES.get(name, name)})"
        " or pick another backend with --backend",
    )


_PACKAGES = {"docker": "docker.io", "dockerd": "docker.io"}


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data
