"""Remote engines (issue 13): every command against a docker daemon reached over tcp,
over ssh and through a context, and a podman service reached by URL, connection and
CONTAINER_HOST; copies between machines; reads that are right remotely; one-line
errors naming the endpoint. The engines are real and on 127.0.0.1
(tests/remote_lab.py): a second dockerd, a real sshd, a podman service.

Each image made here exists only on the remote engine, so a copy that quietly
read the local store instead would fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BASE, Lab, Registries, build_images
from tests.remote_lab import Remote


def ocitool(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocitool", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )


def ok(*args: str, **env: str) -> str:
    proc = ocitool(*args, **env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ocitool: error: ") and "Traceback" not in proc.stderr
    return lines[0]


def transferred(*args: str, **env: str) -> dict[str, object]:
    """The one image a push, pull or copy moved (every transfer prints an array)."""
    docs: list[dict[str, object]] = json.loads(ok(*args, "--format", "json", **env))
    assert len(docs) == 1, docs
    return docs[0]


# -- how each remote endpoint is chosen: (global options, environment) -----------------


def docker_ways(remote: Remote) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "DOCKER_HOST=tcp": (["-b", "docker"], {"DOCKER_HOST": remote.docker_tcp}),
        "DOCKER_HOST=ssh": (["-b", "docker"], {"DOCKER_HOST": remote.docker_ssh}),
        "--host ssh": (["-b", "docker", "--host", remote.docker_ssh], {}),
        "--connection context": (["-b", "docker", "--connection", remote.context], {}),
    }


def podman_ways(remote: Remote) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "CONTAINER_HOST": (["-b", "podman"], {"CONTAINER_HOST": remote.podman_url}),
        "--host": (["-b", "podman", "-H", remote.podman_url], {}),
        "--connection": (
            ["-b", "podman", "--connection", remote.connection],
            {"CONTAINERS_CONF": str(remote.containers_conf)},
        ),
        # containers.conf's `remote = true`: podman itself takes the default connection
        "default connection": (["-b", "podman"], {"CONTAINERS_CONF": str(remote.remote_conf)}),
    }


WAYS = [
    *(("docker", w) for w in ("DOCKER_HOST=tcp", "DOCKER_HOST=ssh", "--host ssh")),
    ("docker", "--connection context"),
    *(("podman", w) for w in ("CONTAINER_HOST", "--host", "--connection", "default connection")),
]


def way(remote: Remote, engine: str, name: str) -> tuple[list[str], dict[str, str]]:
    return (docker_ways if engine == "docker" else podman_ways)(remote)[name]


def only_remote(remote: Remote, lab: Lab, engine: str, name: str) -> str:
    """An image made on the remote engine only; `name` is made unique per test."""
    if engine == "docker":
        remote.docker("import", str(lab.tar), name)
    else:
        remote.podman("import", str(lab.tar), name)
    local = subprocess.run([engine, "image", "inspect", name], capture_output=True, check=False)
    assert local.returncode != 0, f"{name} must not exist on the local {engine}"
    return name


def registry_tags(host: str, repository: str) -> list[str]:
    with urllib.request.urlopen(f"http://{host}/v2/{repository}/tags/list", timeout=30) as r:
        return list(json.load(r).get("tags") or [])


def archive_names(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        return [n for item in json.load(handle) for n in item.get("RepoTags") or []]


# -- backends --------------------------------------------------------------------------


def test_backends_lists_each_endpoint_local_or_remote(remote: Remote) -> None:
    env = {"CONTAINERS_CONF": str(remote.containers_conf)}
    rows = json.loads(ok("backends", "--format", "json", **env))
    where = {(r["backend"], r["connection"]): r for r in rows}
    assert where[("docker", None)]["remote"] is False
    assert where[("docker", remote.context)]["remote"] is True
    assert where[("docker", remote.context)]["endpoint"] == remote.docker_ssh
    assert where[("docker", remote.context)]["reachable"] is True
    assert where[("podman", remote.connection)]["remote"] is True
    assert where[("podman", remote.connection)]["reachable"] is True
    assert where[("podman", None)]["remote"] is False
    table = ok("backends", **env)
    assert f"docker@{remote.context}" in table and f"podman@{remote.connection}" in table
    assert "remote" in table and "local" in table

    chosen = json.loads(ok("-b", "docker", "-H", remote.docker_tcp, "backends", "--format", "json"))
    picked = [r for r in chosen if r["selected"]]
    assert [(r["endpoint"], r["remote"], r["reachable"]) for r in picked] == [
        (remote.docker_tcp, True, True)
    ]


# -- an image only on the remote engine: saved, pushed, copied into the oci store ------


@pytest.mark.parametrize(("engine", "how"), WAYS)
def test_an_image_only_on_the_remote_engine_is_saved_pushed_and_copied(
    remote: Remote, lab: Lab, registries: Registries, tmp_path: Path, engine: str, how: str
) -> None:
    args, env = way(remote, engine, how)
    slug = "".join(c for c in how.lower() if c.isalnum())
    name = only_remote(remote, lab, engine, f"remote-only/{engine}-{slug}:1")

    saved = tmp_path / "saved.tar"
    ok(*args, "save", name, "-o", str(saved), **env)
    assert archive_names(saved) == [name]

    plain = registries.plain.host
    pushed = transferred(
        *args, "push", name, f"{plain}/remote/{engine}-{slug}:1", "--tls-verify=false", **env
    )
    assert registry_tags(plain, f"remote/{engine}-{slug}") == ["1"]
    assert pushed["digest"]

    copied = transferred(*args, "copy", name, f"oci:{name}", **env)
    # skopeo reaches a plain tcp:// daemon (as http://); elsewhere the engine's own save
    assert (
        copied["path"] == "skopeo copy"
        if how == "DOCKER_HOST=tcp"
        else "save" in str(copied["path"])
    )
    inspected = json.loads(ok("-b", "oci", "inspect", name, "--format", "json"))
    assert inspected[0]["names"] == [name]


def test_tcp_docker_host_transfers_go_through_skopeo_over_http(
    remote: Remote, lab: Lab, registries: Registries, tmp_path: Path
) -> None:
    """The issue's report: on a plain tcp:// DOCKER_HOST every transfer failed with a
    wrong plain-HTTP message. skopeo reaches it as http://, so it copies directly."""
    env = {"DOCKER_HOST": remote.docker_tcp}
    name = only_remote(remote, lab, "docker", "remote-only/tcp:1")
    copied = transferred("-b", "docker", "copy", name, "oci:tcp/copied:1", **env)
    assert copied["path"] == "skopeo copy"

    plain = registries.plain.host
    ok("-b", "docker", "push", name, f"{plain}/remote/tcp:1", "--tls-verify=false", **env)
    ok("-b", "docker", "rmi", name, **env)
    pulled = transferred(
        "-b", "docker", "pull", f"{plain}/remote/tcp:1", "--tls-verify=false", **env
    )
    assert pulled["names"] == [f"{plain}/remote/tcp:1"]

    archive = tmp_path / "oci.tar"
    ok("-b", "oci", "save", "tcp/copied:1", "-o", str(archive), "--format", "oci-archive")
    ok("-b", "docker", "load", "-i", str(archive), **env)
    assert "tcp/copied:1" in remote.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")


