"""Image indexes (OCI image indexes, docker manifest lists) on every backend.

The index is tests/layouts.py's: busybox as linux/amd64 and, over the same
layer, a config that says linux/arm64, which cannot run here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ocitool.capabilities import IMAGE_INDEXES, MANIFEST_LISTS
from ocitool.client import Client
from tests.conftest import Lab, Registries
from tests.layouts import Multi, multi_platform, skopeo_copy
from tests.test_cli import ocitool, one_error_line
from tests.test_schema import validate

INSECURE = ["--tls-verify=false"]


@pytest.fixture(scope="module")
def multi(lab: Lab, registries: Registries, tmp_path_factory: pytest.TempPathFactory) -> Multi:
    made = multi_platform(tmp_path_factory.mktemp("indexes") / "layout", lab.tar)
    skopeo_copy(
        f"oci:{made.path}:multi",
        f"docker://{registries.plain.host}/index/img:1",
        "--all",
        "--dest-tls-verify=false",
    )
    return made


def digest_of(*args: str) -> str:
    proc = ocitool("inspect", "-q", *INSECURE, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_copy_all_keeps_the_index_digest(
    multi: Multi, registries: Registries, tmp_path: Path
) -> None:
    plain, secure = registries.plain.host, registries.secure
    first = f"docker://{plain}/index/img:1"
    hops = [
        (first, f"docker://{plain}/index/copied:1"),
        (f"docker://{plain}/index/copied:1", f"oci:{tmp_path / 'layout'}:multi"),
        (f"oci:{tmp_path / 'layout'}:multi", f"oci-archive:{tmp_path / 'multi.tar'}:multi"),
    ]
    for source, destination in hops:
        proc = ocitool("copy", "--all", *INSECURE, "--format", "json", source, destination)
        assert proc.returncode == 0, proc.stderr
        [copied] = json.loads(proc.stdout)
        assert copied["digest"] == multi.index
        assert digest_of(destination) == multi.index
        [found] = json.loads(ocitool("inspect", *INSECURE, "--format", "json", destination).stdout)
        assert [p["digest"] for p in found["platforms"]] == [multi.amd64, multi.arm64]
    from tests.test_distribution import login

    assert login(secure, "s3cret-pass\n").returncode == 0
    to_secure = f"docker://{secure.host}/index/copied:1"
    proc = ocitool(
        "copy", "--all", "--cert-dir", str(secure.ca_dir), f"oci:{tmp_path / 'layout'}:multi",
        to_secure,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert digest_of("--cert-dir", str(secure.ca_dir), to_secure) == multi.index


def test_without_all_a_copy_takes_this_hosts_platform(multi: Multi, tmp_path: Path) -> None:
    proc = ocitool("copy", f"oci:{multi.path}:multi", f"oci:{tmp_path / 'one'}:x")
    assert proc.returncode == 0, proc.stderr
    assert digest_of(f"oci:{tmp_path / 'one'}:x") == multi.amd64
    arm = ocitool(
        "copy", "--platform", "linux/arm64", f"oci:{multi.path}:multi", f"oci:{tmp_path / 'a'}:x"
    )
    assert arm.returncode == 0, arm.stderr
    assert digest_of(f"oci:{tmp_path / 'a'}:x") == multi.arm64


def test_pull_a_platform_by_platform(engine: str, multi: Multi, registries: Registries) -> None:
    name = f"{registries.plain.host}/index/img:1"
    proc = ocitool(
        "--backend",
        engine,
        "pull",
        *INSECURE,
        "--platform",
        "linux/arm64",
        "--format",
        "json",
        name,
    )
    assert proc.returncode == 0, proc.stderr
    [pulled] = json.loads(proc.stdout)
    assert pulled["digest"] == multi.index  # the digest the registry serves for the name
    [image] = Client(backend=engine).inspect(name)
    assert image.architecture == "arm64" and image.os == "linux"
    assert image.config.labels == {"platform": "arm64"}
    assert image.diff_ids == [
        json.loads((multi.path / "blobs/sha256" / multi.arm64_config[7:]).read_text())["rootfs"][
            "diff_ids"
        ][0]
    ]


def test_running_the_arm64_image_is_a_clean_error(
    engine: str, multi: Multi, registries: Registries
) -> None:
    name = f"{registries.plain.host}/index/arm:1"
    skopeo_copy(f"oci:{multi.path}:arm64", f"docker://{name}", "--dest-tls-verify=false")
    pulled = ocitool("--backend", engine, "pull", *INSECURE, name)
    assert pulled.returncode == 0, pulled.stderr
    before = Client(backend=engine).containers(all=True)
    proc = ocitool("--backend", engine, "run", "--rm", "--network", "none", name, "true")
    assert proc.returncode == 126
    line = one_error_line(proc)
    assert "linux/arm64" in line and "linux/amd64" in line
    assert Client(backend=engine).containers(all=True) == before  # nothing was made


def test_copy_all_into_an_engine_that_holds_no_index_says_so(
    engine: str, multi: Multi, registries: Registries
) -> None:
    proc = ocitool(
        "copy", "--all", *INSECURE, f"docker://{registries.plain.host}/index/img:1",
        f"{engine}:index/all:1",
    )  # fmt: skip
    if Client(backend=engine).engines.has(IMAGE_INDEXES):  # its store holds one (below)
        assert proc.returncode == 0, proc.stderr
        images = Client(backend=engine).images()
        [listed] = [i for i in images if "index/all:1" in i.names]
        assert [p.architecture for p in listed.platforms or []] == ["amd64", "arm64"]
        return
    assert proc.returncode == 6
    assert "cannot hold one" in one_error_line(proc)


def test_platform_and_all_do_not_mix_and_a_bad_platform_is_usage(multi: Multi) -> None:
    both = ocitool("copy", "--all", "--platform", "linux/arm64", f"oci:{multi.path}:multi", "x:1")
    assert both.returncode == 2
    one_error_line(both)
    bad = ocitool("inspect", "--platform", "linux", f"oci:{multi.path}:multi")
    assert bad.returncode == 2
    assert "os/arch" in one_error_line(bad)


# -- ocitool manifest ----------------------------------------------------------------


def test_manifest_create_add_inspect_push_and_rm(
    engine: str, multi: Multi, registries: Registries
) -> None:
    plain = registries.plain.host
    arm, amd = f"{plain}/index/img:1", f"{plain}/index/amd:1"
    skopeo_copy(f"oci:{multi.path}:amd64", f"docker://{amd}", "--dest-tls-verify=false")
    if not Client(backend=engine).engines.has(MANIFEST_LISTS):
        proc = ocitool("--backend", engine, "manifest", "create", "lab/list:1", amd)
        assert proc.returncode == 6
        line = one_error_line(proc)
        assert "cannot hold a manifest list" in line and "--backend podman" not in line
        return
    for name, platform in ((amd, "linux/amd64"), (arm, "linux/arm64")):
        pulled = ocitool("--backend", engine, "pull", *INSECURE, "--platform", platform, name)
        assert pulled.returncode == 0, pulled.stderr
    made = ocitool("--backend", engine, "manifest", "create", "--format", "json", "lab/list:1", amd)
    assert made.returncode == 0, made.stderr
    assert [p["digest"] for p in validate("manifest", made.stdout)["platforms"]] == [multi.amd64]
    added = ocitool("--backend", engine, "manifest", "add", "lab/list:1", arm)
    assert added.returncode == 0, added.stderr
    found = Client(backend=engine).manifest_inspect("lab/list:1")
    assert [(p.architecture, p.digest) for p in found.platforms] == [
        ("amd64", multi.amd64),
        ("arm64", multi.arm64),
    ]
    pushed = ocitool(
        "--backend", engine, "manifest", "push", *INSECURE, "--format", "json", "lab/list:1",
        f"docker://{plain}/index/built:1",
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    digest = validate("manifest push", pushed.stdout)[0]["digest"]
    [remote] = json.loads(
        ocitool("inspect", *INSECURE, "--format", "json", f"docker://{plain}/index/built:1").stdout
    )
    assert remote["digest"] == digest
    # the engine's store keeps layers uncompressed, so its push writes new manifests;
    # the images (their configs) are the same
    assert [p["architecture"] for p in remote["platforms"]] == ["amd64", "arm64"]
    for platform, config in (
        ("linux/amd64", multi.amd64_config),
        ("linux/arm64", multi.arm64_config),
    ):
        location = f"docker://{plain}/index/built:1"
        [picked] = json.loads(
            ocitool(
                "inspect", *INSECURE, "--platform", platform, "--format", "json", location
            ).stdout
        )
        assert picked["image"]["id"] == config
    listed = Client(backend=engine).images()
    [entry] = [i for i in listed if "lab/list:1" in i.names]  # listed as an index is
    assert entry.platforms == found.platforms and entry.media_type == found.media_type
    images = {i.id for i in listed} - {entry.id}
    gone = ocitool("--backend", engine, "manifest", "rm", "lab/list:1")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == "Removed: lab/list:1"
    assert {i.id for i in Client(backend=engine).images()} == images  # its images stay
    again = ocitool("--backend", engine, "manifest", "inspect", "lab/list:1")
    assert again.returncode == 3
    one_error_line(again)


# -- an index in the oci store -----------------------------------------------------------


@pytest.fixture(scope="module")
def held(multi: Multi, registries: Registries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of its own that holds the index (copied --all from the registry) as
    index/multi:1, and the amd64 image under a name of its own, over the same blobs."""
    store = tmp_path_factory.mktemp("index-store") / "store"
    source = f"docker://{registries.plain.host}/index/img:1"
    proc = oci(store, "copy", "--all", *INSECURE, "--format", "json", source, "oci:index/multi:1")
    assert proc.returncode == 0, proc.stderr
    [copied] = json.loads(proc.stdout)
    assert copied["digest"] == multi.index
    alone = oci(store, "copy", f"oci:{multi.path}:amd64", "oci:index/amd64:1")
    assert alone.returncode == 0, alone.stderr
    return store


