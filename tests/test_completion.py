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

from tests.conftest import BASE, CHAIN, RUNNING
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


def complete(shell: str, line: str, scripts: Path) -> list[str]:
    """What `shell` offers at the end of `line` (TAB there)."""
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
        env=_env(scripts),
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