# -- copies between machines ------------------------------------------------------------


def test_local_docker_to_remote_podman(remote: Remote, lab: Lab) -> None:
    build_images("docker", lab)
    env = {"CONTAINERS_CONF": str(remote.containers_conf)}
    target = f"podman@{remote.connection}:from-local/base:1"
    copied = transferred("copy", f"docker:{BASE}", target, **env)
    assert copied["path"] == "docker save | podman load"
    assert copied["destination"] == target
    assert copied["id_changed"] is False  # the docker archive keeps the config
    remote.podman("image", "exists", "localhost/from-local/base:1")
    again = ocitool("copy", f"docker:{BASE}", target, **env)
    assert again.returncode == 8 and "already exists" in one_error_line(again)


def remote_images(remote: Remote, engine: str) -> dict[str, str]:
    """Every image on the remote engine, dangling ones too: name (or ID) -> ID."""
    fmt = "{{.Repository}}:{{.Tag}} {{.ID}}"
    if engine == "docker":
        listed = remote.docker("image", "ls", "--all", "--no-trunc", "--format", fmt)
    else:
        listed = remote.podman("image", "ls", "--all", "--no-trunc", "--format", fmt)
    rows = (line.split() for line in listed.splitlines() if line.strip())
    return {name if "<none>" not in name else image_id: image_id for name, image_id in rows}


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_an_existing_name_on_a_streamed_destination_is_refused_and_kept(
    remote: Remote, lab: Lab, engine: str
) -> None:
    """The name check runs while the layers stream (ocitool.archive_stream): without
    --force the image the name had keeps it, and nothing else is left at the far end."""
    build_images("docker", lab)
    name = only_remote(remote, lab, engine, f"clash/{engine}-kept:1")
    at = f"[{remote.docker_ssh}]" if engine == "docker" else f"[{remote.podman_url}]"
    target = f"{engine}@{at}:{name}"
    before = remote_images(remote, engine)
    local_id = json.loads(ok("-b", "docker", "inspect", BASE, "--format", "json"))[0]["id"]
    kept = next(i for n, i in before.items() if n.endswith(name))
    assert kept.removeprefix("sha256:") != local_id.removeprefix("sha256:")

    refused = ocitool("copy", f"docker:{BASE}", target)
    assert refused.returncode == 8, refused.stderr
    assert f"{target} already exists" in one_error_line(refused)
    assert remote_images(remote, engine) == before  # the name unmoved, no image added

    forced = transferred("copy", "--force", f"docker:{BASE}", target)
    assert forced["image_id"] == local_id
    after = remote_images(remote, engine)
    moved = next(i for n, i in after.items() if n.endswith(name))
    assert moved.removeprefix("sha256:") == local_id.removeprefix("sha256:")


