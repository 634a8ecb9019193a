"""The chapter's image lifecycle (docs/chapter.md) on every engine.

Run a container and change a file; commit it with an author and a message;
commit again on top; compare the layers; fail to remove an image a container
uses; remove the container; watch `rmi` untag, then delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ocitool.client import Client
from ocitool.errors import ImageInUse
from ocitool.models import Image, Layer, RemoveResult
from tests.conftest import ENGINES, Lab

BASE = "chapter/base:14.04"  # the chapter's ubuntu:14.04, here a busybox rootfs
SMALL_LAYER = 16 * 1024  # a commit that writes one short file adds a few kB at most


@dataclass
class Replay:
    """Everything one replay of the chapter observed."""

    base: Image
    first: Image
    second: Image
    second_history: list[Layer]
    in_use: ImageInUse
    dry_run: RemoveResult
    remove_first: RemoveResult
    remove_second: RemoveResult
    final_names: list[str] = field(default_factory=list)
    final_containers: list[tuple[str, str]] = field(default_factory=list)


_replays: dict[str, Replay] = {}


def replay_chapter(engine: str, lab: Lab) -> Replay:
    """The chapter's commands, through ocitool's API, once per engine per test run."""
    if engine in _replays:
        return _replays[engine]
    c = Client(backend=engine)
    base = c.import_image(lab.tar, BASE)
    c.run(BASE, ["sh", "-c", "echo first > /first"], name="commit_test", network="none")
    first = c.commit(
        "commit_test", "commit_test:first", author="soojong", message="my first commit"
    )
    c.run(
        "commit_test:first",
        ["sh", "-c", "echo second > /second"],
        name="commit_test2",
        network="none",
    )
    second = c.commit(
        "commit_test2", "commit_test:second", author="soojong", message="my second commit"
    )
    history = c.history("commit_test:second")
    with pytest.raises(ImageInUse) as in_use:
        c.rmi("commit_test:first")
    dry_run = c.rmi("commit_test:first", dry_run=True)
    c.stop("commit_test2")
    c.remove("commit_test2")
    remove_first = c.rmi("commit_test:first")
    remove_second = c.rmi("commit_test:second")
    chapter = {"commit_test", "commit_test2"}
    replay = Replay(
        base=base,
        first=first,
        second=second,
        second_history=history,
        in_use=in_use.value,
        dry_run=dry_run,
        remove_first=remove_first,
        remove_second=remove_second,
        final_names=sorted(
            n for i in c.images() for n in i.names if n.startswith(("commit_test", "chapter/"))
        ),
        final_containers=sorted(
            (ct.name, ct.image) for ct in c.containers(all=True) if ct.name in chapter
        ),
    )
    _replays[engine] = replay
    return replay


@pytest.mark.parametrize("engine", ENGINES)
def test_the_chapter(engine: str, lab: Lab) -> None:
    r = replay_chapter(engine, lab)

    # commit records the author and the message the same way on both engines
    assert (r.first.author, r.first.comment) == ("soojong", "my first commit")
    assert (r.second.author, r.second.comment) == ("soojong", "my second commit")

    # layers are shared like git commits: second = first + one, first = base + one
    assert r.first.diff_ids == [*r.base.diff_ids, r.first.diff_ids[-1]]
    assert r.second.diff_ids == [*r.first.diff_ids, r.second.diff_ids[-1]]
    assert r.second.parent == r.first.id and r.first.parent == r.base.id

    # each commit adds a small layer (the file written), not a copy of the base
    top, middle, bottom = r.second_history
    assert top.size is not None and top.size < SMALL_LAYER
    assert middle.size is not None and middle.size < SMALL_LAYER
    assert bottom.size is not None and bottom.size > 1_000_000
    assert [s.image_id for s in r.second_history] == [r.second.id, r.first.id, r.base.id]

    # the in-use error names the container that holds the image, and what to do
    line = r.in_use.one_line()
    assert r.in_use.exit_code == 4
    assert "commit_test2" in line and "exited" in line
    assert "ocitool rm commit_test2" in line and "--rm-containers" in line

    # --dry-run says what would happen and what blocks it
    # ... and, being blocked, that nothing would go: the real run removes nothing
    assert r.dry_run.dry_run and r.dry_run.untagged == [] and r.dry_run.deleted == []
    assert [b.reason for b in r.dry_run.blocked] == ["in-use"]
    assert r.dry_run.blocked[0].containers[0].name == "commit_test2"

    # once commit_test2 is gone, rmi of first is an untag: second still needs its layers
    assert r.remove_first.untagged == ["commit_test:first"]
    assert r.remove_first.deleted_layers == []
    if engine == "docker":
        assert r.remove_first.deleted == []  # docker keeps the parent, hidden
        expected_deleted = {r.second.id, r.first.id}  # ... and prunes it with its child
    else:  # podman drops the parent's record; the OCI store drops the untagged manifest
        assert r.remove_first.deleted == [r.first.id]
        expected_deleted = {r.second.id}
    # rmi of second deletes for real: the layers the two commits added are freed
    assert r.remove_second.untagged == ["commit_test:second"]
    assert set(r.remove_second.deleted) == expected_deleted
    assert r.remove_second.deleted_layers == sorted(r.second.diff_ids[-2:])


def test_the_chapter_ends_the_same_on_every_engine(lab: Lab) -> None:
    for replay in (replay_chapter(e, lab) for e in ENGINES):
        assert replay.final_names == [BASE]
        assert replay.final_containers == [("commit_test", BASE)]
