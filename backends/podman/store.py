"""`du` from podman's own storage files (containers/storage), read directly.

`podman images` computes every image's size and takes ~0.9 s for 200 images
here, and `podman system df -v` ~0.25 s, where the files they read take a few
milliseconds: `<graphroot>/<driver>-images/images.json` (names, top layers),
each image's config beside it (checked against the image ID, its sha256),
and `<driver>-layers/layers.json` (each layer's parent, diff digest and size).
The graph root is found as containers/storage finds it (storage_location);
where the configuration is anything but plain, None sends du back to the CLI.

`podman images` hides an image with no name that another is directly built on
(libimage's "intermediate" images): _visible applies the same rule, by the
layer tree and the configs' histories.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ocitool.backends.common.listing import Names
from ocitool.backends.common.parsing import as_digest, lineage_of, parse_time
from ocitool.layers import chain_ids
from ocitool.usage import ImageStack, StoreInventory

HEX = re.compile(r"[0-9a-f]{64}")
SYSTEM_CONFS = ("/etc/containers/storage.conf", "/usr/share/containers/storage.conf")
ROOTFUL_GRAPH_ROOT = "/var/lib/containers/storage"


def storage_location() -> tuple[str, str | None] | None:
    """(graph root, driver or None for "whichever is there") as containers/storage
    resolves them for this user; None for anything beyond the plain settings."""
    if os.environ.get("STORAGE_DRIVER") or os.environ.get("STORAGE_OPTS"):
        return None
    rootless = os.geteuid() != 0
    home = os.path.expanduser("~")
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    own = os.environ.get("CONTAINERS_STORAGE_CONF") or (
        os.path.join(config_home, "containers", "storage.conf") if rootless else None
    )
    path = own if own and os.path.exists(own) else None
    is_own = path is not None
    path = path or next((p for p in SYSTEM_CONFS if os.path.exists(p)), None)
    table: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle).get("storage") or {}
        except (OSError, tomllib.TOMLDecodeError):
            return None
    options = table.get("options") or {}
    if options.get("additionalimagestores") or table.get("imagestore"):
        return None  # images podman lists would live elsewhere too
    rootless_default = os.path.join(data_home, "containers", "storage")
    if rootless and not is_own:
        if table.get("rootless_storage_path"):
            return None
        graph_root = rootless_default
    else:
        graph_root = table.get("graphroot") or (
            rootless_default if rootless else ROOTFUL_GRAPH_ROOT
        )
    if not isinstance(graph_root, str) or "$" in graph_root:
        return None
    driver = table.get("driver") or None
    return graph_root, driver if isinstance(driver, str) else None


class PodmanStore(NamedTuple):
    inputs: StoreInventory
    image_ids: frozenset[str]  # every stored image, to check podman's containers against

    def usage(self, containers: Sequence[Mapping[str, Any]]) -> StoreInventory | None:
        """The inputs with each image's containers (from `podman ps -a`), if every one
        of their images is in this store: else it is not the one podman uses."""
        held: dict[str, int] = {}
        for container in containers:
            image_id = as_digest(container.get("ImageID"))
            if image_id is None or image_id not in self.image_ids:
                return None
            held[image_id] = held.get(image_id, 0) + 1
        return self.inputs._replace(held=held)


def is_manifest_list(record: Mapping[str, Any]) -> bool:
    """A list made by `podman manifest create` is an image record with no layer and
    no config, only the list and its `instances.json` (containers/common manifests)."""
    return "instances.json" in (record.get("big-data-names") or ())


def list_document(list_id: str) -> bytes | None:
    """A manifest list's document exactly as podman stores it (its `manifest` big data,
    an OCI index or a docker list); None where the storage cannot be read here."""
    location = storage_location()
    if location is None or not HEX.fullmatch(list_id):
        return None
    graph_root, driver = location
    driver = driver or _only_driver(graph_root)
    if driver is None:
        return None
    try:
        with open(os.path.join(graph_root, f"{driver}-images", list_id, "manifest"), "rb") as f:
            return f.read()
    except OSError:
        return None


class StoredList(NamedTuple):
    """A manifest list as podman keeps it: an image record with no layer (lists.py
    makes it a model). `size` is podman's: the bytes of the list's own documents."""

    id: str  # sha256:
    names: list[str]  # as podman stores them (localhost/...)
    created: datetime | None
    document: bytes | None  # its `manifest` big data; None where it cannot be read here
    size: int


def stored_lists(graph_root: str, driver: str | None) -> list[StoredList] | None:
    """Every manifest list, from images.json and each list's document beside it;
    None where they cannot be read."""
    driver = driver or _only_driver(graph_root)
    if driver is None:
        return None
    try:
        with open(os.path.join(graph_root, f"{driver}-images", "images.json"), "rb") as handle:
            records = [r for r in json.load(handle) if is_manifest_list(r)]
        return [_stored_list(graph_root, driver, r) for r in records]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _stored_list(graph_root: str, driver: str, record: Mapping[str, Any]) -> StoredList:
    if not HEX.fullmatch(record["id"]):
        raise ValueError(f"manifest list ID {record['id']!r} is not 64 hex digits")
    with open(os.path.join(graph_root, f"{driver}-images", record["id"], "manifest"), "rb") as f:
        document = f.read()
    sizes = record.get("big-data-sizes") or {}
    return StoredList(
        id=f"sha256:{record['id']}",
        names=[str(n) for n in record.get("names") or []],
        created=parse_time(record.get("created")),
        document=document,
        size=sum(int(v) for v in sizes.values()),
    )


def stored_names(graph_root: str, driver: str | None) -> frozenset[str] | None:
    """Every name podman stores, as it spells them, from images.json alone."""
    driver = driver or _only_driver(graph_root)
    if driver is None:
        return None
    try:
        with open(os.path.join(graph_root, f"{driver}-images", "images.json"), "rb") as handle:
            records = json.load(handle)
        return frozenset(str(n) for r in records for n in r.get("names") or ())
    except (OSError, ValueError, TypeError, AttributeError):
        return None


class _Files(NamedTuple):
    records: list[dict[str, Any]]  # images.json, less the manifest lists (not images)
    lists: list[dict[str, Any]]  # the manifest lists' records
    layers: list[dict[str, Any]]  # layers.json
    configs: dict[str, dict[str, Any]]  # image ID (bare hex) -> its config, checked

    def visible(self) -> list[dict[str, Any]]:
        return _visible(self.records, self.configs, self._layer_parent())

    def parents(self) -> dict[str, str]:
        """Each image's parent as `podman image inspect` names it (libimage's rule:
        an image on the same top layer, else on the layer below, whose history the
        child's continues by one step), so du reads what podman's CLI says."""
        found: dict[str, str] = {}
        for child, candidate in _related(self.records, self.configs, self._layer_parent()):
            found.setdefault(child, candidate)
        return found

    def _layer_parent(self) -> dict[str, str]:
        return {layer["id"]: layer.get("parent") or "" for layer in self.layers}


def _load(graph_root: str, driver: str | None) -> _Files | None:
    driver = driver or _only_driver(graph_root)
    if driver is None:
        return None
    try:
        with open(os.path.join(graph_root, f"{driver}-images", "images.json"), "rb") as handle:
            every = json.load(handle)
        records = [r for r in every if not is_manifest_list(r)]
        with open(os.path.join(graph_root, f"{driver}-layers", "layers.json"), "rb") as handle:
            layers = json.load(handle)
        configs = {r["id"]: _config(graph_root, driver, r["id"]) for r in records}
        return _Files(records, [r for r in every if is_manifest_list(r)], layers, configs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def listed_ids(graph_root: str, driver: str | None, *, all: bool = False) -> list[str] | None:
    """The image IDs `podman images [-a]` lists, read in milliseconds where podman
    takes ~0.9 s (it computes every image's size); None where they cannot be read."""
    files = _load(graph_root, driver)
    if files is None:
        return None
    try:
        return [f"sha256:{r['id']}" for r in (files.records if all else files.visible())]
    except (KeyError, TypeError, AttributeError):
        return None


def read_store(graph_root: str, driver: str | None) -> PodmanStore | None:
    """The images `podman images` lists, with their layers and layer sizes."""
    files = _load(graph_root, driver)
    if files is None:
        return None
    try:
        by_diff = {
            layer["diff-digest"]: int(layer["diff-size"])
            for layer in files.layers
            if layer.get("diff-digest") and layer.get("diff-size") is not None
        }
        shown = Names(n for r in [*files.records, *files.lists] for n in r.get("names") or ())
        parents = files.parents()
        found = [
            _stack(r, files.configs[r["id"]], shown, parents.get(r["id"])) for r in files.visible()
        ]
        found += [_list_stack(r, shown) for r in files.lists]
        sizes = {
            chain: by_diff[diff_id]
            for image in found
            for chain, diff_id in zip(chain_ids(image.diff_ids), image.diff_ids, strict=True)
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    ids = frozenset(f"sha256:{r['id']}" for r in files.records)
    return PodmanStore(StoreInventory(found, sizes, {}), ids)


def _only_driver(graph_root: str) -> str | None:
    """The driver whose image store exists, when the settings name none."""
    try:
        found = [n[: -len("-images")] for n in os.listdir(graph_root) if n.endswith("-images")]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def _config(graph_root: str, driver: str, image_id: str) -> dict[str, Any]:
    """The image's config, stored as big data under its digest, base64-named."""
    import base64
    import hashlib  # only du checks configs: most commands never load them

    key = base64.b64encode(f"sha256:{image_id}".encode()).decode()
    with open(os.path.join(graph_root, f"{driver}-images", image_id, f"={key}"), "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != image_id:
        raise ValueError(f"image config {image_id} does not match its ID")
    config: dict[str, Any] = json.loads(data)
    return config


def _visible(
    records: list[dict[str, Any]],
    configs: Mapping[str, dict[str, Any]],
    layer_parent: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The records `podman images` shows: all but nameless images with a child."""
    with_child = {parent for _, parent in _related(records, configs, layer_parent)}
    return [r for r in records if r.get("names") or r["id"] not in with_child]


def _related(
    records: list[dict[str, Any]],
    configs: Mapping[str, dict[str, Any]],
    layer_parent: Mapping[str, str],
) -> Iterator[tuple[str, str]]:
    """(child, parent) for every pair libimage calls parent and child, in its order:
    the images on the child's top layer first, then those on the layer below."""
    by_top: dict[str, list[str]] = {}
    for record in records:
        by_top.setdefault(record.get("layer") or "", []).append(record["id"])
    for record in records:
        child = record["id"]
        top = record.get("layer") or ""
        for candidate in (*by_top.get(top, ()), *by_top.get(layer_parent.get(top, ""), ())):
            if top and candidate != child and _parent_and_child(configs[candidate], configs[child]):
                yield child, candidate


def _parent_and_child(parent: Mapping[str, Any], child: Mapping[str, Any]) -> bool:
    """libimage's test: the child has all the parent's layers, and its history is the
    parent's plus exactly one step."""
    parent_ids, child_ids = parent["rootfs"]["diff_ids"], child["rootfs"]["diff_ids"]
    if child_ids[: len(parent_ids)] != parent_ids:
        return False
    parent_steps, child_steps = parent.get("history") or [], child.get("history") or []
    if len(parent_steps) + 1 != len(child_steps):
        return False
    return all(_same_step(a, b) for a, b in zip(parent_steps, child_steps, strict=False))


def _same_step(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if parse_time(a.get("created")) != parse_time(b.get("created")):
        return False
    return all(
        (a.get(k) or None) == (b.get(k) or None)
        for k in ("created_by", "author", "comment", "empty_layer")
    )


def _stack(
    record: Mapping[str, Any], config: Mapping[str, Any], shown: Names, parent: str | None
) -> ImageStack:
    names = sorted({shown(n) for n in record.get("names") or [] if "@" not in n})
    diff_ids = [str(d) for d in config["rootfs"]["diff_ids"]]
    lineage = lineage_of(config.get("history"), len(diff_ids))
    created = parse_time(config.get("created"))
    up = f"sha256:{parent}" if parent else None
    return ImageStack(f"sha256:{record['id']}", names, diff_ids, up, created, lineage)


def _list_stack(record: Mapping[str, Any], shown: Names) -> ImageStack:
    """A manifest list as du lists it, as `images` does: it holds no layer of its own
    (its images are counted as themselves), so it counts nothing."""
    names = sorted({shown(n) for n in record.get("names") or [] if "@" not in n})
    return ImageStack(f"sha256:{record['id']}", names, [], None, parse_time(record.get("created")))
