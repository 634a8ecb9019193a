"""Dockerfiles, parsed once by the client on every backend.

The grammar is the classic builder's (docker 20.10's and buildah's): parser
directives (`# escape=`), backslash continuations, comments, the exec (JSON)
and shell forms, `--flag=value` options, and the word rules with which the
builder expands `$VAR`, `${VAR:-word}` and `${VAR:+word}` and removes quotes.
A syntax error is one line naming the Dockerfile line, so it reads the same on
every backend before any engine is asked. BuildKit-only syntax (heredocs,
`RUN --mount`) is refused here, as docker 20.10's builder refuses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ocitool.errors import UsageError

KEYWORDS = frozenset(
    {
        "FROM", "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "ENV", "ARG", "LABEL",
        "WORKDIR", "USER", "EXPOSE", "VOLUME", "STOPSIGNAL", "MAINTAINER", "HEALTHCHECK",
        "ONBUILD",
    }
)  # fmt: skip
LAYER_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
"""The instructions that add a filesystem layer; the others change only the config."""

_FLAGS: Mapping[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "COPY": frozenset({"from", "chown"}),
    "ADD": frozenset({"chown"}),
}
_EXEC_FORM = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STAGE_NAME = re.compile(r"[a-z][a-z0-9._-]*")


class DockerfileError(UsageError):
    """The Dockerfile cannot be read as one: the line, and what is wrong there."""

    def __init__(self, line: int, problem: str, *, name: str = "Dockerfile") -> None:
        super().__init__(
            f"{name} line {line}: {problem}",
            hint="see docs/build.md for the instructions ocitool build reads",
        )
        self.line = line


@dataclass(frozen=True)
class Instruction:
    """One instruction: where it starts, its flags, and its arguments unexpanded.

    `args` holds the JSON items in exec form; in shell form, the words (quotes
    kept, for `expand`) for every instruction except RUN, CMD, ENTRYPOINT and
    HEALTHCHECK/ONBUILD, whose whole text is the one item the shell receives.
    """

    line: int
    keyword: str
    flags: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    exec_form: bool
    text: str  # as written, continuations joined: for messages and history

    def flag(self, name: str) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Stage:
    """`FROM base [AS name]` and the instructions up to the next FROM."""

    index: int
    name: str | None  # lower case, as docker keeps stage names
    base: str  # unexpanded: it may name global ARGs, an earlier stage, or `scratch`
    platform: str | None
    line: int
    instructions: tuple[Instruction, ...]
    text: str

    @property
    def label(self) -> str:
        """How BuildStep.stage names it: its name, else its index."""
        return self.name if self.name is not None else str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    """The stages in order, with the ARGs declared before the first FROM."""

    args: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str = "\\"
    name: str = "Dockerfile"

    def stage(self, ref: str) -> Stage | None:
        """The stage a `--target`, `FROM` or `COPY --from` names: a name or an index."""
        wanted = ref.lower()
        for stage in self.stages:
            if stage.name == wanted:
                return stage
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def target(self, ref: str | None) -> Stage:
        """The stage a build stops at: `--target`, else the last; UsageError if unknown."""
        if ref is None:
            return self.stages[-1]
        found = self.stage(ref) if not ref.isdigit() else None
        if found is None:
            names = ", ".join(s.name for s in self.stages if s.name) or "none is named"
            raise UsageError(
                f"{self.name} has no stage named {ref!r}", hint=f"--target takes one of: {names}"
            )
        return found


def parse(text: str, *, name: str = "Dockerfile") -> Dockerfile:
    """Read a Dockerfile; DockerfileError (exit 2) on the first line that is wrong."""
    escape, lines = _directives(text.splitlines(), name)
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] = []
    head: Instruction | None = None

    def close() -> None:
        if head is not None:
            stages.append(_stage(len(stages), head, current, stages, name))

    for number, joined in _logical_lines(lines, escape, name):
        instruction = _instruction(number, joined, escape, name)
        if instruction.keyword == "FROM":
            close()
            head, current = instruction, []
        elif head is None:
            if instruction.keyword != "ARG":
                raise DockerfileError(number, f"{instruction.keyword} before any FROM", name=name)
            global_args.append(instruction)
        else:
            current.append(instruction)
    close()
    if not stages:
        raise DockerfileError(max(len(lines), 1), "no FROM instruction", name=name)
    return Dockerfile(tuple(global_args), tuple(stages), escape, name)


def _directives(lines: list[str], name: str) -> tuple[str, list[str]]:
    """`# escape=` (and `# syntax=`, read and ignored) before anything else."""
    escape = "\\"
    for line in lines:
        match = re.fullmatch(r"\s*#\s*([A-Za-z]+)\s*=\s*(\S+)\s*", line)
        if not match:
            break
        key, value = match.group(1).lower(), match.group(2)
        if key == "escape":
            if value not in ("\\", "`"):
                raise DockerfileError(1, f"invalid escape token {value!r}", name=name)
            escape = value
    return escape, lines


def _logical_lines(lines: list[str], escape: str, name: str) -> list[tuple[int, str]]:
    """Each instruction's text with its continuations joined, and its first line."""
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and (not stripped or stripped.startswith("#")):
            continue  # blank lines and comments inside a continuation, as docker skips them
        if not parts:
            start = number
        body = raw.rstrip()
        if body.endswith(escape) and not body.endswith(escape * 2):
            parts.append(body[: -len(escape)])
            continue
        parts.append(body)
        out.append((start, " ".join(p.strip() for p in parts if p.strip())))
        parts = []
    if parts:
        out.append((start, " ".join(p.strip() for p in parts if p.strip())))
    return out


