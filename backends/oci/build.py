"""ocitool's own builder on the oci store: a Dockerfile, step by step, no daemon.

Each step is what the chapter does by hand (docs/build-oci.md): a RUN is a
container from the step before, committed; a COPY or ADD is a layer made from
the context; every other instruction changes only the config. Each step's
image stays in the store untagged (build_steps.py), and the cache
(build_cache.py) finds it again by its parent and its history text, which
names the instruction as docker's classic builder writes it, the build args in
effect and a hash of what a COPY copies. The `-t` names go on at the very end.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.backends.oci import build_files as files
from ocitool.backends.oci import containers as records
from ocitool.backends.oci.build_cache import key
from ocitool.backends.oci.build_steps import Steps
from ocitool.backends.oci.containers import DEFAULT_PATH
from ocitool.backends.oci.parsers import StoredImage
from ocitool.building import BuildEvent, BuildRequest, OnBuildEvent
from ocitool.dockerfile import Dockerfile, Instruction, Stage, expand, pairs, words
from ocitool.dockerignore import Ignore
from ocitool.errors import BuildStepFailed, ImageNotFound, NotSupported, UsageError
from ocitool.models import BuildResult, BuildStep

if TYPE_CHECKING:
    from ocitool.backends.oci.backend import OciBackend

DEFAULT_SHELL = ("/bin/sh", "-c")
SCRATCH = "scratch"
_UNSUPPORTED = {
    "HEALTHCHECK": "the OCI image config has no health check",
    "ONBUILD": "the OCI image config has no ONBUILD triggers",
}


@dataclass
class _State:
    """A stage as far as it is built."""

    stage: Stage
    image: StoredImage | None  # None: FROM scratch, no step yet
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    args: dict[str, str | None] = field(default_factory=dict)  # ARGs declared here
    cmd_set: bool = False

    @property
    def parent_id(self) -> str:
        return self.image.id if self.image else SCRATCH

    @property
    def config(self) -> dict[str, object]:
        found = (self.image.config.get("config") or {}) if self.image else {}
        return dict(found)

    def image_env(self) -> dict[str, str]:
        """The image's ENV, with the PATH docker's builder gives an image that has none."""
        env = self.config.get("Env")
        pairs_ = [str(e).partition("=") for e in env] if isinstance(env, list) else []
        return {"PATH": DEFAULT_PATH, **{k: v for k, _, v in pairs_}}

    def env(self) -> dict[str, str]:
        """What $VAR expands to: the ARGs with a value, then ENV (which wins)."""
        return {**{k: v for k, v in self.args.items() if v is not None}, **self.image_env()}

    def build_args(self) -> list[str]:
        """The ARGs a RUN sees, sorted, as docker lists them before a RUN's command."""
        env = self.image_env()
        return [f"{k}={v}" for k, v in sorted(self.args.items()) if v is not None and k not in env]

    def nop(self, text: str) -> str:
        return f"{' '.join(self.shell)} #(nop) {text}"


