"""Shell completion, run in the real shells: bash with COMP_LINE/COMP_WORDS set as
readline sets them, fish with `complete -C`, and zsh with its completion
builtins (compadd, _files) replaced by functions that print what they are given.
Local image and container names come from each backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE, CHAIN, ENGINES, RUNNING, Lab, build_images
from tests.test_cli import ocitool
from tests.test_seam import _loaded, _recorded_docker

SHELLS = ("bash", "zsh", "fish")


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each shell's script as `ocitool completion SHELL` prints it, and an `ocitool`
    on PATH that runs this checkout (the scripts call it for names)."""
    folder = tmp_path_factory.mktemp("completion")
    for shell in SHELLS:
        proc = ocitool("completion", shell)
        assert proc.returncode == 0, proc.stderr
        (folder / f"ocitool.{shell}").write_text(proc.stdout)
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "ocitool"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m ocitool "$@"\n')
    wrapper.chmod(0o755)
    return folder


def _env(scripts: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{scripts / 'bin'}:{os.environ['PATH']}"}


BASH = """
source "$1"
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
[[ $COMP_LINE == *' ' ]] && COMP_CWORD=${#COMP_WORDS[@]}
_ocitool
printf '%s\\n' "${COMPREPLY[@]}"
"""

ZSH = """
compdef() { :; }
compset() { :; }
compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -rl -- "$@"; }
_files() { print -r -- "<files $*>"; }
source "$1"
words=(${(z)2})
[[ $2 == *' ' ]] && words+=('')
CURRENT=${#words}
_ocitool
"""

FISH = 'source $argv[1]; complete -C"$argv[2]"'


def complete(shell: str, line: str, scripts: Path, env: dict[str, str] | None = None) -> list[str]:
    """What `shell` offers at the end of `line` (TAB there), `env` added to the shell's."""
    argv = {
        "bash": ["bash", "--norc", "-c", BASH],
        "zsh": ["zsh", "-f", "-c", ZSH],
        "fish": ["fish", "--no-config", "-c", FISH],
    }[shell]
    proc = subprocess.run(
        [*argv, "completing", str(scripts / f"ocitool.{shell}"), line]
        if shell != "fish"
        else [*argv, str(scripts / f"ocitool.{shell}"), line],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_env(scripts), **(env or {})},
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [w.split("\t")[0] for w in proc.stdout.splitlines() if w]


@pytest.mark.parametrize("shell", SHELLS)
def test_commands_options_and_their_values(shell: str, scripts: Path) -> None:
    assert {"images", "inspect", "completion"} <= set(complete(shell, "ocitool ", scripts))
    assert set(complete(shell, "ocitool im", scripts)) == {"images", "import"}
    assert set(complete(shell, "ocitool images --", scripts)) == {
        "--help",
        "--all",
        "--format",
        "--quiet",
        "--no-trunc",
        "--filter",
    }
    assert set(complete(shell, "ocitool images --format ", scripts)) == {"table", "json"}
    assert set(complete(shell, "ocitool save -o x --format ", scripts)) == {
        "docker-archive",
        "oci-archive",
    }
    assert set(complete(shell, "ocitool --backend ", scripts)) == {
        "docker",
        "podman",
        "oci",
        "auto",
    }
    assert set(complete(shell, "ocitool -b oci run --pull ", scripts)) == {
        "always",
        "missing",
        "never",
    }
    assert set(complete(shell, "ocitool completion ", scripts)) == set(SHELLS)
    # `run IMAGE` is followed by the container's own command: nothing of ocitool's
    assert complete(shell, "ocitool run img --", scripts) == []


def test_bash_completes_after_equals_and_paths(scripts: Path, tmp_path: Path) -> None:
    """bash splits a word at '=' and ':' (COMP_WORDBREAKS): it is offered the rest."""
    assert complete("bash", "ocitool images --format=j", scripts) == ["json"]
    (tmp_path / "rootfs.tar").write_text("")
    (tmp_path / "dir").mkdir()
    assert complete("bash", f"ocitool import {tmp_path}/ro", scripts) == [f"{tmp_path}/rootfs.tar"]
    assert complete("bash", f"ocitool --store {tmp_path}/", scripts) == [f"{tmp_path}/dir"]
    assert complete("bash", f"ocitool build {tmp_path}/", scripts) == [f"{tmp_path}/dir"]
    assert set(complete("bash", "ocitool build --progress ", scripts)) == {"auto", "plain", "json"}


def test_paths_in_zsh_and_fish(scripts: Path, tmp_path: Path) -> None:
    assert complete("zsh", "ocitool save -o ", scripts) == ["<files >"]
    assert complete("zsh", "ocitool --store ", scripts) == ["<files -/>"]
    (tmp_path / "rootfs.tar").write_text("")
    assert complete("fish", f"ocitool import {tmp_path}/ro", scripts) == [f"{tmp_path}/rootfs.tar"]


@pytest.mark.parametrize("shell", SHELLS)
def test_local_image_and_container_names(shell: str, engine: str, scripts: Path) -> None:
    """Names come from the backend given on the line, with one list call."""
    images = complete(shell, f"ocitool --backend {engine} rmi ocitool-test/ch", scripts)
    assert set(images) == set(CHAIN)
    # bash offers what follows the colon, as it splits words there
    tags = complete(shell, f"ocitool -b {engine} history {BASE.split(':')[0]}:", scripts)
    want = {"1", "alias"} if shell == "bash" else {BASE, BASE.replace(":1", ":alias")}
    assert set(tags) == want
    assert complete(shell, f"ocitool -b {engine} stop {RUNNING[:-3]}", scripts) == [RUNNING]


def test_names_load_no_typer_rich_or_pydantic(tmp_path: Path) -> None:
    """A TAB waits for this: the images list call alone (docker here, on recorded
    output), printed one name a line."""
    env = _recorded_docker(tmp_path, "listing.json")
    loaded = _loaded("__complete", "images", "--backend", "docker", env=env)
    assert not loaded & {"typer", "rich", "pydantic", "ocitool.models", "ocitool.cli.app"}
    proc = ocitool("__complete", "images", "--backend", "docker", env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout and all(":" in n or len(n) == 12 for n in proc.stdout.splitlines())


def test_names_come_from_the_engine_the_root_options_choose(
    lab: Lab, scripts: Path, tmp_path: Path
) -> None:
    """--host, -H, --connection and DOCKER_HOST choose the engine for a TAB as for the
    command: here the lab's dockerd, while the environment names a socket with none."""
    if "docker" not in ENGINES:
        return  # the lab's dockerd runs only when docker is tested
    build_images("docker", lab)
    nowhere = {"DOCKER_HOST": "unix:///nowhere.sock"}
    wanted = ocitool(
        "-b", "docker", "-H", lab.docker_host, "images", "--format", "{{.Repository}}:{{.Tag}}"
    )
    assert wanted.returncode == 0 and BASE in wanted.stdout.split()
    config = tmp_path / "docker-config"
    context = ["docker", "context", "create", "lab-here", "--docker", f"host={lab.docker_host}"]
    made = subprocess.run(context, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "DOCKER_CONFIG": str(config)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    for root, env in (
        (["-H", lab.docker_host], nowhere),
        ([f"--host={lab.docker_host}"], nowhere),
        (["--connection", "lab-here"], {**nowhere, "DOCKER_CONFIG": str(config)}),
        ([], {"DOCKER_HOST": lab.docker_host}),
    ):
        proc = ocitool("__complete", "images", "-b", "docker", *root, env=env)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert BASE in proc.stdout.split(), (root, proc.stdout)
        offered = complete("bash", f"ocitool -b docker {' '.join(root)} rmi ocitool-test/ch",
                           scripts, env)  # fmt: skip
        assert set(offered) == set(CHAIN), root
    alone = ocitool("__complete", "images", "-b", "docker", env=nowhere)
    assert (alone.returncode, alone.stdout) == (0, "")  # the environment's socket: nothing
    assert complete("bash", "ocitool -b docker rmi ocitool-test/ch", scripts, nowhere) == []
    both = ocitool("__complete", "images", "-b", "docker", "-H", lab.docker_host,
                   "--connection", "lab-here", env=nowhere)  # fmt: skip
    assert (both.returncode, both.stdout) == (0, "")  # a usage error in a command: nothing


def test_the_root_options_completion_reads_are_the_clis() -> None:
    """ocitool.cli.state.ROOT_VALUED, which `__complete` reads without typer, lists
    every root option of the CLI that takes a value, and nothing else."""
    from ocitool.cli.state import ROOT_VALUED, root_options
    from ocitool.completion import spec

    [valued] = [r.value for r in spec() if r.command == "" and r.field == "valued"]
    assert set(ROOT_VALUED) == set(valued.split())
    assert root_options(["-b", "docker", "--host=tcp://h:1", "--debug", "--store", "/s"]) == {
        "backend": "docker",
        "host": "tcp://h:1",
        "store": "/s",
    }
    assert root_options(["-H=x", "--connection", "c"]) == {"connection": "c"}


def test_names_say_nothing_when_the_engine_cannot() -> None:
    env = {"DOCKER_HOST": "unix:///nowhere.sock"}
    proc = ocitool("__complete", "images", "--backend", "docker", env=env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert ocitool("__complete", "images", "--backend", "nosuch").stdout == ""


def test_zsh_and_fish_scripts_parse(scripts: Path) -> None:
    for argv in (
        ["zsh", "-n", str(scripts / "ocitool.zsh")],
        ["fish", "--no-execute", str(scripts / "ocitool.fish")],
        ["bash", "-n", str(scripts / "ocitool.bash")],
    ):
        subprocess.run(argv, check=True, timeout=30, capture_output=True)
