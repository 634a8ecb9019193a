"""Turning models into what the user sees: tables, JSON documents, or IDs.

JSON is always built from the models, so it is the same on every backend.
rich is imported only when a table is drawn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ocitool.listing import ImageSummary
    from ocitool.models import (
        BuildResult,
        Container,
        EngineInfo,
        FileAnalysis,
        FileChange,
        Image,
        ImageDiff,
        Layer,
        LayerUsage,
        LocatedImage,
        Platform,
        PruneResult,
        RemoveResult,
        SearchResult,
        TransferResult,
        TreeNode,
        UsageReport,
    )

NONE = "<none>"


def print_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    """One JSON document on stdout."""
    from pydantic import BaseModel  # here, so a table never loads it

    if isinstance(data, BaseModel):
        doc: Any = data.model_dump(mode="json")
    elif isinstance(data, dict):
        doc = data
    else:
        doc = [item.model_dump(mode="json") for item in data]
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def print_lines(lines: Iterable[str]) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def human_size(size: int | None) -> str:
    """Decimal units with three significant digits, as docker prints them."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if float(f"{value:.3g}") < 1000:
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}TB"


def since(moment: datetime | None, now: datetime | None = None, *, unknown: str = "-") -> str:
    """docker's HumanDuration, then ` ago` (`5 minutes ago`, `About an hour ago`): the
    CREATED and STATUS columns, and the templates' `.CreatedSince` (ocitool.fields)."""
    if moment is None:
        return unknown
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    minutes, hours = seconds // 60, int(seconds / 3600 + 0.5)
    if seconds < 1:
        words = "Less than a second"
    elif seconds == 1:
        words = "1 second"
    elif seconds < 60:
        words = f"{seconds} seconds"
    elif minutes == 1:
        words = "About a minute"
    elif minutes < 60:
        words = f"{minutes} minutes"
    elif hours == 1:
        words = "About an hour"
    elif hours < 48:
        words = f"{hours} hours"
    elif hours < 24 * 7 * 2:
        words = f"{hours // 24} days"
    elif hours < 24 * 30 * 2:
        words = f"{hours // 24 // 7} weeks"
    elif hours < 24 * 365 * 2:
        words = f"{hours // 24 // 30} months"
    else:
        words = f"{seconds // 3600 // 24 // 365} years"
    return f"{words} ago"


def split_name(name: str) -> tuple[str, str]:
    """`repo/name:tag` -> (`repo/name`, `tag`); a registry port is not a tag."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, NONE
    return repo, tag


def short(digest: str | None, no_trunc: bool = False) -> str:
    if not digest:
        return NONE
    return digest if no_trunc else digest.removeprefix("sha256:")[:12]


def images_table(images: Sequence[ImageSummary], *, no_trunc: bool = False) -> None:
    rows = []
    for image in images:
        # An image pulled by digest only still has a repository.
        fallback = [f"{d.split('@')[0]}:{NONE}" for d in image.repo_digests[:1]]
        for name in image.names or fallback or [f"{NONE}:{NONE}"]:
            repo, tag = split_name(name)
            rows.append(
                (repo, tag, short(image.id, no_trunc), since(image.created), human_size(image.size))
            )
    table(("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"), rows)


def history_table(layers: Sequence[Layer], *, no_trunc: bool = False) -> None:
    rows = []
    for layer in layers:
        created_by = layer.created_by or ""
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:42] + "..."
        rows.append(
            (
                short(layer.image_id, no_trunc) if layer.image_id else "<missing>",
                since(layer.created),
                created_by,
                human_size(layer.size),
                {True: "yes", False: "", None: "?"}[layer.empty],
                layer.comment or "",
            )
        )
    table(("IMAGE", "CREATED", "CREATED BY", "SIZE", "EMPTY", "COMMENT"), rows)
    _accounting(layers[0].accounting if layers else None)


def containers_table(containers: Sequence[Container], *, no_trunc: bool = False) -> None:
    rows = [
        (
            c.id if no_trunc else c.short_id,
            c.image,
            command_line(c.command, no_trunc),
            since(c.created),
            status(c),
            c.name,
        )
        for c in containers
    ]
    table(("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"), rows)


def command_line(command: Sequence[str], no_trunc: bool = False) -> str:
    """`"sh -c 'exit 3'"`, as docker's COMMAND column quotes it; cut at 20 characters."""
    import shlex

    text = shlex.join(command)
    if not no_trunc and len(text) > 20:
        text = text[:19] + "…"
    return f'"{text}"'


