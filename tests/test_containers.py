"""The container verbs on every engine, through the CLI and the API: logs, exec, cp,
container inspect, wait, kill, export, and run's -v, -w, -u, --entrypoint, --hostname,
--env-file and -p; the same exit code for the same mistake everywhere.
"""

from __future__ import annotations

import json
import re
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool.client import Client
from ocitool.errors import (
    CommandNotExecutable,
    CommandNotFound,
    ContainerNotFound,
    NotRunning,
    NotSupported,
    PathNotFound,
)
from tests.conftest import BASE, ENGINES
from tests.test_cli import ocitool, one_error_line

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


@pytest.fixture
def names(client: Client) -> Iterator[list[str]]:
    """Container names a test makes; each is removed afterwards, running or not."""
    made: list[str] = []
    yield made
    existing = {c.name for c in client.containers(all=True)}
    gone = [n for n in made if n in existing]
    if gone:
        client.remove(*gone, force=True)


def _name(names: list[str], what: str) -> str:
    name = f"ot-{what}-{secrets.token_hex(3)}"
    names.append(name)
    return name


def _sleeper(client: Client, names: list[str], what: str, **options: object) -> str:
    name = _name(names, what)
    client.run(BASE, ["sleep", "300"], name=name, network="none", detach=True, **options)  # type: ignore[arg-type]
    return name


def test_container_inspect_after_exit_3(client: Client, engine: str, names: list[str]) -> None:
    name = _name(names, "exit3")
    run = ocitool(
        "-b", engine, "run", "--name", name, "--network", "none", BASE, "sh", "-c", "exit 3"
    )
    assert run.returncode == 3, run.stderr
    proc = ocitool("-b", engine, "container", "inspect", "--format", "json", name)
    assert proc.returncode == 0, proc.stderr
    (doc,) = json.loads(proc.stdout)
    (found,) = client.inspect_containers(name)
    image = client.inspect(BASE)[0]
    listed = next(c for c in client.containers(all=True) if c.name == name)
    for c in (found, listed):
        assert c.name == name and c.state == "exited" and c.exit_code == 3
        assert c.command == ["sh", "-c", "exit 3"]
        assert c.image_id == image.id and c.image.endswith(BASE)
        # docker may record the start a moment after a quick command's end
        assert c.created and c.started and c.finished and c.created <= min(c.started, c.finished)
    assert found.workdir == "/" and found.user == "" and found.mounts == []
    assert any(e.startswith("PATH=") for e in found.env)
    assert doc["exit_code"] == 3 and doc["command"] == ["sh", "-c", "exit 3"]
    assert doc["finished"].endswith("Z")
    table = ocitool("-b", engine, "ps", "-a")
    row = next(line for line in table.stdout.splitlines() if line.endswith(name))
    assert "Exited (3) " in row and "\"sh -c 'exit 3'\"" in row and found.short_id in row
    assert table.stdout.splitlines()[0].split() == [
        "CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"
    ]  # fmt: skip
    wide = ocitool("-b", engine, "ps", "-a", "--no-trunc")
    assert found.id in wide.stdout
    human = ocitool("-b", engine, "container", "inspect", name)
    assert "Exit code: 3" in human.stdout and "Exited (3)" in human.stdout


def test_a_detached_containers_logs(client: Client, engine: str, names: list[str]) -> None:
    name = _name(names, "logs")
    script = "echo out; echo err >&2; sleep 2; echo last"
    client.run(BASE, ["sh", "-c", script], name=name, network="none", detach=True)
    follow = ocitool("-b", engine, "logs", "-f", name)  # returns once the container exits
    assert follow.returncode == 0, follow.stderr
    assert (follow.stdout, follow.stderr) == ("out\nlast\n", "err\n")
    assert client.wait(name) == [0]
    out = client.logs(name)
    assert (out.stdout, out.stderr) == ("out\nlast\n", "err\n")
    assert client.logs(name, tail=1) == ("last\n", "")  # the last line of both streams
    tail = ocitool("-b", engine, "logs", "--tail", "1", name)
    assert tail.stdout + tail.stderr == "last\n"
    stamped = client.logs(name, timestamps=True)
    lines = (stamped.stdout or "").splitlines()
    assert len(lines) == 2 and all(STAMP.match(line) for line in lines), lines
    assert lines[0].endswith(" out")


