"""Pipeline versions in the emulator, as SageMaker keeps them, and the orchestrator's pin on them.

Each step writes the `RUN` value of its own definition to the file its `OUT` names: which file
holds what tells which definition an execution really ran, not only what the API says.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.orchestrator import execution
from tests.support.emulator import ROLE_ARN, Pipelines, definition, python_step

WRITE_RUN = "import os; open(os.environ['OUT'], 'w').write(os.environ['RUN'])"


def writing(run: str, out: Path) -> str:
    """A one-step definition whose step writes `run` to `out`."""
    return definition(python_step("write", WRITE_RUN, environment={"RUN": run, "OUT": str(out)}))


def request(name: str, run: str, out: Path) -> execution.PipelineRequest:
    return execution.PipelineRequest(name=name, definition=writing(run, out), role_arn=ROLE_ARN)


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_every_update_is_a_version_that_can_be_described_listed_and_started(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    sagemaker = pipelines.sagemaker
    sagemaker.create_pipeline(
        PipelineName="versioned", PipelineDefinition=writing("v1", tmp_path / "v1"), RoleArn=ROLE_ARN
    )
    updated = [
        sagemaker.update_pipeline(PipelineName="versioned", PipelineDefinition=writing(run, tmp_path / run))[
            "PipelineVersionId"
        ]
        for run in ("v2", "v3")
    ]
    assert updated == [2, 3]
    assert sagemaker.describe_pipeline(PipelineName="versioned")["PipelineDefinition"] == writing(
        "v3", tmp_path / "v3"
    )
    first = sagemaker.describe_pipeline(PipelineName="versioned", PipelineVersionId=1)
    assert first["PipelineDefinition"] == writing("v1", tmp_path / "v1")

    pages = sagemaker.get_paginator("list_pipeline_versions").paginate(
        PipelineName="versioned", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    listed = [[item["PipelineVersionId"] for item in page["PipelineVersionSummaries"]] for page in pages]
    assert listed == [[1, 2], [3]]
    newest = sagemaker.list_pipeline_versions(PipelineName="versioned", MaxResults=1)[
        "PipelineVersionSummaries"
    ]
    assert [item["PipelineVersionId"] for item in newest] == [3]  # Descending unless asked

    arn = sagemaker.start_pipeline_execution(PipelineName="versioned", PipelineVersionId=1)[
        "PipelineExecutionArn"
    ]
    described = pipelines.wait(arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert described["PipelineVersionId"] == 1
    assert (tmp_path / "v1").read_text() == "v1" and not (tmp_path / "v3").exists()
    ran = sagemaker.describe_pipeline_definition_for_execution(PipelineExecutionArn=arn)["PipelineDefinition"]
    assert ran == writing("v1", tmp_path / "v1")
    summaries = sagemaker.list_pipeline_versions(PipelineName="versioned", SortOrder="Ascending")
    assert summaries["PipelineVersionSummaries"][0]["LastExecutionPipelineExecutionArn"] == arn

    with pytest.raises(ClientError) as unknown:
        sagemaker.start_pipeline_execution(PipelineName="versioned", PipelineVersionId=9)
    assert _error(unknown)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as unknown:
        sagemaker.describe_pipeline(PipelineName="versioned", PipelineVersionId=9)
    assert _error(unknown)[0] == "ResourceNotFound"


def test_a_second_create_of_a_name_is_refused_as_aws_does_and_changes_nothing(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    sagemaker = pipelines.sagemaker
    sagemaker.create_pipeline(
        PipelineName="taken", PipelineDefinition=writing("a", tmp_path / "a"), RoleArn=ROLE_ARN
    )
    with pytest.raises(ClientError) as refused:
        sagemaker.create_pipeline(
            PipelineName="taken", PipelineDefinition=writing("b", tmp_path / "b"), RoleArn=ROLE_ARN
        )
    code, message = _error(refused)
    assert code == "ValidationException" and "Pipeline with name (taken) already exists" in message
    assert sagemaker.describe_pipeline(PipelineName="taken")["PipelineDefinition"] == writing(
        "a", tmp_path / "a"
    )
    versions = sagemaker.list_pipeline_versions(PipelineName="taken")["PipelineVersionSummaries"]
    assert [item["PipelineVersionId"] for item in versions] == [1]


def _run_before(client: Any, operation: str, action: Any) -> None:
    """Call `action` once, just before `client` sends its next `operation` request."""
    done = threading.Event()

    def hook(**_: Any) -> None:
        if not done.is_set():
            done.set()
            action()

    client.meta.events.register(f"before-call.sagemaker.{operation}", hook)


def test_a_run_executes_its_own_definition_when_another_updates_between_its_update_and_start(
    pipelines: Pipelines, emulator: Any, tmp_path: Path
) -> None:
    first = execution.submit(pipelines.sagemaker, request("raced", "first", tmp_path / "first"))
    assert pipelines.wait(first.execution_arn)["PipelineExecutionStatus"] == "Succeeded"
    a_client, b_client = emulator.client("sagemaker"), emulator.client("sagemaker")
    b: list[execution.Submission] = []
    # Run B updates the pipeline (and starts) after run A's update, before A's start.
    _run_before(
        a_client,
        "StartPipelineExecution",
        lambda: b.append(execution.submit(b_client, request("raced", "B", tmp_path / "b"))),
    )
    a = execution.submit(a_client, request("raced", "A", tmp_path / "a"))

    for submission in (a, b[0]):
        assert pipelines.wait(submission.execution_arn)["PipelineExecutionStatus"] == "Succeeded"
    assert (tmp_path / "a").read_text() == "A"
    assert (tmp_path / "b").read_text() == "B"


def test_two_first_runs_racing_to_create_the_pipeline_both_run_their_own_definition(
    pipelines: Pipelines, emulator: Any, tmp_path: Path
) -> None:
    a_client, b_client = emulator.client("sagemaker"), emulator.client("sagemaker")
    b: list[execution.Submission] = []
    # Both found no pipeline; B creates (and starts) it just before A's CreatePipeline.
    _run_before(
        a_client,
        "CreatePipeline",
        lambda: b.append(execution.submit(b_client, request("new", "B", tmp_path / "b"))),
    )
    a = execution.submit(a_client, request("new", "A", tmp_path / "a"))

    assert b[0].created and not a.created
    for submission in (a, b[0]):
        assert pipelines.wait(submission.execution_arn)["PipelineExecutionStatus"] == "Succeeded"
    assert (tmp_path / "a").read_text() == "A"
    assert (tmp_path / "b").read_text() == "B"
    versions = pipelines.sagemaker.list_pipeline_versions(PipelineName="new", SortOrder="Ascending")
    assert [item["PipelineVersionId"] for item in versions["PipelineVersionSummaries"]] == [1, 2]


def test_a_deleted_pipeline_takes_its_executions_with_it(pipelines: Pipelines, tmp_path: Path) -> None:
    sagemaker = pipelines.sagemaker
    arn = pipelines.start(python_step("quick", "pass"))
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    name = arn.split("/")[1]
    sagemaker.delete_pipeline(PipelineName=name)
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert _error(gone)[0] == "ResourceNotFound"
    # A new pipeline of the same name starts again from version 1, with no executions.
    sagemaker.create_pipeline(
        PipelineName=name, PipelineDefinition=writing("again", tmp_path / "again"), RoleArn=ROLE_ARN
    )
    assert sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"] == []
    versions = sagemaker.list_pipeline_versions(PipelineName=name)["PipelineVersionSummaries"]
    assert [item["PipelineVersionId"] for item in versions] == [1]
