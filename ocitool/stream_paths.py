"""Copies the engines' own streams carry, where the mover cannot reach one end.

A daemon over ssh or a podman service keeps its images where skopeo cannot open
them; its endpoint (ocitool.movers.Endpoint) then offers its own save (a docker
archive on stdout) and load (one on stdin), over the engine's own connection.
The best path for each pair of ends, never by engine name:
- both ends stream: `save | load`, the archive renamed on its way (for the name
  asked for at the destination), memory flat, no file;
- only the source streams: its save into a temporary docker archive, which the
  mover then copies (skopeo 1.9 reads a docker archive only from a file it can
  seek), or straight into the destination file when that is a docker archive;
- only the destination streams: the mover writes a docker archive into a pipe
  (/dev/fd/N) that the engine's load reads.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from ocitool.archives import renamed_stream
from ocitool.errors import NotSupported, UsageError

if TYPE_CHECKING:
    from ocitool.movers import Endpoint, Mover, ProgressEvent
    from ocitool.runner import Completed, Runner
    from ocitool.together import Begun

log = logging.getLogger("ocitool.transfer")


class Streamed(NamedTuple):
    path: str  # the path taken, as the result and --debug name it
    digest: str | None  # the manifest digest written, where the mover wrote it
    image_id: str | None = None  # the destination's image ID, where the stream showed it


def needed(source: Endpoint, destination: Endpoint) -> bool:
    """Whether the mover cannot make this copy alone."""
    return not (source.reachable and destination.reachable)


def stream_copy(
    runner: Runner,
    mover: Mover,
    source: Endpoint,
    destination: Endpoint,
    *,
    to_file: tuple[Path, str | None] | None = None,
    on_event: ProgressEvent | None = None,
    before_naming: Begun[None] | None = None,
) -> Streamed:
    """Copy one image by the best path for these ends (module docstring); `to_file`
    is the destination's file and the name it gives the image, where it is a docker
    archive. `before_naming` (a check that the destination name is free) must
    return before the destination is named: between two engines, while the layers
    stream; otherwise first. An engine's failed save or load is its own error
    (Command.failed)."""
    if source.save and destination.load:  # two engines: the archive never touches a disk
        return _save_into_load(runner, source, destination, before_naming)
    if before_naming is not None:
        before_naming.wait()
    if not source.reachable:
        if source.save is None:
            raise NotSupported(f"{source.label} cannot be read from here")
        if to_file is not None:
            _save_to(runner, source, *to_file)
            return Streamed(f"{source.save.program} save", None)
        with tempfile.TemporaryDirectory(prefix="ocitool-stream-") as tmp:
            archive = Path(tmp) / "image.tar"
            _save_to(runner, source, archive, source.archive_name)
            start = mover.archive("docker-archive", archive, None)
            if not destination.reachable:
                return _mover_into_load(runner, mover, start, destination, on_event)
            digest = mover.copy(start, destination, on_event=on_event)
        return Streamed(f"{source.save.program} save, then {mover.name} copy", digest)
    return _mover_into_load(runner, mover, source, destination, on_event)


def _save_into_load(
    runner: Runner,
    source: Endpoint,
    destination: Endpoint,
    before_naming: Begun[None] | None,
) -> Streamed:
    """The load reads the layers as they stream; it is handed the name (manifest.json)
    only once `before_naming` passed, and a cut-off archive as soon as it refused."""
    assert source.save and destination.load  # noqa: S101 - checked by the caller
    name = destination.archive_name
    ids: list[str] = []

    def relay(out: IO[bytes], into: IO[bytes]) -> None:
        ids.extend(renamed_stream(out, into, name, before_naming=before_naming))

    log.debug("path: %s | %s", " ".join(source.save.argv), " ".join(destination.load.argv))
    saved, loaded = runner.chain(
        source.save.argv,
        destination.load.argv,
        relay=relay,
        producer_env=source.save.env,
        consumer_env=destination.load.env,
    )
    # The first to fail says why: a save cut off by a load that died has a broken pipe,
    # and a load killed for a refused name (or an endpoint the check could not reach)
    # has the check's own error.
    if not saved.ok and (loaded.ok or not _cut_off(saved)):
        source.save.failed(saved)
    if before_naming is not None:
        before_naming.wait()
    if not loaded.ok:
        destination.load.failed(loaded)
    # a load keeps the archive's config, whose digest is the image ID: no call to ask it
    path = f"{source.save.program} save | {destination.load.program} load"
    return Streamed(path, None, ids[0] if len(ids) == 1 else None)


def _cut_off(result: Completed) -> bool:
    """Whether a producer died of its reader's end (SIGPIPE, EPIPE)."""
    return result.returncode in (-13, 141) or "broken pipe" in result.stderr.lower()


def _save_to(runner: Runner, source: Endpoint, path: Path, name: str | None) -> None:
    """The engine's save, its archive written to `path` as it streams, the image named
    `name` in it."""
    assert source.save  # noqa: S101 - checked by the caller
    log.debug("path: %s > %s", " ".join(source.save.argv), path)
    broken: list[Exception] = []

    def consume(out: IO[bytes]) -> None:
        try:
            renamed_stream(out, sink, name)
        except Exception as exc:  # the engine's own failure, if any, says more
            broken.append(exc)

    with path.open("wb") as sink:
        _, saved = runner.pipe(
            source.save.argv, consume, env=source.save.env, timeout=runner.run_timeout
        )
    if not saved.ok:
        source.save.failed(saved)
    if broken:
        raise UsageError(
            f"{source.label}: the engine's save wrote no readable archive ({broken[0]})",
            hint="run it again with --debug to see the engine's call",
        )


def _mover_into_load(
    runner: Runner,
    mover: Mover,
    source: Endpoint,
    destination: Endpoint,
    on_event: ProgressEvent | None,
) -> Streamed:
    """The mover writes a docker archive into a pipe that the engine's load reads."""
    if destination.load is None:
        raise NotSupported(f"{destination.label} cannot be written from here")
    with runner.feeding(destination.load.argv, env=destination.load.env) as (fd, loaded):
        pipe = mover.archive("docker-archive", Path(f"/dev/fd/{fd}"), destination.archive_name)
        log.debug("path: %s copy %s -> %s", mover.name, source.ref, " ".join(destination.load.argv))
        mover.copy(source, pipe._replace(pass_fds=(fd,)), on_event=on_event)
    if not loaded[0].ok:
        destination.load.failed(loaded[0])
    # the mover's digest is the piped archive's, which the engine does not keep
    return Streamed(f"{mover.name} copy | {destination.load.program} load", None)
