"""The test lab: a private dockerd, private podman storage and a busybox base image.

Used by conftest.py and by tests/fixtures/record.py, so tests and recorded
fixtures come from the same set-up. Nothing here touches the host's own
docker data or podman storage.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPLETS = ("sh", "ls", "cat", "echo", "touch", "mkdir", "rm", "sleep", "true", "dd", "head")


def busybox_tar(dest: Path) -> Path:
    """A tiny rootfs tarball from Debian's busybox-static: the base of every test image."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    rootfs = dest / "rootfs"
    (rootfs / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for applet in APPLETS:
        link = rootfs / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    tar = dest / "base.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(rootfs, arcname=".")
    return tar


def start_dockerd(workdir: Path) -> str:
    """Start a private dockerd (scripts/dockerd.sh) and return its DOCKER_HOST."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "dockerd.sh"), "start", str(workdir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"dockerd did not start: {out.stderr.strip()}")
    return out.stdout.strip()


def stop_dockerd(workdir: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "dockerd.sh"), "stop", str(workdir)],
        capture_output=True,
        timeout=60,
        check=False,
    )


def podman_storage(workdir: Path) -> Path:
    """A storage.conf that keeps podman's images and containers under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "storage.conf"
    conf.write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{workdir / "graph"}"\n'
        f'runroot = "{workdir / "run"}"\n'
    )
    return conf


def clean_podman(env: dict[str, str] | None = None) -> None:
    """Remove what the tests left in the private podman storage."""
    for argv in (["podman", "rm", "-a", "-f"], ["podman", "rmi", "-a", "-f"]):
        subprocess.run(argv, capture_output=True, timeout=120, check=False, env=env)


def unmount_below(path: Path) -> None:
    """Overlay mounts left in a storage dir would make rmtree fail."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def engine(argv: list[str], *, check: bool = True, input: str | None = None) -> str:
    """Run an engine command directly (set-up only; ocitool itself is never bypassed in asserts)."""
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        input=input,
        env=os.environ.copy(),
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


@dataclass
class RegistryProcess:
    """A docker-registry (CNCF distribution) on 127.0.0.1, started by the tests."""

    host: str
    config: Path
    process: subprocess.Popen[bytes]
    ca_dir: Path | None = None  # holds ca.crt when the registry speaks TLS
    user: str | None = None
    password: str | None = None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def restart(self) -> None:
        self.process = _serve(self.config)
        _wait_for_port(self.host)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_registry(
    workdir: Path,
    *,
    tls: bool = False,
    user: str | None = None,
    password: str | None = None,
    http: tuple[str, ...] = (),
    auth: tuple[str, ...] = (),
    delete: bool = True,
) -> RegistryProcess:
    """A registry with its data under `workdir`; with `tls`, a CA made here signs its
    certificate, and with a user, htpasswd (bcrypt) guards it. `http` and `auth` are
    more lines of those sections of its config (indented as they appear there).
    Deletes are enabled (storage.delete.enabled) unless `delete` is False."""
    workdir.mkdir(parents=True, exist_ok=True)
    host = f"127.0.0.1:{free_port()}"
    lines = [
        "version: 0.1",
        "log: {level: warn}",
        "storage:",
        f"  filesystem: {{rootdirectory: {workdir / 'data'}}}",
        f"  delete: {{enabled: {'true' if delete else 'false'}}}",
        "http:",
        f"  addr: {host}",
    ]
    ca_dir = None
    if tls:
        ca_dir = _certificates(workdir)
        lines += [
            "  tls:",
            f"    certificate: {workdir / 'server.crt'}",
            f"    key: {workdir / 'server.key'}",
        ]
    lines += http  # after tls:, so that "    clientcas: [...]" lands in it
    if auth:
        lines += ["auth:", *auth]
    if user and password:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # bcrypt through libxcrypt; distribution reads $2b$ hashes

            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))  # noqa: S324
        (workdir / "htpasswd").write_text(f"{user}:{hashed}\n")
        lines += ["auth:", f"  htpasswd: {{realm: ocitool-test, path: {workdir / 'htpasswd'}}}"]
    config = workdir / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    process = _serve(config)
    _wait_for_port(host)
    return RegistryProcess(host, config, process, ca_dir, user, password)


def _serve(config: Path) -> subprocess.Popen[bytes]:
    log = (config.parent / "registry.log").open("ab")
    # distribution reads REGISTRY_* variables as config (REGISTRY_AUTH_FILE would be
    # taken as an `auth: file` section), so the registry gets none of them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def _wait_for_port(host: str) -> None:
    address, port = host.rsplit(":", 1)
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex((address, int(port))) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the registry on {host} did not start")


def openssl(workdir: Path, *args: str, data: bytes | None = None) -> bytes:
    """openssl's stdout, run in `workdir`."""
    return subprocess.run(
        ["openssl", *args], cwd=workdir, input=data, check=True, capture_output=True, timeout=60
    ).stdout


