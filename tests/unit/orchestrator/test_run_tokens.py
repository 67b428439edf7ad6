"""A run or a schedule asks the ZenML server for no API token: no step would use it.

ZenML's `BaseOrchestrator.run` asked for a workload token per run, and per schedule one that never
expires ("This is very insecure"); steps authenticate with the stack's service account instead.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from zenml.orchestrators import base_orchestrator


def _snapshot(schedule: Any = None) -> Any:
    from zenml.enums import ExecutionMode

    configuration = SimpleNamespace(execution_mode=ExecutionMode.CONTINUE_ON_FAILURE)
    return SimpleNamespace(schedule=schedule, is_dynamic=False, pipeline_configuration=configuration)


class _Enough(Exception):
    """Raised by the recorder: the test needs nothing after ZenML's first call."""


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def get_config_environment_vars(**kwargs: Any) -> Any:
        calls.append(kwargs)
        raise _Enough

    monkeypatch.setattr(base_orchestrator, "get_config_environment_vars", get_config_environment_vars)
    return calls


@pytest.mark.parametrize("scheduled", [True, False])
def test_zenml_is_asked_for_no_schedule_or_run_token(
    make_orchestrator: Any, asked: list[dict[str, Any]], scheduled: bool
) -> None:
    schedule = SimpleNamespace(id=uuid.uuid4()) if scheduled else None
    run = None if scheduled else SimpleNamespace(id=uuid.uuid4(), original_run=None)
    with pytest.raises(_Enough):
        make_orchestrator().run(_snapshot(schedule), stack=None, placeholder_run=run)
    assert asked == [{}]


def test_other_callers_still_pass_their_ids(make_orchestrator: Any, asked: list[dict[str, Any]]) -> None:
    with pytest.raises(_Enough):
        make_orchestrator().run(_snapshot(), stack=None, placeholder_run=None)
    run_id = uuid.uuid4()
    with pytest.raises(_Enough):
        base_orchestrator.get_config_environment_vars(pipeline_run_id=run_id)
    assert asked[-1] == {"pipeline_run_id": run_id}