def test_a_streamed_copy_reads_the_source_by_its_save_alone(remote: Remote, lab: Lab) -> None:
    """Between two engines' save | load the source is not inspected first: the save finds
    it by name (a missing one is its error), and the archive's config is its image ID."""
    build_images("docker", lab)
    target = f"docker@[{remote.docker_ssh}]:streamed/only:1"
    proc = ocitool("--debug", "copy", "--force", BASE, target, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    calls = [line for line in proc.stderr.splitlines() if line.startswith("ocitool: + ")]
    assert not [c for c in calls if "inspect" in c], calls  # --force: no name check either
    copied = json.loads(proc.stdout)[0]
    local_id = json.loads(ok("-b", "docker", "inspect", BASE, "--format", "json"))[0]["id"]
    assert copied["source_id"] == copied["image_id"] == local_id
    assert copied["id_changed"] is False

    missing = ocitool("copy", "docker:no/such:1", target)
    assert missing.returncode == 3
    assert "not found on docker: no/such:1" in one_error_line(missing)
    assert "streamed/only:1" in remote.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")


def test_ctrl_c_during_a_copy_over_ssh_leaves_nothing_there(
    remote: Remote, lab: Lab, tmp_path: Path
) -> None:
    """Ctrl-C while the far end is still connecting: the load is stopped with ocitool,
    so nothing arrives there later, named or not."""
    build_images("docker", lab)
    slow, started = tmp_path / "bin", tmp_path / "connecting"
    slow.mkdir()
    (slow / "ssh").write_text(
        f'#!/bin/sh\ntouch {started}\nsleep 3\nexec {remote.ssh_bin / "ssh"} "$@"\n'
    )
    (slow / "ssh").chmod(0o755)
    before = remote_images(remote, "docker")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocitool", "copy", BASE, f"docker@[{remote.docker_ssh}]:int/r:1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PATH": f"{slow}{os.pathsep}{os.environ['PATH']}"},
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    time.sleep(5)  # past the wrapper's sleep: a load left running would have arrived
    assert remote_images(remote, "docker") == before


def test_remote_docker_to_remote_podman_and_back(remote: Remote, lab: Lab) -> None:
    name = only_remote(remote, lab, "docker", "remote-only/between:1")
    source = f"docker@{remote.context}:{name}"
    target = f"podman@[{remote.podman_url}]:between/renamed:2"
    copied = transferred("copy", source, target)
    assert copied["path"] == "docker save | podman load"
    assert copied["names"] == ["between/renamed:2"]
    assert (
        remote.podman("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").count(
            "localhost/between/renamed:2"
        )
        == 1
    )

    back = f"docker@[{remote.docker_ssh}]:between/back:3"
    returned = transferred("copy", target, back)
    assert returned["path"] == "podman save | docker load"
    assert returned["image_id"] == copied["image_id"]
    assert "between/back:3" in remote.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")


def test_the_registry_and_archives_reach_a_remote_engine(
    remote: Remote, lab: Lab, registries: Registries, tmp_path: Path
) -> None:
    """pull into the daemon over ssh and the podman service (skopeo into their load), and
    load an OCI archive docker cannot read itself into the daemon over ssh."""
    build_images("docker", lab)
    plain = registries.plain.host
    ok("-b", "docker", "push", BASE, f"{plain}/remote/pulled:1", "--tls-verify=false")
    for args in (
        ["-b", "docker", "-H", remote.docker_ssh],
        ["-b", "podman", "-H", remote.podman_url],
    ):
        pulled = transferred(*args, "pull", f"{plain}/remote/pulled:1", "--tls-verify=false")
        assert str(pulled["path"]).endswith(" load")
        assert pulled["names"] == [f"{plain}/remote/pulled:1"]
    archive = tmp_path / "oci.tar"
    ok("-b", "docker", "save", BASE, "-o", str(archive), "--format", "oci-archive")
    loaded = json.loads(
        ok("-b", "docker", "-H", remote.docker_ssh, "load", "-i", str(archive), "--format", "json")
    )
    assert [doc["path"] for doc in loaded] == ["skopeo copy | docker load"]
    assert BASE in remote.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")


# -- every other command on a remote engine ---------------------------------------------


@pytest.mark.parametrize(("engine", "how"), [("docker", "DOCKER_HOST=ssh"), ("podman", "--host")])
def test_the_chapter_on_a_remote_engine(
    remote: Remote, lab: Lab, tmp_path: Path, engine: str, how: str
) -> None:
    args, env = way(remote, engine, how)
    name = f"chapter/{engine}:1"
    ok(*args, "import", str(lab.tar), name, **env)
    container = f"chapter-{engine}"
    ok(
        *args,
        "run",
        "--name",
        container,
        "--network",
        "none",
        name,
        "sh",
        "-c",
        "echo hi > /hello; echo said-hi",
        **env,
    )
    assert "said-hi" in ok(*args, "logs", container, **env)
    ok(*args, "commit", "-m", "hello", container, f"chapter/{engine}:2", **env)
    files = json.loads(
        ok(*args, "layers", f"chapter/{engine}:2", "--files", "--format", "json", **env)
    )
    assert files["layers"][-1]["added"] >= 1
    diff = json.loads(
        ok(*args, "diff", name, f"chapter/{engine}:2", "--files", "--format", "json", **env)
    )
    assert "hello" in json.dumps(diff)
    ok(*args, "rm", container, **env)
    removed = json.loads(ok(*args, "rmi", f"chapter/{engine}:2", "--format", "json", **env))
    assert removed["deleted"]
    gone = ocitool(*args, "inspect", f"chapter/{engine}:2", **env)
    assert gone.returncode == 3


# -- reads that are faster locally stay correct remotely --------------------------------


def test_du_and_images_on_a_remote_engine_equal_the_local_reading(remote: Remote, lab: Lab) -> None:
    """The same engine read remotely (its calls) and locally (its files, where ocitool
    reads them): du, images, -q and tree agree. The images' full models agree but for
    what the engines keep only in their files (each layer's size; docker's layer times
    and comments): their calls give those one image at a time only."""
    only_remote(remote, lab, "docker", "remote-only/du:1")
    remote.docker("tag", "remote-only/du:1", "remote-only/du:alias")
    local = {"DOCKER_HOST": remote.docker_unix}  # the same daemon, its files read here
    far = {"DOCKER_HOST": remote.docker_tcp}
    for command in (["du", "--format", "json"], ["images", "-q"], ["images"], ["tree"]):
        assert timeless(ok("-b", "docker", *command, **far)) == timeless(
            ok("-b", "docker", *command, **local)
        )
    models = [
        json.loads(ok("-b", "docker", "images", "--format", "json", **env)) for env in (far, local)
    ]
    assert [without_layer_records(i) for i in models[0]] == [
        without_layer_records(i) for i in models[1]
    ]

    only_remote(remote, lab, "podman", "remote-only/du:1")
    storage = remote.work / "podman-storage.conf"
    storage.write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{remote.work / "podman" / "graph"}"\n'
        f'runroot = "{remote.work / "podman" / "run"}"\n'
    )
    here = {"CONTAINERS_STORAGE_CONF": str(storage)}
    for command in (["du", "--format", "json"], ["images", "-q"], ["images"], ["tree"]):
        assert timeless(ok("-b", "podman", "-H", remote.podman_url, *command)) == timeless(
            ok("-b", "podman", *command, **here)
        )
    far_models, local_models = (
        json.loads(ok("-b", "podman", *args, "images", "--format", "json", **env))
        for args, env in ((["-H", remote.podman_url], {}), ([], here))
    )
    assert [without_layer_records(i) for i in far_models] == [
        without_layer_records(i) for i in local_models
    ]


