"""How docker's classic builder is asked and read (backends/common/build.py drives it).

DOCKER_BUILDKIT=0 chooses the classic builder on every client, so the output
is the classic `Step 3/7 : RUN make` form (a client 28 without buildx falls
back to it anyway, after a DEPRECATED notice on stderr). Its steps count the
ARGs before the first FROM; a RUN's stderr comes on stdout, painted red.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocitool.backends.common.build import BuildDialect, nth_step
from ocitool.backends.docker.failures import build_failure
from ocitool.build_request import PlannedStep


def _step_of(
    header: re.Match[str], steps: Sequence[PlannedStep], globals_: int
) -> PlannedStep | None:
    return nth_step(steps, int(header.group("index")) - globals_)


DIALECT = BuildDialect(
    options=(),
    env={"DOCKER_BUILDKIT": "0"},
    header=re.compile(r"^Step (?P<index>\d+)/\d+ : "),
    step_of=_step_of,
    cached=re.compile(r"^ ---> Using cache$"),
    chatter=re.compile(
        r"^(?: ---> |Removing intermediate container |Sending build context to |"
        r"Successfully built |Successfully tagged |\s*$)"
    ),
    streams=("stdout",),
    failed=build_failure,
)
