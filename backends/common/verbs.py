"""The container verbs docker and podman share: inspect, logs, exec, cp, wait, kill, export.

Both CLIs take the same argv for each. Before a verb that runs on the user's
terminal (logs, exec) or that needs a running container (exec, kill), one
`container inspect` of every named container says which are missing (3) or
not running (8), so those are ocitool's errors, never an engine's text on the
terminal. runc's words on a command that cannot start (common/runc.py) are
held back from the terminal and said as ocitool's one line, 127 or 126.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.backends.common.cli import EngineCLI
from ocitool.backends.common.parsing import json_documents
from ocitool.backends.common.runc import EXEC_FAILED, failed
from ocitool.engine import Exited, Output
from ocitool.errors import NotRunning, PathNotFound, parsing_output

if TYPE_CHECKING:
    from ocitool.models import Container

# docker: "Could not find the file /x in container c"; podman: '"/x" could not be found on
# container c: no such file or directory'
_NO_PATH = re.compile(r'Could not find the file (\S+) in container|"([^"]+)" could not be found')
# A leading RFC 3339 time (podman prints its offset, docker a Z): said as docker says it.
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:00) ")


class ContainerCLI(EngineCLI):
    """EngineCLI with the verbs on containers that both engines' CLIs share."""

    def inspect_containers(self, containers: Sequence[str]) -> list[Container]:
        result = self.ok(
            self.run(["container", "inspect", "--", *containers]), containers=containers
        )
        parse = import_module(self.parsers).parse_inspected
        with parsing_output(result.argv):
            return [parse(doc) for doc in json_documents(result.stdout)]

    def states(self, containers: Sequence[str]) -> list[str]:
        """Each container's state, in order; ContainerNotFound names every missing one."""
        argv = ["container", "inspect", "--format", "{{.State.Status}}", "--", *containers]
        return self.ok(self.run(argv), containers=containers).stdout.split()

    def _running(self, containers: Sequence[str], verb: str) -> None:
        for name, state in zip(containers, self.states(containers), strict=False):
            if state != "running":
                raise NotRunning(name, verb)

    def logs(
        self, container: str, *, follow: bool, tail: int | None, timestamps: bool, terminal: bool
    ) -> Output:
        self.states([container])
        argv = [
            *self.command,
            "logs",
            *(["--follow"] if follow else []),
            *([f"--tail={tail}"] if tail is not None else []),
            *(["--timestamps"] if timestamps else []),
            "--",
            container,
        ]

        def relay(stream: str, line: str) -> None:
            if terminal:
                out = sys.stdout if stream == "stdout" else sys.stderr
                out.write(said_as_docker(line) + "\n")
                out.flush()

        timeout = self.runner.run_timeout if follow else None
        # what went to the terminal is not kept too: a follow may run for days
        done = self.runner.stream(
            argv, relay, timeout=timeout, env=self.engine_env(), keep=not terminal
        )
        self.ok(done, containers=[container])
        if terminal:
            return Output()
        return Output(_lines(done.stdout), _lines(done.stderr))

    def exec(
        self,
        container: str,
        command: Sequence[str],
        *,
        interactive: bool,
        tty: bool,
        user: str | None,
        workdir: str | None,
        env: Sequence[str],
        terminal: bool,
    ) -> Exited:
        self._running([container], "exec in")
        argv = [
            *self.command,
            "exec",
            *(["--interactive"] if interactive else []),
            *(["--tty"] if tty else []),
            *([f"--user={user}"] if user is not None else []),
            *([f"--workdir={workdir}"] if workdir is not None else []),
            *[f"--env={e}" for e in env],
            "--",
            container,
            *command,
        ]
        timeout = self.runner.run_timeout
        if terminal:
            # docker writes the runtime's failure to stdout; a terminal's output stays raw
            code, held = self.runner.attached_holding(
                argv, _exec_failed, timeout=timeout, env=self.engine_env(), stdout_too=not tty
            )
            done = None
        else:
            done = self.runner.run(argv, timeout=timeout, env=self.engine_env())
            said = done.stdout.splitlines(True) + done.stderr.splitlines(True)
            code, held = done.returncode, "".join(line for line in said if _exec_failed(line))
        failed(code, held, backend=self.name, terminal=done is None)
        if done is None:
            return Exited(code)
        return Exited(code, done.stdout, done.stderr)

    def copy_from(self, container: str, path: str, destination: Path) -> None:
        self._copy(f"{container}:{path}", str(destination.absolute()), container)

    def copy_to(self, source: Path, container: str, path: str) -> None:
        self._copy(str(source.absolute()), f"{container}:{path}", container)

    def _copy(self, source: str, destination: str, container: str) -> None:
        self.states([container])  # the engines word a missing container differently for cp
        result = self.run(["cp", "--", source, destination], timeout=self.runner.run_timeout)
        if not result.ok:
            missing = _NO_PATH.search(result.stderr)
            if missing:
                where = missing.group(1) or missing.group(2)
                raise PathNotFound(
                    f"{where} does not exist in container {container} on {self.name}",
                    hint=f"list it with 'ocitool exec {container} ls -la DIR'",
                )
            self.raise_for(result, containers=[container])

    def wait(self, containers: Sequence[str]) -> list[int]:
        self.states(containers)
        done = self.run(["wait", "--", *containers], timeout=self.runner.run_timeout)
        return [int(code) for code in self.ok(done, containers=containers).stdout.split()]

    def kill(self, containers: Sequence[str], *, signal: str) -> None:
        self._running(containers, "kill")
        self.ok(self.run(["kill", f"--signal={signal}", "--", *containers]), containers=containers)

    def export(self, container: str, destination: Path) -> None:
        argv = ["export", f"--output={destination}", "--", container]
        self.ok(self.run(argv, timeout=self.runner.run_timeout), containers=[container])


def said_as_docker(line: str) -> str:
    """A `--timestamps` line with its time as docker prints it: UTC, with a Z."""
    match = _STAMP.match(line)
    if match is None or match.group(3) == "Z":
        return line
    return f"{match.group(1)}{match.group(2) or ''}Z {line[match.end() :]}"


def _lines(text: str) -> str:
    return "".join(said_as_docker(line) + "\n" for line in text.splitlines())


def _exec_failed(line: str) -> bool:
    return EXEC_FAILED.search(line) is not None
