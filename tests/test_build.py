"""`ocitool build` on every backend, through the CLI and the API: one Dockerfile gives the
same layers, config and files everywhere; a rebuild is cached; a failing RUN, a COPY from
outside the context and a syntax error are the same one line and exit code everywhere;
nothing half-built keeps a name (docs/build.md)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ocitool.building import BuildEvent
from ocitool.client import Client
from ocitool.errors import BuildStepFailed, OcitoolError, UsageError
from tests import lab as lab_setup
from tests.conftest import BASE, ENGINES, Lab, build_images, tag_outside
from tests.test_cli import ocitool, one_error_line
from tests.test_schema import schema, validate

DOCKERFILE = f"""\
ARG BASE={BASE}
FROM ${{BASE}} AS builder
ARG GREETING=hello
RUN mkdir -p /src
WORKDIR /src
COPY greeting.txt ./
RUN echo "$GREETING from $(cat greeting.txt)" > out.txt
FROM {BASE}
ARG VERSION=1
ENV APP_HOME=/app VERSION=$VERSION
LABEL org.example.version=$VERSION
RUN mkdir -p /app
WORKDIR /app
COPY --from=builder /src/out.txt ./
COPY . /ctx/
USER 1000
EXPOSE 8080
ENTRYPOINT ["sh", "-c"]
CMD ["cat /app/out.txt"]
"""
STEPS = 18  # every instruction of both stages, FROMs included, the ARG before them not
COPY_GREETING = 5  # its step number
LAYERS = 4  # the base, RUN mkdir /app, and the two COPYs of the last stage
# empty files a RUN's container gets mounted over; podman's layer keeps them (docs/build.md)
MOUNT_POINTS = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}


def _context(where: Path, dockerfile: str = DOCKERFILE) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "Dockerfile").write_text(dockerfile)
    (where / "greeting.txt").write_text("world\n")
    (where / "ignored.txt").write_text("not sent\n")
    (where / ".dockerignore").write_text("ignored.txt\n")
    return where


@pytest.fixture(scope="module", autouse=True)
def _leaves_no_images(lab: Lab) -> Iterator[None]:
    """The step images of the builds here (a builder stage's stay untagged) go at the end,
    so later tests see the stores as they were."""
    before = {}
    for engine in ENGINES:
        build_images(engine, lab)
        before[engine] = {i.id for i in Client(backend=engine).images(all=True)}
    yield
    for engine in ENGINES:
        client = Client(backend=engine)
        left = [i.id for i in client.images(all=True) if i.id not in before[engine]]
        if engine == "oci":  # children first: a parent goes once nothing is built on it
            for _ in range(len(left)):
                for image_id in list(left):
                    with contextlib.suppress(OcitoolError):
                        client.rmi(image_id, force=True)
                        left.remove(image_id)
        elif left:
            lab_setup.engine([engine, "rmi", "--force", *left], check=False)


@pytest.fixture
def named(client: Client) -> Iterator[list[str]]:
    """Names a test builds; removed afterwards with what only they held."""
    made: list[str] = []
    yield made
    present = {n for image in client.images() for n in image.names}
    gone = [n for n in made if client.backend.canonical_name(n) in present]
    if gone:
        client.rmi(*gone)


def _output(client: Client, image: str, *command: str) -> str:
    result = client.run(image, list(command), network="none", remove=True)
    assert result.exit_code == 0, result
    return result.stdout or ""


def _files(client: Client, image: str) -> list[list[tuple[str, str, int, str]]]:
    """Each layer's files above the base, the runtime's mount points aside."""
    found = client.layer_files(image)
    return [
        sorted(
            (f.path, f.change, f.size, f.kind)
            for f in layer.files
            if not (f.path in MOUNT_POINTS and f.size == 0)
        )
        for layer in found.layers[1:]
    ]


def test_one_dockerfile_builds_the_same_image_on_every_backend(lab: Lab, tmp_path: Path) -> None:
    """Through the CLI, on each backend: the same layers, config and files."""
    context = _context(tmp_path / "context")
    seen = {}
    for engine in ENGINES:
        build_images(engine, lab)
        name = f"ot-build/same-{engine}:1"
        proc = ocitool(
            "-b", engine, "build", "-t", name, "--network", "none", "--format", "json", str(context)
        )
        assert proc.returncode == 0, proc.stderr
        result = validate("build", proc.stdout)
        client = Client(backend=engine)
        image = client.inspect(name)[0]
        assert result["image_id"] == image.id and result["layers"] == LAYERS == len(image.layers)
        assert result["names"] == [client.backend.canonical_name(name)]
        assert [s["step"] for s in result["steps"]] == list(range(1, STEPS + 1))
        assert [s["line"] for s in result["steps"]][:3] == [2, 3, 4]
        assert {s["stage"] for s in result["steps"]} == {"builder", "1"}
        assert sum(s["layer"] for s in result["steps"]) == 6  # 3 RUNs, 3 COPYs
        assert _output(client, name, "cat /app/out.txt; ls -A /ctx") == (
            "hello from world\n.dockerignore\nDockerfile\ngreeting.txt\n"
        )
        history = client.history(name)  # newest first: the build's steps, then the base's
        empty = [step.empty for step in history[: len(history) - len(client.history(BASE))]]
        seen[engine] = (image.config, _files(client, name), empty)
        client.rmi(name)
    first = next(iter(seen.values()))
    assert first[0].working_dir == "/app" and first[0].user == "1000"
    assert first[0].labels == {"org.example.version": "1"}
    assert first[0].env[1:] == ["APP_HOME=/app", "VERSION=1"]
    assert first[0].entrypoint == ["sh", "-c"] and first[0].cmd == ["cat /app/out.txt"]
    assert first[1][1] == [("/app/out.txt", "added", 17, "file")]
    # CMD ENTRYPOINT EXPOSE USER, COPY COPY, WORKDIR, RUN, LABEL ENV ARG
    assert first[2] == [True] * 4 + [False] * 2 + [True, False] + [True] * 3
    unlike = [
        (engine, what, mine, theirs)
        for engine, found in seen.items()
        for what, mine, theirs in zip(("config", "files", "empty"), found, first, strict=True)
        if mine != theirs
    ]
    assert unlike == []


def test_a_rebuild_is_cached_and_a_changed_file_rebuilds_from_its_step(
    client: Client, named: list[str], tmp_path: Path
) -> None:
    """Through the API, with the events as they come."""
    context = _context(tmp_path / "context")
    named.append("ot-build/cache:1")
    first = client.build(context, tags=named, network="none")
    events: list[BuildEvent] = []
    again = client.build(context, tags=named, network="none", on_event=events.append)
    assert again.image_id == first.image_id
    assert all(step.cached for step in again.steps), again.steps
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == list(range(1, STEPS + 1))
    done = [e for e in events if e.kind == "done"]
    assert all(e.cached for e in done[:-1]) and done[-1] == BuildEvent("done", 0, first.image_id)

    (context / "greeting.txt").write_text("there\n")
    changed = client.build(context, tags=named, network="none")
    assert changed.image_id != first.image_id
    cached = {step.step: step.cached for step in changed.steps}
    assert all(cached[n] for n in range(1, COPY_GREETING))
    assert not cached[COPY_GREETING] and not cached[COPY_GREETING + 1]
    assert _output(client, named[0], "cat /app/out.txt") == "hello from there\n"


def test_build_args_target_and_labels(
    client: Client, engine: str, named: list[str], tmp_path: Path
) -> None:
    """--build-arg (KEY from the environment, KEY=VALUE through the API), --target, --label."""
    context = _context(tmp_path / "context")
    named.append("ot-build/target:1")
    proc = ocitool(
        *("-b", engine, "build", "-q", "--network", "none", "-t", named[0]),
        *("--target", "builder", "--build-arg", "GREETING", "--label", "made.by=test"),
        *("--build-arg", "UNSET", str(context)),  # not in the environment: left out
        env={"GREETING": "hi"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == client.inspect(named[0])[0].id
    assert _output(client, named[0], "cat", "/src/out.txt") == "hi from world\n"
    image = client.inspect(named[0])[0]
    assert image.config.labels == {"made.by": "test"}
    assert image.config.working_dir == "/src" and len(image.layers) == 4
    client.build(context, tags=named, target="builder", build_args=["GREETING=hey"], network="none")
    assert _output(client, named[0], "cat", "/src/out.txt") == "hey from world\n"


def test_a_failing_run_exits_with_its_code_and_moves_no_name(
    client: Client, engine: str, named: list[str], tmp_path: Path
) -> None:
    name = "ot-build/failing:1"
    named.append(name)
    tag_outside(engine, BASE, name)
    before = client.inspect(name)[0].id
    text = f'FROM {BASE}\nRUN echo first > /first\nRUN echo said; \\\n  exit 3\nCMD ["x"]\n'
    context = _context(tmp_path / "context", text)
    proc = ocitool("-b", engine, "build", "-q", "-t", name, "--network", "none", str(context))
    assert proc.returncode == 3, proc.stderr
    line = one_error_line(proc)  # -q: no progress, the error alone
    assert "build step 3 (Dockerfile line 3) 'RUN echo said; exit 3' exited 3" in line, line
    assert client.inspect(name)[0].id == before  # the name still names the old image
    with pytest.raises(BuildStepFailed) as failed:
        client.build(context, tags=[name], network="none")
    assert (failed.value.step, failed.value.line, failed.value.exit_code) == (3, 3, 3)
    assert client.inspect(name)[0].id == before


@pytest.mark.parametrize(
    ("dockerfile", "said"),
    [
        (f"FROM {BASE}\nARG UP=..\nCOPY $UP/secret /x\n", "Dockerfile line 3: COPY source"),
        (f"FROM {BASE}\nADD /../../etc/passwd /x\n", "Dockerfile line 2: ADD source"),
        (f"FROM {BASE}\n\nRUN\n", "Dockerfile line 3: RUN needs an argument"),
        (f"FROM {BASE}\nCOPY --from=nowhere --mode=1 a b\n", "Dockerfile line 2: unknown flag"),
    ],
)
def test_mistakes_are_one_line_before_any_engine_call(
    client: Client, engine: str, tmp_path: Path, dockerfile: str, said: str
) -> None:
    context = _context(tmp_path / "context", dockerfile)
    proc = ocitool("-b", engine, "build", str(context))
    assert proc.returncode == 2, proc.stderr
    assert said in one_error_line(proc)
    with pytest.raises(UsageError):
        client.build(context)
    assert client.runner.calls == []


def test_options_are_checked_before_any_engine_call(client: Client, tmp_path: Path) -> None:
    context = _context(tmp_path / "context")
    for mistake in (
        {"target": "nowhere"},
        {"tags": ["Bad Name"]},
        {"build_args": ["=x"]},
        {"labels": ["novalue"]},
        {"network": "bridge"},
        {"platform": "linux"},
        {"dockerfile": tmp_path / "missing"},
    ):
        with pytest.raises(UsageError):
            client.build(context, **mistake)
    with pytest.raises(UsageError):
        client.build(tmp_path / "not-there")
    assert client.runner.calls == []


def test_a_dockerfile_outside_the_context(client: Client, named: list[str], tmp_path: Path) -> None:
    """-f may name a file outside the context, as docker's -f may."""
    context = _context(tmp_path / "context")
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text(f"FROM {BASE}\nCOPY greeting.txt /g\n")
    named.append("ot-build/outside:1")
    result = client.build(context, dockerfile=outside, tags=named, network="none")
    assert result.layers == 2
    assert _output(client, named[0], "cat", "/g") == "world\n"


def test_progress_plain_and_json(engine: str, named: list[str], tmp_path: Path) -> None:
    """plain: `STEP n/m: …` and the commands' lines; json: BuildEventLine per line."""
    context = _context(tmp_path / "context", f"FROM {BASE}\nRUN echo said-by-run\nENV A=1\n")
    named.append("ot-build/progress:1")
    base = ("-b", engine, "build", "-t", named[0], "--network", "none", str(context))
    plain = ocitool(*base, "--progress", "plain", "--no-cache")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stderr.splitlines()
    assert lines[0] == f"STEP 1/3: FROM {BASE}"
    assert "STEP 2/3: RUN echo said-by-run" in lines and "said-by-run" in lines
    assert plain.stdout.splitlines()[-2] == f"Successfully tagged {named[0]}"
    shown = ocitool(*base, "--progress", "json")
    assert shown.returncode == 0, shown.stderr
    events = [json.loads(line) for line in shown.stderr.splitlines()]
    checker = jsonschema.Draft202012Validator({"$defs": schema()["$defs"], **schema()["progress"]})
    for event in events:
        checker.validate(event)
    assert [e["event"] for e in events if e["event"] != "output"] == ["step", "done"] * 3 + ["done"]
    assert all(e["cached"] for e in events if e["event"] == "done" and e["step"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_live_view_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto on a terminal: each step stays as a line (cached ones say so), the running
    command's last lines show below it and go with the view."""
    from ocitool.build_progress import TAIL, BuildProgress

    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with BuildProgress("auto") as shown:
        shown.planned(2)
        shown(BuildEvent("step", 1, f"FROM {BASE}"))
        shown(BuildEvent("done", 1, "", cached=True))
        shown(BuildEvent("step", 2, "RUN make"))
        for i in range(TAIL + 3):
            shown(BuildEvent("output", 2, f"compiling {i}"))
        time.sleep(0.5)  # the view redraws 4 times a second
        shown(BuildEvent("done", 2, "sha256:" + "0" * 64))
        shown(BuildEvent("done", 0, "sha256:" + "0" * 64))
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert f"STEP 1/2: FROM {BASE}  (cached)" in text
    assert "STEP 2/2: RUN make\n" in text
    assert f"compiling {TAIL + 2}" in text and "compiling 2" not in text  # the last lines


def test_plain_progress_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from ocitool.build_progress import BuildProgress

    with BuildProgress("auto") as shown:  # pytest's stderr is no terminal: plain
        shown.planned(1)
        shown(BuildEvent("step", 1, "RUN make"))
        shown(BuildEvent("output", 1, "cc"))
        shown(BuildEvent("done", 1, "", cached=True))
        shown(BuildEvent("done", 0, "sha256:" + "0" * 64))
    assert capsys.readouterr().err == "STEP 1/1: RUN make\ncc\n--> Using cache\n"


def test_a_base_whose_registry_does_not_answer_is_exit_5(engine: str, tmp_path: Path) -> None:
    """Nothing listens on 127.0.0.1:1: the same one line, exit 5, on every backend."""
    context = _context(tmp_path / "context", "FROM 127.0.0.1:1/nothing:1\nRUN true\n")
    proc = ocitool("-b", engine, "build", "-q", str(context))
    assert proc.returncode == 5, proc.stderr
    assert "registry" in one_error_line(proc)


def test_steps_are_numbered_alike_when_a_stage_is_skipped(engine: str, tmp_path: Path) -> None:
    """docker builds a stage the target does not need, podman and oci skip it: the
    failing step has one number everywhere, the plan's."""
    text = f"FROM {BASE} AS unused\nRUN echo unused\nFROM {BASE}\nRUN exit 5\n"
    proc = ocitool("-b", engine, "build", "-q", str(_context(tmp_path / "context", text)))
    assert proc.returncode == 5, proc.stderr
    assert "build step 4 (Dockerfile line 4) 'RUN exit 5' exited 5" in one_error_line(proc)
