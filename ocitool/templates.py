"""`--format '{{.ID}}'`: the part of Go's text/template that docker users type.

No kept PyPI library does this subset (the ones there wrap Go through CGo), so
this is a small one: text and `{{ }}` actions (`{{-`/`-}}` trim spaces), `.`,
`.A.B`, string, number and boolean literals, `(...)`, pipes, the functions
`json join lower upper title split len index truncate`, and `range`, `if` and
`with`, each with `else`. A template is parsed before any engine is asked, so a
bad one is a usage error that costs nothing; an unknown field is one too.
Values print as Go prints them (lists `[a b]`, maps `map[k:v]`), null as "".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocitool.errors import UsageError


class TemplateError(UsageError):
    """A template that cannot be parsed or run: exit 2, one line."""

    def __init__(self, message: str) -> None:
        super().__init__(
            f"--format: {message}",
            hint="e.g. --format '{{.ID}} {{.Repository}}:{{.Tag}}', or 'table {{.ID}}\\t{{.Size}}'",
        )


class Row(Mapping[str, Any]):
    """One item as a template sees it: the model ocitool prints for it (its JSON
    names), and docker's names for the same values (`.ID`, `.Repository` ...),
    looked up first. `{{json .}}` prints the model's JSON document."""

    def __init__(self, item: Any, aliases: Mapping[str, Any] | None = None) -> None:
        self.item = item
        self.aliases = aliases or {}

    def _keys(self) -> list[str]:
        return [*self.aliases, *(k for k in _fields(self.item) if k not in self.aliases)]

    def __getitem__(self, key: str) -> Any:
        if key in self.aliases:
            return self.aliases[key]
        if key in _fields(self.item):
            return _get(self.item, key)
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


def _fields(item: Any) -> Sequence[str]:
    """A model's fields (a struct's, in Go's terms: asking for another is an error)."""
    fields = getattr(type(item), "model_fields", None)
    if fields is not None:
        return list(fields)
    return list(item) if isinstance(item, Mapping) else []


def _get(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, Mapping) else getattr(item, key)


def _plain(value: Any) -> Any:
    """A value as ocitool's JSON spells it: models dumped, times in RFC 3339."""
    if isinstance(value, Row):
        value = value.item
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- parsing --------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[|()])
    )""",
    re.X,
)


@dataclass
class Node:
    kind: str  # text, action, range, if, with
    text: str = ""
    pipe: list[list[tuple[str, Any]]] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    other: list[Node] = field(default_factory=list)  # the {{else}} part
    in_else: bool = False  # while parsing: past its {{else}}


class Template:
    """A parsed template; `render(value)` runs it on one item."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes = _parse(source)

    def render(self, value: Any, *, header: Callable[[str], str] | None = None) -> str:
        out: list[str] = []
        _run(self.nodes, value, out, header)
        return "".join(out)

    def top_fields(self) -> set[str]:
        """The fields asked of the item itself (outside range and with): checked before
        any engine is asked, where the command knows its fields."""
        found: set[str] = set()

        def walk(nodes: Sequence[Node]) -> None:
            for node in nodes:
                for command in node.pipe:
                    for kind, value in command:
                        if kind == "field" and value:
                            found.add(value[0])
                        elif kind == "pipe":
                            walk([Node("action", pipe=value)])
                if node.kind in ("if",):
                    walk(node.body)
                if node.kind in ("if", "range", "with"):
                    walk(node.other)

        walk(self.nodes)
        return found


