"""A docker archive relayed from an engine's save to another's load, renamed on its way.

tarfile's stream mode reads and writes every byte of every layer through Python
objects; for a 100 MB image over ssh that cost more than the ssh connection
itself (docs/remote.md, Bench). Here only the 512-byte headers are read:
each member's data is passed on by `os.splice` (kernel to kernel, between
pipes) or, where an end is no pipe, by `os.read`/`os.write` in fixed pieces,
so memory stays flat. Only manifest.json, which names the images, is held and
rewritten; the legacy `repositories` names are left out (manifest.json is what
every engine reads first).

`before_naming`, a check begun in a thread (ocitool.together), is waited for
before the first byte of manifest.json (or of the archive's end) is passed on:
a load cannot give the image a name before the check passed, so the check that
the destination name is free (ocitool.transfer) runs while the layers stream.
Its refusal, as soon as it is known, or any failure, leaves the load an archive
no reader takes for whole (`_Ends.spoil`): the load fails, naming and keeping
nothing. Killing the load would not do: over ssh, the far end's load sees only
its stdin end, wherever the stream was cut.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from ocitool.together import Begun

_BLOCK = 512
_PIECE = 1 << 20  # what member data is passed on in
_MAX_HEADER_DATA = 1 << 20  # a pax or GNU long-name header's data, held until its member
_MAX_MANIFEST = 16 << 20
_NO_DATA = frozenset(b"123456")  # links, devices, directories, FIFOs: no data follows


class _Ends:
    """The two ends of a relay: raw fds where both have one, else the file objects."""

    def __init__(self, source: IO[bytes], sink: IO[bytes], gate: Begun[None] | None) -> None:
        self.source, self.sink = source, sink
        self.gate = gate  # the check to pass before the name is passed on
        self.left = 0  # what is still to come of the member in passage
        try:
            sink.flush()
            self.fds: tuple[int, int] | None = (source.fileno(), sink.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            self.fds = None
        self.splice = self.fds is not None and hasattr(os, "splice")

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes; fewer only at the end of the stream."""
        parts, left = [], size
        while left:
            chunk = os.read(self.fds[0], left) if self.fds else self.source.read(left)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def exact(self, size: int) -> bytes:
        data = self.read(size)
        if len(data) < size:
            raise EOFError("the archive ends inside a member")
        return data

    def write(self, data: bytes) -> None:
        if not self.fds:
            self.sink.write(data)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.fds[1], view) :]

    def copy(self, size: int) -> None:
        """`size` bytes from source to sink, never all held at once."""
        self.left = size
        while self.left > 0:
            moved = self._spliced(min(self.left, _PIECE)) if self.splice else None
            if moved is None:
                chunk = self.read(min(self.left, _PIECE))
                self.write(chunk)
                moved = len(chunk)
            if not moved:
                raise EOFError("the archive ends inside a member")
            self.left -= moved
            if self.gate is not None and self.gate.done():
                self.open_gate()  # a refusal cuts the stream at once, not at its end

    def spoil(self) -> None:
        """End what was passed on so that no reader takes it for a whole archive: a tar
        cut where a member ends reads as complete (and a docker load would then load
        its layers, unnamed). So the member in passage is filled, and a header that
        is no header follows; a member with more than a piece to come is cut short."""
        if self.left > _PIECE:
            return
        with contextlib.suppress(OSError, ValueError):
            self.write(b"\xff" * (self.left + _BLOCK))

    def open_gate(self) -> None:
        """Wait for the check; its refusal is raised here."""
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.wait()

    def rest(self) -> None:
        """Everything after the archive's end marker (a tar's record padding)."""
        while True:
            moved = self._spliced(_PIECE) if self.splice else None
            if moved is None:
                chunk = self.read(_PIECE)
                self.write(chunk)
                moved = len(chunk)
            if not moved:
                return

    def _spliced(self, size: int) -> int | None:
        """Bytes moved in the kernel, or None where these ends cannot splice."""
        assert self.fds is not None  # noqa: S101 - splice is only tried with fds
        try:
            return os.splice(self.fds[0], self.fds[1], size)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EBADF):
                raise
            self.splice = False  # neither end is a pipe: read and write instead
            return None


