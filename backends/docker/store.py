"""`du` from dockerd's own files, when they are on this machine and readable.

dockerd keeps its names in `<DockerRootDir>/image/<driver>/repositories.json`,
each image's config, content-addressed, in `imagedb/content/sha256/<id>`, its
parent in `imagedb/metadata/sha256/<id>/parent`, each layer's size in
`layerdb/sha256/<chainID>/size` and each container's image in
`containers/<id>/config.v2.json`. One `docker info` says where the root is and
how many images and containers the daemon has; the rest is read here, which
costs less than the daemon's own list call (docs/benchmarks.md, case b).

Nothing is taken on trust: every config must hash to its image ID, and the
counts must match what the daemon just said, so a root that is not this
daemon's (a remote one, a stale copy) or a store changing underneath gives
None, and du falls back to the engine's list and inspect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

from ocitool.backends.common.parsing import as_digest, lineage_of, parse_time
from ocitool.layers import chain_ids
from ocitool.references import hub_short
from ocitool.usage import ImageStack, StoreInventory


class DockerStore(NamedTuple):
    """What du needs from the daemon's files, and how many images and containers
    they held, to be checked against what the daemon says (usage)."""

    inputs: StoreInventory
    images: int
    containers: int

    def usage(self, images: int | None, containers: int | None) -> StoreInventory | None:
        """The inputs, if the daemon counts what was read: else it is not its store,
        or the store changed as it was read."""
        return self.inputs if (images, containers) == (self.images, self.containers) else None


def read_store(root: str, driver: str) -> DockerStore | None:
    """The images `docker images` lists, their layers' sizes, the containers on each."""
    base = os.path.join(root, "image", driver)
    try:
        ids = os.listdir(os.path.join(base, "imagedb", "content", "sha256"))
        names = os.listdir(os.path.join(root, "containers"))
        tags, digests = _references(os.path.join(base, "repositories.json"))
        stored = {f"sha256:{i}": _config(base, i) for i in ids}
        parents = {image_id: _parent(base, image_id) for image_id in stored}
        held = _held(root, names)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    with_children = set(parents.values())
    found = [
        _image(image_id, config, tags, parents[image_id])
        for image_id, config in stored.items()
        # `docker images` hides an image with no name that another is built on.
        if tags.get(image_id) or digests.get(image_id) or image_id not in with_children
    ]
    layerdb = os.path.join(base, "layerdb", "sha256")
    sizes: dict[str, int] = {}
    try:
        for image in found:
            for chain in chain_ids(image.diff_ids):
                if chain not in sizes:
                    with open(os.path.join(layerdb, chain[7:], "size")) as handle:
                        sizes[chain] = int(handle.read())
    except (OSError, ValueError):
        return None
    return DockerStore(StoreInventory(found, sizes, held), len(ids), len(names))


def _references(path: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """image ID -> its tags, and -> its repo digests, in the names docker shows."""
    with open(path, "rb") as handle:
        repositories = json.load(handle)["Repositories"]
    tags: dict[str, list[str]] = {}
    digests: dict[str, list[str]] = {}
    for references in repositories.values():
        for reference, image_id in references.items():
            name = hub_short(reference)  # dockerd's localhost/ is a registry
            (digests if "@" in name else tags).setdefault(image_id, []).append(name)
    return tags, digests


def _config(base: str, hex_id: str) -> dict[str, Any]:
    with open(os.path.join(base, "imagedb", "content", "sha256", hex_id), "rb") as handle:
        data = handle.read()
    import hashlib  # only du checks configs: most commands never load it

    if hashlib.sha256(data).hexdigest() != hex_id:
        raise ValueError(f"image config {hex_id} does not match its ID")
    config: dict[str, Any] = json.loads(data)
    return config


def _parent(base: str, image_id: str) -> str | None:
    path = os.path.join(base, "imagedb", "metadata", "sha256", image_id[7:], "parent")
    try:
        with open(path) as handle:
            return as_digest(handle.read().strip())
    except FileNotFoundError:
        return None  # an image with no parent has no file


def _held(root: str, containers: list[str]) -> dict[str, int]:
    held: dict[str, int] = {}
    for container in containers:
        with open(os.path.join(root, "containers", container, "config.v2.json"), "rb") as handle:
            image_id = as_digest(json.load(handle).get("Image"))
        if image_id:
            held[image_id] = held.get(image_id, 0) + 1
    return held


def _image(
    image_id: str,
    config: dict[str, Any],
    tags: dict[str, list[str]],
    parent: str | None,
) -> ImageStack:
    names = sorted(set(tags.get(image_id, [])))
    diff_ids = [str(d) for d in config["rootfs"]["diff_ids"]]
    lineage = lineage_of(config.get("history"), len(diff_ids))
    created = parse_time(config.get("created"))
    return ImageStack(image_id, names, diff_ids, parent, created, lineage)


def read_configs(root: str, driver: str, image_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """image ID -> its config, as dockerd stores it (each checked against its ID); the
    ones that cannot be read here are left out (a remote daemon, a root-only store)."""
    base = os.path.join(root, "image", driver)
    found = {}
    for image_id in image_ids:
        try:
            found[image_id] = _config(base, image_id.removeprefix("sha256:"))
        except (OSError, ValueError):
            continue
    return found
