"""Step groups through the orchestrator: submission, run metadata, status and the watch's message.

One SageMaker step may now run several ZenML steps: every user of the ZenML step -> SageMaker
step mapping must follow it, and runs recorded before groups existed must still be read.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber
from zenml.enums import ExecutionStatus

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings
from sagemaker_stack.orchestrator import run_metadata
from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from tests.support.runtime_fakes import fake_snapshot, make_config
from tests.support.specs import EXAMPLE_SHAPE
from tests.unit.orchestrator.test_orchestrator_status import (
    EXECUTION_ARN,
    JOB_ARN,
    _client,
    _describe,
    _run,
    _step,
)
from tests.unit.orchestrator.test_orchestrator_submit import Recorder, _submit

EXAMPLE = EXAMPLE_SHAPE
GROUP = "load-to-evaluate-5-steps"


def test_steps_are_grouped_by_default() -> None:
    assert SagemakerPipelinesOrchestratorSettings().group_steps is True


def test_a_pipeline_of_one_configuration_is_submitted_as_one_group_job(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    snapshot = fake_snapshot(EXAMPLE, step_settings={"evaluate": {"instance_type": "ml.m5.xlarge"}})
    orchestrator = make_orchestrator(config=make_config(group_steps=True, synchronous=True))
    with recorder.stubber:
        recorder.expect_run(exists=True, snapshot_id=str(snapshot.id))
        result = _submit(orchestrator, snapshot)
        recorder.stubber.assert_no_pending_responses()
    steps = {entry["Name"]: entry for entry in recorder.definition()["Steps"]}
    group = "load-to-train_b-4-steps"
    assert set(steps) == {group, "evaluate"}
    arguments = steps[group]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments == [
        "--entrypoint_config_source",
        "sagemaker_stack.step.configuration.SagemakerStackStepGroupConfiguration",
        "--snapshot_id",
        {"Get": "Parameters.ZenMLSnapshotId"},
        "--step_names",
        "load",
        "split",
        "train_a",
        "train_b",
    ]
    assert steps["evaluate"]["DependsOn"] == [group]
    metadata = result.metadata
    assert metadata["sagemaker_step_names"] == {
        group: ["load", "split", "train_a", "train_b"],
        "evaluate": ["evaluate"],
    }
    urls = metadata["step_log_urls"]
    assert urls["load"] == urls["train_b"] != urls["evaluate"]
    assert "pipelines-abc123def456-load-to-train-b" in urls["load"]  # the group job's streams


def test_a_step_turning_grouping_off_keeps_its_own_job(make_orchestrator: Any, recorder: Recorder) -> None:
    snapshot = fake_snapshot(EXAMPLE, step_settings={"train_b": {"group_steps": False}})
    with recorder.stubber:
        recorder.expect_run(exists=True)
        _submit(make_orchestrator(pipeline_settings={"group_steps": True}), snapshot)
    names = {entry["Name"] for entry in recorder.definition()["Steps"]}
    # evaluate needs train_b, which needs the group: evaluate joining it would make a cycle.
    assert names == {"load-to-train_a-3-steps", "train_b", "evaluate"}


def test_fetch_status_gives_every_step_of_a_group_the_group_status(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client("sagemaker")
    monkeypatch.setattr(
        orchestrator_module.SagemakerPipelinesOrchestrator, "_client", lambda self, service: client
    )
    names = {GROUP: list(EXAMPLE)[:-1], "evaluate": ["evaluate"]}
    for recorded in (names, json.dumps(names)):  # ZenML may hand the dict back as a string
        run = _run({"orchestrator_run_id": EXECUTION_ARN, "sagemaker_step_names": recorded})
        with Stubber(client) as stubber:
            _describe(stubber, "Executing", [_step(GROUP, "Executing")])
            _, steps = make_orchestrator().fetch_status(run, include_steps=True)
        assert steps == dict.fromkeys(["load", "split", "train_a", "train_b"], ExecutionStatus.RUNNING)


def test_old_runs_one_zenml_name_per_sagemaker_step_are_still_read() -> None:
    run = _run({"sagemaker_step_names": {"long-name-1a2b3c4d": "long.name", "b": ["b"]}})
    assert run_metadata.step_names_of(run) == {"long-name-1a2b3c4d": ["long.name"], "b": ["b"]}


def test_a_failed_group_is_named_with_its_steps(make_orchestrator: Any, watched: tuple[Any, Any]) -> None:
    sagemaker, logs = watched
    built = SimpleNamespace(step_names={"load": "load-to-split-2-steps", "split": "load-to-split-2-steps"})
    with Stubber(sagemaker) as sm, Stubber(logs) as cw:
        _describe(sm, "Failed", [_step("load-to-split-2-steps", "Failed", "AlgorithmError: exit 1", JOB_ARN)])
        cw.add_response("describe_log_streams", {"logStreams": []})
        with pytest.raises(RuntimeError) as caught:
            make_orchestrator()._wait(EXECUTION_ARN, built, None, 600)
    message = str(caught.value)
    assert "Step group 'load-to-split-2-steps' (ZenML steps load, split) failed: AlgorithmError" in message
