"""How podman's builder (buildah) is asked and read (backends/common/build.py drives it).

`--layers` keeps each step as an image, so a rebuild is taken from the cache
as docker's is; `--format docker` keeps what the docker format holds (as
podman's commit does here), and `--identity-label=false` leaves out buildah's
`io.buildah.version` label, so the config is the one the Dockerfile asks for
on every backend. Steps read `[2/3] STEP 1/5: FROM …`, numbered within each
stage (a stage the target does not need is skipped, and its number with it);
a one-stage build has no `[n/m]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ocitool.backends.common.build import BuildDialect, stage_step
from ocitool.backends.podman.failures import build_failure
from ocitool.build_request import PlannedStep


def _step_of(
    header: re.Match[str], steps: Sequence[PlannedStep], globals_: int
) -> PlannedStep | None:
    stage = header.group("stage")
    index = int(stage) - 1 if stage else steps[-1].stage.index
    return stage_step(steps, index, int(header.group("index")))


DIALECT = BuildDialect(
    options=("--layers", "--format=docker", "--identity-label=false"),
    env={},
    header=re.compile(r"^(?:\[(?P<stage>\d+)/\d+\] )?STEP (?P<index>\d+)/\d+: "),
    step_of=_step_of,
    cached=re.compile(r"^--> Using cache "),
    chatter=re.compile(
        r"^(?:--> |(?:\[\d+/\d+\] )?COMMIT\b|Successfully tagged |[0-9a-f]{64}$|Error: |\s*$)"
    ),
    streams=("stdout", "stderr"),
    failed=build_failure,
)
