"""Every test under this folder is marked `e2e` here, once, rather than by each module.

`pytest -m 'not e2e'` then leaves out the whole folder, and a module moved in or out of it
changes marker with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
