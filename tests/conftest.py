"""Live test set-up: a private dockerd, podman storage and OCI store, once per run.

Tests that need engines ask for the `lab` fixture (or `engine`/`client`,
which depend on it); the rest run without any engine. OCITOOL_TEST_BACKENDS
(default `docker,podman,oci`) narrows the engines, e.g. to `oci` for the run
as an unprivileged user, which has no dockerd.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ocitool.client import Client
from tests import lab as lab_setup
from tests.remote_lab import Remote, start_remote

ENGINES = os.environ.get("OCITOOL_TEST_BACKENDS", "docker,podman,oci").split(",")
# The remote engines (tests/remote_lab.py) are a second dockerd, an sshd and a podman
# service, started as root: a run without them (the rootless one) leaves them out.
if not ({"docker", "podman"} <= set(ENGINES) and os.geteuid() == 0):
    collect_ignore = ["test_remote.py"]
BASE = "ocitool-test/base:1"
BASE_ALIAS = "ocitool-test/base:alias"
BASE_MESSAGE = "ocitool test base"
CHAIN = ("ocitool-test/chain:1", "ocitool-test/chain:2")
ORPHAN = "ocitool-test/orphan:2"  # its parent image is gone: `<missing>` in history
RUNNING = "ocitool-test-running"
AUTHOR = "Test Author <test@example.com>"
_ENV_KEYS = (
    "DOCKER_HOST",
    "CONTAINERS_STORAGE_CONF",
    "OCITOOL_CONFIG",
    "OCITOOL_BACKEND",
    "OCITOOL_STORE",
)


@dataclass
class Lab:
    work: Path
    docker_host: str
    tar: Path
    store: Path
    ready: set[str] = field(default_factory=set)


@pytest.fixture(scope="session", autouse=True)
def _isolated() -> Iterator[Path]:
    """No test reads the user's config or writes the user's store, with or without engines."""
    work = Path(tempfile.mkdtemp(prefix="ocitool-home-"))
    keys = ("OCITOOL_STORE", "OCITOOL_CONFIG", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["OCITOOL_STORE"] = str(work / "oci-store")
    os.environ["OCITOOL_CONFIG"] = str(work / "no-config.toml")
    # Logins made by tests land here, never in the host's auth.json or ~/.docker.
    os.environ["REGISTRY_AUTH_FILE"] = str(work / "containers-auth.json")
    (work / "containers-auth.json").write_text('{"auths": {}}')  # podman stats it
    os.environ["DOCKER_CONFIG"] = str(work / "docker-config")
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    work = Path(tempfile.mkdtemp(prefix="ocitool-test-"))
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    host = ""
    if "docker" in ENGINES:
        host = lab_setup.start_dockerd(work / "docker")
        os.environ["DOCKER_HOST"] = host
    if "podman" in ENGINES:
        os.environ["CONTAINERS_STORAGE_CONF"] = str(lab_setup.podman_storage(work / "podman"))
    os.environ["OCITOOL_STORE"] = str(work / "oci-store")
    os.environ["OCITOOL_CONFIG"] = str(work / "no-config.toml")  # defaults, whatever the host has
    os.environ.pop("OCITOOL_BACKEND", None)
    try:
        yield Lab(
            work=work, docker_host=host, tar=lab_setup.busybox_tar(work), store=work / "oci-store"
        )
    finally:
        if "docker" in ENGINES:
            ids = lab_setup.engine(["docker", "ps", "-aq"], check=False).split()
            if ids:
                lab_setup.engine(["docker", "rm", "-f", *ids], check=False)
            lab_setup.stop_dockerd(work / "docker")
        if "podman" in ENGINES:
            lab_setup.clean_podman()
        if "oci" in ENGINES:
            oci = Client(backend="oci")
            running = [c.id for c in oci.containers()]
            if running:
                oci.remove(*running, force=True)
        lab_setup.unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build_images(engine: str, lab: Lab) -> None:
    """The images every live test may use, made once per engine: with the engine's own
    CLI for docker and podman, with ocitool for the oci store, which has no other CLI."""
    if engine in lab.ready:
        return
    if engine == "oci":
        _build_with_ocitool(lab)
    else:
        _build_with_engine_cli(engine, lab)
    lab.ready.add(engine)


def _build_with_engine_cli(e: str, lab: Lab) -> None:
    run = lab_setup.engine
    fmt = ["--format", "docker"] if e == "podman" else []
    net = ["--network", "none"]
    run([e, "import", "--message", BASE_MESSAGE, str(lab.tar), BASE])
    run([e, "tag", BASE, BASE_ALIAS])
    run([e, "run", "--name", "ot-c1", *net, BASE, "sh", "-c", "echo one > /file1"])
    run([e, "commit", *fmt, "-a", AUTHOR, "-m", "first", "ot-c1", CHAIN[0]])
    run([e, "run", "--name", "ot-c2", *net, CHAIN[0], "sh", "-c", "echo two > /file2"])
    run([e, "commit", *fmt, "-a", AUTHOR, "-m", "second", "ot-c2", CHAIN[1]])
    # An image whose parent is gone, as after a pull or `rmi` of the parent.
    run([e, "run", "--name", "ot-o1", *net, BASE, "sh", "-c", "echo o1 > /o1"])
    run([e, "commit", *fmt, "ot-o1", "ocitool-test/orphan:1"])
    run([e, "run", "--name", "ot-o2", *net, "ocitool-test/orphan:1", "sh", "-c", "echo o2 > /o2"])
    run([e, "commit", *fmt, "ot-o2", ORPHAN])
    run([e, "rm", "ot-o1", "ot-o2"])
    if e == "docker":  # docker keeps built parents; a save/load round trip forgets them
        archive = str(lab.work / "orphan.tar")
        run([e, "save", "-o", archive, ORPHAN])
        run([e, "rmi", ORPHAN, "ocitool-test/orphan:1"])
        run([e, "load", "-i", archive])
    else:
        run([e, "rmi", "ocitool-test/orphan:1"])
    run([e, "run", "-d", "--name", RUNNING, *net, BASE, "sleep", "3600"])


def _build_with_ocitool(lab: Lab) -> None:
    c = Client(backend="oci")
    c.import_image(lab.tar, BASE, message=BASE_MESSAGE)
    c.tag(BASE, BASE_ALIAS)
    c.run(BASE, ["sh", "-c", "echo one > /file1"], name="ot-c1", network="none")
    c.commit("ot-c1", CHAIN[0], author=AUTHOR, message="first")
    c.run(CHAIN[0], ["sh", "-c", "echo two > /file2"], name="ot-c2", network="none")
    c.commit("ot-c2", CHAIN[1], author=AUTHOR, message="second")
    c.run(BASE, ["sh", "-c", "echo o1 > /o1"], name="ot-o1", network="none")
    c.commit("ot-o1", "ocitool-test/orphan:1")
    c.run("ocitool-test/orphan:1", ["sh", "-c", "echo o2 > /o2"], name="ot-o2", network="none")
    c.commit("ot-o2", ORPHAN)
    c.remove("ot-o1", "ot-o2")
    c.rmi("ocitool-test/orphan:1")
    c.run(BASE, ["sleep", "3600"], name=RUNNING, network="none", detach=True)


def tag_outside(engine: str, source: str, target: str) -> None:
    """A tag made by the engine itself (ocitool, for the store, which is its own engine)."""
    if engine == "oci":
        Client(backend="oci").tag(source, target)
    else:
        lab_setup.engine([engine, "tag", source, target])


def untag_outside(engine: str, name: str) -> None:
    if engine == "oci":
        Client(backend="oci").rmi(name)
    else:
        lab_setup.engine([engine, "rmi", name])


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, lab: Lab) -> str:
    name: str = request.param
    build_images(name, lab)
    return name


@pytest.fixture
def client(engine: str) -> Client:
    """A fresh Client per test, so `client.runner.calls` counts this test's engine calls."""
    return Client(backend=engine)


@dataclass
class Registries:
    plain: lab_setup.RegistryProcess  # plain HTTP, no auth
    secure: lab_setup.RegistryProcess  # TLS with a CA made here, and htpasswd auth


@pytest.fixture(scope="session")
def registries(lab: Lab) -> Iterator[Registries]:
    plain = lab_setup.start_registry(lab.work / "registry-plain")
    secure = lab_setup.start_registry(
        lab.work / "registry-tls", tls=True, user="tester", password="s3cret-pass"
    )
    try:
        yield Registries(plain, secure)
    finally:
        plain.stop()
        secure.stop()


@pytest.fixture(scope="session")
def remote(lab: Lab) -> Iterator[Remote]:
    """The remote engines (tests/remote_lab.py), with the lab's `ssh` first on PATH."""
    started = start_remote(lab.work / "remote")
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{started.ssh_bin}{os.pathsep}{path}"
    try:
        yield started
    finally:
        os.environ["PATH"] = path
        started.stop()
