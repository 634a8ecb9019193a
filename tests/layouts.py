"""OCI layouts written by hand for the registry and index tests.

One gzip layer from the busybox rootfs tarball (tests/lab.py), and two
configs over it: this host's platform (linux/amd64) and linux/arm64, which
cannot run here. The index names both, so a test can push, copy, inspect
and pull either platform; each manifest also has a tag of its own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Multi:
    path: Path  # the layout
    index: str  # the index digest (tag "multi")
    amd64: str  # manifest digests (tags "amd64", "arm64")
    arm64: str
    amd64_config: str
    arm64_config: str


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = _digest(data)
    (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def multi_platform(layout: Path, rootfs_tar: Path) -> Multi:
    """The layout of an index of two images (amd64 and arm64) sharing one layer."""
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    tar = rootfs_tar.read_bytes()
    layer = {"mediaType": OCI_LAYER, **_blob(layout, gzip.compress(tar, mtime=0))}
    manifests: dict[str, dict[str, object]] = {}
    configs: dict[str, str] = {}
    for arch in ("amd64", "arm64"):
        config = {
            "created": "2026-12-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["sh"], "Labels": {"platform": arch}},
            "rootfs": {"type": "layers", "diff_ids": [_digest(tar)]},
            "history": [{"created": "2026-12-01T00:00:00Z", "created_by": f"busybox {arch}"}],
        }
        config_blob = {"mediaType": OCI_CONFIG, **_blob(layout, json.dumps(config).encode())}
        configs[arch] = str(config_blob["digest"])
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_blob,
            "layers": [layer],
        }
        manifests[arch] = {
            "mediaType": OCI_MANIFEST,
            **_blob(layout, json.dumps(manifest).encode()),
            "platform": {"architecture": arch, "os": "linux"},
        }
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(manifests.values())}
    index_blob = {"mediaType": OCI_INDEX, **_blob(layout, json.dumps(index).encode())}

    def named(descriptor: dict[str, object], tag: str) -> dict[str, object]:
        plain = {k: v for k, v in descriptor.items() if k != "platform"}
        return {**plain, "annotations": {"org.opencontainers.image.ref.name": tag}}

    top = {
        "schemaVersion": 2,
        "manifests": [
            named(index_blob, "multi"),
            named(manifests["amd64"], "amd64"),
            named(manifests["arm64"], "arm64"),
        ],
    }
    (layout / "index.json").write_text(json.dumps(top))
    return Multi(
        layout,
        str(index_blob["digest"]),
        str(manifests["amd64"]["digest"]),
        str(manifests["arm64"]["digest"]),
        configs["amd64"],
        configs["arm64"],
    )


def skopeo_copy(source: str, destination: str, *extra: str) -> None:
    """A copy made outside ocitool, to set a test up (as the engines' CLIs do in lab.py)."""
    subprocess.run(
        ["skopeo", "copy", "--quiet", *extra, "--", source, destination],
        check=True,
        capture_output=True,
        timeout=120,
    )
