"""podman's manifest lists (`podman manifest`): the manifest-lists capability's calls.

Quirks handled here: `podman manifest create/add` read a bare image name as a
registry's (docker://), so local images are named `containers-storage:` with
the name podman stores (localhost/ for a name with no registry);
`manifest inspect` prints the list re-indented and typed as a docker list even
where podman holds an OCI index, and the `Digest` `podman images` shows for a
list is the one it had when created, so the list is read from podman's storage;
and `image inspect` of a list answers with one of its images, so a list is
looked up with `images --filter manifest=true`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ocitool.backends.common.listing import LOCAL_PREFIX, local_name, podman_entries
from ocitool.backends.common.parsing import (
    HEX64,
    as_digest,
    json_documents,
    parse_int,
    parse_time,
    with_tag,
)
from ocitool.backends.podman.store import StoredList, list_document
from ocitool.backends.skopeo import options
from ocitool.errors import ImageNotFound
from ocitool.references import ImageRef

if TYPE_CHECKING:
    from ocitool.models import Image, Platform
    from ocitool.movers import Endpoint
    from ocitool.runner import Completed


class Cli(Protocol):
    """What these calls need of PodmanBackend (backends/common/cli.py's EngineCLI)."""

    def run(self, args: Sequence[str], *, models: bool = True) -> Completed: ...

    def ok(self, result: Completed, *, images: Sequence[str] = ()) -> Completed: ...


def create(cli: Cli, name: str, images: Sequence[str]) -> None:
    cli.ok(cli.run(["manifest", "create", "--", stored_name(name)]), images=[name])
    if images:
        add(cli, name, images)


def add(cli: Cli, name: str, images: Sequence[str]) -> None:
    list_id = _list_id(cli, name)
    for image in images:  # podman adds one image per call
        local = f"containers-storage:{stored_name(image)}"
        cli.ok(cli.run(["manifest", "add", "--", list_id, local]), images=[image])


def document(cli: Cli, name: str) -> tuple[str, bytes]:
    """The list as podman stores it, read from its storage; where that cannot be read,
    as `manifest inspect` prints it (re-indented, and typed as a docker list whatever
    it holds), compacted."""
    list_id = _list_id(cli, name)
    stored = list_document(list_id)
    if stored is not None:
        return "", _listed_document(stored)
    shown = cli.ok(cli.run(["manifest", "inspect", "--", list_id]), images=[name]).stdout
    content = json.loads(shown)
    if isinstance(content, dict) and content.get("manifests") is None:
        content["manifests"] = []  # podman prints an empty list's as null
    return "", json.dumps(content, separators=(",", ":")).encode()


def push(cli: Cli, name: str, destination: Endpoint, digestfile: Path) -> None:
    argv = ["manifest", "push", "--all", f"--digestfile={digestfile}"]
    argv += [o.replace("--dest-", "--", 1) for o in options(destination, "dest")]
    cli.ok(cli.run([*argv, "--", _list_id(cli, name), destination.ref]), images=[name])


def remove(cli: Cli, ids: Sequence[str]) -> None:
    """The lists by ID (every_list found them), in one call."""
    bare = [i.removeprefix("sha256:") for i in ids]
    cli.ok(cli.run(["manifest", "rm", *bare]), images=list(ids))


LIST_ACCOUNTING = "bytes of the list's own documents, as podman's storage records them"
LISTS_ARGV = ("images", "--format", "json", "--filter", "manifest=true")


def every_list(cli: Cli) -> dict[str, str]:
    """name -> list ID for every manifest list (the ID also under itself)."""
    found: dict[str, str] = {}
    for doc in json_documents(cli.ok(cli.run(LISTS_ARGV)).stdout):
        list_id = as_digest(doc.get("Id"))
        if list_id:
            found[list_id] = list_id
            found.update({local_name(str(n)): list_id for n in doc.get("Names") or []})
    return found


def listed(docs: Sequence[Mapping[str, Any]], *, readable: bool) -> list[StoredList]:
    """The lists in `podman images --filter manifest=true`'s output (LISTS_ARGV). Its
    `Digest` is the one a list had when created, so each document is read from podman's
    storage where it is `readable` here (no engine call), else left unknown. A list
    with two names is listed twice."""
    return [
        StoredList(
            id=list_id,
            names=[str(n) for n in doc.get("Names") or []],
            created=parse_time(doc.get("Created")),
            document=list_document(list_id.removeprefix("sha256:")) if readable else None,
            size=parse_int(doc.get("Size")) or 0,
        )
        for list_id, doc in podman_entries(docs)
    ]


def list_model(stored: StoredList, shown: Callable[[str], str]) -> Image:
    """A list as `images` and `inspect` show it, as the oci store shows an index: its
    names, its platforms and media type, its digest in `repo_digests`. It holds no
    layer (its images are listed as themselves, and each is removed on its own); its
    size is podman's, its documents' bytes. Where its document cannot be read here
    (a podman service), its platforms are not known: an empty list, no media type."""
    from ocitool import manifests
    from ocitool.models import Image

    names = sorted({shown(n) for n in stored.names if "@" not in n})
    platforms: list[Platform] = []
    media_type, digests = None, []
    if stored.document is not None:
        found = manifests.document(_listed_document(stored.document), None, f"podman:{stored.id}")
        if found.is_index:
            platforms, media_type = manifests.platforms(found), found.media_type
        repos = sorted({n.rpartition(":")[0] for n in names})
        digests = [f"{repo}@{found.digest}" for repo in repos]
    return Image(
        id=stored.id,
        names=names,
        repo_digests=digests,
        created=stored.created,
        size=stored.size,
        backend="podman",
        accounting=LIST_ACCOUNTING,
        platforms=platforms,
        media_type=media_type,
    )


def _listed_document(raw: bytes) -> bytes:
    """podman stores an empty list's `manifests` as null; read as an empty index (the
    bytes, and so the digest, are kept where there is nothing to mend)."""
    if b'"manifests":null' not in raw:
        return raw
    content = json.loads(raw)
    if isinstance(content, dict) and content.get("manifests") is None:
        content["manifests"] = []
        return json.dumps(content, separators=(",", ":")).encode()
    return raw


def _list_id(cli: Cli, name: str) -> str:
    return str(_listed(cli, name).get("Id") or "")


def _listed(cli: Cli, name: str) -> dict[str, Any]:
    """The list's row in `podman images` (its inspect would answer with an image of it)."""
    stored = stored_name(name)
    argv = list(LISTS_ARGV)
    if not HEX64.match(stored):
        argv += ["--filter", f"reference={stored}"]
    for doc in json_documents(cli.ok(cli.run(argv)).stdout):
        if stored in (doc.get("Names") or []) or str(doc.get("Id")).startswith(stored):
            return doc
    raise ImageNotFound(
        [name],
        backend="podman",
        hint="no manifest list has that name; make one with 'ocitool manifest create NAME IMAGE'",
    )


def stored_name(name: str) -> str:
    """The name podman stores: localhost/ before a name with no registry; an ID bare."""
    bare = name.removeprefix("sha256:")
    if HEX64.match(bare):
        return bare
    ref = ImageRef.parse(with_tag(name))
    return str(ref) if ref.domain else f"{LOCAL_PREFIX}{ref}"
