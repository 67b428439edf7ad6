"""Every test under this folder is marked `integration` here, once, rather than by each module.

`pytest -m 'not integration'` then leaves out the whole folder, and a module moved in or out of it
changes marker with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_stack.ops.zenml_server import LocalZenMLServer

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def zenml_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalZenMLServer]:
    """One real ZenML server (authenticated, its own process group) for the session's integration
    tests: it takes ~13 s to start, and each test registers under names of its own."""
    with LocalZenMLServer(root=tmp_path_factory.mktemp("zenml")) as server:
        yield server
