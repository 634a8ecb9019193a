"""Image indexes (OCI image indexes, docker manifest lists) on every backend.

The index is tests/layouts.py's: busybox as linux/amd64 and, over the same
layer, a config that says linux/arm64, which cannot run here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocitool.capabilities import MANIFEST_LISTS
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
        assert json.loads(proc.stdout)["digest"] == multi.index
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
    pulled = json.loads(proc.stdout)
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
    images = {i.id for i in Client(backend=engine).images()}
    gone = ocitool("--backend", engine, "manifest", "rm", "lab/list:1")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == "Removed: lab/list:1"
    assert {i.id for i in Client(backend=engine).images()} == images  # its images stay
    again = ocitool("--backend", engine, "manifest", "inspect", "lab/list:1")
    assert again.returncode == 3
    one_error_line(again)
