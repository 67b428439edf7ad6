"""The emulator server: clear errors for bad input, CloudFormation secrets, reset."""

from __future__ import annotations

import json
import os
import socket
import string
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.local import Emulator, EmulatorError
from tests.support.emulator import ROLE_ARN, Pipelines, definition, python_step, wait_for_file
from tests.support.images import step_image


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        holder = f"{psutil.Process().name()} (pid {os.getpid()})"  # this test holds it
        expected = f"port {port} on 127.0.0.1 is in use by {holder}; choose another with --port or omit it"
        expected += " for a free one"

        with pytest.raises(EmulatorError) as raised:
            Emulator(state_dir=tmp_path, port=port).start()
        assert str(raised.value) == expected

        # The server process says the same if it loses the race for the port.
        command = [sys.executable, "-m", "sagemaker_stack.local.process.server", "--port", str(port)]
        result = subprocess.run(
            [*command, "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 3
        assert expected in result.stderr


def test_state_folder_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    with pytest.raises(EmulatorError, match=r"state folder .*a-file/state is not writable .*--state-dir"):
        Emulator(state_dir=blocker / "state").start()


def test_unreachable_emulator_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match=r"no emulator is running from .*emulator start"):
        Emulator.attach(tmp_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        (
            definition(python_step("a", "pass"), python_step("b", "pass", depends_on=("missing",))),
            "step 'b' depends on 'missing', which is not a step of this pipeline",
        ),
        (
            definition(
                python_step("a", "pass", depends_on=("b",)), python_step("b", "pass", depends_on=("a",))
            ),
            "cycle",
        ),
    ],
    ids=["invalid-json", "unknown-dependency", "cycle"],
)
def test_bad_definition_is_a_validation_error_and_the_server_keeps_serving(
    emulator: Emulator, body: str, message: str
) -> None:
    sagemaker = emulator.client("sagemaker")

    with pytest.raises(ClientError) as raised:
        sagemaker.create_pipeline(PipelineName="bad", PipelineDefinition=body, RoleArn=ROLE_ARN)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert message in raised.value.response["Error"]["Message"]

    sagemaker.create_pipeline(
        PipelineName="good", PipelineDefinition=definition(python_step("a", "pass")), RoleArn=ROLE_ARN
    )
    with pytest.raises(ClientError) as raised:
        sagemaker.update_pipeline(PipelineName="good", PipelineDefinition=body)
    assert message in raised.value.response["Error"]["Message"]
    names = [summary["PipelineName"] for summary in sagemaker.list_pipelines()["PipelineSummaries"]]
    assert names == ["good"]


def test_stop_of_an_ended_execution_is_a_validation_error(pipelines: Pipelines) -> None:
    arn = pipelines.start(python_step("a", "pass"))
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"

    with pytest.raises(ClientError, match="cannot be stopped: its status is Succeeded"):
        pipelines.sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)


SECRET_TEMPLATE = {
    "Resources": {
        "Credentials": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "ZenML server credentials",
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": "zenml"}),
                    "GenerateStringKey": "password",
                    "ExcludePunctuation": True,
                    "PasswordLength": 24,
                },
                "Tags": [{"Key": "project", "Value": "sagemaker-stack"}],
            },
        }
    },
    "Outputs": {"SecretArn": {"Value": {"Ref": "Credentials"}}},
}


def test_cloudformation_secret_with_generated_string_is_created_and_deleted(emulator: Emulator) -> None:
    cloudformation = emulator.client("cloudformation")
    secrets = emulator.client("secretsmanager")

    cloudformation.create_stack(StackName="secret-stack", TemplateBody=json.dumps(SECRET_TEMPLATE))
    (stack,) = cloudformation.describe_stacks(StackName="secret-stack")["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    arn = outputs["SecretArn"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-stack-Credentials-")

    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert value["username"] == "zenml"
    assert len(value["password"]) == 24
    assert set(value["password"]) <= set(string.ascii_letters + string.digits)
    assert secrets.describe_secret(SecretId=arn)["Description"] == "ZenML server credentials"

    cloudformation.delete_stack(StackName="secret-stack")
    with pytest.raises(ClientError) as raised:
        secrets.get_secret_value(SecretId=arn)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_reset_forgets_all_state(emulator: Emulator) -> None:
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="to-be-forgotten")

    emulator.reset()

    assert s3.list_buckets()["Buckets"] == []


def _gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


SLEEPER = "import os, time; open(os.environ['PID_FILE'], 'w').write(str(os.getpid())); time.sleep(60)"


def test_reset_stops_running_step_processes(pipelines: Pipelines, emulator: Emulator, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    pipelines.start(python_step("sleeps", SLEEPER, environment={"PID_FILE": str(pid_file)}))
    pid = int(wait_for_file(pid_file))

    emulator.reset()

    assert _gone(pid)
    assert pipelines.sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_stopping_the_emulator_stops_running_step_processes(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with Emulator(state_dir=tmp_path / "state") as server:
        step_image(server)
        Pipelines(server).start(python_step("sleeps", SLEEPER, environment={"PID_FILE": str(pid_file)}))
        pid = int(wait_for_file(pid_file))
        server_pid = server.pid
    assert server_pid is not None and _gone(server_pid)
    assert _gone(pid)
    assert not (tmp_path / "state" / "emulator.pid").exists()


def test_server_started_from_python_stops_when_that_process_dies(tmp_path: Path) -> None:
    script = (
        "import sys, time; from sagemaker_stack.local import Emulator\n"
        "print(Emulator(state_dir=sys.argv[1]).start().pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()

    assert _gone(server_pid, timeout=30)
