"""`register --connector NAME`: a ZenML AWS service connector linked to the components that call AWS.

A real ZenML server (started knowing the emulator's endpoint, as the local environment's is) keeps
a real `aws` connector with keys of its own; the emulator stands for AWS. The orchestrator made
from the registered component then calls AWS with the connector's keys, not the process's.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.registration.plan import RegistrationError
from sagemaker_stack.ops.registration.store import register
from tests.support.registration import REGION

CONNECTOR_KEY = "AKIAZENMLCONNECTOR01"


def _connector(client: Any) -> Any:
    name = f"aws-{uuid.uuid4().hex[:8]}"
    # ZenML verifies it on the server (sts:GetCallerIdentity): only a server that knows the
    # emulator's endpoint can, exactly as a server on AWS reaches AWS.
    connector, _ = client.create_service_connector(
        name=name,
        connector_type="aws",
        auth_method="secret-key",
        resource_type="aws-generic",
        configuration={
            "region": REGION,
            "aws_access_key_id": CONNECTOR_KEY,
            "aws_secret_access_key": "connector-secret",
        },
    )
    return connector


def test_register_links_the_connector_and_the_orchestrator_calls_aws_with_it(
    deployed: StackConfig, zenml_client: Any, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    connector = _connector(zenml_client)

    first = register(deployed, client=zenml_client, connector=connector.name)

    linked = [line for line in first.changes if line.startswith("linked")]
    assert len(linked) == 2, first.changes  # orchestrator and step operator (no image builder here)
    stack = zenml_client.get_stack(deployed.stack_name, allow_name_prefix_match=False)
    for kind in (StackComponentType.ORCHESTRATOR, StackComponentType.STEP_OPERATOR):
        component = stack.components[kind][0]
        assert component.connector is not None and component.connector.id == connector.id
    assert stack.components[StackComponentType.ARTIFACT_STORE][0].connector is None
    assert register(deployed, client=zenml_client, connector=connector.name).changes == []

    # The client's own check of the connector (sts:GetCallerIdentity) goes where boto3 is pointed,
    # as in a shell of the local environment (`sagemaker-stack local env`).
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    orchestrator: Any = StackComponent.from_model(stack.components[StackComponentType.ORCHESTRATOR][0])
    sagemaker = orchestrator._client("sagemaker")
    assert sagemaker._request_signer._credentials.access_key == CONNECTOR_KEY
    assert "ProcessingJobSummaries" in sagemaker.list_processing_jobs()  # the emulator answers


def test_an_unknown_connector_is_one_message_and_nothing_is_made(
    deployed: StackConfig, zenml_client: Any
) -> None:
    with pytest.raises(RegistrationError) as refused:
        register(deployed, client=zenml_client, connector="no-such-connector")

    assert "no ZenML service connector named 'no-such-connector'" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert zenml_client.list_stacks(name=deployed.stack_name).total == 0
