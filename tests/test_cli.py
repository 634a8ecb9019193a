"""The command line as a user meets it: output, one-line errors, exit codes.

Each test runs the real `ocitool` program in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BASE, BASE_ALIAS, ENGINES, Lab, build_images

BAD_REFS = ["-rf", "--privileged", "UPPER/case", "a b", "foo@sha256:123"]


def ocitool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocitool", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ocitool: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_version() -> None:
    proc = ocitool("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("ocitool ")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ref", BAD_REFS)
def test_bad_references_are_one_line_and_exit_2(engine: str, ref: str) -> None:
    for command in (["inspect", "--", ref], ["history", "--", ref]):
        proc = ocitool("--backend", engine, *command)
        assert proc.returncode == 2
        assert "invalid reference" in one_error_line(proc)
        assert proc.stdout == ""


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("where", "what", "instead"),
    [
        ("docker://127.0.0.1:1/lab/img:1", "an image in a registry", "ocitool pull 127.0.0.1:1/"),
        ("docker://busybox", "an image in a registry", "ocitool pull busybox"),
        ("oci:/tmp/ocitool-no-layout:latest", "an OCI layout", "ocitool copy oci:/tmp/"),
        ("oci:./layout:v1", "an OCI layout", "ocitool copy oci:./layout:v1 NAME:TAG"),
        ("docker-archive:/tmp/ocitool-no.tar", "an archive", "ocitool load -i /tmp/ocitool-no.tar"),
        (
            "oci-archive:/tmp/ocitool-no.tar:x:1",
            "an archive",
            "ocitool load -i /tmp/ocitool-no.tar",
        ),
    ],
)
def test_inspect_of_a_remote_image_says_it_reads_local_ones(
    engine: str, where: str, what: str, instead: str
) -> None:
    """The API's inspect reads local images: given a registry, layout or archive it says
    so (not "registry port '' must be digits only"), and what would read this one."""
    from ocitool.client import Client
    from ocitool.errors import UsageError

    with pytest.raises(UsageError) as raised:
        Client(backend=engine).inspect(where)
    line = raised.value.one_line()
    assert f"inspect reads local images only; {where!r} is {what}" in line, line
    assert instead in line and f"inspect_location({where!r})" in line, line


def test_inspect_reads_a_location_on_the_command_line(engine: str) -> None:
    """The CLI's inspect reads a LOCATION where it is (tests/test_registries.py): what
    is not there is one line, never the reference grammar's complaint."""
    proc = ocitool("--backend", engine, "inspect", "oci:/tmp/ocitool-no-layout:latest")
    assert proc.returncode == 2
    assert "no such OCI layout" in one_error_line(proc)
    assert proc.stdout == ""


def test_an_unknown_option_is_a_usage_error() -> None:
    # Without `--`, the CLI parser rejects `-rf` itself; with `--` the reference
    # check does (test_bad_references_are_one_line_and_exit_2).
    proc = ocitool("--backend", "docker", "inspect", "-rf")
    assert proc.returncode == 2
    assert "No such option" in one_error_line(proc)


def test_no_arguments_prints_help() -> None:
    proc = ocitool()
    assert proc.returncode == 0
    assert "Usage" in proc.stdout and proc.stderr == ""


def fake_engine(folder: Path, name: str, script: str) -> None:
    """An engine executable that misbehaves in a chosen way."""
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_unexpected_engine_output_is_one_line(tmp_path: Path) -> None:
    fake_engine(tmp_path, "docker", 'echo "WARNING: something"; echo "[{\\"Id\\": 1}]"')
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    proc = ocitool("--backend", "docker", "inspect", "x:1", env=env)
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "unexpected output from 'docker image inspect'" in line and "--debug" in line
    debug = ocitool("--debug", "--backend", "docker", "inspect", "x:1", env=env)
    assert "Traceback" in debug.stderr