def status(container: Container, now: datetime | None = None) -> str:
    """docker's STATUS words: `Up 5 minutes`, `Exited (3) 2 minutes ago`, `Created`."""
    state = container.state
    if state == "running":
        return f"Up {since(container.started, now).removesuffix(' ago')}"
    if state in ("exited", "dead"):
        when = since(container.finished, now) if container.finished else ""
        return f"{state.capitalize()} ({container.exit_code}) {when}".rstrip()
    return state.capitalize()


def container_details(containers: Sequence[Container]) -> None:
    """`container inspect` for people: one block per container."""
    blocks = []
    for c in containers:
        lines = [
            f"Container: {c.name} ({c.id})",
            f"  Image:     {c.image} ({short(c.image_id, True)})",
            f"  Command:   {command_line(c.command, True)}",
            f"  Status:    {status(c)}",
            f"  Exit code: {'-' if c.exit_code is None else c.exit_code}",
            f"  Created:   {_moment(c.created)}",
            f"  Started:   {_moment(c.started)}",
            f"  Finished:  {_moment(c.finished)}",
            f"  User:      {c.user or '(the image default)'}",
            f"  Workdir:   {c.workdir or '/'}",
            f"  Hostname:  {c.hostname or '-'}",
            "  Env:",
            *[f"    {e}" for e in c.env],
            "  Mounts:",
            *[
                f"    {m.source} -> {m.destination}{' (read-only)' if m.read_only else ''}"
                for m in c.mounts
            ],
        ]
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks))


