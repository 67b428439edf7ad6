"""Dynamic pipelines: an orchestration job and a standalone job per isolated step, no secret sent.

ZenML 0.98's dynamic runner calls `submit_dynamic_pipeline` on the client, then from inside the
orchestration job `submit_isolated_step`, `get_isolated_step_status` and `stop_isolated_step`;
`fetch_status` and `_stop_run` serve `zenml pipeline runs refresh / stop`. All driven here with
botocore's Stubber: no network, no ZenML store.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from zenml.config import DockerSettings, ResourceSettings
from zenml.enums import ExecutionStatus

from sagemaker_stack.orchestrator import dynamic_run, run_metadata
from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.step.entrypoint import (
    DYNAMIC_PIPELINE_CONFIGURATION_SOURCE,
    ENTRYPOINT_COMMAND,
    ENV_EXECUTION_ARN,
    ENV_ORCHESTRATION_JOB,
    ENV_SECRET_ARN,
    ISOLATED_STEP_CONFIGURATION_SOURCE,
)
from tests.support.runtime_fakes import (
    ACCOUNT,
    BASE_ENVIRONMENT,
    IMAGE,
    REGION,
    ROLE_ARN,
    SECRET_ARN,
    TOKEN,
    fake_snapshot,
)

JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/smstack-fan-out-0123abcd"


class Recorder:
    """A stubbed SageMaker client that keeps every request it answered."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.stubber = Stubber(self.client)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("provide-client-params.sagemaker.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, dict(params)))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Any:
    recorded = Recorder()
    monkeypatch.setattr(
        orchestrator_module.SagemakerPipelinesOrchestrator,
        "_client",
        lambda self, service, config=None: recorded.client,
    )
    return recorded


def _dynamic_snapshot(**kwargs: Any) -> Any:
    snapshot = fake_snapshot({"load": [], "square": [], "total": []}, name="fan_out", **kwargs)
    snapshot.is_dynamic = True
    snapshot.pipeline_configuration.docker_settings = DockerSettings()
    return snapshot


def test_the_orchestrator_runs_dynamic_pipelines_and_isolated_steps(make_orchestrator: Any) -> None:
    orchestrator = make_orchestrator()
    assert orchestrator.supports_dynamic_pipelines
    assert orchestrator.can_run_isolated_steps
    assert orchestrator.can_stop_isolated_steps


