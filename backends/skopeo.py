"""skopeo: how ocitool moves images between engines, registries, layouts and archives.

One `skopeo copy` streams an image from any of these to any other without a
temporary file. This module knows skopeo's transport syntax, its options per
side (`--src-…`/`--dest-…`), its progress lines (on stdout; docs/engines.md,
Distribution) and its error texts, so the rest of ocitool sees a Mover (ocitool.movers),
events and the core errors.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from ocitool.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    EngineError,
    ImageNotFound,
    OcitoolError,
    UsageError,
)
from ocitool.movers import Endpoint, Platform, ProgressEvent
from ocitool.runner import Completed, Runner

Role = Literal["src", "dest"]
_WORK = "ocitool-copy-"  # each copy's own directory for skopeo's big temporary files
_HELD = ".alive"  # locked by the copy while it runs (see _sweep)
_FATAL = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')
# its lines as a terminal shows them: `Copying blob 391d57a70dbb [==>--] 8.3MiB / 57.2MiB`,
# then `... done` or `... skipped: already exists`; a pipe gets `Copying blob sha256:<64 hex>`
_COPYING = re.compile(r"^Copying (blob|config) (sha256:[0-9a-f]{64}|[0-9a-f]{8,64})\b\s*(.*)$")
_COUNTED = re.compile(r"([0-9.]+)\s*([KMGTP]i)?B?\s*/\s*([0-9.]+)\s*([KMGTP]i)?B?\s*$", re.I)
_UNITS = {"": 1, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40, "pi": 1 << 50}


def options(endpoint: Endpoint, role: Role, logins: str | None = None) -> list[str]:
    """skopeo's `--src-…`/`--dest-…` options for one side of a copy; `logins`, an
    auth file that holds the endpoint's credentials (see _logins)."""
    found = []
    if endpoint.daemon_host:
        found.append(f"--{role}-daemon-host={endpoint.daemon_host}")
    if not endpoint.tls_verify:
        found.append(f"--{role}-tls-verify=false")
    if endpoint.cert_dir:
        found.append(f"--{role}-cert-dir={endpoint.cert_dir}")
    if logins and endpoint.credentials:
        found.append(f"--{role}-authfile={logins}")
    elif endpoint.authfile and endpoint.authfile.exists():
        found.append(f"--{role}-authfile={endpoint.authfile}")
    return found


@contextmanager
def _logins(*endpoints: Endpoint) -> Iterator[tuple[str | None, tuple[int, ...]]]:
    """The endpoints' credentials as an auth file in memory (a memfd skopeo opens as
    /dev/fd/N, as often as it likes), and the fds to pass: a login kept by a
    credential helper reaches skopeo with no secret in argv or on disk, whichever
    helper holds it (containers/image itself reads no `credsStore`)."""
    auths: dict[str, dict[str, str]] = {}
    for endpoint in endpoints:
        if endpoint.credentials and endpoint.ref.startswith("docker://"):
            from ocitool.registry import TOKEN_USER  # http.client, ssl: only with a login

            host = endpoint.ref.removeprefix("docker://").split("/", 1)[0]
            user, secret = endpoint.credentials
            # containers/image reads an identity token only beside an `auth` of "USER:"
            pair = f"{user}:" if user == TOKEN_USER else f"{user}:{secret}"
            auths[host] = {"auth": base64.b64encode(pair.encode()).decode()}
            if user == TOKEN_USER:
                auths[host]["identitytoken"] = secret
    if not auths:
        yield None, ()
        return
    fd = os.memfd_create("ocitool-logins")
    try:
        os.write(fd, json.dumps({"auths": auths}).encode())
        yield f"/dev/fd/{fd}", (fd,)
    finally:
        os.close(fd)


