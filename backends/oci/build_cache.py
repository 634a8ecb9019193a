"""The oci builder's cache: which image a step made from which parent.

The images themselves are the cache: each step's image stays in the store as
an untagged image under a hidden tag (docker keeps its intermediate images the
same way), a parent of the next, so `images -a` lists them, `rmi` and `prune`
remove them, and nothing else holds their blobs. This record only finds them
fast: key (the parent image ID, the step's history text, which carries the
expanded instruction, the build args in effect and a hash of what it copies)
-> the manifest digest of the step's image. An entry whose image is gone is
ignored, and dropped at the next write, so the record never keeps anything alive.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ocitool.backends.oci.store import Store

NAME = "build-cache.json"


def key(parent: str, created_by: str) -> str:
    return hashlib.sha256(f"{parent}\n{created_by}".encode()).hexdigest()


class Cache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.path: Path = store.path / NAME
        self._entries: dict[str, str] | None = None

    def entries(self) -> dict[str, str]:
        if self._entries is None:
            try:
                doc = json.loads(self.path.read_bytes())
                found = doc.get("steps") if isinstance(doc, dict) else None
                self._entries = {
                    str(k): str(v) for k, v in (found or {}).items() if isinstance(v, str)
                }
            except (OSError, ValueError):
                self._entries = {}  # no record yet, or a damaged one: build again
        return self._entries

    def find(self, step_key: str) -> str | None:
        return self.entries().get(step_key)

    def remember(self, step_key: str, manifest: str, live: set[str]) -> None:
        """Record a step's image; entries whose image is gone (not in `live`) go.
        Call with the store's exclusive lock held."""
        entries = {k: v for k, v in self.entries().items() if v in live}
        entries[step_key] = manifest
        self._entries = entries
        self.store.write_json(self.path, {"steps": entries})
