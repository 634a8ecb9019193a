"""`ocitool search`: a registry's catalog, or Docker Hub through the engine.

Docker Hub's search is not part of the registry API, so it goes through the
engine (`docker search`, `podman search`). Any v2 registry is searched here,
through `/v2/_catalog` and its tag lists; a registry that refuses to list its
catalog is said so plainly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool.errors import NotSupported, UsageError
from ocitool.models import SearchResult
from ocitool.references import ImageRef

if TYPE_CHECKING:
    from ocitool.engines import Engines
    from ocitool.transfer import Transfers


def search(
    engines: Engines,
    term: str,
    *,
    registry: str | None,
    limit: int,
    tags: bool,
    transfers: Transfers,
) -> list[SearchResult]:
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    host, text = registry, term
    if host is None and "/" in term:
        domain = ImageRef.parse(term).domain if _is_reference(term) else None
        if domain:
            host, text = domain, term.removeprefix(f"{domain}/")
    if host is None:
        return engines.need(can.HUB_SEARCH).search_hub(term, limit)
    hub = transfers.registry(host)
    try:
        repositories = [r for r in hub.catalog(limit=10_000) if text in r][:limit]
    except NotSupported:
        if not tags or not text:
            raise
        repositories = [text]  # no catalog, but a named repository can still list its tags
    return [
        SearchResult(name=f"{host}/{repo}", registry=host, tags=hub.tags(repo) if tags else None)
        for repo in repositories
    ]


def _is_reference(text: str) -> bool:
    try:
        ImageRef.parse(text)
    except UsageError:
        return False
    return True
