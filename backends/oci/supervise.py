"""The supervisor of a detached container: `python -m backends.oci.supervise DIR RUNTIME ROOT`.

runc does not remember how a container's process ended, so a detached run
goes through this small process: it detaches itself, runs the container in
the foreground (its output to the container's log, backends/oci/logs.py),
then writes the exit code to the container's record and, for `--rm`, removes
the container.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

from ocitool.backends.oci.containers import delete_state, load, remove_tree, save
from ocitool.backends.oci.logs import Writer
from ocitool.backends.oci.runtime import START_FAILED
from ocitool.errors import EngineTimeout
from ocitool.runner import Runner


def main(argv: list[str]) -> int:
    directory, runtime, root = Path(argv[0]), argv[1], argv[2]
    if os.fork():  # the launcher returns at once; the container outlives ocitool
        return 0
    os.setsid()
    record = load(directory)
    if record is None:
        return 1
    record.began()
    save(directory, record)
    runner = Runner()
    log = Writer(directory)
    try:
        code: int | None = runner.stream(
            [runtime, "--root", root, "run", "--bundle", str(directory / "bundle"), record.id],
            partial(relay, log),
            timeout=runner.run_timeout,
            keep=False,
        ).returncode
    except EngineTimeout:  # OCITOOL_RUN_TIMEOUT ran out: runc was killed, so kill its container
        delete_state(runner, runtime, root, record.id)
        code = None
    finally:
        log.close()
    record = load(directory) or record
    record.ended(code)
    save(directory, record)
    if record.remove:
        remove_tree(directory)
    return 0


def relay(log: Writer, stream: str, line: str) -> None:
    """The container's lines to its log; runc's own words on a start that failed to the
    supervisor's (where `start` reads them: containers.start_failure)."""
    if stream == "stderr" and START_FAILED.search(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    else:
        log.line(stream, line)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
