"""Paths inside a container's root, resolved as the container itself would see them.

A container's root (an oci bundle's rootfs, a mounted podman container) is an
ordinary directory on the host, and what a container
wrote there (a symlink to /etc, a name with `..`) must never lead ocitool out
of it. `inside` walks a path one component at a time: `..` stops at the root,
and a symlink is read and followed within the root, an absolute target starting
again from the root (as chroot does, and as docker's cp and runc resolve paths).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ocitool.errors import PathNotFound, UsageError

_MAX_LINKS = 40  # as the kernel's ELOOP limit


def inside(root: Path, path: str, *, follow: bool = True) -> Path:
    """The host path of container path `path` under `root`; `follow` also resolves a
    symlink in the last component (cp copies such a link as a link: follow=False)."""

    def link_of(parts: list[str]) -> str | None:
        candidate = root.joinpath(*parts)
        return os.readlink(candidate) if candidate.is_symlink() else None

    return root.joinpath(*walk_links(path, link_of, follow=follow, where="container"))


def walk_links(
    path: str, link_of: Callable[[list[str]], str | None], *, follow: bool = True, where: str
) -> list[str]:
    """`path`'s components with every symlink followed inside one root, as chroot would:
    `..` stops at the root and an absolute target starts again from it. `link_of` reads
    a component's link target (None: not a link) from a directory or an image's tar."""
    parts = path_parts(path)
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        target = link_of([*resolved, part]) if (follow or parts) else None
        if target is not None:
            links += 1
            if links > _MAX_LINKS:
                raise UsageError(f"{path}: too many levels of symbolic links in the {where}")
            if target.startswith("/"):
                resolved = []
            parts = path_parts(target) + parts
            continue
        resolved.append(part)
    return resolved


def path_parts(path: str) -> list[str]:
    """A path's names, without the empty and `.` ones (`..` kept, for the walk to stop)."""
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_user(root: Path, spec: str) -> tuple[int, int]:
    """USER[:GROUP] as runc takes it (numbers), names read from the container's own
    /etc/passwd and /etc/group, as docker reads them; a uid alone takes its passwd
    group, or 0 where it has no entry."""
    name, _, group = spec.partition(":")
    passwd = _entries(root, "/etc/passwd")
    if name.isdigit():
        uid = int(name)
        gid = next((int(e[3]) for e in passwd if e[2] == name and e[3].isdigit()), 0)
    else:
        entry = next((e for e in passwd if e[0] == name), None)
        if entry is None or not (entry[2].isdigit() and entry[3].isdigit()):
            raise UsageError(
                f"no user {name!r} in the container's /etc/passwd",
                hint="give a numeric USER[:GROUP], e.g. 1000:1000",
            )
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((e for e in _entries(root, "/etc/group") if e[0] == group), None)
            if found is None or not found[2].isdigit():
                raise UsageError(f"no group {group!r} in the container's /etc/group")
            gid = int(found[2])
    return uid, gid


def _entries(root: Path, path: str) -> list[list[str]]:
    try:
        fd = os.open(inside(root, path), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return []
    with os.fdopen(fd) as handle:
        return [line.split(":") for line in handle.read(1 << 20).splitlines() if ":" in line]


def existing(root: Path, path: str, container: str, *, backend: str) -> Path:
    """`inside`, for a path that must exist (cp's source)."""
    found = inside(root, path, follow=False)
    if not os.path.lexists(found):
        raise PathNotFound(
            f"{path} does not exist in container {container} on {backend}",
            hint=f"list it with 'ocitool exec {container} ls -la DIR'",
        )
    return found
