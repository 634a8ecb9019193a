"""Distributing images (the chapter's TODO): push, pull, save, load, copy, search, login.

Two real registries run on 127.0.0.1 for the session (tests/conftest.py): one
plain HTTP, one TLS with a CA made by the test and htpasswd auth.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ocitool import credentials
from ocitool.client import Client
from ocitool.errors import Conflict
from ocitool.models import Image
from ocitool.registry import Registry, Tls
from tests import lab as lab_setup
from tests.conftest import BASE, CHAIN, ENGINES, Lab, Registries, build_images
from tests.test_cli import ocitool, one_error_line

INSECURE = ["--tls-verify=false"]


def login(registry: lab_setup.RegistryProcess, password: str) -> subprocess.CompletedProcess[str]:
    """`ocitool login` with the password on stdin, as a user would type it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ocitool",
            "login",
            registry.host,
            "-u",
            "tester",
            "--password-stdin",
            "--cert-dir",
            str(registry.ca_dir),
        ],
        input=password,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def portable(image: Image) -> dict[str, object]:
    """What must survive every hop: the layers and the runtime config."""
    return {
        "diff_ids": image.diff_ids,
        "config": image.config.model_dump(),
        "author": image.author,
        "architecture": image.architecture,
        "os": image.os,
    }


@pytest.fixture
def engines(lab: Lab) -> list[str]:
    for engine in ENGINES:
        build_images(engine, lab)
    return ENGINES


def hops(start: str, registries: Registries, tmp_path: Path, repo: str) -> dict[str, Image]:
    """start -> registry -> every other engine and an OCI layout; the image at each stop."""
    plain = registries.plain.host
    pushed = Client(backend=start).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/{repo}")
    assert pushed.digest and pushed.digest.startswith("sha256:")
    seen = {start: Client(backend=start).image(CHAIN[1])}
    for engine in (e for e in ENGINES if e != start):
        result = Client(backend=engine).transfers(tls_verify=False).pull(f"{plain}/{repo}")
        assert result.names == [f"{plain}/{repo}"]
        seen[engine] = Client(backend=engine).image(f"{plain}/{repo}")
        assert result.image_id == seen[engine].id
    layout = tmp_path / f"layout-{start}"
    Client(backend=start).transfers(tls_verify=False).copy(
        f"docker://{plain}/{repo}", f"oci:{layout}:second"
    )
    seen["layout"] = Client(backend="oci", store=layout).image("second")
    return seen


@pytest.mark.parametrize("start", [e for e in ("docker", "podman") if e in ENGINES])
def test_push_then_pull_everywhere_keeps_layers_and_config(
    start: str, engines: list[str], registries: Registries, tmp_path: Path
) -> None:
    seen = hops(start, registries, tmp_path, f"hops/{start}:second")
    origin = portable(seen[start])
    for stop, image in seen.items():
        assert portable(image) == origin, stop
    # docker and podman keep the docker-format config, so the image ID, across the registry
    for engine in ("docker", "podman"):
        if engine in seen:
            assert seen[engine].id == seen[start].id, engine


def test_pull_by_digest(engines: list[str], registries: Registries) -> None:
    """podman keeps an image under its digest; docker's daemon and the oci store name
    images by tag only, so they refuse at once and say how to give it one."""
    plain = registries.plain.host
    pushed = (
        Client(backend=engines[0])
        .transfers(tls_verify=False)
        .push(CHAIN[1], f"{plain}/bydigest/img:1")
    )
    by_digest = f"{plain}/bydigest/img@{pushed.digest}"
    for engine in engines:
        proc = ocitool("--backend", engine, "pull", *INSECURE, by_digest)
        if engine == "podman":
            assert proc.returncode == 0, proc.stderr
            assert Client(backend=engine).image(by_digest).diff_ids == (
                Client(backend=engines[0]).image(CHAIN[1]).diff_ids
            )
        else:
            assert proc.returncode == 2, (engine, proc.stderr)
            assert "names local images by tag, not by digest" in one_error_line(proc)


def test_save_and_load_round_trips(
    engines: list[str], registries: Registries, tmp_path: Path
) -> None:
    for engine in engines:
        client = Client(backend=engine)
        for archive_format in ("docker-archive", "oci-archive"):
            name = f"roundtrip/{engine}:{archive_format}"
            original = client.tag(CHAIN[1], name)
            archive = tmp_path / f"{engine}-{archive_format}.tar"
            saved = client.save(name, output=archive, archive_format=archive_format)
            assert archive.exists() and saved.names == [name]
            client.rmi(name)
            loaded = client.load(archive)
            assert len(loaded) == 1, (engine, archive_format, loaded)
            result = loaded[0]
            assert name in result.names, (engine, archive_format, result)
            back = client.image(name)
            assert back.id == result.image_id
            assert back.diff_ids == original.diff_ids
            # Where the format keeps the config, the ID survives; where it does not, the
            # result says so (docs/engines.md, Conversion to OCI).
            if result.id_changed is not None:
                assert result.id_changed == (back.id != original.id), (engine, archive_format)
            if engine in ("docker", "podman") and archive_format == "docker-archive":
                assert back.id == original.id, engine


