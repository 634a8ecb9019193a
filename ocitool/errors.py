"""The errors every backend maps its engine's failures to.

Each error knows its exit code and a hint, so the CLI can print one clear line
and scripts can branch on the code without parsing text. The table of codes is
documented in the README; keep the two in step.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# Exit codes, documented in the README ("Exit codes").
EXIT_OK = 0
EXIT_ENGINE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_IN_USE = 4
EXIT_UNAVAILABLE = 5
EXIT_NOT_SUPPORTED = 6
EXIT_TIMEOUT = 7
EXIT_CONFLICT = 8
EXIT_CORRUPT = 9
EXIT_AUTH = 10
EXIT_CHECK_FAILED = 11
EXIT_CANNOT_EXECUTE = 126  # as docker and podman `run` exit, and a shell does
EXIT_COMMAND_NOT_FOUND = 127
EXIT_INTERRUPTED = 130


def report(line: str) -> None:
    """The one line every failure becomes on stderr, whichever path the CLI took."""
    sys.stderr.write(f"ocitool: error: {' '.join(line.split())}\n")


class OcitoolError(Exception):
    """Base of every error ocitool raises on purpose."""

    exit_code: int = EXIT_ENGINE  # each class's code; BuildStepFailed sets its own

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint as a single line, for the CLI and logs."""
        text = " ".join(self.message.split())
        if self.hint:
            text += f" (hint: {' '.join(self.hint.split())})"
        return text


class UsageError(OcitoolError):
    """The user's input is wrong before any engine is asked."""

    exit_code = EXIT_USAGE


class InvalidReference(UsageError):
    """A string that is not a valid image reference, ID or container name."""

    def __init__(self, value: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"invalid reference {value!r}: {reason}",
            hint=hint or "use NAME[:TAG] or NAME@sha256:<64 hex>, lowercase, e.g. myapp:1.0",
        )
        self.value = value
        self.reason = reason


class ImageNotFound(OcitoolError):
    exit_code = EXIT_NOT_FOUND

    def __init__(self, refs: Sequence[str], *, backend: str, hint: str | None = None) -> None:
        names = ", ".join(refs)
        noun = "image" if len(refs) == 1 else "images"
        super().__init__(
            f"{noun} not found on {backend}: {names}",
            hint=hint or f"list local images with 'ocitool --backend {backend} images'",
        )
        self.refs = list(refs)
        self.backend = backend


class ContainerNotFound(OcitoolError):
    exit_code = EXIT_NOT_FOUND

    def __init__(self, names: Sequence[str], *, backend: str, hint: str | None = None) -> None:
        noun = "container" if len(names) == 1 else "containers"
        super().__init__(
            f"{noun} not found on {backend}: {', '.join(names)}",
            hint=hint or f"list containers with 'ocitool --backend {backend} ps -a'",
        )
        self.names = list(names)
        self.backend = backend


class PathNotFound(OcitoolError):
    """A path named inside a container (`cp`) that is not there."""

    exit_code = EXIT_NOT_FOUND


class ImageInUse(OcitoolError):
    """An image cannot go because containers hold it; names them so the user can act."""

    exit_code = EXIT_IN_USE

    def __init__(
        self, ref: str, containers: Sequence[str], *, backend: str, hint: str | None = None
    ) -> None:
        held = ", ".join(containers) if containers else "a container"
        super().__init__(
            f"image {ref} is in use on {backend} by {held}",
            hint=hint or "stop and remove those containers first ('ocitool stop', 'ocitool rm')",
        )
        self.ref = ref
        self.containers = list(containers)
        self.backend = backend


class Conflict(OcitoolError):
    """The operation would overwrite or contradict existing state."""

    exit_code = EXIT_CONFLICT


class NotRunning(Conflict):
    """A verb that needs a running container (exec, kill) named one that is not."""

    def __init__(self, container: str, verb: str) -> None:
        super().__init__(
            f"cannot {verb} container {container}: it is not running",
            hint=f"start it first: ocitool start {container}",
        )
        self.container = container


class AuthenticationFailed(OcitoolError):
    """A registry refused the credentials, or wants some and has none."""

    exit_code = EXIT_AUTH