def timeless(table: str) -> str:
    """A table without its relative times, which tick between two calls (nor the
    padding that follows their width)."""
    return re.sub(r" +", " ", re.sub(r"\b(\d+|About an?|Less than a) \w+ ago\b", "AGO", table))


def without_layer_records(image: dict[str, object]) -> dict[str, object]:
    layers = image.get("layers")
    kept = (
        [
            {k: v for k, v in layer.items() if k not in ("size", "created", "comment")}
            for layer in layers
            if isinstance(layer, dict)
        ]
        if isinstance(layers, list)
        else layers
    )
    return {**image, "layers": kept}


# -- errors: one line, naming the endpoint ----------------------------------------------


def test_an_unreachable_endpoint_is_exit_5_naming_it(remote: Remote) -> None:
    for args, env, named in (
        (["-b", "docker", "-H", "tcp://127.0.0.1:1"], {}, "tcp://127.0.0.1:1"),
        (["-b", "docker"], {"DOCKER_HOST": "ssh://root@127.0.0.1:1"}, "ssh://root@127.0.0.1:1"),
        (["-b", "podman", "-H", "unix:///nowhere/podman.sock"], {}, "unix:///nowhere/podman.sock"),
        (["-b", "docker", "--connection", "no-such-context"], {}, "no-such-context"),
    ):
        proc = ocitool(*args, "images", **env)
        line = one_error_line(proc)
        assert proc.returncode == 5, line
        assert named in line and "(hint: " in line


