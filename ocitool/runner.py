"""The one place ocitool starts processes.

Backends build argv lists and hand them here; they never touch subprocess.
Every call has a timeout, inherits the environment (DOCKER_HOST,
CONTAINERS_CONF, XDG_RUNTIME_DIR ...), and is logged under --debug, so what
ocitool asked of an engine is always visible and reproducible.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TextIO, TypeVar

from ocitool.debuglog import debug, enabled
from ocitool.defaults import DEBIAN_PACKAGES
from ocitool.errors import BackendUnavailable, EngineTimeout, UsageError

if TYPE_CHECKING:
    from pathlib import Path

LOGGER = "ocitool.runner"
T = TypeVar("T")

DEFAULT_TIMEOUT = 120.0
DEFAULT_RUN_TIMEOUT = 86_400.0
KILL_GRACE = 3.0  # seconds an engine has, after SIGTERM, before SIGKILL


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UsageError(f"{name}={raw!r} is not a number of seconds", hint=f"e.g. {name}=300")
    return value


def default_timeout() -> float:
    """OCITOOL_TIMEOUT overrides the per-call limit for slow hosts."""
    return _seconds_from_env("OCITOOL_TIMEOUT", DEFAULT_TIMEOUT)


def resolve_timeout(configured: float | None) -> float:
    """OCITOOL_TIMEOUT first (the caller's intent now), then the config file, then 120 s."""
    if os.environ.get("OCITOOL_TIMEOUT"):
        return default_timeout()
    return configured or DEFAULT_TIMEOUT


def default_run_timeout() -> float:
    """A container's own command may run long; OCITOOL_RUN_TIMEOUT bounds it (default 24 h)."""
    return _seconds_from_env("OCITOOL_RUN_TIMEOUT", DEFAULT_RUN_TIMEOUT)


class Completed(NamedTuple):
    """What one engine call returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class InterruptedCall(KeyboardInterrupt):
    """Ctrl-C arrived, and the engine was let finish: its result is known exactly."""

    def __init__(self, result: Completed) -> None:
        super().__init__()
        self.result = result


class InterruptedWrite(KeyboardInterrupt):
    """Ctrl-C during a write the engine was let finish: the image it made, if any."""

    def __init__(self, image_id: str | None) -> None:
        super().__init__()
        self.image_id = image_id


class Runner:
    """Runs argv lists with a timeout; counts calls so tests can prove batching.

    A plain class, as Completed is a NamedTuple: `dataclasses` would cost the
    `images` table ~10 ms of imports."""

    def __init__(
        self,
        timeout: float | None = None,
        run_timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        calls: list[tuple[str, ...]] | None = None,
    ) -> None:
        self.timeout = default_timeout() if timeout is None else timeout
        self.run_timeout = default_run_timeout() if run_timeout is None else run_timeout
        self.env = env
        self.calls = [] if calls is None else calls
        self._meanwhile: list[Callable[[], object]] = []

    def meanwhile(self, work: Callable[[], object]) -> None:
        """Do `work` (an import the answer will need) while the next engine call runs,
        not before it: the engine starts first, and its ~20 ms are not waited for idly."""
        self._meanwhile.append(work)

    def _while_running(self, proc: subprocess.Popen[Any]) -> None:
        pending, self._meanwhile = self._meanwhile, []
        try:
            for work in pending:
                work()
        except BaseException:
            _kill_group(proc)
            raise

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        stdin_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        finish_on_interrupt: bool = False,
        dies_with_ocitool: bool = False,
    ) -> Completed:
        """Run to completion and capture output.

        Secrets go in `input`, never in argv; `stdin_file` streams a file (a
        tarball to import) without reading it into memory. On Ctrl-C the
        engine is killed, unless `finish_on_interrupt` (writes such as commit):
        then ocitool waits for the engine and raises InterruptedCall with its
        result, and a second Ctrl-C abandons it. `dies_with_ocitool`, for a
        program that writes under a lock ocitool holds (umoci in the oci store):
        a killed ocitool takes it along (`_dying_with_ocitool`).
        """
        args = self._checked(argv)
        limit = timeout or self.timeout
        started = time.monotonic()
        interrupted = False
        with ExitStack() as stack:
            stdin: IO[bytes] | int = subprocess.PIPE if input is not None else subprocess.DEVNULL
            if stdin_file is not None:
                stdin = stack.enter_context(stdin_file.open("rb"))
            spawned = _dying_with_ocitool(args) if dies_with_ocitool else args
            proc = self._spawn_captured(spawned, env, stdin=stdin)
            with proc:
                if input is None and not finish_on_interrupt:  # a write's Ctrl-C is its own
                    self._while_running(proc)
                pending = input
                while True:
                    try:
                        left = max(0.01, limit - (time.monotonic() - started))
                        out, err = proc.communicate(pending, timeout=left)
                        break
                    except subprocess.TimeoutExpired as exc:
                        err = _kill_group(proc)
                        self._log(args, None, time.monotonic() - started)
                        raise EngineTimeout(args, limit, err, setting=self._setting(limit)) from exc
                    except KeyboardInterrupt:
                        if not finish_on_interrupt or interrupted:
                            _kill_group(proc)
                            raise
                        interrupted, pending = True, None
                        from ocitool.notes import note

                        note(
                            "waiting for %s to finish what it started; "
                            "press Ctrl-C again to abandon it",
                            os.path.basename(args[0]),
                        )
        result = Completed(tuple(args), proc.returncode, out, err, time.monotonic() - started)
        self._log(args, proc.returncode, result.seconds)
        if err.strip():
            debug(LOGGER, "  stderr: %s", err.strip()[-2000:])
        if interrupted:
            raise InterruptedCall(result)
        return result

    def run_together(
        self, argvs: Sequence[Sequence[str]], *, env: Mapping[str, str] | None = None
    ) -> list[Completed]:
        """Several read-only calls at once, results in argument order.

        Each engine CLI spends ~20 ms starting up and the daemon answers calls
        in parallel, so N independent reads cost about one. The shared timeout
        bounds them all; on Ctrl-C or a timeout every one is killed.
        """
        return self.run_while(argvs, lambda: None, env=env)[0]

    def run_while(
        self,
        argvs: Sequence[Sequence[str]],
        work: Callable[[], T],
        *,
        env: Mapping[str, str] | None = None,
    ) -> tuple[list[Completed], T]:
        """Start read-only calls, do `work` here while they run, then collect them.

        For reads whose answer checks what `work` read meanwhile (du reads the
        daemon's files while `docker info` says where they are and how many).
        """
        started = time.monotonic()
        procs: list[tuple[list[str], subprocess.Popen[Any]]] = []
        results: list[Completed] = []
        try:
            for argv in argvs:
                args = self._checked(argv)
                procs.append((args, self._spawn_captured(args, env)))
            if procs:
                self._while_running(procs[0][1])
            done = work()
            for args, proc in procs:
                left = max(0.01, self.timeout - (time.monotonic() - started))
                try:
                    out, err = proc.communicate(timeout=left)
                except subprocess.TimeoutExpired as exc:
                    err = _kill_group(proc)
                    self._log(args, None, time.monotonic() - started)
                    raise EngineTimeout(
                        args, self.timeout, err, setting=self._setting(self.timeout)
                    ) from exc
                seconds = time.monotonic() - started
                results.append(Completed(tuple(args), proc.returncode, out, err, seconds))
                self._log(args, proc.returncode, seconds)
        finally:
            for _, proc in procs:
                if proc.returncode is None:
                    _kill_group(proc)
        return results, done

    def attached(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Run on the user's terminal (stdin, stdout, stderr inherited): `run -it`.

        Returns the exit code; nothing is captured, so the caller maps
        errors from a captured step done before (create, then attach).
        """
        args = self._checked(argv)
        started = time.monotonic()
        return self._waited(self._spawn(args, env), args, timeout or self.timeout, started)

    def _waited(
        self, proc: subprocess.Popen[Any], args: list[str], limit: float, started: float
    ) -> int:
        """Wait for a process on the user's terminal; past `limit` it is killed."""
        with _killed_on_exit(proc):
            try:
                returncode = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                self._log(args, None, time.monotonic() - started)
                raise EngineTimeout(args, limit, setting=self._setting(limit)) from exc
        self._log(args, returncode, time.monotonic() - started)
        return returncode

    def attached_holding(
        self,
        argv: Sequence[str],
        hold: Callable[[str], bool],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout_too: bool = False,
    ) -> tuple[int, str]:
        """`attached`, but stderr passes through ocitool: the lines `hold` picks (the
        engine's own words on a start that failed) are kept back and returned, so the
        caller can say them in one line; every other line is written as it comes.
        `stdout_too` does the same for stdout (docker's exec says its failures there)."""
        args = self._checked(argv)
        started = time.monotonic()
        import threading  # only for attached runs: most commands never load it

        piped: dict[str, Any] = {"stderr": subprocess.PIPE}
        if stdout_too:
            piped["stdout"] = subprocess.PIPE
        proc = self._spawn(args, env, text=False, errors=None, **piped)
        held: list[str] = []

        def relay(pipe: IO[bytes], out: TextIO) -> None:
            for raw in iter(pipe.readline, b""):
                line = raw.decode(errors="replace")
                if hold(line):
                    held.append(line)
                else:
                    out.flush()
                    out.buffer.write(raw)
                    out.buffer.flush()

        pipes = [(proc.stderr, sys.stderr), *([(proc.stdout, sys.stdout)] if stdout_too else [])]
        readers = [
            threading.Thread(target=relay, args=(pipe, out), daemon=True) for pipe, out in pipes
        ]
        for reader in readers:
            reader.start()
        try:
            returncode = self._waited(proc, args, timeout or self.timeout, started)
        finally:
            for reader in readers:
                reader.join(timeout=5)  # a child that kept the pipe open must not hang ocitool
        return returncode, "".join(held)

    def pipe(
        self,
        argv: Sequence[str],
        consume: Callable[[IO[bytes]], T],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[T, Completed]:
        """Hand the program's stdout, as a binary stream, to `consume` while it runs.

        For `docker save` into a tar reader: nothing is written to disk. A
        timer kills the program (and its children) past the limit; an error
        in `consume` kills it too.
        """
        args = self._checked(argv)
        limit = timeout or self.timeout
        started = time.monotonic()
        import threading  # only for streams: most commands never load it

        proc = self._spawn_captured(args, env, text=False, errors=None)
        errors: list[bytes] = []
        stdout, stderr_pipe = proc.stdout, proc.stderr
        assert stdout is not None and stderr_pipe is not None  # noqa: S101 - both are PIPEs
        reader = threading.Thread(target=lambda: errors.append(stderr_pipe.read()), daemon=True)
        reader.start()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _kill_group(proc)

        timer = threading.Timer(limit, expire)
        timer.start()
        try:
            with _killed_on_exit(proc, group=True):
                value = consume(stdout)
                while stdout.read(1 << 20):
                    pass  # let the program finish writing what the consumer did not need
                returncode = proc.wait()
        finally:
            timer.cancel()
        reader.join(timeout=5)
        stderr = b"".join(errors).decode(errors="replace")
        self._log(args, None if expired.is_set() else returncode, time.monotonic() - started)
        if expired.is_set():
            raise EngineTimeout(args, limit, stderr, setting=self._setting(limit))
        return value, Completed(tuple(args), returncode, "", stderr, time.monotonic() - started)

    def chain(
        self,
        producer: Sequence[str],
        consumer: Sequence[str],
        *,
        relay: Callable[[IO[bytes], IO[bytes]], None] | None = None,
        producer_env: Mapping[str, str] | None = None,
        consumer_env: Mapping[str, str] | None = None,
    ) -> tuple[Completed, Completed]:
        """`producer | consumer`, for an engine's save into another's load: the pipe is
        joined in the kernel, or runs through `relay`, which rewrites the stream on its
        way in fixed-size pieces; either way memory stays flat whatever the image's size.
        Both are bounded by OCITOOL_RUN_TIMEOUT and stopped together on any error."""
        first, second = self._checked(producer), self._checked(consumer)
        started = time.monotonic()
        up = self._spawn_captured(first, producer_env, text=False, errors=None)
        with _killed_on_exit(up, group=True):
            assert up.stdout is not None  # noqa: S101 - a PIPE
            stdin: IO[bytes] | int = subprocess.PIPE if relay else up.stdout
            down = self._spawn_captured(second, consumer_env, stdin=stdin, text=False, errors=None)
            relaying: list[_Reader] = []
            with _spoiled_on_exit(up, down, relaying):
                threads = [_collect(up.stderr), _collect(down.stdout), _collect(down.stderr)]
                if relay is None:
                    up.stdout.close()  # the consumer holds it now
                else:
                    relaying.append(_relaying(relay, up.stdout, down.stdin))
                    threads += relaying
                self._while_running(down)
                codes = self._both(up, down, first, started)
                texts = [t.join_text() for t in threads[:3]]
        seconds = time.monotonic() - started
        self._log(first, codes[0], seconds)
        self._log(second, codes[1], seconds)
        return (
            Completed(tuple(first), codes[0], "", texts[0], seconds),
            Completed(tuple(second), codes[1], texts[1], texts[2], seconds),
        )

    @contextmanager
    def feeding(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Iterator[tuple[int, list[Completed]]]:
        """A consumer (an engine's load) reading a pipe: yields the pipe's write end, for
        a mover to write a docker archive to as /dev/fd/N, and after the block the
        consumer's result, once the write end is closed and it has read to the end."""
        args = self._checked(argv)
        started = time.monotonic()
        read_end, write_end = os.pipe()
        try:
            proc = self._spawn_captured(args, env, stdin=read_end)
        finally:
            os.close(read_end)
        done: list[Completed] = []
        with _killed_on_exit(proc, group=True):
            try:
                yield write_end, done
            finally:
                with suppress(OSError):
                    os.close(write_end)
            try:
                out, err = proc.communicate(timeout=max(self.timeout, 1.0))
            except subprocess.TimeoutExpired as exc:
                err = _kill_group(proc)
                raise EngineTimeout(args, self.timeout, err) from exc
        seconds = time.monotonic() - started
        self._log(args, proc.returncode, seconds)
        done.append(Completed(tuple(args), proc.returncode, out, err, seconds))

    def _both(
        self,
        up: subprocess.Popen[Any],
        down: subprocess.Popen[Any],
        args: list[str],
        started: float,
    ) -> tuple[int, int]:
        """Wait for both ends of a chain; past OCITOOL_RUN_TIMEOUT both are stopped."""
        limit = self.run_timeout
        for proc in (down, up):
            try:
                proc.wait(timeout=max(0.01, limit - (time.monotonic() - started)))
            except subprocess.TimeoutExpired as exc:
                for each in (up, down):
                    _kill_group(each)
                raise EngineTimeout(args, limit, setting=self._setting(limit)) from exc
            if proc is down and proc.returncode != 0 and up.poll() is None:
                _kill_group(up)  # nothing reads it any more
        return up.wait(), down.wait()

    def background(
        self, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        """Start a process meant to outlive ocitool (a detached container's supervisor).

        The program is expected to fork and return at once (so no zombie is
        left); its output goes to `log_path`.
        """
        args = self._checked(argv)
        started = time.monotonic()
        with log_path.open("ab") as log_file:
            proc = self._spawn(
                args,
                env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with _killed_on_exit(proc):
            try:
                returncode = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                _kill_group(proc)
                raise EngineTimeout(args, self.timeout) from exc
        self._log(args, returncode, time.monotonic() - started)

    def stream(
        self,
        argv: Sequence[str],
        on_line: Callable[[str, str], None],
        *,
        timeout: float | None = None,
        idle: float | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        keep: bool = True,
        terminal: bool = False,
        tick: Callable[[], None] | None = None,
    ) -> Completed:
        """Run while handing each output line to `on_line(stream_name, line)` as it comes.

        Engines write progress to different streams (podman: stderr, skopeo:
        stdout), so both are read. Output is also kept, for error mapping.
        `idle` bounds a transfer that may rightly take hours by its progress
        instead: past that many seconds without reading, writing or printing
        anything (a peer that accepts and never answers), the program is
        stopped. A stream started from the main thread dies with ocitool
        (`_dying_with_ocitool`): a killed ocitool leaves no copy writing on.
        `pass_fds` stay open in the program (a secret it reads from /dev/fd/N).
        Without `keep`, lines are only handed on (a container's output, for days).

        With `terminal`, stdout is a pseudo-terminal, for the programs that
        count bytes only on one (skopeo's bars): its lines are split at `\r` too,
        cleared of cursor moves, and only the last few are kept, as a bar redrawn
        for hours must not grow memory. `tick` is called about twice a second.
        """
        args = self._checked(argv)
        limit = timeout or self.timeout
        started = time.monotonic()
        import threading

        stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
        screen = _Terminal() if terminal else None
        try:
            proc = self._spawn_captured(
                _dying_with_ocitool(args),
                env,
                stdin=stdin,
                stdout=screen.slave if screen else subprocess.PIPE,
                pass_fds=tuple(pass_fds),
            )
        except BaseException:
            if screen is not None:
                screen.discard()
            raise
        kept: dict[str, list[str]] = {"stdout": [], "stderr": []}
        if screen is not None:
            kept["stdout"] = screen.kept
            proc.stdout = screen.reader()

        def pump(name: str) -> None:
            pipe = proc.stdout if name == "stdout" else proc.stderr
            for line in _lines(pipe):
                # a bar redrawn unchanged is no progress: a terminal's line counts if new
                if screen is None or name != "stdout" or line not in kept[name]:
                    seen[name] += 1
                if keep:
                    kept[name].append(line)
                text = line.rstrip("\n") if screen is None else _plain(line)
                if text or screen is None:  # a terminal's `\r\r\n` is no empty line
                    on_line(name, text)

        seen = dict.fromkeys(kept, 0)
        readers = [threading.Thread(target=pump, args=(n,), daemon=True) for n in kept]
        for reader in readers:
            reader.start()
        with ExitStack() as closing, _killed_on_exit(proc, group=True):  # killed, then closed
            if screen is not None:
                closing.callback(screen.close, readers)
            if input is not None and proc.stdin is not None:
                proc.stdin.write(input)
                proc.stdin.close()
            self._while_running(proc)
            try:
                returncode = self._watch(
                    proc, args, started, limit, idle, seen, tick, reads_only=terminal
                )
            except subprocess.TimeoutExpired as exc:
                _kill_group(proc)
                self._log(args, None, time.monotonic() - started)
                stalled = exc.timeout == idle and time.monotonic() - started < limit
                raise EngineTimeout(
                    args,
                    exc.timeout,
                    "".join(kept["stderr"]),
                    setting="OCITOOL_TIMEOUT" if stalled else self._setting(limit),
                    idle=stalled,
                ) from exc
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

    @staticmethod
    def _watch(
        proc: subprocess.Popen[Any],
        args: Sequence[str],
        started: float,
        limit: float,
        idle: float | None,
        lines: Mapping[str, int],
        tick: Callable[[], None] | None = None,
        *,
        reads_only: bool = False,
    ) -> int:
        """Wait for `proc`; TimeoutExpired past `limit`, or past `idle` seconds in which
        it neither did I/O (/proc/PID/io) nor printed (`lines`, counted per stream).
        With `reads_only` only its reads count: its writes include a terminal's bars,
        redrawn while it is stalled. Half-way through a stall, a note says how long
        ocitool will still wait."""
        last_seen: tuple[int, ...] | None = None
        moved = time.monotonic()
        warned = False
        while True:
            now = time.monotonic()
            try:
                return proc.wait(timeout=max(0.01, min(0.5, limit - (now - started))))
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if now - started >= limit:
                    raise subprocess.TimeoutExpired(args, limit) from None
            if tick is not None:
                tick()
            if idle is None:
                continue
            counters = _io_counters(proc.pid)[: 1 if reads_only else 2]
            seen = (*counters, lines["stdout"], lines["stderr"])
            if seen != last_seen or not counters:  # no counters to read: never idle
                last_seen, moved, warned = seen, now, False
            elif now - moved >= idle:
                raise subprocess.TimeoutExpired(args, idle)
            elif not warned and now - moved >= idle / 2:
                from ocitool.notes import note

                warned = True
                note(
                    "%s has made no progress for %ds; it is stopped after %gs without any "
                    "(OCITOOL_TIMEOUT)",
                    os.path.basename(args[0]),
                    now - moved,
                    idle,
                )

    def _spawn(
        self, args: list[str], env: Mapping[str, str] | None, **popen: Any
    ) -> subprocess.Popen[Any]:
        """Popen with the engine-not-there cases turned into one clear error."""
        popen.setdefault("text", True)
        popen.setdefault("errors", "replace")
        try:
            return subprocess.Popen(args, env=self._env(env), **popen)
        except FileNotFoundError as exc:
            raise _missing(args[0]) from exc
        except OSError as exc:
            name = os.path.basename(args[0])
            raise BackendUnavailable(
                name,
                f"cannot execute {args[0]!r}: {exc.strerror}",
                hint="check the file's permissions, or the executable set in the config",
            ) from exc

    def _spawn_captured(
        self, args: list[str], env: Mapping[str, str] | None, **popen: Any
    ) -> subprocess.Popen[Any]:
        """With stdout and stderr captured, no stdin unless given, and in its own
        session: a terminal's Ctrl-C reaches only ocitool, which decides, and a
        timeout can kill the engine with all its children."""
        popen.setdefault("stdin", subprocess.DEVNULL)
        popen.setdefault("stdout", subprocess.PIPE)
        return self._spawn(args, env, stderr=subprocess.PIPE, start_new_session=True, **popen)

    def _setting(self, limit: float) -> str:
        """The variable that sets the limit a call ran into, for the error's hint."""
        return (
            "OCITOOL_RUN_TIMEOUT"
            if limit == self.run_timeout != self.timeout
            else "OCITOOL_TIMEOUT"
        )

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
        if enabled(LOGGER):
            import shlex

            status = "timeout" if returncode is None else f"rc={returncode}"
            debug(LOGGER, "+ %s  [%s, %.3fs]", shlex.join(args), status, seconds)


@contextmanager
def _killed_on_exit(proc: subprocess.Popen[Any], *, group: bool = False) -> Iterator[None]:
    """Ctrl-C or an error while waiting must not leave the engine running."""
    try:
        yield
    except BaseException:
        if proc.poll() is None:
            if group:
                _kill_group(proc)
            else:
                proc.kill()
                proc.wait()
        raise


@contextmanager
def _spoiled_on_exit(
    up: subprocess.Popen[Any], down: subprocess.Popen[Any], relaying: list[_Reader]
) -> Iterator[None]:
    """Ctrl-C or an error mid-chain. With a relay, the producer is stopped first, so the
    relay spoils what it passes on (ocitool.archive_stream) and the consumer fails by
    itself within KILL_GRACE: killed at once, a consumer over ssh leaves its far end a
    cut that may read as an archive's end. Then, as `_killed_on_exit`, nothing runs on."""
    try:
        yield
    except BaseException:
        try:
            if relaying and down.poll() is None:
                import signal

                with suppress(ProcessLookupError):
                    os.killpg(up.pid, signal.SIGKILL)
                relaying[0].thread.join(timeout=KILL_GRACE)
                with suppress(subprocess.TimeoutExpired):
                    down.wait(timeout=KILL_GRACE)
        finally:
            if down.poll() is None:
                _kill_group(down)
        raise


def _kill_group(proc: subprocess.Popen[Any]) -> str:
    """Stop an engine started in its own session, children included; return its stderr.

    SIGTERM first, and KILL_GRACE seconds to exit, so a program that cleans up
    on it (podman's temporary files) can; then SIGKILL. Reading what is left is
    bounded: a child that escaped the group (a daemonized helper) could
    otherwise hold the pipes open for its lifetime.
    """
    import signal

    err: object = ""
    try:
        for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                _, err = proc.communicate(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except (ValueError, OSError):  # read elsewhere (stream's readers; a pty: EIO)
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=wait)
                    break
    except KeyboardInterrupt:  # a second Ctrl-C does not wait for the grace
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return err if isinstance(err, str) else ""


class _Terminal:
    """A pseudo-terminal for a program's stdout: wide, so bars are not cut short."""

    COLUMNS, KEEP = 160, 200

    def __init__(self) -> None:
        import collections
        import fcntl
        import pty
        import struct
        import termios

        self.master, self.slave = pty.openpty()
        size = struct.pack("HHHH", 40, self.COLUMNS, 0, 0)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
        self.kept: Any = collections.deque(maxlen=self.KEEP)  # a list's append and join

    def reader(self) -> IO[str]:
        """The master side as text; the slave is the child's now, so closed here."""
        os.close(self.slave)
        # newline="": `\r` ends a line as `\n` does, so each redraw of a bar is a line
        self.text = open(self.master, encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
        return self.text

    def discard(self) -> None:
        """Both ends, where no program was started on it."""
        for fd in (self.master, self.slave):
            with suppress(OSError):
                os.close(fd)

    def close(self, readers: Sequence[Any]) -> None:
        """Closed once nothing reads it (the program's end gives its reader EIO): an fd
        closed under a blocked reader could be reused and read by it."""
        for reader in readers:
            reader.join(timeout=1)
        if not any(reader.is_alive() for reader in readers):
            with suppress(OSError):
                self.text.close()


def _lines(pipe: IO[str] | None) -> Iterator[str]:
    """A pipe's lines; a terminal's master reports its end as EIO, not as EOF."""
    if pipe is None:
        return
    with suppress(OSError):
        yield from pipe


def _plain(line: str) -> str:
    """A terminal line without its cursor moves and erasures (ANSI CSI sequences)."""
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line).strip()


class _Reader:
    """A thread that reads one pipe to its end (a chain's stderr and output), or does
    other work of a chain's (`target`)."""

    def __init__(self, pipe: IO[bytes] | None, target: Callable[[], None] | None = None) -> None:
        import threading

        self.pipe = pipe
        self.parts: list[bytes] = []
        self.thread = threading.Thread(target=target or self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        pipe = self.pipe
        if pipe is not None:
            for chunk in iter(lambda: pipe.read(1 << 16), b""):
                self.parts.append(chunk)

    def join_text(self) -> str:
        self.thread.join(timeout=5)
        return b"".join(self.parts).decode(errors="replace")


def _collect(pipe: IO[bytes] | None) -> _Reader:
    return _Reader(pipe)


def _relaying(
    relay: Callable[[IO[bytes], IO[bytes]], None], source: IO[bytes], sink: IO[bytes] | None
) -> _Reader:
    """Run `relay(source, sink)` in a thread, closing both when it ends: a consumer that
    died makes the relay fail (EPIPE), and the closed source then stops the producer.
    A relay that fails leaves the consumer a stream it refuses, and lets it say so
    (ocitool.archive_stream)."""

    def work() -> None:
        try:
            if sink is not None:
                relay(source, sink)
        except Exception as exc:  # the two ends' own results say why
            debug(LOGGER, "relay stopped: %s", exc)
        finally:
            for end in (sink, source):
                with suppress(OSError, ValueError):
                    if end is not None:
                        end.close()

    return _Reader(None, work)


def _io_counters(pid: int) -> tuple[int, ...]:
    """(rchar, wchar) of a running process: every byte it read or wrote, sockets
    included (proc(5)); empty where /proc does not say."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as handle:
            fields = dict(line.split(": ", 1) for line in handle.read().splitlines())
        return int(fields["rchar"]), int(fields["wchar"])
    except (OSError, ValueError, KeyError):
        return ()


def _dying_with_ocitool(args: list[str]) -> list[str]:
    """`args` under util-linux's setpriv with a parent-death signal, where it exists.

    The kernel sends it when the thread that started the process ends, so only
    the main thread's children get it (together.py starts calls from worker
    threads). A preexec_fn calling prctl would do the same without setpriv,
    but preexec_fn is unsafe once threads exist (subprocess's documentation).
    """
    import shutil
    import threading

    if threading.current_thread() is not threading.main_thread():
        return args
    program, setpriv = shutil.which(args[0]), shutil.which("setpriv")
    if program is None or setpriv is None:  # a missing program is reported as itself
        return args
    return [setpriv, "--pdeathsig", "KILL", "--", program, *args[1:]]


def _missing(program: str) -> BackendUnavailable:
    name = os.path.basename(program)
    return BackendUnavailable(
        name,
        f"executable {program!r} not found on PATH",
        hint=f"install {name} (Debian: apt-get install {DEBIAN_PACKAGES.get(name, name)})"
        " or pick another backend with --backend",
    )
