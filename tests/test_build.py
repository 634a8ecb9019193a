"""`ocitool build` on every backend, through the CLI and the API: one Dockerfile gives the
same layers, config and files everywhere; a rebuild is cached; a failing RUN, a COPY from
outside the context and a syntax error are the same one line and exit code everywhere;
nothing half-built keeps a name (docs/build.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from ocitool.building import BuildEvent
from ocitool.client import Client
from ocitool.errors import BuildStepFailed, UsageError
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
        seen[engine] = (image.config, _files(client, name))
        client.rmi(name)
    first = next(iter(seen.values()))
    assert first[0].working_dir == "/app" and first[0].user == "1000"
    assert first[0].labels == {"org.example.version": "1"}
    assert first[0].env[1:] == ["APP_HOME=/app", "VERSION=1"]
    assert first[0].entrypoint == ["sh", "-c"] and first[0].cmd == ["cat /app/out.txt"]
    assert first[1][1] == [("/app/out.txt", "added", 17, "file")]
    for engine, found in seen.items():
        assert found == first, engine


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
    """--build-arg (KEY=VALUE, and KEY from the environment), --target, --label."""
    context = _context(tmp_path / "context")
    named.append("ot-build/target:1")
    proc = ocitool(
        *("-b", engine, "build", "-q", "--network", "none", "-t", named[0]),
        *("--target", "builder", "--build-arg", "GREETING=hi", "--label", "made.by=test"),
        *("--build-arg", "FROM_ENV", str(context)),
        env={"FROM_ENV": "unused"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == client.inspect(named[0])[0].id
    assert _output(client, named[0], "cat", "/src/out.txt") == "hi from world\n"
    image = client.inspect(named[0])[0]
    assert image.config.labels == {"made.by": "test"}
    assert image.config.working_dir == "/src" and len(image.layers) == 4


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
