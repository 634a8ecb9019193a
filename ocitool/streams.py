"""Read-only stream wrappers that count and hash what passes through them.

Layer tars and store blobs are read once, as they stream; their length and
digest are taken on the way instead of in a second pass.
"""

from __future__ import annotations

import hashlib
from typing import IO


class Counted:
    """A read-only stream that counts what passes through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.length = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.length += len(data)
        return data

    def drain(self) -> None:
        """Read what the consumer left (a tar's padding, a blob's tail)."""
        while self.read(1 << 20):
            pass


class Hashing(Counted):
    """A counted stream that also takes the sha256 of what passes through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(stream)
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.hash.update(data)
        return data

    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()