def _pieces(source: str) -> list[tuple[str, str]]:
    """The template as text and action pieces, `{{-` and `-}}` applied."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _ACTION.finditer(source):
        text = source[position : match.start()]
        pieces.append(("text", text.rstrip() if match.group(1) else text))
        pieces.append(("action", match.group(2).strip()))
        position = match.end()
        if match.group(3):
            rest = source[position:]
            position += len(rest) - len(rest.lstrip())
    tail = source[position:]
    if "{{" in tail or "}}" in tail:
        raise TemplateError(f"unclosed action in {source!r}")
    pieces.append(("text", tail))
    return pieces


def _parse(source: str) -> list[Node]:
    stack: list[Node] = [Node("root")]
    for kind, text in _pieces(source):
        top = stack[-1]
        target = top.other if top.in_else else top.body
        if kind == "text":
            if text:
                target.append(Node("text", text=text))
            continue
        if text.startswith("/*") and text.endswith("*/"):
            continue
        word, _, rest = text.partition(" ")
        if word in ("range", "if", "with"):
            node = Node(word, pipe=_pipeline(rest, text))
            target.append(node)
            stack.append(node)
        elif word == "else":
            if top.kind not in ("range", "if", "with") or top.in_else:
                raise TemplateError("{{else}} outside range, if or with")
            top.in_else = True
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("{{end}} with nothing to end")
            stack.pop()
        else:
            target.append(Node("action", pipe=_pipeline(text, text)))
    if len(stack) > 1:
        raise TemplateError(f"{{{{{stack[-1].kind}}}}} has no {{{{end}}}}")
    return stack[0].body


def _pipeline(text: str, whole: str) -> list[list[tuple[str, Any]]]:
    tokens = _tokens(text, whole)
    pipe, position = _pipe(tokens, 0, whole)
    if position != len(tokens):
        raise TemplateError(f"unexpected {tokens[position][1]!r} in {{{{{whole}}}}}")
    return pipe


def _tokens(text: str, whole: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(f"cannot read {text[position:].strip()!r} in {{{{{whole}}}}}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise TemplateError(f"empty action {{{{{whole}}}}}")
    return tokens


def _pipe(
    tokens: list[tuple[str, str]], position: int, whole: str
) -> tuple[list[list[tuple[str, Any]]], int]:
    commands: list[list[tuple[str, Any]]] = [[]]
    while position < len(tokens):
        kind, text = tokens[position]
        if kind == "punct" and text == ")":
            break
        position += 1
        if kind == "punct" and text == "|":
            if not commands[-1]:
                raise TemplateError(f"empty command before | in {{{{{whole}}}}}")
            commands.append([])
        elif kind == "punct" and text == "(":
            inner, position = _pipe(tokens, position, whole)
            if position >= len(tokens) or tokens[position][1] != ")":
                raise TemplateError(f"unclosed ( in {{{{{whole}}}}}")
            position += 1
            commands[-1].append(("pipe", inner))
        else:
            operand = _operand_of(kind, text, whole)
            if operand[0] == "function" and commands[-1]:
                raise TemplateError(f"{text} must come first in its command in {{{{{whole}}}}}")
            commands[-1].append(operand)
    if not commands[-1]:
        raise TemplateError(f"missing value in {{{{{whole}}}}}")
    for index, command in enumerate(commands):
        if command[0][0] != "function" and (len(command) > 1 or index > 0):
            raise TemplateError(
                f"only a function can take arguments or follow | in {{{{{whole}}}}}"
            )
    return commands, position


def _operand_of(kind: str, text: str, whole: str) -> tuple[str, Any]:
    if kind == "field":
        return ("field", [p for p in text.split(".") if p])
    if kind == "string":
        return ("literal", _unquote(text))
    if kind == "number":
        return ("literal", float(text) if "." in text else int(text))
    if text in ("true", "false", "nil"):
        return ("literal", {"true": True, "false": False, "nil": None}[text])
    if text in FUNCTIONS:
        return ("function", text)
    raise TemplateError(
        f"function {text!r} not defined in {{{{{whole}}}}} (known: {', '.join(FUNCTIONS)})"
    )


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return str(json.loads(text))


# -- running --------------------------------------------------------------------------


def _run(
    nodes: Sequence[Node], dot: Any, out: list[str], header: Callable[[str], str] | None
) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            out.append(show(_pipe_value(node.pipe, dot, header)))
        elif header is not None:
            continue  # a header row has no items to range over or test
        else:
            value = _pipe_value(node.pipe, dot, header)
            if node.kind == "range":
                items = list(value.values()) if isinstance(value, Mapping) else value
                if items and not isinstance(items, (list, tuple)):
                    raise TemplateError(f"range can't iterate over {show(value)}")
                for item in items or ():
                    _run(node.body, item, out, header)
                if not items:
                    _run(node.other, dot, out, header)
            elif _truth(value):
                _run(node.body, value if node.kind == "with" else dot, out, header)
            else:
                _run(node.other, dot, out, header)


def _pipe_value(
    pipe: list[list[tuple[str, Any]]], dot: Any, header: Callable[[str], str] | None
) -> Any:
    value: Any = _NOTHING
    for command in pipe:
        args = [_operand(op, dot, header) for op in command[1:]]
        if command[0][0] == "function":
            if value is not _NOTHING:
                args.append(value)
            value = _call(command[0][1], args)
        else:
            value = _operand(command[0], dot, header)
    return value


_NOTHING = object()


def _operand(op: tuple[str, Any], dot: Any, header: Callable[[str], str] | None) -> Any:
    kind, value = op
    if kind == "literal":
        return value
    if kind == "pipe":
        return _pipe_value(value, dot, header)
    if header is not None and value:
        return header(value[-1])
    current = dot
    for depth, name in enumerate(value):
        if isinstance(current, Row) or hasattr(type(current), "model_fields"):
            fields = current if isinstance(current, Row) else _fields(current)
            if name not in fields:
                shown = ", ".join(sorted(fields))
                raise TemplateError(f"unknown field .{name} (fields: {shown})")
            current = current[name] if isinstance(current, Row) else getattr(current, name)
        elif isinstance(current, Mapping):
            current = current.get(name, "<no value>")  # a map: Go's missing key
        else:
            shown = "." + ".".join(value[:depth]) if depth else "."
            raise TemplateError(
                f"can't evaluate field {name} of {shown}, which is {show(current)!r}"
            )
    return current


def _call(name: str, args: list[Any]) -> Any:
    function, arity = FUNCTIONS[name]
    if len(args) != arity:
        raise TemplateError(f"{name} takes {arity} argument(s), got {len(args)}")
    try:
        return function(*args)
    except TemplateError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise TemplateError(f"{name}: {exc}") from None


def _truth(value: Any) -> bool:
    return bool(value) and value != "<no value>"


def go_json(value: Any) -> str:
    """docker's `json` template function: compact, and no HTML escaping (its encoder
    turns that off, so `<none>` stays `<none>`)."""
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"), default=str)


def show(value: Any) -> str:
    """A value as Go's text/template prints it."""
    value = _plain(value)
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = "map[" + " ".join(f"{k}:{show(value[k])}" for k in sorted(value)) + "]"
    elif isinstance(value, (list, tuple)):
        text = "[" + " ".join(show(v) for v in value) + "]"
    else:
        text = str(value)
    return text


