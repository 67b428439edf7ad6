"""The user's mistakes, and stops they asked for, end `python pipeline.py` with one message.

A refused setting, a bad cron expression or a watch the user ended reaches the top of the user's
own script (`my_pipeline()`), where Python prints the whole traceback: 130-200 lines of ZenML's
frames, in ZenML's rich format, burying the one line that says what to fix. The message already
says everything; the frames are about our code, not the user's mistake.

So every such error is a `UserError` (or, for Ctrl-C during the watch, a `WatchInterrupted`, which
stays a KeyboardInterrupt), raised without a chained cause, and creating one installs
`_print_message_only` as `sys.excepthook`, once per process. Why a hook, and why this one is safe:
- Nothing else can reach that place: the exception propagates through ZenML's `pipeline()` into
  the user's script, which we do not control; catching it earlier would change what the user's
  `try:` around the pipeline call sees. The hook only decides how an *uncaught* one is printed.
- It is scoped: any other exception goes to the hook that was installed before (ZenML's rich
  traceback, or Python's), untouched; a user's own hook installed later wins, as it should.
- Installing lazily, when the first such error is made, keeps importing this package free of side
  effects (ZenML imports the flavor for every `zenml` command).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

#: The hook that was in place before ours, called for every other exception.
_previous_hook: Any = None


class UserError(Exception):
    """Something the user asked for cannot be done as asked; the message says what and how to fix it."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        install_hook()


class WatchInterrupted(KeyboardInterrupt):
    """Ctrl-C while a run was watched: the watch ends, the run goes on (still a KeyboardInterrupt)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        install_hook()


def _print_message_only(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """`sys.excepthook`: one line for our errors, the previous hook's output for anything else."""
    if isinstance(error, (UserError, WatchInterrupted)):
        sys.stderr.write(f"Error: {error}\n")
        sys.stderr.flush()
        return
    (_previous_hook or sys.__excepthook__)(kind, error, traceback)


def install_hook() -> None:
    """Put `_print_message_only` in front of the current `sys.excepthook` (once per process)."""
    global _previous_hook
    if sys.excepthook is _print_message_only:
        return
    _previous_hook = sys.excepthook
    sys.excepthook = _print_message_only
