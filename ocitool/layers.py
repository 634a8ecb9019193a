"""Layer identity across images, by the OCI image-spec's ChainID.

Two images share a stored layer only when they share the whole stack below
it, so equal diff IDs are not enough: ChainID(n) = sha256(ChainID(n-1) + " " +
DiffID(n)) names a layer together with everything under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The ChainID of each layer of an image, bottom first."""
    import hashlib  # here: listing and inspecting never compute a ChainID

    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            digest = hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest()
            chains.append(f"sha256:{digest}")
    return chains


def layer_index(stacks: Iterable[Sequence[str]]) -> dict[str, str]:
    """ChainID -> DiffID for every layer of the given diff-ID stacks."""
    index: dict[str, str] = {}
    for diff_ids in stacks:
        index.update(zip(chain_ids(diff_ids), diff_ids, strict=True))
    return index