def self_signed(workdir: Path, name: str, subject: str) -> Path:
    """NAME.key and a certificate NAME.crt it signs itself (a CA, or a token issuer)."""
    openssl(
        workdir,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        "-days",
        "2",
        "-subj",
        subject,
    )
    return workdir / f"{name}.crt"


def signed(workdir: Path, name: str, subject: str, extensions: str) -> Path:
    """NAME.key and a certificate for it (NAME.crt) that the CA in `workdir` signs."""
    openssl(workdir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject)  # fmt: skip
    (workdir / f"{name}.cnf").write_text(extensions + "\n")
    openssl(workdir, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
            "-extfile", f"{name}.cnf")  # fmt: skip
    return workdir / f"{name}.crt"


def _certificates(workdir: Path) -> Path:
    """A throwaway CA, and a certificate for 127.0.0.1 that it signs."""
    self_signed(workdir, "ca", "/CN=ocitool test CA")
    signed(workdir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1")
    ca_dir = workdir / "ca"
    ca_dir.mkdir(exist_ok=True)
    shutil.copy(workdir / "ca.crt", ca_dir / "ca.crt")
    return ca_dir


# -- an unprivileged user with its own install (tests/test_rootless.py, test_docker_socket.py)

UNPRIVILEGED = "ocitool-tester"
CHECKOUT = [
    "ocitool",
    "backends",
    "tests",
    "scripts",
    "man",
    "pyproject.toml",
    "README.md",
    "LICENSE",
]


def as_user(argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """argv as UNPRIVILEGED, with a clean environment: only what is given here."""
    clean = {
        "HOME": str(home),
        "USER": UNPRIVILEGED,
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **env,
    }
    return subprocess.run(
        ["runuser", "-u", UNPRIVILEGED, "--", "env", "-i"]
        + [f"{k}={v}" for k, v in clean.items()]
        + argv,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=home,
    )


def pytest_as_user(home: Path, source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in UNPRIVILEGED's own checkout, with its venv, on the oci backend only."""
    python = str(source / ".venv" / "bin" / "python")
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(source)]
    return as_user([*argv, *args], home, OCITOOL_TEST_BACKENDS="oci")


_installed: dict[str, Path] = {}


def unprivileged_checkout() -> tuple[Path, Path]:
    """UNPRIVILEGED's home and its own copy of this checkout, set up with the README's
    command (`bash scripts/setup.sh`) as that user: made once per test session."""
    import pwd

    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", UNPRIVILEGED], check=True, timeout=60)
        user = pwd.getpwnam(UNPRIVILEGED)
    home = Path(user.pw_dir)
    if "source" not in _installed:
        source = home / "ocitool-src"
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir()
        for name in CHECKOUT:
            item = ROOT / name
            if item.is_dir():
                shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(item, source / name)
        for path in [source, *source.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        setup = as_user(["bash", str(source / "scripts" / "setup.sh")], home)
        assert setup.returncode == 0, setup.stderr[-3000:]
        _installed["source"] = source
    return home, _installed["source"]