class Builder:
    def __init__(self, backend: OciBackend, request: BuildRequest, on_event: OnBuildEvent):
        self.backend = backend
        self.request = request
        self.on_event = on_event
        self.parsed: Dockerfile = request.parsed
        self.given = dict(request.build_args)
        self.steps = Steps(backend)
        self.stored: list[StoredImage] = []
        self.built: dict[int, StoredImage | None] = {}  # stage index -> its image
        self.reported: list[BuildStep] = []
        self.number = 0
        self.first_step: dict[int, int] = {}  # stage index -> the number of its FROM step
        self.pulled: list[str] = []  # the bases FROM pulled into the store
        self.ignore = Ignore.of_context(request.context)
        self.work = Path(tempfile.mkdtemp(prefix="ocitool-build-"))

    # -- the build ---------------------------------------------------------------------

    def build(self) -> BuildResult:
        try:
            target = self.parsed.target(self.request.target)
            needed = self._needed(target)
            for stage in needed:
                for instruction in stage.instructions:
                    if instruction.keyword in _UNSUPPORTED:
                        raise NotSupported(
                            f"{self.parsed.name} line {instruction.line}: "
                            f"{instruction.keyword} is not supported by the oci backend "
                            f"({_UNSUPPORTED[instruction.keyword]})",
                            hint="remove it, or build on the docker or podman backend",
                        )
            self.stored = self.backend._read()
            # steps are numbered as the plan of every stage up to the target counts them
            # (ocitool.build_request), so a skipped stage leaves its numbers unused
            counted = 0
            for stage in self.parsed.stages[: target.index + 1]:
                self.first_step[stage.index] = counted + 1
                counted += 1 + len(stage.instructions)
            for stage in needed:
                self.built[stage.index] = self._stage(stage, last=stage is target)
            image = self.built[target.index]
            if image is None:
                raise UsageError(
                    f"{self.parsed.name} builds no image (FROM scratch with no step)",
                    hint="add a step such as COPY to the stage",
                )
            names = [self.backend.canonical_name(t) for t in self.request.tags]
            if names:
                self.steps.name(image, names)
            return BuildResult(
                image_id=image.id,
                names=names,
                steps=self.reported,
                layers=len(image.diff_ids),
                backend="oci",
            )
        finally:
            records.remove_tree(self.work)

    def _needed(self, target: Stage) -> list[Stage]:
        """The stages `target` is built from (FROM and COPY --from), in order."""
        wanted: set[int] = set()
        todo = [target]
        global_env = self._global_env()
        while todo:
            stage = todo.pop()
            if stage.index in wanted:
                continue
            wanted.add(stage.index)
            base = self._stage_named(expand(stage.base, global_env), before=stage.index)
            froms = [f for i in stage.instructions if (f := i.flag("from")) is not None]
            found = [self._stage_named(f, before=stage.index, by_index=True) for f in froms]
            todo += [s for s in [base, *found] if s is not None]
        return [s for s in self.parsed.stages if s.index in wanted]

    def _stage_named(self, ref: str, *, before: int, by_index: bool = False) -> Stage | None:
        for stage in self.parsed.stages[:before]:
            if stage.name == ref.lower() or (by_index and ref == str(stage.index)):
                return stage
        return None

    def _global_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for instruction in self.parsed.args:
            for name, default in pairs(instruction, env):
                value = self.given.get(name, default)
                if value is not None:
                    env[name] = value
        return env

    # -- one stage -------------------------------------------------------------------------

    def _stage(self, stage: Stage, *, last: bool) -> StoredImage | None:
        base = expand(stage.base, self._global_env())
        self.number = self.first_step[stage.index] - 1
        self._begin(stage.text)
        pulled = len(self.pulled)
        image = self._base(base, stage)
        state = _State(stage, image)
        fresh = len(self.pulled) > pulled  # pulled for this build: not from the store
        self._done(stage, stage.line, stage.text, image, cached=not fresh, layer=False)
        for instruction in stage.instructions:
            self._instruction(state, instruction)
        if last and self.request.labels:
            text = "LABEL " + " ".join(f"{k}={v}" for k, v in self.request.labels)
            line = stage.instructions[-1].line if stage.instructions else stage.line
            self._begin(text)
            options = [f"--config.label={k}={v}" for k, v in self.request.labels]
            self._metadata(state, line, text, state.nop(f" {text}"), options)
        return state.image

    def _base(self, ref: str, stage: Stage) -> StoredImage | None:
        if ref == SCRATCH:
            return None
        earlier = self._stage_named(ref, before=stage.index)
        if earlier is not None:
            return self.built[earlier.index]
        try:
            return self._local(ref)
        except ImageNotFound:
            if ref.startswith("sha256:"):
                raise
        from ocitool.backends.oci.build_pull import pull

        pull(self.backend, ref)
        self.pulled.append(ref)
        self.stored = self.backend._read()
        return self._local(ref)

    def _local(self, ref: str) -> StoredImage:
        if self.request.platform is None:  # from the store as read: no read again
            return self.backend._resolve([ref], self.stored)[0]
        image_id = self.backend.platform_images([ref], self.request.platform)[0]
        found = next((i for i in self.stored if i.id == image_id), None)
        if found is None:
            self.stored = self.backend._read()
            found = next(i for i in self.stored if i.id == image_id)
        return found

    # -- one instruction ---------------------------------------------------------------

    def _instruction(self, state: _State, ins: Instruction) -> None:
        self._begin(ins.text)
        env = state.env()
        keyword = ins.keyword
        if keyword == "RUN":
            self._run(state, ins)
            return
        if keyword in ("COPY", "ADD"):
            self._copy(state, ins)
            return
        if keyword == "ARG":
            name, default = pairs(ins, env)[0]
            value = self.given.get(name, default)
            if value is None:
                value = self._global_env().get(name)
            state.args[name] = value
            history, options = state.nop(f" ARG {ins.args[0]}"), list[str]()
        else:
            history, options = _CHANGES[keyword](state, ins, env, self.parsed.escape)
        self._metadata(state, ins.line, ins.text, history, options)

    def _metadata(
        self, state: _State, line: int, text: str, history: str, options: Sequence[str]
    ) -> None:
        step_key = key(state.parent_id, history)
        found = None if self.request.no_cache else self.steps.cached(step_key, self.stored)
        if found is None:
            found = self.steps.configure(state.image, options, history, step_key)
        state.image = found
        self._done(state.stage, line, text, found, cached=self._was_there(found))

    def _run(self, state: _State, ins: Instruction) -> None:
        argv = list(ins.args) if ins.exec_form else [*state.shell, *ins.args]
        build_args = state.build_args()
        command = " ".join(argv)
        history = f"|{len(build_args)} {' '.join(build_args)} {command}" if build_args else command
        step_key = key(state.parent_id, history)
        found = None if self.request.no_cache else self.steps.cached(step_key, self.stored)
        if found is None:
            if state.image is None:
                raise UsageError(
                    f"{self.parsed.name} line {ins.line}: RUN in a stage FROM scratch before "
                    "anything was copied in has nothing to run",
                    hint="COPY a program in first, or start FROM an image",
                )
            number = self.number

            def output(text: str) -> None:
                self.on_event(BuildEvent("output", number, text))

            code, detail, made = self.steps.run(
                state.image,
                argv,
                build_args,
                self.request.network,
                history,
                step_key,
                output,
            )
            if made is None:
                raise BuildStepFailed(number, ins.line, ins.text, code, detail)
            found = made
        state.image = found
        self._done(state.stage, ins.line, ins.text, found, cached=self._was_there(found))

    def _copy(self, state: _State, ins: Instruction) -> None:
        env = state.env()
        items = words(ins, env, escape=self.parsed.escape)
        patterns, dest = items[:-1], items[-1]
        chown = ins.flag("chown")
        chown = expand(chown, env) if chown is not None else None
        source_from = ins.flag("from")
        workdir = str(state.config.get("WorkingDir") or "/")
        target = _join(workdir, dest) + ("/" if dest.endswith("/") else "")
        scratch = Path(tempfile.mkdtemp(dir=self.work))
        try:
            source_image = keep = None
            if source_from is not None:
                source_image = self._from_image(source_from, state.stage)
                keep = files.read_tree(self.backend.store, source_image.manifest)
                kind = keep.kind_of(patterns)
                digest = key(source_image.id, "\n".join(patterns))  # an image never changes
                ignore = None
            else:
                sources = files.context_sources(self.request.context, patterns, self.ignore)
                ignore = self.ignore
                digest = files.content_hash(sources, ignore)
                several = len(sources) > 1
                kind = "multi" if several else ("dir" if sources[0].path.is_dir() else "file")
            if kind == "multi" and not dest.endswith("/"):
                raise UsageError(
                    f"{self.parsed.name} line {ins.line}: {ins.keyword} with more than one "
                    "source needs a destination directory ending in /",
                    hint=f"write {dest}/",
                )
            chown_text = f"--chown={chown}" if chown else ""
            history = state.nop(f"{ins.keyword} {chown_text}{kind}:{digest} in {dest} ")
            step_key = key(state.parent_id, history)
            found = None if self.request.no_cache else self.steps.cached(step_key, self.stored)
            if found is None:
                if source_image is not None:
                    rootfs = self.steps.unpack(source_image, scratch / "from")
                    sources = files.image_sources(rootfs, patterns, source_from or "")
                tree = (
                    files.read_tree(self.backend.store, state.image.manifest)
                    if state.image
                    else files.ImageTree()
                )
                ids = tree.user(chown) if chown else None
                owner = files.Owner(ids, keep.entries if keep else None)
                layer = scratch / "layer.tar"
                with layer.open("wb") as out:
                    writer = files.LayerWriter(out, tree, owner)
                    for source in sources:
                        self._write_source(writer, tree, source, target, ins, ignore)
                    writer.close()
                found = self.steps.add_layer(state.image, layer, history, step_key)
        finally:
            records.remove_tree(scratch)
        state.image = found
        self._done(state.stage, ins.line, ins.text, found, cached=self._was_there(found))

    def _write_source(
        self,
        writer: files.LayerWriter,
        tree: files.ImageTree,
        source: files.Source,
        target: str,
        ins: Instruction,
        ignore: Ignore | None,
    ) -> None:
        """One source into the layer by docker's rules: a directory's contents into the
        destination, a file into it when it ends in / or is a directory already, else
        at it; ADD extracts a local tar into the destination directory."""
        into_dir = target.endswith("/") or tree.is_dir(target)
        base = tree.resolve(target)
        from_image = ignore is None
        if ins.keyword == "ADD" and not from_image and files.is_archive(source.path):
            writer.archive(base, source.path)
            return
        if source.path.is_dir():
            for rel, host in files.walk(source, ignore):
                dest = base if rel == "" else f"{base}/{rel}" if base else rel
                if not dest:
                    continue
                writer.host(dest, host, files.image_path(source, host) if from_image else None)
            return
        dest = f"{base}/{source.name}" if into_dir and base else source.name if into_dir else base
        kept = files.image_path(source, source.path) if from_image else None
        writer.host(dest, source.path, kept)

    def _from_image(self, ref: str, stage: Stage) -> StoredImage:
        earlier = self._stage_named(ref, before=stage.index, by_index=True)
        if earlier is not None:
            image = self.built.get(earlier.index)
            if image is None:
                raise UsageError(f"COPY --from={ref}: that stage builds no image")
            return image
        return self._local(ref)

    # -- events ----------------------------------------------------------------------------

    def _was_there(self, image: StoredImage) -> bool:
        """In the store before this build: a step that found it was taken from the cache."""
        return image.manifest_digest not in self.steps.made

    def _begin(self, text: str) -> None:
        self.number += 1
        self.on_event(BuildEvent("step", self.number, text))

    def _done(
        self,
        stage: Stage,
        line: int,
        text: str,
        image: StoredImage | None,
        *,
        cached: bool,
        layer: bool | None = None,
    ) -> None:
        keyword = text.split(None, 1)[0].upper() if text else ""
        made_layer = keyword in ("RUN", "COPY", "ADD") if layer is None else layer
        image_id = image.id if image else None
        self.on_event(BuildEvent("done", self.number, image_id or "", cached=cached))
        self.reported.append(
            BuildStep(
                step=self.number,
                stage=stage.label,
                line=line,
                instruction=text,
                cached=cached,
                layer=made_layer,
                image_id=image_id,
            )
        )


