"""The Python API, which the CLI is built on.

    from ocitool import Client
    Client(backend="podman").images()

A Client picks its backend (explicit, OCITOOL_BACKEND, the config file, or
`auto`), validates every reference before a backend sees it, and returns the
core models. Each method hands its work to the module that holds that idea:
reads to the engine's core (ocitool.engine), writes to ocitool.lifecycle,
structure to ocitool.analysis, moving images to ocitool.transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.engines import Engines, choose_backend
from ocitool.errors import OcitoolError, UsageError
from ocitool.listing import newest_first
from ocitool.references import validate_image_arg

if TYPE_CHECKING:
    from ocitool.config import Config
    from ocitool.engine import Engine
    from ocitool.filters import Shown
    from ocitool.lifecycle import PullPolicy
    from ocitool.listing import ImageSummary
    from ocitool.models import (
        Container,
        EngineInfo,
        FileAnalysis,
        Image,
        ImageDiff,
        Layer,
        LayerUsage,
        PruneResult,
        RemoveResult,
        RunResult,
        SearchResult,
        TransferResult,
        TreeNode,
        UsageReport,
    )
    from ocitool.runner import Runner
    from ocitool.transfer import Transfers


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
        from ocitool.config import load_config
        from ocitool.runner import Runner, resolve_timeout

        self.config = config or load_config()
        self.runner = runner or Runner(timeout=resolve_timeout(self.config.timeout))
        self.backend_name = choose_backend(backend, self.config)
        self.engines = Engines(
            self.config,
            self.runner,
            selected=self.backend_name,
            store=Path(store) if store is not None else None,  # the oci backend's store
        )

    @property
    def backend(self) -> Engine:
        """The selected backend's core (ocitool.engine.Engine)."""
        return self.engines.selected

    # -- reads ---------------------------------------------------------------------

    def images(
        self, *, all: bool = False, filters: Sequence[str] = (), reference: str | None = None
    ) -> list[Image]:
        """Local images, newest first, one entry per image ID; `filters` (`dangling=`,
        `reference=`, `label=`, `before=`, `since=`, `until=`) and `reference` (the
        positional REPO[:TAG] of `ocitool images`) keep the ones docker would list."""
        if filters or reference:
            return [shown.image for shown in self.filtered_images(all, filters, reference)]
        from ocitool.analysis import accounted_images

        return newest_first(accounted_images(self.engines, self.backend.images(all=all)))

    def filtered_images(
        self, all: bool, filters: Sequence[str], reference: str | None = None
    ) -> list[Shown]:
        """The images the filters let through, each with the names a `reference`
        filter leaves it listed under (docker lists only the matching tags)."""
        from ocitool import filters as parsing
        from ocitool.analysis import accounted_images

        given = [*filters, *([f"reference={reference}"] if reference is not None else [])]
        wanted = parsing.parse(given, parsing.IMAGE_KEYS, "images")
        named = [*wanted.get("before"), *wanted.get("since")]
        found = newest_first(accounted_images(self.engines, self.backend.images(all=all)))
        anchors = dict(zip(named, self.inspect(*named), strict=True)) if named else {}
        return parsing.filter_images(found, wanted, anchors=anchors)

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """What `ocitool images` shows, newest first, from the engine's one list call:
        IDs, names, created and size without an inspect (use images() for the rest)."""
        return newest_first(self.backend.image_summaries(all=all))

    def inspect(self, *refs: str) -> list[Image]:
        """The named images in argument order, read with one engine call."""
        from ocitool.locations import refuse_elsewhere

        for ref in refs:
            refuse_elsewhere(ref, "inspect")
        checked = [validate_image_arg(r) for r in refs]
        if not checked:
            raise UsageError("no image given", hint="name at least one image, e.g. myapp:1.0")
        from ocitool.analysis import accounted_images

        return accounted_images(self.engines, self.backend.inspect(checked))

    def image(self, ref: str) -> Image:
        """One image in detail."""
        return self.inspect(ref)[0]

    def history(self, ref: str) -> list[Layer]:
        """Every history step of an image, newest first, empty steps included."""
        from ocitool.analysis import accounted_steps

        return accounted_steps(self.engines, self.backend.history(validate_image_arg(ref)))

    def containers(self, *, all: bool = False, filters: Sequence[str] = ()) -> list[Container]:
        """Containers, newest first; running ones only unless `all` (or a `status=` or
        `exited=` filter, as in docker); `filters`: `status=`, `name=`, `id=`,
        `ancestor=` (the image or any built on it), `exited=`."""
        if not filters:
            return newest_first(self.backend.containers(all=all))
        from ocitool import filters as parsing

        wanted = parsing.parse(filters, parsing.PS_KEYS, "ps")
        all = all or bool(wanted.get("status") or wanted.get("exited"))
        ancestors: dict[str, set[str]] = {}
        if roots := wanted.get("ancestor"):
            from ocitool.together import together

            found, images = together(
                lambda: self.backend.containers(all=all), lambda: self.backend.images(all=True)
            )
            for root in roots:
                ancestors[root] = parsing.descendants(_matching(root, images), images)
        else:
            found = self.backend.containers(all=all)
        # exited=N reads the model's exit code where the model carries one
        codes = {c.id: getattr(c, "exit_code", None) for c in found}
        return newest_first(
            parsing.filter_containers(found, wanted, ancestors=ancestors, exit_codes=codes)
        )

    ps = containers

    def info(self) -> EngineInfo:
        """The selected engine's version, reachability and storage."""
        return self.backend.info()

    @staticmethod
    def survey(
        config: Config | None = None, runner: Runner | None = None, requested: str | None = None
    ) -> list[EngineInfo]:
        """Every backend's status and capabilities: found, version, rootless, reachable,
        and why not; `selected` marks the one a Client(backend=requested) would use."""
        from ocitool.backends import registry
        from ocitool.config import load_config
        from ocitool.runner import Runner

        config = config or load_config()
        infos = registry.survey(runner or Runner(), config)
        try:
            chosen = choose_backend(requested, config)
        except OcitoolError:
            return infos
        return [i.model_copy(update={"selected": i.backend == chosen}) for i in infos]

    # -- the image lifecycle ---------------------------------------------------------

    def import_image(
        self,
        tarball: str | Path,
        ref: str,
        *,
        message: str | None = None,
        changes: Sequence[str] = (),
    ) -> Image:
        """A rootfs tarball as a one-layer image named `ref`."""
        from ocitool import lifecycle

        return lifecycle.import_image(
            self.backend, Path(tarball), ref, message=message, changes=changes
        )

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
        from ocitool import lifecycle

        return lifecycle.commit(
            self.backend, container, ref, author=author, message=message, changes=changes
        )

    def tag(self, source: str, target: str) -> Image:
        """Give the image `source` the name `target` (moving it if it names another image)."""
        from ocitool import lifecycle

        return lifecycle.tag(self.backend, source, target)

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
        from ocitool import lifecycle

        return lifecycle.rmi(
            self.backend,
            refs,
            force=force,
            dry_run=dry_run,
            remove_containers=remove_containers,
        )

    def prune(
        self,
        *,
        dangling: bool = False,
        keep: int | None = None,
        older_than: str | timedelta | None = None,
        filters: Sequence[str] = (),
        containers: bool = False,
        dry_run: bool = False,
    ) -> PruneResult:
        """Remove what the retention rules choose, in one batch (see ocitool.pruning).

        `dangling` (the default when no rule is given) takes untagged images no image
        is built on; `keep` keeps the N newest images of each repository and takes the
        other tags; `older_than` takes images created longer ago (`90m`, `72h`, `7d`);
        `filters` (`reference=`, `label=`, `until=`) narrow what the rules see. What a
        container uses, or a parent of an image that stays, is kept and reported;
        `containers` removes the stopped containers holding chosen images first.
        `reclaimed` predicts the bytes du's total drops by, and a real run's `observed`
        is that drop as measured.
        """
        from ocitool import filters as parsing
        from ocitool.pruning import Rules, prune

        if keep is not None and keep < 0:
            raise UsageError(f"--keep {keep}: a count cannot be negative", hint="e.g. --keep 3")
        span = parsing.duration(older_than) if isinstance(older_than, str) else older_than
        if isinstance(older_than, str) and span is None:
            raise UsageError(
                f"--older-than {older_than!r} is not a duration", hint="e.g. 90m, 72h, 7d"
            )
        rules = Rules(
            dangling=dangling,
            keep=keep,
            older_than=span,
            filters=parsing.parse(filters, parsing.PRUNE_KEYS, "prune"),
            containers=containers,
        )
        return prune(self.engines, rules, dry_run=dry_run)

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
        from ocitool import lifecycle

        return lifecycle.run(
            self.engines,
            image,
            command,
            name=name,
            interactive=interactive,
            tty=tty,
            remove=remove,
            detach=detach,
            network=network,
            pull=pull,
            env=env,
            terminal=terminal,
        )

    def start(self, *containers: str) -> None:
        """Start stopped containers in the background."""
        from ocitool.lifecycle import containers as checked

        self.backend.start(checked(containers))

    def stop(self, *containers: str, timeout: int | None = None) -> None:
        """Stop running containers: SIGTERM, then SIGKILL after `timeout` seconds."""
        from ocitool.lifecycle import containers as checked

        self.backend.stop(checked(containers), timeout=timeout)

    def remove(self, *containers: str, force: bool = False) -> None:
        """Remove the named containers (`force` stops running ones first)."""
        from ocitool.lifecycle import containers as checked

        self.backend.remove_containers(checked(containers), force=force)

    # -- structure -------------------------------------------------------------------

    def du(self) -> UsageReport:
        """Every image's size, shared size, unique size (what removing it alone frees) and
        added size; every layer counted once, in a constant number of engine calls."""
        from ocitool import analysis

        return analysis.du(self.engines)

    def tree(self) -> list[TreeNode]:
        """The images' family tree by shared layers, untagged parents included."""
        from ocitool import analysis

        return analysis.tree(self.engines)

    def layers(self, ref: str) -> list[LayerUsage]:
        """An image's history steps, each with the other images sharing its layer."""
        from ocitool import analysis

        return analysis.layers(self.engines, validate_image_arg(ref))

    def layer_files(self, ref: str, *, limit: int | None = None) -> FileAnalysis:
        """What each layer adds, changes and removes, and the bytes later layers waste."""
        from ocitool import analysis

        return analysis.layer_files(self.engines, validate_image_arg(ref), limit=limit)

    def diff(self, a: str, b: str, *, files: bool = False) -> ImageDiff:
        """From image a to image b: shared and own layers, config changes, and files."""
        from ocitool import analysis

        return analysis.diff(
            self.engines, validate_image_arg(a), validate_image_arg(b), files=files
        )

    # -- distribution ------------------------------------------------------------------

    def transfers(
        self, *, tls_verify: bool | None = None, cert_dir: Path | None = None
    ) -> Transfers:
        """push, pull, save, load and copy; `tls_verify`/`cert_dir` apply to registries."""
        from ocitool.registry import Tls
        from ocitool.transfer import Transfers

        tls = None
        if tls_verify is not None or cert_dir is not None:
            tls = Tls(verify=tls_verify is not False, cert_dir=cert_dir)
        return Transfers(self.engines, tls=tls)

    def copy(self, source: str, destination: str, *, force: bool = False) -> TransferResult:
        """Copy an image between any two locations (README, "Locations")."""
        return self.transfers().copy(source, destination, force=force)

    def push(
        self, image: str, destination: str | None = None, *, force: bool = False
    ) -> TransferResult:
        """Push an image to a registry, under its own name or `destination`."""
        return self.transfers().push(image, destination, force=force)

    def pull(self, reference: str) -> TransferResult:
        """Pull an image from a registry into the selected backend."""
        return self.transfers().pull(reference)

    def save(
        self,
        *images: str,
        output: str | Path,
        archive_format: str = "docker-archive",
        force: bool = False,
    ) -> TransferResult:
        """Several images in one archive file."""
        return self.transfers().save(
            images, Path(output), archive_format=archive_format, force=force
        )

    def load(self, archive: str | Path) -> list[TransferResult]:
        """Every image in a docker or OCI archive, with its names."""
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
        from ocitool import logins

        return logins.login(
            registry,
            user,
            password,
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            insecure=registry in self.config.insecure_registries,
            timeout=self.runner.timeout,
        )

    @staticmethod
    def logout(registry: str) -> bool:
        """Forget the credentials for a registry; False if there were none."""
        from ocitool import credentials
        from ocitool.references import validate_registry_host

        return credentials.remove(validate_registry_host(registry))

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
            self.engines,
            term,
            registry=registry,
            limit=limit,
            tags=tags,
            transfers=self.transfers(tls_verify=tls_verify, cert_dir=cert_dir),
        )


def _matching(ref: str, images: Sequence[Image]) -> list[str]:
    """The IDs an `ancestor=` value names: an image name, a full ID or an ID prefix
    (docker resolves it as it resolves any image argument; no match names none)."""
    from ocitool.filters import familiar

    bare = ref.removeprefix("sha256:")
    wanted = familiar(ref if ":" in ref.rpartition("/")[2] else f"{ref}:latest")
    return [
        i.id
        for i in images
        if wanted in {familiar(n) for n in i.names}
        or (len(bare) >= 3 and i.id.removeprefix("sha256:").startswith(bare))
        or ref in i.repo_digests
    ]
