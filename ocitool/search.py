"""`ocitool search`: a registry's catalog, or Docker Hub through the engine.

Docker Hub's search is not part of the registry API, so it goes through the
engine (`docker search`, `podman search`). Any v2 registry is searched here,
through `/v2/_catalog` and its tag lists; a registry that refuses to list its
catalog is said so plainly. Docker Hub has no catalog, so naming it
(`docker.io/TERM`, `--registry docker.io`) sends nothing and says where Hub
can be searched; only `--tags` of a named repository asks its API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool.errors import NotSupported, UsageError
from ocitool.models import SearchResult
from ocitool.references import ImageRef, looks_like_domain, validate_registry_host
from ocitool.registry import is_docker_hub

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
    if host is not None:
        validate_registry_host(host)
    elif "/" in term and looks_like_domain(first := term.split("/", 1)[0]):
        if term == f"{first}/":  # HOST/: the whole catalog
            host, text = validate_registry_host(first), ""
        else:  # HOST/REPO: the host is checked with the name
            host = ImageRef.parse(term).domain
            text = term.removeprefix(f"{host}/")
    if host is None:
        return engines.need(can.HUB_SEARCH).search_hub(term, limit)
    if is_docker_hub(host) and not (tags and text):
        raise _hub_has_no_catalog(engines, text)
    hub = transfers.registry(host)
    if is_docker_hub(host):
        repositories = [text]  # no catalog, but a named repository still lists its tags
    else:
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


def _hub_has_no_catalog(engines: Engines, text: str) -> NotSupported:
    """Docker Hub lists no catalog: say where it can be searched instead, sending nothing."""
    from ocitool.backends import registry

    term = text if text and text.isascii() and text.isprintable() and " " not in text else "TERM"
    if engines.has(can.HUB_SEARCH):
        instead = f"ocitool search {term}"
    else:
        able = [n for n in registry.NAMES if can.HUB_SEARCH.name in registry.declared(n)]
        instead = " or ".join(f"ocitool --backend {n} search {term}" for n in able)
    return NotSupported(
        "Docker Hub has no catalog to search: its registry (registry-1.docker.io) does not"
        " list /v2/_catalog",
        hint=f"search Hub through the engine: {instead}; or list a repository's tags:"
        f" ocitool search docker.io/REPO --tags",
    )


def repository_tags(repository: str, *, transfers: Transfers) -> SearchResult:
    """`ocitool tags HOST/REPO`: the repository's tags, sorted (registries list them in
    their storage's order)."""
    ref = ImageRef.parse(repository.removeprefix("docker://"))
    if ref.tag or ref.digest:
        raise UsageError(
            f"{repository!r} names a tag or digest", hint="give the repository only: HOST/REPO"
        )
    host = ref.domain or "docker.io"
    return SearchResult(
        name=f"{host}/{ref.path}",
        registry=host,
        tags=sorted(transfers.registry(host).tags(ref.path)),
    )
