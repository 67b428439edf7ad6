"""The step operator: one step run as one SageMaker job, checked first, with no secret in it.

Driven with botocore's Stubber: no AWS, no emulator, no ZenML store (the step run's info and
ZenML's metadata call are stand-ins).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from zenml.config import DockerSettings, ResourceSettings
from zenml.enums import ExecutionStatus, StackComponentType

from sagemaker_stack.flavor import SagemakerJobsStepOperatorConfig, SagemakerJobsStepOperatorSettings
from sagemaker_stack.step.entrypoint import ENTRYPOINT_COMMAND, ENV_SECRET_ARN
from sagemaker_stack.step_operator import step_operator as module
from sagemaker_stack.step_operator.jobs import PROCESSING, TRAINING
from sagemaker_stack.step_operator.request import InvalidStepError
from sagemaker_stack.step_operator.step_operator import (
    METADATA_JOB_KIND,
    METADATA_JOB_NAME,
    JobFailed,
    SagemakerJobsStepOperator,
)
from tests.support.runtime_fakes import BASE_ENVIRONMENT, IMAGE, REGION, ROLE_ARN, SECRET_ARN, TOKEN

BUCKET = "sagemaker-stack-artifacts"
COMMAND = [*ENTRYPOINT_COMMAND, "--entrypoint_config_source", "x.Y", "--step_run_id", "abc"]


def make_operator(
    monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> tuple[SagemakerJobsStepOperator, Stubber]:
    config = SagemakerJobsStepOperatorConfig(
        execution_role_arn=ROLE_ARN,
        region=REGION,
        bucket=BUCKET,
        secret_arn=SECRET_ARN,
        resource_prefix="smstack",
    )
    now = datetime.now(UTC)
    operator = SagemakerJobsStepOperator(
        name="sagemaker-jobs",
        id=uuid.uuid4(),
        config=config,
        flavor="sagemaker_stack_jobs",
        type=StackComponentType.STEP_OPERATOR,
        user=None,
        created=now,
        updated=now,
    )
    monkeypatch.setattr(operator, "get_settings", lambda _: SagemakerJobsStepOperatorSettings(**settings))
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    monkeypatch.setattr(operator, "_client", lambda service, config=None: client)
    return operator, stubber


def step_info(resources: dict[str, Any] | None = None) -> Any:
    step_run = SimpleNamespace(id=uuid.uuid4(), run_metadata={})
    return SimpleNamespace(
        step_run_id=step_run.id,
        step_run=step_run,
        pipeline_step_name="trainer",
        config=SimpleNamespace(
            resource_settings=ResourceSettings(**(resources or {})), docker_settings=DockerSettings()
        ),
        get_image=lambda key: IMAGE,
        force_write_logs=lambda: None,
    )


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    import zenml.orchestrators.publish_utils as publish_utils

    monkeypatch.setattr(publish_utils, "publish_step_run_metadata", lambda *args: calls.append(args))
    return calls


def test_a_step_becomes_one_processing_job_with_the_stacks_role_and_no_credential(
    monkeypatch: pytest.MonkeyPatch, published: list[Any]
) -> None:
    operator, stubber = make_operator(monkeypatch)
    seen: dict[str, Any] = {}

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.update(params)

    stubber.client.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob", record)
    stubber.add_response(
        "create_processing_job",
        {"ProcessingJobArn": "arn:job"},
        {
            **{
                k: ANY
                for k in (
                    "ProcessingJobName",
                    "ProcessingResources",
                    "AppSpecification",
                    "RoleArn",
                    "StoppingCondition",
                    "Environment",
                )
            }
        },
    )
    info = step_info(resources={"cpu_count": 16, "memory": "64GB"})
    environment = {**BASE_ENVIRONMENT, "ZENML_STEP_OPERATOR": "True"}

    operator.submit(info, list(COMMAND), environment)

    stubber.assert_no_pending_responses()
    assert seen["RoleArn"] == ROLE_ARN
    assert seen["AppSpecification"] == {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": list(ENTRYPOINT_COMMAND),
        "ContainerArguments": COMMAND[len(ENTRYPOINT_COMMAND) :],
    }
    cluster = seen["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == 1
    assert cluster["InstanceType"] == "ml.m5.4xlarge"  # the cheapest with 16 vCPUs and 64 GB
    assert seen["Environment"][ENV_SECRET_ARN] == SECRET_ARN
    assert seen["Environment"]["ZENML_ACTIVE_STACK_ID"] == BASE_ENVIRONMENT["ZENML_ACTIVE_STACK_ID"]
    for name in ("ZENML_STORE_URL", "ZENML_STORE_API_TOKEN"):
        assert name not in seen["Environment"]
    assert TOKEN not in json.dumps(seen)
    assert seen["ProcessingJobName"].startswith("smstack-trainer-")
    assert len(seen["ProcessingJobName"]) <= 63
    ((step_run_id, metadata),) = published
    assert step_run_id == info.step_run_id
    assert metadata[operator.id][METADATA_JOB_NAME] == seen["ProcessingJobName"]
    assert info.step_run.run_metadata[METADATA_JOB_KIND] == PROCESSING


def test_a_training_step_writes_its_output_under_the_stacks_bucket(
    monkeypatch: pytest.MonkeyPatch, published: list[Any]
) -> None:
    operator, stubber = make_operator(monkeypatch, use_training_step=True, instance_type="ml.g5.xlarge")
    seen: dict[str, Any] = {}
    stubber.client.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: seen.update(params)
    )
    stubber.add_response("create_training_job", {"TrainingJobArn": "arn:job"}, None)

    operator.submit(step_info(), list(COMMAND), dict(BASE_ENVIRONMENT))

    assert seen["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    assert seen["OutputDataConfig"]["S3OutputPath"].startswith(
        f"s3://{BUCKET}/sagemaker-jobs/{seen['TrainingJobName']}"
    )
    assert seen["AlgorithmSpecification"]["ContainerEntrypoint"] == list(ENTRYPOINT_COMMAND)


def test_bad_settings_are_refused_before_any_aws_call_all_at_once(
    monkeypatch: pytest.MonkeyPatch, published: list[Any]
) -> None:
    operator, stubber = make_operator(
        monkeypatch, instance_type="ml.nonsense.huge", volume_size_in_gb=0, tags={"": "x"}
    )

    with pytest.raises(InvalidStepError) as refused:
        operator.submit(step_info(), list(COMMAND), dict(BASE_ENVIRONMENT))

    message = str(refused.value)
    assert message.startswith("step 'trainer' cannot run as a SageMaker job (")
    assert "instance_type = 'ml.nonsense.huge'" in message
    assert "volume_size_in_gb = 0" in message
    assert "tags" in message
    stubber.assert_no_pending_responses()  # no request was answered: none was sent
    assert not published


def test_credentials_in_a_steps_environment_are_refused_on_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, _ = make_operator(monkeypatch, environment={"MY_API_TOKEN": "abc"})
    step = SimpleNamespace(
        config=SimpleNamespace(
            uses_step_operator=lambda name: True,
            resource_settings=ResourceSettings(),
            docker_settings=DockerSettings(),
            environment={},
        )
    )
    snapshot = SimpleNamespace(
        pipeline_configuration=SimpleNamespace(environment={}), step_configurations={"trainer": step}
    )

    with pytest.raises(InvalidStepError, match="MY_API_TOKEN looks like a credential"):
        operator.get_docker_builds(snapshot)  # type: ignore[arg-type]


def _step_run(kind: str = PROCESSING) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(), run_metadata={METADATA_JOB_NAME: "smstack-job", METADATA_JOB_KIND: kind}
    )


def test_the_wait_outlasts_an_outage_and_raises_sagemakers_failure_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, stubber = make_operator(monkeypatch)
    monkeypatch.setenv("SAGEMAKER_STACK_POLL_SECONDS", "0")
    monkeypatch.setattr(
        module.jobs, "log_tail", lambda logs, job: ["Traceback ...", "ImportError: no module x"]
    )
    monkeypatch.setattr(
        "zenml.client.Client.get_run_step",
        lambda self, step_run_id, hydrate=True: SimpleNamespace(exception_info=None),
    )
    request = {"ProcessingJobName": "smstack-job"}
    stubber.add_client_error("describe_processing_job", "ServiceUnavailable", http_status_code=503)
    stubber.add_client_error("describe_processing_job", "ThrottlingException", http_status_code=400)
    described = {
        "ProcessingJobName": "smstack-job",
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingJobArn": "arn:job",
        "CreationTime": datetime.now(UTC),
    }
    stubber.add_response(
        "describe_processing_job", {**described, "ProcessingJobStatus": "InProgress"}, request
    )
    stubber.add_response(
        "describe_processing_job",
        {**described, "ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: exit code 2"},
        request,
    )
    monkeypatch.setattr(operator, "_client", lambda service, config=None: stubber.client)

    with pytest.raises(JobFailed) as failed:
        operator.wait(_step_run())

    assert "smstack-job failed: AlgorithmError: exit code 2" in str(failed.value)
    assert "ImportError: no module x" in str(failed.value)
    stubber.assert_no_pending_responses()


def test_status_and_cancel_follow_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    operator, stubber = make_operator(monkeypatch)
    described = {
        "TrainingJobName": "smstack-job",
        "TrainingJobArn": "arn:job",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {},
        "CreationTime": datetime.now(UTC),
    }
    stubber.add_response("describe_training_job", described, {"TrainingJobName": "smstack-job"})
    stubber.add_response("stop_training_job", {}, {"TrainingJobName": "smstack-job"})
    stubber.add_client_error(
        "stop_training_job", "ValidationException", "The job is in status Completed", 400
    )
    # refused: the job is looked at, and it has ended, so there was nothing to stop
    stubber.add_response("describe_training_job", described, {"TrainingJobName": "smstack-job"})

    assert operator.get_status(_step_run(TRAINING)) is ExecutionStatus.COMPLETED
    operator.cancel(_step_run(TRAINING))
    operator.cancel(_step_run(TRAINING))  # stopping an ended job is no error
    stubber.assert_no_pending_responses()