class Skopeo:
    """The Mover (ocitool.movers) that ocitool copies with."""

    name = "skopeo"

    def __init__(self, runner: Runner, executable: str = "skopeo") -> None:
        self.runner = runner
        self.executable = executable

    def available(self) -> bool:
        return shutil.which(self.executable) is not None

    @staticmethod
    def registry(
        reference: str,
        *,
        tls_verify: bool,
        cert_dir: Path | None,
        authfile: Path | None,
        credentials: tuple[str, str] | None = None,
    ) -> Endpoint:
        return Endpoint(
            f"docker://{reference}",
            label=f"docker://{reference}",
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            authfile=authfile,
            credentials=credentials,
        )

    @staticmethod
    def archive(kind: str, path: Path, name: str | None) -> Endpoint:
        ref = f"{kind}:{path}" + (f":{name}" if name else "")
        return Endpoint(ref, label=ref, path=path)

    @staticmethod
    def layout(path: Path, tag: str) -> Endpoint:
        return Endpoint(f"oci:{path}:{tag}", label=f"oci:{path}:{tag}", path=path)

    def copy(
        self,
        source: Endpoint,
        destination: Endpoint,
        *,
        on_event: ProgressEvent | None = None,
        platform: Platform | None = None,
        all_platforms: bool = False,
    ) -> str | None:
        return copy(
            self.runner,
            source,
            destination,
            on_event=on_event,
            executable=self.executable,
            platform=platform,
            all_platforms=all_platforms,
        )


def platform_options(platform: Platform | None, all_platforms: bool) -> tuple[list[str], list[str]]:
    """skopeo's global --override-* options and copy's --all for one copy."""
    front = []
    if platform is not None:
        os_, arch, variant = platform
        front = [f"--override-os={os_}", f"--override-arch={arch}"]
        front += [f"--override-variant={variant}"] if variant else []
    return front, (["--all", "--preserve-digests"] if all_platforms else [])


def copy(
    runner: Runner,
    source: Endpoint,
    destination: Endpoint,
    *,
    on_event: ProgressEvent | None = None,
    executable: str = "skopeo",
    platform: Platform | None = None,
    all_platforms: bool = False,
) -> str | None:
    """Copy one image; returns the manifest digest written at the destination.

    skopeo's temporary files (a docker daemon's tarball, a layer on its way
    into containers-storage: as large as the image) go in a directory of
    this copy's own, removed after it whatever happened: skopeo leaves them
    behind when it is stopped. The copy may take as long as OCITOOL_RUN_TIMEOUT,
    but is stopped after OCITOOL_TIMEOUT seconds without progress.
    """
    big_files = _big_files()
    _sweep(big_files)
    with (
        tempfile.TemporaryDirectory(prefix=_WORK, dir=big_files) as tmp,
        (Path(tmp) / _HELD).open("w") as held,
        _logins(source, destination) as (logins, fds),
    ):
        fcntl.flock(held, fcntl.LOCK_EX)  # released by the kernel, however ocitool ends
        work = Path(tmp)
        digestfile = work / "digest"
        (work / "tmp").mkdir()
        front, every = platform_options(platform, all_platforms)
        argv = [
            executable,
            *front,
            f"--tmpdir={work / 'tmp'}",
            "copy",
            *every,
            *options(source, "src", logins),
            *options(destination, "dest", logins),
            f"--digestfile={digestfile}",
            "--",
            _spelled(source, work / "source", writing=False),
            _spelled(destination, work / "destination", writing=True),
        ]

        bars = _Bars(on_event, work / "tmp")
        result = runner.stream(
            argv,
            bars.line,
            timeout=runner.run_timeout,
            idle=runner.timeout,
            terminal=on_event is not None,  # its bars, with bytes, only on a terminal
            tick=bars.tick if on_event is not None else None,
            pass_fds=fds + source.pass_fds + destination.pass_fds,  # logins; a piped archive
        )
        if not result.ok:
            raise copy_error(result, source, destination)
        digest = digestfile.read_text().strip() if digestfile.exists() else ""
        return digest or None