def test_unexpected_list_output_is_one_line(tmp_path: Path) -> None:
    fake_engine(tmp_path, "docker", 'echo "{\\"ID\\": 7}"')
    proc = ocitool("--backend", "docker", "images", env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "unexpected output from 'docker image ls'" in one_error_line(proc)


@pytest.mark.parametrize("command", [["ps"], ["images"], ["images", "--format", "json"]])
def test_ctrl_c_during_an_engine_call_is_one_line_and_exit_130(
    tmp_path: Path, command: list[str]
) -> None:
    """typer turns a Ctrl-C into a silent exit 130; ocitool must still say so."""
    fake_engine(tmp_path, "docker", f"touch {tmp_path}/started; sleep 30")
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocitool", "--backend", "docker", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert stderr.strip() == "ocitool: error: interrupted"


def test_a_hung_engine_times_out_with_exit_7(tmp_path: Path) -> None:
    fake_engine(tmp_path, "podman", "sleep 30")
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "OCITOOL_TIMEOUT": "1"}
    proc = ocitool("--backend", "podman", "images", env=env)
    assert proc.returncode == 7
    assert "did not finish within 1s" in one_error_line(proc)
    # `backends` still answers, and says which engine hung
    listing = ocitool("backends", "--format", "json", env=env)
    assert listing.returncode == 0
    podman = next(b for b in json.loads(listing.stdout) if b["backend"] == "podman")
    assert podman["reachable"] is False and "did not finish" in podman["reason"]


def test_an_engine_that_cannot_be_executed(tmp_path: Path) -> None:
    (tmp_path / "podman").write_text("not a program")  # no execute permission
    config = tmp_path / "config.toml"
    config.write_text(f'[podman]\nexecutable = "{tmp_path / "podman"}"\n')
    proc = ocitool("--backend", "podman", "images", env={"OCITOOL_CONFIG": str(config)})
    assert proc.returncode == 5
    assert "cannot execute" in one_error_line(proc)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_engine_binary(engine: str, tmp_path: Path) -> None:
    # The OCI store is read without any program; writing it needs umoci.
    (tmp_path / "x.tar").write_bytes(b"")
    write = ["import", str(tmp_path / "x.tar"), "x:1"]
    tool, command = ("umoci", write) if engine == "oci" else (engine, ["images"])
    proc = ocitool("--backend", engine, *command, env={"PATH": str(tmp_path)})
    assert proc.returncode == 5
    line = one_error_line(proc)
    assert f"executable '{tool}' not found on PATH" in line
    assert "hint:" in line


def test_auto_with_no_engine_at_all(tmp_path: Path) -> None:
    proc = ocitool("images", env={"PATH": str(tmp_path)})
    assert proc.returncode == 5
    assert "no usable engine" in one_error_line(proc)


