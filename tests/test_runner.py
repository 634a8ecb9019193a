"""The subprocess runner: argv only, a timeout on everything, logged, env passed through."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from ocitool.errors import BackendUnavailable, EngineTimeout
from ocitool.runner import Runner


def test_captures_output_and_exit_code() -> None:
    result = Runner().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok


def test_a_shell_string_is_refused() -> None:
    with pytest.raises(TypeError):
        Runner().run("echo hi")


def test_arguments_are_never_interpreted_by_a_shell() -> None:
    result = Runner().run(["echo", "$(id); rm -rf /"])
    assert result.stdout == "$(id); rm -rf /\n"


def test_timeout_kills_the_process() -> None:
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as err:
        Runner(timeout=0.3).run(["sleep", "10"])
    assert time.monotonic() - started < 5
    assert err.value.exit_code == 7
    assert "did not finish within 0.3s" in err.value.one_line()


def test_stream_timeout_kills_the_process() -> None:
    with pytest.raises(EngineTimeout):
        Runner().stream(["sleep", "10"], lambda *_: None, timeout=0.3)


def test_missing_executable_is_backend_unavailable() -> None:
    with pytest.raises(BackendUnavailable) as err:
        Runner().run(["ocitool-no-such-program", "x"])
    assert "not found on PATH" in err.value.one_line()
    assert err.value.exit_code == 5


def test_environment_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///somewhere.sock")
    assert Runner().run(["sh", "-c", "echo $DOCKER_HOST"]).stdout == "unix:///somewhere.sock\n"
    extra = Runner(env={"CONTAINERS_CONF": "/x"}).run(["sh", "-c", "echo $CONTAINERS_CONF"])
    assert extra.stdout == "/x\n"


def test_secrets_go_through_stdin() -> None:
    result = Runner().run(["cat"], input="s3cret")
    assert result.stdout == "s3cret"


def test_stream_hands_over_lines_from_both_streams() -> None:
    seen: list[tuple[str, str]] = []
    result = Runner().stream(
        ["sh", "-c", "echo one; echo two >&2; echo three"], lambda s, line: seen.append((s, line))
    )
    assert ("stdout", "one") in seen and ("stderr", "two") in seen and ("stdout", "three") in seen
    assert result.stdout == "one\nthree\n" and result.stderr == "two\n"


def test_every_call_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    runner = Runner()
    with caplog.at_level(logging.DEBUG, logger="ocitool"):
        runner.run(["echo", "a b"])
    assert runner.calls == [("echo", "a b")]
    assert "+ echo 'a b'  [rc=0" in caplog.text


def test_a_stopped_engine_gets_sigterm_first(tmp_path: Path) -> None:
    """A program that cleans up on SIGTERM (podman's temporary files) can, before SIGKILL."""
    cleaned = tmp_path / "cleaned"
    script = f"trap 'echo yes > {cleaned}; exit 0' TERM; sleep 30 & wait"
    with pytest.raises(EngineTimeout):
        Runner(timeout=0.5).run(["sh", "-c", script])
    assert cleaned.read_text() == "yes\n"


def test_a_stream_without_progress_is_stopped_sooner_than_its_limit() -> None:
    """A transfer may take hours (timeout), but not hours of nothing (idle)."""
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as err:
        Runner().stream(["sleep", "30"], lambda *_: None, timeout=60, idle=1)
    assert time.monotonic() - started < 10
    assert "made no progress for 1s" in err.value.one_line()
    busy = Runner().stream(
        ["sh", "-c", "for i in 1 2 3 4; do echo $i; sleep 0.4; done"],
        lambda *_: None,
        timeout=60,
        idle=1,
    )
    assert busy.ok and busy.stdout.split() == ["1", "2", "3", "4"]