class _Bars:
    """skopeo's progress as events: a blob's or the config's bytes as its bar shows
    them (to 3 digits), and, before any bar, the bytes of the image it reads into its
    temporary directory first (a docker daemon's `docker save` stream, which shows
    nothing)."""

    def __init__(self, on_event: ProgressEvent | None, spool: Path) -> None:
        import threading

        self.on_event = on_event
        self.spool = spool
        self.shown: dict[str, tuple[str, int, int | None]] = {}
        self.read = 0
        # lines come on the runner's reader thread, ticks on the waiting one
        self.lock = threading.RLock()

    def line(self, stream: str, text: str) -> None:
        if self.on_event is None or stream != "stdout":
            return
        with self.lock:
            self._line(text)

    def _line(self, text: str) -> None:
        if self.on_event is None:
            return
        match = _COPYING.match(text)
        if match:
            if not self.shown:
                self.tick()  # all it read before the first bar
            kind, shown_id, rest = match.groups()
            self._blob(kind, shown_id.removeprefix("sha256:"), rest)
        elif text.startswith("Writing manifest"):
            self.on_event("manifest", {})

    def _blob(self, kind: str, blob: str, rest: str) -> None:
        if self.on_event is None:
            return
        before = self.shown.get(blob, ("waiting", 0, None))
        status, done, size = before
        counted = _COUNTED.search(rest)
        if counted:
            done, size = _bytes(*counted.group(1, 2)), _bytes(*counted.group(3, 4))
            status = "copying"
        elif rest.startswith("done"):
            status, done = "done", size if size is not None else done
        elif rest.startswith("skipped"):
            status = "skipped"
        else:
            status = status if rest else "copying"  # a pipe's line: started, no bytes
        now = (status, done, size)
        if now != before or blob not in self.shown:
            self.shown[blob] = now
            self.on_event(kind, {"id": blob, "status": status, "bytes": done, "size": size})

    def tick(self) -> None:
        """Until the first bar: what skopeo has read into its temporary directory."""
        with self.lock:
            if self.on_event is None or self.shown:
                return
            try:
                read = sum(e.stat().st_size for e in os.scandir(self.spool) if e.is_file())
            except OSError:
                return
            if read != self.read:
                self.read = read
                self.on_event("read", {"bytes": read})


def _bytes(number: str, unit: str | None) -> int:
    return round(float(number) * _UNITS[(unit or "").lower()])


def _sweep(big_files: str | None) -> None:
    """Remove what copies of a killed ocitool left (kill -9 runs no cleanup): each
    copy's directory holds a lock while it lives, so one whose lock is free is dead.
    A lock, not a PID: it holds across PID namespaces sharing the directory."""
    for left in Path(big_files or tempfile.gettempdir()).glob(f"{_WORK}*"):
        try:
            with (left / _HELD).open("r+") as held:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(left, ignore_errors=True)
        except OSError:
            continue  # alive, another user's, or already gone


def _big_files() -> str | None:
    """Where containers/image puts large temporary files: $TMPDIR, or /var/tmp."""
    default = "/var/tmp"  # noqa: S108 - containers/image's own default for big files
    return os.environ.get("TMPDIR") or (default if os.access(default, os.W_OK) else None)


def _spelled(endpoint: Endpoint, alias: Path, *, writing: bool) -> str:
    """The endpoint's ref, with a path skopeo would misread (a ':' splits its
    transports' PATH:NAME) reached through a symlink at `alias` instead."""
    path = endpoint.path
    if path is None or ":" not in str(path):
        return endpoint.ref
    transport, _, rest = endpoint.ref.partition(":")
    tail = rest[len(str(path)) :]
    directory = "directory" if transport == "oci" else True
    from ocitool.backends.common.archive import colon_free  # loads the layer reader

    return f"{transport}:{colon_free(path, alias, writing=writing and directory)}{tail}"


