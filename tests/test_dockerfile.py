"""The Dockerfile grammar the client reads on every backend (ocitool/dockerfile.py)."""

from __future__ import annotations

import pytest

from ocitool.dockerfile import DockerfileError, expand, pairs, parse, words

TEXT = """\
# escape=\\
ARG BASE=busybox
FROM ${BASE}:1 AS Build
ENV A=1 B="two words" \\
    C=$A
# a comment
RUN echo hi && \\
   # a comment inside a continuation
   echo there
COPY --from=x --chown=1:1 a "b c" /dst/
ENV LEGACY value with spaces
CMD ["sh", "-c", "echo"]
FROM scratch
COPY --from=build /x /y
"""


def test_stages_lines_and_forms() -> None:
    df = parse(TEXT)
    assert [(s.index, s.name, s.base, s.line) for s in df.stages] == [
        (0, "build", "${BASE}:1", 3),
        (1, None, "scratch", 13),
    ]
    env, run, copy, legacy, cmd = df.stages[0].instructions
    assert [i.line for i in (env, run, copy, legacy, cmd)] == [4, 7, 10, 11, 12]
    assert run.args == ("echo hi && echo there",) and not run.exec_form
    assert copy.flag("from") == "x" and copy.flag("chown") == "1:1"
    assert cmd.exec_form and cmd.args == ("sh", "-c", "echo")
    assert [a.text for a in df.args] == ["ARG BASE=busybox"]
    assert df.target(None).label == "1" and df.target("BUILD").name == "build"


def test_words_pairs_and_expansion() -> None:
    df = parse(TEXT)
    env, _, copy, legacy, _ = df.stages[0].instructions
    scope = {"A": "1"}
    assert pairs(env, scope) == [("A", "1"), ("B", "two words"), ("C", "1")]
    assert pairs(legacy, scope) == [("LEGACY", "value with spaces")]
    assert words(copy, scope) == ["a", "b c", "/dst/"]
    assert expand("${X:-def}/$A/${A:+yes}/\\$A/'$A'/${E-unset}", {"A": "1", "E": ""}) == (
        "def/1/yes/$A/$A/"
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("RUN x", 1, "RUN before any FROM"),
        ("FROM a\nFOO b", 2, "unknown instruction FOO"),
        ("FROM a\n\nCOPY x", 3, "COPY needs a source and a destination"),
        ("FROM a\nRUN --mount=type=cache echo", 2, "unknown flag --mount"),
        ("FROM a\nENV A=1 B", 2, "KEY=VALUE"),
        ("FROM a AS x\nFROM b AS x", 2, "used twice"),
        ("FROM a\nRUN <<EOF\necho\nEOF", 2, "heredocs"),
        ("# only a comment\n", 1, "no FROM"),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert caught.value.line == line
    assert problem in caught.value.one_line() and "\n" not in caught.value.one_line()
    assert caught.value.exit_code == 2


def test_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(Exception, match="no stage named 'nope'") as caught:
        parse(TEXT).target("nope")
    assert getattr(caught.value, "exit_code", None) == 2