def test_several_images_in_one_archive(engines: list[str], tmp_path: Path) -> None:
    for engine in engines:
        client = Client(backend=engine)
        formats = ["oci-archive"] + (["docker-archive"] if engine != "oci" else [])
        for archive_format in formats:
            names = [f"multi/{engine}:a", f"multi/{engine}:b"]
            client.tag(BASE, names[0])
            client.tag(CHAIN[1], names[1])
            archive = tmp_path / f"multi-{engine}-{archive_format}.tar"
            client.save(*names, output=archive, archive_format=archive_format)
            client.rmi(*names)
            loaded = client.load(archive)
            assert sorted(n for r in loaded for n in r.names if n.startswith("multi/")) == names
            client.rmi(*names)


def test_an_archive_with_a_twice_named_and_an_unnamed_image(
    engines: list[str], tmp_path: Path
) -> None:
    """skopeo's @N counts images, not names: the unnamed second image is @1, not @2."""
    first = Client(backend=engines[0])
    named, unnamed = first.image(BASE), first.image(CHAIN[1])
    parts = [tmp_path / "named.tar", tmp_path / "unnamed.tar"]
    first.tag(BASE, "twice/a:1")
    first.save("twice/a:1", output=parts[0])
    assert first.save(unnamed.id, output=parts[1]).names == []
    archive = merged_docker_archive(parts, tmp_path / "mixed.tar", [["twice/a:1", "twice/a:2"], []])
    for engine in engines:
        loaded = Client(backend=engine).load(archive)
        ids = {r.source_id or r.image_id for r in loaded}
        assert {named.id, unnamed.id} <= ids, (engine, loaded)
        names = {n for r in loaded for n in r.names}
        assert {"twice/a:1", "twice/a:2"} <= names, engine
        assert len({r.image_id for r in loaded}) == 2, (engine, loaded)


def merged_docker_archive(parts: list[Path], output: Path, tags: list[list[str]]) -> Path:
    """One docker archive holding each part's image, named by `tags` (as `docker save` of
    several images writes, which not every engine can)."""
    manifest: list[dict[str, object]] = []
    with tarfile.open(output, "w") as out:
        seen: set[str] = set()
        for part, names in zip(parts, tags, strict=True):
            with tarfile.open(part) as tar:
                for member in tar.getmembers():
                    if member.name == "manifest.json":
                        (entry,) = json.load(tar.extractfile(member))  # type: ignore[arg-type]
                        manifest.append({**entry, "RepoTags": names or None})
                    elif member.name not in seen and member.name != "repositories":
                        seen.add(member.name)
                        out.addfile(member, tar.extractfile(member) if member.isfile() else None)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    return output