def build(backend: OciBackend, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
    return Builder(backend, request, on_event).build()


def _join(base: str, path: str) -> str:
    """A path as the image sees it: relative ones from the working directory."""
    import posixpath

    joined = posixpath.normpath(posixpath.join(base or "/", path))
    return "/" + joined.lstrip("/")


def _port(spec: str) -> str:
    return spec if "/" in spec else f"{spec}/tcp"


# -- the config changes of the metadata instructions: (history text, umoci config options)

Change = tuple[str, list[str]]


def _env(state: _State, ins: Instruction, env: dict[str, str], _escape: str) -> Change:
    found = pairs(ins, env)
    text = " ".join(f"{k}={v}" for k, v in found)
    return state.nop(f" ENV {text}"), [f"--config.env={k}={v}" for k, v in found]


def _label(state: _State, ins: Instruction, env: dict[str, str], _escape: str) -> Change:
    found = pairs(ins, env)
    text = " ".join(f"{k}={v}" for k, v in found)
    return state.nop(f" LABEL {text}"), [f"--config.label={k}={v}" for k, v in found]


def _workdir(state: _State, ins: Instruction, env: dict[str, str], escape: str) -> Change:
    current = str(state.config.get("WorkingDir") or "/")
    workdir = _join(current, words(ins, env, escape=escape)[0])
    return state.nop(f"WORKDIR {workdir}"), [f"--config.workingdir={workdir}"]


def _user(state: _State, ins: Instruction, env: dict[str, str], escape: str) -> Change:
    user = words(ins, env, escape=escape)[0]
    return state.nop(f" USER {user}"), [f"--config.user={user}"]


def _expose(state: _State, ins: Instruction, env: dict[str, str], escape: str) -> Change:
    ports = words(ins, env, escape=escape)
    return state.nop(" EXPOSE " + " ".join(ports)), [
        f"--config.exposedports={_port(p)}" for p in ports
    ]


def _volume(state: _State, ins: Instruction, env: dict[str, str], escape: str) -> Change:
    volumes = words(ins, env, escape=escape)
    return state.nop(f" VOLUME [{' '.join(volumes)}]"), [f"--config.volume={v}" for v in volumes]


def _stopsignal(state: _State, ins: Instruction, env: dict[str, str], escape: str) -> Change:
    signal = words(ins, env, escape=escape)[0]
    return state.nop(f" STOPSIGNAL {signal}"), [f"--config.stopsignal={signal}"]


def _maintainer(state: _State, ins: Instruction, _env: dict[str, str], _escape: str) -> Change:
    author = ins.text.split(None, 1)[1]
    return state.nop(f" MAINTAINER {author}"), [f"--author={author}"]


def _shell(state: _State, ins: Instruction, _env: dict[str, str], _escape: str) -> Change:
    """Kept by the build only: the OCI config has no Shell (docs/build-oci.md)."""
    state.shell = list(ins.args)
    return state.nop(f" SHELL [{' '.join(state.shell)}]"), []


def _command(state: _State, ins: Instruction, _env: dict[str, str], _escape: str) -> Change:
    """CMD or ENTRYPOINT; as docker, a new ENTRYPOINT drops a CMD this stage did not set."""
    argv = list(ins.args) if ins.exec_form else [*state.shell, *ins.args]
    name = ins.keyword.lower()
    options = [f"--clear=config.{name}", *[f"--config.{name}={a}" for a in argv]]
    if ins.keyword == "CMD":
        state.cmd_set = True
    elif not state.cmd_set:
        options.append("--clear=config.cmd")
    return state.nop(f" {ins.keyword} [{' '.join(json.dumps(a) for a in argv)}]"), options


_CHANGES = {
    "ENV": _env,
    "LABEL": _label,
    "WORKDIR": _workdir,
    "USER": _user,
    "EXPOSE": _expose,
    "VOLUME": _volume,
    "STOPSIGNAL": _stopsignal,
    "MAINTAINER": _maintainer,
    "SHELL": _shell,
    "CMD": _command,
    "ENTRYPOINT": _command,
}
