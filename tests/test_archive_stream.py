"""The relay that renames a docker archive between an engine's save and another's load
(ocitool.archive_stream): layer data passes untouched, by splice where an end is a
pipe; only manifest.json is rewritten, and only after the destination-name check."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
from pathlib import Path

import pytest

from ocitool.archives import renamed_stream
from ocitool.errors import Conflict, UsageError
from ocitool.together import Begun, begun

CONFIG = "a" * 64 + ".json"
LAYER = bytes(range(256)) * (3 << 12)  # 3 MiB, not all zeros


def archive(*, fmt: int = tarfile.PAX_FORMAT, layer_name: str = "abc/layer.tar") -> bytes:
    """A docker archive as `docker save` writes it: layers, config, manifest.json and
    the legacy `repositories` last."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        manifest = [{"Config": CONFIG, "RepoTags": ["old/name:1"], "Layers": [layer_name]}]
        for name, data in (
            ("abc", None),
            (layer_name, LAYER),
            (CONFIG, b"{}"),
            ("manifest.json", json.dumps(manifest).encode()),
            ("repositories", b'{"old/name":{"1":"abc"}}'),
        ):
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_back(data: bytes) -> tuple[list[str], dict[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    return names, files


def through_a_pipe(source: bytes, tmp_path: Path, name: str | None, **kwargs: object) -> bytes:
    """The relay between a file and a pipe, as between an engine's save and a load
    (the fd path: splice)."""
    path = tmp_path / "in.tar"
    path.write_bytes(source)
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_drain(read_end)))
    reader.start()
    try:
        with path.open("rb") as src, open(write_end, "wb") as sink:
            ids = renamed_stream(src, sink, name, **kwargs)  # type: ignore[arg-type]
    finally:
        reader.join(timeout=30)
    assert ids == [f"sha256:{'a' * 64}"]
    return received[0]


def _drain(fd: int) -> bytes:
    with open(fd, "rb") as pipe:
        return pipe.read()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_layers_pass_untouched_and_only_the_manifest_is_renamed(fmt: int, tmp_path: Path) -> None:
    out = through_a_pipe(archive(fmt=fmt), tmp_path, "new/name:2")
    names, files = read_back(out)
    assert names == ["abc", "abc/layer.tar", CONFIG, "manifest.json"]  # no `repositories`
    assert files["abc/layer.tar"] == LAYER
    assert json.loads(files["manifest.json"])[0]["RepoTags"] == ["new/name:2"]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_member_names_keep_their_extension_headers(fmt: int, tmp_path: Path) -> None:
    long = "d" * 120 + "/layer.tar"
    out = through_a_pipe(archive(fmt=fmt, layer_name=long), tmp_path, None)
    names, files = read_back(out)
    assert long in names and files[long] == LAYER
    assert json.loads(files["manifest.json"])[0]["RepoTags"] is None  # untagged


def test_file_objects_without_fds_are_relayed_too() -> None:
    out = io.BytesIO()
    renamed_stream(io.BytesIO(archive()), out, "x:1")
    assert read_back(out.getvalue())[1]["abc/layer.tar"] == LAYER


def test_the_name_waits_for_the_check_while_the_layers_stream() -> None:
    """Everything before manifest.json is passed on while the check runs; the name only
    after it passed."""
    source = archive()
    answered = threading.Event()

    def answer() -> None:
        answered.wait(30)

    check = begun(answer)
    sink = _Recording(answered)
    relay = threading.Thread(
        target=lambda: renamed_stream(io.BytesIO(source), sink, "n:1", before_naming=check)
    )
    relay.start()
    relay.join(timeout=2)
    assert relay.is_alive(), "the relay must wait for the check"
    assert sink.before_answer == source.index(b"manifest.json")  # every layer byte, no name
    answered.set()
    relay.join(timeout=30)
    assert json.loads(read_back(sink.getvalue())[1]["manifest.json"])[0]["RepoTags"] == ["n:1"]


def test_a_refusal_cuts_the_stream_at_once_and_names_nothing() -> None:
    def refuse() -> None:
        raise Conflict("docker@[ssh://h]:n:1 already exists")

    check = begun(refuse)
    check.thread.join()
    out = io.BytesIO()
    with pytest.raises(Conflict):
        renamed_stream(io.BytesIO(archive()), out, "n:1", before_naming=check)
    assert len(out.getvalue()) < len(LAYER)  # cut within the first layer
    assert b"manifest.json" not in out.getvalue()


def test_a_refusal_where_a_member_ends_is_followed_by_no_header() -> None:
    """Cut where a member ends, a tar reads as complete (Go's reader, which docker and
    podman load with, then loads the layers unnamed): a block that is no header follows."""
    source = archive()
    out = io.BytesIO()

    def refuse() -> None:
        raise Conflict("n:1 already exists")

    check = begun(refuse)
    with pytest.raises(Conflict):  # the layers are short: the cut is at manifest.json
        renamed_stream(io.BytesIO(source), out, "n:1", before_naming=_late(check))
    written = out.getvalue()
    assert written.endswith(b"\xff" * 512) and len(written) % 512 == 0
    assert written[:-512] == source[: source.index(b"manifest.json")]


def _late(check: Begun[None]) -> Begun[None]:
    """The check as the relay sees one still running until it is waited for."""

    class Late:
        def done(self) -> bool:
            return False

        def wait(self) -> None:
            check.wait()

    return Late()  # type: ignore[return-value]


def test_what_is_no_archive_is_one_usage_error() -> None:
    with pytest.raises(UsageError, match="no readable archive"):
        renamed_stream(io.BytesIO(b"x" * 2048), io.BytesIO(), "n:1")
    with pytest.raises(UsageError, match="ends inside a member"):
        renamed_stream(io.BytesIO(archive()[:5000]), io.BytesIO(), "n:1")


class _Recording(io.BytesIO):
    """A sink without an fd that counts what was written before the check answered."""

    def __init__(self, answered: threading.Event) -> None:
        super().__init__()
        self.answered = answered
        self.before_answer = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if not self.answered.is_set():
            self.before_answer += len(data)
        return super().write(data)