def test_search_finds_the_pushed_repository_and_its_tags(
    engines: list[str], registries: Registries
) -> None:
    plain = registries.plain.host
    Client(backend=engines[0]).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/found/it:v1")
    Client(backend=engines[0]).transfers(tls_verify=False).push(CHAIN[0], f"{plain}/found/it:v0")
    proc = ocitool(
        "search", "found", "--registry", plain, "--tags", "--tls-verify=false", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert [r["name"] for r in results] == [f"{plain}/found/it"]
    assert sorted(results[0]["tags"]) == ["v0", "v1"]


def test_login_push_and_pull_through_tls_and_auth(
    engines: list[str], registries: Registries
) -> None:
    secure = registries.secure
    host = secure.host
    tls = ["--cert-dir", str(secure.ca_dir)]
    without = ocitool("--backend", engines[0], "push", CHAIN[1], f"{host}/private/img:1", *tls)
    assert without.returncode == 10
    assert "ocitool login" in one_error_line(without)
    done = login(secure, "s3cret-pass\n")
    assert done.returncode == 0, done.stderr
    assert "s3cret-pass" not in done.stdout + done.stderr
    for path in (credentials.containers_auth_file(), credentials.docker_config_file()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for engine in engines:
        pushed = ocitool("--backend", engine, "push", CHAIN[1], f"{host}/private/{engine}:1", *tls)
        assert pushed.returncode == 0, pushed.stderr
    if "docker" in engines:  # docker itself reads the login from its config.json
        tagged = lab_setup.engine(["docker", "tag", CHAIN[1], f"{host}/private/native:1"])
        assert tagged == ""
        lab_setup.engine(["docker", "push", f"{host}/private/native:1"])
    found = Client().search("private", registry=host, cert_dir=secure.ca_dir, tags=True)
    assert {r.name.rsplit("/", 1)[-1] for r in found} >= set(engines)
    logout = ocitool("logout", host)
    assert logout.returncode == 0 and "Removed" in logout.stdout
    assert credentials.lookup(host) is None


def test_a_wrong_password(registries: Registries) -> None:
    secure = registries.secure
    before = {
        p: p.read_bytes() if p.exists() else None
        for p in (credentials.containers_auth_file(), credentials.docker_config_file())
    }
    proc = login(secure, "not-the-password")
    assert proc.returncode == 10
    assert "rejected the username or password" in one_error_line(proc)
    after = {p: p.read_bytes() if p.exists() else None for p in before}
    assert after == before  # nothing saved


def test_no_process_shows_the_password_during_login(registries: Registries) -> None:
    secure = registries.secure
    secret = "s3cret-pass"
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for entry in Path("/proc").iterdir():
                try:
                    argv = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if secret.encode() in argv:
                    seen.append(argv.decode(errors="replace"))
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(3):
            proc = login(secure, secret)
            assert proc.returncode == 0, proc.stderr
    finally:
        done.set()
        watcher.join()
    assert seen == []


def test_a_registry_that_is_down(engines: list[str]) -> None:
    nowhere = f"127.0.0.1:{lab_setup.free_port()}"
    before = Client(backend=engines[0]).images()
    proc = ocitool("--backend", engines[0], "push", CHAIN[1], f"{nowhere}/x/y:1", *INSECURE)
    assert proc.returncode == 5
    assert nowhere in one_error_line(proc)
    assert Client(backend=engines[0]).images() == before


def test_a_destination_tag_that_already_exists(engines: list[str], registries: Registries) -> None:
    plain = registries.plain.host
    Client(backend=engines[0]).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/dup/img:1")
    for engine in engines:
        again = ocitool("--backend", engine, "push", CHAIN[0], f"{plain}/dup/img:1", *INSECURE)
        assert again.returncode == 8
        assert "already exists" in one_error_line(again) and "--force" in one_error_line(again)
    # ... and into an engine: copy onto a name that is taken
    with pytest.raises(Conflict):
        Client(backend=engines[0]).copy(CHAIN[0], f"{engines[0]}:{CHAIN[1]}")
    forced = (
        Client(backend=engines[0])
        .transfers(tls_verify=False)
        .push(CHAIN[0], f"{plain}/dup/img:1", force=True)
    )
    assert forced.digest


def test_a_truncated_archive(engines: list[str], tmp_path: Path) -> None:
    for engine in engines:
        client = Client(backend=engine)
        archive = tmp_path / f"{engine}.tar"
        client.save(CHAIN[1], output=archive)
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) // 2])
        before = [(i.id, i.names) for i in client.images(all=True)]
        proc = ocitool("--backend", engine, "load", "-i", str(archive))
        assert proc.returncode in (1, 2), proc.stderr
        line = one_error_line(proc)
        assert str(archive) in line or "truncated" in line or "archive" in line, line
        assert [(i.id, i.names) for i in client.images(all=True)] == before


def test_a_plain_registry_asked_for_tls_and_a_missing_archive(
    registries: Registries, tmp_path: Path
) -> None:
    proc = ocitool("search", "--registry", registries.plain.host, "chain")
    assert proc.returncode == 1, proc.stderr
    assert "use --tls-verify=false" in one_error_line(proc)
    missing = tmp_path / "nope.tar"
    proc = ocitool("--backend", "oci", "copy", f"docker-archive:{missing}", "oci:missing:1")
    assert proc.returncode == 2, proc.stderr
    assert one_error_line(proc).startswith(
        f"ocitool: error: docker-archive:{missing}: no such file"
    )


def test_an_unknown_transport() -> None:
    for source in ("ftp://example/img:1", "dir:/tmp/x", "s3://bucket/img"):
        proc = ocitool("copy", source, "docker:x:1")
        assert proc.returncode == 2
        assert "transport" in one_error_line(proc)


def test_a_registry_that_dies_mid_push(engine: str, lab: Lab) -> None:
    """Kill the registry while a large layer uploads: one clear line, the same exit code
    on every engine (5: the registry is unavailable), and no tag there."""
    client = Client(backend=engine)
    client.run(
        BASE,
        ["sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null"],
        name="ot-bigpush",
        network="none",
    )
    client.commit("ot-bigpush", "ocitool-test/bigpush:1")
    registry = lab_setup.start_registry(lab.work / "registry-dying")
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ocitool",
                "--backend",
                engine,
                "push",
                "ocitool-test/bigpush:1",
                f"{registry.host}/big/img:1",
                *INSECURE,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 60
        uploads = registry.config.parent / "data" / "docker" / "registry" / "v2" / "repositories"
        while not uploads.exists():  # the push has reached the registry
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        registry.process.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 5, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ocitool: error: "), stderr
        registry.restart()
        hub = Registry(registry.host, tls=Tls(verify=False), credentials=None)
        assert not hub.has_manifest("big/img", "1")  # nothing half-done is visible
    finally:
        registry.stop()
        client.remove("ot-bigpush")
        client.rmi("ocitool-test/bigpush:1")


# -- issue 12: search, login and the registry's host (items 17-20, 30, 32) ----------------


@contextmanager
def listener(*, answer: bool) -> Iterator[tuple[int, list[str]]]:
    """A TCP port on 127.0.0.1 and the first line each connection sent it: it closes
    each connection at once (answer=True), or keeps it open and never answers."""
    seen: list[str] = []
    held: list[socket.socket] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            if not answer:
                held.append(conn)
                continue
            with conn:
                conn.settimeout(5)
                try:
                    seen.append(conn.recv(4096).decode(errors="replace").split("\r\n")[0])
                except OSError:
                    seen.append("")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def proxied(port: int) -> dict[str, str]:
    """Every HTTP(S) request ocitool makes goes to 127.0.0.1:port instead of out."""
    proxy = f"http://127.0.0.1:{port}"
    names = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
    return {**dict.fromkeys(names, proxy), "no_proxy": "", "NO_PROXY": ""}


def test_search_of_docker_hub_sends_nothing(engine: str) -> None:
    """Hub has no catalog: naming it, as a term or with --registry, says so without a
    request; only --tags of a named repository asks Hub's API, at registry-1.docker.io."""
    with listener(answer=True) as (port, seen):
        for args in (["docker.io/busybox"], ["--registry", "docker.io", "busybox"]):
            proc = ocitool("--backend", engine, "search", *args, env=proxied(port))
            assert proc.returncode == 6, proc.stderr
            line = one_error_line(proc)
            assert "Docker Hub has no catalog" in line
            assert "search busybox" in line  # where Hub can be searched
        assert seen == []
        tags = ocitool(
            "--backend", engine, "search", "docker.io/busybox", "--tags", env=proxied(port)
        )
    one_error_line(tags)  # the proxy closes the tunnel: one line, whatever the code
    assert seen and seen[0].startswith("CONNECT registry-1.docker.io:443 "), seen


def test_catalog_results_have_no_stars(engines: list[str], registries: Registries) -> None:
    plain = registries.plain.host
    Client(backend=engines[0]).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/starless/x:1")
    proc = ocitool(
        "search", "starless", "--registry", plain, "--tls-verify=false", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    [found] = json.loads(proc.stdout)
    assert (found["stars"], found["official"]) == (None, None)
    table = ocitool("search", "starless", "--registry", plain, "--tls-verify=false")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "starless" in line)
    assert row.split()[-2:] == ["-", "-"]  # STARS, OFFICIAL: unknown, not 0 and "no"


@pytest.mark.parametrize("engine", [e for e in ("podman",) if e in ENGINES])
def test_podman_search_with_no_search_registries(
    engine: str, engines: list[str], registries: Registries, tmp_path: Path
) -> None:
    """podman searches nothing and exits 0 when registries.conf lists no search
    registries; ocitool says so. With one listed, its catalog is searched."""
    empty = tmp_path / "registries.conf"
    empty.write_text("")
    env = {"CONTAINERS_REGISTRIES_CONF": str(empty)}
    proc = ocitool("--backend", engine, "search", "busybox", env=env)
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert "searched no registry" in line and "unqualified-search-registries" in line
    assert "--registry HOST" in line
    plain = registries.plain.host
    Client(backend=engine).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/viaconf/img:1")
    listed = tmp_path / "listed.conf"
    listed.write_text(
        f'unqualified-search-registries = ["{plain}"]\n'
        f'[[registry]]\nlocation = "{plain}"\ninsecure = true\n'
    )
    env = {"CONTAINERS_REGISTRIES_CONF": str(listed)}
    found = ocitool("--backend", engine, "search", "viaconf", "--format", "json", env=env)
    assert found.returncode == 0, found.stderr
    [result] = json.loads(found.stdout)
    assert result["name"] == f"{plain}/viaconf/img"
    assert (result["stars"], result["official"]) == (None, None)
    none = ocitool("--backend", engine, "search", "no-such-repo-here", "--format", "json", env=env)
    assert none.returncode == 0, none.stderr  # searched, and nothing matched
    assert json.loads(none.stdout or "[]") == []


def test_a_host_with_hash_or_query_never_logs_in(registries: Registries) -> None:
    """'HOST:PORT#' made the URL https://HOST:PORT#/v2/, whose GET went to / and
    'succeeded' with a wrong password (item 20)."""
    secure = registries.secure
    files = (credentials.containers_auth_file(), credentials.docker_config_file())
    before = [p.read_bytes() if p.exists() else None for p in files]
    for suffix in ("#", "?", "/", "#/v2/"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ocitool",
                "login",
                f"{secure.host}{suffix}",
                "-u",
                "tester",
                "--password-stdin",
                "--cert-dir",
                str(secure.ca_dir),
            ],
            input="wrong",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert "invalid registry host" in one_error_line(proc)
        assert "Login Succeeded" not in proc.stdout
    for command in (
        ["login", "-u", "tester", "--password-stdin", "--", "-rf"],
        ["logout", "--", "-rf"],
    ):
        proc = ocitool(*command)
        assert proc.returncode == 2, proc.stderr
        assert "option" in one_error_line(proc)
    assert [p.read_bytes() if p.exists() else None for p in files] == before


def test_a_password_given_as_an_argument_is_never_echoed(registries: Registries) -> None:
    host = registries.secure.host
    secret = "s3cret-pass"
    for args in (
        [host, "-u", "tester", secret],
        ["-u", "tester", host, secret],
        [host, secret, "-u", "tester", "--password-stdin"],
        [host, "-u", "tester", "--password-stdin", secret, "more"],
    ):
        proc = ocitool("login", *args)
        assert proc.returncode == 2, proc.stderr
        line = one_error_line(proc)
        assert secret not in proc.stdout + proc.stderr, args
        assert "--password-stdin" in line


def test_search_of_a_registry_that_needs_a_login(registries: Registries) -> None:
    secure = registries.secure
    credentials.remove(secure.host)
    proc = ocitool("search", "private", "--registry", secure.host, "--cert-dir", str(secure.ca_dir))
    assert proc.returncode == 10, proc.stderr
    line = one_error_line(proc)
    assert "requires a login" in line and f"ocitool login {secure.host}" in line


def test_registry_requests_honour_ocitool_timeout(engines: list[str]) -> None:
    """A registry that accepts connections and never answers: search, login and the
    push check stop after OCITOOL_TIMEOUT, not a fixed 30 s (item 30), with exit 7."""
    with listener(answer=False) as (port, _):
        host = f"127.0.0.1:{port}"
        env = {"OCITOOL_TIMEOUT": "2"}
        runs = [
            ["search", "x", "--registry", host, *INSECURE],
            ["login", host, "-u", "tester", "--password-stdin", *INSECURE],
            *(["--backend", e, "push", CHAIN[1], f"{host}/slow/img:1", *INSECURE] for e in engines),
        ]
        for args in runs:
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "ocitool", *args],
                input="pw",
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env={**os.environ, **env},
            )
            took = time.monotonic() - started
            assert proc.returncode == 7, (args, proc.stderr)
            line = one_error_line(proc)
            assert f"{host} did not answer within 2s" in line and "OCITOOL_TIMEOUT" in line
            assert took < 20, (args, took)


