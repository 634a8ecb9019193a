"""Each build step's write to the store, with the machinery commit and run already use.

A metadata step is `umoci config`, a COPY or ADD is `umoci raw add-layer` of a
tar written by build_files.py, a RUN is a bundle unpacked by umoci (rootless
when not root) and run by runc as `run` does, then `umoci repack`, as `commit`
does. Every write holds the store's exclusive lock only for its umoci calls and
works under a scratch tag (store.SCRATCH_TAGS), so a Ctrl-C or a crash leaves
nothing with a name; the finished step's image keeps only a hidden tag
(parsers.HIDDEN_TAG): an untagged image, as docker keeps its build steps.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.backends.common.runc import start_failure
from ocitool.backends.oci import containers as records
from ocitool.backends.oci.build_cache import Cache
from ocitool.backends.oci.parsers import HIDDEN_TAG, StoredImage
from ocitool.backends.oci.runtime import START_FAILED
from ocitool.backends.oci.store import SCRATCH_TAGS, Tagged
from ocitool.engine import RunOptions
from ocitool.errors import Conflict

if TYPE_CHECKING:
    from ocitool.backends.oci.backend import OciBackend

# Where runc mounts its own file systems: what a RUN writes there is not the image's
# (docker's builder mounts them too, so they never reach a layer).
_MASKED = ("/proc", "/sys", "/dev")


class Steps:
    """The store-side half of a build: images made, found, unpacked and run."""

    def __init__(self, backend: OciBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self.cache = Cache(backend.store)
        self.made: dict[str, StoredImage] = {}  # manifest digest -> image, this build's

    # -- finding ---------------------------------------------------------------------

    def cached(self, step_key: str, stored: Sequence[StoredImage]) -> StoredImage | None:
        """The image a step made before, if it is still in the store: no engine call."""
        manifest = self.cache.find(step_key)
        if manifest is None:
            return None
        if manifest in self.made:
            return self.made[manifest]
        return next((i for i in stored if i.manifest_digest == manifest), None)

    # -- writing ---------------------------------------------------------------------

    def configure(
        self, parent: StoredImage | None, options: Sequence[str], created_by: str, step_key: str
    ) -> StoredImage:
        """A metadata step: the config changed, one history entry with empty_layer."""
        history = [f"--history.created_by={created_by}", f"--created={records.now()}"]
        path = [] if _has_path(parent) else [f"--config.env=PATH={records.DEFAULT_PATH}"]
        with self._step(parent, step_key, path_set=True) as (source, scratch):
            self.backend._umoci(
                [
                    "config",
                    f"--image={self._at(source)}",
                    f"--tag={scratch}",
                    *history,
                    *path,
                    *options,
                ]
            )
        return self._last

    def add_layer(
        self, parent: StoredImage | None, layer: Path, created_by: str, step_key: str
    ) -> StoredImage:
        """A COPY or ADD: the tar written by build_files.py as one layer."""
        with self._step(parent, step_key) as (source, scratch):
            self.backend._umoci(
                [
                    "raw",
                    "add-layer",
                    f"--image={self._at(source)}",
                    f"--tag={scratch}",
                    f"--history.created_by={created_by}",
                    "--",
                    str(layer),
                ]
            )
        return self._last

    def run(
        self,
        parent: StoredImage,
        argv: list[str],
        env: list[str],
        network: str,
        created_by: str,
        step_key: str,
        on_line: Callable[[str], None],
    ) -> tuple[int, str, StoredImage | None]:
        """A RUN: the parent unpacked into a bundle under containers/, run by runc
        (its output handed to `on_line`), then repacked into a new image if it
        exited 0. The bundle is removed whatever happens."""
        backend = self.backend
        runtime, root = backend.runtime.path(), backend.runtime.root()
        container_id = f"build-{secrets.token_hex(16)}"
        directory = self.store.containers_dir / container_id
        directory.mkdir(parents=True, mode=0o700)
        bundle = directory / "bundle"
        try:
            self.unpack(parent, bundle)
            config = parent.config.get("config") or {}
            records.configure_bundle(
                bundle,
                command=argv,
                image_config=config,
                tty=False,
                env=env,
                network=network,
                hostname=container_id[6:18],
                options=RunOptions(
                    entrypoint="",
                    workdir=config.get("WorkingDir") or None,
                    user=config.get("User") or None,
                ),
            )
            held: list[str] = []

            def relay(_stream: str, line: str) -> None:
                if START_FAILED.search(line):
                    held.append(line.split("failed: ", 1)[-1].rstrip('"'))
                else:
                    on_line(line)

            argv_run = [runtime, "--root", root, "run", "--bundle", str(bundle), container_id]
            try:
                done = backend.runner.stream(
                    argv_run, relay, timeout=backend.runner.run_timeout, keep=False
                )
            finally:
                records.delete_state(backend.runner, runtime, root, container_id)
            if done.returncode != 0:
                said = " ".join(held)
                # a command that cannot start exits 127 or 126, as docker's RUN does
                cause = start_failure(said, backend="oci") if said else None
                code = cause.exit_code if cause is not None else done.returncode
                return code, cause.message if cause else said.replace('\\"', '"'), None
            with self._step(parent, step_key) as (_source, scratch):
                backend._umoci(
                    [
                        "repack",
                        f"--image={self._at(scratch)}",
                        f"--history.created_by={created_by}",
                        *[f"--mask-path={path}" for path in _MASKED],
                        "--",
                        str(bundle),
                    ]
                )
            return 0, "", self._last
        finally:
            records.remove_tree(directory)

    def unpack(self, image: StoredImage, bundle: Path) -> Path:
        """`image` unpacked by umoci (rootless when not root), as `create` unpacks one;
        its rootfs. The caller removes the bundle (containers.remove_tree)."""
        tag = self.tag_of(image)
        rootless = ["--rootless"] if os.geteuid() != 0 else []
        with self.store.locked(exclusive=False):
            self.backend._umoci(
                ["unpack", *rootless, f"--image={self._at(tag)}", "--", str(bundle)]
            )
        return bundle / "rootfs"

    def tag_of(self, image: StoredImage) -> str:
        tags = [t for t in image.tags if not t.startswith(SCRATCH_TAGS)]
        return tags[0] if tags else self.backend._tag_for(image)

    def name(self, image: StoredImage, names: Sequence[str]) -> None:
        """The build's -t names on its image, all at once under the lock: an image
        that had one of them keeps its other names, or stays untagged (Store.writing)."""
        from ocitool.backends.oci.backend import _named

        with self.store.locked(exclusive=False):
            named = {e.name: e.digest for e in self.store.index() if e.name}
        if all(named.get(name) == image.manifest_digest for name in names):
            return  # a rebuild that changed nothing: every name is already there
        with self.backend._writing():
            entries = self.store.index()
            if not any(e.digest == image.manifest_digest for e in entries):
                raise Conflict(
                    f"the image the build made ({image.id[7:19]}) was removed before it was named",
                    hint="build again",
                )
            for name in names:
                entries = _named(entries, image.manifest_digest, name)
            self.store.write_index(entries)

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _step(
        self, parent: StoredImage | None, step_key: str, *, path_set: bool = False
    ) -> Iterator[tuple[str, str]]:
        """Under the exclusive lock: (the parent's tag, a scratch tag to write); then
        the scratch tag becomes the new image's hidden tag and the cache records it."""
        scratch = f"{SCRATCH_TAGS[2]}{secrets.token_hex(8)}"
        empty = f"{scratch}-scratch"
        with self.backend._writing():
            try:
                if parent is None:  # FROM scratch: an empty image to start from
                    self.backend._umoci(["new", f"--image={self._at(empty)}"])
                    source = empty
                else:
                    entries = self.store.index()
                    if not any(e.digest == parent.manifest_digest for e in entries):
                        raise Conflict(
                            f"image {parent.id[7:19]}, the build's step before, was removed "
                            "while the build ran (rmi or prune)",
                            hint="build again",
                        )
                    source = self.tag_of(parent)
                yield source, scratch
                if not path_set and not _has_path(parent):
                    # as docker's builder: an image with no PATH gets the default one
                    self.backend._umoci(
                        [
                            "config",
                            f"--image={self._at(scratch)}",
                            "--no-history",
                            f"--config.env=PATH={records.DEFAULT_PATH}",
                        ]
                    )
                self._last = self._finish(scratch, step_key)
            finally:
                self.backend._untag([scratch, empty])

    def _finish(self, scratch: str, step_key: str) -> StoredImage:
        from ocitool.backends.oci.backend import _named

        entries = self.store.index()
        entry: Tagged = next(e for e in entries if e.name == scratch)
        manifest = self.store.read_json(entry.digest, entry.size)
        config_digest = manifest["config"]["digest"]
        config = self.store.read_json(config_digest, manifest["config"]["size"])
        hidden = HIDDEN_TAG + config_digest.removeprefix("sha256:")[:12]
        self.store.write_index(_named(entries, entry.digest, hidden))
        image = StoredImage(config_digest, entry.digest, manifest, config, tags=[hidden])
        self.made[entry.digest] = image
        live = {e.digest for e in self.store.index()}
        self.cache.remember(step_key, entry.digest, live)
        return image

    def _at(self, tag: str) -> str:
        return self.backend._at(tag)

    _last: StoredImage


def _has_path(image: StoredImage | None) -> bool:
    env = ((image.config.get("config") or {}) if image else {}).get("Env") or []
    return any(str(e).startswith("PATH=") for e in env)
