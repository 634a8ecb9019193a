"""cp and export for the store's containers: their rootfs is a directory on the host.

Both directions copy as docker cp does: into the destination when it is a
directory, else under its name; a symlink is copied as a link, never followed.
Nothing leads out of the container's root or out of the destination: the
container end is resolved by rootfs.inside, and the copy never writes through
a link it finds at the destination (it replaces the link) nor reads through one
at the source. A new file or tree is written under a temporary name and renamed
into place once whole.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from contextlib import suppress
from pathlib import Path

from ocitool.backends.common.rootfs import existing, inside
from ocitool.errors import Conflict, UsageError

_CHUNK = 1 << 20


def copy_out(root: Path, path: str, destination: Path, container: str) -> None:
    """`cp CONTAINER:PATH HOSTPATH`."""
    source = existing(root, path, container, backend="oci")
    target = _target(destination, "." if source == root else source.name)
    _place(source, target)


def copy_in(root: Path, source: Path, path: str) -> None:
    """`cp HOSTPATH CONTAINER:PATH`."""
    if not os.path.lexists(source):
        raise UsageError(f"{source}: no such file or directory")
    resolved = inside(root, path)
    if resolved.is_dir() and not resolved.is_symlink():
        target = resolved / source.name
    else:
        parent = inside(root, os.path.dirname(path.rstrip("/")) or "/")
        if not parent.is_dir() or parent.is_symlink():
            raise UsageError(f"{os.path.dirname(path)} is not a directory in the container")
        if path.endswith("/"):
            raise UsageError(f"{path} is not a directory in the container")
        target = parent / os.path.basename(path.rstrip("/"))
    _place(source, target)


def _target(destination: Path, name: str) -> Path:
    """docker cp's rule: into an existing directory, else that name in its parent."""
    if destination.is_dir():
        return destination if name == "." else destination / name
    if str(destination).endswith("/"):
        raise UsageError(f"{destination}: no such directory", hint="create it first")
    if not destination.parent.is_dir():
        raise UsageError(f"{destination.parent}: no such directory", hint="create it first")
    return destination


def _place(source: Path, target: Path) -> None:
    """Copy `source` to `target`: a new one whole under a temporary name, then renamed;
    into an existing directory entry by entry."""
    is_dir = stat.S_ISDIR(source.lstat().st_mode)
    if _real_dir(target):
        if not is_dir:
            raise Conflict(f"cannot overwrite directory {target} with a file")
        _merge(source, target)
        return
    partial = target.with_name(f".{target.name}.ocitool-{secrets.token_hex(4)}")
    try:
        _copy(source, partial)
        if is_dir and os.path.lexists(target):
            target.unlink()  # a file or a link where the directory goes: never followed
        os.replace(partial, target)  # over a file or a link, never through it
    except BaseException:
        _remove(partial)
        raise


def _merge(source: Path, target: Path) -> None:
    for entry in os.scandir(source):
        _place(Path(entry.path), target / entry.name)
    _attributes(source.lstat(), target)


def _copy(source: Path, target: Path) -> None:
    """A new entry at `target` (which does not exist) from `source`, links as links."""
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
        return
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(target, 0o700)
        for entry in os.scandir(source):
            _copy(Path(entry.path), target / entry.name)
    elif stat.S_ISREG(info.st_mode):
        flags = os.O_RDONLY | os.O_NOFOLLOW
        with (
            os.fdopen(os.open(source, flags), "rb") as reader,
            os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out,
        ):
            shutil.copyfileobj(reader, out, _CHUNK)
    else:
        return  # devices, fifos and sockets are not copied (docker cp skips sockets too)
    _attributes(info, target)


def _attributes(info: os.stat_result, target: Path) -> None:
    with suppress(OSError):
        os.chmod(target, stat.S_IMODE(info.st_mode), follow_symlinks=False)
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _remove(path: Path) -> None:
    if _real_dir(path):
        for parent, dirs, _ in os.walk(path):
            for name in dirs:
                with suppress(OSError):
                    os.chmod(os.path.join(parent, name), 0o700)
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            path.unlink()


def export(root: Path, destination: Path) -> None:
    """The rootfs as one tar, owned by root inside as it is in the container (a rootless
    unpack stores the container's root as this user)."""
    import tarfile

    me = os.geteuid()

    def as_in_container(member: tarfile.TarInfo) -> tarfile.TarInfo:
        if me != 0 and member.uid == me:
            member.uid, member.gid, member.uname, member.gname = 0, 0, "root", "root"
        return member

    with tarfile.open(destination, "w", format=tarfile.PAX_FORMAT) as archive:
        for entry in sorted(os.listdir(root)):
            archive.add(root / entry, arcname=entry, filter=as_in_container)
