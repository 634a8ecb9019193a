"""Notes: one line each about something the user should know (a tag moved, a partial
removal), on the `ocitool.notes` logger, so API callers can route them.

`logging` loads only when a note is given. The CLI asks for them on stderr
(`to_stderr`), as `ocitool: note: ...`.
"""

from __future__ import annotations

LOGGER = "ocitool.notes"
_wanted: list[str] = []  # "stderr" once the CLI asks for it


def to_stderr() -> None:
    """Print notes on stderr, one line each (the CLI's choice)."""
    _wanted.append("stderr")


def note(message: str, *args: object) -> None:
    import logging
    import sys

    notes = logging.getLogger(LOGGER)
    if _wanted and not notes.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ocitool: note: %(message)s"))
        notes.addHandler(handler)
        notes.propagate = False
    notes.warning(message, *args)
