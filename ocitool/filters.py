"""`--filter KEY=VALUE` for images, ps and prune, with docker's meanings.

docker's rules, kept here for every engine: a repeated `reference` (or `name`,
`status`, `ancestor`) matches when any value matches, a repeated `label` when
all do; `reference` is a path pattern (`*` stops at `/`) tried on `repo:tag`
and on `repo` alone; `before` and `since` compare creation times with another
image's; `until` takes a timestamp or a duration back from now. An unknown key
is a usage error naming the keys the command takes. Plain values, no pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ocitool.errors import UsageError
from ocitool.references import familiar

if TYPE_CHECKING:
    from ocitool.models import Container, Image

IMAGE_KEYS = ("before", "dangling", "label", "reference", "since", "until")
PRUNE_KEYS = ("label", "reference", "until")
PS_KEYS = ("ancestor", "exited", "id", "name", "status")
STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


@dataclass
class Filters:
    """Parsed filters: each key with its values, in the order given."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.values)

    def get(self, key: str) -> list[str]:
        return self.values.get(key, [])


def parse(given: Iterable[str], keys: Collection[str], command: str) -> Filters:
    """`KEY=VALUE` strings as Filters; anything else is one usage error (exit 2)."""
    found = Filters()
    for text in given:
        key, sep, value = text.partition("=")
        key = key.strip().lower()
        if not sep or key not in keys:
            raise UsageError(
                f"{command}: unknown filter {text!r}",
                hint=f"{command} filters on {', '.join(f'{k}=...' for k in sorted(keys))}",
            )
        found.values.setdefault(key, []).append(value)
    for key in ("dangling",):
        for value in found.get(key):
            if value.lower() not in ("true", "false", "1", "0"):
                raise UsageError(
                    f"{command}: {key}={value!r} is not a boolean", hint=f"use {key}=true or false"
                )
    for value in found.get("exited"):
        if not value.lstrip("-").isdigit():
            raise UsageError(
                f"{command}: exited={value!r} is not an exit code", hint="e.g. exited=0"
            )
    for value in found.get("status"):
        if value not in STATES:
            raise UsageError(
                f"{command}: status={value!r} is not a container state",
                hint=f"use one of {', '.join(STATES)}",
            )
    for value in found.get("reference"):
        _pattern(value)  # a bad pattern is refused before any engine is asked
    for value in found.get("until"):
        moment(value)
    return found


# -- patterns and times ---------------------------------------------------------------


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match, which docker's reference filter uses: `*` and `?` never match
    `/`, `[...]` is a character class (`[^...]` negated), `\\` escapes."""
    return _pattern(pattern).fullmatch(name) is not None


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise UsageError(
                    f"bad reference pattern {pattern!r}: unclosed [",
                    hint="close the character class, or escape it as \\[",
                )
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            chars = "".join("\\" + ch if ch in "\\]^" else ch for ch in body)
            out.append(f"[^/{chars}]" if negate else f"[{chars}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def name_matches(pattern: str, name: str) -> bool:
    """docker's FamiliarMatch: the pattern against `repo:tag`, then against `repo`."""
    for spelled in dict.fromkeys((familiar(name), name)):
        repo = spelled.rpartition(":")[0] if ":" in spelled.rpartition("/")[2] else spelled
        if path_match(pattern, spelled) or path_match(pattern, repo):
            return True
    return False


def duration(text: str) -> timedelta | None:
    """`90m`, `72h`, `7d`, `1h30m` (Go's units, and days and weeks); None if not one."""
    text = text.strip()
    if not text or _DURATION.sub("", text):
        return None
    seconds = 0.0
    for number, unit in _DURATION.findall(text):
        seconds += float(number) * (0.001 if unit == "ms" else _UNITS[unit])
    return timedelta(seconds=seconds)


def moment(text: str, now: datetime | None = None) -> datetime:
    """docker's `until`: a duration back from now, Unix seconds, or an RFC 3339 time
    or date (local time when it names no zone)."""
    now = now or datetime.now(UTC)
    span = duration(text)
    if span is not None:
        return now - span
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError):
        pass
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"until={text!r} is neither a duration nor a time",
            hint="e.g. until=72h, until=2026-11-30, until=2026-11-30T12:00:00Z",
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.astimezone().astimezone(UTC)


def truth(text: str) -> bool:
    return text.lower() in ("true", "1")


# -- images ------------------------------------------------------------------------------


def labels_match(wanted: Sequence[str], labels: Mapping[str, str]) -> bool:
    """Every `KEY` present, every `KEY=VALUE` equal."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def dangling(image: Image, parents: Collection[str]) -> bool:
    """Untagged and no image built on it (a hidden parent is not dangling, as in docker)."""
    return not image.names and image.id not in parents


@dataclass
class Shown:
    """An image a filter let through, and the names it is listed under."""

    image: Image
    names: list[str]


def filter_images(
    images: Sequence[Image],
    filters: Filters,
    *,
    anchors: Mapping[str, Image],
    now: datetime | None = None,
) -> list[Shown]:
    """The images (and, for `reference`, the names) every filter lets through;
    `anchors` are the images `before`/`since` name, already resolved."""
    parents = {i.parent for i in images if i.parent}
    references = filters.get("reference")
    cutoffs = [moment(v, now) for v in filters.get("until")]
    before = [anchors[v].created for v in filters.get("before")]
    since = [anchors[v].created for v in filters.get("since")]
    shown = []
    for image in images:
        names = list(image.names)
        if references:
            names = [n for n in names if any(name_matches(p, n) for p in references)]
            if not names:
                continue
        if any(truth(v) != dangling(image, parents) for v in filters.get("dangling")):
            continue
        if not labels_match(filters.get("label"), image.config.labels):
            continue
        created = image.created
        if cutoffs and (created is None or any(created >= c for c in cutoffs)):
            continue
        if before and (created is None or any(b is None or created >= b for b in before)):
            continue
        if since and (created is None or any(s is None or created <= s for s in since)):
            continue
        shown.append(Shown(image, names))
    return shown


# -- containers -----------------------------------------------------------------------


def filter_containers(
    containers: Sequence[Container],
    filters: Filters,
    *,
    ancestors: Mapping[str, Collection[str]],
    exit_codes: Mapping[str, int | None] | None = None,
) -> list[Container]:
    """The containers every key lets through (values of one key: any may match);
    `ancestors` maps each `ancestor=` value to the image IDs it and its descendants
    have; `exit_codes` maps container IDs to how their command ended."""
    kept = []
    for container in containers:
        if (states := filters.get("status")) and container.state not in states:
            continue
        if (names := filters.get("name")) and not any(_search(n, container.name) for n in names):
            continue
        if (ids := filters.get("id")) and not any(container.id.startswith(i) for i in ids):
            continue
        if (wanted := filters.get("ancestor")) and not any(
            container.image_id in ancestors.get(a, ()) for a in wanted
        ):
            continue
        if codes := filters.get("exited"):
            code = (exit_codes or {}).get(container.id)
            if container.state != "exited" or code is None or str(code) not in codes:
                continue
        kept.append(container)
    return kept


def _search(pattern: str, text: str) -> bool:
    """docker's name filter is a regular expression searched in the name."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return pattern in text


def descendants(roots: Iterable[str], images: Sequence[Image]) -> set[str]:
    """These image IDs and every image built on them (by the engines' parent records)."""
    children: dict[str, list[str]] = {}
    for image in images:
        if image.parent:
            children.setdefault(image.parent, []).append(image.id)
    found: set[str] = set()
    frontier = list(roots)
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.add(current)
            frontier.extend(children.get(current, []))
    return found
