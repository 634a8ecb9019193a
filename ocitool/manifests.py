"""Image manifests, indexes and configs as the image-spec and docker's schema 2 write them.

What a registry, an OCI layout or an archive holds is read here into the
core models, whoever wrote it: an image manifest (OCI, or docker's v2
schema 2) names a config and layers; an index (OCI's image index, or
docker's manifest list) names one manifest per platform. Anything else is
one error that says what was found: broken JSON or a misshapen document is
corrupt (exit 9), a media type ocitool does not read is not supported (6).
"""

from __future__ import annotations

import hashlib
import json
import platform as host
from dataclasses import dataclass
from typing import Any

from ocitool.errors import NotSupported, StoreCorrupt, UsageError
from ocitool.models import Image, ImageSource, Platform

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
# uname's machine names as the image-spec's GOARCH values (and their variants).
_MACHINES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i686": ("386", None),
    "i386": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


@dataclass(frozen=True)
class Wanted:
    """A platform asked for with --platform os/arch[/variant]."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, entry: Platform) -> bool:
        if (entry.os, entry.architecture) != (self.os, self.architecture):
            return False
        return self.variant is None or entry.variant in (self.variant, None)


def wanted(text: str | None) -> Wanted:
    """--platform's value, or this host's platform (as the engines default)."""
    if text is None:
        arch, variant = _MACHINES.get(host.machine().lower(), (host.machine().lower(), None))
        return Wanted("linux", arch, variant)
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(p and p.isascii() and p.isalnum() for p in parts):
        raise UsageError(
            f"--platform={text!r} is not os/arch[/variant]", hint="e.g. --platform linux/arm64"
        )
    os_, arch = parts[0].lower(), parts[1].lower()
    return Wanted(os_, arch, parts[2].lower() if len(parts) == 3 else None)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Document:
    """A manifest or index: its exact bytes, its digest, its media type and its content."""

    raw: bytes
    digest: str
    media_type: str
    content: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def document(raw: bytes, served_type: str | None, where: str) -> Document:
    """The bytes a location served for a manifest, checked for shape.

    The media type is the document's own `mediaType`, else what was served with
    it (a registry's Content-Type, a layout's descriptor); schema 1 and unknown
    types are refused by name.
    """
    try:
        content = json.loads(raw)
    except ValueError:
        content = None
    if not isinstance(content, dict):
        raise StoreCorrupt(
            f"{where} serves a manifest that is not JSON ({len(raw)} bytes)",
            hint="push the image again; the registry or file holds broken data",
        )
    declared = content.get("mediaType")
    served = (served_type or "").split(";", 1)[0].strip()
    media_type = declared if isinstance(declared, str) and declared else served
    if not media_type:  # an OCI document may leave mediaType out: its shape tells
        media_type = OCI_INDEX if "manifests" in content else OCI_MANIFEST
    if media_type not in IMAGE_TYPES | INDEX_TYPES:
        raise NotSupported(
            f"{where} is a {media_type!r}, which ocitool does not read",
            hint="ocitool reads OCI image manifests and indexes, and docker's schema 2"
            " manifests and manifest lists",
        )
    if content.get("schemaVersion") != 2 or not _shaped(content, media_type in INDEX_TYPES):
        raise StoreCorrupt(
            f"{where} serves a misshapen {media_type} (schemaVersion, config, layers or"
            " manifests missing or of the wrong type)",
            hint="push the image again; the registry or file holds broken data",
        )
    return Document(raw, sha256(raw), media_type, content)


def _shaped(content: dict[str, Any], index: bool) -> bool:
    if index:
        entries = content.get("manifests")
        return isinstance(entries, list) and all(_descriptor(e) for e in entries)
    layers = content.get("layers")
    return (
        _descriptor(content.get("config"))
        and isinstance(layers, list)
        and all(_descriptor(layer) for layer in layers)
    )


def _descriptor(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("digest"), str)
        and value["digest"].startswith("sha256:")
        and len(value["digest"]) == 71
        and isinstance(value.get("size"), int)
    )


def platforms(index: Document) -> list[Platform]:
    """An index's images, each with its os, architecture, variant, digest and size."""
    found = []
    for entry in index.content["manifests"]:
        spec = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
        found.append(
            Platform(
                os=str(spec.get("os") or "unknown"),
                architecture=str(spec.get("architecture") or "unknown"),
                variant=str(spec["variant"]) if spec.get("variant") else None,
                digest=entry["digest"],
                size=entry["size"],
                media_type=str(entry.get("mediaType") or OCI_MANIFEST),
            )
        )
    return found


def pick(index: Document, want: Wanted, where: str) -> Platform:
    """The index's manifest for `want`; none is one error listing what there is."""
    entries = platforms(index)
    for entry in entries:
        if want.matches(entry) and entry.media_type in IMAGE_TYPES:
            return entry
    there = ", ".join(_platform_name(e) for e in entries) or "none"
    raise UsageError(
        f"{where} has no image for {want} (it holds: {there})",
        hint="pick one with --platform OS/ARCH[/VARIANT]",
    )


def _platform_name(entry: Platform) -> str:
    return "/".join(p for p in (entry.os, entry.architecture, entry.variant) if p)


def config_descriptor(manifest: Document) -> tuple[str, int]:
    config = manifest.content["config"]
    return str(config["digest"]), int(config["size"])


def checked_blob(data: bytes, digest: str, where: str) -> bytes:
    """A blob's bytes, refused unless their sha256 is the digest that named them."""
    if sha256(data) != digest:
        raise StoreCorrupt(
            f"{where}: blob {digest} has the wrong content (sha256 {sha256(data)})",
            hint="push the image again; the registry or file holds broken data",
        )
    return data


def image(
    manifest: Document,
    config_raw: bytes,
    *,
    names: list[str],
    repo_digests: list[str],
    source: ImageSource,
) -> Image:
    """The normalized Image of a manifest and its config, as a local inspect shows one."""
    from ocitool.backends.common.history import config_step, join_steps
    from ocitool.backends.common.parsing import image_config, parse_time, text_or_none

    try:
        config: Any = json.loads(config_raw)
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise StoreCorrupt(
            f"the config {config_descriptor(manifest)[0]} is not a JSON object",
            hint="push the image again; the registry or file holds broken data",
        )
    diff_ids = [str(d) for d in (config.get("rootfs") or {}).get("diff_ids") or []]
    blobs = manifest.content["layers"]
    history = [h for h in config.get("history") or [] if isinstance(h, dict)]
    steps = join_steps([config_step(h) for h in history or [{} for _ in diff_ids]], diff_ids)
    by_diff = dict(zip(diff_ids, blobs, strict=False))
    layers = [
        step.model_copy(update={"digest": blob["digest"], "size": blob["size"]})
        if (blob := by_diff.get(step.diff_id or ""))
        else step
        for step in reversed(steps)
        if not step.empty
    ]
    return Image.model_construct(
        id=sha256(config_raw),
        names=names,
        repo_digests=repo_digests,
        created=parse_time(config.get("created")),
        author=text_or_none(config.get("author")),
        comment=text_or_none(history[-1].get("comment")) if history else None,
        size=sum(int(blob["size"]) for blob in blobs),
        architecture=text_or_none(config.get("architecture")),
        os=text_or_none(config.get("os")),
        config=image_config(config.get("config") or {}),
        layers=layers,
        parent=None,
        backend=source,
        accounting="the compressed blobs the manifest names",
    )
