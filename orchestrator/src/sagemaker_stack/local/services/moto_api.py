"""moto's own API (`/moto-api/`): its reset, which our running executions and builds must see.

moto's reset (`POST /moto-api/reset`) forgets state that our running executions and builds still
use, so they are stopped first (`before_reset`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.moto_api._internal.models import MotoAPIBackend


def before_reset(stop: Callable[[], None]) -> None:
    """Call `stop` whenever moto resets all its state, before it does (call once per `stop`)."""
    api: Any = MotoAPIBackend
    original_reset = api.reset

    def reset(self: Any) -> None:
        stop()
        original_reset(self)

    api.reset = reset
