"""The store's containers: umoci bundles under `containers/<id>/`, run with runc.

Each container directory holds the bundle umoci unpacked (config.json, rootfs)
and `ocitool.json`, ocitool's record of it: name, image, command, state and
exit code. Whether it runs right now comes from the runtime (`runc list`),
since a record cannot know that a machine rebooted.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ocitool.backends.common.parsing import parse_time
from ocitool.backends.common.rootfs import inside, resolve_user
from ocitool.engine import NO_OPTIONS, RunOptions
from ocitool.errors import NotSupported
from ocitool.models import Container, Mount
from ocitool.runner import Runner

RECORD = "ocitool.json"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
State = Literal["created", "running", "exited"]


@dataclass
class Record:
    id: str
    name: str
    image: str
    image_id: str
    image_tag: str  # the store tag umoci unpacked: commit repacks against it
    command: list[str]
    created: str
    remove: bool = False
    state: State = "created"
    exit_code: int | None = None
    started: str | None = None
    finished: str | None = None
    user: str = ""
    workdir: str = "/"
    hostname: str | None = None
    env: list[str] = field(default_factory=list)
    binds: list[list[Any]] = field(default_factory=list)  # [source, destination, read_only]
    args: list[str] | None = None  # the process as run (entrypoint too); `command` is commit's

    def model(self, running: bool, *, detail: bool = False) -> Container:
        state = "running" if running else ("exited" if self.state == "running" else self.state)
        extra: dict[str, Any] = {}
        if detail:
            extra = {
                "user": self.user,
                "workdir": self.workdir,
                "hostname": self.hostname,
                "env": list(self.env),
                "mounts": [
                    Mount.model_construct(source=s, destination=d, read_only=bool(ro))
                    for s, d, ro in self.binds
                ],
            }
        ended = state == "exited"
        return Container.model_construct(  # ocitool's own record
            id=self.id,
            name=self.name,
            image=self.image,
            image_id=self.image_id,
            state=state,
            created=parse_time(self.created),
            command=list(self.command if self.args is None else self.args),
            # a run cut short by OCITOOL_RUN_TIMEOUT was killed: 137, as docker says of it
            exit_code=(137 if self.exit_code is None else self.exit_code) if ended else None,
            started=parse_time(self.started),
            finished=parse_time(self.finished) if ended else None,
            **extra,
        )

    def began(self) -> None:
        self.state, self.exit_code, self.started, self.finished = "running", None, now(), None

    def ended(self, code: int | None) -> None:
        self.state, self.exit_code, self.finished = "exited", code, now()


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def load(directory: Path) -> Record | None:
    try:
        doc = json.loads((directory / RECORD).read_text())
        return Record(**doc)
    except (OSError, ValueError, TypeError):
        return None  # half-made by an interrupted create, or not ours


def save(directory: Path, record: Record) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{RECORD}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(record), handle)
    os.replace(tmp, directory / RECORD)


def configure_bundle(
    bundle: Path,
    *,
    command: list[str],
    image_config: dict[str, Any],
    tty: bool,
    env: list[str],
    network: str | None,
    hostname: str,
    options: RunOptions = NO_OPTIONS,
) -> dict[str, Any]:
    """Set what runc will run, as docker would from the image's config and run's options;
    returns the process as set (args, env, cwd, user) for the container's record."""
    path = bundle / "config.json"
    spec = json.loads(path.read_text())
    process = spec.setdefault("process", {})
    process["args"] = arguments(image_config, command, options.entrypoint) or process.get("args")
    process["terminal"] = tty
    process["env"] = [*process.get("env", []), *env]
    if not any(e.startswith("PATH=") for e in process["env"]):
        process["env"].insert(0, f"PATH={DEFAULT_PATH}")  # as docker and podman add one
    if options.workdir:
        process["cwd"] = options.workdir
        # docker and podman make a missing working directory; runc would refuse it
        inside(bundle / "rootfs", options.workdir).mkdir(mode=0o755, parents=True, exist_ok=True)
    if options.user:
        uid, gid = resolve_user(bundle / "rootfs", options.user)
        process["user"] = {**process.get("user", {}), "uid": uid, "gid": gid}
        process["user"].pop("additionalGids", None)
    spec["hostname"] = options.hostname or hostname
    spec["mounts"] = [
        *spec.get("mounts", []),
        *[
            {
                "destination": b.destination,
                "type": "bind",
                "source": b.source,
                "options": ["rbind", "ro" if b.read_only else "rw"],
            }
            for b in options.binds
        ],
    ]
    namespaces = spec.setdefault("linux", {}).setdefault("namespaces", [])
    others = [n for n in namespaces if n.get("type") != "network"]
    if network in (None, "none"):
        others.append({"type": "network"})  # isolated: a loopback-only namespace
    elif network != "host":
        raise NotSupported(
            f"the oci backend has no network {network!r}",
            hint="use --network none (the default) or host, or the docker or podman backend",
        )
    spec["linux"]["namespaces"] = others
    path.write_text(json.dumps(spec))
    return dict(process)


def arguments(config: dict[str, Any], command: list[str], entrypoint: str | None) -> list[str]:
    """The process's argv as docker makes it: the entrypoint (the image's, or --entrypoint,
    which also drops the image's CMD), then the command given or the image's CMD."""
    if entrypoint is not None:
        return [*([entrypoint] if entrypoint else []), *command]
    return [*(config.get("Entrypoint") or []), *(command or config.get("Cmd") or [])]


def created_by(command: list[str]) -> str:
    return shlex.join(command)


def wants_terminal(bundle: Path) -> bool:
    spec = json.loads((bundle / "config.json").read_text())
    return bool((spec.get("process") or {}).get("terminal"))


def start_failure(log: Path, offset: int) -> str | None:
    """The runtime's own reason a container's process never started, from the log written
    since `offset` (runc says "runc run failed: ..."; a process that ran says nothing)."""
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            tail = handle.read(64 * 1024).decode(errors="replace")
    except OSError:
        return None
    for line in tail.splitlines():
        if "run failed: " in line and "level=error" in line:
            message = line.split("run failed: ", 1)[1]
            return message.rstrip('"').replace('\\"', '"')
    return None


def delete_state(runner: Runner, runtime: str, root: str, container_id: str) -> None:
    """Forget the runtime's state for a container (killing it if it still runs): a run
    cut short leaves state that makes the next `run` of the same ID fail."""
    runner.run([runtime, "--root", root, "delete", "--force", container_id])


def remove_tree(directory: Path) -> None:
    """A container's directory, gone: rootless unpacks leave directories without write
    permission (0555), which must be opened up first for their entries to be removed."""
    if not directory.exists():
        return
    with suppress(OSError):
        os.chmod(directory, 0o700)
    for parent, dirs, _ in os.walk(directory):
        for name in dirs:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                with suppress(OSError):
                    os.chmod(path, 0o700)
    shutil.rmtree(directory, ignore_errors=True)