# -- issue 12: names, digests and shapes in archives and transfers -----------------------


def test_load_says_which_names_it_moved(engine: str, tmp_path: Path) -> None:
    """As tag, commit and import do: the name moved, the image it left stays."""
    client = Client(backend=engine)
    name = f"127.0.0.1:5999/moved/{engine}:1"  # spelled alike on every engine and in archives
    client.tag(CHAIN[1], name)
    archive = tmp_path / "moved.tar"
    client.save(name, output=archive)
    old = client.tag(BASE, name)  # the name now names the base image
    proc = ocitool("--backend", engine, "load", "-i", str(archive))
    assert proc.returncode == 0, proc.stderr
    new = Client(backend=engine).image(name)
    assert new.id != old.id
    notes = [line for line in proc.stderr.splitlines() if "moved from" in line]
    assert notes == [
        f"ocitool: note: {name} moved from {old.short_id} to {new.short_id}; "
        f"{old.short_id} is still tagged {', '.join(Client(backend=engine).image(old.id).names)}"
    ], proc.stderr
    client.rmi(name)


def _head(host: str, repository: str, digest: str) -> int:
    """What the registry answers for a manifest by digest (HEAD, any manifest type)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{digest}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_pull_reports_the_digest_the_registry_serves(
    engines: list[str], registries: Registries
) -> None:
    """Pushed from the oci store (OCI manifest), pulled into docker (which stores none)
    and podman: the printed digest is one the registry answers for."""
    plain = registries.plain.host
    start = "oci" if "oci" in engines else engines[0]
    pushed = (
        Client(backend=start).transfers(tls_verify=False).push(CHAIN[1], f"{plain}/served/img:1")
    )
    assert pushed.digest and _head(plain, "served/img", pushed.digest) == 200
    for engine in (e for e in engines if e != start):
        proc = ocitool(
            "--backend", engine, "pull", *INSECURE, "--format", "json", f"{plain}/served/img:1"
        )
        assert proc.returncode == 0, proc.stderr
        digest = json.loads(proc.stdout)["digest"]
        assert digest == pushed.digest, engine
        assert _head(plain, "served/img", digest) == 200, engine
        kept = Client(backend=engine).image(f"{plain}/served/img:1").repo_digests
        if not any(d.endswith(digest) for d in kept):
            assert "keeps no record of the registry's digest" in proc.stderr, (engine, kept)


@pytest.mark.parametrize("start", [e for e in ("podman",) if e in ENGINES])
def test_archives_carry_the_names_images_shows(
    start: str, engines: list[str], tmp_path: Path
) -> None:
    """podman's own save writes `localhost/…`, skopeo `docker.io/…`: the archive must
    carry the names `ocitool images` shows, and other engines load those."""
    podman = Client(backend=start)
    names = ["shown/podman:a", "shown/podman:b"]
    podman.tag(BASE, names[0])
    podman.tag(CHAIN[1], names[1])
    several, one = tmp_path / "several.tar", tmp_path / "one.tar"
    podman.save(*names, output=several)
    podman.save(names[0], output=one)
    for archive, expected in ((several, names), (one, names[:1])):
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert sorted(t for item in manifest for t in item["RepoTags"]) == expected
        for engine in (e for e in engines if e != "podman"):
            client = Client(backend=engine)
            loaded = client.load(archive)
            assert sorted(n for r in loaded for n in r.names if "shown/" in n) == expected, engine
            client.rmi(*expected)
    podman.rmi(*names)


def test_a_several_image_archive_as_a_copy_source_needs_a_name(
    engines: list[str], tmp_path: Path
) -> None:
    first = Client(backend=engines[0])
    first.tag(BASE, "pick/a:1")
    first.tag(CHAIN[1], "pick/b:1")
    parts = [tmp_path / "a.tar", tmp_path / "b.tar"]
    first.save("pick/a:1", output=parts[0])
    first.save("pick/b:1", output=parts[1])
    archive = merged_docker_archive(parts, tmp_path / "two.tar", [["pick/a:1"], ["pick/b:1"]])
    proc = ocitool("copy", f"docker-archive:{archive}", f"oci:{tmp_path / 'layout'}:x")
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert f"{archive} holds 2 images (pick/a:1, pick/b:1)" in line, line
    assert f"docker-archive:{archive}:pick/a:1" in line, line
    assert not (tmp_path / "layout").exists()
    first.rmi("pick/a:1", "pick/b:1")


def _archive_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


_CONFIG = "a" * 64 + ".json"


MISSHAPEN = {
    "manifest-dict": {"manifest.json": b'{"Config": "x"}'},
    "manifest-numbers": {"manifest.json": b"[1, 2]"},
    "manifest-null": {"manifest.json": b"null"},
    "repotag-nul": {
        "manifest.json": json.dumps(
            [{"Config": _CONFIG, "RepoTags": ["bad\u0000name:1"], "Layers": []}]
        ).encode()
    },
    "index-list": {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": b"[]"},
    "index-null": {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": b"null"},
    "manifests-numbers": {"index.json": b'{"schemaVersion": 2, "manifests": [1]}'},
    "manifests-string": {"index.json": b'{"schemaVersion": 2, "manifests": "x"}'},
    "annotations-string": {
        "index.json": b'{"schemaVersion": 2, "manifests": [{"annotations": "x"}]}'
    },
}


@pytest.mark.parametrize("case", sorted(MISSHAPEN))
def test_a_misshapen_archive_is_refused_before_anything_is_written(
    engine: str, case: str, tmp_path: Path
) -> None:
    archive = _archive_with(tmp_path / f"{case}.tar", MISSHAPEN[case])
    before = [(i.id, i.names) for i in Client(backend=engine).images(all=True)]
    proc = ocitool("--backend", engine, "load", "-i", str(archive))
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert str(archive) in line and ("manifest.json" in line or "index.json" in line), line
    assert [(i.id, i.names) for i in Client(backend=engine).images(all=True)] == before


def test_save_and_load_through_paths_with_a_colon(engine: str, tmp_path: Path) -> None:
    """skopeo reads `docker-archive:PATH:NAME`, so a ':' in PATH must not reach it."""
    client = Client(backend=engine)
    folder = tmp_path / "at:colon"
    folder.mkdir()
    for archive_format in ("docker-archive", "oci-archive"):
        archive = folder / f"img:{archive_format}.tar"
        proc = ocitool(
            "--backend", engine, "save", "--format", archive_format, "-o", str(archive), CHAIN[1]
        )
        assert proc.returncode == 0, proc.stderr
        assert archive.is_file() and not list(folder.glob("*partial*"))
        proc = ocitool("--backend", engine, "load", "-i", str(archive))
        assert proc.returncode == 0, proc.stderr
        assert client.image(CHAIN[1]).diff_ids


def test_save_onto_a_directory(engine: str, tmp_path: Path) -> None:
    proc = ocitool("--backend", engine, "save", "--force", "-o", str(tmp_path), CHAIN[1])
    assert proc.returncode == 2, proc.stderr
    assert f"{tmp_path} is a directory" in one_error_line(proc)
    assert list(tmp_path.iterdir()) == []


def _hanging_server() -> tuple[Any, int]:
    """A loopback socket that accepts connections and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[object] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept())
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, int(server.getsockname()[1])


