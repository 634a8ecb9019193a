"""`rmi docker://HOST/REPO:TAG`: remove one tag in a registry, and only that tag.

The registry API deletes manifests, not tags: a DELETE of the tag's digest
takes every other tag of that manifest with it. So, as regctl's safe tag
delete does, the tag is first moved to a throwaway manifest of its own (an
empty config that names the tag and the time, no layers), and that digest
is deleted: the tag goes, its siblings keep the original manifest.

Nothing is moved before the registry has shown it allows deletes (a DELETE
of a digest nothing has answers 404 where deletes are on, 405 where they are
off), and the throwaway is deleted only while the tag still names it.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.errors import Conflict, ImageNotFound, NotSupported, OcitoolError, UsageError
from ocitool.manifests import OCI_MANIFEST, sha256
from ocitool.models import RemoveResult
from ocitool.references import ImageRef

if TYPE_CHECKING:
    from ocitool.locations import Location
    from ocitool.registry import Registry
    from ocitool.transfer import Transfers

_CONFIG = "application/vnd.oci.image.config.v1+json"


def remove_tags(transfers: Transfers, locations: list[Location], *, dry_run: bool) -> RemoveResult:
    """Each docker://HOST/REPO:TAG untagged in its registry; nothing else is touched."""
    refs = [_tagged(location) for location in locations]
    plans = []
    for location, ref in zip(locations, refs, strict=True):
        registry = transfers.registry(location.registry)
        digest = registry.manifest_digest(_repository(registry, ref), ref.tag or "latest")
        if digest is None:
            raise ImageNotFound(
                [str(location)],
                backend="registry",
                hint=f"list its tags: ocitool tags {ref.domain or 'docker.io'}/{ref.path}",
            )
        plans.append((location, ref, registry))
    names = [str(location.name) for location, _, _ in plans]
    if dry_run:
        return RemoveResult(untagged=names, dry_run=True)
    for _, ref, registry in plans:
        _deletes_allowed(registry, _repository(registry, ref))
    for location, ref, registry in plans:
        _untag(transfers, location, ref, registry)
    return RemoveResult(untagged=names)


def _tagged(location: Location) -> ImageRef:
    ref = ImageRef.parse(location.name or "")
    if ref.digest is not None:
        raise UsageError(
            f"{location} names a digest; rmi removes a tag in a registry",
            hint="name the tag: rmi docker://HOST/REPO:TAG (a digest's every tag would go)",
        )
    return ref


def _repository(registry: Registry, ref: ImageRef) -> str:
    return registry._api_path(ref.path)


def _deletes_allowed(registry: Registry, repository: str) -> None:
    """A DELETE of a digest no manifest has: 404 where deletes are on, 405 where off."""
    nothing = sha256(os.urandom(32))
    status, _, _ = registry._request(
        f"/v2/{repository}/manifests/{nothing}", method="DELETE", allow={202, 404, 405}
    )
    if status == 405:
        raise _deletes_disabled(registry.host)


def _deletes_disabled(host: str) -> NotSupported:
    return NotSupported(
        f"{host} does not allow deletes (HTTP 405): nothing was changed",
        hint="a distribution registry allows them with storage.delete.enabled: true in its"
        " config (REGISTRY_STORAGE_DELETE_ENABLED=true)",
    )


def _untag(transfers: Transfers, location: Location, ref: ImageRef, registry: Registry) -> None:
    repository = _repository(registry, ref)
    tag = ref.tag or "latest"
    with tempfile.TemporaryDirectory(prefix="ocitool-untag-") as tmp:
        layout = Path(tmp) / "layout"
        expected = _throwaway(layout, tag)
        written = transfers.copy(f"oci:{layout}:untag", f"docker://{location.name}", force=True)
    digest = written.digest or expected
    if registry.manifest_digest(repository, tag) != digest:
        raise Conflict(
            f"{location} changed while it was being removed; it was left as it is now",
            hint="someone pushed to the tag meanwhile: look again with ocitool inspect",
        )
    status, _, _ = registry._request(
        f"/v2/{repository}/manifests/{digest}", method="DELETE", allow={202, 404, 405}
    )
    if status == 405:  # deletes were switched off in between: the tag names the throwaway
        raise OcitoolError(
            f"{registry.host} refused the delete (HTTP 405) after {location} was moved to an"
            f" empty manifest {digest}",
            hint="allow deletes in the registry (storage.delete.enabled) and run rmi again",
        )


def _throwaway(layout: Path, tag: str) -> str:
    """A one-off OCI layout: an empty config that names the tag and the time, no layers."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config = json.dumps(
        {
            "created": now,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"delete-tag": tag, "delete-date": now}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": _CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [],
        }
    ).encode()
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (config, manifest):
        (blobs / sha256(data).removeprefix("sha256:")).write_bytes(data)
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "untag"},
    }
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return sha256(manifest)
