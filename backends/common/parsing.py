"""Parsing helpers shared by the engine backends.

The engines disagree on ID prefixes, time formats, JSON framing and size
types (docs/engines.md: Listing, Inspect, History); these helpers turn each
variant into the core models' canonical form, so the backends themselves stay
declarative. The models are imported where they are built: the list parsers
(backends._listing) use these helpers without loading pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ocitool.errors import UsageError

if TYPE_CHECKING:
    from ocitool.models import Image, ImageConfig, Layer
    from ocitool.usage import Lineage

HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
MISSING = "<missing>"

# Go's zero time, which engines print for "never".
_GO_ZERO_YEAR = 1
# `2026-11-28 17:53:38 +0000 UTC` (Go's time.Time.String, docker `image ls`/`ps`).
_GO_STRING_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})(?: [A-Za-z0-9+-]+)?$"
)
_FRACTION = re.compile(r"\.(\d+)")


def as_digest(value: object) -> str | None:
    """`sha256:<64hex>` from a prefixed or bare 64-hex ID; None for anything else
    (empty, `<missing>`, short, or not text at all)."""
    if not isinstance(value, str) or not value or value == MISSING:
        return None
    bare = value.removeprefix("sha256:").lower()
    return f"sha256:{bare}" if HEX64.match(bare) else None


def parse_time(value: str | int | float | None) -> datetime | None:
    """Any engine timestamp as an aware UTC datetime; None for empty or Go's zero time.

    Handles RFC 3339 with nanoseconds (inspect), RFC 3339 at seconds (history),
    Go's `2006-01-02 15:04:05 -0700 MST` (`image ls`, `ps`), and Unix seconds.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    text = value.strip()
    match = _GO_STRING_TIME.match(text)
    if match:
        day, clock, frac, offset = match.groups()
        text = f"{day}T{clock}{frac or ''}{offset[:3]}:{offset[3:]}"
    # Python parses at most microseconds; engines print nanoseconds.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.year <= _GO_ZERO_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_int(value: str | int | float | None) -> int | None:
    """Sizes arrive as ints (podman) or decimal strings (docker with -H=false)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    text = value.strip()
    return int(text) if text.isdigit() else None


def with_tag(name: str) -> str:
    """`name` with `:latest` when it has neither tag nor digest, as engines resolve it."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return f"{name}:latest"


def text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def json_documents(text: str) -> list[dict[str, Any]]:
    """Objects from one JSON array, one object, or NDJSON (one object per line).

    docker prints NDJSON for `--format '{{json .}}'` lists and an array for
    inspect; podman prints one array, empty output for no results.
    """
    text = text.strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if doc is None:
        return []
    if isinstance(doc, list):
        return [d for d in doc if isinstance(d, dict)]
    return [doc] if isinstance(doc, dict) else []


