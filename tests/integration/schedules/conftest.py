"""One emulator per test module, reset after every test, and a StackConfig pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local.process.emulator import Emulator
from tests.support.schedules import stack_config


@pytest.fixture(scope="module")
def schedules_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(state_dir=tmp_path_factory.mktemp("schedules-emulator")) as emulator:
        yield emulator


@pytest.fixture
def emulator(schedules_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The module's emulator; only its test keys are in the environment, not its endpoint, so
    that reaching it proves the code honours the config's endpoint_url."""
    for key, value in schedules_emulator.env().items():
        if key.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield schedules_emulator
    schedules_emulator.reset()


@pytest.fixture
def scheduler(emulator: Emulator) -> Any:
    return emulator.client("scheduler")


@pytest.fixture
def config(emulator: Emulator) -> StackConfig:
    return stack_config(emulator.endpoint_url)
