"""Image archives and layouts as files: what is in them, and writing them safely.

A docker archive lists its images in manifest.json (each config named by the
image ID), an OCI archive or layout in index.json (names in the
`org.opencontainers.image.ref.name` annotation). Both are read here without
unpacking; a new archive is written beside its final name and renamed into
place only when complete, so nothing half-written keeps the final name.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ocitool.errors import UsageError

FORMATS = ("docker-archive", "oci-archive")


@dataclass(frozen=True)
class ArchiveEntry:
    """One name of one image in an archive (an unnamed image has one entry, name None)."""

    name: str | None
    image_id: str | None  # a docker archive names each config file by the image ID
    position: int  # the image's place in the archive: skopeo's @N


def read_archive(path: Path) -> tuple[str, list[ArchiveEntry]]:
    """(kind, entries) from an archive's manifest.json or index.json."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            if "manifest.json" in members:
                doc = json.load(tar.extractfile(members["manifest.json"]))  # type: ignore[arg-type]
                entries = []
                for position, item in enumerate(doc):
                    config = str(item.get("Config", "")).rsplit("/", 1)[-1].removesuffix(".json")
                    image_id = f"sha256:{config}" if len(config) == 64 else None
                    for name in item.get("RepoTags") or [None]:
                        entries.append(ArchiveEntry(name, image_id, position))
                return "docker-archive", entries
            if "index.json" in members:
                doc = json.load(tar.extractfile(members["index.json"]))  # type: ignore[arg-type]
                names = [
                    (m.get("annotations") or {}).get("org.opencontainers.image.ref.name")
                    for m in doc.get("manifests") or []
                ]
                return "oci-archive", [ArchiveEntry(n, None, i) for i, n in enumerate(names)]
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise UsageError(
            f"{path} is truncated or not an image archive ({exc})",
            hint="make the archive again with 'ocitool save'",
        ) from exc
    raise UsageError(f"{path} is not a docker or OCI archive (no manifest.json or index.json)")


def layout_names(path: Path) -> list[str]:
    try:
        doc = json.loads((path / "index.json").read_text())
    except (OSError, ValueError):
        return []
    return [
        (m.get("annotations") or {}).get("org.opencontainers.image.ref.name", "")
        for m in doc.get("manifests") or []
    ]


@contextmanager
def finished_file(path: Path | None) -> Iterator[Path]:
    """Write beside `path`, rename over it only when complete; a failure leaves nothing."""
    if path is None:
        raise UsageError("no output file given")
    partial = path.with_name(path.name + ".ocitool-partial")
    with suppress(FileNotFoundError):
        partial.unlink()
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        with suppress(FileNotFoundError):
            partial.unlink()
        raise