def _instruction(number: int, joined: str, escape: str, name: str) -> Instruction:
    keyword, _, rest = joined.partition(" ")
    keyword = keyword.upper()
    rest = rest.strip()
    if keyword not in KEYWORDS:
        raise DockerfileError(number, f"unknown instruction {keyword}", name=name)
    if "<<" in rest and keyword in ("RUN", "COPY", "ADD") and re.search(r"<<-?['\"]?\w", rest):
        raise DockerfileError(number, "heredocs need BuildKit; write the file out", name=name)
    flags: list[tuple[str, str]] = []
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        rest = rest.strip()
        key, eq, value = token[2:].partition("=")
        if key not in _FLAGS.get(keyword, frozenset()):
            raise DockerfileError(number, f"unknown flag --{key} on {keyword}", name=name)
        if not eq or not value:
            raise DockerfileError(number, f"--{key} needs a value (--{key}=VALUE)", name=name)
        flags.append((key, value))
    text = joined.strip()
    exec_items = _json_list(rest) if keyword in _EXEC_FORM else None
    if exec_items is not None:
        args: tuple[str, ...] = tuple(exec_items)
    elif keyword in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD"):
        args = (rest,) if rest else ()
    else:
        args = tuple(_words(rest, escape, number, name))
    instruction = Instruction(number, keyword, tuple(flags), args, exec_items is not None, text)
    _check(instruction, name)
    return instruction


