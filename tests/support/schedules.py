"""Helpers of the schedule integration tests: a StackConfig for the emulator, a ZenML stand-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from sagemaker_stack.config import StackConfig
from tests.support.schedules_fakes import StoredSchedule

ACCOUNT = "123456789012"
SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/schedtest-scheduler"
PIPELINE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/schedtest-training"


@dataclass(frozen=True)
class Stored(StoredSchedule):
    """A stored ZenML schedule with an id of its own: the emulator tests keep many at once."""

    id: UUID = field(default_factory=uuid4)


def stack_config(endpoint_url: str, **changes: Any) -> StackConfig:
    values: dict[str, Any] = {
        "stack_name": "schedtest",
        "region": "us-east-1",
        "account": ACCOUNT,
        "resource_prefix": "schedtest",
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/schedtest-execution",
        "bucket_name": "schedtest-artifacts",
        "artifact_path": "s3://schedtest-artifacts/zenml",
        "registry_uri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        "repository_name": "schedtest",
        "secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:schedtest-zenml-AbCdEf",
        "scheduler_role_arn": SCHEDULER_ROLE,
        "endpoint_url": endpoint_url,
    }
    values.update(changes)
    return StackConfig(**values)