def _join(items: Iterable[Any], sep: str) -> str:
    if isinstance(items, str):
        return items
    return str(sep).join(show(i) for i in items)


def _truncate(value: Any, length: int) -> str:
    return show(value)[: int(length)]


FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "json": (go_json, 1),
    "join": (_join, 2),
    "lower": (lambda s: show(s).lower(), 1),
    "upper": (lambda s: show(s).upper(), 1),
    "title": (lambda s: show(s).title(), 1),
    "split": (lambda s, sep: show(s).split(sep), 2),
    "len": (len, 1),
    "index": (lambda v, key: v[key], 2),
    "truncate": (_truncate, 2),
}


# -- the --format option ------------------------------------------------------------


@dataclass
class Output:
    """What a --format value asks for: a table, JSON, or a template (maybe a table)."""

    kind: str  # table, json, template
    template: Template | None = None
    table: bool = False


def output(format: str, fields: Iterable[str] | None = None) -> Output:
    """`table`, `json`, `TEMPLATE` or `table TEMPLATE`; the template checked against
    the command's `fields` (docker's names and ocitool's) where they are known."""
    text = format.strip()
    if text in ("table", "json", ""):
        return Output(text or "table")
    table = False
    if text.startswith("table ") or text.startswith("table\t"):
        table, format = True, format.lstrip()[6:]
    if "{{" not in format:
        raise TemplateError(f"unknown format {format.strip()!r}: use table, json or a Go template")
    template = Template(format.replace("\\t", "\t").replace("\\n", "\n"))
    if fields is not None:
        known = set(fields)
        unknown = sorted(template.top_fields() - known)
        if unknown:
            raise TemplateError(f"unknown field .{unknown[0]} (fields: {', '.join(sorted(known))})")
    return Output("template", template, table)


def render_rows(out: Output, rows: Sequence[Row], headers: Mapping[str, str]) -> str:
    """Each row through the template, one a line; with `table`, a header first and the
    tab-separated cells aligned as docker's tabwriter aligns them."""
    template = out.template or Template("")
    lines = [template.render(row) for row in rows]
    if not out.table:
        return "".join(f"{line}\n" for line in lines)
    head = template.render(None, header=lambda name: headers.get(name) or _header(name))
    return aligned([head, *lines])


def _header(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return spaced.upper()


def aligned(lines: Sequence[str], *, minwidth: int = 10, padding: int = 3) -> str:
    """Go's tabwriter as docker sets it up: every tab-terminated cell padded to its
    column's widest cell plus 3, at least 10; the last cell of a line as it is."""
    split = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for cells in split:
        for i, cell in enumerate(cells[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + padding, minwidth)
    out = []
    for cells in split:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(cells[:-1])]
        out.append("".join(padded) + cells[-1])
    return "".join(f"{line}\n" for line in out)