def _json_list(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None  # not JSON: the shell form, as docker reads it
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _check(ins: Instruction, name: str) -> None:
    """The argument counts each instruction needs."""
    count = len(ins.args)

    def fail(problem: str) -> None:
        raise DockerfileError(ins.line, problem, name=name)

    if ins.keyword == "FROM" and not (count == 1 or (count == 3 and ins.args[1].lower() == "as")):
        fail("FROM takes an image and optionally 'AS name'")
    if ins.keyword in ("COPY", "ADD") and count < 2:
        fail(f"{ins.keyword} needs a source and a destination")
    if ins.keyword == "SHELL" and not ins.exec_form:
        fail('SHELL needs the JSON form, e.g. SHELL ["/bin/sh", "-c"]')
    if ins.keyword in ("SHELL", "RUN", "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER") and not count:
        fail(f"{ins.keyword} needs an argument")
    if ins.keyword in ("USER", "STOPSIGNAL", "ARG") and count != 1:
        fail(f"{ins.keyword} takes exactly one argument")
    if ins.keyword in ("ENV", "LABEL", "EXPOSE", "VOLUME") and not count:
        fail(f"{ins.keyword} needs at least one argument")
    if ins.keyword in ("ENV", "LABEL") and "=" in ins.args[0]:
        for word in ins.args:
            if "=" not in word or word.startswith("="):
                fail(f"{ins.keyword} needs KEY=VALUE pairs, found {word!r}")
    if ins.keyword in ("ENV", "LABEL") and "=" not in ins.args[0] and count < 2:
        fail(f"{ins.keyword} {ins.args[0]} needs a value")
    if ins.keyword == "ARG" and not _NAME.fullmatch(ins.args[0].partition("=")[0]):
        fail(f"ARG name {ins.args[0].partition('=')[0]!r} is not a valid name")


def _stage(
    index: int, head: Instruction, body: list[Instruction], before: list[Stage], name: str
) -> Stage:
    stage_name = head.args[2].lower() if len(head.args) == 3 else None
    if stage_name is not None:
        if not _STAGE_NAME.fullmatch(stage_name):
            raise DockerfileError(head.line, f"invalid stage name {stage_name!r}", name=name)
        if any(s.name == stage_name for s in before):
            raise DockerfileError(head.line, f"stage name {stage_name!r} used twice", name=name)
    return Stage(
        index, stage_name, head.args[0], head.flag("platform"), head.line, tuple(body), head.text
    )


def _words(rest: str, escape: str, number: int, name: str) -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes for `expand`."""
    words: list[str] = []
    word: list[str] = []
    quote: str | None = None
    chars = iter(rest)
    for ch in chars:
        if ch == escape and quote != "'":
            word.append(ch)
            word.append(next(chars, ""))
        elif quote:
            word.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(ch)
    if quote:
        raise DockerfileError(number, f"unmatched {quote} quote", name=name)
    if word:
        words.append("".join(word))
    return words


def expand(word: str, env: Mapping[str, str], *, escape: str = "\\") -> str:
    """One word as the builder reads it: quotes removed, escapes applied, and `$VAR`,
    `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}` replaced from `env`."""
    out: list[str] = []
    i, n = 0, len(word)
    quote: str | None = None
    while i < n:
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
            i += 1
        elif ch == escape:
            nxt = word[i + 1] if i + 1 < n else ""
            if quote == '"' and nxt not in ('"', "$", escape):
                out.append(ch)  # inside double quotes only these can be escaped
            else:
                out.append(nxt)
                i += 1
            i += 1
        elif ch in "'\"" and quote is None:
            quote = ch
            i += 1
        elif ch == '"' and quote == '"':
            quote = None
            i += 1
        elif ch == "$":
            value, i = _dollar(word, i, env, escape)
            out.append(value)
        else:
            out.append(ch)
            i += 1
    if quote:
        raise UsageError(f"unmatched {quote} quote in {word!r}")
    return "".join(out)


def _dollar(word: str, i: int, env: Mapping[str, str], escape: str) -> tuple[str, int]:
    """The value `$…` at word[i] stands for, and where the word goes on."""
    if word.startswith("${", i):
        end = _closing_brace(word, i + 2)
        if end < 0:
            raise UsageError(f"missing '}}' in {word!r}")
        body = word[i + 2 : end]
        match = _NAME.match(body)
        if not match:
            raise UsageError(f"bad substitution {word[i : end + 1]!r}")
        key, op = match.group(0), body[match.end() :]
        value = env.get(key)
        if not op:
            return value or "", end + 1
        for form in (":-", ":+", "-", "+"):
            if op.startswith(form):
                other = expand(op[len(form) :], env, escape=escape)
                unset = value is None or (form.startswith(":") and value == "")
                if form.endswith("-"):
                    return (other if unset else value or ""), end + 1
                return ("" if unset else other), end + 1
        raise UsageError(f"unsupported substitution {word[i : end + 1]!r}")
    match = _NAME.match(word, i + 1)
    if not match:
        return "$", i + 1
    return env.get(match.group(0), ""), match.end()


def _closing_brace(word: str, start: int) -> int:
    depth = 1
    for j in range(start, len(word)):
        if word[j] == "{":
            depth += 1
        elif word[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def pairs(instruction: Instruction, env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """ENV, LABEL and ARG as KEY/value pairs, expanded from `env` (the build's ARG and
    ENV values so far); an ARG without a default has the value None."""
    args = instruction.args
    if instruction.keyword == "ARG":
        key, eq, default = args[0].partition("=")
        return [(key, expand(default, env) if eq else None)]
    if "=" not in args[0]:  # the legacy form: ENV KEY the rest of the line
        value = instruction.text.split(None, 2)[2] if len(args) > 1 else ""
        return [(expand(args[0], env), expand(value, env))]
    out: list[tuple[str, str | None]] = []
    for word in args:
        key, _, value = word.partition("=")
        out.append((expand(key, env), expand(value, env)))
    return out


def words(instruction: Instruction, env: Mapping[str, str], *, escape: str = "\\") -> list[str]:
    """The arguments of COPY, ADD, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL or FROM,
    expanded from `env` (exec-form items too, as docker expands them)."""
    return [expand(word, env, escape=escape) for word in instruction.args]
