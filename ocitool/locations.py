"""Where images move between: one syntax for every command that moves them.

It follows containers-transports(5), with engine names in place of storage
details:

    docker:NAME                  the docker engine
    docker@CONTEXT:NAME          the docker engine a context reaches (docs/remote.md)
    docker@[URL]:NAME            the docker daemon at unix://, tcp:// or ssh://
    podman:NAME                  podman's storage
    podman@CONNECTION:NAME       the podman service a system connection reaches
    podman@[URL]:NAME            the podman service at URL
    oci:NAME                     ocitool's own store (the oci backend)
    oci:PATH:TAG                 any OCI image layout (PATH starts with /, ./, ../ or ~)
    docker://HOST/REPO:TAG       a registry
    docker-archive:FILE[:NAME]   a `docker save` archive
    oci-archive:FILE[:NAME]      a tarred OCI layout
    NAME                         the selected backend

Every name is checked by the reference grammar before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ocitool.endpoints import checked, is_url
from ocitool.errors import UsageError
from ocitool.references import ImageRef, validate_image_arg

Kind = Literal["engine", "registry", "layout", "docker-archive", "oci-archive"]
ENGINES = ("docker", "podman", "oci")
# containers-transports(5) names ocitool spells differently, and what to write instead.
_OTHER_TRANSPORTS = {
    "docker-daemon": "docker:NAME",
    "containers-storage": "podman:NAME",
    "dir": "oci:PATH:TAG",
    "ostree": None,
    "sif": None,
    "tarball": None,
}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://")


@dataclass(frozen=True)
class Location:
    kind: Kind
    backend: str | None = None  # for engine locations
    at: str | None = None  # an engine's endpoint: a URL, a context's or connection's name
    name: str | None = None  # image name, ID or full registry reference
    path: Path | None = None  # for layouts and archives

    def __str__(self) -> str:
        if self.kind == "engine" and self.at:
            where = f"[{self.at}]" if is_url(self.at) else self.at
            return f"{self.backend}@{where}:{self.name}"
        if self.kind == "engine":
            return f"{self.backend}:{self.name}"
        if self.kind == "registry":
            return f"docker://{self.name}"
        if self.kind == "layout":
            return f"oci:{self.path}:{self.name}"
        return f"{self.kind}:{self.path}" + (f":{self.name}" if self.name else "")

    @property
    def registry(self) -> str:
        """The registry host of a registry location (docker.io when none is named)."""
        ref = ImageRef.parse(self.name or "")
        return ref.domain or "docker.io"


def parse_location(text: str, default_backend: str) -> Location:
    """A location string as a Location; anything else is a one-line usage error."""
    scheme = _SCHEME.match(text)
    if scheme:
        if scheme.group(1) != "docker":
            raise UsageError(
                f"unknown transport {scheme.group(1)!r} in {text!r}",
                hint="use docker://HOST/REPO:TAG, docker:, podman:, oci:, docker-archive: "
                "or oci-archive:",
            )
        name = validate_image_arg(text[len("docker://") :])
        return Location("registry", name=str(ImageRef.parse(name).with_default_tag()))
    engine, at_sign, where = text.partition("@")
    if at_sign and engine in ENGINES:
        return _remote_engine(text, engine, where)
    prefix, sep, rest = text.partition(":")
    if sep and prefix in _OTHER_TRANSPORTS:
        instead = _OTHER_TRANSPORTS[prefix]
        raise UsageError(
            f"transport {prefix!r} is not supported",
            hint=f"write {instead} instead"
            if instead
            else "use one of docker:, podman:, oci:, docker://, docker-archive:, oci-archive:",
        )
    if sep and prefix in ("docker", "podman"):
        return Location("engine", backend=prefix, name=validate_image_arg(rest))
    if sep and prefix == "oci":
        return _oci(text, rest)
    if sep and prefix in ("docker-archive", "oci-archive"):
        return _archive(text, prefix, rest)
    return Location("engine", backend=default_backend, name=validate_image_arg(text))


def is_location(text: str) -> bool:
    """Whether `text` names a registry, layout or archive rather than a local image."""
    return parse_location(text, "").kind != "engine"


def _oci(text: str, rest: str) -> Location:
    """`oci:PATH:TAG` (a layout) or `oci:NAME` (the store)."""
    if rest.startswith(("/", "./", "../", "~")):
        path, _, tag = rest.partition(":")
        if not tag:
            raise UsageError(f"{text!r} names no tag", hint="write oci:PATH:TAG")
        return Location("layout", path=Path(path).expanduser(), name=_layout_tag(tag))
    return Location("engine", backend="oci", name=validate_image_arg(rest))


def _archive(text: str, prefix: str, rest: str) -> Location:
    path, _, name = rest.partition(":")
    if not path:
        raise UsageError(f"{text!r} names no file", hint=f"write {prefix}:FILE[:NAME]")
    return Location(
        prefix,  # type: ignore[arg-type]
        path=Path(path).expanduser(),
        name=validate_image_arg(name) if name else None,
    )


def _remote_engine(text: str, engine: str, where: str) -> Location:
    """`ENGINE@WHERE:NAME`: WHERE is a context or connection name, or [URL]."""
    if engine == "oci":
        raise UsageError(
            f"{text!r}: the oci store has no remote endpoint",
            hint="name a docker or podman engine: docker@CONTEXT:NAME, podman@CONNECTION:NAME",
        )
    if where.startswith("["):
        at, closed, name = where[1:].partition("]:")
    else:
        at, closed, name = where.partition(":")
    if not (closed and at and name):
        raise UsageError(
            f"{text!r} is not ENGINE@WHERE:NAME",
            hint=f"write {engine}@CONTEXT:NAME, or {engine}@[URL]:NAME for a URL",
        )
    if is_url(at) != where.startswith("["):
        raise UsageError(
            f"{text!r}: a URL goes in brackets, a name does not",
            hint=f"write {engine}@[ssh://user@host]:NAME or {engine}@NAME:IMAGE",
        )
    return Location("engine", backend=engine, at=checked(at), name=validate_image_arg(name))


def refuse_elsewhere(text: str, command: str) -> None:
    """A command that reads local images, given a registry, layout or archive: one
    usage error that says so and names what would read it (nothing here reads one yet)."""
    scheme = _SCHEME.match(text)
    prefix, sep, rest = text.partition(":")
    shown = text if text.isascii() and text.isprintable() and " " not in text else None
    if scheme and scheme.group(1) == "docker":
        name = text[len(scheme.group(0)) :] if shown else "NAME"
        where, instead = "an image in a registry", f"pull it first: ocitool pull {name}"
    elif scheme:
        where, instead = "not a local image", "give a local image's name or ID"
    elif sep and prefix in ("docker-archive", "oci-archive"):
        path = rest.partition(":")[0] if shown else "FILE"
        where, instead = "an archive", f"load it first: ocitool load -i {path}"
    elif sep and prefix == "oci" and rest.startswith(("/", "./", "../", "~")):
        where = "an OCI layout"
        instead = f"copy it in first: ocitool copy {shown or 'oci:PATH:TAG'} NAME:TAG"
    else:
        return
    if shown and (scheme is None or scheme.group(1) == "docker"):
        instead += f"; or read it where it is: Client.inspect_location({shown!r})"
    raise UsageError(f"{command} reads local images only; {text!r} is {where}", hint=instead)


def _layout_tag(tag: str) -> str:
    """An OCI layout's ref.name (image-spec: components of [A-Za-z0-9] joined by -._:@+/)."""
    if not re.fullmatch(r"[A-Za-z0-9]+(?:(?:[-._:@+/]|--)[A-Za-z0-9]+)*", tag):
        raise UsageError(f"{tag!r} is not a valid OCI layout tag", hint="e.g. oci:/tmp/l:latest")
    return tag
