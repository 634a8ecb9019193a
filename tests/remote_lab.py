"""Remote engines for the tests, all on 127.0.0.1: a second dockerd (unix socket and
plain tcp), a real sshd whose sessions reach that dockerd, and a `podman system
service` with its own storage.

Nothing here changes the machine's own ssh set-up: sshd runs with its own -f
config, host key and authorized key, and the tests reach it through an `ssh`
wrapper (first on the tests' PATH) that adds `-F CONFIG`, so docker's
`ssh://` connections use this lab's key and known_hosts only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab import free_port, unmount_below

_PRIVSEP = Path("/run/sshd")  # sshd refuses to start without it (Debian makes it at boot)


@dataclass
class Remote:
    """The lab's remote engines and how to reach them."""

    work: Path
    docker_unix: str  # unix:///…/docker.sock of the second dockerd
    docker_tcp: str  # tcp://127.0.0.1:PORT, plain, of the same dockerd
    docker_ssh: str  # ssh://root@127.0.0.1:PORT, whose sessions reach the same dockerd
    podman_url: str  # unix:///…/podman.sock of the podman service
    ssh_bin: Path  # the directory holding the `ssh` wrapper
    ssh_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    made_privsep: bool = False
    context: str = "lab-remote"  # a docker context for docker_ssh, in DOCKER_CONFIG
    connection: str = "lab-podman"  # a podman connection for podman_url, in containers_conf
    containers_conf: Path = Path()  # the host's containers.conf and that connection
    remote_conf: Path = Path()  # the same with `remote = true`: podman uses that connection

    def docker(self, *args: str, host: str | None = None) -> str:
        """The second dockerd's own CLI (set-up only)."""
        return _call(["docker", *args], DOCKER_HOST=host or self.docker_unix)

    def podman(self, *args: str) -> str:
        """The podman service's own remote CLI (set-up only)."""
        return _call(["podman", "--url", self.podman_url, *args])

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        if self.made_privsep:
            shutil.rmtree(_PRIVSEP, ignore_errors=True)
        unmount_below(self.work)


def start_remote(work: Path, *, podman: bool = True) -> Remote:
    """Start the second dockerd, the sshd and (unless not `podman`) the podman service
    under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    remote = Remote(
        work=work,
        docker_unix=f"unix://{work / 'dockerd' / 'docker.sock'}",
        docker_tcp=f"tcp://127.0.0.1:{free_port()}",
        docker_ssh="",
        podman_url=f"unix://{work / 'podman' / 'podman.sock'}",
        ssh_bin=work / "ssh" / "bin",
        ssh_port=free_port(),
    )
    try:
        _start_dockerd(remote)
        _start_sshd(remote)
        if podman:
            _start_podman_service(remote)
        _name_them(remote, podman=podman)
    except BaseException:
        remote.stop()
        raise
    return remote


def _start_dockerd(remote: Remote) -> None:
    root = remote.work / "dockerd"
    root.mkdir()
    log = (root / "dockerd.log").open("ab")
    remote.processes.append(
        subprocess.Popen(
            [
                "dockerd",
                f"--data-root={root / 'root'}",
                f"--exec-root={root / 'exec'}",
                f"--pidfile={root / 'dockerd.pid'}",
                f"--host={remote.docker_unix}",
                f"--host={remote.docker_tcp}",
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip6tables=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    )
    _wait(lambda: _ok(["docker", "version"], DOCKER_HOST=remote.docker_tcp), "the second dockerd")


def _start_sshd(remote: Remote) -> None:
    """sshd with this lab's config and keys; `SetEnv` points its sessions at the dockerd."""
    ssh = remote.work / "ssh"
    remote.ssh_bin.mkdir(parents=True)
    for key in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / key)],
            check=True,
            timeout=60,
        )
    shutil.copy(ssh / "user_key.pub", ssh / "authorized_keys")
    (ssh / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1:{remote.ssh_port}\n"
        f"HostKey {ssh / 'host_key'}\n"
        f"PidFile {ssh / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {ssh / 'authorized_keys'}\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "StrictModes no\n"  # the lab's files live under /tmp, which is world-writable
        "UsePAM no\n"
        f"SetEnv DOCKER_HOST={remote.docker_unix}\n"
        # every docker call over ssh is a connection, some at once (a batched rmi);
        # on a loaded machine more than sshd's default 10 are still in their handshake
        "MaxStartups 100\n"
    )
    (ssh / "ssh_config").write_text(
        "Host *\n"
        f"  IdentityFile {ssh / 'user_key'}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {ssh / 'known_hosts'}\n"
        "  StrictHostKeyChecking accept-new\n"
        "  BatchMode yes\n"
        "  LogLevel ERROR\n"
    )
    wrapper = remote.ssh_bin / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {ssh / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    if not _PRIVSEP.is_dir():
        _PRIVSEP.mkdir(mode=0o755)
        remote.made_privsep = True
    remote.processes.append(
        subprocess.Popen(
            [
                "/usr/sbin/sshd",
                "-D",
                "-f",
                str(ssh / "sshd_config"),
                "-E",
                str(ssh / "sshd.log"),
            ],
            stdin=subprocess.DEVNULL,
        )
    )
    remote.docker_ssh = f"ssh://root@127.0.0.1:{remote.ssh_port}"
    _wait(
        lambda: _ok([str(wrapper), "-p", str(remote.ssh_port), "root@127.0.0.1", "true"]),
        "the lab's sshd",
    )


def _start_podman_service(remote: Remote) -> None:
    root = remote.work / "podman"
    root.mkdir()
    log = (root / "service.log").open("ab")
    env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST",)}
    remote.processes.append(
        subprocess.Popen(
            [
                "podman",
                f"--root={root / 'graph'}",
                f"--runroot={root / 'run'}",
                "--storage-driver=overlay",
                "system",
                "service",
                "--time=0",
                remote.podman_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    )
    _wait(lambda: _ok(["podman", "--url", remote.podman_url, "version"]), "the podman service")


def _name_them(remote: Remote, *, podman: bool) -> None:
    """A docker context (in the tests' own DOCKER_CONFIG) and a podman connection (in a
    containers.conf of the lab's, given as CONTAINERS_CONF) for the remote engines."""
    _call(["docker", "context", "create", remote.context, "--docker", f"host={remote.docker_ssh}"])
    if not podman:
        return
    remote.containers_conf = remote.work / "containers.conf"
    system = Path("/etc/containers/containers.conf")
    remote.containers_conf.write_text(system.read_text() if system.exists() else "")
    _call(
        ["podman", "system", "connection", "add", remote.connection, remote.podman_url],
        CONTAINERS_CONF=str(remote.containers_conf),
    )
    remote.remote_conf = remote.work / "containers-remote.conf"
    text = remote.containers_conf.read_text()
    remote.remote_conf.write_text(text.replace("[engine]\n", "[engine]\n  remote = true\n", 1))


def _call(argv: list[str], **env: str) -> str:
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=180, check=False, env={**os.environ, **env}
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def _ok(argv: list[str], **env: str) -> bool:
    proc = subprocess.run(
        argv, capture_output=True, timeout=30, check=False, env={**os.environ, **env}
    )
    return proc.returncode == 0


def _wait(ready: Callable[[], bool], what: str, *, within: float = 120.0) -> None:
    """Until `ready()`, for `within` seconds at most (a busy machine starts daemons slowly)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {within:g}s")