def test_a_dynamic_run_is_one_processing_job_that_reads_the_secret(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    snapshot = _dynamic_snapshot()
    run = SimpleNamespace(id=uuid.uuid4(), name="fan_out-run", orchestrator_run_id=None)
    recorder.stubber.add_response("create_processing_job", {"ProcessingJobArn": JOB_ARN}, None)
    with recorder.stubber:
        result = make_orchestrator().submit_dynamic_pipeline(
            snapshot, stack=None, environment=dict(BASE_ENVIRONMENT), placeholder_run=run
        )
    [(operation, request)] = recorder.requests
    assert operation == "CreateProcessingJob"
    text = json.dumps(request)
    assert TOKEN not in text and "ZENML_STORE_API_TOKEN" not in text and "ZENML_STORE_URL" not in text
    name = request["ProcessingJobName"]
    assert name.startswith("smstack-fan-out-") and len(name) <= 63
    environment = request["Environment"]
    assert environment[ENV_SECRET_ARN] == SECRET_ARN
    assert environment[ENV_ORCHESTRATION_JOB] == name
    assert ENV_EXECUTION_ARN not in environment
    assert request["RoleArn"] == ROLE_ARN
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.t3.medium"
    app = request["AppSpecification"]
    assert app["ImageUri"] == IMAGE
    assert app["ContainerEntrypoint"] == list(ENTRYPOINT_COMMAND)
    arguments = app["ContainerArguments"]
    assert (
        arguments[arguments.index("--entrypoint_config_source") + 1] == DYNAMIC_PIPELINE_CONFIGURATION_SOURCE
    )
    assert arguments[arguments.index("--snapshot_id") + 1] == str(snapshot.id)
    assert arguments[arguments.index("--run_id") + 1] == str(run.id)
    assert result is not None and result.wait_for_completion is None  # synchronous=False
    assert result.metadata[run_metadata.METADATA_ORCHESTRATION_JOB_NAME] == name
    assert result.metadata[run_metadata.METADATA_ORCHESTRATION_JOB_KIND] == "processing"
    assert name in str(result.metadata["orchestrator_url"])
    assert name in str(result.metadata["orchestrator_logs_url"]).replace("$252F", "/").replace("$2F", "/")


def test_a_dynamic_pipeline_with_invalid_settings_is_refused_before_any_call(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_call(self: Any, service: str, config: Any = None) -> Any:
        raise AssertionError(f"{service} was called before the settings were checked")

    monkeypatch.setattr(orchestrator_module.SagemakerPipelinesOrchestrator, "_client", no_call)
    snapshot = _dynamic_snapshot(
        step_settings={"square": {"instance_type": "ml.bogus.large"}, "total": {"volume_size_in_gb": 0}}
    )
    with pytest.raises(InvalidPipelineError) as refused:
        make_orchestrator().submit_dynamic_pipeline(
            snapshot, stack=None, environment={}, placeholder_run=None
        )
    message = str(refused.value)
    assert "step 'square'" in message and "ml.bogus.large" in message
    assert "step 'total'" in message and "volume_size_in_gb" in message
    assert "'load'" not in message


def _step_run_info(resources: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> Any:
    step_run = SimpleNamespace(id=uuid.uuid4(), name="square", run_metadata={})
    return SimpleNamespace(
        pipeline_step_name="square",
        pipeline=SimpleNamespace(name="fan_out"),
        snapshot=SimpleNamespace(id=uuid.uuid4()),
        config=SimpleNamespace(
            command=None,
            settings={},
            resource_settings=ResourceSettings(**(resources or {})),
            docker_settings=DockerSettings(),
        ),
        fake_settings=dict(settings or {}),
        get_image=lambda key: IMAGE,
        step_run_id=step_run.id,
        step_run=step_run,
    )


def test_an_isolated_step_is_its_own_job_sized_by_its_resource_settings(
    make_orchestrator: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: dict[str, Any] = {}
    monkeypatch.setattr(
        "zenml.orchestrators.publish_utils.publish_step_run_metadata",
        lambda step_run_id, metadata: published.update({str(step_run_id): metadata}),
    )
    info = _step_run_info(resources={"cpu_count": 4, "memory": "16GB"})
    recorder.stubber.add_response("create_processing_job", {"ProcessingJobArn": JOB_ARN}, None)
    with recorder.stubber:
        make_orchestrator().submit_isolated_step(info, environment=dict(BASE_ENVIRONMENT))
    [(operation, request)] = recorder.requests
    assert operation == "CreateProcessingJob"
    assert TOKEN not in json.dumps(request)
    assert request["ProcessingJobName"].startswith("smstack-fan-out-square-")
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] != "ml.t3.medium"
    arguments = request["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--entrypoint_config_source") + 1] == ISOLATED_STEP_CONFIGURATION_SOURCE
    assert arguments[arguments.index("--step_run_id") + 1] == str(info.step_run_id)
    assert request["Environment"][ENV_SECRET_ARN] == SECRET_ARN
    assert info.step_run.run_metadata[run_metadata.METADATA_JOB_NAME] == request["ProcessingJobName"]
    assert run_metadata.METADATA_JOB_LOGS_URL in next(iter(published[str(info.step_run_id)].values()))


def test_an_isolated_step_with_an_invalid_setting_is_refused_naming_it(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    info = _step_run_info(settings={"max_runtime_in_seconds": 0})
    with (
        recorder.stubber,
        pytest.raises(InvalidPipelineError, match=r"step 'square'.*max_runtime_in_seconds"),
    ):
        make_orchestrator().submit_isolated_step(info, environment={})
    assert recorder.requests == []


def _job_step(name: str, kind: str, status: ExecutionStatus) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        name=name,
        status=status,
        run_metadata={run_metadata.METADATA_JOB_NAME: f"job-{name}", run_metadata.METADATA_JOB_KIND: kind},
    )


def test_isolated_step_status_and_stop_use_its_job(make_orchestrator: Any, recorder: Recorder) -> None:
    step = _job_step("square", "training", ExecutionStatus.RUNNING)
    describe = {"TrainingJobName": "job-square"}
    base = {
        "TrainingJobName": "job-square",
        "TrainingJobArn": JOB_ARN,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"VolumeSizeInGB": 30},
        "StoppingCondition": {},
        "CreationTime": "2026-01-01T00:00:00Z",
        "SecondaryStatus": "Training",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"},
    }
    recorder.stubber.add_response(
        "describe_training_job", {**base, "TrainingJobStatus": "Stopping"}, describe
    )
    recorder.stubber.add_response(
        "describe_training_job", {**base, "TrainingJobStatus": "Completed"}, describe
    )
    recorder.stubber.add_response("stop_training_job", {}, describe)
    orchestrator = make_orchestrator()
    with recorder.stubber:
        assert orchestrator.get_isolated_step_status(step) is ExecutionStatus.RUNNING  # still stopping
        assert orchestrator.get_isolated_step_status(step) is ExecutionStatus.COMPLETED
        orchestrator.stop_isolated_step(step)
        recorder.stubber.assert_no_pending_responses()


def _dynamic_run(steps: dict[str, Any], status: ExecutionStatus = ExecutionStatus.RUNNING) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        name="fan_out-run",
        status=status,
        orchestrator_run_id="smstack-fan-out-0123abcd",
        run_metadata={
            run_metadata.METADATA_ORCHESTRATION_JOB_NAME: "smstack-fan-out-0123abcd",
            run_metadata.METADATA_ORCHESTRATION_JOB_KIND: "processing",
        },
        steps=steps,
    )


