"""Who may touch moto's state while a snapshot of it is taken, and whether it changed since.

moto's server serves requests on many threads without a lock of its own, and the engine, the
CodeBuild runner and the log sinks change moto's models from theirs. A snapshot must see the
state at one instant (pickling a dict another thread grows fails, and a half-made change would
be saved), so everything that changes the state does it under `STATE.shared()`, and the snapshot
pickles under `STATE.exclusive()`, which waits for those to finish and holds new ones back.

The exclusive side gives up after a short wait rather than waiting without bound: a request
that holds the shared side may itself wait for a background thread that needs it (a reset waits
for the executions it stops), and with a writer waiting nobody new gets in. Giving up breaks
that cycle, and the snapshot is simply tried again a moment later.

`changed()` counts the changes, so the saver only saves when something did change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StateLock:
    """A readers-writer lock: shared holders are reentrant per thread, a waiting writer has priority."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writer_waiting = False
        self._held = threading.local()
        self._changes = 0

    @contextmanager
    def shared(self, *, changes: bool = True) -> Iterator[None]:
        """Hold the state against a snapshot; `changes=False` for what only reads it."""
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            with self._condition:
                while self._writer or self._writer_waiting:
                    self._condition.wait()
                self._readers += 1
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                with self._condition:
                    self._readers -= 1
                    if changes:
                        self._changes += 1
                    if self._readers == 0:
                        self._condition.notify_all()

    @contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """Hold everyone else off; yields False (holding nothing) if that took over `timeout` s."""
        with self._condition:
            self._writer_waiting = True
            acquired = self._condition.wait_for(lambda: self._readers == 0 and not self._writer, timeout)
            self._writer_waiting = False
            if acquired:
                self._writer = True
            else:
                self._condition.notify_all()
        try:
            yield acquired
        finally:
            if acquired:
                with self._condition:
                    self._writer = False
                    self._condition.notify_all()

    def changes(self) -> int:
        """How many changes have been made so far (compare two readings to know if any was)."""
        with self._condition:
            return self._changes


#: The one lock of the server process.
STATE = StateLock()
