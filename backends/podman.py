"""The podman backend: drives the podman CLI (root or rootless).

Quirks handled here (ENGINES.md): IDs come without `sha256:`; `images` lists
an image once per tag with names in `Names`, so images are listed by ID and
read with one batched `image inspect`; local names carry `localhost/`, which
is dropped so a name reads the same as on docker; history keys mix case and
its comment is `FROM <base>`, while inspect keeps the exact empty-layer flags.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from typing import Any, Final

from backends._common import (
    as_digest,
    batches,
    image_from_inspect,
    json_documents,
    parse_int,
    parse_time,
    text_or_none,
    unique,
)
from backends._history import Step, join_steps
from ocitool.errors import BackendUnavailable, ContainerNotFound, EngineError, ImageNotFound
from ocitool.models import Container, EngineInfo, Image, Layer
from ocitool.runner import Completed, Runner

LOCAL_PREFIX = "localhost/"

_NOT_KNOWN = re.compile(r"(?:^|\s)(\S+): image not known", re.MULTILINE)
_NO_CONTAINER = re.compile(r"no such container:? (\S+)", re.IGNORECASE)
_STATES = {"created", "running", "paused", "restarting", "removing", "exited", "dead", "stopped"}


class PodmanBackend:
    name: Final = "podman"

    def __init__(self, runner: Runner, *, executable: str = "podman"):
        self.runner = runner
        self.executable = executable

    # -- reads ---------------------------------------------------------------

    def images(self, *, all: bool = False) -> list[Image]:
        argv = ["images", "--quiet", "--no-trunc", *(["--all"] if all else [])]
        ids = unique(self._ok(self._run(argv)).stdout.split())
        return self._inspect(ids, tolerate_missing=True)

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        return self._inspect(list(refs), tolerate_missing=False)

    def history(self, ref: str) -> list[Layer]:
        doc = self._inspect_docs([ref], tolerate_missing=False)[0]
        # By ID, so a tag moved meanwhile cannot mix two images' histories.
        result = self._run(["history", "--format", "json", "--", doc["Id"]])
        if not result.ok:
            self._raise(result, images=[ref])
        return join_history(json_documents(result.stdout), doc)

    def containers(self, *, all: bool = False) -> list[Container]:
        argv = ["ps", "--format", "json", *(["--all"] if all else [])]
        return [parse_container(d) for d in json_documents(self._ok(self._run(argv)).stdout)]

    def info(self) -> EngineInfo:
        path = shutil.which(self.executable)
        if path is None:
            return EngineInfo(
                backend="podman",
                found=False,
                reason=f"executable {self.executable!r} not found on PATH",
            )
        result = self._run(["info", "--format", "json"])
        if not result.ok:
            return EngineInfo(
                backend="podman",
                found=True,
                path=path,
                reason=f"podman info failed: {result.stderr.strip().splitlines()[-1:] or '?'}",
            )
        return parse_info(json_documents(result.stdout)[0], path=path)

    # -- plumbing ------------------------------------------------------------

    def _run(self, args: Sequence[str]) -> Completed:
        return self.runner.run([self.executable, *args])

    def _inspect(self, refs: list[str], *, tolerate_missing: bool) -> list[Image]:
        return [parse_image(d) for d in self._inspect_docs(refs, tolerate_missing=tolerate_missing)]

    def _inspect_docs(self, refs: list[str], *, tolerate_missing: bool) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for batch in batches(refs):
            result = self._run(["image", "inspect", "--", *batch])
            if not result.ok and not (tolerate_missing and _NOT_KNOWN.search(result.stderr)):
                self._raise(result, images=batch)
            docs.extend(json_documents(result.stdout))
        return docs

    def _ok(self, result: Completed) -> Completed:
        if not result.ok:
            self._raise(result)
        return result

    def _raise(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> None:
        """Map one failed podman call to the core error that describes it."""
        err = result.stderr
        missing = _NOT_KNOWN.findall(err)
        if missing:
            raise ImageNotFound(_as_given(missing, images), backend="podman")
        gone = _NO_CONTAINER.findall(err)
        if gone:
            raise ContainerNotFound(_as_given(gone, containers), backend="podman")
        if "cannot re-exec process" in err or "newuidmap" in err:
            raise BackendUnavailable(
                "podman",
                "rootless podman cannot start its user namespace",
                hint="install uidmap and add this user to /etc/subuid and /etc/subgid",
            )
        raise EngineError(result.argv, result.returncode, err)


def _as_given(engine_names: list[str], asked: Sequence[str]) -> list[str]:
    names = []
    for reported in engine_names:
        name = reported.removeprefix("inspecting object: ")
        match = [a for a in asked if a in (name, local_name(name))]
        names.append(match[0] if match else name)
    return unique(names)


def local_name(name: str) -> str:
    """podman files unqualified names under `localhost/`; show them as docker does."""
    return name.removeprefix(LOCAL_PREFIX)


# -- parsers (pure: fed recorded output in tests) -------------------------------


def parse_image(doc: Mapping[str, Any]) -> Image:
    """One element of `podman image inspect`."""
    diff_ids = (doc.get("RootFS") or {}).get("Layers") or []
    return image_from_inspect(
        doc, backend="podman", layers=image_layers(doc, diff_ids), local_name=local_name
    )


def image_layers(doc: Mapping[str, Any], diff_ids: Sequence[str]) -> list[Layer]:
    """Bottom-first layers, with what the config history says about each."""
    history = doc.get("History") or []
    if sum(not h.get("empty_layer") for h in history) != len(diff_ids):
        return [Layer(diff_id=d) for d in diff_ids]  # history does not describe the layers
    return [layer for layer in reversed(_steps_as_layers(doc, diff_ids)) if not layer.empty]


def _steps_as_layers(
    doc: Mapping[str, Any], diff_ids: Sequence[str], rows: Sequence[Mapping[str, Any]] = ()
) -> list[Layer]:
    """inspect's History (exact empty flags) joined with `podman history` rows if given."""
    history = doc.get("History") or []
    by_step = list(reversed(rows)) if len(rows) == len(history) else [{}] * len(history)
    steps = [
        Step(
            size=parse_int(row.get("size")),
            created=parse_time(h.get("created")),
            created_by=text_or_none(h.get("created_by")),
            author=text_or_none(h.get("author")),
            comment=text_or_none(h.get("comment")),
            image_id=as_digest(row.get("id")),
            empty=bool(h.get("empty_layer")),
        )
        for h, row in zip(history, by_step, strict=True)
    ]
    return join_steps(steps, diff_ids)


