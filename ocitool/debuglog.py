"""Debug logging that costs nothing until someone turns logging on.

If no module has imported `logging`, nobody can have given ocitool's loggers a
level or a handler, so there is nothing to log, and a command that needs no
logging never loads the module (about 10 ms of start-up).
"""

from __future__ import annotations

import sys


def debug(name: str, message: str, *args: object) -> None:
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(name).debug(message, *args)


def enabled(name: str) -> bool:
    """Whether `name` logs at DEBUG: worth building an expensive message for."""
    logging = sys.modules.get("logging")
    return logging is not None and logging.getLogger(name).isEnabledFor(logging.DEBUG)


def enable_debug() -> None:
    """Log every engine command to stderr; errors then show their traceback."""
    import logging
    import os

    os.environ["OCITOOL_DEBUG"] = "1"
    logging.basicConfig(level=logging.DEBUG, format="ocitool: %(message)s", stream=sys.stderr)
    logging.getLogger("ocitool").setLevel(logging.DEBUG)
