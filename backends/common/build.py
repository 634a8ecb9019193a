"""`build` on docker and podman: the engine's own builder, driven and read line by line.

Both CLIs take the same options (`--file`, `--tag`, `--build-arg`, `--label`,
`--target`, `--no-cache`, `--network`, `--platform`, `--iidfile`, `--force-rm`)
and send the context to the engine themselves, local or remote. What differs
is a BuildDialect in each backend's own package: the fixed options and
environment, how a step's first line reads (docker's classic builder: `Step
3/7 : RUN make`, counting the ARGs before FROM; podman: `[2/3] STEP 1/5: FROM
…`, counting within a stage), the words for a cached step, the engine's own
chatter, and how a failing step is said (each backend's failures.py). The
steps are renumbered as ocitool.build_request.plan numbers them, so every
backend reports the same step for the same instruction. The image ID is read
from `--iidfile`; the engine applies the tags only once the image is whole.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol

from ocitool.build_request import PlannedStep, plan
from ocitool.building import BuildEvent, BuildRequest, OnBuildEvent
from ocitool.dockerfile import LAYER_KEYWORDS

if TYPE_CHECKING:
    from ocitool.errors import OcitoolError
    from ocitool.models import BuildResult, BuildStep, Image
    from ocitool.runner import Completed, Runner

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # docker paints a RUN's stderr red


@dataclass(frozen=True)
class BuildDialect:
    """How one engine's `build` is asked and how its output reads."""

    options: tuple[str, ...]  # always passed, before the request's own
    env: Mapping[str, str]
    header: re.Pattern[str]  # a step's first line; groups `index`, and podman's `stage`
    step_of: Callable[[re.Match[str], Sequence[PlannedStep], int], PlannedStep | None]
    cached: re.Pattern[str]
    chatter: re.Pattern[str]  # the engine's own lines, not a command's output
    streams: tuple[str, ...]  # where a RUN's output comes (docker: all on stdout)
    failed: Callable[[Completed, PlannedStep | None, str], OcitoolError | None]


@dataclass
class _Reading:
    """The steps seen so far while the engine builds, and the events said of them."""

    on_event: OnBuildEvent
    steps: list[BuildStep] = field(default_factory=list)
    current: PlannedStep | None = None
    cached: bool = False
    last_output: str = ""

    def start(self, step: PlannedStep) -> None:
        self.close()
        self.current, self.cached, self.last_output = step, step.keyword == "FROM", ""
        self.on_event(BuildEvent("step", step.step, step.text))

    def close(self) -> None:
        step = self.current
        if step is None:
            return
        from ocitool.models import BuildStep

        self.steps.append(
            BuildStep(
                step=step.step,
                stage=step.stage.label,
                line=step.line,
                instruction=step.text,
                cached=self.cached,
                layer=step.keyword in LAYER_KEYWORDS,
            )
        )
        self.on_event(BuildEvent("done", step.step, "", self.cached))
        self.current = None


