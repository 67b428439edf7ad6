"""An emulator state folder of the test's own, for tests that start and stop emulators on it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_stack.local import Emulator, EmulatorError


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "state"
    if (tmp_path / "state" / "emulator.pid").exists():  # a test that failed half-way: leave nothing running
        with contextlib.suppress(EmulatorError):
            Emulator.attach(tmp_path / "state").stop()