def test_docker_daemon_not_running(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/docker.sock"
    proc = ocitool("--backend", "docker", "images", env={"DOCKER_HOST": host})
    assert proc.returncode == 5
    line = one_error_line(proc)
    assert f"daemon not reachable at {host}" in line
    assert "DOCKER_HOST" in line


def test_backends_explains_an_unreachable_daemon(tmp_path: Path) -> None:
    host = f"unix://{tmp_path}/docker.sock"
    proc = ocitool("backends", "--format", "json", env={"DOCKER_HOST": host})
    assert proc.returncode == 0
    docker = next(b for b in json.loads(proc.stdout) if b["backend"] == "docker")
    assert docker["found"] is True and docker["reachable"] is False
    assert docker["reason"] == (
        f"daemon not reachable at {host}; is dockerd running? set DOCKER_HOST"
    )


def test_unknown_command_and_bad_option_value() -> None:
    for args in (["frobnicate"], ["images", "--format", "xml"], ["--backend", "nope", "images"]):
        proc = ocitool(*args)
        assert proc.returncode == 2
        one_error_line(proc)


def test_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('backend = "kubernetes"\n')
    proc = ocitool("images", env={"OCITOOL_CONFIG": str(config)})
    assert proc.returncode == 2
    assert str(config) in one_error_line(proc)


def test_schema_exports_every_model() -> None:
    proc = ocitool("schema")
    assert proc.returncode == 0
    defs = json.loads(proc.stdout)["$defs"]
    assert {"Image", "Layer", "Container", "ImageConfig", "ImageRef", "EngineInfo"} <= set(defs)
    assert defs["Image"]["properties"]["id"]["pattern"] == "^sha256:[0-9a-f]{64}$"


# -- with engines ---------------------------------------------------------------


@pytest.fixture
def built(engine: str, lab: Lab) -> str:
    build_images(engine, lab)
    return engine


def test_image_not_found(built: str) -> None:
    for command in (["inspect", "ocitool-test/nope:1"], ["history", "ocitool-test/nope:1"]):
        proc = ocitool("--backend", built, *command)
        assert proc.returncode == 3
        assert "ocitool-test/nope:1" in one_error_line(proc)


def test_tables_and_quiet_ids(built: str) -> None:
    table = ocitool("--backend", built, "images")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == [
        "REPOSITORY",
        "TAG",
        "IMAGE",
        "ID",
        "CREATED",
        "SIZE",
    ]
    assert "ocitool-test/base" in table.stdout
    quiet = ocitool("--backend", built, "images", "-q")
    ids = quiet.stdout.split()
    assert ids and len(ids) == len(set(ids))
    assert all(i.startswith("sha256:") for i in ids)
    inspect = ocitool("--backend", built, "inspect", BASE, BASE_ALIAS, "-q")
    assert len(set(inspect.stdout.split())) == 1
    for args in (["history", BASE], ["ps", "-a"], ["inspect", BASE], ["backends"]):
        proc = ocitool("--backend", built, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip()


def _cells(table: str) -> list[list[str]]:
    """A table's cells, with the CREATED column (which ticks) blanked."""
    rows = [re.split(r" {3,}", line) for line in table.splitlines()]
    return [["" if cell.endswith(" ago") else cell for cell in row] for row in rows]


@pytest.mark.parametrize("args", [[], ["-q"], ["-a", "--no-trunc"], ["-aq"]])
def test_debug_takes_the_same_road(built: str, args: list[str]) -> None:
    """--debug only adds the log: the same output, from the same code."""
    plain = ocitool("--backend", built, "images", *args)
    debug = ocitool("--debug", "--backend", built, "images", *args)
    assert plain.returncode == debug.returncode == 0, plain.stderr + debug.stderr
    assert plain.stderr == ""
    assert _cells(plain.stdout) == _cells(debug.stdout)


def test_debug_logs_every_engine_command(built: str) -> None:
    proc = ocitool("--debug", "--backend", built, "images")
    assert proc.returncode == 0
    expected = "images from" if built == "oci" else f"+ {built} "  # the store is read, not run
    assert expected in proc.stderr
    failed = ocitool("--debug", "--backend", built, "inspect", "ocitool-test/nope:1")
    assert failed.returncode == 3
    assert "Traceback" in failed.stderr


def test_backend_from_environment(built: str) -> None:
    proc = ocitool("images", "--format", "json", env={"OCITOOL_BACKEND": built})
    assert proc.returncode == 0
    assert {d["backend"] for d in json.loads(proc.stdout)} == {built}


def test_a_docker_context_is_followed_by_auto(lab: Lab, tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config"), "DOCKER_HOST": ""}
    run = {**os.environ, **env}
    run.pop("DOCKER_HOST")
    for argv in (
        ["docker", "context", "create", "ocitool-lab", "--docker", f"host={lab.docker_host}"],
        ["docker", "context", "use", "ocitool-lab"],
    ):
        subprocess.run(argv, env=run, check=True, capture_output=True, timeout=30)
    proc = subprocess.run(
        [sys.executable, "-m", "ocitool", "backends", "--format", "json"],
        env=run,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    docker = next(b for b in json.loads(proc.stdout) if b["backend"] == "docker")
    assert docker["selected"] and docker["reachable"]
    assert docker["endpoint"] == lab.docker_host
