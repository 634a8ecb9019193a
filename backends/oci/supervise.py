"""The supervisor of a detached container: `python -m backends.oci.supervise DIR RUNTIME ROOT`.

runc does not remember how a container's process ended, so a detached run
goes through this small process: it detaches itself, runs the container in
the foreground (output to the container's log), then writes the exit code to
the container's record and, for `--rm`, removes the container.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ocitool.backends.oci.containers import delete_state, load, remove_tree, save
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
    record.state, record.exit_code = "running", None
    save(directory, record)
    runner = Runner()
    try:
        code: int | None = runner.attached(
            [runtime, "--root", root, "run", "--bundle", str(directory / "bundle"), record.id],
            timeout=runner.run_timeout,
        )
    except EngineTimeout:  # OCITOOL_RUN_TIMEOUT ran out: runc was killed, so kill its container
        delete_state(runner, runtime, root, record.id)
        code = None
    record = load(directory) or record
    record.state, record.exit_code = "exited", code
    save(directory, record)
    if record.remove:
        remove_tree(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