def test_exec_with_user_workdir_and_env(client: Client, engine: str, names: list[str]) -> None:
    name = _sleeper(client, names, "exec", workdir="/work")
    argv = ["exec", "-u", "1000:1000", "-w", "/work", "-e", "FOO=bar", name]
    proc = ocitool("-b", engine, *argv, "sh", "-c", "id -u; id -g; pwd; echo $FOO")
    assert (proc.returncode, proc.stdout) == (0, "1000\n1000\n/work\nbar\n"), proc.stderr
    done = client.exec(name, ["sh", "-c", "id -u; pwd; exit 4"], user="1000", workdir="/bin")
    assert (done.exit_code, done.stdout) == (4, "1000\n/bin\n")
    code = ocitool("-b", engine, "exec", name, "sh", "-c", "exit 5")
    assert code.returncode == 5


@pytest.mark.parametrize(
    ("command", "code", "error", "words"),
    [
        ("/nonexistent", 127, CommandNotFound, "/nonexistent was not found in the container"),
        ("ot-no-such-command", 127, CommandNotFound, "ot-no-such-command was not found"),
        ("/bin", 126, CommandNotExecutable, "/bin cannot be executed"),
    ],
)
def test_exec_of_a_command_that_cannot_run(
    client: Client,
    engine: str,
    names: list[str],
    command: str,
    code: int,
    error: type[Exception],
    words: str,
) -> None:
    name = _sleeper(client, names, "exec-bad")
    proc = ocitool("-b", engine, "exec", name, command)
    assert proc.returncode == code, proc.stderr
    assert words in one_error_line(proc) and proc.stdout == ""
    with pytest.raises(error):
        client.exec(name, [command])


def test_the_same_mistake_is_the_same_exit_code(
    client: Client, engine: str, names: list[str], tmp_path: Path
) -> None:
    stopped = _name(names, "stopped")
    client.run(BASE, ["true"], name=stopped, network="none")
    proc = ocitool("-b", engine, "exec", stopped, "true")
    assert proc.returncode == 8 and "is not running" in one_error_line(proc)
    with pytest.raises(NotRunning):
        client.exec(stopped, ["true"])
    kill = ocitool("-b", engine, "kill", stopped)
    assert kill.returncode == 8 and "is not running" in one_error_line(kill)
    missing = "ot-no-such-container"
    for argv in (
        ["exec", missing, "true"],
        ["logs", missing],
        ["container", "inspect", missing],
        ["wait", missing],
        ["kill", missing],
        ["cp", f"{missing}:/bin/sh", str(tmp_path)],
        ["export", missing, "-o", str(tmp_path / "x.tar")],
    ):
        proc = ocitool("-b", engine, *argv)
        assert proc.returncode == 3, (argv, proc.stderr)
        assert f"container not found on {engine}: {missing}" in one_error_line(proc)
    assert not (tmp_path / "x.tar").exists()
    for call in (
        lambda: client.logs(missing),
        lambda: client.exec(missing, ["true"]),
        lambda: client.inspect_containers(missing),
    ):
        with pytest.raises(ContainerNotFound):
            call()
    image = ocitool("-b", engine, "run", "--rm", "ocitool-test/not-here:1", "true")
    assert image.returncode == 3
    absent = ocitool("-b", engine, "run", "--rm", "--network", "none", BASE, "/nonexistent")
    assert absent.returncode == 127


def test_a_bind_mount_read_write_and_read_only(
    client: Client, engine: str, names: list[str], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "in").write_text("from the host\n")
    rw = _name(names, "rw")
    proc = ocitool(
        "-b", engine, "run", "--name", rw, "--network", "none", "-v", f"{shared}:/mnt",
        BASE, "sh", "-c", "cat /mnt/in; echo from the container > /mnt/out",
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "from the host\n"), proc.stderr
    assert (shared / "out").read_text() == "from the container\n"
    (mount,) = client.inspect_containers(rw)[0].mounts
    assert (mount.source, mount.destination, mount.read_only) == (str(shared), "/mnt", False)
    ro = _name(names, "ro")
    run = client.run(
        BASE,
        ["sh", "-c", "cat /mnt/in; echo no > /mnt/denied"],
        name=ro,
        network="none",
        volumes=[f"{shared}:/mnt:ro"],
    )
    assert run.exit_code != 0 and run.stdout == "from the host\n"
    assert not (shared / "denied").exists()
    assert client.inspect_containers(ro)[0].mounts[0].read_only is True
    bad = ocitool("-b", engine, "run", "--rm", "-v", f"{tmp_path}/absent:/mnt", BASE, "true")
    assert bad.returncode == 2 and "no such file or directory" in one_error_line(bad)


