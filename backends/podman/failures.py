"""How podman fails: each error text it prints, mapped to the core error that says it.

The one place podman's stderr is read (docs/engines.md); the backend calls `raise_for`
for every failed call, with the images and containers it named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ocitool.backends.common.cli import container_conflict
from ocitool.backends.common.listing import local_name
from ocitool.backends.common.parsing import unique
from ocitool.errors import (
    BackendUnavailable,
    Conflict,
    ContainerNotFound,
    EngineError,
    ImageInUse,
    ImageNotFound,
    NotSupported,
    OcitoolError,
    UsageError,
    last_meaningful_line,
)
from ocitool.runner import Completed

if TYPE_CHECKING:
    from ocitool.build_request import PlannedStep

NOT_KNOWN = re.compile(r"(?:^|\s)(\S+): image not known", re.MULTILINE)
_EMPTY_LIST = "no image found in manifest list"  # a list with no image for this platform
_NO_CONTAINER = re.compile(r"no such container:? (\S+)", re.IGNORECASE)
_NO_CONTAINER_NAMED = re.compile(r'no container with name or ID "([^"]+)" found')
_IN_USE = re.compile(r"image used by (\w+): image is in use by a container")
_NAME_IN_USE = re.compile(r'the container name "([^"]+)" is already in use')
_RUNNING = re.compile(r"cannot remove container (\w+) as it is running")
# `podman load` tries every transport and lists each one's error (docs/engines.md, Distribution)
_NO_FORMAT = "payload does not match any of the supported image formats"
_TRANSPORT = re.compile(r"^\s*\* ([a-z-]+): (.*)$", re.MULTILINE)
_DAMAGED = ("digest did not match", "unexpected eof", "invalid tar header", "unexpected end")


_NO_SERVICE = re.compile(r"unable to connect to Podman socket: (.*)")
_NO_DESTINATION = re.compile(r'"([^"]+)" service destination not found')
_SERVICE_TOO_OLD = re.compile(r"(server API version is too old.*)")


def raise_for(
    result: Completed,
    *,
    images: Sequence[str] = (),
    containers: Sequence[str] = (),
    where: str = "podman",
) -> NoReturn:
    """Map one failed podman call to the core error that describes it."""
    err = result.stderr
    failed = connection_error(err, where)
    if failed is not None:
        raise failed
    if _EMPTY_LIST in err:  # "... for architecture amd64, ...: image not known"
        raise manifest_list(images[0] if len(images) == 1 else "one of " + ", ".join(images))
    missing = NOT_KNOWN.findall(err)
    if missing:
        raise ImageNotFound(_as_given(missing, images), backend="podman")
    gone = _NO_CONTAINER.findall(err) or _NO_CONTAINER_NAMED.findall(err)
    if gone:
        raise ContainerNotFound(_as_given(gone, containers), backend="podman")
    used = _IN_USE.search(err)
    if used:
        raise ImageInUse(images[0] if images else "image", [used.group(1)[:12]], backend="podman")
    conflict = _conflict(err, containers)
    if conflict:
        raise conflict
    if _NO_FORMAT in err:
        raise _load_failure(result)
    if "cannot re-exec process" in err or "newuidmap" in err:
        raise BackendUnavailable(
            "podman",
            "rootless podman cannot start its user namespace",
            hint="install uidmap and add this user to /etc/subuid and /etc/subgid",
        )
    raise EngineError(result.argv, result.returncode, err)


def connection_error(stderr: str, where: str) -> OcitoolError | None:
    """A podman service that cannot be reached (or is too old), as one line naming it."""
    old = _SERVICE_TOO_OLD.search(stderr)
    if old:
        return NotSupported(
            f"the podman service at {where} is too old for this: {old.group(1).strip()}",
            hint="upgrade it, or use another endpoint ('ocitool backends' lists them)",
        )
    unreachable = _NO_SERVICE.search(stderr)
    if unreachable:
        said = " ".join(unreachable.group(1).split())
        return BackendUnavailable(
            "podman",
            f"service not reachable at {where}: {said}",
            hint="is 'podman system service' running there? check --host, --connection or "
            "CONTAINER_HOST ('podman system connection list' shows the connections)",
        )
    unknown = _NO_DESTINATION.search(stderr)
    if unknown:
        return BackendUnavailable(
            "podman",
            f"no connection named {unknown.group(1)!r}",
            hint="'podman system connection list' shows them; add one with "
            "'podman system connection add NAME URL'",
        )
    return None


def manifest_list(ref: str) -> NotSupported:
    return NotSupported(
        f"{ref} is a manifest list, not an image",
        hint=f"see it with 'ocitool manifest inspect {ref}', remove it with "
        f"'ocitool manifest rm {ref}'",
    )


def _load_failure(result: Completed) -> OcitoolError:
    """podman's reason for the transport the archive is in, not the last one it tried.

    ocitool hands podman's load only archives it read first (ocitool.archives), so
    their kind is known; a damaged one (a layer that is not what its digest says)
    is the archive's fault."""
    from ocitool.archives import read_archive

    path = next((a.removeprefix("--input=") for a in result.argv if a.startswith("--input=")), "")
    reasons = dict(_TRANSPORT.findall(result.stderr))
    try:
        kind = read_archive(Path(path))[0] if path else ""
    except OcitoolError:
        kind = ""
    reason = reasons.get(kind) or last_meaningful_line(result.stderr)
    if any(w in reason.lower() for w in _DAMAGED):
        return UsageError(
            f"{path} is damaged: {reason}", hint="make the archive again with 'ocitool save'"
        )
    return EngineError(result.argv, result.returncode, result.stderr, message=f"podman: {reason}")


def _conflict(stderr: str, containers: Sequence[str]) -> Conflict | None:
    conflict = container_conflict(stderr, containers, _NAME_IN_USE, _RUNNING)
    if conflict:
        return conflict
    if "more than one tag" in stderr:
        return Conflict(
            "the image has more than one tag",
            hint="remove it by name, or pass --force to remove every tag",
        )
    return None


def _as_given(engine_names: list[str], asked: Sequence[str]) -> list[str]:
    """Missing names as the user typed them, in the order they were asked for."""
    names = []
    for reported in engine_names:
        name = reported.removeprefix("inspecting object: ")
        match = [a for a in asked if a in (name, local_name(name))]
        names.append(match[0] if match else name)
    order = {a: i for i, a in enumerate(asked)}
    return sorted(unique(names), key=lambda n: order.get(n, len(order)))


_STEP_EXITED = re.compile(r'building at STEP ".*": .*exit status (\d+)\s*$', re.MULTILINE)
# buildah's pull of a FROM image: its registry does not answer
_PULL_UNREACHABLE = re.compile(r"pinging container registry \S+: (.*)$", re.MULTILINE)


def build_failure(result: Completed, step: PlannedStep | None, said: str) -> OcitoolError | None:
    """A build whose RUN failed, as buildah says it ('building at STEP "RUN …": while
    running runtime: exit status 3'), or whose FROM image's registry does not answer."""
    from ocitool.backends.common.build import step_failure

    return step_failure(
        result.stderr, step, said, exited=_STEP_EXITED, unreachable=_PULL_UNREACHABLE
    )
