""".dockerignore's rules, as docker 20.10 applies them (ocitool/dockerignore.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocitool.dockerignore import Ignore


def ignore(*lines: str) -> Ignore:
    return Ignore(list(lines))


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.log"], "a.log", True),
        (["*.log"], "dir/a.log", False),  # `*` never crosses a `/`
        (["**/*.log"], "dir/sub/a.log", True),
        (["**/*.log"], "a.log", True),  # `**/` is zero directories too
        (["dir/**"], "dir/sub/x", True),
        (["dir"], "dir/sub/x", True),  # a directory takes what is below it
        (["/dir/"], "dir/x", True),  # cleaned: leading and trailing / dropped
        (["./dir/../other"], "other", True),
        (["a?c"], "abc", True),
        (["a?c"], "a/c", False),
        (["[ab].txt"], "b.txt", True),
        (["[^ab].txt"], "c.txt", True),
        (["[^ab].txt"], "a.txt", False),
        (["[!ab].txt"], "!.txt", True),  # Go's regexp: `!` is no negation
        (["\\*.txt"], "*.txt", True),
        (["\\*.txt"], "a.txt", False),
        (["# a comment", "", "x"], "x", True),
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "CHANGES.md", True),
        (["*.md", "!README.md", "README*"], "README.md", True),  # the last match decides
        (["dir", "!dir/keep"], "dir/keep", False),
        (["dir", "!dir/keep"], "dir/other", True),
        (["secret"], "secrets", False),
    ],
)
def test_patterns(patterns: list[str], path: str, excluded: bool) -> None:
    assert ignore(*patterns).excluded(path) is excluded


def test_the_context_root_is_never_excluded() -> None:
    assert not ignore("*", "**").excluded(".")


def test_a_context_without_a_dockerignore_excludes_nothing(tmp_path: Path) -> None:
    assert not Ignore.of_context(tmp_path).excluded("anything")
    (tmp_path / ".dockerignore").write_text("*.tmp\n!keep.tmp\n")
    read = Ignore.of_context(tmp_path)
    assert read.excluded("x.tmp") and not read.excluded("keep.tmp")
    assert read.has_exceptions()
