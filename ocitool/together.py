"""Independent reads at once: each engine call mostly waits on the engine, so two or
three of them in threads cost about one. Results come back in argument order; the
first failure is raised in the caller's thread, after every call has ended.

`begun` starts one such read and leaves the caller to do other work (a copy's
stream) until it needs the answer: a check over a slow connection (a daemon over
ssh) then costs nothing of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Begun(Generic[T]):
    """A call running in a daemon thread: an engine read that needs no cleanup if
    ocitool stops first (the engine call ends by itself, within its timeout)."""

    def __init__(self, call: Callable[[], T]) -> None:
        import threading

        self.call = call
        self.result: T | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # re-raised in the caller's thread, where it can be caught
            self.failure = exc

    def done(self) -> bool:
        """Whether it has returned or failed (`wait` then returns at once)."""
        return not self.thread.is_alive()

    def wait(self) -> T:
        """Its result, or its failure raised here, as often as it is asked."""
        self.thread.join()
        if self.failure is not None:
            raise self.failure
        return self.result  # type: ignore[return-value]  # set once the call returned


def together(*calls: Callable[[], Any]) -> list[Any]:
    running = [Begun(call) for call in calls]
    for each in running:
        each.thread.join()
    failures = [each.failure for each in running if each.failure is not None]
    if failures:
        raise failures[0]
    return [each.result for each in running]


def begun(call: Callable[[], T]) -> Begun[T]:
    """Start `call` now, for its answer later."""
    return Begun(call)