def unique(items: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication (engines list an image once per tag)."""
    return list(dict.fromkeys(items))


BATCH_CHARS = 100_000  # far below Linux's ARG_MAX (2 MiB): ~1,300 image IDs per call


def batches(args: Sequence[str], max_chars: int | None = None) -> Iterator[list[str]]:
    """Split arguments so one argv stays far below ARG_MAX; usually a single batch."""
    max_chars = max_chars or BATCH_CHARS
    batch: list[str] = []
    size = 0
    for arg in args:
        if batch and size + len(arg) + 1 > max_chars:
            yield batch
            batch, size = [], 0
        batch.append(arg)
        size += len(arg) + 1
    if batch:
        yield batch


def string_list(value: object) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    return None


def string_dict(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def image_config(config: Mapping[str, Any]) -> ImageConfig:
    """The runtime config as docker's inspect and the OCI config both spell it."""
    from ocitool.models import ImageConfig

    return ImageConfig.model_construct(
        # An empty list and null both mean "none"; engines print either for the same config.
        cmd=string_list(config.get("Cmd")) or None,
        entrypoint=string_list(config.get("Entrypoint")) or None,
        env=string_list(config.get("Env")) or [],
        labels=string_dict(config.get("Labels")),
        working_dir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
    )


def image_from_inspect(
    doc: Mapping[str, Any],
    *,
    backend: Literal["docker", "podman"],
    layers: list[Layer] | None = None,
    local_name: Callable[[str], str] = str,
) -> Image:
    """One element of `image inspect`; podman's output mimics docker's field names.

    `local_name` maps the engine's spelling of a local name to the shared one;
    `layers` replaces the bare diff-ID list when the engine says more.
    """
    from ocitool.models import Image, Layer

    config = doc.get("Config") or {}
    diff_ids = [digest(d, "layer") for d in (doc.get("RootFS") or {}).get("Layers") or []]
    # Built without validation: every value below is parsed and normalized here.
    return Image.model_construct(
        id=digest(doc["Id"], "image"),
        names=sorted({local_name(t) for t in doc.get("RepoTags") or [] if "<none>" not in t}),
        repo_digests=sorted(
            {local_name(d) for d in doc.get("RepoDigests") or [] if "<none>" not in d}
        ),
        created=parse_time(doc.get("Created")),
        author=text_or_none(doc.get("Author")),
        comment=text_or_none(doc.get("Comment")),
        size=parse_int(doc.get("Size")) or 0,
        architecture=text_or_none(doc.get("Architecture")),
        os=text_or_none(doc.get("Os")),
        config=image_config(config),
        layers=[Layer.model_construct(diff_id=d) for d in diff_ids] if layers is None else layers,
        parent=as_digest(doc.get("Parent")),
        backend=backend,
    )


def digest(value: object, what: str) -> str:
    """A sha256 digest in canonical form, or the ValueError that says the output is odd
    (models built from parsed output are not validated again: ocitool.models)."""
    found = as_digest(value)
    if found is None:
        raise ValueError(f"not a {what} digest: {value!r}")
    return found


def container_id(value: object) -> str:
    """A full container ID (64 hex), or the ValueError that says the output is odd."""
    if not (isinstance(value, str) and _CONTAINER_ID.fullmatch(value)):
        raise ValueError(f"not a container ID: {value!r}")
    return value


def storage_root(docs: Iterable[Mapping[str, Any]]) -> tuple[str, str] | None:
    """(storage root, driver) from inspect's GraphDriver paths, so the engine's own layer
    records can be found without asking the engine again: `<root>/<driver>/<id>/diff`."""
    for doc in docs:
        graph = doc.get("GraphDriver") or {}
        driver = graph.get("Name")
        upper = (graph.get("Data") or {}).get("UpperDir") or ""
        marker = f"/{driver}/"
        if driver and marker in upper:
            return upper.split(marker, 1)[0], str(driver)
    return None


def tag_destination(name: str, backend: str) -> str:
    """A local name to write an image under: docker's daemon and the oci store name images
    by tag only, so a digest reference is refused before skopeo moves any bytes."""
    if "@" in name:
        repository = name.split("@", 1)[0]
        raise UsageError(
            f"the {backend} backend names local images by tag, not by digest ({name})",
            hint=f"pull by tag, or give it one: ocitool copy docker://{name} "
            f"{backend}:{repository}:TAG",
        )
    return name


def lineage_of(history: object, layers: int) -> Lineage:
    """A config's history as a Lineage (ocitool.usage): its layer-making steps, or
    nothing where the history does not describe all `layers` layers (or is no list)."""
    if not (isinstance(history, list) and all(isinstance(h, Mapping) for h in history)):
        return ()
    made = [h for h in history if not h.get("empty_layer")]
    if len(made) != layers:
        return ()
    try:
        return tuple(
            (
                parse_time(h.get("created")),
                text_or_none(h.get("created_by")),
                text_or_none(h.get("comment")),
            )
            for h in made
        )
    except (ValueError, TypeError, OverflowError):  # a time that is not one
        return ()