def test_an_ssh_login_refused_names_the_endpoint(remote: Remote) -> None:
    refused = remote.docker_ssh.replace("root@", "nobody@")
    proc = ocitool("-b", "docker", "-H", refused, "images")
    line = one_error_line(proc)
    assert proc.returncode == 10
    assert f"ssh refused the login to {refused}" in line and "Permission denied" in line


@pytest.mark.parametrize("force", [False, True])
def test_a_copy_over_ssh_refused_names_the_endpoint(remote: Remote, lab: Lab, force: bool) -> None:
    """The stream's own ssh connection (ssh HOST docker load) fails as docker's does;
    without --force the name check, begun first, says it."""
    build_images("docker", lab)
    refused = remote.docker_ssh.replace("root@", "nobody@")
    proc = ocitool("copy", *(["--force"] if force else []), BASE, f"docker@[{refused}]:x/y:1")
    line = one_error_line(proc)
    assert proc.returncode == 10
    assert f"ssh refused the login to {refused}" in line and "Permission denied" in line


def test_a_tls_failure_names_the_endpoint(registries: Registries, tmp_path: Path) -> None:
    """DOCKER_TLS_VERIFY against a TLS server whose certificate another CA signed."""
    certs = tmp_path / "certs"
    certs.mkdir()
    key, ca = str(certs / "key.pem"), str(certs / "ca.pem")
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*openssl, "-keyout", key, "-out", ca, "-subj", "/CN=another CA"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    host = f"tcp://{registries.secure.host}"
    env = {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    proc = ocitool("-b", "docker", "images", **env)
    line = one_error_line(proc)
    assert proc.returncode == 5
    assert f"TLS with the daemon at {host} failed" in line and "x509" in line

    shutil.rmtree(certs)
    proc = ocitool("-b", "docker", "images", **env)
    assert proc.returncode == 5 and "ca.pem" in one_error_line(proc)


def test_bad_endpoints_are_usage_errors() -> None:
    for args in (
        ["-H", "http://127.0.0.1:2375"],
        ["-H", "no-scheme"],
        ["--connection", "-rf"],
        ["-H", "tcp://a", "--connection", "b"],
    ):
        proc = ocitool("-b", "docker", *args, "images")
        assert proc.returncode == 2, proc.stderr
        one_error_line(proc)
    for location in (
        "docker@:x",
        "docker@ctx",
        "docker@ssh://h:x",
        "oci@ctx:x",
        "docker@[tcp://a:x",
    ):
        proc = ocitool("copy", location, "oci:x:1")
        assert proc.returncode == 2, (location, proc.stderr)
        one_error_line(proc)


def test_the_python_api_takes_the_endpoint(
    remote: Remote, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocitool.client import Client

    name = only_remote(remote, lab, "docker", "remote-only/api:1")
    over_ssh = Client(backend="docker", host=remote.docker_ssh)
    assert any(name in image.names for image in over_ssh.images())
    copied = over_ssh.transfers().copy(name, f"podman@[{remote.podman_url}]:api/copied:1")
    assert copied.path == "docker save | podman load"
    monkeypatch.setenv("CONTAINERS_CONF", str(remote.containers_conf))
    service = Client(backend="podman", connection=remote.connection)
    assert service.inspect("api/copied:1")[0].id == copied.image_id
    assert service.info().remote is True


@pytest.mark.parametrize(("engine", "name"), [("docker", "DOCKER_HOST=ssh"), ("podman", "--host")])
def test_build_on_a_remote_engine(
    remote: Remote, lab: Lab, tmp_path: Path, engine: str, name: str
) -> None:
    """The engine's CLI sends the context itself: the image is made on the remote engine
    only, from a base only it has, and a failing RUN still says its step and code."""
    options, env = way(remote, engine, name)
    base = only_remote(remote, lab, engine, f"remote-build/{engine}-base:1")
    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_text("from the context\n")
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY hello.txt /\nRUN cat /hello.txt > /copy\n"
    )
    tag = f"remote-build/{engine}:1"
    built = json.loads(
        ok(
            *options,
            "build",
            "-t",
            tag,
            "--network",
            "none",
            "--format",
            "json",
            str(context),
            **env,
        )
    )
    assert built["layers"] == 3 and [s["step"] for s in built["steps"]] == [1, 2, 3]
    shown = remote.docker if engine == "docker" else remote.podman
    made = shown("image", "inspect", "--format", "{{.Id}}", tag).strip()
    assert made.removeprefix("sha256:") == built["image_id"].removeprefix("sha256:")
    local = subprocess.run([engine, "image", "inspect", tag], capture_output=True, check=False)
    assert local.returncode != 0
    (context / "Dockerfile").write_text(f"FROM {base}\nRUN exit 4\n")
    failed = ocitool(*options, "build", "-q", "--network", "none", str(context), **env)
    assert failed.returncode == 4
    assert "build step 2 (Dockerfile line 2) 'RUN exit 4' exited 4" in one_error_line(failed)