class StoreCorrupt(OcitoolError):
    """A store's files are not what they claim to be (a digest mismatch, broken JSON)."""

    exit_code = EXIT_CORRUPT


class Interrupted(OcitoolError):
    """Ctrl-C stopped an operation; the message says what it left behind."""

    exit_code = EXIT_INTERRUPTED


class BackendUnavailable(OcitoolError):
    """The engine is missing, not running, or not reachable."""

    exit_code = EXIT_UNAVAILABLE

    def __init__(self, backend: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{backend}: {reason}", hint=hint)
        self.backend = backend
        self.reason = reason


class NotSupported(OcitoolError):
    """This backend cannot do what was asked; the hint names what would."""

    exit_code = EXIT_NOT_SUPPORTED


class BuildStepFailed(OcitoolError):
    """A build step's command failed: its step, Dockerfile line and exit code, which
    ocitool exits with, so a script sees the step's own code."""

    def __init__(self, step: int, line: int, instruction: str, code: int, detail: str = "") -> None:
        said = f": {' '.join(detail.split())}" if detail.strip() else ""
        super().__init__(
            f"build step {step} (Dockerfile line {line}) {instruction!r} exited {code}{said}",
            hint="fix the command, or run it in a container of the step before (ocitool run -it)",
        )
        self.step = step
        self.line = line
        self.instruction = instruction
        self.exit_code = code if 0 < code < 256 else EXIT_ENGINE


class CommandNotFound(OcitoolError):
    """`run`'s command does not exist in the container (`docker run` exits 127 too)."""

    exit_code = EXIT_COMMAND_NOT_FOUND


class CommandNotExecutable(OcitoolError):
    """`run`'s command exists in the container but cannot be executed (126)."""

    exit_code = EXIT_CANNOT_EXECUTE


class EngineError(OcitoolError):
    """The engine failed in a way no other error describes; carries what it said."""

    exit_code = EXIT_ENGINE

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stderr: str,
        *,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        detail = last_meaningful_line(stderr) or "no error output"
        program = self.argv[0] if self.argv else "engine"
        super().__init__(
            message or f"{program} failed (exit {returncode}): {detail}",
            hint=hint or "run again with --debug to see the engine's command and output",
        )


class EngineTimeout(EngineError):
    """An engine call ran past its timeout and was killed."""

    exit_code = EXIT_TIMEOUT

    def __init__(
        self,
        argv: Sequence[str],
        timeout: float,
        stderr: str = "",
        *,
        setting: str = "OCITOOL_TIMEOUT",
        idle: bool = False,
    ) -> None:
        program = argv[0] if argv else "engine"
        what = "made no progress for" if idle else "did not finish within"
        super().__init__(
            argv,
            None,
            stderr,
            message=f"{program} {what} {timeout:g}s and was stopped",
            hint=f"raise the limit with {setting}=SECONDS, or check the engine's health",
        )
        self.timeout = timeout


class LockTimeout(OcitoolError):
    """A store's lock stayed taken past the timeout: ocitool waited, and gave up."""

    exit_code = EXIT_TIMEOUT


def last_meaningful_line(text: str) -> str:
    """The last non-empty line of an engine's stderr, where engines put the actual error."""
    for line in reversed(text.strip().splitlines()):
        if line.strip():
            return line.strip()
    return ""


class UnexpectedOutput(EngineError):
    """An engine printed something ocitool cannot parse: named by the call that printed it."""

    def __init__(self, argv: Sequence[str], error: Exception) -> None:
        super().__init__(
            argv,
            None,
            "",
            message=f"unexpected output from '{' '.join(list(argv)[:3])}': "
            f"{type(error).__name__}: {str(error)[:200]}",
            hint="this engine version may print something ocitool does not know; "
            "rerun with --debug and report it",
        )


@contextmanager
def parsing_output(argv: Sequence[str]) -> Iterator[None]:
    """Errors raised while parsing what `argv` printed become one UnexpectedOutput that
    names that call; the caller's own mistakes (a bad argument) are never caught here."""
    try:
        yield
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UnexpectedOutput(argv, exc) from exc
