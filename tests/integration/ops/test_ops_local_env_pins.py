"""A shell of the local environment pins its stack (`ZENML_ACTIVE_STACK_ID`, see ops.local_client):
`down` / `unregister` from that shell still removes the stack (ZenML refuses to delete the stack
it takes for the active one)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.registration.store import register, unregister


def test_unregister_in_a_shell_that_pins_the_stack_removes_it(
    deployed: StackConfig, zenml_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(deployed, client=zenml_client)
    stack = zenml_client.get_stack(deployed.stack_name)
    monkeypatch.setenv("ZENML_ACTIVE_STACK_ID", str(stack.id))
    assert zenml_client.active_stack_model.id == stack.id

    result = unregister(deployed.stack_name, config=deployed, client=zenml_client)

    assert f"stack {deployed.stack_name!r}" in result.removed
    assert zenml_client.list_stacks(name=deployed.stack_name).total == 0
    assert "ZENML_ACTIVE_STACK_ID" not in os.environ