def oci(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ocitool("--backend", "oci", "--store", str(store), *args)


def blobs(store: Path) -> set[str]:
    return {f"sha256:{p.name}" for p in (store / "blobs" / "sha256").iterdir()}


def test_copy_all_into_the_oci_store_keeps_the_index(
    held: Path, multi: Multi, registries: Registries
) -> None:
    [entry] = [
        e
        for e in json.loads((held / "index.json").read_text())["manifests"]
        if e["annotations"]["org.opencontainers.image.ref.name"] == "index/multi:1"
    ]
    served = digest_of(f"docker://{registries.plain.host}/index/img:1")  # Docker-Content-Digest
    assert entry["digest"] == multi.index == served
    wanted = {multi.index, multi.amd64, multi.arm64, multi.amd64_config, multi.arm64_config}
    assert wanted <= blobs(held)


def test_images_shows_the_index_with_its_platforms(held: Path, multi: Multi) -> None:
    proc = oci(held, "images", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    listed = {tuple(i["names"]): i for i in validate("images", proc.stdout)}
    assert set(listed) == {("index/multi:1",), ("index/amd64:1",)}  # one entry for the index
    index = listed[("index/multi:1",)]
    assert index["id"] == multi.index
    assert [(p["architecture"], p["digest"]) for p in index["platforms"]] == [
        ("amd64", multi.amd64),
        ("arm64", multi.arm64),
    ]
    assert index["size"] == listed[("index/amd64:1",)]["size"]  # the shared layer, once
    table = oci(held, "images")
    assert table.returncode == 0, table.stderr
    assert any(
        "index/multi" in row and multi.index[7:19] in row for row in table.stdout.splitlines()
    )


def test_inspect_picks_the_platform(held: Path, multi: Multi) -> None:
    for platform, config in (
        (None, multi.amd64_config),
        ("linux/amd64", multi.amd64_config),
        ("linux/arm64", multi.arm64_config),
    ):
        extra = ["--platform", platform] if platform else []
        proc = oci(held, "inspect", *extra, "--format", "json", "index/multi:1")
        assert proc.returncode == 0, proc.stderr
        [image] = json.loads(proc.stdout)
        assert image["id"] == config
    [image] = Client(backend="oci", store=held).inspect("index/multi:1", platform="linux/arm64")
    assert image.architecture == "arm64" and image.config.labels == {"platform": "arm64"}
    missing = oci(held, "inspect", "--platform", "linux/s390x", "index/multi:1")
    assert missing.returncode == 2
    line = one_error_line(missing)
    assert "linux/s390x" in line and "linux/arm64" in line
    other = oci(held, "inspect", "--platform", "linux/arm64", "index/amd64:1")  # no index
    assert other.returncode == 2
    assert "linux/amd64" in one_error_line(other)
    [default] = Client(backend="oci", store=held).inspect("index/multi:1")
    assert "index/multi:1" in default.names  # named as the index is


def test_tag_names_the_index_again(held: Path, multi: Multi) -> None:
    assert oci(held, "tag", "index/multi:1", "index/again:1").returncode == 0
    [entry] = [
        e
        for e in json.loads((held / "index.json").read_text())["manifests"]
        if e["annotations"]["org.opencontainers.image.ref.name"] == "index/again:1"
    ]
    assert entry["digest"] == multi.index
    assert oci(held, "rmi", "index/again:1").returncode == 0
    assert multi.index in blobs(held)  # index/multi:1 still names it


def test_inspect_platform_of_a_local_image_needs_a_store_of_indexes(engine: str) -> None:
    if Client(backend=engine).engines.has(IMAGE_INDEXES):
        return  # the oci store: the tests above
    proc = ocitool("--backend", engine, "inspect", "--platform", "linux/amd64", "index/x:1")
    assert proc.returncode == 6
    assert "image index" in one_error_line(proc)


def test_run_picks_the_platform_and_the_arm64_one_is_a_clean_error(
    held: Path, multi: Multi
) -> None:
    client = Client(backend="oci", store=held)
    before = client.containers(all=True)
    arm = oci(held, "run", "--rm", "--network", "none", multi.arm64_config, "true")
    assert arm.returncode == 126
    line = one_error_line(arm)
    assert "linux/arm64" in line and "linux/amd64" in line
    assert client.containers(all=True) == before  # nothing was made
    for platform, config in ((None, multi.amd64_config), ("linux/arm64", multi.arm64_config)):
        extra = ["--platform", platform] if platform else []
        ran = oci(held, "run", "-d", "--network", "none", *extra, "index/multi:1", "true")
        assert ran.returncode == 0, ran.stderr
        [made] = client.inspect_containers(ran.stdout.strip())
        assert made.image_id == config
        assert oci(held, "rm", "-f", made.id).returncode == 0
    missing = oci(held, "run", "--rm", "--network", "none", "--platform", "linux/s390x",
                  "index/multi:1", "true")  # fmt: skip
    assert missing.returncode == 2
    assert "linux/s390x" in one_error_line(missing)
    assert client.containers(all=True) == before


def test_copy_out_of_the_store_with_and_without_all(
    held: Path, multi: Multi, tmp_path: Path
) -> None:
    every = oci(held, "copy", "--all", "oci:index/multi:1", f"oci:{tmp_path / 'all'}:x")
    assert every.returncode == 0, every.stderr
    assert digest_of(f"oci:{tmp_path / 'all'}:x") == multi.index
    one = oci(held, "copy", "--platform", "linux/arm64", "oci:index/multi:1",
              f"oci:{tmp_path / 'one'}:x")  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert digest_of(f"oci:{tmp_path / 'one'}:x") == multi.arm64


def test_du_counts_the_shared_layer_once(held: Path, multi: Multi) -> None:
    proc = oci(held, "du", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    layer = json.loads((multi.path / "blobs/sha256" / multi.amd64[7:]).read_text())["layers"][0]
    assert report["total"] == report["shared"] == layer["size"], report
    assert {u["id"] for u in report["images"]} == {multi.index, multi.amd64_config}


def test_rmi_of_the_index_spares_what_others_use(held: Path, multi: Multi) -> None:
    """Last in the module: it removes the index."""
    dry = oci(held, "rmi", "--dry-run", "index/multi:1")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "Would untag: index/multi:1",
        f"Would delete: {multi.index}",
    ]
    before = blobs(held)
    gone = oci(held, "rmi", "index/multi:1")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.splitlines() == ["Untagged: index/multi:1", f"Deleted: {multi.index}"]
    left = blobs(held)
    assert multi.index not in left and multi.arm64 not in left and multi.arm64_config not in left
    assert {multi.amd64, multi.amd64_config} <= left  # index/amd64:1 still uses them
    assert before - left == {multi.index, multi.arm64, multi.arm64_config}
    [image] = Client(backend="oci", store=held).inspect("index/amd64:1")
    assert image.id == multi.amd64_config
    names = [i.names for i in Client(backend="oci", store=held).images()]
    assert names == [["index/amd64:1"]]
