"""The JSON contract: every `--format json` output has its model in `ocitool schema`,
and the real output of every such command, on every engine, validates against it."""

from __future__ import annotations

import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer

from ocitool import models
from ocitool.cli.app import COMMANDS
from ocitool.cli.options import Format
from ocitool.schema import OUTPUTS
from tests.conftest import BASE, CHAIN, ENGINES, Lab, Registries, build_images
from tests.test_cli import ocitool


@cache
def schema() -> dict[str, Any]:
    proc = ocitool("schema")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def validate(command: str, stdout: str) -> Any:
    """The command's JSON document, checked against the schema its `outputs` entry names,
    and against the root, which accepts what any command prints."""
    doc = json.loads(stdout)
    shape = {"$defs": schema()["$defs"], **schema()["outputs"][command]}
    for checked in (shape, schema()):
        jsonschema.Draft202012Validator(
            checked, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        ).validate(doc)
    return doc


def test_every_model_is_in_the_schema() -> None:
    defined = {
        name
        for name, value in vars(models).items()
        if isinstance(value, type) and issubclass(value, models.Model) and value is not models.Model
    }
    assert len(defined) >= 19
    assert defined <= set(schema()["$defs"])
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_command_with_json_output_names_its_schema() -> None:
    import importlib

    printing = set()
    for name, entry in COMMANDS.items():
        callback = getattr(importlib.import_module(f"ocitool.cli.{entry.module}"), entry.function)
        # a group (`container`) prints through its subcommands (`container inspect`)
        callbacks = (
            [c.callback for c in callback.registered_commands if c.callback]
            if isinstance(callback, typer.Typer)
            else [callback]
        )
        for one in callbacks:
            parameters = inspect.signature(one).parameters.values()
            if any(isinstance(p.default, Format) for p in parameters):
                printing.add(name)
    assert printing == {c.split()[0] for c in OUTPUTS}
    for command in OUTPUTS:
        assert "$ref" in json.dumps(schema()["outputs"][command])


def test_the_schema_refuses_what_breaks_the_contract() -> None:
    """The validator really checks: a wrong type or a missing field fails."""
    good = ocitool("backends", "--format", "json")
    docs = validate("backends", good.stdout)
    docs[0]["found"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        validate("backends", json.dumps(docs))
    with pytest.raises(jsonschema.ValidationError):
        validate("du", json.dumps({"images": []}))


@pytest.mark.parametrize(
    "doc", [{}, {"anything": 1}, "text", 3, None, True, [{"a": 1}], [{}], {"images": []}]
)
def test_the_root_accepts_no_document_ocitool_does_not_print(doc: Any) -> None:
    assert not jsonschema.Draft202012Validator(schema()).is_valid(doc)


def test_every_field_is_always_printed() -> None:
    """A field with a default is printed all the same, so the schema requires it: a
    script may read every key the schema names without a fallback."""
    for name, model in schema()["$defs"].items():
        if model.get("type") == "object" and "properties" in model:
            assert set(model.get("required", [])) == set(model["properties"]), name
            assert model.get("additionalProperties") is False, name
    assert isinstance(schema()["version"], int)


def _run(engine: str, command: str, *args: str) -> Any:
    """`command` as `outputs` names it: its words (not its placeholders, LOCATION), with
    the option that asks for JSON."""
    words = [word for word in command.split() if word != "--report" and not word.isupper()]
    json_option = "--report" if "--report" in command else "--format"
    proc = ocitool("--backend", engine, *words, *args, json_option, "json")
    assert proc.returncode == 0, (command, proc.stderr)
    return validate(command, proc.stdout)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_json_output_validates_against_the_schema(
    engine: str, lab: Lab, registries: Registries, tmp_path: Path
) -> None:
    """The real output of every command in `outputs`, on this engine: each checked
    against its own schema and the root's."""
    build_images(engine, lab)
    first, second = CHAIN
    name, archive = f"schema/{engine}:1", tmp_path / "one.tar"
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo built > /built\n")
    pushed = f"{registries.plain.host}/schema/{engine}:1"
    tls = "--tls-verify=false"
    runs: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("backends", ()),
        ("images", ("--all",)),
        ("inspect", (second, BASE)),
        ("history", (second,)),
        ("ps", ("--all",)),
        ("du", ()),
        ("df", ()),
        ("tree", ()),
        ("layers", (second,)),
        ("layers --files", (second,)),
        ("diff", (first, second)),
        ("diff --files", (first, second)),
        ("mutate", (BASE, f"schema/{engine}:mutated", "--env", "A=1")),
        ("append", (BASE, str(lab.tar), f"schema/{engine}:appended")),
        ("flatten", (second, f"schema/{engine}:flat")),
        ("import", (str(lab.tar), name, "-m", "schema")),
        ("tag", (name, f"{name}-again")),
        ("commit", ("ot-c1", f"schema/{engine}:committed")),
        ("rmi", ("--dry-run", name)),
        ("push", (name, pushed, tls)),
        ("pull", (pushed, tls)),
        ("copy", (name, f"docker-archive:{archive}:{name}")),
        ("load", ("-i", str(archive))),
        ("save --report", (name, BASE, "--format", "oci-archive", "-o", str(tmp_path / "2"))),
        ("search", ("schema", "--registry", registries.plain.host, "--tags", tls)),
        ("inspect LOCATION", (f"docker://{pushed}", tls)),
        ("tags", (pushed.rsplit(":", 1)[0], tls)),
        ("container inspect", ("ot-c1",)),
        ("prune", ("--dry-run",)),  # the dangling images it would take; nothing changes
        ("build", (str(context), "-t", f"schema/{engine}:built", "--network", "none")),
        ("rmi", (name, f"{name}-again", f"schema/{engine}:committed", pushed)),
        ("rmi", tuple(f"schema/{engine}:{tag}" for tag in ("mutated", "appended", "flat"))),
        ("rmi", (f"schema/{engine}:built",)),
    )
    # every command, really run: here, or (manifest lists, which need a multi-platform
    # image) in tests/test_indexes.py, on the backends that hold them
    elsewhere = {"manifest", "manifest push"}
    assert {command for command, _ in runs} | elsewhere == set(OUTPUTS)
    for command, args in runs:
        doc = _run(engine, command, *args)
        assert doc or command in ("ps",), command  # every command here has something to say
    for transfer in ("push", "pull", "copy", "save --report", "load", "manifest push"):
        assert schema()["outputs"][transfer] == schema()["outputs"]["load"]  # one shape
