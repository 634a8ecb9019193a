"""The store's images as models, straight from index.json, manifests and configs.

An image is a config (its ID is the config's digest) reached from one or more
index entries; each entry's ref.name is one of its names, and an entry with
no name is an untagged image. The OCI config has no image-level comment, so
an image's comment is its newest history step's (where umoci records the
commit message). Sizes are the compressed blob sizes on disk. An entry may
also be an image index (`copy --all` puts one there): its images are read as
any other, and it is listed once, as itself (index_model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocitool.backends.common.history import config_step, history_key, join_steps
from ocitool.backends.common.history import producers as shared_producers
from ocitool.backends.common.parsing import image_config, parse_time, text_or_none
from ocitool.backends.oci import shapes
from ocitool.backends.oci.store import INDEX_TYPES, MANIFEST_TYPES, Store, is_scratch
from ocitool.errors import StoreCorrupt
from ocitool.models import Image, ImageConfig, Layer, Platform

HIDDEN_TAG = "ocitool-id-"  # + the image ID's first 12 hex digits


@dataclass
class StoredImage:
    """What the store holds for one image ID, before it becomes a model."""

    id: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    tags: list[str] = field(default_factory=list)  # every name in index.json, hidden ones too
    index_names: list[str] = field(default_factory=list)  # an index's, when picked through it

    @property
    def names(self) -> list[str]:
        """The names a user gave; ocitool's own hidden tags (umoci needs one) are not shown."""
        return [tag for tag in [*self.tags, *self.index_names] if not tag.startswith(HIDDEN_TAG)]

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.config.get("history") or [])

    def history_key(self, steps: int | None = None) -> tuple[object, ...]:
        """Identity of the first `steps` history steps and the layers they made."""
        return history_key(self.history if steps is None else self.history[:steps], self.diff_ids)


@dataclass
class StoredIndex:
    """An image index (OCI index or docker manifest list) index.json names, and the
    images it names, each read as a StoredImage (they carry none of its names)."""

    digest: str
    size: int
    media_type: str
    platforms: list[Platform]
    images: dict[str, StoredImage]  # platform manifest digest -> its image
    tags: list[str] = field(default_factory=list)

    def pick(self, platform: str | None) -> StoredImage:
        """The image for `platform` (default: this host's); none is one error naming
        what the index holds."""
        from ocitool.manifests import Document, pick, wanted

        name = self.tags[0] if self.tags else self.digest
        document = Document(b"", self.digest, self.media_type, {"manifests": self._entries()})
        return self.images[pick(document, wanted(platform), name).digest]

    def _entries(self) -> list[dict[str, Any]]:
        return [
            {
                "digest": p.digest,
                "size": p.size,
                "mediaType": p.media_type,
                "platform": {"os": p.os, "architecture": p.architecture, "variant": p.variant},
            }
            for p in self.platforms
            if p.digest in self.images
        ]


def read_store(store: Store) -> list[StoredImage]:
    """Every image in the store, each manifest and config read once and verified."""
    return read_layout(store)[0]


def read_layout(store: Store) -> tuple[list[StoredImage], list[StoredIndex]]:
    """Every image and every index in the store, each document read once and verified;
    an index's images are among the images, named only if index.json names them too."""
    images: dict[str, StoredImage] = {}
    manifests: dict[str, dict[str, Any]] = {}
    indexes: dict[str, StoredIndex] = {}

    def image_of(digest: str, size: int) -> StoredImage:
        manifest = manifests.get(digest)
        if manifest is None:
            manifest = manifests[digest] = store.read_json(digest, size)
            shapes.manifest(manifest, store.blob_path(digest))
        config_digest, config_size = manifest["config"]["digest"], manifest["config"]["size"]
        image = images.get(config_digest)
        if image is None:
            config = store.read_json(config_digest, config_size)
            shapes.config(config, store.blob_path(config_digest))
            image = images[config_digest] = StoredImage(config_digest, digest, manifest, config)
        return image

    for entry in store.index():
        if is_scratch(entry.name):
            continue  # an image being built, or a killed writer's: never the user's
        if entry.media_type in INDEX_TYPES:
            index = indexes.get(entry.digest)
            if index is None:
                index = indexes[entry.digest] = _index(store, entry.digest, entry.size, image_of)
            if entry.name and entry.name not in index.tags:
                index.tags.append(entry.name)
            continue
        if entry.media_type and entry.media_type not in MANIFEST_TYPES:
            raise StoreCorrupt(
                f"index entry {entry.digest} is a {entry.media_type}, not an image manifest",
                hint="ocitool's store holds images and image indexes only",
            )
        image = image_of(entry.digest, entry.size)
        if entry.name and entry.name not in image.tags:
            image.tags.append(entry.name)
    return list(images.values()), list(indexes.values())


def _index(
    store: Store, digest: str, size: int, image_of: Callable[[str, int], StoredImage]
) -> StoredIndex:
    """An index blob and the images it names (an index inside it is not read: one level)."""
    from ocitool.manifests import IMAGE_TYPES, document, platforms

    doc = document(store.read_blob(digest, size), None, str(store.blob_path(digest)))
    if not doc.is_index:
        shapes.damaged(store.blob_path(digest), "is named as an index but is not one")
    found = platforms(doc)
    held = {p.digest: image_of(p.digest, p.size) for p in found if p.media_type in IMAGE_TYPES}
    return StoredIndex(digest, size, doc.media_type, found, held)


def index_model(index: StoredIndex, images: Sequence[Image]) -> Image:
    """An index as `images` lists it, as podman and docker list a manifest list: one entry,
    its ID the index digest, its names the index's; its layers those of all its images,
    each once, so its size (and du) counts a layer the platforms share once."""
    by_id = {image.id: image for image in images}
    layers: dict[str, Layer] = {}
    created = []
    for stored in index.images.values():
        model = by_id.get(stored.id)
        if model is None:
            continue
        created.append(model.created)
        for layer in model.layers:
            layers.setdefault(layer.diff_id or layer.digest or str(len(layers)), layer)
    return Image.model_construct(
        id=index.digest,
        names=sorted(index.tags),
        repo_digests=[],
        created=max((c for c in created if c is not None), default=None),
        author=None,
        comment=None,
        size=sum(layer.size or 0 for layer in layers.values()),
        architecture=None,
        os=None,
        config=ImageConfig(),
        layers=list(layers.values()),
        parent=None,
        backend="oci",
        accounting=None,
        platforms=index.platforms,
        media_type=index.media_type,
    )


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
