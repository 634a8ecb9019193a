"""A build, checked once by the client on every backend before any engine is asked.

The context must be a directory, the Dockerfile a file (inside the context or
not, as docker's -f allows), the tags names an image can have, --build-arg and
--label KEY=VALUE pairs, --target a stage the Dockerfile names, and every COPY
or ADD source without --from, its ARGs and ENVs expanded, a path inside the
context. So each of those mistakes is the same one line (exit 2) on docker,
podman and oci. `plan` numbers the steps the same way for every builder.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.building import BuildRequest
from ocitool.errors import UsageError

if TYPE_CHECKING:
    from ocitool.dockerfile import Dockerfile, Instruction, Stage

_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REMOTE = re.compile(r"^(?:https?://|git@|git://)")


@dataclass(frozen=True)
class PlannedStep:
    """One step of a build: a stage's FROM, or one instruction of it.

    Steps are numbered from 1 over the stages up to the target, FROM lines
    included and the ARGs before the first FROM left out, so `STEP 3/7` is the
    same step on every backend (an engine that skips a stage the target does
    not need reports fewer steps, never other numbers).
    """

    step: int
    stage: Stage
    instruction: Instruction | None  # None: the stage's FROM

    @property
    def line(self) -> int:
        return self.stage.line if self.instruction is None else self.instruction.line

    @property
    def text(self) -> str:
        return self.stage.text if self.instruction is None else self.instruction.text

    @property
    def keyword(self) -> str:
        return "FROM" if self.instruction is None else self.instruction.keyword


def plan(parsed: Dockerfile, target: str | None) -> list[PlannedStep]:
    """Every step of the stages up to `target` (the last stage when None), in order."""
    last = parsed.target(target).index
    steps: list[PlannedStep] = []
    for stage in parsed.stages[: last + 1]:
        steps.append(PlannedStep(len(steps) + 1, stage, None))
        for instruction in stage.instructions:
            steps.append(PlannedStep(len(steps) + 1, stage, instruction))
    return steps


def make_request(
    context: str | Path,
    *,
    dockerfile: str | Path | None = None,
    tags: Sequence[str] = (),
    build_args: Sequence[str] = (),
    labels: Sequence[str] = (),
    target: str | None = None,
    no_cache: bool = False,
    network: str = "host",
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildRequest:
    """The request `build` hands a builder; UsageError (exit 2) on the first mistake.

    A `--build-arg KEY` without `=` takes KEY's value from `environ` (the
    process environment), and is left out when it is not set there, as docker does.
    """
    from ocitool.dockerfile import parse
    from ocitool.lifecycle import target_name

    where = Path(context)
    if not where.is_dir():
        raise UsageError(
            f"build context {str(where)!r} is not a directory",
            hint="give the folder the Dockerfile's COPY sources are in, e.g. ocitool build .",
        )
    where = where.resolve()
    file = Path(dockerfile) if dockerfile is not None else where / "Dockerfile"
    if not file.is_file():
        raise UsageError(
            f"no Dockerfile at {str(file)!r}", hint="write one there, or name it with -f PATH"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {exc}", hint="check the file") from exc
    parsed = parse(text, name=file.name)
    if network not in ("none", "host"):
        raise UsageError(
            f"--network={network!r} is not a build network", hint="use --network none or host"
        )
    if platform is not None:
        from ocitool.manifests import wanted

        wanted(platform)  # os/arch[/variant], or exit 2
    request = BuildRequest(
        context=where,
        dockerfile=file.resolve(),
        parsed=parsed,
        tags=tuple(dict.fromkeys(target_name(tag) for tag in tags)),
        build_args=_build_args(build_args, os.environ if environ is None else environ),
        labels=tuple(_pair(label, "--label") for label in labels),
        target=target,
        no_cache=no_cache,
        network="none" if network == "none" else "host",
        platform=platform,
    )
    check_sources(request, plan(parsed, target))
    return request


def _pair(text: str, option: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip() or key != key.strip():
        raise UsageError(f"{option} {text!r} is not KEY=VALUE", hint=f"e.g. {option} version=1.2")
    return key, value


def _build_args(given: Sequence[str], environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for text in given:
        key, eq, value = text.partition("=")
        if not _ARG_NAME.fullmatch(key):
            raise UsageError(
                f"--build-arg {text!r} does not start with an ARG name",
                hint="use --build-arg NAME=VALUE, or --build-arg NAME to take NAME's value"
                " from the environment",
            )
        if eq:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return tuple(out.items())


def check_sources(request: BuildRequest, steps: Sequence[PlannedStep]) -> None:
    """Every COPY/ADD source from the context, expanded, stays inside the context."""
    from ocitool.dockerfile import pairs, words

    parsed = request.parsed
    given = dict(request.build_args)
    scope_global = _global_args(parsed, given)
    scopes: dict[int, dict[str, str]] = {}
    for step in steps:
        scope = scopes.setdefault(step.stage.index, {})
        ins = step.instruction
        if ins is None:
            continue
        if ins.keyword == "ARG":
            for key, default in pairs(ins, scope):
                value = given.get(key, default if default is not None else scope_global.get(key))
                if value is not None:
                    scope[key] = value
        elif ins.keyword == "ENV":
            scope.update({k: v or "" for k, v in pairs(ins, scope)})
        elif ins.keyword in ("COPY", "ADD") and ins.flag("from") is None:
            *sources, _ = words(ins, scope, escape=parsed.escape)
            for source in sources:
                if ins.keyword == "ADD" and _REMOTE.match(source):
                    continue
                _inside(source, ins, request, parsed.name)


def _global_args(parsed: Dockerfile, given: Mapping[str, str]) -> dict[str, str]:
    from ocitool.dockerfile import pairs

    scope: dict[str, str] = {}
    for ins in parsed.args:
        for key, default in pairs(ins, scope):
            value = given.get(key, default)
            if value is not None:
                scope[key] = value
    return scope


def _inside(source: str, ins: Instruction, request: BuildRequest, name: str) -> None:
    """Docker reads a source relative to the context's root, `/` included."""
    relative = posixpath.normpath(source.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        raise UsageError(
            f"{name} line {ins.line}: {ins.keyword} source {source!r} is outside the build"
            f" context {request.context}",
            hint="copy the file into the context, or build from a folder that holds it",
        )