def _processing(status: str, name: str = "smstack-fan-out-0123abcd") -> dict[str, Any]:
    return {
        "ProcessingJobName": name,
        "ProcessingJobArn": JOB_ARN,
        "ProcessingJobStatus": status,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE_ARN,
        "CreationTime": "2026-01-01T00:00:00Z",
    }


def test_stopping_a_dynamic_run_stops_its_orchestration_job_and_running_isolated_jobs(
    make_orchestrator: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = _job_step("square", "training", ExecutionStatus.RUNNING)
    finished = _job_step("load", "processing", ExecutionStatus.COMPLETED)
    inline = SimpleNamespace(id=uuid.uuid4(), name="total", status=ExecutionStatus.RUNNING, run_metadata={})
    monkeypatch.setattr(
        "zenml.utils.pagination_utils.depaginate", lambda method, **kwargs: [running, finished, inline]
    )
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(list_run_steps=None))
    recorder.stubber.add_response(
        "stop_processing_job", {}, {"ProcessingJobName": "smstack-fan-out-0123abcd"}
    )
    recorder.stubber.add_response("stop_training_job", {}, {"TrainingJobName": "job-square"})
    with recorder.stubber:
        make_orchestrator()._stop_run(_dynamic_run({}))
        recorder.stubber.assert_no_pending_responses()
    assert [operation for operation, _ in recorder.requests] == ["StopProcessingJob", "StopTrainingJob"]


def test_stopping_a_job_that_already_ended_is_not_an_error(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    step = _job_step("load", "processing", ExecutionStatus.RUNNING)
    recorder.stubber.add_client_error(
        "stop_processing_job", service_error_code="ValidationException", http_status_code=400
    )
    recorder.stubber.add_response("describe_processing_job", _processing("Completed", "job-load"), None)
    with recorder.stubber:
        make_orchestrator().stop_isolated_step(step)


def test_fetch_status_of_a_dynamic_run_follows_its_jobs(make_orchestrator: Any, recorder: Recorder) -> None:
    isolated = _job_step("square", "processing", ExecutionStatus.RUNNING)
    inline = SimpleNamespace(id=uuid.uuid4(), name="total", status=ExecutionStatus.RUNNING, run_metadata={})
    done = SimpleNamespace(id=uuid.uuid4(), name="load", status=ExecutionStatus.COMPLETED, run_metadata={})
    recorder.stubber.add_response("describe_processing_job", _processing("Stopped"), None)
    recorder.stubber.add_response("describe_processing_job", _processing("Stopped", "job-square"), None)
    with recorder.stubber:
        status, steps = make_orchestrator().fetch_status(
            _dynamic_run({"square": isolated, "total": inline, "load": done}), include_steps=True
        )
    assert status is ExecutionStatus.STOPPED
    assert steps == {"square": ExecutionStatus.STOPPED, "total": ExecutionStatus.STOPPED}


def test_the_orchestration_job_is_the_run_id(make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EXECUTION_ARN, raising=False)
    monkeypatch.setenv(ENV_ORCHESTRATION_JOB, "smstack-fan-out-0123abcd")
    assert make_orchestrator().get_orchestrator_run_id() == "smstack-fan-out-0123abcd"


def test_a_scheduled_dynamic_pipeline_is_refused(make_orchestrator: Any) -> None:
    snapshot = _dynamic_snapshot()
    snapshot.schedule = SimpleNamespace(cron_expression="0 * * * *")
    with pytest.raises(InvalidPipelineError, match="cannot be scheduled"):
        make_orchestrator().submit_dynamic_pipeline(snapshot, stack=None, environment={})


def test_a_failed_orchestration_job_names_its_reason(
    make_orchestrator: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEMAKER_STACK_POLL_SECONDS", "0")
    failed = {**_processing("Failed"), "FailureReason": "AlgorithmError: the pipeline function raised"}
    recorder.stubber.add_response("describe_processing_job", failed, None)
    with recorder.stubber, pytest.raises(RuntimeError, match="AlgorithmError: the pipeline function raised"):
        make_orchestrator()._wait_for_job(
            dynamic_run.JobRef("processing", "smstack-fan-out-0123abcd"), None, 60
        )


def test_job_names_fit_sagemaker_and_never_collide() -> None:
    from sagemaker_stack.orchestrator import service_model, standalone_jobs

    long_step = "a_step_with_a_very_long_name_that_goes_on.and_on" * 2
    names = {standalone_jobs.job_name("smstack", "fan_out", long_step) for _ in range(50)}
    assert len(names) == 50  # a retried or resumed step gets a job of its own
    shape = service_model.input_shape("CreateProcessingJob").members["ProcessingJobName"]
    for name in names:
        assert name.startswith("smstack-fan-out-a-step-with")
        assert list(service_model.shape_problems(name, shape, "ProcessingJobName")) == []