def join_history(rows: Sequence[Mapping[str, Any]], doc: Mapping[str, Any]) -> list[Layer]:
    """`podman history` rows (newest first) joined with the image's inspect document."""
    diff_ids = (doc.get("RootFS") or {}).get("Layers") or []
    if doc.get("History"):
        return _steps_as_layers(doc, diff_ids, rows)
    # No config history (rare: hand-made images): fall back to the rows alone.
    steps = [
        Step(
            size=parse_int(r.get("size")),
            created=parse_time(r.get("created")),
            created_by=text_or_none(r.get("CreatedBy")),
            comment=text_or_none(r.get("comment")),
            image_id=as_digest(r.get("id")),
        )
        for r in reversed(rows)
    ]
    return join_steps(steps, diff_ids)


def parse_container(doc: Mapping[str, Any]) -> Container:
    """One element of `podman ps --format json`."""
    names = doc.get("Names") or []
    state = str(doc.get("State") or "unknown").lower()
    state = "created" if state in {"configured", "initialized"} else state
    return Container(
        id=doc["Id"],
        name=names[0] if names else doc["Id"][:12],
        image=local_name(str(doc.get("Image") or "")),
        image_id=as_digest(doc.get("ImageID")),
        state=state if state in _STATES else "unknown",
        created=parse_time(doc.get("Created")),
    )


def parse_info(doc: Mapping[str, Any], *, path: str | None) -> EngineInfo:
    """`podman info --format json`."""
    host = doc.get("host") or {}
    store = doc.get("store") or {}
    version = doc.get("version") or {}
    return EngineInfo(
        backend="podman",
        found=True,
        path=path,
        version=text_or_none(version.get("Version")),
        client_version=text_or_none(version.get("Version")),
        api_version=text_or_none(version.get("APIVersion")),
        reachable=True,
        rootless=bool((host.get("security") or {}).get("rootless")),
        storage_driver=text_or_none(store.get("graphDriverName")),
        storage_root=text_or_none(store.get("graphRoot")),
    )
