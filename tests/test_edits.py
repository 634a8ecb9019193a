"""Image edits with no container on every engine: mutate, append, flatten (docs/edits.md)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest

from ocitool.archives import REF_NAME
from ocitool.client import Client
from ocitool.errors import ImageNotFound, InvalidReference, UsageError
from ocitool.image_edits import (
    EDITED,
    EditedImage,
    command_value,
    flatten,
    layer_from_tarball,
    parse_edits,
)
from ocitool.layerfiles import final_files, scan_layer
from tests.conftest import BASE, Lab, build_images
from tests.test_cli import ocitool, one_error_line

Member = tuple[str, str, bytes | str | None]  # (name, kind: file/dir/link/sym, data/target)


def tar_bytes(members: list[Member], *, owner: int = 0) -> bytes:
    """A layer tar of these members, in this order (a link names its target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.uid = info.gid = owner
            info.mtime = 1_700_000_000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, str(data)
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
                tar.addfile(info)
            else:
                body = data if isinstance(data, bytes) else str(data or "").encode()
                info.size, info.mode = len(body), 0o604
                tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


# The test image's two appended layers: a hard link, a file owned by 123, then a
# whiteout (gone) and an opaque directory (emptied) above them.
LOWER: list[Member] = [
    ("data", "dir", None),
    ("data/keep", "file", "kept\n"),
    ("data/link", "link", "data/keep"),
    ("data/gone", "file", "soon gone\n"),
    ("data/swap", "file", "first\n"),
    ("data/also", "link", "data/swap"),  # swap is replaced above: also keeps "first"
    ("emptied", "dir", None),
    ("emptied/old", "file", "old\n"),
]
UPPER: list[Member] = [
    ("data/.wh.gone", "file", b""),
    ("data/swap", "file", "second\n"),
    ("emptied/.wh..wh..opq", "file", b""),
    ("emptied/fresh", "file", "fresh\n"),
]


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# -- no engine: the options, the tarball check, the flattening --------------------------


def test_a_command_is_a_json_array_a_shell_like_string_or_nothing() -> None:
    assert command_value("--cmd", '["sh", "-c", "echo $HOME"]') == ["sh", "-c", "echo $HOME"]
    assert command_value("--cmd", "sh -c 'echo hi there'") == ["sh", "-c", "echo hi there"]
    assert command_value("--cmd", "") == []
    assert command_value("--cmd", ["a b"]) == ["a b"]
    assert command_value("--cmd", None) is None
    for bad in ('["sh", 1]', "[not json", "sh -c 'open"):
        with pytest.raises(UsageError):
            command_value("--cmd", bad)


def test_edits_are_checked_before_anything_runs() -> None:
    edits = parse_edits(labels=["a=b", "empty="], env=["X=1=2"], entrypoint="", user="")
    assert edits.labels == {"a": "b", "empty": ""}
    assert edits.env == [("X", "1=2")]
    assert edits.steps == ["LABEL a=b", "LABEL empty=", "ENV X=1=2", "ENTRYPOINT []", "USER "]
    for bad in ({"labels": ["novalue"]}, {"env": ["=x"]}, {"workdir": "rel"}, {}):
        with pytest.raises(UsageError):
            parse_edits(**bad)


@pytest.mark.parametrize(
    "members",
    [[("/etc/passwd", "file", "x")], [("a/../../x", "file", "x")], [("l", "link", "../x")]],
)
def test_a_tarball_that_climbs_out_is_refused(tmp_path: Path, members: list[Member]) -> None:
    for compress in (False, True):
        tarball = write(tmp_path / "bad.tar", tar_bytes(members), compress=compress)
        with pytest.raises(UsageError, match="absolute or climbs out"):
            layer_from_tarball(tarball, tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ["bad.tar"]  # no blob left behind


def test_a_file_that_is_no_tar_is_refused(tmp_path: Path) -> None:
    for name, data in (("text", b"hello\n" * 100), ("empty", b""), ("cut", tar_bytes(LOWER)[:700])):
        with pytest.raises(UsageError, match="is not a tar archive"):
            layer_from_tarball(write(tmp_path / name, data), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"text", "empty", "cut"}


def test_a_gzip_tarball_is_one_layer_with_the_tars_diff_id(tmp_path: Path) -> None:
    data = tar_bytes(LOWER)
    tarball = write(tmp_path / "l.tgz", data, compress=True)
    layer = layer_from_tarball(tarball, tmp_path)
    assert layer.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert layer.path.read_bytes() == tarball.read_bytes()  # a gzip is kept as it is
    plain = layer_from_tarball(write(tmp_path / "l.tar", data), tmp_path)
    assert plain.diff_id == layer.diff_id and gzip.decompress(plain.path.read_bytes()) == data
    assert layer.digest == "sha256:" + hashlib.sha256(layer.path.read_bytes()).hexdigest()


def layout_of(root: Path, layers: list[bytes]) -> Path:
    """An OCI layout holding one image of these (uncompressed) layers, named `source`."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"step {n}"} for n in range(len(layers))],
    }
    media = "application/vnd.oci.image.layer.v1.tar"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **put(json.dumps(config).encode()),
        },
        "layers": [{"mediaType": media, **put(layer)} for layer in layers],
    }
    entry = {
        "mediaType": manifest["mediaType"],
        **put(json.dumps(manifest).encode()),
        "annotations": {REF_NAME: "source"},
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def test_flatten_keeps_the_final_files_links_and_owners(tmp_path: Path) -> None:
    lower, upper = tar_bytes(LOWER, owner=123), tar_bytes(UPPER)
    layout = layout_of(tmp_path / "layout", [lower, upper])
    image = EditedImage(layout, "source")
    flatten(image, "ocitool flatten test")
    image.save()
    flat = EditedImage(layout, EDITED)
    assert len(flat.layers) == len(flat.diff_ids) == 1
    assert [step["created_by"] for step in flat.config["history"]] == ["ocitool flatten test"]
    assert flat.config["config"] == {"Env": ["PATH=/bin"], "Cmd": ["sh"]}

    def scanned(data: bytes) -> object:
        return scan_layer(io.BytesIO(data), contents=True)

    with flat.open_layer(flat.layers[0]) as stream:
        one = stream.read()
    assert "sha256:" + hashlib.sha256(one).hexdigest() == flat.diff_ids[0]
    before = final_files([scanned(lower), scanned(upper)])  # type: ignore[list-item]
    assert final_files([scanned(one)]) == before  # type: ignore[list-item]
    assert "data/gone" not in before and "emptied/old" not in before
    with tarfile.open(fileobj=io.BytesIO(one)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert not [name for name in members if ".wh." in name]
        assert members["data/link"].islnk() and members["data/link"].linkname == "data/keep"
        assert members["data/keep"].uid == 123 and members["data/keep"].mode == 0o604
        also = tar.extractfile(members["data/also"])
        assert also is not None and also.read() == b"first\n"  # the old contents, not swap's


def test_flatten_streams_its_layers(tmp_path: Path) -> None:
    """A 32 MiB file flattens with a few MiB of memory: layers stream through files."""
    noise = os.urandom(32 << 20)
    layout = layout_of(tmp_path / "layout", [tar_bytes([("noise", "file", noise)])])
    del noise
    image = EditedImage(layout, "source")
    tracemalloc.start()
    try:
        flatten(image, "ocitool flatten big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak


# -- on every engine ----------------------------------------------------------------------


def edited_images(engine: str, lab: Lab, tmp: Path) -> tuple[str, str]:
    """BASE with the two layers above appended, by the CLI and the API (made once per
    engine): its name, and its flattened copy's."""
    build_images(engine, lab)
    layered, flat = f"edits/{engine}:layered", f"edits/{engine}:flat"
    c = Client(backend=engine)
    known = {n for i in c.images() for n in i.names}
    if flat not in known:
        lower = write(tmp / "lower.tar", tar_bytes(LOWER, owner=123))
        upper = write(tmp / "upper.tar.gz", tar_bytes(UPPER), compress=True)
        proc = ocitool("-b", engine, "append", BASE, str(lower), f"edits/{engine}:lower")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == c.inspect(f"edits/{engine}:lower")[0].id
        c.append(f"edits/{engine}:lower", upper, layered)
        c.flatten(layered, flat)
    return layered, flat


def test_mutate_changes_only_the_config_asked_and_keeps_the_layers(
    engine: str, client: Client
) -> None:
    name = f"edits/{engine}:mutated"
    proc = ocitool(
        "-b",
        engine,
        "mutate",
        BASE,
        name,
        "--env",
        "GREETING=hello there",
        "--label",
        "org.example.team=edits",
        "--entrypoint",
        '["sh", "-c"]',
        "--cmd",
        "'echo \"$GREETING\"; pwd; cat /proc/self/status'",  # one argument, as a shell splits
        "--workdir",
        "/bin",
        "--user",
        "1234",
    )
    assert proc.returncode == 0, proc.stderr
    base, made = client.inspect(BASE, name)
    assert proc.stdout.strip() == made.id != base.id
    assert made.diff_ids == base.diff_ids  # no new layer
    assert made.config.labels == {**base.config.labels, "org.example.team": "edits"}
    assert made.config.env == [*base.config.env, "GREETING=hello there"]
    assert made.config.entrypoint == ["sh", "-c"]
    assert made.config.working_dir == "/bin"
    assert made.config.user == "1234"
    steps = client.history(name)
    assert steps[0].empty and "ENV GREETING=hello there" in (steps[0].created_by or "")
    assert len(steps) == len(client.history(BASE)) + 1
    run = ocitool("-b", engine, "run", "--rm", "--network", "none", name)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == ["hello there", "/bin"]
    assert any(line.split()[:2] == ["Uid:", "1234"] for line in lines), run.stdout


def test_mutate_through_the_api_clears_a_command(engine: str, client: Client) -> None:
    first = client.mutate(BASE, f"edits/{engine}:cmd", cmd=["echo", "one"], env=["A=1"])
    again = client.mutate(first.id, f"edits/{engine}:cmd", cmd="", entrypoint="echo two")
    assert again.config.cmd in (None, [])
    assert again.config.entrypoint == ["echo", "two"]
    assert again.config.env == first.config.env  # only what was asked changed
    assert f"edits/{engine}:cmd" in again.names
    out = client.run(again.id, [], network="none", remove=True)
    assert (out.stdout or "").strip() == "two"


def test_append_adds_one_layer_with_its_files(
    engine: str, client: Client, lab: Lab, tmp_path: Path
) -> None:
    layered, _ = edited_images(engine, lab, tmp_path)
    base, lower, made = client.inspect(BASE, f"edits/{engine}:lower", layered)
    assert made.diff_ids[:-1] == lower.diff_ids and lower.diff_ids[:-1] == base.diff_ids
    assert len(made.diff_ids) == len(base.diff_ids) + 2
    steps = client.history(layered)
    assert not steps[0].empty and "ocitool append upper.tar.gz" in (steps[0].created_by or "")
    proc = ocitool("-b", engine, "layers", "--files", layered, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    top = json.loads(proc.stdout)["layers"][-1]
    assert {"/data/swap", "/emptied/fresh"} <= {f["path"] for f in top["files"]}
    out = client.run(layered, ["cat", "/data/keep", "/data/also", "/data/swap"], network="none")
    assert out.stdout == "kept\nfirst\nsecond\n"


def test_flatten_gives_one_layer_and_the_same_files(
    engine: str, client: Client, lab: Lab, tmp_path: Path
) -> None:
    layered, flat = edited_images(engine, lab, tmp_path)
    original, made = client.inspect(layered, flat)
    assert len(made.diff_ids) == 1 < len(original.diff_ids)
    assert made.config.env == original.config.env and made.config.cmd == original.config.cmd
    proc = ocitool("-b", engine, "diff", "--files", layered, flat, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == []
    out = client.run(flat, ["sh", "-c", "ls /data; ls /emptied; cat /data/link"], network="none")
    assert out.stdout == "also\nkeep\nlink\nswap\nfresh\nkept\n"
    again = ocitool("-b", engine, "flatten", flat, f"edits/{engine}:flat2", "--format", "json")
    assert again.returncode == 0, again.stderr
    shown = json.loads(again.stdout)
    assert f"edits/{engine}:flat2" in shown["names"] and len(shown["layers"]) == 1


def test_the_engine_calls_do_not_grow_with_the_layers(
    engine: str, lab: Lab, tmp_path: Path
) -> None:
    layered, _ = edited_images(engine, lab, tmp_path)
    counts = []
    for image in (BASE, layered):
        c = Client(backend=engine)
        c.flatten(image, f"edits/{engine}:counted")
        counts.append(len(c.runner.calls))
    assert counts[0] == counts[1]


def test_a_failed_edit_leaves_the_name_and_no_files(
    engine: str, client: Client, tmp_path: Path
) -> None:
    name = f"edits/{engine}:kept"
    client.tag(BASE, name)
    before = client.inspect(name)[0].id
    work = tmp_path / "tmp"
    work.mkdir()
    bad = write(tmp_path / "bad.tar", tar_bytes([("../escape", "file", "x")]))
    junk = write(tmp_path / "junk.tar", b"no tar here\n" * 64)
    env = {"TMPDIR": str(work)}
    cases = [
        (("append", BASE, str(bad), name), 2, "absolute or climbs out"),
        (("append", BASE, str(junk), name), 2, "not a tar archive"),
        (("append", BASE, str(tmp_path / "none.tar"), name), 2, "no such file"),
        (("mutate", "edits/missing:1", name, "--env", "A=1"), 3, "edits/missing:1"),
        (("flatten", "edits/missing:1", name), 3, "edits/missing:1"),
        (("mutate", BASE, "Bad Name", "--env", "A=1"), 2, "Bad Name"),
        (("mutate", BASE, name, "--label", "novalue"), 2, "is not KEY=VALUE"),
        (("mutate", BASE, name), 2, "nothing to change"),
    ]
    for args, code, said in cases:
        proc = ocitool("-b", engine, *args, env=env)
        assert proc.returncode == code, (args, proc.stderr)
        assert said in one_error_line(proc), args
    assert client.inspect(name)[0].id == before
    assert list(work.iterdir()) == []  # no private layout left behind
    good = write(tmp_path / "good.tar", tar_bytes([("added", "file", "x")]))
    with pytest.raises(ImageNotFound):
        client.append("edits/missing:1", good, name)
    with pytest.raises(InvalidReference):
        client.flatten(BASE, "edits:bad:name")
    assert os.listdir(work) == []
    client.rmi(name)  # BASE keeps only the names other tests expect


def test_ctrl_c_leaves_no_layout_and_no_name(engine: str, client: Client, tmp_path: Path) -> None:
    """Ctrl-C while a flatten of a 32 MiB layer runs: exit 130, the private layout gone,
    and NAME:TAG never made."""
    big = f"edits/{engine}:big"
    if not any(big in i.names for i in client.images()):
        noise = os.urandom(32 << 20)  # incompressible: the flatten takes a while
        tarball = write(tmp_path / "big.tar", tar_bytes([("noise", "file", noise)]))
        client.append(BASE, tarball, big)
    work = tmp_path / "tmp"
    work.mkdir()
    name = f"edits/{engine}:interrupted"
    argv = [sys.executable, "-m", "ocitool", "-b", engine, "flatten", big, name]
    env = {**os.environ, "TMPDIR": str(work)}
    with subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.monotonic() + 60
        while not list(work.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert list(work.iterdir()) == []
    assert not any(name in i.names for i in client.images())
