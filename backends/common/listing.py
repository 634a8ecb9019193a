"""The engines' one list call, parsed into ImageSummary rows (no inspect, no pydantic).

`ocitool images` shows only what this call prints, so its table and `-q` need one
engine call. `Client.images()` still inspects, for the full models.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ocitool.backends.common.parsing import as_digest, json_documents, parse_int, parse_time
from ocitool.listing import ImageSummary

LOCAL_PREFIX = "localhost/"
NONE = "<none>"
# docker prints sizes in decimal units (go-units' HumanSize): `1.982MB`, `4B`, `12.3kB`.
_HUMAN_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kMGTPEZY]?B)$")
_UNITS = {unit: 1000**power for power, unit in enumerate(("B", "kB", "MB", "GB", "TB", "PB"))}


def list_argv(*, all: bool = False) -> list[str]:
    """The list call docker and podman share: docker prints NDJSON, podman one array."""
    return ["image", "ls", "--no-trunc", "--format", "{{json .}}", *(["--all"] if all else [])]


def local_name(name: str) -> str:
    """A podman name as docker shows it: without `localhost/` for local images, or
    `docker.io/library/` for Hub ones (podman finds both by the short name too)."""
    for prefix in (LOCAL_PREFIX, "docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return name


_HUB = "docker.io/"


def qualified(name: str) -> str:
    """A name as podman stores it: one with no registry is local (`localhost/`),
    and a one-part Hub name gains `library/`."""
    first, slash, rest = name.partition("/")
    if not slash or not _is_domain(first):
        return LOCAL_PREFIX + name
    if name.startswith(_HUB) and "/" not in rest:
        return f"{_HUB}library/{rest}"
    return name


def _is_domain(component: str) -> bool:
    return any(c in component for c in ".:[") or component == "localhost"


def other_spellings(name: str) -> list[str]:
    """The names podman would also show as `local_name(name)`: the Hub's for a local
    one, the local one for a Hub name."""
    short = local_name(name)
    spellings = {qualified(short), f"{_HUB}{short}", qualified(f"{_HUB}{short}")}
    return sorted(spellings - {name})


class Names:
    """How podman's names are shown: short, as docker shows them, except where two
    stored names share one short form (`localhost/X:1` and `docker.io/X:1`): `X:1`
    would then mean either, so both stay qualified (podman itself reads it as the
    local one). A name alone in its short form stays short, whatever its registry."""

    def __init__(self, stored: Iterable[str]):
        counts = Counter(local_name(n) for n in set(stored))
        self.ambiguous = frozenset(short for short, count in counts.items() if count > 1)

    def __call__(self, name: str) -> str:
        short = local_name(name)
        return qualified(name) if short in self.ambiguous else short


def docker_summaries(stdout: str) -> list[ImageSummary]:
    """`docker image ls --no-trunc --format '{{json .}}'`: one row per tag.

    See docs/engines.md, Listing."""
    rows: dict[str, list[dict[str, str]]] = {}
    for row in json_documents(stdout):
        image_id = as_digest(row.get("ID"))
        if image_id is None:
            raise ValueError(f"no image ID in docker's list row {row!r}")
        rows.setdefault(image_id, []).append(row)
    summaries = []
    for image_id, group in rows.items():
        first = group[0]
        summaries.append(
            ImageSummary(
                id=image_id,
                names=sorted({f"{r['Repository']}:{r['Tag']}" for r in group if _named(r, "Tag")}),
                repo_digests=sorted(
                    {f"{r['Repository']}@{r['Digest']}" for r in group if _named(r, "Digest")}
                ),
                created=parse_time(first.get("CreatedAt")),
                size=human_bytes(first.get("VirtualSize") or first.get("Size")),
            )
        )
    return summaries


def _named(row: dict[str, str], key: str) -> bool:
    return row.get("Repository", NONE) not in ("", NONE) and row.get(key, NONE) not in ("", NONE)


def podman_summaries(stdout: str) -> list[ImageSummary]:
    """`podman image ls --format json`: one array, an image once per tag.

    See docs/engines.md, Listing."""
    seen: dict[str, ImageSummary] = {}
    docs = json_documents(stdout)
    shown = Names(
        n for doc in docs for n in (*_strings(doc.get("Names")), *_strings(doc.get("RepoDigests")))
    )
    for image_id, doc in podman_entries(docs):
        seen[image_id] = ImageSummary(
            id=image_id,
            # An image pulled by digest is listed under `repo@digest`: a digest, not a name.
            names=sorted({shown(n) for n in _strings(doc.get("Names")) if "@" not in n}),
            repo_digests=sorted({shown(d) for d in _strings(doc.get("RepoDigests"))}),
            created=parse_time(doc.get("Created")),
            size=parse_int(doc.get("Size")),
        )
    return list(seen.values())


def podman_entries(docs: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(ID, entry) once per ID: `podman images` repeats an entry for each of its names."""
    seen: set[str] = set()
    for doc in docs:
        image_id = as_digest(doc.get("Id"))
        if image_id is None:
            raise ValueError(f"no image ID in podman's list entry {doc.get('Id')!r}")
        if image_id not in seen:
            seen.add(image_id)
            yield image_id, doc


def summaries(engine: str, stdout: str) -> list[ImageSummary]:
    """The list call's output, parsed the way `engine` (docker or podman) prints it."""
    return {"docker": docker_summaries, "podman": podman_summaries}[engine](stdout)


def _strings(value: object) -> Sequence[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def human_bytes(text: str | None) -> int | None:
    """`1.982MB` -> 1982000: what docker's list call says, as bytes (decimal units)."""
    match = _HUMAN_SIZE.match((text or "").strip())
    if match is None:
        return None
    number, unit = match.groups()
    return round(float(number) * _UNITS.get(unit, 0)) if unit in _UNITS else None
