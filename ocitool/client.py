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

from ocitool import capabilities as can
from ocitool.engines import Engines, choose_backend
from ocitool.errors import OcitoolError, UsageError
from ocitool.listing import newest_first
from ocitool.references import validate_image_arg

if TYPE_CHECKING:
    from collections.abc import Callable

    from ocitool.building import BuildEvent, OnBuildEvent
    from ocitool.config import Config
    from ocitool.engine import Engine, Exited, Output
    from ocitool.filters import Shown
    from ocitool.lifecycle import PullPolicy
    from ocitool.listing import ImageSummary
    from ocitool.models import (
        BuildResult,
        Container,
        EngineInfo,
        FileAnalysis,
        Image,
        ImageDiff,
        Layer,
        LayerUsage,
        LocatedImage,
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


def _where(info: EngineInfo) -> str | None:
    """The endpoint a surveyed row was asked at: its connection, or its chosen URL."""
    if info.connection:
        return info.connection
    return info.endpoint if info.remote and info.endpoint and "://" in info.endpoint else None


class Client:
    """One engine, the same API whichever it is.

    One Client may be shared by threads: each call works on its own, and writes
    to one store wait for each other as writers in separate processes do (the
    oci store's lock is held per thread). Arguments meant as lists (a command,
    env, changes) must be lists: a lone string is a TypeError.
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        config: Config | None = None,
        runner: Runner | None = None,
        store: str | Path | None = None,
        host: str | None = None,
        connection: str | None = None,
    ) -> None:
        """`host` (a unix://, tcp:// or ssh:// URL, docker's -H) or `connection` (a docker
        context or podman connection) chooses the engine's endpoint (docs/remote.md)."""
        from ocitool.config import load_config
        from ocitool.endpoints import chosen
        from ocitool.runner import Runner, resolve_timeout

        self.config = config or load_config()
        self.runner = runner or Runner(timeout=resolve_timeout(self.config.timeout))
        self.backend_name = choose_backend(backend, self.config)
        self.engines = Engines(
            self.config,
            self.runner,
            selected=self.backend_name,
            store=Path(store) if store is not None else None,  # the oci backend's store
            at=chosen(host, connection),
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

    def inspect(self, *refs: str, platform: str | None = None) -> list[Image]:
        """The named images in argument order, read with one engine call; `platform`
        (os/arch[/variant]) picks an image of an index the store holds."""
        from ocitool.locations import refuse_elsewhere

        for ref in refs:
            refuse_elsewhere(ref, "inspect")
        checked = [validate_image_arg(r) for r in refs]
        if not checked:
            raise UsageError("no image given", hint="name at least one image, e.g. myapp:1.0")
        from ocitool.analysis import accounted_images

        if platform is not None:
            from ocitool.platform_pick import inspect_platform

            return accounted_images(self.engines, inspect_platform(self.engines, checked, platform))
        from ocitool.manifest_lists import inspect_images

        return accounted_images(self.engines, inspect_images(self.backend, checked))

    def inspect_location(
        self,
        location: str,
        *,
        platform: str | None = None,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> LocatedImage:
        """An image where it lives (docker://, oci:PATH:TAG, docker-archive:, oci-archive:),
        with nothing pulled: the Image a local inspect shows, its manifest digest and media
        type, and an index's platforms (`platform` picks one; default: this host's)."""
        from ocitool.located import inspect_at

        return inspect_at(
            self.transfers(tls_verify=tls_verify, cert_dir=cert_dir), location, platform
        )

    def location_bytes(
        self,
        location: str,
        *,
        config: bool = False,
        platform: str | None = None,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> bytes:
        """The manifest bytes exactly as the location serves them (their sha256 is its
        digest), or with `config` the raw config of the (picked platform's) image."""
        from ocitool.located import raw_at

        moves = self.transfers(tls_verify=tls_verify, cert_dir=cert_dir)
        return raw_at(moves, location, platform, config=config)

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
        codes = {c.id: c.exit_code for c in found}
        return newest_first(
            parsing.filter_containers(found, wanted, ancestors=ancestors, exit_codes=codes)
        )

    ps = containers

    def info(self) -> EngineInfo:
        """The selected engine's version, reachability and storage."""
        return self.backend.info()

    @staticmethod
    def survey(
        config: Config | None = None,
        runner: Runner | None = None,
        requested: str | None = None,
        *,
        host: str | None = None,
        connection: str | None = None,
    ) -> list[EngineInfo]:
        """Every backend's status and capabilities, at each endpoint it has (its default,
        each docker context and podman connection, and `host` or `connection`): found,
        version, rootless, reachable, local or remote, and why not; `selected` marks the
        one a Client(backend=requested, host=..., connection=...) would use."""
        from ocitool.backends import registry
        from ocitool.config import load_config
        from ocitool.endpoints import chosen
        from ocitool.runner import Runner

        config = config or load_config()
        at = chosen(host, connection)
        infos = registry.survey(runner or Runner(), config, at=at, requested=requested)
        try:
            picked = choose_backend(requested, config)
        except OcitoolError:
            return infos
        wanted = (picked, at)
        return [i.model_copy(update={"selected": (i.backend, _where(i)) == wanted}) for i in infos]

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
            self.backend, Path(tarball), ref, message=message, changes=_strings("changes", changes)
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
            self.backend,
            container,
            ref,
            author=author,
            message=message,
            changes=_strings("changes", changes),
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
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> RemoveResult:
        """Remove images, the same way on every engine (see ocitool.removal).

        `force` lets an image named by ID lose all of its tags. Containers are
        removed only with `remove_containers`; otherwise they block, and the
        error names them. `dry_run` changes nothing and reports the plan.
        A `docker://HOST/REPO:TAG` removes that tag in its registry and spares
        the other tags of its manifest (ocitool.tag_removal).
        """
        from ocitool import lifecycle
        from ocitool.locations import is_location, parse_location

        remote = [is_location(ref) for ref in refs]
        if any(remote):
            from ocitool.tag_removal import remove_tags

            where = [parse_location(ref, self.backend_name) for ref in refs]
            if not all(remote) or any(w.kind != "registry" for w in where):
                raise UsageError(
                    "rmi removes local images, or tags in a registry (docker://HOST/REPO:TAG),"
                    " one kind at a time",
                    hint="run rmi once for the local images and once for the registry's tags",
                )
            moves = self.transfers(tls_verify=tls_verify, cert_dir=cert_dir)
            return remove_tags(moves, where, dry_run=dry_run)

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

    def build(
        self,
        context: str | Path,
        *,
        dockerfile: str | Path | None = None,
        tags: Sequence[str] = (),
        build_args: Sequence[str] = (),
        labels: Sequence[str] = (),
        target: str | None = None,
        no_cache: bool = False,
        network: str = "host",
        platform: str | None = None,
        on_event: OnBuildEvent | None = None,
        on_plan: Callable[[int], None] | None = None,
    ) -> BuildResult:
        """Build an image from the Dockerfile in `context` (or `dockerfile`), as `docker
        build` does, on any backend with the `image-build` capability.

        `tags` are NAME[:TAG] the image gets only once it is whole; `build_args` and
        `labels` are KEY=VALUE (a build arg KEY alone takes KEY from the environment);
        `target` stops at that stage; `network` is `host` or `none` for RUN. The request
        is checked before any engine is asked (a bad Dockerfile line, an unknown
        target, a COPY from outside the context: UsageError, exit 2). `on_plan` hears
        how many steps the build has, then `on_event` each BuildEvent (ocitool.building)
        as it comes, and last a "done" of step 0 with the image ID. A failing RUN is
        BuildStepFailed, with the step, line and code.
        """
        from ocitool.build_request import make_request, plan

        request = make_request(
            context,
            dockerfile=dockerfile,
            tags=_strings("tags", tags),
            build_args=_strings("build_args", build_args),
            labels=_strings("labels", labels),
            target=target,
            no_cache=no_cache,
            network=network,
            platform=platform,
        )
        from ocitool.building import BuildEvent

        builder = self.engines.need(can.IMAGE_BUILD)
        if on_plan is not None:
            on_plan(len(plan(request.parsed, request.target)))
        said = on_event or _ignored
        result = builder.build(request, said)
        said(BuildEvent("done", 0, result.image_id))  # the build's end, on every backend
        return result

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
        volumes: Sequence[str] = (),
        workdir: str | None = None,
        user: str | None = None,
        entrypoint: str | None = None,
        hostname: str | None = None,
        env_file: str | Path | None = None,
        publish: Sequence[str] = (),
        platform: str | None = None,
    ) -> RunResult:
        """Create and start a container; wait for it unless `detach`.

        `command` is a list of arguments, `["echo", "hi"]`, never one string
        (there is no shell to split it; a string is a TypeError). With
        `terminal` the command uses the caller's stdin/stdout/stderr (the CLI);
        otherwise its output is captured in the result (the API).
        `volumes` are `HOST:CONTAINER[:ro]` bind mounts; `env_file` is read as
        docker reads one, before `env`; `publish` (`-p`) needs the ports capability.
        An image for another `platform` than the one asked (default: this host's)
        is refused.
        """
        from ocitool import containers as checks
        from ocitool import lifecycle
        from ocitool.run_platform import for_platform, runnable

        command = _strings("command", command)
        env = _strings("env", env)
        options = checks.run_options(
            volumes=_strings("volumes", volumes),
            workdir_=workdir,
            user_=user,
            entrypoint=entrypoint,
            hostname=hostname,
            publish=_strings("publish", publish),
        )
        if env_file is not None:
            env = [*checks.env_file(Path(env_file)), *env]
        if pull in ("always", "missing", "never"):
            pull = runnable(
                self.engines,
                validate_image_arg(image),
                platform,
                pull,
                fetch=lambda ref: self.transfers(platform=platform).pull(ref),
            )
            image = for_platform(self.engines, image, platform)
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
            options=options,
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

    # -- container verbs ---------------------------------------------------------------

    def inspect_containers(self, *containers: str) -> list[Container]:
        """The named containers in detail: state, exit code, command, image, times,
        mounts, and the user, workdir and env they run with."""
        from ocitool import containers as verbs

        return verbs.inspect(self.backend, containers)

    def logs(
        self,
        container: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        terminal: bool = False,
    ) -> Output:
        """What a container printed, stdout and stderr apart (on the caller's terminal
        with `terminal`); `follow` waits for more until the container exits."""
        from ocitool import containers as verbs

        return verbs.logs(
            self.engines.need(can.CONTAINER_LOGS),
            container,
            follow=follow,
            tail=tail,
            timestamps=timestamps,
            terminal=terminal,
        )

    def exec(
        self,
        container: str,
        command: Sequence[str],
        *,
        interactive: bool = False,
        tty: bool = False,
        user: str | None = None,
        workdir: str | None = None,
        env: Sequence[str] = (),
        terminal: bool = False,
    ) -> Exited:
        """Run a command in a running container; its exit code, and its output unless
        `terminal`. A stopped container is Conflict (8); a command that does not exist
        is CommandNotFound (127), one that cannot be executed CommandNotExecutable (126)."""
        from ocitool import containers as verbs

        return verbs.exec_(
            self.engines.need(can.CONTAINER_EXEC),
            container,
            command,
            interactive=interactive,
            tty=tty,
            user_=user,
            workdir_=workdir,
            env=env,
            terminal=terminal,
        )

    def cp(self, source: str, destination: str) -> None:
        """`CONTAINER:PATH HOSTPATH` or `HOSTPATH CONTAINER:PATH`, on running and stopped
        containers; `..` and links never lead out of the container's root."""
        from ocitool import containers as verbs

        verbs.copy(self.engines.need(can.CONTAINER_FILES), source, destination)

    def wait(self, *containers: str) -> list[int]:
        """Wait for each container to exit; their exit codes, in argument order."""
        from ocitool.lifecycle import containers as checked

        return self.engines.need(can.CONTAINER_SIGNALS).wait(checked(containers))

    def kill(self, *containers: str, signal: str = "KILL") -> None:
        """Send a signal (a name such as TERM, or a number) to running containers."""
        from ocitool import containers as verbs
        from ocitool.lifecycle import containers as checked

        signalled = self.engines.need(can.CONTAINER_SIGNALS)
        signalled.kill(checked(containers), signal=verbs.signal(signal))

    def export(self, container: str, output: str | Path) -> Path:
        """The container's filesystem as one tar file; nothing keeps the name unless whole."""
        from ocitool import containers as verbs
        from ocitool.archives import finished_file

        files = self.engines.need(can.CONTAINER_FILES)
        name = verbs.container(container)
        with finished_file(Path(output)) as partial:
            files.export(name, partial)
        return Path(output)

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
        self,
        *,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
        platform: str | None = None,
        all_platforms: bool = False,
    ) -> Transfers:
        """push, pull, save, load and copy; `tls_verify`/`cert_dir` apply to registries,
        `platform` (os/arch[/variant]) picks an index's image, `all_platforms` copies them
        all with the index."""
        from ocitool.transfer import Transfers

        tls = None
        if tls_verify is not None or cert_dir is not None:
            from ocitool.registry import Tls

            tls = Tls(verify=tls_verify is not False, cert_dir=cert_dir)
        if platform is not None and all_platforms:
            raise UsageError(
                "--platform picks one image and --all takes every one", hint="give one"
            )
        want = None
        if platform is not None:  # models (pydantic): not before a copy's stream starts
            from ocitool.manifests import wanted

            want = wanted(platform)
        return Transfers(self.engines, tls=tls, platform=want, all_platforms=all_platforms)

    def copy(
        self,
        source: str,
        destination: str,
        *,
        force: bool = False,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
        platform: str | None = None,
        all_platforms: bool = False,
    ) -> TransferResult:
        """Copy an image between any two locations (docs/distribution.md, "Locations").

        `tls_verify=False` allows an unverified or plain-HTTP registry, `cert_dir`
        adds its CA and client certificate, as `--tls-verify` and `--cert-dir` do.
        From an index, the `platform` image (default: this host's) is copied, or
        with `all_platforms` the index and all its images.
        """
        moves = self.transfers(
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            platform=platform,
            all_platforms=all_platforms,
        )
        return moves.copy(source, destination, force=force)

    def push(
        self,
        image: str,
        destination: str | None = None,
        *,
        force: bool = False,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> TransferResult:
        """Push an image to a registry, under its own name or `destination`
        (`tls_verify`, `cert_dir` as for copy)."""
        return self.transfers(tls_verify=tls_verify, cert_dir=cert_dir).push(
            image, destination, force=force
        )

    def pull(
        self,
        reference: str,
        *,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
        platform: str | None = None,
    ) -> TransferResult:
        """Pull an image from a registry into the selected backend (`tls_verify`,
        `cert_dir` as for copy; from an index, the `platform` os/arch[/variant]
        image, by default this host's)."""
        moves = self.transfers(tls_verify=tls_verify, cert_dir=cert_dir, platform=platform)
        return moves.pull(reference)

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
    ) -> list[str]:
        """Check the credentials against the registry, then keep them for every engine:
        in the credential helpers the configs name, else in both files; where they went."""
        from ocitool import logins

        return logins.login(
            registry,
            user,
            password,
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            insecure=registry in self.config.insecure_registries,
            timeout=self.runner.timeout,
            runner=self.runner,
        )

    @staticmethod
    def logout(registry: str) -> bool:
        """Forget the credentials for a registry, in its helpers and both files; False if
        there were none."""
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

    def tags(
        self, repository: str, *, tls_verify: bool | None = None, cert_dir: Path | None = None
    ) -> SearchResult:
        """A repository's tags in its registry (HOST/REPO), as `tags/list` answers."""
        from ocitool.search import repository_tags

        return repository_tags(
            repository, transfers=self.transfers(tls_verify=tls_verify, cert_dir=cert_dir)
        )

    # -- manifest lists ----------------------------------------------------------------

    def manifest_create(self, name: str, *images: str) -> LocatedImage:
        """A manifest list `name` of local images, where the backend can hold one."""
        from ocitool import manifest_lists

        return manifest_lists.create(self.transfers(), name, images)

    def manifest_add(self, name: str, *images: str) -> LocatedImage:
        """Local images added to the manifest list `name`."""
        from ocitool import manifest_lists

        return manifest_lists.add(self.transfers(), name, images)

    def manifest_inspect(self, name: str) -> LocatedImage:
        """A local manifest list: its digest, media type and platforms."""
        from ocitool import manifest_lists

        return manifest_lists.inspect(self.transfers(), name)

    def manifest_push(
        self,
        name: str,
        destination: str,
        *,
        tls_verify: bool | None = None,
        cert_dir: Path | None = None,
    ) -> TransferResult:
        """A local manifest list and every image it names, to docker://HOST/REPO:TAG."""
        from ocitool import manifest_lists

        moves = self.transfers(tls_verify=tls_verify, cert_dir=cert_dir)
        return manifest_lists.push(moves, name, destination)

    def manifest_remove(self, *names: str) -> list[str]:
        """Local manifest lists removed; the images they name stay."""
        from ocitool import manifest_lists

        return manifest_lists.remove(self.transfers(), names)

    # -- image edits (no container; docs/edits.md) ----------------------------------------

    def mutate(
        self,
        image: str,
        name: str,
        *,
        labels: Sequence[str] = (),
        env: Sequence[str] = (),
        entrypoint: str | Sequence[str] | None = None,
        cmd: str | Sequence[str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
    ) -> Image:
        """A new image `name` whose config is `image`'s with these changes, and no new
        layer. `labels` and `env` are KEY=VALUE strings; `entrypoint` and `cmd` a list,
        a JSON array or a shell-like string, and "" (or []) clears one; None leaves a
        field as it is."""
        from ocitool import edits
        from ocitool.image_edits import parse_edits

        changes = parse_edits(
            labels=_strings("labels", labels),
            env=_strings("env", env),
            entrypoint=entrypoint,
            cmd=cmd,
            workdir=workdir,
            user=user,
        )
        return edits.mutate(self.transfers(), image, name, changes)

    def append(self, image: str, tarball: str | Path, name: str) -> Image:
        """A new image `name`: the tarball (plain or gzip, checked first) as one layer on
        top of `image`'s."""
        from ocitool import edits

        return edits.append(self.transfers(), image, Path(tarball), name)

    def flatten(self, image: str, name: str) -> Image:
        """A new image `name` of one layer holding `image`'s final filesystem, its config
        kept."""
        from ocitool import edits

        return edits.flatten(self.transfers(), image, name)


def _matching(ref: str, images: Sequence[Image]) -> list[str]:
    """The IDs an `ancestor=` value names: an image name, a full ID or an ID prefix
    (docker resolves it as it resolves any image argument; no match names none)."""
    from ocitool.references import familiar

    bare = ref.removeprefix("sha256:")
    wanted = familiar(ref if ":" in ref.rpartition("/")[2] else f"{ref}:latest")
    return [
        i.id
        for i in images
        if wanted in {familiar(n) for n in i.names}
        or (len(bare) >= 3 and i.id.removeprefix("sha256:").startswith(bare))
        or ref in i.repo_digests
    ]


def _strings(name: str, value: Sequence[str]) -> Sequence[str]:
    """A list of strings as given; a lone string would be taken apart letter by letter
    (`run(img, "echo hi")` ran `e c h o ...`), so it is refused and the list shown."""
    if isinstance(value, str | bytes):
        shown = repr(value.split()) if isinstance(value, str) else "[...]"
        raise TypeError(
            f"{name} must be a list of strings, not the string {value!r}: write {shown}"
            + (" (or ['sh', '-c', ...] for a shell)" if name == "command" else "")
        )
    return value


def _ignored(event: BuildEvent) -> None:
    """A build's events, when nobody listens."""