def _moment(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "-"


def image_details(images: Sequence[Image]) -> None:
    """`inspect` for people: the fields that matter, one block per image."""
    for index, image in enumerate(images):
        if index:
            sys.stdout.write("\n")
        if image.platforms is not None:
            _index_details(image)
            continue
        cfg = image.config
        fields = [
            ("ID", image.id),
            ("Names", ", ".join(image.names) or NONE),
            ("Created", image.created.isoformat().replace("+00:00", "Z") if image.created else "-"),
            ("Author", image.author or ""),
            ("Comment", image.comment or ""),
            ("Size", f"{human_size(image.size)} ({image.size} bytes)"),
            ("Sizes count", image.accounting or "-"),
            ("Platform", f"{image.os or '?'}/{image.architecture or '?'}"),
            ("Parent", image.parent or ""),
            ("Cmd", json.dumps(cfg.cmd) if cfg.cmd is not None else ""),
            ("Entrypoint", json.dumps(cfg.entrypoint) if cfg.entrypoint is not None else ""),
            ("Env", ", ".join(cfg.env)),
            ("Labels", ", ".join(f"{k}={v}" for k, v in cfg.labels.items())),
            ("WorkingDir", cfg.working_dir),
            ("User", cfg.user),
            (
                "Layers",
                "\n".join(
                    f"{layer.diff_id or '?'}  {human_size(layer.size)}" for layer in image.layers
                ),
            ),
            ("Backend", image.backend),
        ]
        table(("FIELD", "VALUE"), fields, header=False)


def _index_details(image: Image) -> None:
    """An index a store holds (an oci index, a podman manifest list): what names it,
    then its platforms, as `inspect LOCATION` lists them."""
    fields = [
        ("ID", image.id),
        ("Names", ", ".join(image.names) or NONE),
        ("Digests", ", ".join(image.repo_digests) or NONE),
        ("MediaType", image.media_type or "-"),
        ("Created", _moment(image.created)),
        ("Size", f"{human_size(image.size)} ({image.size} bytes)"),
        ("Sizes count", image.accounting or "-"),
        ("Backend", image.backend),
    ]
    table(("FIELD", "VALUE"), fields, header=False)
    if image.platforms:
        sys.stdout.write("\n")
        _platforms(image.platforms)


def _platforms(platforms: Sequence[Platform]) -> None:
    table(
        ("PLATFORM", "DIGEST", "SIZE"),
        (
            ("/".join(p for p in (e.os, e.architecture, e.variant) if p), e.digest, str(e.size))
            for e in platforms
        ),
    )


def removal(result: RemoveResult) -> None:
    """docker's `rmi` lines, but true on every engine; `Would ...` for a dry run."""
    verbs = (
        ("Would untag", "Would delete", "Would free layer", "Would remove container")
        if result.dry_run
        else ("Untagged", "Deleted", "Freed layer", "Removed container")
    )
    lines = [f"{verbs[3]}: {name}" for name in result.removed_containers]
    lines += [f"{verbs[0]}: {name}" for name in result.untagged]
    lines += [f"{verbs[1]}: {image_id}" for image_id in result.deleted]
    lines += [f"{verbs[2]}: {diff_id}" for diff_id in result.deleted_layers]
    lines += [f"Blocked: {blocker.message}" for blocker in result.blocked]
    print_lines(lines)


def pruned(result: PruneResult) -> None:
    """rmi's lines, then what stays and why, then the bytes: predicted and, after a
    real run, observed (du's total before minus after)."""
    verbs = (
        ("Would untag", "Would delete", "Would remove container")
        if result.dry_run
        else ("Untagged", "Deleted", "Removed container")
    )
    lines = [f"{verbs[2]}: {name}" for name in result.removed_containers]
    lines += [f"{verbs[0]}: {name}" for name in result.untagged]
    lines += [f"{verbs[1]}: {image_id}" for image_id in result.deleted]
    lines += [f"Kept: {kept.message}" for kept in result.kept]
    store = result.store
    if store is not None and (store.blobs or store.bundles):
        verb = "Would collect" if result.dry_run else "Collected"
        lines.append(
            f"{verb}: {store.blobs} unreferenced blob(s) ({human_size(store.blob_bytes)}),"
            f" {len(store.bundles)} leftover container bundle(s)"
            f" ({human_size(store.bundle_bytes)})"
        )
    size = f"{human_size(result.reclaimed)} ({result.reclaimed} bytes)"
    if result.dry_run:
        lines.append(f"Would reclaim: {size}")
    else:
        lines.append(f"Reclaimed: {size} predicted, {result.observed} bytes observed by du")
    print_lines(lines)
    _accounting(result.accounting)


def built(result: BuildResult) -> None:
    """docker's last lines of a build: the ID, then each name it got."""
    cached = sum(step.cached for step in result.steps)
    lines = [f"Successfully built {short(result.image_id)}"]
    lines += [f"Successfully tagged {name}" for name in result.names]
    lines.append(
        f"{result.image_id}: {len(result.steps)} steps ({cached} cached), {result.layers} layers"
    )
    print_lines(lines)


def transfers(results: Sequence[TransferResult]) -> None:
    lines = []
    for r in results:
        line = f"{r.source} -> {r.destination} ({r.path})"
        if r.image_id:
            line += f"\n  image ID {r.image_id}"
            if r.id_changed:
                line += f" (was {r.source_id}: the format was converted, so the ID changed)"
        if r.digest:
            line += f"\n  manifest digest {r.digest}"
        lines.append(line)
    print_lines(lines)


def search_table(results: Sequence[SearchResult], *, tags: bool) -> None:
    rows = [
        (
            r.name,
            r.description,
            "-" if r.stars is None else str(r.stars),
            "-" if r.official is None else ("yes" if r.official else ""),
            *([", ".join(r.tags or [])] if tags else []),
        )
        for r in results
    ]
    table(("NAME", "DESCRIPTION", "STARS", "OFFICIAL", *(["TAGS"] if tags else [])), rows)


def parse_size(text: str) -> int:
    """`10MB`, `500kB`, `1GiB` or plain bytes, as people write sizes."""
    import re

    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", text)
    if not match:
        from ocitool.errors import UsageError

        raise UsageError(f"{text!r} is not a size", hint="e.g. 10MB, 512kB or 1048576")
    value, unit, binary = match.groups()
    base = 1024 if binary else 1000
    return int(float(value) * base ** "_KMGT".index(unit.upper() or "_"))


def layers_table(rows: Sequence[LayerUsage]) -> None:
    table(
        (
            "IMAGE",
            "CREATED",
            "CREATED BY",
            "SIZE",
            "EMPTY",
            "DIFF ID",
            "BLOB",
            "COMMENT",
            "SHARED WITH",
        ),
        [
            (
                short(r.step.image_id) if r.step.image_id else "<missing>",
                since(r.step.created),
                _cut(r.step.created_by or "", 40),
                human_size(r.step.size),
                {True: "yes", False: "", None: "?"}[r.step.empty],
                short(r.step.diff_id) if r.step.diff_id else "",
                short(r.step.digest) if r.step.digest else "",
                _cut(r.step.comment or r.step.author or "", 30),
                ", ".join(r.shared_with),
            )
            for r in rows
        ],
    )
    _accounting(rows[0].step.accounting if rows else None)


def usage_table(report: UsageReport) -> None:
    rows = [
        (
            ", ".join(u.names) or NONE,
            short(u.id),
            human_size(u.size),
            human_size(u.shared),
            human_size(u.unique),
            human_size(u.added),
            str(u.containers),
        )
        for u in report.images
    ]
    rows.append(
        (
            "TOTAL (each layer once)",
            "",
            human_size(report.total),
            human_size(report.shared),
            human_size(report.unique),
            "",
            "",
        )
    )
    table(("IMAGE", "IMAGE ID", "SIZE", "SHARED", "UNIQUE", "ADDED", "CONTAINERS"), rows)
    _accounting(report.accounting)


def _accounting(accounting: str | None) -> None:
    """The line under a table of sizes that says what they count (each engine differs)."""
    if accounting:
        print_lines([f"sizes: {accounting}"])


def tree(nodes: Sequence[TreeNode]) -> None:
    lines: list[str] = []

    def walk(node: TreeNode, lead: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        names = ", ".join(node.names) or NONE
        lines.append(
            f"{lead}{branch}{short(node.id)}  {names}  "
            f"(+{node.added_layers} layer{'s' if node.added_layers != 1 else ''})"
        )
        below = lead + ("" if root else ("    " if last else "│   "))
        for index, child in enumerate(node.children):
            walk(child, below, index == len(node.children) - 1, False)

    for node in nodes:
        walk(node, "", True, True)
    print_lines(lines)


def image_diff(result: ImageDiff) -> None:
    lines = [f"{result.a} -> {result.b}", f"layers in common: {len(result.common_layers)}"]
    lines += [f"  only in {result.a}: {d}" for d in result.only_a]
    lines += [f"  only in {result.b}: {d}" for d in result.only_b]
    for change in result.config:
        lines.append(f"{change.field}: {change.a!r} -> {change.b!r}")
    if result.files is not None:
        symbol = {"added": "+", "removed": "-", "changed": "~"}
        lines += [f"{symbol[f.change]} {_change(f)}" for f in result.files]
        if result.files_truncated:
            lines.append(TRUNCATED)
    print_lines(lines)


def file_analysis(result: FileAnalysis) -> None:
    lines = []
    for layer in result.layers:
        lines.append(
            f"layer {layer.index}  {short(layer.diff_id) if layer.diff_id else '?'}  "
            f"{human_size(layer.size)}  +{layer.added} ~{layer.changed} -{layer.removed}  "
            f"{_cut(layer.created_by or '', 50)}"
        )
        symbol = {"added": "+", "removed": "-", "changed": "~"}
        lines += [f"    {symbol[f.change]} {_change(f)}" for f in layer.files]
        if layer.files_truncated:
            lines.append("    ... (more; --format json lists the first 1000)")
        if layer.entries_truncated:
            lines.append(f"    {TRUNCATED}")
    lines.append(
        f"total bytes: {result.total_bytes}  wasted bytes: {result.wasted_bytes}  "
        f"efficiency: {result.efficiency:.4f}"
    )
    if result.unsafe_paths:
        lines.append(
            f"skipped {len(result.unsafe_paths)} entries that tried to leave the root:"
            f" {', '.join(escaped(p) for p in result.unsafe_paths[:5])}"
        )
    if result.truncated:
        lines.append(TRUNCATED)
    print_lines(lines)


def _change(change: FileChange) -> str:
    """`/etc/hosts (174B)`, or `/etc/` for a directory, whose size says nothing."""
    if change.kind == "dir":
        return escaped(change.path.rstrip("/")) + "/"
    return f"{escaped(change.path)} ({human_size(change.size)})"


TRUNCATED = (
    "truncated: a layer has more entries than ocitool keeps, so these figures are partial"
    " (raise OCITOOL_LAYER_ENTRIES)"
)

# `ls -b`'s escapes: C's named ones, a backslash and a space; other unprintables in octal.
_ESCAPES = {
    "\\": "\\\\",
    " ": "\\ ",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def escaped(name: str) -> str:
    """A file name from an image, safe to print as `ls -b` prints it: no control
    character (ESC, a newline) from a crafted layer reaches the terminal raw."""
    if name.isprintable() and "\\" not in name and " " not in name:
        return name
    out = []
    for char in name:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            out.append("".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape")))
    return "".join(out)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def backends_table(infos: Sequence[EngineInfo]) -> None:
    def yes_no(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "no")

    rows = [
        (
            ("* " if i.selected else "  ")
            + i.backend
            + (f"@{i.connection}" if i.connection else ""),
            yes_no(i.found),
            i.version or (f"client {i.client_version}" if i.client_version else "-"),
            yes_no(i.rootless),
            yes_no(i.reachable),
            "-" if i.remote is None else ("remote" if i.remote else "local"),
            i.reason or i.endpoint or i.storage_root or "",
        )
        for i in infos
    ]
    table(("  BACKEND", "FOUND", "VERSION", "ROOTLESS", "REACHABLE", "WHERE", "NOTE"), rows)
    from ocitool.capabilities import ALL

    firsts: dict[str, EngineInfo] = {}
    for info in infos:  # one column per backend: its capabilities are the same at every endpoint
        firsts.setdefault(info.backend, info)
    infos = list(firsts.values())

    # What each can do beyond the core, so a missing one is seen before it is tried.
    sys.stdout.write("\n")
    matrix = [
        (c.name, *("yes" if c.name in i.capabilities else "no" for i in infos), c.does) for c in ALL
    ]
    table(("CAPABILITY", *(i.backend.upper() for i in infos), "LETS YOU"), matrix)


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, header: bool = True) -> None:
    """Aligned columns, three spaces apart, as the engines print them; a cell may hold
    several lines. Plain text on purpose: it is what scripts read, and it starts fast."""
    grid = [list(columns)] if header else []
    grid += [[str(cell) for cell in row] for row in rows]
    widths = [0] * len(columns)
    for row in grid:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], *(len(line) for line in cell.split("\n")))
    out = []
    for row in grid:
        cells = [cell.split("\n") for cell in row]
        for depth in range(max(len(c) for c in cells)):
            parts = [
                (c[depth] if depth < len(c) else "").ljust(widths[i]) for i, c in enumerate(cells)
            ]
            out.append("   ".join(parts).rstrip())
    print_lines(out)


def located_details(found: Sequence[LocatedImage]) -> None:
    """`inspect LOCATION` for people: what the location names, its platforms, its image."""
    for index, item in enumerate(found):
        if index:
            sys.stdout.write("\n")
        rows = [
            ("Location", item.location),
            ("Digest", item.digest),
            ("MediaType", item.media_type),
        ]
        if item.platform_digest:
            rows.append(("Platform digest", item.platform_digest))
        table(("FIELD", "VALUE"), rows, header=False)
        if item.platforms:
            sys.stdout.write("\n")
            _platforms(item.platforms)
        if item.image is not None:
            sys.stdout.write("\n")
            image_details([item.image])
