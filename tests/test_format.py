"""--format templates on every engine, and on docker compared with docker's own output.

The images are the prune tests' repository of versions (tests/test_prune.py),
so a template runs over several tags of one image ID, an untagged image and a
stopped container; docker is given the same template for the same images.
"""

from __future__ import annotations

import json

import pytest

from ocitool.client import Client
from ocitool.models import Container, Image
from tests import lab as lab_setup
from tests.conftest import Lab
from tests.test_cli import ocitool, one_error_line
from tests.test_prune import Versions, build, clean


@pytest.fixture
def versions(client: Client, lab: Lab) -> object:
    made = build(client, lab, "format")
    yield made
    clean(client, made)


def _lines(engine: str, *args: str) -> list[str]:
    proc = ocitool("--backend", engine, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


IMAGE_TEMPLATE = "{{.ID}} {{json .Repository}} {{.Tag}} {{.Size}} {{.CreatedAt}} {{.Digest}}"


def test_images_templates_print_what_docker_prints(
    client: Client, engine: str, versions: Versions
) -> None:
    v = versions
    scope = ["--filter", f"label={v.label}"]
    lines = _lines(engine, "images", *scope, "--format", IMAGE_TEMPLATE)
    shown = client.filtered_images(False, [f"label={v.label}"])
    assert len(lines) == sum(max(len(s.names), 1) for s in shown) == 6  # 1,2,3,4, dangle, <none>
    assert {line.split()[0] for line in lines} == {s.image.short_id for s in shown}
    assert '"<none>"' in {line.split()[1] for line in lines}  # docker's json does not escape
    table = _lines(engine, "images", *scope, "--format", "table {{.Repository}}\t{{.Tag}}")
    assert table[0].split() == ["REPOSITORY", "TAG"]
    as_json = _lines(engine, "images", *scope, "--format", "{{json .}}")
    assert {Image.model_validate_json(line).id for line in as_json} == {s.image.id for s in shown}
    names = _lines(engine, "images", v.repo + ":1", "--format", "{{range .names}}{{.}},{{end}}")
    assert names == [f"{client.backend.canonical_name(v.repo + ':1')},"]
    if engine == "docker":
        theirs = lab_setup.engine(["docker", "images", *scope, "--format", IMAGE_TEMPLATE])
        assert sorted(lines) == sorted(theirs.splitlines())
        template = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}"
        ours = _lines(engine, "images", *scope, "--format", template)
        theirs = lab_setup.engine(["docker", "images", *scope, "--format", template])
        assert ours[0] == theirs.splitlines()[0]  # the header, aligned as docker aligns it
        assert sorted(ours[1:]) == sorted(theirs.splitlines()[1:])


def test_ps_and_inspect_templates(client: Client, engine: str, versions: Versions) -> None:
    v = versions
    ps = ["ps", "-a", "--filter", f"name={v.stopped}"]
    template = "{{.ID}} {{.Names}} {{.Image}} {{.State}}"
    assert _lines(engine, *ps, "--format", template) == [
        f"{c.short_id} {c.name} {c.image} exited"
        for c in client.containers(all=True, filters=[f"name={v.stopped}"])
    ]
    (status,) = _lines(engine, *ps, "--format", "{{.Status}}")
    assert status.startswith("Exited")
    (doc,) = _lines(engine, *ps, "--format", "{{json .}}")
    assert Container.model_validate_json(doc).name == v.stopped
    dockers = "{{.Id}} {{.Size}} {{json .RepoTags}} {{.Config.Labels}} {{.Os}}"
    inspect_template = dockers + " {{.config.labels}}"
    image = client.image(f"{v.repo}:2")
    (line,) = _lines(engine, "inspect", f"{v.repo}:2", "--format", inspect_template)
    labels = f"map[ocitool.prune:{v.label.split('=', 1)[1]}]"
    assert line == f"{image.id} {image.size} {json.dumps(image.names)} {labels} linux {labels}"
    if engine == "docker":
        theirs = lab_setup.engine(["docker", *ps, "--format", template + " {{.Status}}"])
        (mine,) = _lines(engine, *ps, "--format", template)
        assert theirs.strip().startswith(mine + " Exited")
        theirs = lab_setup.engine(
            ["docker", "image", "inspect", f"{v.repo}:2", "--format", dockers]
        )
        assert line.startswith(theirs.strip())
    proc = ocitool("--backend", engine, "inspect", f"{v.repo}:2", "--format", "{{.config.nope}}")
    assert proc.returncode == 2 and "unknown field .nope" in one_error_line(proc)


def test_templates_on_the_other_listings(client: Client, engine: str) -> None:
    assert _lines(engine, "du", "--format", "{{.total}}") == [str(client.du().total)]
    steps = client.history("ocitool-test/chain:2")
    got = _lines(engine, "history", "ocitool-test/chain:2", "--format", "{{.size}}|{{.empty}}")
    empty = {True: "true", False: "false", None: ""}
    assert got == [f"{'' if s.size is None else s.size}|{empty[s.empty]}" for s in steps]
    backends = _lines(engine, "backends", "--format", "table {{.backend}}\t{{.found}}")
    assert backends[0].split() == ["BACKEND", "FOUND"] and len(backends) == 4
    layers = _lines(engine, "layers", "ocitool-test/chain:2", "--format", "{{.step.diff_id}}")
    assert len(layers) == len(steps)
    tree = _lines(engine, "tree", "--format", "{{len .children}}")
    assert all(line.isdigit() for line in tree)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["images", "--format", "{{.Nope}}"], "unknown field .Nope"),
        (["images", "--format", "{{.ID"], "unclosed action"),
        (["images", "--format", "{{range .names}}"], "has no {{end}}"),
        (["images", "--format", "{{shout .ID}}"], "function 'shout' not defined"),
        (["ps", "--format", "xml"], "unknown format 'xml'"),
        (["inspect", "x:1", "--format", "{{.Nope}}"], "unknown field .Nope"),
        (["du", "--format", "{{.images.id}}"], "can't evaluate field id"),
    ],
)
def test_a_bad_template_is_one_usage_line(args: list[str], says: str, lab: Lab) -> None:
    proc = ocitool("--backend", "oci", *args)
    assert proc.returncode == 2, proc.stderr
    assert says in one_error_line(proc)


def test_the_template_engine_alone() -> None:
    from ocitool.templates import Row, aligned, output, render_rows

    row = Row({"names": ["a:1", "b:2"], "n": 0}, {"ID": "abc"})
    cases = {
        "{{.ID}}": "abc",
        '{{join .names ", "}}': "a:1, b:2",
        "{{if .n}}yes{{else}}no{{end}}": "no",
        "{{range .names}}[{{.}}]{{else}}none{{end}}": "[a:1][b:2]",
        "{{.ID | upper}}": "ABC",
        '{{- "  x  " -}}': "  x  ",
        "{{json .names}}": '["a:1","b:2"]',
        "{{len .names}} {{index .names 1}}": "2 b:2",
    }
    for template, expected in cases.items():
        assert render_rows(output(template), [row], {}) == expected + "\n", template
    assert aligned(["A\tB", "long value\tC"]) == "A            B\nlong value   C\n"
