"""The Python API, which the CLI is built on.

    from ocitool import Client
    Client(backend="podman").images()

A Client validates every image reference before a backend sees it, picks the
backend (explicit, OCITOOL_BACKEND, the config file, or `auto`), and returns
the core models.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from ocitool.backends import registry as backends
from ocitool.config import Config, load_config
from ocitool.errors import (
    Conflict,
    EngineError,
    ImageInUse,
    ImageNotFound,
    Interrupted,
    InvalidReference,
    OcitoolError,
    UsageError,
)
from ocitool.listing import ImageSummary, newest_first
from ocitool.references import (
    ImageRef,
    is_image_id,
    validate_container_name,
    validate_image_arg,
)
from ocitool.runner import InterruptedWrite, Runner, resolve_timeout

if TYPE_CHECKING:
    from ocitool.backend import Backend
    from ocitool.layerfiles import LayerScan
    from ocitool.models import (
        Blocker,
        Container,
        EngineInfo,
        FileAnalysis,
        Image,
        ImageDiff,
        Layer,
        LayerUsage,
        RemoveResult,
        RunResult,
        SearchResult,
        TransferResult,
        TreeNode,
        UsageReport,
    )
    from ocitool.removal import Target
    from ocitool.transfer import Transfers

log = logging.getLogger("ocitool")
notes = logging.getLogger("ocitool.notes")
PullPolicy = Literal["always", "missing", "never"]
# What each engine counts as a layer's size (README, "Image structure").
ACCOUNTING = {
    "docker": "bytes of file contents, as docker counts a layer",
    "podman": "bytes of the uncompressed layer tar, as podman's storage records it",
    "oci": "bytes of the compressed layer blob on disk",
}


def choose_backend(requested: str | None, config: Config) -> str:
    """The backend a Client(backend=requested) uses under this config (backends.choose)."""
    return backends.choose(
        requested,
        configured=config.backend,
        order=config.order,
        programs=backends.programs(config),
        docker_host=config.docker.host,
    )


class Client:
    """One engine, the same API whichever it is."""

    def __init__(
        self,
        backend: str | None = None,
        *,
        config: Config | None = None,
        runner: Runner | None = None,
        store: str | Path | None = None,
    ) -> None:
        self.config = config or load_config()
        self.store = Path(store) if store is not None else None  # the oci backend's store
        self.runner = runner or Runner(timeout=resolve_timeout(self.config.timeout))
        self.backend_name = choose_backend(backend, self.config)
        self._backends: dict[str, Backend] = {}

    def backend_for(self, name: str) -> Backend:
        """A backend with this client's runner and config (for copies across engines).

        One instance per name, so both ends of a copy within one store share its lock
        instead of waiting on each other."""
        if name not in self._backends:
            if name not in backends.NAMES:
                raise UsageError(f"unknown backend {name!r}")
            loaded = backends.load(name, self.runner, self.config, store=self.store)
            self._backends[name] = cast("Backend", _Guarded(loaded, self.runner))
        return self._backends[name]

    @staticmethod
    def checked(ref: str) -> str:
        return validate_image_arg(ref)

    @property
    def backend(self) -> Backend:
        return self.backend_for(self.backend_name)

    def images(self, *, all: bool = False) -> list[Image]:
        """Local images, newest first, one entry per image ID."""
        return newest_first(self.backend.images(all=all))

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """What `ocitool images` shows, newest first, from the engine's one list call:
        IDs, names, created and size without an inspect (use images() for the rest)."""
        return newest_first(self.backend.image_summaries(all=all))

    def inspect(self, *refs: str) -> list[Image]:
        """The named images in argument order, read with one engine call."""
        checked = _validated(refs)
        if not checked:
            raise UsageError("no image given", hint="name at least one image, e.g. myapp:1.0")
        return self.backend.inspect(checked)

    def image(self, ref: str) -> Image:
        return self.inspect(ref)[0]

    def history(self, ref: str) -> list[Layer]:
        """Every history step of an image, newest first, empty steps included."""
        return self.backend.history(validate_image_arg(ref))

    def containers(self, *, all: bool = False) -> list[Container]:
        """Containers, newest first; running ones only unless `all`."""
        return newest_first(self.backend.containers(all=all))

    ps = containers

    def info(self) -> EngineInfo:
        return self.backend.info()

    # -- the image lifecycle ---------------------------------------------------

    def import_image(
        self,
        tarball: str | Path,
        ref: str,
        *,
        message: str | None = None,
        changes: Sequence[str] = (),
    ) -> Image:
        """A rootfs tarball as a one-layer image named `ref`."""
        path = Path(tarball)
        if not path.is_file():
            raise UsageError(f"{path}: no such file", hint="give the path of a tar archive")
        target = target_name(ref)
        previous = self._current(target)
        try:
            new_id = self.backend.import_image(
                path, target, message=message or f"imported from {path.name}", changes=changes
            )
        except InterruptedWrite as stop:
            raise self._interrupted("import", stop.image_id) from None
        except KeyboardInterrupt:
            raise self._interrupted("import", None, abandoned=True) from None
        return self._created(new_id, target, previous)

    def commit(
        self,
        container: str,
        ref: str,
        *,
        author: str | None = None,
        message: str | None = None,
        changes: Sequence[str] = (),
    ) -> Image:
        """The container's changes as a new image named `ref`, author and message kept."""
        container = validate_container_name(container)
        target = target_name(ref)
        previous = self._current(target)
        try:
            new_id = self.backend.commit(
                container, target, author=author, message=message, changes=changes
            )
        except InterruptedWrite as stop:
            raise self._interrupted("commit", stop.image_id) from None
        except KeyboardInterrupt:
            raise self._interrupted("commit", None, abandoned=True) from None
        return self._created(new_id, target, previous)

    def tag(self, source: str, target: str) -> Image:
        """Give the image `source` the name `target` (moving it if it names another image)."""
        source = validate_image_arg(source)
        name = target_name(target)
        previous = self._current(name)
        self.backend.tag(source, name)
        return self._created(self.backend.inspect([name])[0].id, name, previous)

    def rmi(
        self,
        *refs: str,
        force: bool = False,
        dry_run: bool = False,
        remove_containers: bool = False,
    ) -> RemoveResult:
        """Remove images, the same way on every engine (see ocitool.removal).

        `force` lets an image named by ID lose all of its tags. Containers are
        removed only with `remove_containers`; otherwise they block, and the
        error names them. `dry_run` changes nothing and reports the plan.
        """
        from ocitool.removal import observed, plan_removal

        checked = _validated(refs)
        if not checked:
            raise UsageError("no image given", hint="name at least one image to remove")
        found = self.backend.inspect(checked)
        targets = [self._target(ref, image) for ref, image in zip(checked, found, strict=True)]
        before = self.backend.images(all=True)
        plan = plan_removal(
            targets,
            before,
            self.backend.containers(all=True),
            force=force,
            remove_containers=remove_containers,
            keeps_untagged_parents=self.backend.keeps_untagged_parents,
        )
        if dry_run:
            return plan.result
        if plan.result.blocked:
            raise blocked_error(plan.result.blocked, self.backend_name)
        if plan.containers:
            self.backend.remove_containers([c.id for c in plan.containers], force=True)
        removed = [c.name for c in plan.containers]
        try:
            self.backend.remove_images(plan.engine_refs)
        except BaseException:
            done = observed(before, self.backend.images(all=True), targets, removed)
            if done.untagged or done.deleted:
                notes.warning(
                    "before it failed, rmi untagged %s and deleted %s",
                    done.untagged or "nothing",
                    done.deleted or "nothing",
                )
            raise
        return observed(before, self.backend.images(all=True), targets, removed)

    def run(
        self,
        image: str,
        command: Sequence[str] = (),
        *,
        name: str | None = None,
        interactive: bool = False,
        tty: bool = False,
        remove: bool = False,
        detach: bool = False,
        network: str | None = None,
        pull: PullPolicy = "missing",
        env: Sequence[str] = (),
        terminal: bool = False,
    ) -> RunResult:
        """Create and start a container; wait for it unless `detach`.

        With `terminal` the command uses the caller's stdin/stdout/stderr (the
        CLI); otherwise its output is captured in the result (the API).
        """
        from ocitool.models import RunResult

        image = validate_image_arg(image)
        if name is not None:
            name = validate_container_name(name)
        if network is not None:
            network = validate_container_name(network)
        if pull not in ("always", "missing", "never"):
            raise UsageError(f"unknown pull policy {pull!r}", hint="use always, missing or never")
        container_id = self.backend.create(
            image,
            list(command),
            name=name,
            interactive=interactive,
            tty=tty,
            remove=remove,
            network=network,
            pull=pull,
            env=list(env),
            detach=detach,
        )
        name = name or self.backend.container_name(container_id)
        if detach:
            self.backend.start([container_id])
            return RunResult(id=container_id, name=name)
        done = self.backend.start_attached(container_id, interactive=interactive, terminal=terminal)
        return RunResult(
            id=container_id,
            name=name,
            exit_code=done.returncode,
            removed=remove,
            stdout=None if terminal else done.stdout,
            stderr=None if terminal else done.stderr,
        )

    def start(self, *containers: str) -> None:
        self.backend.start(_containers(containers))

    def stop(self, *containers: str, timeout: int | None = None) -> None:
        self.backend.stop(_containers(containers), timeout=timeout)

    def remove(self, *containers: str, force: bool = False) -> None:
        """Remove the named containers (`force` stops running ones first)."""
        self.backend.remove_containers(_containers(containers), force=force)

    # -- structure -----------------------------------------------------------------

    def du(self) -> UsageReport:
        """Every image's size, shared size, unique size (what removing it alone frees) and
        added size; every layer counted once, in a constant number of engine calls.

        Where the engine's own store is local and readable, the backend reads it
        directly (store_usage: one round of calls at once); otherwise it lists,
        inspects and reads its layer sizes as everywhere else."""
        from ocitool.structure import UsageInputs, held_by, usage

        inputs = self.backend.store_usage()
        if inputs is None:
            images = self.backend.images()
            sizes = self.backend.layer_sizes(images)
            inputs = UsageInputs(images, sizes, held_by(self.backend.containers(all=True)))
        return usage(*inputs, accounting=ACCOUNTING[self.backend_name])

    def tree(self) -> list[TreeNode]:
        """The images' family tree by shared layers, untagged parents included."""
        from ocitool.structure import tree

        return tree(self.backend.images(all=True))

    def layers(self, ref: str) -> list[LayerUsage]:
        """An image's history steps, each with the other images sharing its layer."""
        from ocitool.structure import layer_usage

        image = self.image(ref)
        return layer_usage(image, self.backend.history(image.id), self.backend.images(all=True))

    def layer_files(self, ref: str, *, limit: int | None = None) -> FileAnalysis:
        """What each layer adds, changes and removes, and the bytes later layers waste."""
        from ocitool.layerfiles import DEFAULT_LIMIT, analyse

        image = self.image(ref)
        scans = self._scan([image.id], [image], limit=limit or DEFAULT_LIMIT, contents=False)
        steps = [s.created_by for s in reversed(self.backend.history(image.id)) if not s.empty]
        result = analyse([scans[d] for d in image.diff_ids], steps)
        return result.model_copy(update={"image": ref, "image_id": image.id})

    def diff(self, a: str, b: str, *, files: bool = False) -> ImageDiff:
        """From image a to image b: shared and own layers, config changes, and files."""
        from ocitool.layerfiles import DEFAULT_LIMIT, final_files
        from ocitool.structure import diff, file_changes

        first, second = self.inspect(a, b)
        result = diff(first, second).model_copy(update={"a": a, "b": b})
        if not files:
            return result
        scans = self._scan(
            [first.id, second.id], [first, second], limit=DEFAULT_LIMIT, contents=True
        )
        before = final_files(scans[d] for d in first.diff_ids)
        after = final_files(scans[d] for d in second.diff_ids)
        return result.model_copy(update={"files": file_changes(before, after)})

    def _scan(
        self, refs: list[str], images: list[Image], *, limit: int, contents: bool
    ) -> dict[str, LayerScan]:
        """Every distinct layer of the images, read once from the engine as a stream."""
        from ocitool.layerfiles import scan_layer

        scans: dict[str, LayerScan] = {}

        def on_layer(stream: IO[bytes]) -> None:
            scan = scan_layer(stream, limit=limit, contents=contents)
            scans[scan.diff_id] = scan

        self.backend.read_layers(refs, on_layer)
        missing = [d for image in images for d in image.diff_ids if d not in scans]
        if missing:
            raise EngineError(
                ("read layers",),
                None,
                "",
                message=f"the engine did not hand over layer {missing[0]}",
            )
        return scans

    # -- distribution ------------------------------------------------------------

    def transfers(
        self, *, tls_verify: bool | None = None, cert_dir: Path | None = None
    ) -> Transfers:
        """push, pull, save, load and copy; `tls_verify`/`cert_dir` apply to registries."""
        from ocitool.registry import Tls
        from ocitool.transfer import Transfers

        tls = None
        if tls_verify is not None or cert_dir is not None:
            tls = Tls(verify=tls_verify is not False, cert_dir=cert_dir)
        return Transfers(self, tls=tls)

    def copy(self, source: str, destination: str, *, force: bool = False) -> TransferResult:
        return self.transfers().copy(source, destination, force=force)

    def push(
        self, image: str, destination: str | None = None, *, force: bool = False
    ) -> TransferResult:
        return self.transfers().push(image, destination, force=force)

    def pull(self, reference: str) -> TransferResult:
        return self.transfers().pull(reference)

    def save(
        self,
        *images: str,
        output: str | Path,
        archive_format: str = "docker-archive",
        force: bool = False,
    ) -> TransferResult:
        return self.transfers().save(
            images, Path(output), archive_format=archive_format, force=force
        )

    def load(self, archive: str | Path) -> list[TransferResult]:
        return self.transfers().load(Path(archive))

    def login(
        self,
        registry: str,
        user: str,
        password: str,
        *,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> list[Path]:
        """Check the credentials against the registry, then store them for every engine."""
        from ocitool import credentials
        from ocitool.registry import Registry, Tls

        if not user or not password:
            raise UsageError(
                "a login needs a username and a password",
                hint="-u USER, and the password on stdin (--password-stdin)",
            )
        verify = (
            tls_verify
            if tls_verify is not None
            else (registry not in self.config.insecure_registries)
        )
        Registry(
            registry, tls=Tls(verify=verify, cert_dir=cert_dir), credentials=(user, password)
        ).check_login()
        return credentials.save(registry, user, password)

    @staticmethod
    def logout(registry: str) -> bool:
        from ocitool import credentials

        return credentials.remove(registry)

    def search(
        self,
        term: str,
        *,
        registry: str | None = None,
        limit: int = 25,
        tags: bool = False,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> list[SearchResult]:
        """Repositories matching `term`: in a registry's catalog, or on Docker Hub through
        the engine when no registry is named."""
        from ocitool.search import search

        return search(
            self,
            term,
            registry=registry,
            limit=limit,
            tags=tags,
            transfers=self.transfers(tls_verify=tls_verify, cert_dir=cert_dir),
        )

    # -- helpers -----------------------------------------------------------------

    def _current(self, name: str) -> Image | None:
        try:
            return self.backend.inspect([name])[0]
        except ImageNotFound:
            return None

    def _created(self, image_id: str, name: str, previous: Image | None) -> Image:
        image = self.backend.inspect([image_id])[0]
        if previous is not None and previous.id != image.id:
            left = [n for n in previous.names if n != name]
            fate = (
                f"still tagged {', '.join(left)}"
                if left
                else f"now untagged but kept; 'ocitool rmi {previous.id}' removes it"
            )
            notes.warning(
                "%s moved from %s to %s; %s is %s",
                name,
                previous.short_id,
                image.short_id,
                previous.short_id,
                fate,
            )
        return image

    def _target(self, ref: str, image: Image) -> Target:
        from ocitool.removal import Target

        name = self.backend.canonical_name(ref)
        by_id = (
            is_image_id(ref)
            or "@" in ref
            or (name not in image.names and image.id.removeprefix("sha256:").startswith(ref))
        )
        return Target(ref=ref, image=image, name=None if by_id else name)

    def _interrupted(
        self, what: str, image_id: str | None, *, abandoned: bool = False
    ) -> Interrupted:
        """Say exactly what an interrupted write left behind: the engine was let finish
        and said which image it made, or it was abandoned by a second Ctrl-C."""
        if image_id:
            made = self.backend.inspect([image_id])[0]
            return Interrupted(
                f"{what} interrupted, but the engine had already created {made.id} "
                f"({', '.join(made.names) or 'untagged'})",
                hint=f"keep it, or remove it with 'ocitool rmi {made.id}'",
            )
        if abandoned:
            return Interrupted(
                f"{what} abandoned; no image exists yet, but the engine may still finish it",
                hint="check 'ocitool images -a' in a moment",
            )
        return Interrupted(f"{what} interrupted; no image was created")

    @staticmethod
    def survey(
        config: Config | None = None, runner: Runner | None = None, requested: str | None = None
    ) -> list[EngineInfo]:
        """Every backend's status: found, version, rootless, reachable, and why not;
        `selected` marks the one a Client(backend=requested) would use."""
        config = config or load_config()
        infos = backends.survey(runner or Runner(), config)
        try:
            chosen = choose_backend(requested, config)
        except OcitoolError:
            return infos
        return [i.model_copy(update={"selected": i.backend == chosen}) for i in infos]


class _Guarded:
    """A backend whose parse failures become one EngineError naming the engine call.

    An engine version that prints something unforeseen must give the user a
    clear line, not a Python traceback (that stays available with --debug).
    """

    def __init__(self, backend: Backend, runner: Runner) -> None:
        self._backend = backend
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                argv = self._runner.calls[-1] if self._runner.calls else (name,)
                raise EngineError(
                    argv,
                    None,
                    "",
                    message=f"unexpected output from '{' '.join(argv[:3])}': "
                    f"{type(exc).__name__}: {str(exc)[:200]}",
                    hint="this engine version may print something ocitool does not know; "
                    "rerun with --debug and report it",
                ) from exc

        return guarded


def _validated(refs: Iterable[str]) -> list[str]:
    return [validate_image_arg(r) for r in refs]


def _containers(names: Iterable[str]) -> list[str]:
    checked = [validate_container_name(n) for n in names]
    if not checked:
        raise UsageError("no container given", hint="name at least one container")
    return checked


def target_name(ref: str) -> str:
    """A name an image can be given: a valid reference with no digest."""
    parsed = ImageRef.parse(ref)
    if parsed.digest:
        raise InvalidReference(
            ref,
            "a new image name cannot carry a digest",
            hint="use NAME:TAG, e.g. commit_test:first",
        )
    return str(parsed)


def blocked_error(blocked: Sequence[Blocker], backend: str) -> ImageInUse | Conflict:
    """The error for a removal that cannot go ahead: in-use first, as users meet it most."""
    for blocker in blocked:
        if blocker.reason == "in-use":
            names = " ".join(c.name for c in blocker.containers)
            return ImageInUse(
                blocker.image,
                [f"{c.name} ({c.short_id}, {c.state})" for c in blocker.containers],
                backend=backend,
                hint=f"stop and remove them first (ocitool stop {names}; ocitool rm {names}),"
                " or pass --rm-containers to remove them with the image",
            )
    return Conflict(f"cannot remove: {blocked[0].message}")
