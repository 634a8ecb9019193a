"""`run` that cannot run: the same exit code and one line on every engine.

A missing image is exit 3 whether the engine tried a pull (DNS error, short
name with no registry) or not; a command that does not exist is 127, one that
cannot be executed 126, as `docker run` and a shell exit; OCITOOL_RUN_TIMEOUT
stops the container too, not only ocitool.
"""

from __future__ import annotations

import time

import pytest

from ocitool.client import Client
from ocitool.errors import CommandNotExecutable, CommandNotFound, ImageNotFound
from tests.conftest import BASE, CHAIN
from tests.test_cli import ocitool, one_error_line

MISSING = "ocitool-test/not-here:1"


def _named(client: Client, name: str) -> list[str]:
    return [c.state for c in client.containers(all=True) if c.name == name]


@pytest.mark.parametrize("pull", ["missing", "never"])
def test_run_of_a_missing_image_is_not_found(client: Client, engine: str, pull: str) -> None:
    proc = ocitool("-b", engine, "run", "--pull", pull, "--rm", "--name", "ot-nf", MISSING, "true")
    assert proc.returncode == 3, proc.stderr
    assert f"image not found on {engine}: {MISSING}" in one_error_line(proc)
    with pytest.raises(ImageNotFound):
        client.run(MISSING, ["true"], name="ot-nf", pull=pull, detach=True)  # type: ignore[arg-type]
    assert _named(client, "ot-nf") == []


@pytest.mark.parametrize(
    ("image", "command", "code", "words"),
    [
        (BASE, "/nonexistent", 127, "/nonexistent was not found in the container"),
        (BASE, "ot-no-such-command", 127, "ot-no-such-command was not found"),
        (CHAIN[0], "/file1", 126, "/file1 cannot be executed"),  # a file, mode 644
        (BASE, "/bin", 126, "/bin cannot be executed"),  # a directory
    ],
)
def test_a_command_that_cannot_run_exits_as_docker_run_does(
    client: Client, engine: str, image: str, command: str, code: int, words: str
) -> None:
    proc = ocitool("-b", engine, "run", "--rm", "--network", "none", image, command)
    assert proc.returncode == code, proc.stderr
    assert words in one_error_line(proc) and proc.stdout == ""
    error = CommandNotFound if code == 127 else CommandNotExecutable
    with pytest.raises(error):
        client.run(image, [command], name="ot-cannot", network="none", remove=True)
    assert _named(client, "ot-cannot") == []


@pytest.mark.parametrize("remove", [False, True])
def test_the_run_timeout_stops_the_container_it_started(
    client: Client, engine: str, remove: bool
) -> None:
    name = f"ot-timeout-{int(remove)}"
    rm = ["--rm"] if remove else []
    env = {"OCITOOL_RUN_TIMEOUT": "3"}
    argv = ["-b", engine, "run", *rm, "--name", name, "--network", "none", BASE, "sleep", "600"]
    proc = ocitool(*argv, env=env)
    try:
        assert proc.returncode == 7, proc.stderr
        line = one_error_line(proc)
        assert "OCITOOL_RUN_TIMEOUT" in line
        assert ("was stopped and removed (--rm)" if remove else "was stopped") in line
        deadline = time.monotonic() + 10  # an engine removes an --rm container as it exits
        while remove and _named(client, name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _named(client, name) == ([] if remove else ["exited"])
    finally:
        if _named(client, name):
            client.remove(name, force=True)


def test_a_detached_command_that_does_not_exist_is_127_too(client: Client, engine: str) -> None:
    argv = ["run", "-d", "--name", "ot-detached-127", "--network", "none", BASE, "/nonexistent"]
    try:
        proc = ocitool("-b", engine, *argv)
        assert proc.returncode == 127, proc.stderr
        assert "/nonexistent was not found" in one_error_line(proc)
        assert _named(client, "ot-detached-127") != []  # kept, as docker keeps it
        again = ocitool("-b", engine, "start", "ot-detached-127")
        assert again.returncode == 127 and "/nonexistent was not found" in one_error_line(again)
    finally:
        if _named(client, "ot-detached-127"):
            client.remove("ot-detached-127", force=True)
