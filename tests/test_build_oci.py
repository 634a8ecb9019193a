"""ocitool's own builder on the oci store, with real umoci, runc and skopeo.

Every build goes through the backend's API, as the client calls it:
`backend.build(BuildRequest(...), events.append)`, on the lab's busybox base.
What the builder writes is compared with what docker 20.10's classic builder
writes (the history texts below were read from the lab's dockerd).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool import capabilities as can
from ocitool.backends.oci.parsers import read_store
from ocitool.backends.oci.runtime import runtime_root
from ocitool.backends.oci.store import Store
from ocitool.building import BuildEvent, BuildRequest
from ocitool.client import Client
from ocitool.dockerfile import parse
from ocitool.errors import BuildStepFailed, NotSupported, PathNotFound, UsageError
from ocitool.models import BuildResult

BASE = "build-test/base:1"

EVERY_INSTRUCTION = """\
ARG BASE=build-test/base:1
FROM $BASE AS first
ARG X=y
ENV A=1 B="two words"
LABEL k=v
WORKDIR /work/dir
RUN echo hi $X > out
COPY a.txt /a.txt
COPY dir /d/
ADD a.txt dir/ /multi/
COPY --chown=1:2 a.txt /own
USER 0:0
EXPOSE 80/tcp 90
VOLUME /vol
STOPSIGNAL SIGTERM
MAINTAINER me
SHELL ["/bin/sh","-xc"]
RUN echo shell
RUN ["echo","exec"]
CMD echo cmd
ENTRYPOINT ["/bin/sh"]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of this module's own, with the lab's busybox image in it."""
    from tests.lab import busybox_tar

    work = tmp_path_factory.mktemp("build-oci")
    path = work / "store"
    Client(backend="oci", store=path).import_image(busybox_tar(work), BASE)
    return path


@pytest.fixture
def client(store: Path) -> Client:
    return Client(backend="oci", store=store)


@pytest.fixture
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "a.txt").write_text("a\n")
    (ctx / "dir" / "b.txt").write_text("b\n")
    (ctx / "dir" / "sub" / "c").write_text("c\n")
    return ctx


def build(
    client: Client,
    context: Path,
    dockerfile: str,
    *,
    tags: tuple[str, ...] = (),
    build_args: tuple[tuple[str, str], ...] = (),
    labels: tuple[tuple[str, str], ...] = (),
    target: str | None = None,
    no_cache: bool = False,
    network: str = "none",
    events: list[BuildEvent] | None = None,
) -> tuple[BuildResult, list[BuildEvent]]:
    path = context / "Dockerfile"
    path.write_text(dockerfile)
    request = BuildRequest(
        context,
        path,
        parse(dockerfile),
        tags,
        build_args,
        labels,
        target,
        no_cache,
        "host" if network == "host" else "none",
    )
    events = [] if events is None else events
    result = client.engines.need(can.IMAGE_BUILD).build(request, events.append)
    return result, events


def raw_config(store: Path, image_id: str) -> dict[str, object]:
    image = next(i for i in read_store(Store(store)) if i.id == image_id)
    return image.config


def run(client: Client, image: str, *command: str) -> str:
    done = client.run(image, list(command), remove=True, network="none")
    assert done.exit_code == 0, done
    return done.stdout or ""


def test_every_instruction_as_docker_writes_it(client: Client, store: Path, context: Path) -> None:
    result, events = build(
        client, context, EVERY_INSTRUCTION, tags=("built/every:1",), build_args=(("X", "z"),)
    )
    assert result.backend == "oci" and result.names == ["built/every:1"]
    assert [s.instruction for s in result.steps] == [
        line for line in EVERY_INSTRUCTION.splitlines()[1:]
    ]
    assert [s.layer for s in result.steps] == [
        line.split()[0] in ("RUN", "COPY", "ADD") for line in EVERY_INSTRUCTION.splitlines()[1:]
    ]
    assert result.layers == 1 + 7
    history = [step.created_by or "" for step in client.history("built/every:1")]
    assert history[:-1] == [
        '/bin/sh -xc #(nop)  ENTRYPOINT ["/bin/sh"]',
        '/bin/sh -xc #(nop)  CMD ["/bin/sh" "-xc" "echo cmd"]',
        "|1 X=z echo exec",
        "|1 X=z /bin/sh -xc echo shell",
        "/bin/sh -xc #(nop)  SHELL [/bin/sh -xc]",
        "/bin/sh -c #(nop)  MAINTAINER me",
        "/bin/sh -c #(nop)  STOPSIGNAL SIGTERM",
        "/bin/sh -c #(nop)  VOLUME [/vol]",
        "/bin/sh -c #(nop)  EXPOSE 80/tcp 90",
        "/bin/sh -c #(nop)  USER 0:0",
        history[10],
        history[11],
        history[12],
        history[13],
        "|1 X=z /bin/sh -c echo hi $X > out",
        "/bin/sh -c #(nop) WORKDIR /work/dir",
        "/bin/sh -c #(nop)  LABEL k=v",
        "/bin/sh -c #(nop)  ENV A=1 B=two words",
        "/bin/sh -c #(nop)  ARG X=y",
    ]
    assert history[10].startswith("/bin/sh -c #(nop) COPY --chown=1:2file:")
    assert history[10].endswith(" in /own ")
    assert history[11].startswith("/bin/sh -c #(nop) ADD multi:")
    assert history[12].startswith("/bin/sh -c #(nop) COPY dir:")
    assert history[13].startswith("/bin/sh -c #(nop) COPY file:")
    # the same file, copied twice, hashes the same
    assert history[10].split("file:")[1].split()[0] == history[13].split("file:")[1].split()[0]
    steps = client.history("built/every:1")
    assert all(s.empty for s in steps if "#(nop)  " in (s.created_by or ""))

    image = client.inspect("built/every:1")[0]
    assert image.config.env[-2:] == ["A=1", "B=two words"]
    assert image.config.labels == {"k": "v"}
    assert image.config.working_dir == "/work/dir"
    assert image.config.user == "0:0"
    assert image.config.cmd == ["/bin/sh", "-xc", "echo cmd"]
    assert image.config.entrypoint == ["/bin/sh"]
    assert image.author == "me"
    raw = raw_config(store, image.id)["config"]
    assert isinstance(raw, dict)
    assert raw["ExposedPorts"] == {"80/tcp": {}, "90/tcp": {}}
    assert raw["Volumes"] == {"/vol": {}}
    assert raw["StopSignal"] == "SIGTERM"

    # what the steps wrote, seen from a container of the image
    done = client.run(
        "built/every:1",
        [
            "-c",
            "cat /work/dir/out /a.txt /d/b.txt /d/sub/c /multi/a.txt /multi/b.txt /multi/sub/c;"
            "ls -ln /own; ls -ln /a.txt",
        ],
        remove=True,
        network="none",
    )
    lines = (done.stdout or "").splitlines()
    assert lines[:7] == ["hi z", "a", "b", "c", "a", "b", "c"]
    assert lines[7].split()[2:4] == ["1", "2"]  # --chown
    assert lines[8].split()[2:4] == ["0", "0"]  # COPY's files are root's
    # each RUN's output came as "output" events of its own step
    outputs = [(e.step, e.text) for e in events if e.kind == "output"]
    assert (17, "shell") in outputs and (17, "+ echo shell") in outputs
    assert (18, "exec") in outputs
    assert [e.kind for e in events if e.step == 1] == ["step", "done"]


def test_a_cached_rebuild_makes_nothing_and_a_changed_file_rebuilds_from_its_step(
    client: Client, context: Path
) -> None:
    dockerfile = (
        f"FROM {BASE}\nENV MARK=cache-test\nRUN echo one > /one\nCOPY a.txt /a.txt\n"
        'RUN cat /a.txt > /copied\nCMD ["cat", "/copied"]\n'
    )
    first, _ = build(client, context, dockerfile, tags=("built/cache:1",))
    assert [s.cached for s in first.steps] == [True, False, False, False, False, False]
    counting = Client(backend="oci", store=client.engines.selected.store.path)  # type: ignore[attr-defined]
    again, events = build(counting, context, dockerfile, tags=("built/cache:1",))
    assert again.image_id == first.image_id
    assert all(s.cached for s in again.steps)
    assert all(e.cached for e in events if e.kind == "done")
    assert not [e for e in events if e.kind == "output"]
    # a cached step costs no engine call: the store is only read
    assert [c for c in counting.runner.calls if Path(c[0]).name in ("umoci", "runc")] == []

    (context / "a.txt").write_text("changed\n")
    changed, _ = build(client, context, dockerfile, tags=("built/cache:1",))
    assert [s.cached for s in changed.steps] == [True, True, True, False, False, False]
    assert changed.image_id != first.image_id
    assert run(client, "built/cache:1") == "changed\n"

    fresh, _ = build(client, context, dockerfile, no_cache=True)
    assert not any(s.cached for s in fresh.steps[1:])
    assert fresh.image_id != changed.image_id


def test_build_args_are_in_the_cache_key_and_in_run_s_environment(
    client: Client, context: Path
) -> None:
    dockerfile = f"FROM {BASE}\nARG WHO=nobody\nRUN echo hello $WHO > /greeting\n"
    one, _ = build(client, context, dockerfile, build_args=(("WHO", "you"),))
    other, _ = build(client, context, dockerfile, build_args=(("WHO", "them"),))
    assert one.image_id != other.image_id
    assert run(client, one.image_id, "cat", "/greeting") == "hello you\n"
    assert run(client, other.image_id, "cat", "/greeting") == "hello them\n"
    assert client.history(other.image_id)[0].created_by == (
        "|1 WHO=them /bin/sh -c echo hello $WHO > /greeting"
    )
    # the ARG is the step's environment, not the image's
    assert not any(e.startswith("WHO=") for e in client.inspect(one.image_id)[0].config.env)


def test_multi_stage_target_and_copy_from(client: Client, context: Path) -> None:
    dockerfile = (
        "ARG TAG=1\n"
        f"FROM build-test/base:$TAG AS builder\n"
        "RUN mkdir -p /out && echo made > /out/artifact\n"
        f"FROM {BASE} AS unused\n"
        "RUN exit 7\n"
        "FROM scratch AS final\n"
        "COPY --from=builder /out/artifact /artifact\n"
        f"COPY --from={BASE} /bin/busybox /bin/busybox\n"
        "COPY --from=0 /out /out/\n"
        'CMD ["/bin/busybox", "cat", "/artifact"]\n'
        f"FROM {BASE} AS tested\n"
        "RUN exit 9\n"
    )
    result, _ = build(client, context, dockerfile, target="final", tags=("built/multi:1",))
    assert {s.stage for s in result.steps} == {"builder", "final"}  # `unused` was skipped
    assert result.layers == 3
    assert run(client, "built/multi:1") == "made\n"
    files = client.run(
        "built/multi:1", ["/bin/busybox", "ls", "/out"], remove=True, network="none"
    ).stdout
    assert (files or "").split() == ["artifact"]
    only, _ = build(client, context, dockerfile, target="builder")
    assert [s.stage for s in only.steps] == ["builder", "builder"]
    assert only.image_id == result.steps[1].image_id


def test_copy_rules_wildcards_and_adding_a_tar(client: Client, context: Path) -> None:
    (context / "x.conf").write_text("x\n")
    (context / "y.conf").write_text("y\n")
    with tarfile.open(context / "bundle.tar.gz", "w:gz") as tar:
        data = b"from the tar\n"
        info = tarfile.TarInfo("inner/file")
        info.size = len(data)
        info.uid = info.gid = 7
        tar.addfile(info, io.BytesIO(data))
    dockerfile = (
        f"FROM {BASE}\n"
        "RUN mkdir /etc && echo app:x:1000:1001::/:/bin/sh > /etc/passwd"
        " && printf 'grp:x:2000:\\napp:x:1001:\\n' > /etc/group\n"
        "COPY --chown=app:grp a.txt /named\n"
        "COPY --chown=app a.txt /user-only\n"
        "COPY *.conf /etc/conf/\n"
        "COPY a.txt /bin\n"  # an existing directory: the file goes into it
        "COPY a.txt /renamed\n"
        "ADD bundle.tar.gz /unpacked\n"
        "COPY bundle.tar.gz /kept/\n"  # COPY never extracts
    )
    build(client, context, dockerfile, tags=("built/copy:1",))
    out = run(
        client,
        "built/copy:1",
        "sh",
        "-c",
        "cat /etc/conf/x.conf /etc/conf/y.conf /bin/a.txt /renamed /unpacked/inner/file;"
        "ls -ln /unpacked/inner/file; ls /kept; ls -ln /named /user-only",
    ).splitlines()
    assert out[:5] == ["x", "y", "a", "a", "from the tar"]
    assert out[5].split()[2:4] == ["7", "7"]
    assert out[6] == "bundle.tar.gz"
    assert out[7].split()[2:4] == ["1000", "2000"]  # names from the image's own files
    assert out[8].split()[2:4] == ["1000", "1001"]  # docker: no group, the user's word again
    with pytest.raises(UsageError, match="no user 'nobody'"):
        build(client, context, f"FROM {BASE}\nCOPY --chown=nobody a.txt /x\n")
    with pytest.raises(UsageError, match="ending in /"):
        build(client, context, f"FROM {BASE}\nCOPY *.conf /etc/one\n")


def test_dockerignore_keeps_files_out_of_the_build(client: Client, context: Path) -> None:
    (context / "secret.key").write_text("no\n")
    (context / "dir" / "debug.log").write_text("log\n")
    (context / "dir" / "keep.log").write_text("keep\n")
    (context / ".dockerignore").write_text("*.key\n**/*.log\n!dir/keep.log\n")
    result, _ = build(client, context, f"FROM {BASE}\nCOPY . /ctx/\n")
    listing = run(client, result.image_id, "sh", "-c", "cd /ctx && ls -a . dir")
    names = set(listing.split())
    assert "secret.key" not in names and "debug.log" not in names
    assert {"a.txt", "keep.log", "b.txt"} <= names
    with pytest.raises(PathNotFound, match="dockerignore"):
        build(client, context, f"FROM {BASE}\nCOPY secret.key /\n")


def test_nothing_outside_the_context_is_read(client: Client, context: Path) -> None:
    (context.parent / "outside.txt").write_text("outside\n")
    with pytest.raises(UsageError, match="outside the build context"):
        build(client, context, f"FROM {BASE}\nCOPY ../outside.txt /\n")
    (context / "link").symlink_to(context.parent / "outside.txt")
    with pytest.raises(UsageError, match="outside the build context"):
        build(client, context, f"FROM {BASE}\nCOPY link /\n")
    (context / "dirlink").symlink_to(context.parent)
    with pytest.raises(UsageError, match="outside the build context"):
        build(client, context, f"FROM {BASE}\nCOPY dirlink/outside.txt /\n")
    # a link inside a copied directory is copied as a link, never followed
    (context / "dir" / "away").symlink_to("/etc/shadow")
    result, _ = build(client, context, f"FROM {BASE}\nCOPY dir /d/\n")
    assert run(client, result.image_id, "ls", "-l", "/d/away").split()[-1] == "/etc/shadow"


def test_a_failing_run_names_its_step_line_and_code_and_moves_no_name(
    client: Client, store: Path, context: Path
) -> None:
    good, _ = build(
        client, context, f"FROM {BASE}\nRUN echo good > /state\n", tags=("built/app:1",)
    )
    dockerfile = f"FROM {BASE}\nENV X=1\n\nRUN echo before; echo oops >&2; exit 3\nRUN true\n"
    with pytest.raises(BuildStepFailed) as failed:
        build(client, context, dockerfile, tags=("built/app:1", "built/app:new"))
    assert (failed.value.step, failed.value.line, failed.value.exit_code) == (3, 4, 3)
    assert "exited 3" in failed.value.message
    assert client.inspect("built/app:1")[0].id == good.image_id
    assert not any("built/app:new" in i.names for i in client.images(all=True))
    assert not [d for d in (store / "containers").iterdir() if d.name.startswith("build-")]
    assert not [c for c in client.containers(all=True) if c.name.startswith("build-")]
    # the steps before the failure are cached for the next try
    fixed, _ = build(client, context, dockerfile.replace("exit 3", "true"))
    assert [s.cached for s in fixed.steps] == [True, True, False, False]


def test_a_failing_run_shows_its_output(client: Client, context: Path) -> None:
    events: list[BuildEvent] = []
    with pytest.raises(BuildStepFailed) as failed:
        build(client, context, f"FROM {BASE}\nRUN echo said-this; exit 5\n", events=events)
    assert failed.value.exit_code == 5
    assert BuildEvent("output", 2, "said-this") in events
    assert [e.kind for e in events] == ["step", "done", "step", "output"]


def test_a_run_whose_command_cannot_start_exits_127(client: Client, context: Path) -> None:
    with pytest.raises(BuildStepFailed) as failed:
        build(client, context, f'FROM {BASE}\nRUN ["/nonexistent"]\n')
    assert failed.value.exit_code == 127
    assert "/nonexistent was not found in the container" in failed.value.message


def test_ctrl_c_during_a_run_leaves_the_name_and_no_container(
    client: Client, store: Path, context: Path
) -> None:
    good, _ = build(client, context, f"FROM {BASE}\nRUN echo v1 > /v\n", tags=("built/int:1",))
    (context / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo started; sleep 60\n")
    script = (
        "from pathlib import Path\n"
        "from ocitool import capabilities as can\n"
        "from ocitool.building import BuildRequest\n"
        "from ocitool.client import Client\n"
        "from ocitool.dockerfile import parse\n"
        f"ctx = Path({str(context)!r})\n"
        "text = (ctx / 'Dockerfile').read_text()\n"
        "request = BuildRequest(ctx, ctx / 'Dockerfile', parse(text), ('built/int:1',),"
        " (), (), None, False, 'none')\n"
        f"oci = Client(backend='oci', store={str(store)!r})\n"
        "oci.engines.need(can.IMAGE_BUILD).build(request, lambda e: print(e.text, flush=True))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "started":
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert client.inspect("built/int:1")[0].id == good.image_id
    assert not [d for d in (store / "containers").iterdir() if d.name.startswith("build-")]
    listed = subprocess.run(
        ["runc", "--root", runtime_root(), "list", "-q"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert not [c for c in listed.stdout.split() if c.startswith("build-")]


def test_run_s_network(client: Client, context: Path) -> None:
    _, events = build(client, context, f"FROM {BASE}\nRUN ls /sys/class/net\n")
    assert [e.text for e in events if e.kind == "output"] == ["lo"]
    _, events = build(
        client, context, f"FROM {BASE}\nRUN ls /sys/class/net; echo host\n", network="host"
    )
    seen = [e.text for e in events if e.kind == "output"]
    assert sorted(seen[:-1]) == sorted(os.listdir("/sys/class/net")) and seen[-1] == "host"


def test_what_the_oci_builder_does_not_do_is_one_clear_error(client: Client, context: Path) -> None:
    for line in ("HEALTHCHECK CMD true", "ONBUILD RUN true"):
        with pytest.raises(NotSupported, match=line.split()[0]):
            build(client, context, f"FROM {BASE}\nRUN echo never-run\n{line}\n")
    with pytest.raises(NotSupported, match="URL"):
        build(client, context, f"FROM {BASE}\nADD http://127.0.0.1:1/x /x\n")


def test_labels_and_the_final_image_from_scratch(client: Client, context: Path) -> None:
    result, _ = build(
        client,
        context,
        "FROM scratch\nCOPY a.txt /\n",
        labels=(("org.example.build", "yes"),),
        tags=("built/scratch:1",),
    )
    assert result.layers == 1
    assert result.steps[-1].instruction == "LABEL org.example.build=yes"
    image = client.inspect("built/scratch:1")[0]
    assert image.config.labels == {"org.example.build": "yes"}
    with pytest.raises(UsageError, match="no image"):
        build(client, context, "FROM scratch\n")


def test_the_build_cache_and_the_store_s_other_commands(tmp_path: Path, context: Path) -> None:
    """Step images are untagged images: hidden from `images`, listed by -a, kept by prune
    while the built image needs them, removed with it (as docker's rmi does); nothing
    leaks."""
    from tests.lab import busybox_tar

    store = tmp_path / "own-store"
    client = Client(backend="oci", store=store)
    client.import_image(busybox_tar(tmp_path), BASE)
    dockerfile = f"FROM {BASE}\nENV A=1\nRUN echo x > /x\nCOPY a.txt /\n"
    result, _ = build(client, context, dockerfile, tags=("built/gc:1",))
    shown = {i.id for i in client.images()}
    every = {i.id for i in client.images(all=True)}
    steps = {s.image_id for s in result.steps[1:]}
    assert shown == {result.image_id, client.inspect(BASE)[0].id}
    assert steps <= every
    assert client.prune().deleted == []  # parents of a named image stay
    usage = client.du()
    built = next(i for i in usage.images if i.id == result.image_id)
    assert built.layers == 3 and built.size == usage.total  # the steps' layers, counted once
    removed = client.rmi("built/gc:1")
    assert set(removed.deleted) == steps
    assert client.prune().deleted == []
    assert {i.id for i in client.images(all=True)} == {client.inspect(BASE)[0].id}
    assert client.du().total == client.inspect(BASE)[0].size
    garbage = client.engines.need(can.STORE_GARBAGE).store_garbage(collect=False)
    assert garbage.blobs == 0 and garbage.bundles == []
    # the record of a removed step leads nowhere: the next build builds again
    again, _ = build(client, context, dockerfile)
    assert not any(s.cached for s in again.steps[1:])


def test_from_a_registry_pulls_the_base_into_the_store(
    tmp_path: Path, store: Path, context: Path, registries: object
) -> None:
    host = registries.plain.host  # type: ignore[attr-defined]
    remote = f"{host}/build-test/base:1"
    subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", f"oci:{store}:{BASE}", f"docker://{remote}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    empty = Client(backend="oci", store=tmp_path / "empty-store")
    result, _ = build(empty, context, f"FROM {remote}\nRUN echo pulled > /p\n", tags=("b/p:1",))
    assert run(empty, "b/p:1", "cat", "/p") == "pulled\n"
    assert remote in {n for i in empty.images() for n in i.names}
    assert result.steps[0].image_id == empty.inspect(remote)[0].id
    assert not result.steps[0].cached  # pulled, not found in the store
    again, _ = build(empty, context, f"FROM {remote}\nRUN echo pulled > /p\n", tags=("b/p:1",))
    assert again.image_id == result.image_id and all(s.cached for s in again.steps)


@pytest.fixture
def unprivileged() -> Iterator[tuple[Path, Path]]:
    from tests.lab import unprivileged_checkout

    yield unprivileged_checkout()


if os.geteuid() == 0:

    def test_an_unprivileged_user_builds_on_its_own_store(
        unprivileged: tuple[Path, Path],
    ) -> None:
        """The rootless road: umoci unpack --rootless, rootless runc, no daemon."""
        from tests.lab import pytest_as_user

        home, source = unprivileged
        test = str(source / "tests" / "test_build_oci.py")
        done = pytest_as_user(home, source, test, "-k", "this_user_builds")
        assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-2000:])
        assert "1 passed" in done.stdout and "skipped" not in done.stdout


def test_this_user_builds(client: Client, context: Path) -> None:
    """As whoever runs the tests; run as the unprivileged user by the test above."""
    dockerfile = (
        f"FROM {BASE}\nCOPY --chown=5:6 a.txt /mine\nRUN ls -ln /mine > /owner && echo ran\n"
    )
    result, events = build(client, context, dockerfile, tags=("built/user:1",))
    assert ("output", "ran") in [(e.kind, e.text) for e in events]
    again, _ = build(client, context, dockerfile, tags=("built/user:1",))
    assert again.image_id == result.image_id and all(s.cached for s in again.steps)
    owner = run(client, "built/user:1", "cat", "/owner").split()
    if os.geteuid() == 0:
        assert owner[2:4] == ["5", "6"]
    with pytest.raises(BuildStepFailed):
        build(client, context, f"FROM {BASE}\nRUN exit 4\n", tags=("built/user:1",))
    assert client.inspect("built/user:1")[0].id == result.image_id
    assert json.dumps(result.model_dump(mode="json"))


def test_ocitool_build_on_the_oci_store(store: Path, context: Path) -> None:
    """Through the CLI: the JSON result, a cached rebuild, and the errors' exit codes."""
    from tests.test_cli import ocitool, one_error_line

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return ocitool("--backend", "oci", "--store", str(store), "build", *args)

    (context / "Dockerfile").write_text(f"FROM {BASE}\nCOPY a.txt /a\nRUN echo cli-said; cat /a\n")
    first = cli("-t", "cli/app:1", "--network", "none", "--format", "json", str(context))
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["names"] == ["cli/app:1"] and result["layers"] == 3
    assert [s["cached"] for s in result["steps"]] == [True, False, False]
    assert "cli-said" in first.stderr  # the RUN's output, with the progress
    again = cli("-q", "-t", "cli/app:1", "--network", "none", str(context))
    assert again.returncode == 0 and again.stdout.strip() == result["image_id"]
    (context / "Dockerfile").write_text(f"FROM {BASE}\nRUN exit 3\n")
    failed = cli("-q", "-t", "cli/app:1", "--network", "none", str(context))
    assert failed.returncode == 3
    assert "build step 2 (Dockerfile line 2) 'RUN exit 3' exited 3" in one_error_line(failed)
    (context / "Dockerfile").write_text(f"FROM {BASE}\nHEALTHCHECK CMD true\n")
    refused = cli("-q", str(context))
    assert refused.returncode == 6
    assert "HEALTHCHECK is not supported by the oci backend" in one_error_line(refused)
    shown = ocitool(
        "--backend", "oci", "--store", str(store), "inspect", "--format", "json", "cli/app:1"
    )
    assert json.loads(shown.stdout)[0]["id"] == result["image_id"]