class BuildingCLI(Protocol):
    """What `build_with` needs of a backend (backends' ContainerCLI has it all)."""

    @property
    def name(self) -> str: ...

    @property
    def runner(self) -> Runner: ...

    @property
    def build_dialect(self) -> BuildDialect: ...

    @property
    def command(self) -> list[str]: ...

    def engine_env(self) -> Mapping[str, str] | None: ...

    def inspect(self, refs: Sequence[str]) -> list[Image]: ...

    def canonical_name(self, ref: str) -> str: ...

    def raise_for(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> NoReturn: ...


def build_with(engine: BuildingCLI, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
    """The `image-build` capability of a docker-style CLI."""
    from ocitool.errors import UnexpectedOutput
    from ocitool.models import BuildResult

    dialect = engine.build_dialect
    steps = plan(request.parsed, request.target)
    globals_ = len(request.parsed.args)
    reading = _Reading(on_event)

    def on_line(stream: str, raw: str) -> None:
        line = _COLOUR.sub("", raw)
        header = dialect.header.match(line)
        if header is not None:
            step = dialect.step_of(header, steps, globals_)
            if step is not None:
                reading.start(step)
            return
        if dialect.cached.match(line):
            reading.cached = True
        elif (
            stream in dialect.streams
            and not dialect.chatter.match(line)
            and reading.current is not None
        ):
            reading.last_output = line or reading.last_output
            on_event(BuildEvent("output", reading.current.step, line))

    workdir = Path(tempfile.mkdtemp(prefix="ocitool-build-"))
    try:
        iidfile = workdir / "iid"
        argv = [*engine.command, "build", *dialect.options, *_options(request, iidfile)]
        env = {**(engine.engine_env() or {}), **dialect.env}
        engine.runner.meanwhile(lambda: import_module("ocitool.models"))  # for the result
        done = engine.runner.stream(argv, on_line, timeout=engine.runner.run_timeout, env=env)
        if not done.ok:
            failure = dialect.failed(done, reading.current, reading.last_output)
            if failure is not None:
                raise failure
            engine.raise_for(done)
        reading.close()
        image_id = iidfile.read_text().strip() if iidfile.is_file() else ""
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not image_id.startswith("sha256:"):
        raise UnexpectedOutput(done.argv, ValueError(f"--iidfile held {image_id!r}"))
    image = engine.inspect([image_id])[0]
    return BuildResult(
        image_id=image_id,
        names=[engine.canonical_name(tag) for tag in request.tags],
        steps=reading.steps,
        layers=len(image.layers),
        backend=engine.name,
    )


def _options(request: BuildRequest, iidfile: Path) -> list[str]:
    """The request as the options both CLIs share, the context last, after `--`."""
    return [
        f"--iidfile={iidfile}",
        "--force-rm",  # a failed step leaves no container behind
        f"--file={request.dockerfile}",
        *[f"--tag={tag}" for tag in request.tags],
        *[f"--build-arg={key}={value}" for key, value in request.build_args],
        *[f"--label={key}={value}" for key, value in request.labels],
        *([f"--target={request.target}"] if request.target is not None else []),
        *(["--no-cache"] if request.no_cache else []),
        f"--network={request.network}",
        *([f"--platform={request.platform}"] if request.platform else []),
        "--",
        str(request.context),
    ]


def nth_step(steps: Sequence[PlannedStep], number: int) -> PlannedStep | None:
    """The planned step numbered `number`, if the plan has it."""
    return steps[number - 1] if 1 <= number <= len(steps) else None


def stage_step(steps: Sequence[PlannedStep], stage: int, index: int) -> PlannedStep | None:
    """The `index`-th step (1: its FROM) of the stage numbered `stage` from 0."""
    within = [s for s in steps if s.stage.index == stage]
    return within[index - 1] if 1 <= index <= len(within) else None


def step_failure(
    stderr: str,
    step: PlannedStep | None,
    said: str,
    *,
    exited: re.Pattern[str],
    unreachable: re.Pattern[str],
) -> OcitoolError | None:
    """The error of a failed build, read from the engine's words: `exited` (its group 1
    the code) is a RUN that failed, BuildStepFailed; `unreachable` (group 1 the reason)
    a FROM image whose registry does not answer, exit 5; None for anything else."""
    from ocitool.errors import BackendUnavailable, BuildStepFailed

    code = exited.search(stderr)
    if code and step is not None:
        return BuildStepFailed(step.step, step.line, step.text, int(code.group(1)), said)
    pull = unreachable.search(stderr)
    if pull and (step is None or step.keyword == "FROM"):
        where = f" ({step.stage.text}, line {step.line})" if step is not None else ""
        return BackendUnavailable(
            "registry",
            f"cannot pull the base image{where}: {pull.group(1).strip()}",
            hint="is the registry running? or pull or load the image first (ocitool pull, load)",
        )
    return None
