"""The shell's side: `ocitool completion bash|zsh|fish`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the completion script for a shell (commands, options, local names).

    bash: eval "$(ocitool completion bash)" in ~/.bashrc;
    zsh: ocitool completion zsh > "${fpath[1]}/_ocitool";
    fish: ocitool completion fish > ~/.config/fish/completions/ocitool.fish.
    """
    from ocitool.completion import script

    typer.echo(script(shell.value), nl=False)
