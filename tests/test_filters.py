"""images and ps filters on every engine, and on docker checked against docker itself.

The same repository of versions as the prune tests (tests/test_prune.py): v1 <- v2
<- v3, v1 <- v4, a dangling image and a stopped container on v2. Each filter must
let the same images through on every backend; on docker, the rows must be the
ones `docker images` / `docker ps` print for the same arguments.
"""

from __future__ import annotations

import pytest

from ocitool.client import Client
from ocitool.errors import UsageError
from tests import lab as lab_setup
from tests.conftest import RUNNING, Lab
from tests.test_cli import ocitool, one_error_line
from tests.test_prune import Versions, build, clean


@pytest.fixture
def versions(client: Client, lab: Lab) -> object:
    made = build(client, lab, "filters")
    yield made
    clean(client, made)


def _rows(client: Client, *filters: str, reference: str | None = None) -> set[tuple[str, str]]:
    """(image ID, name) for each row `ocitool images` lists; `<none>` for no name."""
    shown = client.filtered_images(False, list(filters), reference)
    return {(s.image.id, client.backend.canonical_name(n)) for s in shown for n in s.names} | {
        (s.image.id, "<none>") for s in shown if not s.names
    }


def _docker_rows(*args: str) -> set[tuple[str, str]]:
    out = lab_setup.engine(
        ["docker", "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", *args]
    )
    rows = set()
    for line in out.splitlines():
        image_id, name = line.split(" ", 1)
        rows.add((image_id, "<none>" if name == "<none>:<none>" else name))
    return rows


def test_image_filters_have_dockers_meaning(
    client: Client, engine: str, versions: Versions
) -> None:
    v = versions
    repo, ids, label = v.repo, v.ids, f"label={v.label}"

    def name(tag: str) -> str:
        return client.backend.canonical_name(f"{repo}:{tag}")

    cases: list[tuple[list[str], str | None, set[tuple[str, str]]]] = [
        ([], repo, {(ids[t], name(t)) for t in "1234"}),
        ([], f"{repo}:2", {(ids["2"], name("2"))}),
        ([f"reference={repo}:[13]"], None, {(ids["1"], name("1")), (ids["3"], name("3"))}),
        (
            [f"reference={repo}*"],
            None,
            {(ids[t], name(t)) for t in "1234"}
            | {(ids["dangle"], client.backend.canonical_name(f"{repo}-dangle:1"))},
        ),
        ([label, "dangling=true"], None, {(ids["dangling"], "<none>")}),
        ([label, f"before={repo}:3"], None, {(ids["1"], name("1")), (ids["2"], name("2"))}),
        (
            [label, f"since={repo}:4"],
            None,
            {
                (ids["dangling"], "<none>"),
                (ids["dangle"], client.backend.canonical_name(f"{repo}-dangle:1")),
            },
        ),
        (["label=ocitool.prune=nothing-has-this"], None, set()),
    ]
    for filters, reference, expected in cases:
        assert _rows(client, *filters, reference=reference) == expected, (filters, reference)
        if engine == "docker":
            args = [a for f in filters for a in ("--filter", f)] + (
                [reference] if reference else []
            )
            assert _docker_rows(*args) == expected, args
    tagged = _rows(client, label, "dangling=false")
    assert ("<none>" not in {n for _, n in tagged}) and len(tagged) == 5
    # the CLI: the positional argument and --filter, the table and JSON
    proc = ocitool("--backend", engine, "images", f"{repo}:2", "--filter", label)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[1] for line in proc.stdout.splitlines()[1:]] == ["2"]
    proc = ocitool(
        "--backend", engine, "images", "-q", "--filter", label, "--filter", "dangling=true"
    )
    assert proc.stdout.split() == [ids["dangling"]]


def test_ps_filters_have_dockers_meaning(client: Client, engine: str, versions: Versions) -> None:
    v = versions

    def names(*filters: str, all: bool = False) -> set[str]:
        return {c.name for c in client.containers(all=all, filters=list(filters))}

    exited = names("status=exited")  # a status filter lists stopped ones without -a
    assert v.stopped in exited and RUNNING not in exited
    assert names("status=running") == {RUNNING}
    assert names(f"name={v.stopped}", all=True) == {v.stopped}
    assert names(f"ancestor={v.repo}:1", all=True) == {v.stopped}  # built on v1
    assert names(f"ancestor={v.repo}:2", all=True) == {v.stopped}
    assert names(f"ancestor={v.repo}:3", all=True) == set()
    assert names(f"ancestor={v.ids['2']}", all=True) == {v.stopped}
    assert names(f"name={v.stopped}", "status=running", all=True) == set()
    assert names(f"name={v.stopped}", "exited=0", all=True) == {v.stopped}  # it ran `true`
    assert names(f"name={v.stopped}", "exited=3", all=True) == set()
    if engine == "docker":
        for filters in (
            [f"name={v.stopped}", "exited=0"],
            ["status=exited"],
            ["status=running"],
            [f"ancestor={v.repo}:1"],
            [f"name={v.stopped}"],
        ):
            args = [a for f in filters for a in ("--filter", f)]
            out = lab_setup.engine(["docker", "ps", "-a", *args, "--format", "{{.Names}}"])
            assert set(out.split()) == names(*filters, all=True), filters
    proc = ocitool("--backend", engine, "ps", "-a", "--filter", f"name={v.stopped}", "-q")
    assert proc.returncode == 0 and len(proc.stdout.split()) == 1


@pytest.mark.parametrize(
    ("command", "bad", "says"),
    [
        ("images", "colour=red", "images: unknown filter 'colour=red'"),
        ("images", "dangling=maybe", "is not a boolean"),
        ("images", "reference=[abc", "unclosed ["),
        ("ps", "status=asleep", "is not a container state"),
        ("ps", "exited=zero", "is not an exit code"),
        ("ps", "reference=x", "ps: unknown filter"),
    ],
)
def test_a_bad_filter_is_one_usage_line(command: str, bad: str, says: str) -> None:
    proc = ocitool("--backend", "oci", command, "--filter", bad)
    assert proc.returncode == 2
    assert says in one_error_line(proc)


def test_filters_parse_as_docker_does() -> None:
    from ocitool import filters

    assert filters.path_match("lab/*", "lab/img") and not filters.path_match("lab*", "lab/img")
    assert filters.name_matches("busybox", "docker.io/library/busybox:1")
    assert filters.name_matches("img:[0-9]", "localhost/img:7")
    assert not filters.name_matches("img", "other/img:1")
    assert filters.duration("1h30m") is not None and filters.duration("7d") is not None
    assert filters.duration("soon") is None
    with pytest.raises(UsageError):
        filters.parse(["nokey"], filters.IMAGE_KEYS, "images")
