"""What docker and podman have in common: a CLI with docker's verbs and flags.

The write side (import, create, start, stop, rm, commit, tag, rmi) takes the
same argv on both engines; the subclasses add their output parsing and map
their own error texts (`raise_for`). Every positional argument follows `--`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, TypeVar

from ocitool.backends.common.listing import list_argv, summaries
from ocitool.backends.common.parsing import as_digest, unique
from ocitool.backends.common.runc import start_failure
from ocitool.engine import NO_OPTIONS, Exited, RunOptions
from ocitool.errors import (
    BackendUnavailable,
    Conflict,
    EngineError,
    EngineTimeout,
    OcitoolError,
    StoreCorrupt,
    UsageError,
    parsing_output,
)
from ocitool.listing import ImageSummary
from ocitool.runner import Completed, InterruptedCall, InterruptedWrite, Runner

if TYPE_CHECKING:
    pass

# Enough for the engine's own stop timeout plus a kill, for `stop -t N`.
_STOP_GRACE = 30
# `ocitool backends` must answer even when an engine hangs.
PROBE_TIMEOUT = 10.0
T = TypeVar("T")
# Go's words for an input cut short (EngineCLI.import_image).
_CUT_SHORT = re.compile(r"unexpected EOF|: EOF\s*$", re.MULTILINE)


class EngineCLI:
    """Shared plumbing and write operations of the docker-compatible CLIs."""

    name: str
    runner: Runner
    executable: str
    parsers: str  # the module that turns this engine's output into models (loaded late)
    list_filters: tuple[str, ...] = ()  # what the list calls leave out: not images
    start_failed: re.Pattern[str]  # a line the engine prints when a container cannot start

    def __init__(self, runner: Runner, executable: str) -> None:
        self.runner = runner
        self.executable = executable

    @property
    def command(self) -> list[str]:
        """The engine's executable with the options that choose its endpoint (podman's
        --url or --connection); every call starts with it."""
        return [self.executable]

    # -- plumbing --------------------------------------------------------------

    def engine_env(self) -> Mapping[str, str] | None:
        return None

    @property
    def probe_timeout(self) -> float:
        return min(PROBE_TIMEOUT, self.runner.timeout)

    def run(
        self,
        args: Sequence[str],
        *,
        stdin_file: Path | None = None,
        finishing: bool = False,
        timeout: float | None = None,
        models: bool = True,
    ) -> Completed:
        """One engine call; `finishing` lets a write complete even after Ctrl-C.

        `timeout` may shorten the runner's limit (probes) or, for long
        transfers, lengthen it up to the runner's run_timeout. Where the answer
        becomes `models`, their parsers (and pydantic) load while the engine runs.
        """
        if models and self.parsers not in sys.modules:
            self.runner.meanwhile(lambda: import_module(self.parsers))
        return self.runner.run(
            [*self.command, *args],
            env=self.engine_env(),
            stdin_file=stdin_file,
            finish_on_interrupt=finishing,
            timeout=timeout,
        )

    def _failed(self, result: Completed) -> NoReturn:
        """A failed save or load of a copy the engine's own streams carried
        (ocitool.movers.Command), as this engine's error; the image is the one its argv names."""
        self.raise_for(result, images=[result.argv[-1]] if "save" in result.argv else [])

    def ok(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> Completed:
        if not result.ok:
            self.raise_for(result, images=images, containers=containers)
        return result

    def raise_for(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> NoReturn:
        """Map a failed call to the core error that describes it (per engine)."""
        raise EngineError(result.argv, result.returncode, result.stderr)

    # -- listing ---------------------------------------------------------------

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """What `images` shows, from the one list call both engines share."""
        result = self.ok(self.run([*list_argv(all=all), *self.list_filters], models=False))
        with parsing_output(result.argv):
            return summaries(self.name, result.stdout)

    def list_ids(self, *, all: bool = False) -> list[str]:
        """Image IDs (`sha256:`), one per image: both engines repeat an ID per tag."""
        argv = ["image", "ls", "--quiet", "--no-trunc", *(["--all"] if all else [])]
        argv += self.list_filters
        out = self.ok(self.run(argv, models=False)).stdout.split()
        return [d for d in unique(as_digest(i) or "" for i in out) if d]

    def parsed(self, result: Completed, parse: Callable[[str], T]) -> T:
        """What a call printed, parsed; output that does not parse is one
        UnexpectedOutput naming this call (never a caller's own mistake)."""
        with parsing_output(result.argv):
            return parse(result.stdout)

    # -- images ----------------------------------------------------------------

    def import_image(
        self, tarball: Path, ref: str, *, message: str | None, changes: Sequence[str]
    ) -> str:
        # From stdin on both engines: podman reuses an old image for an unchanged
        # file (docs/engines.md, Set-up), docker never does; from stdin both make a new one.
        argv = ["import", *_opt("--message", message), *_each("--change", changes), "--", "-", ref]
        try:
            return self._written(argv, stdin_file=tarball)
        except EngineError as exc:
            # Go's io.ErrUnexpectedEOF, from both engines' tar and gzip readers: the input
            # is cut short, as the oci backend says of it too (backends/oci/tarballs.py).
            # podman, as it stores the stream, sometimes ends its line with a bare io.EOF
            # instead ('storing blob to file "…": EOF'), depending on where the cut falls.
            if not _CUT_SHORT.search(exc.stderr):
                raise
            raise UsageError(
                f"{tarball} is cut short or damaged ({self.name}: unexpected end of data)",
                hint="make the archive again",
            ) from exc

    def commit(
        self,
        container: str,
        ref: str,
        *,
        author: str | None,
        message: str | None,
        changes: Sequence[str],
    ) -> str:
        argv = [
            "commit",
            *self.commit_options(),
            *_opt("--author", author),
            *_opt("--message", message),
            *_each("--change", changes),
            "--",
            container,
            ref,
        ]
        return self._written(argv, containers=[container])

    def commit_options(self) -> list[str]:
        return []

    def _written(
        self,
        argv: Sequence[str],
        *,
        stdin_file: Path | None = None,
        containers: Sequence[str] = (),
    ) -> str:
        """Run a write that makes an image; on Ctrl-C the engine finishes, and the
        InterruptedWrite says which image it made, read from its own output."""
        try:
            result = self.run(argv, stdin_file=stdin_file, finishing=True)
        except InterruptedCall as stop:
            made = _last_id(stop.result) if stop.result.ok else None
            raise InterruptedWrite(made) from None
        return _last_id(self.ok(result, containers=containers))

    def tag(self, source: str, target: str) -> None:
        self.ok(self.run(["tag", "--", source, target]), images=[source])

    save_formats: tuple[str, ...] = ("docker-archive",)

    def save(self, names: Sequence[str], path: Path, archive_format: str) -> None:
        """The engine's own save: several images in one docker archive, in one pass."""
        argv = [
            "save",
            *self.save_options(archive_format, len(names)),
            f"--output={path}",
            "--",
            *names,
        ]
        self.ok(self.run(argv, timeout=self.runner.run_timeout), images=names)

    def save_options(self, archive_format: str, count: int) -> list[str]:
        return []

    def loads(self, kind: str, images: int) -> bool:
        """Both engines' own load reads docker archives (docs/engines.md, Distribution)."""
        return kind == "docker-archive"

    def load(self, path: Path) -> list[str]:
        """The engine's own load; returns what it loaded (names, or IDs of untagged ones)."""
        result = self.ok(self.run(["load", f"--input={path}"], timeout=self.runner.run_timeout))
        loaded: list[str] = []
        for line in result.stdout.splitlines():
            key, _, value = line.partition(": ")
            if key in ("Loaded image", "Loaded image(s)", "Loaded image ID"):
                loaded += [v.strip() for v in value.split(",") if v.strip()]
        return loaded

    def read_layers(self, names: Sequence[str], on_layer: Callable[[IO[bytes]], None]) -> None:
        """Each distinct layer tar of these images, streamed from the engine's save."""
        from ocitool.backends.common.archive import each_layer

        argv = [
            *self.command,
            "save",
            *self.save_options("docker-archive", len(names)),
            "--",
            *names,
        ]
        broken: list[StoreCorrupt] = []

        def consume(out: IO[bytes]) -> None:
            try:
                each_layer(out, on_layer)
            except StoreCorrupt as exc:  # the engine's own failure, if any, says more
                broken.append(exc)

        _, result = self.runner.pipe(
            argv, consume, env=self.engine_env(), timeout=self.runner.run_timeout
        )
        if not result.ok:
            self.raise_for(result, images=names)
        if broken:
            raise broken[0]

    def remove_images(self, refs: Sequence[str]) -> None:
        """Plain `rmi`, never `-f`: podman's removes containers (docs/engines.md, Removal)."""
        self.ok(self.run(["rmi", "--", *refs]), images=refs)

    # -- containers ------------------------------------------------------------

    def create(
        self,
        image: str,
        command: Sequence[str],
        *,
        name: str | None,
        interactive: bool,
        tty: bool,
        remove: bool,
        network: str | None,
        pull: str,
        env: Sequence[str],
        detach: bool = False,
        options: RunOptions = NO_OPTIONS,
    ) -> str:
        argv = [
            "create",
            f"--pull={pull}",
            *run_options(options),
            *_opt("--name", name),
            *(["--interactive"] if interactive else []),
            *(["--tty"] if tty else []),
            *(["--rm"] if remove else []),
            *_opt("--network", network),
            *_each("--env", env),
            "--",
            image,
            *command,
        ]
        result = self.ok(self.run(argv), images=[image], containers=[name] if name else [])
        container_id = result.stdout.strip().splitlines()[-1]
        self.prepare(container_id, options)
        return container_id

    def prepare(self, container: str, options: RunOptions) -> None:
        """What the engine's create leaves undone that `run` promises (per engine)."""

    def container_name(self, container: str) -> str | None:
        result = self.run(["container", "inspect", "--format", "{{.Name}}", "--", container])
        return result.stdout.strip().lstrip("/") or None if result.ok else None

    def start(self, containers: Sequence[str]) -> None:
        result = self.run(["start", "--", *containers])
        failed = None if result.ok else start_failure(result.stderr, backend=self.name)
        if failed is not None:
            raise failed  # the command is missing or not executable: 127 or 126
        self.ok(result, containers=containers)

    def start_attached(self, container: str, *, interactive: bool, terminal: bool) -> Exited:
        """Start and wait; on the user's terminal, or captured for the API.

        The engine's own words on a start that failed (`start_failed`) are kept
        from the terminal and said as ocitool's one line; past OCITOOL_RUN_TIMEOUT
        the container is killed too, not left running (and removed if it was
        made with --rm, which the engine would have done when it exited)."""
        argv = ["start", "--attach", *(["--interactive"] if interactive else []), "--", container]
        full = [*self.command, *argv]
        timeout = self.runner.run_timeout
        try:
            if terminal:
                code, held = self.runner.attached_holding(
                    full, self._start_failed, env=self.engine_env(), timeout=timeout
                )
                done = Completed(tuple(full), code, "", held, 0.0)
            else:
                done = self.runner.run(full, env=self.engine_env(), timeout=timeout)
        except EngineTimeout as stop:
            stop.message = f"{stop.message}; {self._kill_after_timeout(container)}"
            raise
        held = "".join(
            line for line in done.stderr.splitlines(keepends=True) if self._start_failed(line)
        )
        if done.returncode != 0 and held:
            raise start_failure(held, backend=self.name) or EngineError(
                done.argv, done.returncode, held
            )
        return (
            Exited(done.returncode)
            if terminal
            else Exited(done.returncode, done.stdout, done.stderr)
        )

    def _start_failed(self, line: str) -> bool:
        return self.start_failed.search(line) is not None

    def _kill_after_timeout(self, container: str) -> str:
        """Kill the container a timed-out attached start left running; say what became of it."""
        short = container[:12]
        auto = self.run(
            ["container", "inspect", "--format", "{{.HostConfig.AutoRemove}}", "--", container]
        )
        killed = self.run(["kill", "--", container])
        if auto.ok and auto.stdout.strip() == "true":
            self.run(["rm", "--force", "--", container])  # the engine may be doing it already
            return f"its container {short} was stopped and removed (--rm)"
        if killed.ok:
            return f"its container {short} was stopped"
        return f"its container {short} had already stopped"

    def stop(self, containers: Sequence[str], *, timeout: int | None) -> None:
        argv = [
            "stop",
            *_opt("--time", None if timeout is None else str(timeout)),
            "--",
            *containers,
        ]
        grace = (timeout if timeout is not None else 10) + _STOP_GRACE
        result = self.runner.run(
            [*self.command, *argv], env=self.engine_env(), timeout=max(grace, self.runner.timeout)
        )
        self.ok(result, containers=containers)

    def remove_containers(self, containers: Sequence[str], *, force: bool) -> None:
        argv = ["rm", *(["--force"] if force else []), "--", *containers]
        self.ok(self.run(argv), containers=containers)


def hub_error(result: Completed) -> OcitoolError:
    """A failed engine search: usually no route to Docker Hub from here."""
    detail = " ".join(result.stderr.split())
    if any(w in detail for w in ("no such host", "dial tcp", "connection refused", "i/o timeout")):
        return BackendUnavailable(
            "registry",
            f"the search service is not reachable: {detail[-300:]}",
            hint="search a v2 registry instead: ocitool search TERM --registry HOST",
        )
    return EngineError(result.argv, result.returncode, result.stderr)


def container_conflict(
    stderr: str, containers: Sequence[str], name_in_use: re.Pattern[str], running: re.Pattern[str]
) -> Conflict | None:
    """The two container conflicts both engines have, each matched by its own wording."""
    name = name_in_use.search(stderr)
    if name:
        return Conflict(
            f"container name {name.group(1)} is already in use",
            hint=f"choose another --name, or remove the old one: ocitool rm {name.group(1)}",
        )
    busy = running.search(stderr)
    if busy:
        which = containers[0] if len(containers) == 1 else busy.group(1)[:12]
        return Conflict(
            f"container {which} is running",
            hint=f"stop it first (ocitool stop {which}) or use rm --force",
        )
    return None


def run_options(options: RunOptions) -> list[str]:
    """`-v`, `-w`, `-u`, `--entrypoint`, `--hostname` and `-p`, each as one token."""
    return [
        *[
            f"--volume={b.source}:{b.destination}{':ro' if b.read_only else ''}"
            for b in options.binds
        ],
        *_opt("--workdir", options.workdir),
        *_opt("--user", options.user),
        *_opt("--entrypoint", options.entrypoint),
        *_opt("--hostname", options.hostname),
        *_each("--publish", options.publish),
    ]


def _opt(flag: str, value: str | None) -> list[str]:
    """`--flag=value` as one token, so a value can never be read as another option."""
    return [f"{flag}={value}"] if value is not None else []


def _each(flag: str, values: Sequence[str]) -> list[str]:
    return [f"{flag}={value}" for value in values]


def _last_id(result: Completed) -> str:
    """The image ID an engine prints last: docker `sha256:<hex>`, podman bare hex."""
    for line in reversed(result.stdout.split()):
        digest = as_digest(line)
        if digest:
            return digest
    raise EngineError(
        result.argv,
        result.returncode,
        result.stderr,
        message="the engine did not print the new image's ID",
    )
