"""The daemonless store under damage, missing tools and concurrent writers.

Each bad input must give one clear line and a documented exit code and leave
the store exactly as it was (compared byte for byte).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitool.backends.oci.runtime import runtime_root
from ocitool.backends.oci.store import REF_NAME, Store
from ocitool.client import Client
from tests.test_cli import ocitool as run_ocitool
from tests.test_cli import one_error_line


@pytest.fixture
def store(tmp_path: Path, lab_tar: Path) -> Path:
    """A small store of its own: one imported image and a container made from it."""
    path = tmp_path / "store"
    oci = Client(backend="oci", store=path)
    oci.import_image(lab_tar, "oci-test/base:1")
    oci.run("oci-test/base:1", ["sh", "-c", "echo hi > /hi"], name="oci-c1")
    return path


@pytest.fixture(scope="session")
def lab_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lab import busybox_tar

    return busybox_tar(tmp_path_factory.mktemp("tar"))


def ocitool(
    store: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_ocitool("--backend", "oci", "--store", str(store), *args, env=env)


def snapshot(path: Path) -> dict[str, str]:
    """Every file under the store (containers' rootfs aside) and its sha256."""
    found = {}
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path).as_posix()
        if file.is_file() and "/rootfs/" not in relative and not relative.endswith(".lock"):
            found[relative] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def test_store_is_private_to_its_owner(store: Path) -> None:
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE((store / "index.json").stat().st_mode) == 0o600


def test_a_store_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("not a store")
    for args in (["images"], ["import", str(path), "x:1"]):
        proc = ocitool(path, *args)
        assert proc.returncode == 2
        assert "is not a directory" in one_error_line(proc)
    assert path.read_text() == "not a store"


def test_an_index_that_is_not_json(store: Path, lab_tar: Path) -> None:
    (store / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    before = snapshot(store)
    for args in (
        ["images"],
        ["inspect", "oci-test/base:1"],
        ["import", str(lab_tar), "x:1"],
        ["commit", "oci-c1", "x:2"],
        ["tag", "oci-test/base:1", "x:3"],
        ["rmi", "oci-test/base:1"],
    ):
        proc = ocitool(store, *args)
        assert proc.returncode == 9, (args, proc.stderr)
        assert "index.json is not valid JSON" in one_error_line(proc)
    assert snapshot(store) == before


def test_a_blob_whose_digest_does_not_match(store: Path, lab_tar: Path) -> None:
    index = json.loads((store / "index.json").read_text())
    manifest = index["manifests"][0]["digest"]
    config = json.loads((store / "blobs/sha256" / manifest[7:]).read_text())["config"]["digest"]
    blob = store / "blobs/sha256" / config[7:]
    blob.write_bytes(blob.read_bytes().replace(b'"amd64"', b'"arm64"'))
    before = snapshot(store)
    for args in (
        ["images"],
        ["history", "oci-test/base:1"],
        ["import", str(lab_tar), "x:1"],
        ["tag", "oci-test/base:1", "x:3"],
    ):
        proc = ocitool(store, *args)
        assert proc.returncode == 9, (args, proc.stderr)
        line = one_error_line(proc)
        assert f"blob {config} does not match its digest" in line
    assert snapshot(store) == before


def _blob(store: Path, digest: str) -> Path:
    return store / "blobs/sha256" / digest.removeprefix("sha256:")


def _put(store: Path, doc: object) -> tuple[str, int]:
    """A JSON blob written as a real one: named by its digest, so only its shape is wrong."""
    data = json.dumps(doc).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _blob(store, digest).write_bytes(data)
    return digest, len(data)


def _with_config(store: Path, change: dict[str, object]) -> None:
    """The image's config with `change` applied, its manifest and index.json rewritten."""
    index = json.loads((store / "index.json").read_text())
    manifest = json.loads(_blob(store, index["manifests"][0]["digest"]).read_text())
    config = json.loads(_blob(store, manifest["config"]["digest"]).read_text())
    config.update(change)
    digest, size = _put(store, config)
    manifest["config"].update(digest=digest, size=size)
    digest, size = _put(store, manifest)
    index["manifests"][0].update(digest=digest, size=size)
    (store / "index.json").write_text(json.dumps(index))


def _index_is_a_directory(store: Path) -> str:
    (store / "index.json").unlink()
    (store / "index.json").mkdir()
    return "index.json"


def _manifest_is_a_directory(store: Path) -> str:
    digest = json.loads((store / "index.json").read_text())["manifests"][0]["digest"]
    _blob(store, digest).unlink()
    _blob(store, digest).mkdir()
    return str(digest).removeprefix("sha256:")


def _index_nested_deep(store: Path) -> str:
    (store / "index.json").write_text("[" * 100_000 + "]" * 100_000)
    return "index.json"


def _an_integer_name(store: Path) -> str:
    index = json.loads((store / "index.json").read_text())
    index["manifests"][0]["annotations"][REF_NAME] = 5
    (store / "index.json").write_text(json.dumps(index))
    return "index.json"


def _config_field(field: str, value: object) -> Callable[[Path], str]:
    def damage(store: Path) -> str:
        _with_config(store, {field: value})
        index = json.loads((store / "index.json").read_text())
        manifest = json.loads(_blob(store, index["manifests"][0]["digest"]).read_text())
        return str(manifest["config"]["digest"]).removeprefix("sha256:")

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        _index_is_a_directory,
        _manifest_is_a_directory,
        _index_nested_deep,
        _an_integer_name,
        _config_field("rootfs", ["sha256:" + "0" * 64]),
        _config_field("history", "made by hand"),
        _config_field("history", [1, 2]),
        _config_field("config", "sh"),
        _config_field("created", {"when": "now"}),
    ],
    ids=[
        "index-dir",
        "manifest-dir",
        "index-deep",
        "int-name",
        "rootfs-list",
        "history-str",
        "history-ints",
        "config-str",
        "created-obj",
    ],
)
def test_a_crafted_store_is_damaged_not_a_crash(
    store: Path, lab_tar: Path, damage: Callable[[Path], str]
) -> None:
    """Shapes are checked as the store is read: exit 9, one line naming the file."""
    named = damage(store)
    before = snapshot(store)
    for args in (
        ["images"],
        ["inspect", "oci-test/base:1"],
        ["import", str(lab_tar), "x:1"],
        ["tag", "oci-test/base:1", "x:3"],
        ["rmi", "oci-test/base:1"],
    ):
        proc = ocitool(store, *args)
        assert proc.returncode == 9, (args, proc.stderr)
        assert named in one_error_line(proc), args
    assert snapshot(store) == before


