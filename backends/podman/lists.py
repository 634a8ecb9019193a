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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ocitool.backends.common.listing import LOCAL_PREFIX, local_name
from ocitool.backends.common.parsing import HEX64, as_digest, json_documents, with_tag
from ocitool.backends.podman.store import list_document
from ocitool.backends.skopeo import options
from ocitool.errors import ImageNotFound
from ocitool.references import ImageRef

if TYPE_CHECKING:
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
        return "", stored
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


def every_list(cli: Cli) -> dict[str, str]:
    """name -> list ID for every manifest list (the ID also under itself)."""
    argv = ["images", "--format", "json", "--filter", "manifest=true"]
    found: dict[str, str] = {}
    for doc in json_documents(cli.ok(cli.run(argv)).stdout):
        list_id = as_digest(doc.get("Id"))
        if list_id:
            found[list_id] = list_id
            found.update({local_name(str(n)): list_id for n in doc.get("Names") or []})
    return found


def _list_id(cli: Cli, name: str) -> str:
    return str(_listed(cli, name).get("Id") or "")


def _listed(cli: Cli, name: str) -> dict[str, Any]:
    """The list's row in `podman images` (its inspect would answer with an image of it)."""
    stored = stored_name(name)
    argv = ["images", "--format", "json", "--filter", "manifest=true"]
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
