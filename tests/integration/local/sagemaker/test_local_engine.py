"""The emulator's SageMaker Pipelines engine, driven with hand-written definitions through boto3."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sagemaker_stack.local.images.container import KEPT_VARIABLES
from tests.support.emulator import Pipelines, python_step, read_float, wait_for_file

#: A step body that records when it ran: <OUT>/<name>.start and <name>.end hold time.time().
#: With AWAIT=<other> it ends only once <other> has started (or after 120 s): two steps awaiting
#: each other overlap whenever they run at once, however slowly a loaded machine starts them.
TIMED = (
    "import os, time; out = os.environ['OUT']; name = os.environ['NAME']\n"
    "open(os.path.join(out, name + '.start'), 'w').write(repr(time.time()))\n"
    "time.sleep(float(os.environ.get('SLEEP', '0')))\n"
    "other, deadline = os.environ.get('AWAIT'), time.time() + 120\n"
    "while other and not os.path.exists(os.path.join(out, other + '.start')) and time.time() < deadline:\n"
    "    time.sleep(0.05)\n"
    "open(os.path.join(out, name + '.end'), 'w').write(repr(time.time()))\n"
)


def timed_step(
    name: str, out: Path, sleep: float = 0.0, depends_on: tuple[str, ...] = (), awaits: str = ""
) -> dict[str, object]:
    environment = {"OUT": str(out), "NAME": name, "SLEEP": str(sleep)}
    if awaits:
        environment["AWAIT"] = awaits
    return python_step(name, TIMED, depends_on=depends_on, environment=environment)


def times(out: Path, name: str) -> tuple[float, float]:
    return read_float(out / f"{name}.start"), read_float(out / f"{name}.end")


def test_diamond_runs_in_dependency_order_with_the_middle_steps_in_parallel(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    arn = pipelines.start(
        timed_step("first", tmp_path),
        timed_step("left", tmp_path, depends_on=("first",), awaits="right"),
        timed_step("right", tmp_path, depends_on=("first",), awaits="left"),
        timed_step("last", tmp_path, depends_on=("left", "right")),
    )

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    first, left, right, last = (times(tmp_path, name) for name in ("first", "left", "right", "last"))
    assert first[1] <= left[0] and first[1] <= right[0]
    assert left[1] <= last[0] and right[1] <= last[0]
    assert left[0] < right[1] and right[0] < left[1], "the two middle steps did not overlap"
    steps = pipelines.steps(arn)
    assert {name: step["StepStatus"] for name, step in steps.items()} == dict.fromkeys(
        ("first", "left", "right", "last"), "Succeeded"
    )
    assert all(
        step["Metadata"]["ProcessingJob"]["Arn"].startswith("arn:aws:sagemaker:") for step in steps.values()
    )


def test_parallelism_limit_of_one_runs_independent_steps_one_at_a_time(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    arn = pipelines.start(
        timed_step("one", tmp_path, sleep=1), timed_step("two", tmp_path, sleep=1), max_parallel=1
    )

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    one, two = times(tmp_path, "one"), times(tmp_path, "two")
    assert one[1] <= two[0] or two[1] <= one[0], "steps overlapped despite MaxParallelExecutionSteps=1"


def test_failing_step_fails_the_execution_and_its_dependants_never_start(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    arn = pipelines.start(
        python_step("breaks", "import sys; sys.exit(3)"),
        timed_step("after", tmp_path, depends_on=("breaks",)),
    )

    described = pipelines.wait(arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "Step failure" in described["FailureReason"]
    steps = pipelines.steps(arn)
    assert set(steps) == {"breaks"}
    assert steps["breaks"]["StepStatus"] == "Failed"
    assert "exited with code 3" in steps["breaks"]["FailureReason"]
    assert not (tmp_path / "after.start").exists()
    summary = pipelines.sagemaker.list_pipeline_executions(PipelineName=arn.split("/")[1])
    assert summary["PipelineExecutionSummaries"][0]["PipelineExecutionStatus"] == "Failed"


def test_retry_policy_retries_a_failed_attempt(pipelines: Pipelines, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    flaky = (
        "import os, sys, pathlib; counter = pathlib.Path(os.environ['COUNTER'])\n"
        "attempt = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(attempt)); sys.exit(1 if attempt == 1 else 0)\n"
    )
    policy = {
        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 1,
        "BackoffRate": 1.0,
        "MaxAttempts": 2,
    }
    arn = pipelines.start(
        python_step("flaky", flaky, environment={"COUNTER": str(counter)}, RetryPolicies=[policy])
    )

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    assert counter.read_text() == "2"
    assert pipelines.steps(arn)["flaky"]["AttemptCount"] == 2


def test_without_a_retry_policy_a_failed_step_runs_once(pipelines: Pipelines, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    code = (
        "import os, pathlib, sys; p = pathlib.Path(os.environ['COUNTER'])\n"
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); sys.exit(1)"
    )
    arn = pipelines.start(python_step("once", code, environment={"COUNTER": str(counter)}))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    assert counter.read_text() == "x"


def test_stop_stops_a_long_step_and_the_execution_ends_stopped(pipelines: Pipelines, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = "import os, time; open(os.environ['PID_FILE'], 'w').write(str(os.getpid())); time.sleep(60)"
    arn = pipelines.start(
        python_step("sleeps", code, environment={"PID_FILE": str(pid_file)}),
        python_step("never", "print('should not run')", depends_on=("sleeps",)),
    )
    pipelines.wait_for_step(arn, "sleeps", "Executing")
    pid = int(wait_for_file(pid_file))

    pipelines.sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)

    described = pipelines.wait(arn)
    assert described["PipelineExecutionStatus"] == "Stopped"
    steps = pipelines.steps(arn)
    assert set(steps) == {"sleeps"}
    assert steps["sleeps"]["StepStatus"] == "Stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_max_runtime_kills_the_step_and_fails_it_with_the_reason(pipelines: Pipelines) -> None:
    step = python_step(
        "slow", "import time; time.sleep(60)", arguments={"StoppingCondition": {"MaxRuntimeInSeconds": 1}}
    )
    arn = pipelines.start(step)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    assert "MaxRuntimeExceeded" in pipelines.steps(arn)["slow"]["FailureReason"]


def test_step_output_is_in_the_cloudwatch_logs_group_sagemaker_uses(pipelines: Pipelines) -> None:
    arn = pipelines.start(
        python_step("talks", "import sys; print('hello from the step'); print('to stderr', file=sys.stderr)"),
        python_step("trains", "print('training output')", step_type="Training"),
    )
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    steps = pipelines.steps(arn)

    def messages(group: str, job_arn: str) -> list[str]:
        job_name = job_arn.rsplit("/", 1)[-1]
        streams = pipelines.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job_name}/")
        (stream,) = streams["logStreams"]
        assert stream["logStreamName"].startswith(f"{job_name}/algo-1-")
        events = pipelines.logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        return [event["message"] for event in events["events"]]

    processing_arn = steps["talks"]["Metadata"]["ProcessingJob"]["Arn"]
    assert messages("/aws/sagemaker/ProcessingJobs", processing_arn) == ["hello from the step", "to stderr"]
    training_arn = steps["trains"]["Metadata"]["TrainingJob"]["Arn"]
    assert messages("/aws/sagemaker/TrainingJobs", training_arn) == ["training output"]
    job = pipelines.sagemaker.describe_processing_job(ProcessingJobName=processing_arn.rsplit("/", 1)[-1])
    assert job["ProcessingJobStatus"] == "Completed"


def test_step_gets_only_its_environment_credentials_region_and_endpoint(
    pipelines: Pipelines, tmp_path: Path, emulator_server: object
) -> None:
    out = tmp_path / "env.json"
    code = "import json, os; json.dump({**os.environ, 'CWD': os.getcwd()}, open(os.environ['OUT'], 'w'))"
    parameters = [{"Name": "greeting", "Type": "String", "DefaultValue": "hello"}]
    environment = {
        "OUT": str(out),
        "GREETING": {"Get": "Parameters.greeting"},
        "EXECUTION": {"Get": "Execution.PipelineExecutionArn"},
    }
    arn = pipelines.start(python_step("env", code, environment=environment), parameters=parameters)
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"

    seen = json.loads(out.read_text())
    assert seen["GREETING"] == "hello"
    assert seen["EXECUTION"] == arn
    assert seen["AWS_ENDPOINT_URL"] == emulator_server.endpoint_url  # type: ignore[attr-defined]
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "us-east-1"
    assert seen["AWS_ACCESS_KEY_ID"] and seen["AWS_SECRET_ACCESS_KEY"]
    assert Path(seen["CWD"]).is_dir() and Path(seen["CWD"]) == Path(seen["HOME"])
    # This machine's locale and network set-up (CA bundle, proxies, index) stand in for the image's.
    basics = {"PATH", "HOME", "VIRTUAL_ENV", *KEPT_VARIABLES}
    aws = {
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    # This machine's CA bundle, proxies and package index stand for the image's own: kept as they are.
    machine = {name for name in KEPT_VARIABLES if seen.get(name) == os.environ.get(name) is not None}
    leaked = {
        name
        for name in seen
        if name not in basics | aws | machine | set(environment) | {"CWD"} and not name.startswith("PYTHON")
    }
    assert leaked == set()


def test_a_step_reads_an_earlier_steps_properties_and_waits_for_it(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    out = tmp_path / "seen"
    producer = python_step(
        "produce",
        "print('producing')",
        arguments={
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "model",
                        "S3Output": {
                            "S3Uri": "s3://bucket/model",
                            "LocalPath": "/opt/ml/processing/output/model",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            }
        },
    )
    reads = {
        "URI": {"Get": "Steps.produce.ProcessingOutputConfig.Outputs['model'].S3Output.S3Uri"},
        "JOB": {"Get": "Steps.produce.ProcessingJobName"},
        "JOINED": {"Std:Join": {"On": "/", "Values": ["a", {"Get": "Execution.PipelineName"}]}},
        "OUT": str(out),
    }
    code = "import os; e = os.environ; open(e['OUT'], 'w').write(' '.join([e['URI'], e['JOB'], e['JOINED']]))"
    # No DependsOn: the property reference alone orders the steps, as on SageMaker.
    arn = pipelines.start(python_step("consume", code, environment=reads), producer)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    uri, job, joined = out.read_text().split(" ")
    steps = pipelines.steps(arn)
    assert uri == "s3://bucket/model"
    assert job == steps["produce"]["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
    assert joined == "a/" + arn.split("/")[1]


def test_fail_step_fails_the_execution_with_its_message(pipelines: Pipelines) -> None:
    arn = pipelines.start(
        python_step("ok", "pass"),
        {
            "Name": "stop-here",
            "Type": "Fail",
            "DependsOn": ["ok"],
            "Arguments": {"ErrorMessage": "quality too low"},
        },
    )

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    assert pipelines.steps(arn)["stop-here"]["FailureReason"] == "quality too low"