def test_a_registry_that_never_answers_is_given_up_on(engine: str) -> None:
    server, port = _hanging_server()
    try:
        started = time.monotonic()
        proc = ocitool(
            "--backend",
            engine,
            "pull",
            *INSECURE,
            f"127.0.0.1:{port}/x/y:1",
            env={"OCITOOL_TIMEOUT": "3"},
        )
        assert time.monotonic() - started < 60
    finally:
        server.close()
    assert proc.returncode == 7, proc.stderr
    lines = proc.stderr.splitlines()
    assert "made no progress for 3s" in lines[-1] and "OCITOOL_TIMEOUT" in lines[-1], lines
    assert any("has made no progress" in line for line in lines[:-1]), lines


def _stat(pid: int | str) -> list[str]:
    """A process's /proc stat fields after its name: state, parent, ...; [] once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _children(pid: int) -> list[int]:
    return [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and (fields := _stat(e.name)) and int(fields[1]) == pid
    ]


def test_a_killed_ocitool_leaves_no_copy_running(engine: str, tmp_path: Path) -> None:
    """kill -9 of ocitool mid-copy: skopeo dies with it (and so cannot write into a
    store whose lock ocitool no longer holds), and the next copy clears its files."""
    server, port = _hanging_server()
    scratch = str(tmp_path)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ocitool",
                "--backend",
                engine,
                "pull",
                *INSECURE,
                f"127.0.0.1:{port}/x/y:1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": scratch},
        )
        deadline = time.monotonic() + 30
        while not (copies := _children(proc.pid)):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_stat(pid) and _stat(pid)[0] != "Z" for pid in copies):
            assert time.monotonic() < deadline, "skopeo outlived ocitool"
            time.sleep(0.05)
        # what the killed copy left for its temporary files goes with the next copy
        left = set(Path(scratch).iterdir())
        assert left, "the copy had no directory of its own"
        again = ocitool(
            "--backend",
            engine,
            "pull",
            *INSECURE,
            f"127.0.0.1:{port}/x/y:1",
            env={"OCITOOL_TIMEOUT": "1", "TMPDIR": scratch},
        )
        assert again.returncode == 7, again.stderr
        assert not left & set(Path(scratch).iterdir())
    finally:
        server.close()


def test_ctrl_c_mid_copy_leaves_no_files(tmp_path: Path) -> None:
    """skopeo's temporary files (an archive unpacked, a blob on its way) are its own
    directory's, removed on Ctrl-C; a new layout appears only when complete."""
    source = tmp_path / "rootfs"
    source.mkdir()
    (source / "big").write_bytes(os.urandom(120 << 20))
    tarball = tmp_path / "big.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(source, arcname=".")
    store = tmp_path / "store"
    oci = Client(backend="oci", store=store)
    oci.import_image(tarball, "big/img:1")
    archive = tmp_path / "big-oci.tar"
    oci.save("big/img:1", output=archive, archive_format="oci-archive")
    scratch, layout = tmp_path / "tmp", tmp_path / "new-layout"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocitool", "copy", f"oci-archive:{archive}", f"oci:{layout}:x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 60
    while not any(p.is_file() for p in scratch.glob("*/tmp/**/*")):  # skopeo is unpacking
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert list(scratch.iterdir()) == []
    assert not layout.exists() and not list(tmp_path.glob("new-layout*"))
    # into an oci store: skopeo's half-written blob there goes too
    fresh = tmp_path / "fresh-store"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocitool",
            "--backend",
            "oci",
            "--store",
            str(fresh),
            "copy",
            f"oci-archive:{archive}",
            "oci:big/copy:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 60
    while not list(fresh.glob("oci-put-blob*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert list(fresh.glob("oci-put-blob*")) == [] and list(scratch.iterdir()) == []
    assert Client(backend="oci", store=fresh).images() == []


def test_a_docker_daemon_lost_mid_copy_is_the_engine(lab: Lab, tmp_path: Path) -> None:
    """A daemon that drops the connection is reported as the engine, not a registry."""
    import socket

    layout = tmp_path / "layout"
    Client(backend="oci", store=tmp_path / "store").import_image(lab.tar, "lost/img:1")
    proc = ocitool(
        "--backend",
        "oci",
        "--store",
        str(tmp_path / "store"),
        "copy",
        "lost/img:1",
        f"oci:{layout}:1",
    )
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "d.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(16)

    def drop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        proc = ocitool(
            "--backend",
            "docker",
            "copy",
            "--force",
            f"oci:{layout}:1",
            "docker:lost/img:1",
            env={"DOCKER_HOST": f"unix://{path}"},
        )
    finally:
        server.close()
    assert proc.returncode == 5, proc.stderr
    line = one_error_line(proc)
    assert line.startswith("ocitool: error: docker: ") and f"unix://{path}" in line, line
    assert "registry" not in line, line


@pytest.mark.parametrize("start", [e for e in ("podman",) if e in ENGINES])
def test_podman_load_says_its_real_reason(start: str, lab: Lab, tmp_path: Path) -> None:
    """podman load lists an error per transport; the archive's own is the one shown
    (here a layer that is not what its digest says, new to podman's storage)."""
    podman = Client(backend=start)
    archive = tmp_path / "good.tar"
    rootfs = _archive_with(tmp_path / "rootfs.tar", {"unique": os.urandom(64)})
    oci = Client(backend="oci", store=tmp_path / "store")
    oci.import_image(rootfs, "damaged/img:1")
    oci.save("damaged/img:1", output=archive)
    damaged = tmp_path / "damaged.tar"
    evil = _archive_with(tmp_path / "evil.tar", {"unique": os.urandom(64)}).read_bytes()
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w") as out:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".tar"):
                member.size = len(evil)
                out.addfile(member, io.BytesIO(evil))
            else:
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    before = [(i.id, i.names) for i in podman.images(all=True)]
    proc = ocitool("--backend", "podman", "load", "-i", str(damaged))
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert "Digest did not match" in line and str(damaged) in line, line
    assert [(i.id, i.names) for i in podman.images(all=True)] == before


def test_a_full_disk_during_a_compressed_import_says_so(tmp_path: Path) -> None:
    """Not "damaged or cut short": the input is fine, the store's disk is too small.
    The decompressed size is bounded by the free space (backends/oci/tarballs.py), so
    the disk is never filled: the import is refused first, and leaves nothing."""
    import gzip

    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        store = mount / "store"
        Client(backend="oci", store=store).images()
        tarball = tmp_path / "zeros.tar.gz"
        source = tmp_path / "zeros"
        source.mkdir()
        (source / "zeros").write_bytes(bytes(16 << 20))
        with gzip.open(tarball, "wb") as packed, tarfile.open(fileobj=packed, mode="w") as tar:
            tar.add(source, arcname=".")
        proc = ocitool("--backend", "oci", "--store", str(store), "import", str(tarball), "z:1")
        assert proc.returncode == 2, proc.stderr
        line = one_error_line(proc)
        assert "can spare" in line and "free some space" in line and "damaged" not in line
        assert Client(backend="oci", store=store).images() == []
        assert not [p for p in store.rglob("*") if p.name.startswith(".ocitool-layer-")]
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("engine", [e for e in ("docker", "podman") if e in ENGINES])
def test_load_asks_the_engine_as_often_for_two_images_as_for_one(
    engine: str, engines: list[str], tmp_path: Path
) -> None:
    """The names it moved come from one listing before and one after, never one
    call per image (the engine's own load reads the archive)."""
    client = Client(backend=engine)
    client.tag(BASE, f"calls/{engine}:a")
    client.tag(CHAIN[1], f"calls/{engine}:b")
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    client.save(f"calls/{engine}:a", output=one)
    client.save(f"calls/{engine}:a", f"calls/{engine}:b", output=two)
    counts = []
    for archive in (one, two):
        proc = ocitool("--backend", engine, "--debug", "load", "-i", str(archive))
        assert proc.returncode == 0, proc.stderr
        counts.append(sum(1 for line in proc.stderr.splitlines() if line.startswith("ocitool: + ")))
    assert counts[0] == counts[1], counts
    client.rmi(f"calls/{engine}:a", f"calls/{engine}:b")