class _Header:
    """One 512-byte tar header, as much of it as a relay needs."""

    def __init__(self, block: bytes) -> None:
        if _checksum(block) != _octal(block[148:156]):
            raise ValueError("not a tar archive (a header's checksum is wrong)")
        self.block = block
        self.type = block[156] or ord("0")
        name = block[:100].split(b"\0", 1)[0]
        if block[257:265] == b"ustar\x0000" and block[345]:
            name = block[345:500].split(b"\0", 1)[0] + b"/" + name
        self.name = name.decode("utf-8", "surrogateescape")
        size = block[124:136]
        self.size = int.from_bytes(size[1:], "big") if size[0] & 0x80 else _octal(size)
        self.mtime = _octal(block[136:148])

    @property
    def data_size(self) -> int:
        return 0 if self.type in _NO_DATA else self.size


def relay_renamed(
    source: IO[bytes],
    sink: IO[bytes],
    name: str | None,
    *,
    before_naming: Begun[None] | None = None,
) -> list[str]:
    """Copy a docker archive from `source` to `sink`, each image named `name` (None:
    untagged) in its manifest.json; `before_naming` as the module docstring says.
    Returns the image IDs manifest.json lists (each config's digest, which a load keeps)."""
    ends = _Ends(source, sink, before_naming)
    try:
        return _relayed(ends, name)
    except BaseException:
        ends.spoil()
        raise


def _relayed(ends: _Ends, name: str | None) -> list[str]:
    ids: list[str] = []
    pending: list[bytes] = []  # extension headers (pax, GNU long names) of the next member
    long_name: str | None = None
    while True:
        block = ends.read(_BLOCK)
        if len(block) < _BLOCK:
            raise EOFError("the archive ends before its end marker")
        if not any(block):
            ends.open_gate()
            ends.write(block)
            ends.rest()
            return ids
        header = _Header(block)
        padded = -header.data_size % _BLOCK
        if header.type in b"xLK":  # about the next member: held until it comes
            if header.size > _MAX_HEADER_DATA:
                raise ValueError("a tar extension header is too large")
            data = ends.exact(header.size + padded)
            pending.append(block + data)
            long_name = _extended_name(header.type, data[: header.size]) or long_name
            continue
        member = (long_name or header.name).removeprefix("./")
        size = _pax_size(pending) or header.data_size
        padded = -size % _BLOCK
        extensions, pending, long_name = b"".join(pending), [], None
        if member == "repositories":
            ends.exact(size + padded)  # dropped, with its extension headers
        elif member == "manifest.json":
            if size > _MAX_MANIFEST:
                raise ValueError("the archive's manifest.json is too large")
            doc = json.loads(ends.exact(size + padded)[:size])
            data = json.dumps(_named(doc, name, ids), separators=(",", ":")).encode()
            ends.open_gate()
            ends.write(_file_header(header.name, len(data), header.mtime))
            ends.write(data + b"\0" * (-len(data) % _BLOCK))
        else:
            ends.write(extensions + block)
            ends.copy(size + padded)


def _named(doc: object, name: str | None, ids: list[str]) -> object:
    """manifest.json with every image named `name`; each config's digest into `ids`."""
    if not isinstance(doc, list):
        raise ValueError("the engine's save wrote a manifest.json that lists no images")
    for item in doc:
        if isinstance(item, dict):
            item["RepoTags"] = [name] if name else None
            hex_id = str(item.get("Config", "")).rsplit("/", 1)[-1].removesuffix(".json")
            ids.extend([f"sha256:{hex_id}"] if len(hex_id) == 64 else [])
    return doc


def _file_header(name: str, size: int, mtime: int) -> bytes:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _extended_name(kind: int, data: bytes) -> str | None:
    """The next member's name from a GNU long-name or a pax `path` record."""
    if kind == ord("L"):
        return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if kind == ord("x"):
        return _pax_records(data).get("path")
    return None


def _pax_size(pending: list[bytes]) -> int | None:
    """A pax `size` record among the held headers (a member over 8 GiB has one)."""
    for held in pending:
        if held[156] == ord("x"):
            size = _pax_records(held[_BLOCK : _BLOCK + _Header(held[:_BLOCK]).size]).get("size")
            if size is not None:
                return int(size)
    return None


def _pax_records(data: bytes) -> dict[str, str]:
    """`LENGTH key=value\\n` records."""
    records, at = {}, 0
    while at < len(data):
        length = data[at:].split(b" ", 1)[0]
        if not length.isdigit() or int(length) <= 0:
            break
        record = data[at : at + int(length)]
        key, _, value = record.split(b" ", 1)[-1].rstrip(b"\n").partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        at += int(length)
    return records


def _octal(field: bytes) -> int:
    digits = field.split(b"\0", 1)[0].strip()
    return int(digits, 8) if digits else 0


def _checksum(block: bytes) -> int:
    return sum(block[:148]) + 8 * 32 + sum(block[156:])