def test_a_store_that_lost_its_index_is_damaged(store: Path, lab_tar: Path) -> None:
    (store / "index.json").unlink()
    before = snapshot(store)
    for args in (["images"], ["import", str(lab_tar), "x:1"]):
        proc = ocitool(store, *args)
        assert proc.returncode == 9, (args, proc.stderr)
        line = one_error_line(proc)
        assert "lost its index.json" in line and "empty directory" not in line
    assert snapshot(store) == before


def test_a_truncated_blob(store: Path) -> None:
    index = json.loads((store / "index.json").read_text())
    blob = store / "blobs/sha256" / index["manifests"][0]["digest"][7:]
    blob.write_bytes(blob.read_bytes()[:40])
    proc = ocitool(store, "images")
    assert proc.returncode == 9
    assert "truncated or replaced" in one_error_line(proc)


def test_a_damaged_layer_blob(store: Path) -> None:
    index = json.loads((store / "index.json").read_text())
    manifest = json.loads(
        (store / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text()
    )
    layer = manifest["layers"][0]["digest"]
    blob = store / "blobs/sha256" / layer[7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte mid-stream
    blob.write_bytes(bytes(data))
    for args in (
        ["layers", "--files", "oci-test/base:1"],
        ["diff", "--files", "oci-test/base:1", "oci-test/base:1"],
    ):
        proc = ocitool(store, *args)
        assert proc.returncode == 9, (args, proc.stderr)
        line = one_error_line(proc)
        assert "not a readable tar" in line or f"blob {layer} does not match" in line
    blob.write_bytes(bytes(data[: len(data) // 3]))  # cut short
    proc = ocitool(store, "layers", "--files", "oci-test/base:1")
    assert proc.returncode == 9, proc.stderr


def test_rmi_on_a_damaged_layer_blob_changes_nothing(store: Path) -> None:
    """umoci gc would fail on the damaged layer after the untag: it is checked first."""
    c = Client(backend="oci", store=store)
    c.tag("oci-test/base:1", "oci-test/spare:1")
    index = json.loads((store / "index.json").read_text())
    layer = json.loads(_blob(store, index["manifests"][0]["digest"]).read_text())["layers"][0]
    blob = _blob(store, layer["digest"])
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    before = snapshot(store)
    proc = ocitool(store, "rmi", "oci-test/spare:1")
    assert proc.returncode == 9, proc.stderr
    line = one_error_line(proc)
    assert f"blob {layer['digest']} does not match" in line
    assert "ocitool rmi oci-test/base:1 oci-test/spare:1" in line
    assert snapshot(store) == before
    # removing every image that uses it is the way out, and removes the blob
    proc = ocitool(store, "rmi", "--rm-containers", "oci-test/base:1", "oci-test/spare:1")
    assert proc.returncode == 0, proc.stderr
    assert not blob.exists()


def test_a_layer_without_a_history_step_still_counts(store: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    image = f"{store}:oci-test-nohist"  # a layer added with no history entry
    subprocess.run(
        ["umoci", "tag", "--image", f"{store}:oci-test/base:1", "oci-test-nohist"], check=True
    )
    rootless = ["--rootless"] if os.geteuid() != 0 else []
    subprocess.run(["umoci", "unpack", *rootless, "--image", image, str(bundle)], check=True)
    (bundle / "rootfs/extra").write_bytes(b"x" * 4096)
    subprocess.run(["umoci", "repack", "--no-history", "--image", image, str(bundle)], check=True)
    c = Client(backend="oci", store=store)
    base, bare = c.inspect("oci-test/base:1", "oci-test-nohist")
    assert bare.diff_ids[:-1] == base.diff_ids and len(bare.diff_ids) == len(base.diff_ids) + 1
    assert bare.layers[-1].created_by is None
    files = c.layer_files("oci-test-nohist")
    assert any(f.path == "/extra" and f.change == "added" for f in files.layers[-1].files)


@pytest.mark.parametrize("client_backend", ["oci", "docker"])
def test_a_copy_within_one_store(store: Path, client_backend: str) -> None:
    """Both ends in one store share its lock, whichever backend the client was made for."""
    c = Client(backend=client_backend, store=store)
    result = c.copy("oci:oci-test/base:1", f"oci:oci-test/copied:{client_backend}")
    oci = Client(backend="oci", store=store)
    base, copied = oci.inspect("oci-test/base:1", f"oci-test/copied:{client_backend}")
    assert copied.id == base.id == result.image_id


def test_hidden_tags_never_show_and_never_keep_an_image(store: Path) -> None:
    """umoci works on tags, so an unnamed image in use gets a hidden one; users never see it,
    and removing an image's last name still deletes the image."""
    c = Client(backend="oci", store=store)
    old = c.image("oci-test/base:1")
    c.commit("oci-c1", "oci-test/base:1")  # the name moves; the old image stays, unnamed
    c.run(old.id, ["true"], name="oci-c2")
    assert "ocitool-id-" in (store / "index.json").read_text()  # umoci's handle on it
    listed = {i.id: i.names for i in c.images(all=True)}
    assert listed[old.id] == []
    c.tag(old.id, "oci-test/old:1")
    entries = json.loads((store / "index.json").read_text())["manifests"]
    assert all(e.get("annotations", {}).get(REF_NAME) for e in entries)  # no unnamed left
    c.remove("oci-c1", "oci-c2")
    result = c.rmi("oci-test/old:1")
    assert old.id in result.deleted
    assert "ocitool-id-" not in (store / "index.json").read_text()
    assert old.id not in {i.id for i in c.images(all=True)}


def test_a_detached_container_cannot_have_a_terminal(store: Path) -> None:
    before = snapshot(store)
    proc = ocitool(store, "run", "-d", "-t", "--name", "oci-dt", "oci-test/base:1", "sh")
    assert proc.returncode == 6, proc.stderr
    assert "cannot give a detached container a terminal (run -d -t)" in one_error_line(proc)
    assert snapshot(store) == before  # refused before anything was made


def test_a_run_past_its_limit_leaves_no_process(store: Path) -> None:
    proc = ocitool(
        store,
        "run",
        "--name",
        "oci-slow",
        "oci-test/base:1",
        "sleep",
        "60",
        env={**os.environ, "OCITOOL_RUN_TIMEOUT": "2"},
    )
    assert proc.returncode == 7, proc.stderr
    assert "OCITOOL_RUN_TIMEOUT" in one_error_line(proc)
    c = Client(backend="oci", store=store)
    (slow,) = [x for x in c.containers(all=True) if x.name == "oci-slow"]
    assert slow.state == "exited"
    listed = subprocess.run(
        ["runc", "--root", runtime_root(), "list", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert slow.id not in listed.stdout.split()  # the runtime forgot it: its process is gone
    c.remove("oci-slow")


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
def test_import_takes_what_docker_import_takes(
    store: Path, lab_tar: Path, tmp_path: Path, compression: str
) -> None:
    import bz2
    import gzip
    import lzma

    packed = tmp_path / f"base.tar.{compression}"
    module = {"gz": gzip, "bz2": bz2, "xz": lzma}[compression]
    packed.write_bytes(module.compress(lab_tar.read_bytes()))
    c = Client(backend="oci", store=store)
    image = c.import_image(packed, f"oci-test/packed:{compression}")
    assert image.diff_ids == c.image("oci-test/base:1").diff_ids


def _zeros_tar_gz(path: Path, mib: int) -> Path:
    """A gzip bomb of modest size: one file of `mib` MiB of zeros, compressed ~1000:1."""
    import gzip
    import tarfile

    entry = tarfile.TarInfo("zeros")
    entry.size = mib << 20
    with gzip.open(path, "wb") as packed:
        packed.write(entry.tobuf())
        for _ in range(mib):
            packed.write(bytes(1 << 20))
        packed.write(bytes(1024))  # end-of-archive
    return path


def test_a_gzip_bomb_is_refused_before_it_fills_the_store(tmp_path: Path) -> None:
    """On a 48 MiB filesystem (a tmpfs in a user namespace of its own), a 6 KiB gzip
    that decompresses to 300 MiB is refused once it outgrows the free space, not
    written until the disk is full; nothing is left behind."""
    bomb = _zeros_tar_gz(tmp_path / "bomb.tar.gz", 300)
    mount = tmp_path / "small"
    mount.mkdir()
    store = mount / "store"
    script = (
        'mount -t tmpfs -o size=48m tmpfs "$1" || exit 99; at=$1; shift; "$@"; code=$?; '
        'echo "files: $(find "$at/store" -type f ! -name .ocitool.lock | sort)"; exit $code'
    )
    argv = [sys.executable, "-m", "ocitool", "--backend", "oci", "--store", str(store)]
    proc = subprocess.run(
        [
            *("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"),
            *(str(mount), *argv, "import", str(bomb), "oci-test/bomb:1"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "decompresses to more than" in one_error_line(proc)
    assert proc.stdout.split() == ["files:", f"{store}/index.json", f"{store}/oci-layout"]


def test_import_refuses_what_is_not_a_tarball(store: Path, tmp_path: Path) -> None:
    before = snapshot(store)
    cases = {
        "notes.txt": (b"just some text\n" * 100, 2, "is not a tar archive"),
        "cut.tar.gz": (b"\x1f\x8b\x08\x00" + b"\x00" * 20, 2, "damaged or cut short"),
        "rootfs.tar.zst": (b"\x28\xb5\x2f\xfd" + b"\x00" * 20, 6, "zstd -d"),
    }
    for name, (data, code, text) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        proc = ocitool(store, "import", str(path), "oci-test/bad:1")
        assert proc.returncode == code, (name, proc.stderr)
        assert text in one_error_line(proc), name
    assert snapshot(store) == before


def test_a_missing_runtime(store: Path, tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    os.symlink("/usr/bin/umoci", tools / "umoci")  # umoci, but no runc nor crun
    before = snapshot(store)
    proc = ocitool(store, "run", "oci-test/base:1", "true", env={"PATH": str(tools)})
    assert proc.returncode == 6
    line = one_error_line(proc)
    assert "no OCI runtime" in line and "runc" in line and "apt-get install runc" in line
    assert snapshot(store) == before


def test_a_missing_umoci(store: Path, lab_tar: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    Client(backend="oci", store=store).tag("oci-test/base:1", "oci-test/spare:1")
    for args in (
        ["import", str(lab_tar), "x:1"],
        ["commit", "oci-c1", "x:2"],
        ["rmi", "oci-test/spare:1"],
    ):
        before = snapshot(store)
        proc = ocitool(store, *args, env={"PATH": str(empty)})
        assert proc.returncode == 5, (args, proc.stderr)
        assert "executable 'umoci' not found on PATH" in one_error_line(proc)
        assert snapshot(store) == before
    listing = ocitool(store, "images", env={"PATH": str(empty)})  # reads need no program
    assert listing.returncode == 0 and "oci-test/base" in listing.stdout


WORKER = """
import sys
from ocitool import Client
i = int(sys.argv[1])
c = Client(backend="oci")
c.commit(f"oci-w{i}", f"conc/img:{i}", author=f"worker {i}", message=f"commit {i}")
c.tag(f"conc/img:{i}", f"conc/alias:{i}")
if i % 2 == 0:
    c.rmi(f"conc/alias:{i}")
"""


def test_eight_concurrent_writers_never_corrupt_the_store(store: Path) -> None:
    oci = Client(backend="oci", store=store)
    for i in range(8):
        oci.run("oci-test/base:1", ["sh", "-c", f"echo {i} > /w{i}"], name=f"oci-w{i}")
    env = {**os.environ, "OCITOOL_STORE": str(store)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    # every blob is what its name says
    checked = Store(store)
    blobs = list((store / "blobs" / "sha256").iterdir())
    for blob in blobs:
        checked.verify_blob(f"sha256:{blob.name}")
    # index.json lists exactly the expected names, each once
    names = [
        m.get("annotations", {}).get(REF_NAME)
        for m in json.loads((store / "index.json").read_text())["manifests"]
    ]
    expected = {"oci-test/base:1"} | {f"conc/img:{i}" for i in range(8)}
    expected |= {f"conc/alias:{i}" for i in range(1, 8, 2)}
    assert sorted(n for n in names if n) == sorted(expected)
    images = {n: i for i in oci.images() for n in i.names}
    for i in range(8):
        assert images[f"conc/img:{i}"].comment == f"commit {i}"
        assert images[f"conc/img:{i}"].author == f"worker {i}"
    assert not [n for n in names if n is None]  # no image lost its name to a race


def _reachable(store: Path) -> set[str]:
    """The blob names index.json reaches: its manifests, their configs and layers."""
    found = set()
    for entry in json.loads((store / "index.json").read_text())["manifests"]:
        manifest = json.loads(_blob(store, entry["digest"]).read_text())
        digests = [entry["digest"], manifest["config"]["digest"]]
        found |= {d[7:] for d in digests + [layer["digest"] for layer in manifest["layers"]]}
    return found


def _child_running(parent: int, needle: bytes) -> int | None:
    """The pid of a child of `parent` whose argv has `needle` (umoci's step under way)."""
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and needle in argv:
            return int(entry.name)
    return None


def test_a_successful_import_leaves_no_spare_blob(store: Path) -> None:
    blobs = {b.name for b in (store / "blobs/sha256").iterdir()}
    assert blobs == _reachable(store)  # umoci new's empty image went with the import


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("write", ["import", "commit"])
def test_a_writer_killed_mid_write_leaves_nothing_listed_and_the_next_clears_it(
    store: Path, tmp_path: Path, write: str
) -> None:
    oci = Client(backend="oci", store=store)
    if write == "import":
        (tmp_path / "rootfs").mkdir()
        (tmp_path / "rootfs" / "big").write_bytes(os.urandom(160 << 20))
        tarball = tmp_path / "big.tar"
        rootfs = str(tmp_path / "rootfs")
        subprocess.run(["tar", "-C", rootfs, "-cf", str(tarball), "."], check=True)
        args, step = ["import", str(tarball), "oci-test/big:1"], b"add-layer"
    else:
        big = "head -c 83886080 /dev/urandom > /big"
        oci.run("oci-test/base:1", ["sh", "-c", big], name="oci-big", network="none")
        args, step = ["commit", "oci-big", "oci-test/big:1"], b"repack"
    listed = {i.id for i in oci.images(all=True)}
    blobs = {b.name for b in (store / "blobs/sha256").iterdir()}
    argv = [sys.executable, "-m", "ocitool", "--backend", "oci", "--store", str(store), *args]
    writer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while (child := _child_running(writer.pid, step)) is None:
        assert writer.poll() is None and time.monotonic() < deadline, "the write ended first"
        time.sleep(0.01)
    time.sleep(0.3)  # umoci is writing its blob now
    os.kill(writer.pid, signal.SIGKILL)  # kill -9 of the writer alone...
    writer.communicate(timeout=30)
    deadline = time.monotonic() + 0.5  # ...takes its umoci along: no write without the lock
    while _alive(child):
        assert time.monotonic() < deadline, "umoci outlived the ocitool that held the lock"
        time.sleep(0.05)
    (store / "oci-put-blob1234").write_bytes(b"half a blob")  # skopeo's, killed likewise
    (store / ".index.json.abcd").write_text("{")
    # nothing half-made is listed: no scratch tag, no <none> image
    assert {i.id for i in oci.images(all=True)} == listed
    proc = ocitool(store, "images", "--format", "json")
    assert proc.returncode == 0 and "ocitool-" not in proc.stdout
    # the next write clears what the killed one left, and only that
    oci.tag("oci-test/base:1", "oci-test/after:1")
    left = [p.name for p in store.iterdir() if p.name.startswith((".umoci-", ".index", "oci-put"))]
    assert left == []
    assert "ocitool-" not in (store / "index.json").read_text()
    assert {b.name for b in (store / "blobs/sha256").iterdir()} == blobs == _reachable(store)
    assert {i.id for i in oci.images(all=True)} == listed


def test_waiting_for_the_store_lock_is_announced_and_bounded(store: Path) -> None:
    import fcntl

    with open(store / ".ocitool.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a writer at work holds it
        started = time.monotonic()
        proc = ocitool(store, "images", env={**os.environ, "OCITOOL_TIMEOUT": "2"})
        assert time.monotonic() - started < 30
        assert proc.returncode == 7, proc.stderr
        note, error = proc.stderr.splitlines()
        assert note.startswith("ocitool: note: waiting for the store lock held by ")
        assert f"pid {os.getpid()}" in note
        assert error.startswith("ocitool: error: the oci store ") and "OCITOOL_TIMEOUT" in error
        argv = [sys.executable, "-m", "ocitool", "--backend", "oci", "--store", str(store)]
        waiting = subprocess.Popen(
            [*argv, "tag", "oci-test/base:1", "oci-test/waited:1"],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert waiting.poll() is None  # still waiting, within its 120 s
        fcntl.flock(held, fcntl.LOCK_UN)
        _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert err.startswith("ocitool: note: waiting for the store lock held by ")
    assert Client(backend="oci", store=store).image("oci-test/waited:1")


def _renamed_archive(archive: Path, names: list[str], dest: Path) -> Path:
    """The docker archive with its one image's RepoTags replaced (crafted, as by hand)."""
    import io
    import tarfile

    with tarfile.open(archive) as source, tarfile.open(dest, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.removeprefix("./") == "manifest.json" and data is not None:
                doc = json.loads(data)
                doc[0]["RepoTags"] = names
                data = json.dumps(doc).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    return dest


@pytest.mark.parametrize("bad", ["UPPER:1", "a:b:c"])
def test_load_refuses_names_ocitool_would_refuse(store: Path, tmp_path: Path, bad: str) -> None:
    saved = tmp_path / "saved.tar"
    proc = ocitool(store, "save", "-o", str(saved), "oci-test/base:1")
    assert proc.returncode == 0, proc.stderr
    crafted = _renamed_archive(saved, ["oci-test/fine:1", bad], tmp_path / "crafted.tar")
    before = snapshot(store)
    proc = ocitool(store, "load", "-i", str(crafted))
    assert proc.returncode == 2, proc.stderr
    assert repr(bad) in one_error_line(proc)
    assert snapshot(store) == before  # not even the valid name was loaded


def test_a_moved_tag_keeps_the_old_image(store: Path, lab_tar: Path) -> None:
    oci = Client(backend="oci", store=store)
    old = oci.image("oci-test/base:1")
    new = oci.import_image(lab_tar, "oci-test/base:1", message="again")
    assert new.id != old.id
    kept = oci.image(old.id)
    assert kept.names == []  # an untagged image, as docker keeps `<none>` ones
    oci.rmi("oci-test/base:1", remove_containers=True)
    assert oci.image(old.id).id == old.id  # gc after rmi kept it: nobody asked to remove it


def test_reads_start_no_process(store: Path) -> None:
    oci = Client(backend="oci", store=store)
    oci.images()
    oci.inspect("oci-test/base:1")
    oci.history("oci-test/base:1")
    assert oci.runner.calls == []
