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
    """The command's JSON document, checked against the schema its `outputs` entry names."""
    doc = json.loads(stdout)
    shape = {"$defs": schema()["$defs"], **schema()["outputs"][command]}
    jsonschema.Draft202012Validator(
        shape, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
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


def _run(engine: str, command: str, *args: str) -> Any:
    proc = ocitool("--backend", engine, *command.split()[:1], *args, "--format", "json")
    assert proc.returncode == 0, (command, proc.stderr)
    return validate(command, proc.stdout)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_json_output_validates_against_the_schema(
    engine: str, lab: Lab, registries: Registries, tmp_path: Path
) -> None:
    build_images(engine, lab)
    first, second = CHAIN
    name, archive = f"schema/{engine}:1", tmp_path / "one.tar"
    pushed = f"{registries.plain.host}/schema/{engine}:1"
    tls = "--tls-verify=false"
    for command, args in (
        ("backends", ()),
        ("images", ("--all",)),
        ("inspect", (second, BASE)),
        ("history", (second,)),
        ("ps", ("--all",)),
        ("du", ()),
        ("df", ()),
        ("tree", ()),
        ("layers", (second,)),
        ("layers --files", (second, "--files")),
        ("diff", (first, second)),
        ("diff --files", (first, second, "--files")),
        ("import", (str(lab.tar), name, "-m", "schema")),
        ("tag", (name, f"{name}-again")),
        ("commit", ("ot-c1", f"schema/{engine}:committed")),
        ("rmi", ("--dry-run", name)),
        ("push", (name, pushed, tls)),
        ("pull", (pushed, tls)),
        ("copy", (name, f"docker-archive:{archive}:{name}")),
        ("load", ("-i", str(archive))),
        ("search", ("schema", "--registry", registries.plain.host, "--tags", tls)),
        ("rmi", (name, f"{name}-again", f"schema/{engine}:committed", pushed)),
    ):
        doc = _run(engine, command, *args)
        assert doc or command in ("ps",), command  # every command here has something to say
