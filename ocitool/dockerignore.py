""".dockerignore: which files of a build context a build may not see.

docker's rules (moby's patternmatcher, as docker 20.10 applies them): one
pattern a line, `#` lines and blank lines skipped, each pattern cleaned as a
path (`./a/../b` is `b`, a leading `/` dropped), `*` and `?` never crossing a
`/`, `**` any number of directories, `[...]` a class (`[^...]` negated), `\\` an escape. A
pattern also excludes everything below a directory it matches. The last
pattern that matches a path decides, so a later `!pattern` takes back what
an earlier one excluded.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

NAME = ".dockerignore"


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the `!`
    exception: bool
    regex: re.Pattern[str]
    depth: int  # its number of path components, to match a parent directory with


class Ignore:
    """The patterns of one .dockerignore; `excluded(path)` says whether a build sees it."""

    def __init__(self, lines: list[str]) -> None:
        self.patterns = [p for p in (_pattern(line) for line in lines) if p is not None]

    @classmethod
    def of_context(cls, context: Path) -> Ignore:
        """The context's own .dockerignore, or one that excludes nothing."""
        path = context / NAME
        try:
            text = path.read_text(errors="replace") if path.is_file() else ""
        except OSError:
            text = ""
        return cls(text.splitlines())

    def excluded(self, path: str) -> bool:
        """`path` is relative to the context, `/`-separated (`a/b.txt`)."""
        path = posixpath.normpath(path.lstrip("/"))
        if path in (".", ""):
            return False
        parts = path.split("/")
        excluded = False
        for pattern in self.patterns:
            if pattern.exception != excluded:
                continue  # it could not change the answer
            hit = pattern.regex.fullmatch(path) is not None
            if not hit and 0 < pattern.depth < len(parts):
                # a pattern matching a parent directory excludes what is below it
                hit = pattern.regex.fullmatch("/".join(parts[: pattern.depth])) is not None
            if hit:
                excluded = not pattern.exception
        return excluded

    def has_exceptions(self) -> bool:
        return any(p.exception for p in self.patterns)


def _pattern(line: str) -> Pattern | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    exception = text.startswith("!")
    if exception:
        text = text[1:].strip()
    text = posixpath.normpath(text).lstrip("/") if text else text
    if text in ("", "."):
        return None
    return Pattern(text, exception, re.compile(_regex(text)), len(text.split("/")))


def _regex(pattern: str) -> str:
    """docker's pattern as a regular expression matched against the whole path."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # `**/` is zero or more directories
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern.startswith("[^", i) else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:  # as Go's regexp reads it: `^` negates, `!` is itself
                out.append("[" + pattern[i + 1 : end] + "]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)
