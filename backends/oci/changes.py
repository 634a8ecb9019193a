"""`--change` Dockerfile instructions as `umoci config` options.

docker and podman take `--change 'ENV A=1'`; umoci takes `--config.env=A=1`.
Each option is one argv token (`--flag=value`), so no value can become a flag.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from ocitool.errors import UsageError


def umoci_options(changes: Sequence[str]) -> list[str]:
    options: list[str] = []
    for change in changes:
        instruction, _, rest = change.strip().partition(" ")
        rest = rest.strip()
        keyword = instruction.upper()
        if keyword in ("CMD", "ENTRYPOINT"):
            flag = "--config.cmd" if keyword == "CMD" else "--config.entrypoint"
            options += [f"{flag}={arg}" for arg in _command(rest)]
        elif keyword == "ENV":
            options += [f"--config.env={pair}" for pair in _pairs(rest)]
        elif keyword == "LABEL":
            options += [f"--config.label={pair}" for pair in _pairs(rest)]
        elif keyword == "WORKDIR":
            options.append(f"--config.workingdir={rest}")
        elif keyword == "USER":
            options.append(f"--config.user={rest}")
        elif keyword == "EXPOSE":
            options += [f"--config.exposedports={port}" for port in rest.split()]
        elif keyword == "VOLUME":
            options += [f"--config.volume={path}" for path in _command(rest, shell=False)]
        elif keyword == "STOPSIGNAL":
            options.append(f"--config.stopsignal={rest}")
        else:
            raise UsageError(
                f"--change {change!r}: {instruction or 'empty'} is not supported",
                hint="use CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME or STOPSIGNAL",
            )
    return options


def _command(text: str, *, shell: bool = True) -> list[str]:
    """JSON form (`["sh", "-c", "x"]`) as is; shell form wrapped in `/bin/sh -c`."""
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--change: {text!r} is not a JSON list") from exc
        if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
            return parsed
        raise UsageError(f"--change: {text!r} is not a list of strings")
    return ["/bin/sh", "-c", text] if shell else text.split()


def _pairs(text: str) -> list[str]:
    """`A=1 B="two words"` or the old `A 1` form, as KEY=VALUE items."""
    if "=" not in text.split(" ", 1)[0]:
        key, _, value = text.partition(" ")
        return [f"{key}={value.strip()}"]
    return shlex.split(text)
