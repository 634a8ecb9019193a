"""Images where they live: `inspect LOCATION`, `tags`, and removing a tag in a registry.

The session's two real registries (tests/conftest.py): plain HTTP, and TLS with
htpasswd. The images are a hand-written index (tests/layouts.py): busybox as
linux/amd64 and, over the same layer, a config that says linux/arm64.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ocitool import credentials
from ocitool.client import Client
from ocitool.errors import ImageNotFound
from ocitool.references import ImageRef
from tests import lab as lab_setup
from tests.conftest import Lab, Registries
from tests.layouts import Multi, multi_platform, skopeo_copy
from tests.test_cli import ocitool, one_error_line
from tests.test_distribution import login

INSECURE = ["--tls-verify=false"]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class Pushed:
    multi: Multi
    plain: str  # HOST of the plain registry
    secure: lab_setup.RegistryProcess
    work: Path


@pytest.fixture(scope="module")
def pushed(lab: Lab, registries: Registries, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """The index and each platform in both registries, and in archives beside them."""
    work = tmp_path_factory.mktemp("registries")
    multi = multi_platform(work / "layout", lab.tar)
    plain = registries.plain.host
    skopeo_copy(f"oci:{multi.path}:multi", f"docker://{plain}/multi/img:1", "--all", *_dest())
    skopeo_copy(f"oci:{multi.path}:amd64", f"docker://{plain}/single/img:1", *_dest())
    skopeo_copy(f"oci:{multi.path}:amd64", f"docker-archive:{work / 'd.tar'}:lab/single:1")
    skopeo_copy(f"oci:{multi.path}:multi", f"oci-archive:{work / 'o.tar'}:multi", "--all")
    secure = registries.secure
    assert login(secure, "s3cret-pass\n").returncode == 0
    certs = f"--dest-cert-dir={secure.ca_dir}"
    skopeo_copy(f"oci:{multi.path}:multi", f"docker://{secure.host}/multi/img:1", "--all", certs)
    return Pushed(multi, plain, secure, work)


def _dest() -> list[str]:
    return ["--dest-tls-verify=false"]


def served_digest(url: str, *, ca: Path | None = None) -> str:
    """Docker-Content-Digest for a manifest, asked with curl-like HEAD, outside ocitool."""
    accept = ", ".join(
        [
            "application/vnd.oci.image.manifest.v1+json",
            OCI_INDEX,
            "application/vnd.docker.distribution.manifest.v2+json",
        ]
    )
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": accept})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - the test's registry
        return str(reply.headers["Docker-Content-Digest"])


def inspect_json(*args: str) -> list[dict[str, Any]]:
    proc = ocitool("inspect", "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert isinstance(found, list)
    return found


def raw(*args: str) -> bytes:
    proc = subprocess.run(
        [*ocitool_argv(), "inspect", *args], capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def ocitool_argv() -> list[str]:
    import sys

    return [sys.executable, "-m", "ocitool"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- inspect LOCATION ----------------------------------------------------------------


def test_inspect_every_location_form_with_nothing_pulled(pushed: Pushed) -> None:
    plain, multi, work = pushed.plain, pushed.multi, pushed.work
    forms = {
        f"docker://{plain}/single/img:1": multi.amd64,
        f"docker://{plain}/single/img@{multi.amd64}": multi.amd64,
        f"docker://{plain}/multi/img:1": multi.index,
        f"oci:{multi.path}:amd64": multi.amd64,
        f"oci:{multi.path}:multi": multi.index,
        f"oci-archive:{work / 'o.tar'}": multi.index,
        f"docker-archive:{work / 'd.tar'}:lab/single:1": None,  # a manifest skopeo makes
    }
    for location, digest in forms.items():
        [found] = inspect_json(*INSECURE, location)
        image = found["image"]
        assert isinstance(image, dict), location
        assert image["id"] == multi.amd64_config, location  # this host's platform
        assert image["architecture"] == "amd64" and image["os"] == "linux"
        assert image["config"]["labels"] == {"platform": "amd64"}
        assert [layer["diff_id"] for layer in image["layers"]] == [
            json.loads((multi.path / "blobs/sha256" / multi.amd64_config[7:]).read_text())[
                "rootfs"
            ]["diff_ids"][0]
        ]
        if digest is not None:
            assert found["digest"] == digest, location
        manifest = raw("--raw", *INSECURE, location)
        assert sha256(manifest) == found["digest"], location  # the bytes as served
        config = raw("--config", *INSECURE, location)
        assert sha256(config) == image["id"], location
        if location.startswith("docker://"):
            ref = ImageRef.parse(location.removeprefix("docker://"))
            reference = ref.digest or ref.tag
            served = served_digest(f"http://{plain}/v2/{ref.path}/manifests/{reference}")
            assert served == found["digest"] == sha256(manifest)
    skopeo = subprocess.run(
        ["skopeo", "inspect", f"docker-archive:{work / 'd.tar'}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [archived] = inspect_json(f"docker-archive:{work / 'd.tar'}")
    assert archived["digest"] == json.loads(skopeo.stdout)["Digest"]


def test_inspect_of_an_index_lists_its_platforms_and_picks_one(pushed: Pushed) -> None:
    multi = pushed.multi
    for location in (f"docker://{pushed.plain}/multi/img:1", f"oci:{multi.path}:multi"):
        [found] = inspect_json(*INSECURE, location)
        assert found["media_type"] == OCI_INDEX
        assert [(p["os"], p["architecture"], p["digest"]) for p in found["platforms"]] == [
            ("linux", "amd64", multi.amd64),
            ("linux", "arm64", multi.arm64),
        ]
        assert found["platform_digest"] == multi.amd64
        [arm] = inspect_json(*INSECURE, "--platform", "linux/arm64", location)
        assert arm["digest"] == multi.index and arm["platform_digest"] == multi.arm64
        assert arm["image"]["id"] == multi.arm64_config
        assert arm["image"]["architecture"] == "arm64"
        assert sha256(raw("--raw", *INSECURE, "--platform", "linux/arm64", location)) == multi.arm64
        table = ocitool("inspect", *INSECURE, location)
        assert table.returncode == 0, table.stderr
        assert "linux/arm64" in table.stdout and multi.arm64 in table.stdout
        missing = ocitool("inspect", *INSECURE, "--platform", "linux/s390x", location)
        line = one_error_line(missing)
        assert missing.returncode == 2
        assert "linux/s390x" in line and "linux/amd64, linux/arm64" in line


def test_inspect_through_tls_and_auth_as_pull_does(pushed: Pushed) -> None:
    secure, multi = pushed.secure, pushed.multi
    location = f"docker://{secure.host}/multi/img:1"
    certs = ["--cert-dir", str(secure.ca_dir)]
    untrusted = ocitool("inspect", location)
    assert untrusted.returncode == 1
    assert "not trusted" in one_error_line(untrusted)
    found = Client(backend=None).inspect_location(location, cert_dir=secure.ca_dir)
    assert found.digest == multi.index
    assert sha256(raw("--raw", *certs, location)) == multi.index
    saved = credentials.lookup(secure.host)
    credentials.remove(secure.host)
    try:
        refused = ocitool("inspect", *certs, location)
        assert refused.returncode == 10
        assert f"ocitool login {secure.host}" in one_error_line(refused)
    finally:
        assert saved is not None
        assert login(secure, saved[1] + "\n").returncode == 0


def test_tags_lists_a_repository(pushed: Pushed) -> None:
    proc = ocitool("tags", *INSECURE, f"{pushed.plain}/multi/img")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1"]
    as_json = ocitool("tags", *INSECURE, "--format", "json", f"{pushed.plain}/multi/img")
    assert json.loads(as_json.stdout)["tags"] == ["1"]
    unknown = ocitool("tags", *INSECURE, f"{pushed.plain}/no/such")
    assert unknown.returncode == 3
    one_error_line(unknown)
    tagged = ocitool("tags", *INSECURE, f"{pushed.plain}/multi/img:1")
    assert tagged.returncode == 2
    assert "HOST/REPO" in one_error_line(tagged)


def test_inspect_of_a_missing_image_is_not_found(pushed: Pushed) -> None:
    with pytest.raises(ImageNotFound):
        Client(backend=None).inspect_location(
            f"docker://{pushed.plain}/single/img:nope", tls_verify=False
        )
    for location in (
        f"docker://{pushed.plain}/single/img:nope",
        f"oci:{pushed.multi.path}:nope",
        f"oci-archive:{pushed.work / 'o.tar'}:nope",
        f"docker-archive:{pushed.work / 'd.tar'}:lab/nope:1",
    ):
        proc = ocitool("inspect", *INSECURE, location)
        assert proc.returncode == 3, location
        one_error_line(proc)


# -- bad input -----------------------------------------------------------------------


@pytest.fixture
def broken(pushed: Pushed, tmp_path: Path) -> Iterator[Path]:
    layout = tmp_path / "layout"
    shutil.copytree(pushed.multi.path, layout)
    yield layout


def _retarget(layout: Path, tag: str, blob: bytes, media_type: str) -> None:
    """Point `tag` at a new blob in the layout."""
    digest = sha256(blob)
    (layout / "blobs/sha256" / digest[7:]).write_bytes(blob)
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        if entry["annotations"]["org.opencontainers.image.ref.name"] == tag:
            entry.update(digest=digest, size=len(blob), mediaType=media_type)
    (layout / "index.json").write_text(json.dumps(index))


def test_a_malformed_manifest_is_one_line_exit_9(broken: Path) -> None:
    for blob in (b"{not json", json.dumps({"schemaVersion": 2, "layers": "x"}).encode()):
        _retarget(broken, "amd64", blob, "application/vnd.oci.image.manifest.v1+json")
        proc = ocitool("inspect", f"oci:{broken}:amd64")
        assert proc.returncode == 9, proc.stderr
        line = one_error_line(proc)
        assert "manifest" in line


def test_an_unknown_media_type_is_one_line_exit_6(broken: Path) -> None:
    kind = "application/vnd.example.thing.v1+json"
    thing = {"schemaVersion": 2, "mediaType": kind}
    _retarget(broken, "amd64", json.dumps(thing).encode(), kind)
    proc = ocitool("inspect", f"oci:{broken}:amd64")
    assert proc.returncode == 6
    assert "application/vnd.example.thing.v1+json" in one_error_line(proc)


def test_a_missing_blob_is_one_line_exit_9(pushed: Pushed, registries: Registries) -> None:
    """The registry lost the config blob that a manifest names (its storage was cut)."""
    plain = pushed.plain
    skopeo_copy(f"oci:{pushed.multi.path}:arm64", f"docker://{plain}/lost/img:1", *_dest())
    data = registries.plain.config.parent / "data/docker/registry/v2"
    link = data / "repositories/lost/img/_layers/sha256" / pushed.multi.arm64_config[7:]
    shutil.rmtree(link)
    proc = ocitool("inspect", *INSECURE, f"docker://{plain}/lost/img:1")
    assert proc.returncode == 9, proc.stderr
    line = one_error_line(proc)
    assert "missing" in line and pushed.multi.arm64_config in line


def test_a_manifest_that_is_not_its_digest_is_refused(broken: Path, pushed: Pushed) -> None:
    """A blob whose content is not what its name says (a corrupted layout)."""
    blob = broken / "blobs/sha256" / pushed.multi.amd64[7:]
    blob.write_bytes(blob.read_bytes().replace(b'"layers"', b' "layers"'))
    proc = ocitool("inspect", f"oci:{broken}:amd64")
    assert proc.returncode == 9
    assert "wrong content" in one_error_line(proc)


def test_local_and_location_arguments_do_not_mix(pushed: Pushed) -> None:
    proc = ocitool("inspect", "busybox:1", f"oci:{pushed.multi.path}:amd64")
    assert proc.returncode == 2
    assert "not both" in one_error_line(proc)
    local = ocitool("inspect", "--raw", "busybox:1")
    assert local.returncode == 2
    assert "LOCATION" in one_error_line(local)


def test_a_pull_prints_a_digest_the_registry_answers_for(engine: str, pushed: Pushed) -> None:
    for name in ("single/img:1", "multi/img:1"):
        proc = ocitool(
            "--backend", engine, "pull", *INSECURE, "--format", "json", f"{pushed.plain}/{name}"
        )
        assert proc.returncode == 0, proc.stderr
        [pulled] = json.loads(proc.stdout)  # a transfer prints an array
        digest = pulled["digest"]
        repo = name.split(":", 1)[0]
        assert served_digest(f"http://{pushed.plain}/v2/{repo}/manifests/{digest}") == digest
        [remote] = inspect_json(*INSECURE, f"docker://{pushed.plain}/{name}")
        assert remote["digest"] == digest


# -- rmi docker://HOST/REPO:TAG ------------------------------------------------------


def test_rmi_removes_one_tag_and_spares_its_siblings(pushed: Pushed) -> None:
    """Two tags of one manifest: removing one leaves the other resolving to it."""
    plain, multi = pushed.plain, pushed.multi
    for tag in ("a", "b"):
        skopeo_copy(
            f"oci:{multi.path}:multi", f"docker://{plain}/safe/img:{tag}", "--all", *_dest()
        )
    dry = ocitool("rmi", *INSECURE, "--dry-run", f"docker://{plain}/safe/img:a")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == f"Would untag: {plain}/safe/img:a"
    assert ocitool("tags", *INSECURE, f"{plain}/safe/img").stdout.split() == ["a", "b"]
    gone = ocitool("rmi", *INSECURE, "--format", "json", f"docker://{plain}/safe/img:a")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["untagged"] == [f"{plain}/safe/img:a"]
    assert ocitool("tags", *INSECURE, f"{plain}/safe/img").stdout.split() == ["b"]
    assert served_digest(f"http://{plain}/v2/safe/img/manifests/b") == multi.index
    [kept] = inspect_json(*INSECURE, "--platform", "linux/arm64", f"docker://{plain}/safe/img:b")
    assert kept["digest"] == multi.index and kept["image"]["id"] == multi.arm64_config
    again = ocitool("rmi", *INSECURE, f"docker://{plain}/safe/img:a")
    assert again.returncode == 3
    one_error_line(again)


def test_rmi_through_tls_and_auth(pushed: Pushed) -> None:
    secure = pushed.secure
    skopeo_copy(
        f"oci:{pushed.multi.path}:amd64",
        f"docker://{secure.host}/safe/img:x",
        f"--dest-cert-dir={secure.ca_dir}",
    )
    skopeo_copy(
        f"oci:{pushed.multi.path}:amd64",
        f"docker://{secure.host}/safe/img:y",
        f"--dest-cert-dir={secure.ca_dir}",
    )
    found = Client(backend=None).rmi(f"docker://{secure.host}/safe/img:x", cert_dir=secure.ca_dir)
    assert found.untagged == [f"{secure.host}/safe/img:x"]
    left = Client(backend=None).tags(f"{secure.host}/safe/img", cert_dir=secure.ca_dir)
    assert left.tags == ["y"]


def test_rmi_in_a_registry_without_deletes_is_one_line_exit_6(
    pushed: Pushed, lab: Lab, tmp_path: Path
) -> None:
    stubborn = lab_setup.start_registry(tmp_path / "no-deletes", delete=False)
    try:
        name = f"{stubborn.host}/kept/img"
        skopeo_copy(f"oci:{pushed.multi.path}:amd64", f"docker://{name}:1", *_dest())
        proc = ocitool("rmi", *INSECURE, f"docker://{name}:1")
        assert proc.returncode == 6
        line = one_error_line(proc)
        assert stubborn.host in line and "storage.delete.enabled" in line
        assert served_digest(f"http://{stubborn.host}/v2/kept/img/manifests/1") == (
            pushed.multi.amd64
        )  # nothing was moved
    finally:
        stubborn.stop()


def test_rmi_refuses_a_digest_and_mixed_kinds(pushed: Pushed) -> None:
    digest = ocitool("rmi", *INSECURE, f"docker://{pushed.plain}/single/img@{pushed.multi.amd64}")
    assert digest.returncode == 2
    assert "names a digest" in one_error_line(digest)
    mixed = ocitool("rmi", *INSECURE, "busybox:1", f"docker://{pushed.plain}/single/img:1")
    assert mixed.returncode == 2
    assert "one kind at a time" in one_error_line(mixed)
    assert served_digest(f"http://{pushed.plain}/v2/single/img/manifests/1") == pushed.multi.amd64


# -- the formats, without a registry --------------------------------------------------


def test_platforms_and_documents_are_checked_before_use() -> None:
    from ocitool import manifests
    from ocitool.errors import NotSupported, StoreCorrupt, UsageError

    assert str(manifests.wanted("linux/arm/v7")) == "linux/arm/v7"
    assert manifests.wanted(None).os == "linux"
    for bad in ("linux", "linux/", "a/b/c/d", "linux/am d64", "../x"):
        with pytest.raises(UsageError):
            manifests.wanted(bad)
    index = json.dumps(
        {"schemaVersion": 2, "manifests": [{"digest": "sha256:" + "a" * 64, "size": 1}]}
    ).encode()
    found = manifests.document(index, None, "here")
    assert found.is_index and found.media_type == manifests.OCI_INDEX
    assert found.digest == sha256(index)
    with pytest.raises(StoreCorrupt):
        manifests.document(b"[]", None, "here")
    with pytest.raises(StoreCorrupt):
        manifests.document(b'{"schemaVersion": 1, "config": {}, "layers": []}', None, "here")
    with pytest.raises(NotSupported):
        manifests.document(
            b'{"schemaVersion": 1}', "application/vnd.docker.distribution.manifest.v1+json", "x"
        )