def copy_error(result: Completed, source: Endpoint, destination: Endpoint) -> OcitoolError:
    """skopeo's fatal message as the core error that describes it."""
    match = _FATAL.search(result.stderr)
    message = (match.group(1) if match else result.stderr.strip()).replace('\\"', '"')
    message = " ".join(message.split())
    lowered = message.lower()
    archived = source.ref.startswith(("docker-archive:", "oci-archive:"))
    if archived and "no such file" in lowered:
        return UsageError(f"{source.label}: no such file", hint="give the path of an archive")
    for words, make in _CLASSIFIERS:
        if words == ("<archive>",):
            if archived and any(w in lowered for w in _ARCHIVE_WORDS):
                return make(message, source, destination)
        elif any(w in lowered for w in words):
            return make(message, source, destination)
    return EngineError(result.argv, result.returncode, result.stderr, message=f"skopeo: {message}")


def _damaged_archive(message: str, source: Endpoint, _: Endpoint) -> OcitoolError:
    return UsageError(
        f"{source.label} is truncated or not an image archive: {message}",
        hint="make the archive again with 'ocitool save'",
    )


def _not_found(message: str, source: Endpoint, _: Endpoint) -> OcitoolError:
    return ImageNotFound(
        [source.label], backend="skopeo", hint=f"check the name; skopeo said: {message}"
    )


def _refused(message: str, *_: Endpoint) -> OcitoolError:
    return AuthenticationFailed(
        f"the registry refused: {message}",
        hint="log in first: ocitool login HOST -u USER --password-stdin",
    )


def _plain_http(message: str, *_: Endpoint) -> OcitoolError:
    return OcitoolError(
        f"the registry speaks plain HTTP: {message}",
        hint="use --tls-verify=false, or list it in insecure_registries in the config",
    )


def _untrusted(message: str, *_: Endpoint) -> OcitoolError:
    return OcitoolError(
        f"the registry's TLS certificate is not trusted: {message}",
        hint="give its CA with --cert-dir DIR, or use --tls-verify=false",
    )


def _unreachable(message: str, source: Endpoint, destination: Endpoint) -> OcitoolError:
    """A lost connection: the docker daemon's, where one end is a daemon and the
    message does not name the registry's host (skopeo's registry errors carry its URL)."""
    daemon = next((e for e in (source, destination) if e.daemon_host), None)
    hosts = [
        e.ref.removeprefix("docker://").split("/", 1)[0]
        for e in (source, destination)
        if e.ref.startswith("docker://")
    ]
    if daemon is not None and not any(host in message for host in hosts):
        engine = daemon.label.split(":", 1)[0] or "docker"
        return BackendUnavailable(
            engine,
            f"could not reach, or lost, the daemon at {daemon.daemon_host} during the copy: "
            f"{message}",
            hint="is it running? ('ocitool backends' says); nothing was tagged at the destination",
        )
    return BackendUnavailable(
        "registry",
        f"could not reach, or lost, the registry during the copy: {message}",
        hint="is the registry running? nothing was tagged at the destination",
    )


_ARCHIVE_WORDS = ("eof", "tar header", "unexpected end", "manifest.json", "index.json")
_CLASSIFIERS: list[tuple[tuple[str, ...], Callable[[str, Endpoint, Endpoint], OcitoolError]]] = [
    (("<archive>",), _damaged_archive),
    (
        (
            "manifest unknown",
            "does not resolve to an image",
            "no descriptor found",
            "no such image",
            "identifier is not an image",
            "not found",
        ),
        _not_found,
    ),
    (("unauthorized", "authentication required", "invalid username/password", "denied"), _refused),
    (("server gave http response to https client",), _plain_http),
    (("x509", "certificate"), _untrusted),
    (
        (
            "connection refused",
            "no such host",
            "connection reset",
            "i/o timeout",
            "broken pipe",
            "closed pipe",
            "cannot connect to the docker daemon",
            "eof",
            # Go's net errors when the registry dies mid-copy, besides the ones above
            "use of closed network connection",
            "transport connection broken",
            "connection timed out",
            "network is unreachable",
        ),
        _unreachable,
    ),
]
