"""Fakes for the orchestrator's unit tests: a ZenML-shaped snapshot without a ZenML store."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorConfig,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-stack-execution"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:sagemaker-stack-zenml-AbCdEf"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml-sagemaker-zenml:training-orchestrator"
#: What ZenML's base environment looks like when the client talks to a server with auth.
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
BASE_ENVIRONMENT = {
    "ZENML_STORE_URL": "http://127.0.0.1:8237",
    "ZENML_STORE_TYPE": "rest",
    "ZENML_STORE_VERIFY_SSL": "True",
    "ZENML_STORE_API_TOKEN": TOKEN,
    "ZENML_ACTIVE_STACK_ID": str(uuid.UUID(int=1)),
    "ZENML_ACTIVE_PROJECT_ID": str(uuid.UUID(int=2)),
    "ZENML_DISABLE_CREDENTIALS_DISK_CACHING": "true",
    "ZENML_ANALYTICS_OPT_IN": "False",
}


def make_config(**overrides: Any) -> SagemakerPipelinesOrchestratorConfig:
    values: dict[str, Any] = {
        "execution_role_arn": ROLE_ARN,
        "region": REGION,
        "bucket": "sagemaker-stack-artifacts",
        "secret_arn": SECRET_ARN,
        "resource_prefix": "smstack",
        "synchronous": False,
        # One SageMaker step per ZenML step: what these tests check per step. Step groups are
        # tested where a test turns them on (tests/unit/orchestrator/test_step_groups*.py).
        "group_steps": False,
    }
    values.update(overrides)
    return SagemakerPipelinesOrchestratorConfig(**values)


def fake_snapshot(
    dag: Mapping[str, Sequence[str]],
    name: str = "training",
    step_settings: Mapping[str, Mapping[str, Any]] | None = None,
    resources: Mapping[str, Mapping[str, Any]] | None = None,
    parent_image: str | None = None,
) -> Any:
    """A snapshot with the attributes the orchestrator reads; `dag` maps step -> upstream steps.

    `step_settings` are each step's orchestrator settings as ZenML would have merged them,
    `resources` each step's ZenML ResourceSettings fields, `parent_image` every step's Docker parent.
    """
    from zenml.config import DockerSettings, ResourceSettings

    steps = {
        step: SimpleNamespace(
            config=SimpleNamespace(
                command=None,
                settings={},
                resource_settings=ResourceSettings(**(resources or {}).get(step, {})),
                docker_settings=DockerSettings(parent_image=parent_image),
            ),
            spec=SimpleNamespace(upstream_steps=list(upstream)),
            fake_settings=dict((step_settings or {}).get(step, {})),
        )
        for step, upstream in dag.items()
    }
    return SimpleNamespace(
        id=uuid.uuid4(),
        pipeline_configuration=SimpleNamespace(name=name, settings={}),
        step_configurations=steps,
        schedule=None,
    )


def diamond() -> dict[str, list[str]]:
    return {"load": [], "left": ["load"], "right": ["load"], "join": ["left", "right"]}


def fan_out(count: int) -> dict[str, list[str]]:
    return {"source": [], **{f"worker_{i}": ["source"] for i in range(count - 1)}}


def environments(snapshot: Any, extra: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    return {name: {**BASE_ENVIRONMENT, **(extra or {})} for name in snapshot.step_configurations}
