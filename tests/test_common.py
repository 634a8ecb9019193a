"""The engine-format helpers and the human renderers, on the formats docs/engines.md describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocitool.backends.common.parsing import (
    as_digest,
    batches,
    json_documents,
    parse_int,
    parse_time,
    unique,
)
from ocitool.render import human_size, since, split_name

HEX = "2c38d4e2d7e9b680b429146299df18285d5937db6504fc3e4add24330b669de6"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T17:53:37.643337957Z", datetime(2026, 11, 28, 17, 53, 37, 643337, UTC)),
        ("2026-11-28T17:53:38Z", datetime(2026, 11, 28, 17, 53, 38, tzinfo=UTC)),
        ("2026-11-28 17:53:38 +0000 UTC", datetime(2026, 11, 28, 17, 53, 38, tzinfo=UTC)),
        ("2026-11-28 19:53:38 +0200 EET", datetime(2026, 11, 28, 17, 53, 38, tzinfo=UTC)),
        ("2026-11-28T18:53:40.5+01:00", datetime(2026, 11, 28, 17, 53, 40, 500000, UTC)),
        (1795888420, datetime(2026, 11, 28, 17, 53, 40, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(value: str | int | None, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo == UTC


def test_as_digest() -> None:
    assert as_digest(HEX) == f"sha256:{HEX}"
    assert as_digest(f"sha256:{HEX}") == f"sha256:{HEX}"
    assert as_digest("<missing>") is None
    assert as_digest("2c38d4e2d7e9") is None  # short IDs are not digests
    assert as_digest("") is None


def test_json_documents_handles_every_framing() -> None:
    assert json_documents('{"a":1}\n{"a":2}\n') == [{"a": 1}, {"a": 2}]  # docker NDJSON
    assert json_documents('[\n {"a":1},\n {"a":2}\n]') == [{"a": 1}, {"a": 2}]  # podman array
    assert json_documents("") == []  # podman search with no match
    assert json_documents("null") == []
    assert json_documents('{"a":1}') == [{"a": 1}]


def test_sizes_and_helpers() -> None:
    assert parse_int("1982312") == 1982312
    assert parse_int(2048) == 2048
    assert parse_int("1.98MB") is None  # human sizes are never guessed at
    assert parse_int(-1) is None  # docker's "unknown"
    assert unique(["b", "a", "b"]) == ["b", "a"]
    assert list(batches(["aaaa", "bbbb", "cccc"], max_chars=10)) == [["aaaa", "bbbb"], ["cccc"]]


def test_renderers() -> None:
    assert human_size(1982312) == "1.98MB"
    assert human_size(4) == "4B"
    assert human_size(2048) == "2.05kB"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert since(now - timedelta(minutes=5), now) == "5 minutes ago"
    assert since(now - timedelta(seconds=1), now) == "1 second ago"
    assert split_name("127.0.0.1:5000/lab/img:first") == ("127.0.0.1:5000/lab/img", "first")
    assert split_name("localhost:5000/img") == ("localhost:5000/img", "<none>")


def test_both_of_gos_words_for_an_import_cut_short_are_known() -> None:
    """The first line is what podman printed in a CI run for a truncated gzip import;
    the others end in Go's io.ErrUnexpectedEOF, the form both engines usually print."""
    from ocitool.backends.common.cli import _CUT_SHORT

    seen = [
        'Error: writing blob: storing blob to file "/var/tmp/storage1657310307/1": EOF\n',
        "Error: writing blob: storing blob to file: unexpected EOF\n",
        "Error response from daemon: archive/tar: invalid tar header: unexpected EOF\n",
    ]
    assert all(_CUT_SHORT.search(text) for text in seen)
    assert not _CUT_SHORT.search("Error: EOF in a word is not the end: image not known\n")
