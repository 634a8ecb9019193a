"""How runc says a container's command could not start: docker, podman and the
oci backend all run runc here (docs/engines.md, Set-up), and each wraps the same words.

`exec: "/nonexistent": stat /nonexistent: no such file or directory` is a
command that does not exist (exit 127, as `docker run` and a shell exit), and
`exec: "/bin": permission denied` one that cannot be executed (126).
"""

from __future__ import annotations

import re
import sys

from ocitool.errors import CommandNotExecutable, CommandNotFound, OcitoolError

# The line an engine prints when runc could not start an exec'd command (its quotes
# escaped where runc's own log prints them).
EXEC_FAILED = re.compile(r"exec failed: ")
_CHDIR = re.compile(
    r'chdir to cwd \(\\?"(?P<dir>[^"\\]*)\\?"\) set in config.json failed: (?P<why>[^:"]*)'
)
_EXEC = re.compile(r'exec: "(?P<command>[^"]*)": (?P<why>.*)')
_NOT_FOUND = ("no such file or directory", "executable file not found", "not a directory")


def start_failure(text: str, *, backend: str) -> OcitoolError | None:
    """The error for runc's words in `text`, or None when they are not about the command."""
    chdir = _CHDIR.search(text)
    if chdir is not None:
        return CommandNotExecutable(
            f"cannot change to the working directory {chdir['dir']} in the container on "
            f"{backend}: {chdir['why'].strip()}",
            hint="give a directory that exists in the container (-w)",
        )
    match = _EXEC.search(text.replace('\\"', '"'))
    if match is None:
        return None
    command, why = match["command"], match["why"].lower()
    if "permission denied" in why:
        return CommandNotExecutable(
            f"{command} cannot be executed in the container on {backend}: permission denied",
            hint="it is not an executable file: give the program that runs it, "
            "or make it executable in the image",
        )
    if any(words in why for words in _NOT_FOUND):
        return CommandNotFound(
            f"{command} was not found in the container on {backend}",
            hint="check the command's path in the image: 'ocitool layers --files IMAGE' "
            "lists its files",
        )
    return None


def failed(code: int, held: str, *, backend: str, terminal: bool) -> None:
    """Raise what runc's held words say of a command that could not start; lines that
    only looked like them (the command's own, as it exits non-zero) are given back."""
    failure = start_failure(held, backend=backend) if code != 0 and held else None
    if failure is not None:
        raise failure
    if held and terminal:
        sys.stderr.write(held)
        sys.stderr.flush()
