"""The registry client (issue 18, item 7): round trips, connections, client
certificates and its User-Agent, measured on the tests' real registries.

Requests are counted in the registry's own access log; connections through a
loopback forwarder of the test's own in front of it, which counts the
connections it accepts and passes the bytes through unchanged.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ocitool import __version__, credentials
from ocitool.client import Client
from ocitool.registry import TOKEN_USER, Registry, Tls
from tests import lab as lab_setup
from tests.conftest import CHAIN, Lab, Registries
from tests.test_cli import ocitool, one_error_line
from tests.test_distribution import engines  # noqa: F401 - the fixture
from tests.tokens import TokenService, token_registry  # noqa: F401 - the fixture

INSECURE = ["--tls-verify=false"]


class Log:
    """The lines a registry's access log gains from here on."""

    def __init__(self, registry: lab_setup.RegistryProcess) -> None:
        self.path = registry.config.parent / "registry.log"
        self.start = self.path.stat().st_size

    def requests(self) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(self.start)
            text = log.read().decode(errors="replace")
        return [line for line in text.splitlines() if '] "' in line and " HTTP/1.1" in line]


@contextmanager
def forwarder(target: str) -> Iterator[tuple[str, list[int]]]:
    """127.0.0.1:PORT passing every connection on to `target`; the host, and the
    count of connections accepted (a list of one, updated as they come)."""
    address, port = target.rsplit(":", 1)
    server = socket.create_server(("127.0.0.1", 0))
    accepted = [0]
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()
            source.close()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            accepted[0] += 1
            upstream = socket.create_connection((address, int(port)))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def push_repositories(engine: str, host: str, names: list[str]) -> None:
    transfers = Client(backend=engine).transfers(tls_verify=False)
    for name in names:
        transfers.push(CHAIN[0], f"{host}/{name}:1")


def test_search_tags_keeps_one_connection(
    engines: list[str],  # noqa: F811 - the fixture
    registries: Registries,
) -> None:
    """`search --tags` over five repositories: one connection, one request each
    (urllib alone made a connection per request)."""
    plain = registries.plain
    names = [f"onewire/r{i}" for i in range(5)]
    push_repositories(engines[0], plain.host, names)
    with forwarder(plain.host) as (host, accepted):
        log = Log(plain)
        found = ocitool("search", "onewire", "--registry", host, "--tags", *INSECURE)
        assert found.returncode == 0, found.stderr
        # the https attempt a registry reached with --tls-verify=false is given first
        # (it speaks plain HTTP), then one connection for every request
        assert accepted[0] == 2, accepted
    requests = log.requests()
    assert len(requests) == 1 + len(names), requests  # the catalog, then each tag list
    assert all(f'"{"ocitool/" + __version__}"' in line for line in requests), requests


def test_tokens_are_kept_per_scope(
    engines: list[str],  # noqa: F811 - the fixture
    token_registry: tuple[lab_setup.RegistryProcess, TokenService],  # noqa: F811
) -> None:
    """Once the token service is known, a new repository costs a token and one
    request (not 401, token, retry), and a repository seen before only the request,
    in any Registry of the process."""
    registry, service = token_registry
    config = {"auths": {registry.host: {"identitytoken": service.refresh_token}}}
    docker = credentials.docker_config_file()
    saved = docker.read_bytes() if docker.exists() else None
    try:
        docker.parent.mkdir(parents=True, exist_ok=True)
        docker.write_text(json.dumps(config))
        names = [f"scoped/r{i}" for i in range(4)]
        push_repositories(engines[0], registry.host, names)
        log, service.grants[:] = Log(registry), []
        found = ocitool("search", "scoped", "--registry", registry.host, "--tags", *INSECURE)
        assert found.returncode == 0, found.stderr
        requests = log.requests()
        assert len(requests) == 2 + len(names), requests  # 401 once, the catalog, each list
        assert sum(" 401 " in line for line in requests) == 1, requests
        assert len(service.grants) == 1 + len(names), service.grants  # one token per scope

        login = (TOKEN_USER, service.refresh_token)
        tls = Tls(verify=False)
        first = Registry(registry.host, tls=tls, credentials=login)
        assert first.tags(names[0]) == ["1"]
        log, service.grants[:] = Log(registry), []
        second = Registry(registry.host, tls=tls, credentials=login)
        assert second.tags(names[0]) == ["1"] and second.has_manifest(names[0], "1")
        assert len(log.requests()) == 2 and service.grants == [], (log.requests(), service.grants)
    finally:
        if saved is None:
            docker.unlink(missing_ok=True)
        else:
            docker.write_bytes(saved)


def client_cert_registry(lab: Lab) -> tuple[lab_setup.RegistryProcess, Path]:
    """A TLS registry that wants a client certificate its CA signed; the
    certs.d-style directory (ca.crt, client.cert, client.key) that reaches it."""
    work = lab.work / "registry-mtls"
    registry = lab_setup.start_registry(
        work, tls=True, http=("    clientcas:", f"      - {work / 'ca.crt'}")
    )
    lab_setup.signed(work, "client", "/CN=ocitool test client", "extendedKeyUsage=clientAuth")
    certs = work / "certs.d"
    certs.mkdir()
    (certs / "ca.crt").write_bytes((work / "ca.crt").read_bytes())
    (certs / "client.cert").write_bytes((work / "client.crt").read_bytes())
    (certs / "client.key").write_bytes((work / "client.key").read_bytes())
    return registry, certs


def test_a_registry_that_wants_a_client_certificate(
    engines: list[str],  # noqa: F811 - the fixture
    lab: Lab,
) -> None:
    """NAME.cert and NAME.key in the host's certificate directory, as in
    containers-certs.d(5): ocitool's own requests and skopeo's both present it."""
    registry, certs = client_cert_registry(lab)
    try:
        host = registry.host
        assert registry.ca_dir is not None
        without = ocitool("search", "x", "--registry", host, "--cert-dir", str(registry.ca_dir))
        assert without.returncode != 0
        assert "Traceback" not in without.stderr
        for engine in engines:
            pushed = ocitool(
                "--backend", engine, "push", CHAIN[1], f"{host}/mtls/{engine}:1",
                "--cert-dir", str(certs),
            )  # fmt: skip
            assert pushed.returncode == 0, pushed.stderr
        found = ocitool("search", "mtls", "--registry", host, "--tags", "--cert-dir", str(certs))
        assert found.returncode == 0, found.stderr
        assert {line.split()[0] for line in found.stdout.splitlines()[1:]} == {
            f"{host}/mtls/{e}" for e in engines
        }
        api = Client().search("mtls", registry=host, cert_dir=certs)
        assert len(api) == len(engines)
        (certs / "client.key").unlink()
        lost = ocitool("search", "mtls", "--registry", host, "--cert-dir", str(certs))
        assert lost.returncode == 2, lost.stderr
        assert "has no key client.key beside it" in one_error_line(lost)
    finally:
        registry.stop()
