"""The store's images as models, straight from index.json, manifests and configs.

An image is a config (its ID is the config's digest) reached from one or more
index entries; each entry's ref.name is one of its names, and an entry with
no name is an untagged image. The OCI config has no image-level comment, so
an image's comment is its newest history step's (where umoci records the
commit message). Sizes are the compressed blob sizes on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocitool.backends.common.history import config_step, history_key, join_steps
from ocitool.backends.common.history import producers as shared_producers
from ocitool.backends.common.parsing import image_config, parse_time, text_or_none
from ocitool.backends.oci import shapes
from ocitool.backends.oci.store import MANIFEST_TYPES, Store, is_scratch
from ocitool.errors import StoreCorrupt
from ocitool.models import Image, Layer

HIDDEN_TAG = "ocitool-id-"  # + the image ID's first 12 hex digits


@dataclass
class StoredImage:
    """What the store holds for one image ID, before it becomes a model."""

    id: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    tags: list[str] = field(default_factory=list)  # every name in index.json, hidden ones too

    @property
    def names(self) -> list[str]:
        """The names a user gave; ocitool's own hidden tags (umoci needs one) are not shown."""
        return [tag for tag in self.tags if not tag.startswith(HIDDEN_TAG)]

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.config.get("history") or [])

    def history_key(self, steps: int | None = None) -> tuple[object, ...]:
        """Identity of the first `steps` history steps and the layers they made."""
        return history_key(self.history if steps is None else self.history[:steps], self.diff_ids)


def read_store(store: Store) -> list[StoredImage]:
    """Every image in the store, each manifest and config read once and verified."""
    images: dict[str, StoredImage] = {}
    manifests: dict[str, dict[str, Any]] = {}
    for entry in store.index():
        if is_scratch(entry.name):
            continue  # an image being built, or a killed writer's: never the user's
        manifest = manifests.get(entry.digest)
        if manifest is None:
            if entry.media_type and entry.media_type not in MANIFEST_TYPES:
                raise StoreCorrupt(
                    f"index entry {entry.digest} is a {entry.media_type}, not an image manifest",
                    hint="ocitool's store holds single-platform images only",
                )
            manifest = manifests[entry.digest] = store.read_json(entry.digest, entry.size)
            shapes.manifest(manifest, store.blob_path(entry.digest))
        config_digest, config_size = manifest["config"]["digest"], manifest["config"]["size"]
        image = images.get(config_digest)
        if image is None:
            config = store.read_json(config_digest, config_size)
            shapes.config(config, store.blob_path(config_digest))
            image = images[config_digest] = StoredImage(
                config_digest, entry.digest, manifest, config
            )
        if entry.name and entry.name not in image.tags:
            image.tags.append(entry.name)
    return list(images.values())


def parents(images: Sequence[StoredImage]) -> dict[str, str]:
    """Image ID -> the image whose history is the longest proper prefix of its own."""
    by_key = {image.history_key(): image.id for image in images}
    found = {}
    for image in images:
        for steps in range(len(image.history) - 1, 0, -1):
            parent = by_key.get(image.history_key(steps))
            if parent and parent != image.id:
                found[image.id] = parent
                break
    return found


def to_model(image: StoredImage, parent: str | None) -> Image:
    config = image.config.get("config") or {}
    history = image.history
    return Image.model_construct(  # read and digest-checked from the store: trusted
        id=image.id,
        names=sorted(image.names),
        repo_digests=[],
        created=parse_time(image.config.get("created")),
        author=text_or_none(image.config.get("author")),
        comment=text_or_none(history[-1].get("comment")) if history else None,
        size=sum(int(layer.get("size") or 0) for layer in image.manifest.get("layers") or []),
        architecture=text_or_none(image.config.get("architecture")),
        os=text_or_none(image.config.get("os")),
        config=image_config(config),
        layers=[layer for layer in reversed(steps(image)) if not layer.empty],
        parent=parent,
        backend="oci",
    )


def steps(image: StoredImage, producers: dict[int, str] | None = None) -> list[Layer]:
    """The image's history steps tied to its layers (exact: OCI keeps empty_layer), newest
    first; each layer also carries its compressed blob digest and size."""
    blobs = image.manifest.get("layers") or []
    history = image.history or [{} for _ in image.diff_ids]  # no history: a step per layer
    joined = join_steps(
        [config_step(h, image_id=(producers or {}).get(index)) for index, h in enumerate(history)],
        image.diff_ids,
    )
    by_diff = {diff_id: blob for diff_id, blob in zip(image.diff_ids, blobs, strict=False)}
    return [
        layer.model_copy(update={"digest": blob.get("digest"), "size": int(blob.get("size") or 0)})
        if (blob := by_diff.get(layer.diff_id or ""))
        else layer
        for layer in joined
    ]


def producers(image: StoredImage, images: Iterable[StoredImage]) -> dict[int, str]:
    """Step index -> a stored image whose history ends exactly at that step."""
    others = ((other.id, other.history, other.diff_ids) for other in images)
    return shared_producers(image.id, image.history, image.diff_ids, others)
