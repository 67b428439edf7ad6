"""The emulator keeps its state: across stop and start, after kill -9, and it says so when it cannot."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.local import Emulator, EmulatorError
from sagemaker_stack.local.state.snapshot import FORMAT
from tests.support.codebuild import Builds
from tests.support.emulator import (
    Pipelines,
    clean,
    job_request,
    python_step,
    saved,
    wait_for_file,
    wait_for_job,
)
from tests.support.images import STEP_REPOSITORY, step_image

CLI = str(Path(sys.executable).parent / "sagemaker-stack")
APP_DIR = Path(__file__).resolve().parents[4]
TEMPLATE = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "kept-role",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
            },
        },
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "kept-stack-bucket"}},
    },
    "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
}
SCHEDULE_TARGET = {
    "Arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/kept",
    "RoleArn": "arn:aws:iam::123456789012:role/kept-role",
}
SLEEPER = "import os, time; open(os.environ['PID_FILE'], 'w').write(str(os.getpid())); time.sleep(120)"


def _ended(pid: int, timeout: float = 30.0) -> bool:
    """The process is gone (or a zombie nobody has reaped yet: it runs no more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _saved_from_now(emulator: Emulator, bucket: str, timeout: float = 120.0) -> None:
    """Wait until a save that began after this call is on disk, making small changes meanwhile.

    The first save counted may have begun before the call (its pickling done before), the second
    began after the first ended; the changes (objects `tick-<n>` in `bucket`) make sure the
    saver, which saves only what changed, goes on saving. A fixed sleep (5.5 s, for saves every
    second) failed on a busy machine, where a snapshot waits for requests in flight.
    """
    s3 = emulator.client("s3")
    before = emulator.state_report()["saves"]
    deadline = time.monotonic() + timeout
    tick = 0
    while emulator.state_report()["saves"] < before + 2:
        assert time.monotonic() < deadline, f"no save within {timeout} s: {emulator.state_report()}"
        s3.put_object(Bucket=bucket, Key=f"tick-{tick}", Body=b"")
        tick += 1
        time.sleep(0.5)


def _everything(emulator: Emulator, arn: str, build_id: str) -> dict[str, Any]:
    """What a user reads of each service, through the API."""
    s3, sagemaker, logs = emulator.client("s3"), emulator.client("sagemaker"), emulator.client("logs")
    versions = s3.list_object_versions(Bucket="kept-bucket")["Versions"]
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    job = steps[0]["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=job)
    stream = streams["logStreams"][0]["logStreamName"]
    build = emulator.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    ecr = emulator.client("ecr")
    return clean(
        {
            "buckets": s3.list_buckets()["Buckets"],
            "versions": versions,
            "contents": [
                s3.get_object(Bucket="kept-bucket", Key=item["Key"], VersionId=item["VersionId"])["Body"]
                for item in versions
            ],
            "secret": emulator.client("secretsmanager").get_secret_value(SecretId="kept-secret"),
            "images": ecr.describe_images(repositoryName=STEP_REPOSITORY)["imageDetails"],
            "manifest": ecr.batch_get_image(
                repositoryName=STEP_REPOSITORY, imageIds=[{"imageTag": "python-3.11"}]
            )["images"],
            "pipeline": sagemaker.describe_pipeline(PipelineName="test-pipeline-1"),
            "executions": sagemaker.list_pipeline_executions(PipelineName="test-pipeline-1"),
            "execution": sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn),
            "steps": steps,
            "job": sagemaker.describe_processing_job(ProcessingJobName=job),
            "step log": logs.get_log_events(
                logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=stream, startFromHead=True
            )["events"],
            "project": emulator.client("codebuild").batch_get_projects(names=[build["projectName"]])[
                "projects"
            ],
            "build": build,
            "build log": logs.get_log_events(
                logGroupName=build["logs"]["groupName"],
                logStreamName=build["logs"]["streamName"],
                startFromHead=True,
            )["events"],
            "schedule": emulator.client("scheduler").get_schedule(Name="kept-schedule"),
            "stack": emulator.client("cloudformation").describe_stacks(StackName="kept-stack")["Stacks"],
            "resources": emulator.client("cloudformation").list_stack_resources(StackName="kept-stack")[
                "StackResourceSummaries"
            ],
            "role": emulator.client("iam").get_role(RoleName="kept-role")["Role"],
        }
    )


def _populate(emulator: Emulator) -> tuple[str, str]:
    """A bit of everything; the finished execution's ARN and the finished build's id."""
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_bucket_versioning(Bucket="kept-bucket", VersioningConfiguration={"Status": "Enabled"})
    for version in range(3):
        s3.put_object(Bucket="kept-bucket", Key="model.bin", Body=os.urandom(1000) + bytes([version]))
    s3.put_object(
        Bucket="kept-bucket", Key="big.bin", Body=os.urandom(6 * 1024 * 1024)
    )  # past moto's memory buffer
    emulator.client("secretsmanager").create_secret(Name="kept-secret", SecretString='{"api_key": "x"}')
    emulator.client("cloudformation").create_stack(StackName="kept-stack", TemplateBody=json.dumps(TEMPLATE))
    emulator.client("scheduler").create_schedule(
        Name="kept-schedule",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=SCHEDULE_TARGET,
    )
    step_image(emulator)
    pipelines = Pipelines(emulator)
    arn = pipelines.start(python_step("hello", "print('hello from the step')"))
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    builds = Builds(emulator)
    buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built here\n"
    project = builds.project(source={"type": "NO_SOURCE", "buildspec": buildspec})
    build = builds.run(project)
    assert build["buildStatus"] == "SUCCEEDED"
    return arn, str(build["id"])


def test_stop_and_start_bring_everything_back(state_dir: Path) -> None:
    with Emulator(state_dir) as emulator:
        arn, build_id = _populate(emulator)
        before = _everything(emulator, arn, build_id)
    assert (state_dir / "state" / "snapshot").is_file()

    with Emulator(state_dir) as emulator:
        assert emulator.state_notice is not None and emulator.state_notice.startswith(
            "restored the state saved at"
        )
        after = _everything(emulator, arn, build_id)
        # and it goes on from there: a new version and a new execution
        emulator.client("s3").put_object(Bucket="kept-bucket", Key="model.bin", Body=b"fourth")
        sagemaker = emulator.client("sagemaker")
        again = sagemaker.start_pipeline_execution(PipelineName="test-pipeline-1")["PipelineExecutionArn"]
        assert Pipelines(emulator).wait(again)["PipelineExecutionStatus"] == "Succeeded"
        versions = emulator.client("s3").list_object_versions(Bucket="kept-bucket", Prefix="model.bin")

    for name, value in before.items():
        assert after[name] == value, name
    assert len([item for item in before["versions"] if item["Key"] == "model.bin"]) == 3
    assert len(versions["Versions"]) == 4
    assert after["step log"] and any("hello from the step" in event["message"] for event in after["step log"])


def _synthesized_template(out_dir: Path) -> str:
    """Our app's template, from the real `cdk synth` (skips where the cdk CLI is missing)."""
    cdk = shutil.which(
        "cdk", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if cdk is None:
        pytest.skip("the cdk CLI is not installed in this environment (run `make install`)")
    environment = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"}
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    synth = subprocess.run(
        [cdk, "synth", "-q", "--no-notices", "-o", str(out_dir)],
        cwd=APP_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert synth.returncode == 0, synth.stderr[-3000:]
    return next(out_dir.glob("*.template.json")).read_text()


def test_the_deployed_stack_survives_a_restart(state_dir: Path, tmp_path: Path) -> None:
    template = _synthesized_template(tmp_path / "cdk.out")
    with Emulator(state_dir) as emulator:
        ssm = emulator.client("ssm")
        ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
        cloudformation = emulator.client("cloudformation")
        cloudformation.create_stack(
            StackName="kept", TemplateBody=template, Capabilities=["CAPABILITY_NAMED_IAM"]
        )
        before = clean(
            {
                "stack": cloudformation.describe_stacks(StackName="kept")["Stacks"],
                "resources": cloudformation.list_stack_resources(StackName="kept")["StackResourceSummaries"],
            }
        )
        saved(emulator)
        assert emulator.state_report()["error"] is None  # every service the stack uses was saved

    with Emulator(state_dir) as emulator:
        cloudformation = emulator.client("cloudformation")
        after = clean(
            {
                "stack": cloudformation.describe_stacks(StackName="kept")["Stacks"],
                "resources": cloudformation.list_stack_resources(StackName="kept")["StackResourceSummaries"],
            }
        )
        assert after == before
        kinds = {item["ResourceType"]: item["PhysicalResourceId"] for item in after["resources"]}
        emulator.client("iam").get_role(RoleName=kinds["AWS::IAM::Role"])
        emulator.client("s3").head_bucket(Bucket=kinds["AWS::S3::Bucket"])
        emulator.client("secretsmanager").describe_secret(SecretId=kinds["AWS::SecretsManager::Secret"])
        emulator.client("codebuild").batch_get_projects(names=[kinds["AWS::CodeBuild::Project"]])
        cloudformation.delete_stack(StackName="kept")  # and the restored stack is a working one
        with pytest.raises(ClientError):
            cloudformation.describe_stacks(StackName="kept")


def test_kill_9_during_a_step_and_a_build_ends_them_failed_and_keeps_the_rest(
    state_dir: Path, tmp_path: Path
) -> None:
    emulator = Emulator(state_dir).start()
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="before-the-step", Body=b"kept")
    step_image(emulator)
    pipelines = Pipelines(emulator)
    pid_file = tmp_path / "step.pid"
    arn = pipelines.start(
        python_step("quick", "pass"),
        python_step("sleeps", SLEEPER, depends_on=("quick",), environment={"PID_FILE": str(pid_file)}),
    )
    step_pid = int(wait_for_file(pid_file))
    builds = Builds(emulator)
    buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - sleep 120\n"
    build_id = builds.start(builds.project(source={"type": "NO_SOURCE", "buildspec": buildspec}))["id"]
    deadline = time.monotonic() + 60
    while builds.get(build_id)["currentPhase"] != "BUILD":
        assert time.monotonic() < deadline, "the build did not reach its BUILD phase"
        time.sleep(0.2)
    _saved_from_now(emulator, "kept-bucket")  # the running step and build are on disk
    assert emulator.pid is not None
    os.kill(emulator.pid, signal.SIGKILL)
    assert _ended(emulator.pid)
    assert psutil.pid_exists(step_pid)  # the step outlived the emulator...

    restarted = Emulator(state_dir).start()
    try:
        assert _ended(step_pid)  # ...until the emulator started again
        assert restarted.state_notice is not None
        assert (
            "killed" in restarted.state_notice and "1 running pipeline execution(s)" in restarted.state_notice
        )
        execution = Pipelines(restarted).sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert execution["PipelineExecutionStatus"] == "Failed"
        assert execution["FailureReason"] == (
            "InternalServerError: the emulator ended unexpectedly (killed or crashed) "
            "while this execution was running"
        )
        steps = Pipelines(restarted).steps(arn)
        assert steps["quick"]["StepStatus"] == "Succeeded"
        assert steps["sleeps"]["StepStatus"] == "Failed"
        assert "killed or crashed) while this step was running" in steps["sleeps"]["FailureReason"]
        job = steps["sleeps"]["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
        described = restarted.client("sagemaker").describe_processing_job(ProcessingJobName=job)
        assert described["ProcessingJobStatus"] == "Failed"

        build = Builds(restarted).get(build_id)
        assert build["buildStatus"] == "FAILED" and build["buildComplete"]
        cut = next(phase for phase in build["phases"] if phase["phaseType"] == "BUILD")
        assert cut["phaseStatus"] == "FAILED"
        assert "killed or crashed) while this build was running" in cut["contexts"][0]["message"]
        assert build["phases"][-1]["phaseType"] == "COMPLETED"

        kept = restarted.client("s3").get_object(Bucket="kept-bucket", Key="before-the-step")["Body"].read()
        assert kept == b"kept"
    finally:
        restarted.stop()


def test_a_clean_stop_ends_a_running_execution_failed_with_the_reason(
    state_dir: Path, tmp_path: Path
) -> None:
    with Emulator(state_dir) as emulator:
        step_image(emulator)
        pid_file = tmp_path / "step.pid"
        arn = Pipelines(emulator).start(
            python_step("sleeps", SLEEPER, environment={"PID_FILE": str(pid_file)})
        )
        step_pid = int(wait_for_file(pid_file))
    assert _ended(step_pid)

    with Emulator(state_dir) as emulator:
        assert emulator.state_notice is not None and "killed" not in emulator.state_notice
        pipelines = Pipelines(emulator)
        execution = pipelines.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert execution["PipelineExecutionStatus"] == "Failed"
        assert execution["FailureReason"] == (
            "InternalServerError: the emulator was stopped while this execution was running"
        )
        step = pipelines.steps(arn)["sleeps"]
        assert step["StepStatus"] == "Failed"
        assert (
            step["FailureReason"]
            == "InternalServerError: the emulator was stopped while this step was running"
        )


def test_standalone_jobs_survive_a_restart_and_one_a_kill_cut_off_ends_failed(
    state_dir: Path, tmp_path: Path
) -> None:
    emulator = Emulator(state_dir).start()
    emulator.client("s3").create_bucket(Bucket="kept-bucket")
    step_image(emulator)
    sagemaker = Pipelines(emulator).sagemaker
    sagemaker.create_processing_job(**job_request("Processing", "done", "pass"))
    assert wait_for_job(sagemaker, "Processing", "done")["ProcessingJobStatus"] == "Completed"
    pid_file = tmp_path / "job.pid"
    sagemaker.create_training_job(
        **job_request("Training", "cut", SLEEPER, Environment={"PID_FILE": str(pid_file)})
    )
    job_pid = int(wait_for_file(pid_file))
    _saved_from_now(emulator, "kept-bucket")  # the running job is on disk
    assert emulator.pid is not None
    os.kill(emulator.pid, signal.SIGKILL)
    assert _ended(emulator.pid)

    restarted = Emulator(state_dir).start()
    try:
        assert _ended(job_pid)
        assert restarted.state_notice is not None
        assert "1 running processing or training job(s)" in restarted.state_notice
        sagemaker = restarted.client("sagemaker")
        assert (
            sagemaker.describe_processing_job(ProcessingJobName="done")["ProcessingJobStatus"] == "Completed"
        )
        cut = sagemaker.describe_training_job(TrainingJobName="cut")
        assert cut["TrainingJobStatus"] == "Failed"
        assert cut["FailureReason"] == (
            "InternalServerError: the emulator ended unexpectedly (killed or crashed) "
            "while this job was running"
        )
        listed = sagemaker.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
        assert listed == []
    finally:
        restarted.stop()


def test_a_clean_stop_ends_a_running_standalone_job_failed_with_the_reason(
    state_dir: Path, tmp_path: Path
) -> None:
    with Emulator(state_dir) as emulator:
        step_image(emulator)
        pid_file = tmp_path / "job.pid"
        request = job_request("Processing", "cut", SLEEPER, Environment={"PID_FILE": str(pid_file)})
        emulator.client("sagemaker").create_processing_job(**request)
        job_pid = int(wait_for_file(pid_file))
    assert _ended(job_pid)

    with Emulator(state_dir) as emulator:
        described = emulator.client("sagemaker").describe_processing_job(ProcessingJobName="cut")
        assert described["ProcessingJobStatus"] == "Failed"
        assert described["FailureReason"] == (
            "InternalServerError: the emulator was stopped while this job was running"
        )


def _damage(snapshot: Path, how: str) -> None:
    data = snapshot.read_bytes()
    magic, header, payload = data.split(b"\n", 2)
    if how == "truncated":
        snapshot.write_bytes(data[: len(data) // 2])
    elif how == "not-a-snapshot":
        snapshot.write_bytes(b"PK\x03\x04 a zip, say\n")
    else:
        fields = json.loads(header)
        if how == "old-format":  # written before the last change of what the snapshot holds
            fields["format"] = FORMAT - 1
        else:
            fields["moto"] = "4.0.0"
        snapshot.write_bytes(b"\n".join([magic, json.dumps(fields).encode(), payload]))


@pytest.mark.parametrize(
    ("how", "kind", "reason"),
    [
        ("truncated", "corrupt", "it is truncated or damaged (its checksum does not match)"),
        ("not-a-snapshot", "corrupt", "it is not an emulator snapshot"),
        ("other-version", "other-version", "it was written with moto 4.0.0 (this emulator: "),
        ("old-format", "other-version", f"it was written with format {FORMAT - 1} (this emulator: {FORMAT})"),
    ],
)
def test_a_snapshot_that_cannot_be_restored_is_kept_aside_and_said_in_one_line(
    state_dir: Path, how: str, kind: str, reason: str
) -> None:
    with Emulator(state_dir) as emulator:
        emulator.client("s3").create_bucket(Bucket="kept-bucket")
        emulator.client("s3").put_object(Bucket="kept-bucket", Key="object", Body=b"content")
    snapshot = state_dir / "state" / "snapshot"
    _damage(snapshot, how)
    damaged = snapshot.read_bytes()

    started = subprocess.run(
        [CLI, "emulator", "start", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=120
    )
    try:
        assert started.returncode == 0, started.stderr
        assert "Traceback" not in started.stdout + started.stderr
        notice = [line for line in started.stdout.splitlines() if "cannot be restored" in line]
        assert len(notice) == 1
        assert f"the saved state in {snapshot} cannot be restored: {reason}" in notice[0]
        assert "the emulator starts empty" in notice[0]
        aside = [path for path in state_dir.iterdir() if path.name.startswith(f"state.{kind}-")]
        assert len(aside) == 1 and str(aside[0]) in notice[0]
        assert (aside[0] / "snapshot").read_bytes() == damaged  # kept as it was, blobs with it
        assert len(list((aside[0] / "blobs").iterdir())) == 1
        emulator = Emulator.attach(state_dir)
        assert emulator.client("s3").list_buckets()["Buckets"] == []
        _saved_after_change(emulator)
        assert (aside[0] / "snapshot").read_bytes() == damaged  # and not overwritten by the new state
        status = subprocess.run(
            [CLI, "emulator", "status", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert f"state saved at {emulator.state_report()['saved_at']}" in status.stdout
    finally:
        subprocess.run(
            [CLI, "emulator", "stop", "--state-dir", str(state_dir)], capture_output=True, timeout=60
        )


def _saved_after_change(emulator: Emulator) -> None:
    emulator.client("s3").create_bucket(Bucket="new-bucket")
    saved(emulator)


def test_start_on_a_port_another_program_holds_names_it(state_dir: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
            "print(s.getsockname()[1], flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        port = int(holder.stdout.readline())
        name = psutil.Process(holder.pid).name()
        with pytest.raises(EmulatorError) as raised:
            Emulator(state_dir, port=port).start()
    finally:
        holder.kill()
        holder.wait()
    assert str(raised.value) == (
        f"port {port} on 127.0.0.1 is in use by {name} (pid {holder.pid}); "
        "choose another with --port or omit it for a free one"
    )


def _closed_by_the_server(port: int) -> None:
    """A request whose connection the server closes first: that end then waits in TIME_WAIT."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        while connection.recv(65536):  # to the end: the server has closed its side
            pass


def test_start_on_the_port_the_last_emulator_just_left(state_dir: Path) -> None:
    with Emulator(state_dir) as first:
        port = first.port
        assert port is not None
        for _ in range(3):
            _closed_by_the_server(port)
    waiting = [item for item in psutil.net_connections("tcp") if item.laddr and item.laddr.port == port]
    assert waiting and all(item.status == psutil.CONN_TIME_WAIT for item in waiting)
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what `start --port` ran into for a minute

    with Emulator(state_dir, port=port) as second:
        assert second.port == port
        second.client("s3").list_buckets()


def test_a_saved_state_that_cannot_be_written_is_one_clear_message(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Emulator(state) as emulator:
        emulator.client("s3").create_bucket(Bucket="kept-bucket")
    (state / "state").rename(tmp_path / "kept")
    (state / "state").write_text("a file where the saved state goes")  # writable by no one, root too

    started = subprocess.run(
        [CLI, "emulator", "start", "--state-dir", str(state)], capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines() == [
        f"Error: state folder {state / 'state'} is not writable (Not a directory); "
        "choose another with --state-dir"
    ]
