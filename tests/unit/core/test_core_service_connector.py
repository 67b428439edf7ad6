"""A linked AWS service connector's credentials make our components' AWS calls; none: the default chain.

The components are real (the orchestrator, the step operator), their connector a stand-in for
what ZenML's `get_connector()` returns: the test looks at the credentials of the client the
component makes, never at a network.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from zenml.enums import StackComponentType

from sagemaker_stack.flavor import SagemakerJobsStepOperatorConfig
from sagemaker_stack.orchestrator.sagemaker_orchestrator import SagemakerPipelinesOrchestrator
from sagemaker_stack.service_connector import ConnectorError
from sagemaker_stack.step_operator.step_operator import SagemakerJobsStepOperator
from tests.support.runtime_fakes import REGION, ROLE_ARN, SECRET_ARN, make_config

CONNECTOR_KEY = "AKIACONNECTORKEY0001"


class Connector:
    """What ZenML's AWS connector gives for the aws-generic resource: a boto3 session."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def connect(self) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _components(connector: uuid.UUID | None) -> list[Any]:
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user": None,
        "created": now,
        "updated": now,
        "connector": connector,
    }
    step_operator_config = SagemakerJobsStepOperatorConfig(
        execution_role_arn=ROLE_ARN, region=REGION, bucket="b", secret_arn=SECRET_ARN, resource_prefix="p"
    )
    return [
        SagemakerPipelinesOrchestrator(
            name="orchestrator",
            config=make_config(),
            flavor="sagemaker_pipelines",
            type=StackComponentType.ORCHESTRATOR,
            **common,
        ),
        SagemakerJobsStepOperator(
            name="jobs",
            config=step_operator_config,
            flavor="sagemaker_stack_jobs",
            type=StackComponentType.STEP_OPERATOR,
            **common,
        ),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["orchestrator", "step operator"])
def test_a_linked_connectors_session_makes_the_client(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADEFAULTCHAIN0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "default")
    session = boto3.session.Session(aws_access_key_id=CONNECTOR_KEY, aws_secret_access_key="connector")
    component = _components(uuid.uuid4())[index]
    monkeypatch.setattr(component, "get_connector", lambda: Connector(session))

    client = component._client("sagemaker")

    assert client._request_signer._credentials.access_key == CONNECTOR_KEY
    assert client.meta.region_name == REGION


@pytest.mark.parametrize("index", [0, 1], ids=["orchestrator", "step operator"])
def test_without_a_connector_the_default_chain_is_used(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADEFAULTCHAIN0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "default")
    component = _components(None)[index]

    client = component._client("sagemaker")

    assert client._request_signer._credentials.access_key == "AKIADEFAULTCHAIN0001"


@pytest.mark.parametrize(
    "outcome",
    [
        RuntimeError("The connector with ID 1 could not be accessed due to an authorization error"),
        boto3.session.Session(aws_access_key_id=None, aws_secret_access_key=None, profile_name=None),
        "not a session",
    ],
    ids=["refused", "no credentials", "wrong type"],
)
def test_a_connector_that_cannot_give_credentials_fails_with_one_message_naming_it(
    monkeypatch: pytest.MonkeyPatch, outcome: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    component = _components(uuid.uuid4())[1]
    monkeypatch.setattr(component, "get_connector", lambda: Connector(outcome))
    monkeypatch.setattr(
        "zenml.client.Client.get_service_connector",
        lambda self, name_id_or_prefix, hydrate=False: type("C", (), {"name": "team-aws"})(),
    )

    with pytest.raises(ConnectorError) as failed:
        component._client("sagemaker")

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(
        "the AWS service connector 'team-aws' linked to the step operator 'jobs' cannot give credentials ("
    )
    assert "zenml service-connector verify team-aws" in message