def test_run_options(
    client: Client, engine: str, names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = tmp_path / "env"
    envs.write_text("# a comment\n\nA=1\nB=two words\nFROM_HOST\nUNSET_HERE\n")
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    name = _name(names, "opts")
    proc = ocitool(
        "-b", engine, "run", "--name", name, "--network", "none", "--env-file", str(envs),
        "-e", "A=override", "--hostname", "ot-host", "-u", "1000:1000", "-w", "/made",
        "--entrypoint", "/bin/sh", BASE,
        "-c", 'echo "$A|$B|$FROM_HOST|${UNSET_HERE-unset}"; hostname; id -u; pwd',
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "override|two words|yes|unset\not-host\n1000\n/made\n"
    (found,) = client.inspect_containers(name)
    assert found.user == "1000:1000" and found.workdir == "/made"
    assert found.hostname == "ot-host" and "B=two words" in found.env
    assert found.command[0] == "/bin/sh"
    api = client.run(BASE, ["hi"], name=_name(names, "ep"), network="none", entrypoint="echo")
    assert api.stdout == "hi\n"


@pytest.mark.parametrize("engine", [e for e in ENGINES if e == "oci"] or ["oci"])
def test_publishing_a_port_is_a_capability(engine: str, names: list[str]) -> None:
    """oci has no network namespace but none or host: -p is refused before anything runs."""
    proc = ocitool("-b", "oci", "run", "--rm", "-p", "8080:80", BASE, "true")
    assert proc.returncode == 6
    assert "the oci backend cannot publish a container's ports" in one_error_line(proc)
    with pytest.raises(NotSupported):
        Client(backend="oci").run(BASE, ["true"], publish=["8080:80"])
    bad = ocitool("-b", "oci", "run", "--rm", "-p", "a:b", BASE, "true")
    assert bad.returncode == 2


def test_cp_both_ways_and_hostile_paths(
    client: Client, engine: str, names: list[str], tmp_path: Path
) -> None:
    name = _sleeper(client, names, "cp")
    setup = (
        "mkdir -p /data/sub && echo inside > /data/in && ln -s / /data/up && ln -s /etc /data/etc"
    )
    assert client.exec(name, ["sh", "-c", setup]).exit_code == 0
    secret = Path(f"/tmp/ot-hostile-{secrets.token_hex(4)}")  # on the host, never in the container
    secret.mkdir()
    (secret / "secret").write_text("host only\n")
    escape = Path(f"/etc/ot-escape-{secrets.token_hex(4)}")
    try:
        out = tmp_path / "out"
        out.mkdir()
        host = tmp_path / "host.txt"
        host.write_text("from the host\n")
        # both ways, on a running container
        assert ocitool("-b", engine, "cp", str(host), f"{name}:/data/").returncode == 0
        assert client.exec(name, ["cat", "/data/host.txt"]).stdout == "from the host\n"
        proc = ocitool("-b", engine, "cp", f"{name}:/data", str(out))
        assert proc.returncode == 0, proc.stderr
        assert (out / "data" / "in").read_text() == "inside\n"
        assert (out / "data" / "etc").is_symlink()  # a link is copied as a link
        # `..` and links climb no higher than the container's root
        client.cp(f"{name}:/../../../../data/in", str(out / "in2"))
        assert (out / "in2").read_text() == "inside\n"
        for path in (f"/data/up/{secret}/secret", f"/../../..{secret}/secret"):
            proc = ocitool("-b", engine, "cp", f"{name}:{path}", str(out / "stolen"))
            assert proc.returncode == 3, proc.stderr
            assert not (out / "stolen").exists()
        with pytest.raises(PathNotFound):
            client.cp(f"{name}:/data/up{secret}/secret", str(out / "stolen"))
        client.cp(str(host), f"{name}:/data/up/../../h2")
        assert client.exec(name, ["cat", "/h2"]).stdout == "from the host\n"
        assert not Path("/h2").exists()
        proc = ocitool("-b", engine, "cp", str(host), f"{name}:/data/up{secret}/")
        assert proc.returncode != 0
        assert sorted(p.name for p in secret.iterdir()) == ["secret"]
        # a container's directory where the host copy has its link: never written through
        swap = f"rm /data/etc && mkdir /data/etc && echo bad > /data/etc/{escape.name}"
        assert client.exec(name, ["sh", "-c", swap]).exit_code == 0
        ocitool("-b", engine, "cp", f"{name}:/data", str(out))
        assert not escape.exists()
        # and on a stopped container
        client.stop(name, timeout=0)
        client.cp(f"{name}:/data/in", str(out / "in3"))
        assert (out / "in3").read_text() == "inside\n"
        client.cp(str(host), f"{name}:/data/again.txt")
        client.cp(f"{name}:/data/again.txt", str(out))
        assert (out / "again.txt").read_text() == "from the host\n"
    finally:
        escape.unlink(missing_ok=True)
        for child in secret.iterdir():
            child.unlink()
        secret.rmdir()


def test_wait_kill_and_export(
    client: Client, engine: str, names: list[str], tmp_path: Path
) -> None:
    name = _name(names, "trap")
    script = 'trap "echo got it; exit 7" USR1; echo ready; while true; do sleep 0.2; done'
    client.run(BASE, ["sh", "-c", script], name=name, network="none", detach=True)
    for _ in range(50):
        if client.logs(name).stdout == "ready\n":
            break
        __import__("time").sleep(0.1)
    proc = ocitool("-b", engine, "kill", "-s", "USR1", name)
    assert (proc.returncode, proc.stdout) == (0, f"{name}\n"), proc.stderr
    waited = ocitool("-b", engine, "wait", name)
    assert (waited.returncode, waited.stdout) == (0, "7\n"), waited.stderr
    assert client.logs(name).stdout == "ready\ngot it\n"
    assert client.inspect_containers(name)[0].exit_code == 7
    bad = ocitool("-b", engine, "kill", "-s", "NOPE", name)
    assert bad.returncode == 2
    sleeper = _sleeper(client, names, "kill")
    client.kill(sleeper)
    assert client.wait(sleeper) == [137]
    archive = tmp_path / "fs.tar"
    proc = ocitool("-b", engine, "export", sleeper, "-o", str(archive))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(archive) as tar:
        members = {m.name.lstrip("./"): m for m in tar.getmembers()}
    assert "bin/busybox" in members and members["bin/busybox"].uid == 0
    assert not list(tmp_path.glob("*.ocitool-partial"))


def test_a_container_path_never_resolves_out_of_its_root(tmp_path: Path) -> None:
    """rootfs.inside, the oci backend's (and podman's -w) resolution, on hostile links."""
    from ocitool.backends.common.rootfs import inside

    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "up").symlink_to("../../../..")
    (root / "data" / "abs").symlink_to("/etc")
    (root / "data" / "loop").symlink_to("loop")
    assert inside(root, "/../../etc/passwd") == root / "etc" / "passwd"
    assert inside(root, "/data/up/etc/passwd") == root / "etc" / "passwd"
    assert inside(root, "/data/abs/passwd") == root / "etc" / "passwd"
    assert inside(root, "/data/abs", follow=False) == root / "data" / "abs"
    assert inside(root, "data/./up/../x") == root / "x"
    with pytest.raises(Exception, match="too many levels of symbolic links"):
        inside(root, "/data/loop/x")


def test_run_options_are_checked_before_any_engine(tmp_path: Path) -> None:
    from ocitool import containers as checks
    from ocitool.errors import UsageError

    assert checks.bind(f"{tmp_path}:/mnt:ro") == (str(tmp_path), "/mnt", True)
    assert checks.bind(f"{tmp_path}/:/mnt/") == (str(tmp_path), "/mnt", False)
    for spec in ("data:/mnt", f"{tmp_path}:mnt", f"{tmp_path}", f"{tmp_path}:/m:rx", ":/m"):
        with pytest.raises(UsageError):
            checks.bind(spec)
    for bad in ("-rf", "a b", "root:", ":0"):
        with pytest.raises(UsageError):
            checks.user(bad)
    assert checks.signal("sigterm") == "TERM" and checks.signal("9") == "9"
    with pytest.raises(UsageError):
        checks.signal("NOPE")
    with pytest.raises(UsageError):
        checks.workdir("relative")
    with pytest.raises(UsageError):
        checks.copy_args("a:/x", "b:/y")  # two containers
    with pytest.raises(UsageError):
        checks.copy_args(str(tmp_path), str(tmp_path))  # two host paths
    assert checks.copy_args("c1:/etc/x", "./here").out is True


def test_timestamps_are_said_as_docker_says_them() -> None:
    from ocitool.backends.common.verbs import said_as_docker

    podman = "2026-12-02T02:00:00.123456789+00:00 hello"
    assert said_as_docker(podman) == "2026-12-02T02:00:00.123456789Z hello"
    docker = "2026-12-02T02:00:00.123456789Z hello"
    assert said_as_docker(docker) == docker
    assert said_as_docker("no time here") == "no time here"
