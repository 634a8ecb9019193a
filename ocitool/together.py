"""Independent reads at once: each engine call mostly waits on the engine, so two or
three of them in threads cost about one. Results come back in argument order; the
first failure is raised in the caller's thread, after every call has ended."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def together(*calls: Callable[[], Any]) -> list[Any]:
    import threading

    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except BaseException as exc:  # re-raised below, where the caller can catch it
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results
