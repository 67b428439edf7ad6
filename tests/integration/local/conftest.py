"""One emulator server per test module, reset after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagemaker_stack.local import Emulator
from tests.support.emulator import Pipelines
from tests.support.images import step_image


@pytest.fixture(scope="module")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(state_dir=tmp_path_factory.mktemp("emulator-state")) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The module's emulator, with all AWS state (and running executions) cleared afterwards."""
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def pipelines(emulator: Emulator) -> Pipelines:
    """A driver for pipelines whose steps run in the minimal step image, pushed to ECR."""
    step_image(emulator)
    return Pipelines(emulator)
