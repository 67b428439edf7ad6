"""Standalone CreateProcessingJob / CreateTrainingJob on the emulator really run, as on SageMaker.

Outside any pipeline execution, a job runs through the same job runner as a pipeline step: its
image from the emulated ECR, its data copied between S3 and its own /opt/ml, its output in
CloudWatch Logs; Describe* report how it really ended, Stop* stops it, List* page.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.emulator import BUCKET, Pipelines, job_request, wait_for_file, wait_for_job

#: Writes its pid to $OUT (so a test knows it runs), then sleeps long.
SLEEPER = "import os, time; open(os.environ['OUT'], 'w').write(str(os.getpid())); time.sleep(600)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _log_events(pipelines: Pipelines, group: str, name: str) -> tuple[str, list[str]]:
    streams = pipelines.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")
    stream = streams["logStreams"][0]["logStreamName"]
    events = pipelines.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return stream, [event["message"] for event in events["events"]]


def test_a_processing_job_whose_command_fails_ends_failed_with_the_reason(pipelines: Pipelines) -> None:
    sagemaker = pipelines.sagemaker
    request = job_request("Processing", "fails", "print('about to fail'); raise SystemExit(3)")
    arn = sagemaker.create_processing_job(**request)["ProcessingJobArn"]

    described = wait_for_job(sagemaker, "Processing", "fails")
    assert described["ProcessingJobArn"] == arn
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("AlgorithmError: the job's command exited with code 3")
    assert "/aws/sagemaker/ProcessingJobs" in described["FailureReason"]
    assert described["ProcessingEndTime"] >= described["CreationTime"]
    stream, lines = _log_events(pipelines, "/aws/sagemaker/ProcessingJobs", "fails")
    assert re.fullmatch(r"fails/algo-1-\d+", stream)
    assert "about to fail" in lines


def test_a_training_job_reports_what_its_container_wrote_to_the_failure_file(pipelines: Pipelines) -> None:
    code = "open('/opt/ml/output/failure', 'w').write('the data has no label column'); raise SystemExit(1)"
    pipelines.sagemaker.create_training_job(**job_request("Training", "bad-data", code))

    described = wait_for_job(pipelines.sagemaker, "Training", "bad-data")
    assert described["TrainingJobStatus"] == "Failed"
    assert described["SecondaryStatus"] == "Failed"
    assert described["FailureReason"] == "AlgorithmError: the data has no label column"


def test_a_processing_job_reads_its_inputs_writes_its_outputs_to_s3_and_logs(pipelines: Pipelines) -> None:
    pipelines.s3.put_object(Bucket=BUCKET, Key="in/numbers.txt", Body=b"1 2 3")
    code = (
        "import os\n"
        "numbers = open('/opt/ml/processing/input/numbers.txt').read().split()\n"
        "open('/opt/ml/processing/output/sum.txt', 'w').write(str(sum(map(int, numbers))))\n"
        "print('summed', os.environ['GREETING'])\n"
    )
    request = job_request(
        "Processing",
        "sums",
        code,
        Environment={"GREETING": "hello"},
        ProcessingInputs=[
            {
                "InputName": "numbers",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/in",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "sum",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/result",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    pipelines.sagemaker.create_processing_job(**request)

    described = wait_for_job(pipelines.sagemaker, "Processing", "sums")
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["Environment"] == {"GREETING": "hello"}
    assert pipelines.s3.get_object(Bucket=BUCKET, Key="result/sum.txt")["Body"].read() == b"6"
    _, lines = _log_events(pipelines, "/aws/sagemaker/ProcessingJobs", "sums")
    assert "summed hello" in lines


def test_a_training_job_uploads_its_model_and_reports_its_secondary_statuses(pipelines: Pipelines) -> None:
    code = "open('/opt/ml/model/weights.txt', 'w').write('42')"
    pipelines.sagemaker.create_training_job(**job_request("Training", "trains", code))

    described = wait_for_job(pipelines.sagemaker, "Training", "trains")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    key = "out/trains/output/model.tar.gz"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/{key}"
    body = pipelines.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        member = archive.extractfile("weights.txt")
        assert member is not None and member.read() == b"42"
    transitions = described["SecondaryStatusTransitions"]
    assert [item["Status"] for item in transitions] == ["Starting", "Downloading", "Training", "Completed"]
    assert all("EndTime" in item for item in transitions)
    assert described["SecondaryStatus"] == "Completed"
    assert described.get("FinalMetricDataList", []) == []  # nothing made up
    assert "MetricDefinitions" not in described["AlgorithmSpecification"]
    stream, _ = _log_events(pipelines, "/aws/sagemaker/TrainingJobs", "trains")
    assert re.fullmatch(r"trains/algo-1-\d+", stream)


@pytest.mark.parametrize("kind", ["Processing", "Training"])
def test_stop_stops_the_running_job_and_it_ends_stopped(
    pipelines: Pipelines, tmp_path: Path, kind: str
) -> None:
    marker = tmp_path / "pid"
    request = job_request(kind, f"sleeps-{kind.lower()}", SLEEPER, Environment={"OUT": str(marker)})
    getattr(pipelines.sagemaker, f"create_{kind.lower()}_job")(**request)
    pid = int(wait_for_file(marker))

    getattr(pipelines.sagemaker, f"stop_{kind.lower()}_job")(**{f"{kind}JobName": request[f"{kind}JobName"]})

    described = wait_for_job(pipelines.sagemaker, kind, request[f"{kind}JobName"])
    assert described[f"{kind}JobStatus"] == "Stopped"
    assert "FailureReason" not in described
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the job's process still runs"
    with pytest.raises(ClientError) as again:
        getattr(pipelines.sagemaker, f"stop_{kind.lower()}_job")(
            **{f"{kind}JobName": request[f"{kind}JobName"]}
        )
    assert again.value.response["Error"]["Code"] == "ValidationException"


def test_create_refuses_what_sagemaker_refuses_before_any_job_exists(pipelines: Pipelines) -> None:
    sagemaker = pipelines.sagemaker
    sagemaker.create_processing_job(**job_request("Processing", "once", "pass"))
    with pytest.raises(ClientError) as twice:
        sagemaker.create_processing_job(**job_request("Processing", "once", "pass"))
    assert twice.value.response["Error"]["Code"] == "ResourceInUse"

    with pytest.raises(ClientError) as invalid:
        sagemaker.create_training_job(**job_request("Training", "hub-image", "pass", image="python:3.11"))
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert "Invalid training image" in invalid.value.response["Error"]["Message"]
    names = [job["TrainingJobName"] for job in sagemaker.list_training_jobs()["TrainingJobSummaries"]]
    assert "hub-image" not in names


def test_a_job_whose_image_ecr_lacks_fails_with_sagemakers_reason(pipelines: Pipelines) -> None:
    image = job_request("Processing", "x", "pass")["AppSpecification"]["ImageUri"].replace(
        ":python-3.11", ":gone"
    )
    pipelines.sagemaker.create_processing_job(**job_request("Processing", "no-image", "pass", image=image))

    described = wait_for_job(pipelines.sagemaker, "Processing", "no-image")
    assert described["ProcessingJobStatus"] == "Failed"
    assert "manifest unknown" in described["FailureReason"]


def test_list_filters_sorts_and_pages(pipelines: Pipelines) -> None:
    sagemaker = pipelines.sagemaker
    names = ["list-c", "list-a", "list-b", "other"]
    for name in names:
        sagemaker.create_processing_job(**job_request("Processing", name, "pass"))
    for name in names:
        wait_for_job(sagemaker, "Processing", name)

    pages = sagemaker.get_paginator("list_processing_jobs").paginate(
        NameContains="list-", SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    listed: list[dict[str, Any]] = [summary for item in pages for summary in item["ProcessingJobSummaries"]]
    assert [summary["ProcessingJobName"] for summary in listed] == ["list-a", "list-b", "list-c"]
    assert {summary["ProcessingJobStatus"] for summary in listed} == {"Completed"}
    first = sagemaker.list_processing_jobs(MaxResults=1, NameContains="list-")
    assert len(first["ProcessingJobSummaries"]) == 1 and "NextToken" in first
    newest = sagemaker.list_processing_jobs()["ProcessingJobSummaries"][0]
    assert newest["ProcessingJobName"] == "other"  # newest first by default
    assert sagemaker.list_processing_jobs(StatusEquals="Failed")["ProcessingJobSummaries"] == []
