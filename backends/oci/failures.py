"""How umoci and runc fail: their failed calls, mapped to the core errors in one place.

umoci prefixes its errors with `⨯`; runc's start failures are read from the
supervisor's log (containers.start_failure). Output that does not parse names
the call that printed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from ocitool.backends.common.runc import start_failure
from ocitool.errors import EngineError, OcitoolError, parsing_output
from ocitool.runner import Completed


def check(result: Completed) -> Completed:
    """The result of a call that succeeded; else the error that says why it did not."""
    if not result.ok:
        raise_for(result)
    return result


def raise_for(result: Completed) -> NoReturn:
    detail = result.stderr.strip().lstrip("⨯").strip()
    raise EngineError(result.argv, result.returncode, detail or result.stderr)


@contextmanager
def parsing(result: Completed) -> Iterator[None]:
    with parsing_output(result.argv):
        yield


def start_failed(container: str, runtime: str, failure: str) -> OcitoolError:
    """runc could not start the container's process: docker's `start` fails so too,
    and a command that is missing or not executable is 127 or 126 (common/runc.py)."""
    return start_failure(failure, backend="oci") or EngineError(
        (runtime, "run"), None, failure, message=f"container {container} could not start: {failure}"
    )


def left_nothing(tag: str) -> EngineError:
    return EngineError(("umoci",), None, "", message=f"umoci did not leave {tag} behind")
