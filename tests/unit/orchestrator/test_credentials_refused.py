"""Credentials in a run's environment are refused before ZenML stores the run, never echoed.

ZenML calls `get_docker_builds` with the compiled run before `create_snapshot` stores it (with
its configuration, environment included, in plain text): that is where they are refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from zenml.config import DockerSettings

from sagemaker_stack.orchestrator.environment import credential_problems
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.user_errors import UserError
from tests.support.runtime_fakes import TOKEN, diamond, fake_snapshot, make_config

BASE = (
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml-sagemaker-zenml:sagemaker-stack-cpu-0123456789abcdef"
)


def _snapshot(
    step_settings: dict[str, dict[str, Any]] | None = None,
    zenml_environment: dict[str, dict[str, str]] | None = None,
    pipeline_environment: dict[str, str] | None = None,
) -> Any:
    snapshot = fake_snapshot(diamond(), step_settings=step_settings)
    snapshot.pipeline_configuration.environment = pipeline_environment or {}
    snapshot.pipeline_configuration.docker_settings = DockerSettings()
    for name, step in snapshot.step_configurations.items():
        step.config.environment = {**(pipeline_environment or {}), **(zenml_environment or {}).get(name, {})}
    return snapshot


def _refusal(make_orchestrator: Any, snapshot: Any) -> str:
    with pytest.raises(InvalidPipelineError) as caught:
        make_orchestrator(make_config(base_image=BASE)).get_docker_builds(snapshot)
    assert isinstance(caught.value, UserError)
    return str(caught.value)


def test_a_credential_in_the_environment_setting_is_refused_naming_step_and_variable(
    make_orchestrator: Any,
) -> None:
    message = _refusal(
        make_orchestrator, _snapshot(step_settings={"join": {"environment": {"DB_PASSWORD": "hunter2"}}})
    )
    assert "step 'join'" in message and "DB_PASSWORD" in message
    assert "hunter2" not in message
    assert "load" not in message.replace("pipeline", "")


def test_a_credential_in_zenmls_own_step_environment_is_refused(make_orchestrator: Any) -> None:
    message = _refusal(make_orchestrator, _snapshot(zenml_environment={"left": {"HARMLESS_NAME": TOKEN}}))
    assert "step 'left'" in message and "HARMLESS_NAME" in message
    assert TOKEN not in message and TOKEN[:12] not in message


def test_a_pipeline_wide_credential_is_one_problem_naming_every_step(make_orchestrator: Any) -> None:
    message = _refusal(make_orchestrator, _snapshot(pipeline_environment={"GITHUB_TOKEN": "ghp_secret"}))
    assert message.count("GITHUB_TOKEN") == 1
    assert "steps 'join', 'left', 'load', 'right'" in message
    assert "ghp_secret" not in message


def test_an_ordinary_environment_passes(make_orchestrator: Any) -> None:
    snapshot = _snapshot(
        step_settings={"join": {"environment": {"MY_FLAG": "1"}}},
        pipeline_environment={"ZENML_STORE_URL": "http://127.0.0.1:8237", "LOG_LEVEL": "debug"},
    )
    builds = make_orchestrator(make_config(base_image=BASE)).get_docker_builds(snapshot)
    assert [build.settings.parent_image for build in builds] == [BASE]


def test_credential_problems_never_show_values() -> None:
    problems = credential_problems(
        {"a": {"URL": "https://user:pw@example.com/x", "AWS_SECRET_ACCESS_KEY": "abc/xyz", "OK": "1"}}
    )
    assert len(problems) == 2
    assert not any("user:pw" in problem or "abc/xyz" in problem for problem in problems)
