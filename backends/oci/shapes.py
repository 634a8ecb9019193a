"""The shapes the store's JSON must have before anything reads it.

index.json, manifests and configs are checked here, once, as they are read
(store.py, parsers.py), so the code that uses them can index them without a
`.get` chain: a crafted store (an integer `ref.name`, a `rootfs` that is a
list, a history of strings) is one StoreCorrupt naming the file, never a
crash. Only the fields ocitool reads are checked; the image spec allows more.
Plain checks, not pydantic: every read of the store passes here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from ocitool.backends.common.parsing import parse_time
from ocitool.errors import StoreCorrupt

_HINT = "the store is damaged; restore the file from a backup, or remove the images that use it"


def damaged(path: Path, what: str) -> NoReturn:
    raise StoreCorrupt(f"{path} {what}", hint=_HINT)


def index(doc: object, path: Path) -> list[Mapping[str, Any]]:
    """index.json's manifest descriptors, each with a string ref.name if it has one."""
    if not isinstance(doc, dict):
        damaged(path, f"is a JSON {_kind(doc)}, not an image index object")
    entries = doc.get("manifests", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        damaged(path, f"has a 'manifests' that is a JSON {_kind(entries)}, not a list")
    for number, entry in enumerate(entries):
        where = f"manifests[{number}]"
        _descriptor(entry, path, where)
        annotations = entry.get("annotations")
        if annotations is not None and not isinstance(annotations, dict):
            damaged(path, f"has {where}.annotations that is a JSON {_kind(annotations)}")
        name = (annotations or {}).get("org.opencontainers.image.ref.name")
        if name is not None and not isinstance(name, str):
            damaged(path, f"has {where} named by a JSON {_kind(name)}, not a string")
    return entries


def manifest(doc: Mapping[str, Any], path: Path) -> None:
    """An image manifest: a config descriptor and a list of layer descriptors."""
    _descriptor(doc.get("config"), path, "config")
    layers = doc.get("layers", [])
    if not isinstance(layers, list):
        damaged(path, f"has 'layers' that is a JSON {_kind(layers)}, not a list")
    for number, layer in enumerate(layers):
        _descriptor(layer, path, f"layers[{number}]")


def config(doc: Mapping[str, Any], path: Path) -> None:
    """An image config: the fields parsers.py reads, each of the type the spec gives it."""
    rootfs = doc.get("rootfs", {})
    if not isinstance(rootfs, dict):
        damaged(path, f"has 'rootfs' that is a JSON {_kind(rootfs)}, not an object")
    diff_ids = rootfs.get("diff_ids", [])
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        damaged(path, "has 'rootfs.diff_ids' that is not a list of digests")
    history = doc.get("history", [])
    if not isinstance(history, list):
        damaged(path, f"has 'history' that is a JSON {_kind(history)}, not a list")
    for number, step in enumerate(history):
        if not isinstance(step, dict):
            damaged(path, f"has history[{number}] that is a JSON {_kind(step)}, not an object")
        _time(step.get("created"), path, f"history[{number}].created")
    _time(doc.get("created"), path, "created")
    runtime = doc.get("config", {})
    if runtime is None:
        return
    if not isinstance(runtime, dict):
        damaged(path, f"has 'config' that is a JSON {_kind(runtime)}, not an object")
    for key in ("WorkingDir", "User"):
        value = runtime.get(key)
        if value is not None and not isinstance(value, str):
            damaged(path, f"has config.{key} that is a JSON {_kind(value)}, not a string")


def _descriptor(value: object, path: Path, where: str) -> None:
    """A content descriptor (image-spec descriptor.md): digest, size, media type."""
    if not isinstance(value, dict):
        damaged(path, f"has {where} that is a JSON {_kind(value)}, not a descriptor")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str):
        damaged(path, f"has {where} with no digest string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        damaged(path, f"has {where} with no size in bytes")
    media_type = value.get("mediaType", "")
    if not isinstance(media_type, str):
        damaged(path, f"has {where} with a mediaType that is not a string")


def _time(value: object, path: Path, where: str) -> None:
    if value is None:
        return
    try:
        if not isinstance(value, str):
            raise TypeError
        parse_time(value)
    except (TypeError, ValueError):
        damaged(path, f"has {where} that is not an RFC 3339 time")


def _kind(value: object) -> str:
    """The JSON name of a value's type, as a user who opens the file would call it."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
