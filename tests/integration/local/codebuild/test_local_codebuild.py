"""CodeBuild in the emulator: builds really run their buildspec over a source zip from S3."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.local import Emulator
from sagemaker_stack.local.codebuild.models import SECONDS_PER_MINUTE_VARIABLE
from tests.support.codebuild import Builds, phase, phases, running, sleep_command

#: A build timeout minute lasts this many seconds in this module's emulator (5 minutes = 10 s).
SECONDS_PER_MINUTE = 2
ALL_PHASES = [
    ("SUBMITTED", "SUCCEEDED"),
    ("QUEUED", "SUCCEEDED"),
    ("PROVISIONING", "SUCCEEDED"),
    ("DOWNLOAD_SOURCE", "SUCCEEDED"),
    ("INSTALL", "SUCCEEDED"),
    ("PRE_BUILD", "SUCCEEDED"),
    ("BUILD", "SUCCEEDED"),
    ("POST_BUILD", "SUCCEEDED"),
    ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
    ("FINALIZING", "SUCCEEDED"),
    ("COMPLETED", None),
]


@pytest.fixture(scope="module")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """This module's own server, whose build timeout minutes last seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECONDS_PER_MINUTE_VARIABLE, str(SECONDS_PER_MINUTE))
        server = Emulator(state_dir=tmp_path_factory.mktemp("codebuild-emulator")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def builds(emulator: Emulator) -> Builds:
    return Builds(emulator)


def test_build_runs_the_buildspec_over_the_s3_source_with_project_and_override_variables(
    builds: Builds,
) -> None:
    source = builds.upload({"message.txt": "hello from the source zip\n", "sub/marker": ""})
    project = builds.project({"FROM_PROJECT": "project-value", "OVERRIDDEN": "project-loses"})
    buildspec = """
version: 0.2
env:
  variables:
    FROM_BUILDSPEC: buildspec-value
    FROM_PROJECT: buildspec-loses
  exported-variables: [COMPUTED]
phases:
  pre_build:
    commands:
      - cat message.txt
      - COMPUTED=assigned-in-pre-build
      - cd sub
  build:
    commands:
      - echo "seen $FROM_PROJECT $OVERRIDDEN $FROM_BUILDSPEC $COMPUTED in $(basename $PWD)"
      - echo "build id $CODEBUILD_BUILD_ID succeeding $CODEBUILD_BUILD_SUCCEEDING"
      - printf 'no trailing newline'
"""
    started = builds.start(
        project,
        sourceTypeOverride="S3",
        sourceLocationOverride=source,
        buildspecOverride=buildspec,
        environmentVariablesOverride=[{"name": "OVERRIDDEN", "value": "override-wins", "type": "PLAINTEXT"}],
    )

    # StartBuild returns at once; the build runs in the background.
    assert started["buildStatus"] == "IN_PROGRESS"
    assert phases(started)[:2] == [("SUBMITTED", "SUCCEEDED"), ("QUEUED", None)]
    build = builds.wait(started["id"])

    assert build["buildStatus"] == "SUCCEEDED"
    assert build["buildComplete"] is True
    assert build["currentPhase"] == "COMPLETED"
    assert phases(build) == ALL_PHASES
    assert phase(build, "BUILD")["contexts"] == [{"statusCode": "", "message": ""}]
    assert build["startTime"] <= phase(build, "BUILD")["startTime"] <= build["endTime"]
    assert build["source"] == {"type": "S3", "location": source, "buildspec": buildspec}
    assert build["exportedEnvironmentVariables"] == [{"name": "COMPUTED", "value": "assigned-in-pre-build"}]
    logs = build["logs"]
    assert logs["groupName"] == f"/aws/codebuild/{project}"
    assert logs["streamName"] == build["id"].split(":")[1]
    assert f"group={logs['groupName']};stream={logs['streamName']}" in logs["deepLink"]
    log = builds.log(build)
    assert "hello from the source zip" in log
    assert "seen project-value override-wins buildspec-value assigned-in-pre-build in sub" in log
    assert f"build id {build['id']} succeeding 1" in log
    assert "no trailing newline" in log
    assert any(
        line.startswith("[Container] ") and line.endswith("Running command cat message.txt") for line in log
    )
    assert any(line.endswith("Phase complete: BUILD State: SUCCEEDED") for line in log)


def test_a_build_started_as_zenml_starts_it_has_the_aws_cli_and_a_docker_command(
    builds: Builds, emulator: Emulator
) -> None:
    source = builds.upload({"Dockerfile": "FROM python:3.11\n"})
    project = builds.project()
    buildspec = """
version: 0.2
phases:
  pre_build:
    commands:
      - PASSWORD=$(aws ecr get-login-password --region $AWS_DEFAULT_REGION)
      - test -n "$PASSWORD" && echo "login password of ${#PASSWORD} characters"
      - echo "docker is $(command -v docker)"
      - echo "image store $EMULATOR_IMAGE_STORE"
      - test -f Dockerfile
"""
    # Every override ZenML's `aws` image builder sends (zenml 0.98, AWSImageBuilder.build).
    build = builds.run(
        project,
        environmentTypeOverride="LINUX_CONTAINER",
        imageOverride="bentolor/docker-dind-awscli",
        computeTypeOverride="BUILD_GENERAL1_SMALL",
        privilegedModeOverride=False,
        sourceTypeOverride="S3",
        sourceLocationOverride=source,
        buildspecOverride=buildspec,
        environmentVariablesOverride=[],
        artifactsOverride={"type": "NO_ARTIFACTS"},
    )

    assert build["buildStatus"] == "SUCCEEDED", builds.log(build)
    assert build["environment"]["image"] == "bentolor/docker-dind-awscli"
    log = builds.log(build)
    assert any(line.startswith("login password of ") for line in log)
    docker = next(line for line in log if line.startswith("docker is ")).removeprefix("docker is ")
    assert os.access(docker, os.X_OK)
    assert f"image store {emulator.state_dir / 'images'}" in log


def test_a_failing_command_fails_the_build_and_post_build_still_runs(builds: Builds) -> None:
    project = builds.project()
    buildspec = """
version: 0.2
phases:
  build:
    commands:
      - echo before the failure
      - sh -c 'echo output of the failing command; exit 3'
      - echo never reached
    finally:
      - echo finally runs
  post_build:
    commands:
      - echo "post_build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING"
"""
    build = builds.run(project, buildspecOverride=buildspec)

    assert build["buildStatus"] == "FAILED"
    assert phases(build) == [
        *ALL_PHASES[:6],
        ("BUILD", "FAILED"),
        ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]
    command = "sh -c 'echo output of the failing command; exit 3'"
    assert phase(build, "BUILD")["contexts"] == [
        {
            "statusCode": "COMMAND_EXECUTION_ERROR",
            "message": f"Error while executing command: {command}. Reason: exit status 3",
        }
    ]
    log = builds.log(build)
    assert "output of the failing command" in log
    assert "never reached" not in log
    assert "finally runs" in log
    assert "post_build sees succeeding=0" in log
    assert any(line.endswith(f"Command did not exit successfully {command} exit status 3") for line in log)


@pytest.mark.parametrize(
    ("on_failure", "expected"),
    [
        ("", [("PRE_BUILD", "FAILED"), ("FINALIZING", "SUCCEEDED"), ("COMPLETED", None)]),
        (
            "on-failure: CONTINUE",
            [
                ("PRE_BUILD", "FAILED"),
                ("BUILD", "SUCCEEDED"),
                ("POST_BUILD", "SUCCEEDED"),
                ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
                ("FINALIZING", "SUCCEEDED"),
                ("COMPLETED", None),
            ],
        ),
    ],
    ids=["default-goes-to-finalizing", "continue"],
)
def test_a_pre_build_failure_skips_the_later_phases_unless_told_to_continue(
    builds: Builds, on_failure: str, expected: list[tuple[str, str | None]]
) -> None:
    project = builds.project()
    buildspec = f"""
version: 0.2
phases:
  pre_build:
    {on_failure}
    commands:
      - "false"
  build:
    commands:
      - echo build ran
"""
    build = builds.run(project, buildspecOverride=buildspec)

    assert build["buildStatus"] == "FAILED"
    assert phases(build) == [*ALL_PHASES[:5], *expected]
    assert ("build ran" in builds.log(build)) == bool(on_failure)


def test_a_build_past_its_timeout_is_timed_out_and_its_processes_killed(builds: Builds) -> None:
    project = builds.project()
    sleep = sleep_command(417)
    buildspec = (
        f"version: 0.2\nphases:\n  build:\n    commands:\n      - {sleep}\n      - echo never reached\n"
    )
    started = time.monotonic()
    build = builds.run(project, buildspecOverride=buildspec, timeoutInMinutesOverride=5)

    assert build["buildStatus"] == "TIMED_OUT"
    assert build["timeoutInMinutes"] == 5
    # Killed at the timeout, long before the `sleep` would end; the slack is for a loaded machine.
    assert 5 * SECONDS_PER_MINUTE <= time.monotonic() - started < 5 * SECONDS_PER_MINUTE + 180
    assert phase(build, "BUILD")["phaseStatus"] == "TIMED_OUT"
    assert phase(build, "BUILD")["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"
    assert phases(build)[-2:] == [("FINALIZING", "SUCCEEDED"), ("COMPLETED", None)]
    assert "never reached" not in builds.log(build)
    assert not running(sleep)


def test_stop_build_stops_a_running_build(builds: Builds) -> None:
    project = builds.project()
    sleep = sleep_command(418)
    buildspec = f"version: 0.2\nphases:\n  build:\n    commands:\n      - echo started && {sleep}\n"
    build_id = builds.start(project, buildspecOverride=buildspec)["id"]
    builds.wait_for_line(build_id, "started")

    builds.codebuild.stop_build(id=build_id)
    build = builds.wait(build_id)

    assert build["buildStatus"] == "STOPPED"
    assert phase(build, "BUILD")["phaseStatus"] == "STOPPED"
    assert phases(build)[-2:] == [("FINALIZING", "SUCCEEDED"), ("COMPLETED", None)]
    assert not running(sleep)


def test_secrets_manager_variables_reach_the_build_masked_in_its_log(
    builds: Builds, emulator: Emulator
) -> None:
    emulator.client("secretsmanager").create_secret(
        Name="build/token", SecretString=json.dumps({"token": "s3cr3t-value"})
    )
    project = builds.project()
    buildspec = """
version: 0.2
phases:
  build:
    commands:
      - test "$TOKEN" = s3cr3t-value && echo the token is $TOKEN
"""
    build = builds.run(
        project,
        buildspecOverride=buildspec,
        environmentVariablesOverride=[
            {"name": "TOKEN", "value": "build/token:token", "type": "SECRETS_MANAGER"}
        ],
    )

    assert build["buildStatus"] == "SUCCEEDED"
    log = builds.log(build)
    assert "the token is ***" in log
    assert not any("s3cr3t-value" in line for line in log)


@pytest.mark.parametrize(
    ("overrides", "status_code", "message"),
    [
        (
            {"sourceTypeOverride": "S3", "sourceLocationOverride": "build-contexts/missing.zip"},
            "CLIENT_ERROR",
            "NoSuchKey: The specified key does not exist. for primary source and source version "
            "build-contexts/missing.zip",
        ),
        ({"buildspecOverride": "version: 0.2\nphases: [build"}, "YAML_FILE_ERROR", "yaml: line 2: "),
        (
            {"buildspecOverride": "version: 0.2\nrun-as: builder\nphases:\n  build:\n    commands: [ls]"},
            "YAML_FILE_ERROR",
            "the buildspec/run-as is not supported by the emulator",
        ),
        (
            {"buildspecOverride": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo: hi"},
            "YAML_FILE_ERROR",
            "Expected phases/build/commands[0] to be of string type",
        ),
    ],
    ids=["missing-source-object", "not-yaml", "unsupported-key", "command-not-a-string"],
)
def test_bad_input_fails_the_download_source_phase_clearly(
    builds: Builds, overrides: dict[str, Any], status_code: str, message: str
) -> None:
    builds.s3.create_bucket(Bucket="build-contexts")
    project = builds.project()

    build = builds.run(project, **overrides)

    assert build["buildStatus"] == "FAILED"
    assert phases(build) == [
        *ALL_PHASES[:3],
        ("DOWNLOAD_SOURCE", "FAILED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]
    context = phase(build, "DOWNLOAD_SOURCE")["contexts"][0]
    assert context["statusCode"] == status_code
    assert message in context["message"]
    assert any(
        line.endswith(f"Phase context status code: {status_code} Message: {context['message']}")
        for line in builds.log(build)
    )


def test_unknown_builds_and_projects_are_reported_as_aws_does(builds: Builds) -> None:
    missing = "test-project-x:00000000-0000-0000-0000-000000000000"
    assert builds.codebuild.batch_get_builds(ids=[missing])["buildsNotFound"] == [missing]
    with pytest.raises(ClientError) as raised:
        builds.codebuild.batch_get_builds(ids=["no-colon"])
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"
    with pytest.raises(ClientError) as raised:
        builds.codebuild.start_build(projectName="no-such-project")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_project_from_cloudformation_runs_and_goes_with_its_stack(
    builds: Builds, emulator: Emulator, tmp_path: Path
) -> None:
    source = builds.upload({"message.txt": "from the stack's source\n"})
    cloudformation = emulator.client("cloudformation")
    cloudformation.create_stack(StackName="builder", TemplateBody=json.dumps(_cdk_template(tmp_path, "one")))
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in cloudformation.describe_stacks(StackName="builder")["Stacks"][0]["Outputs"]
    }
    assert outputs["ProjectName"] == "image-builder"
    assert outputs["ProjectArn"] == "arn:aws:codebuild:us-east-1:123456789012:project/image-builder"
    project = builds.codebuild.batch_get_projects(names=["image-builder"])["projects"][0]
    assert project["source"]["location"] == source
    assert project["timeoutInMinutes"] == 20
    assert project["logsConfig"]["cloudWatchLogs"] == {
        "status": "ENABLED",
        "groupName": "/builds/image-builder",
    }

    build = builds.run("image-builder")
    assert build["buildStatus"] == "SUCCEEDED", builds.log(build)
    assert build["logs"]["groupName"] == "/builds/image-builder"
    assert "from the stack's source" in builds.log(build)
    assert "stage is one" in builds.log(build)

    cloudformation.update_stack(StackName="builder", TemplateBody=json.dumps(_cdk_template(tmp_path, "two")))
    rebuilt = builds.run("image-builder")
    assert "stage is two" in builds.log(rebuilt)
    assert rebuilt["buildNumber"] == build["buildNumber"] + 1

    cloudformation.delete_stack(StackName="builder")
    assert builds.codebuild.batch_get_projects(names=["image-builder"])["projects"] == []
    with pytest.raises(ClientError) as raised:
        builds.codebuild.start_build(projectName="image-builder")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_reset_stops_running_builds_before_it_forgets_them(builds: Builds, emulator: Emulator) -> None:
    project = builds.project()
    sleep = sleep_command(421)
    buildspec = f"version: 0.2\nphases:\n  build:\n    commands:\n      - echo up; {sleep}\n"
    build_id = builds.start(project, buildspecOverride=buildspec)["id"]
    builds.wait_for_line(build_id, "up")
    deadline = time.monotonic() + 60
    while not running(sleep) and time.monotonic() < deadline:
        time.sleep(0.1)  # the line is out a moment before `sleep` starts
    assert running(sleep)

    emulator.reset()  # answers once the build has ended

    assert not running(sleep)
    assert builds.codebuild.list_builds()["ids"] == []


def test_stopping_the_emulator_stops_running_builds(tmp_path: Path) -> None:
    with Emulator(state_dir=tmp_path) as server:
        builds = Builds(server)
        project = builds.project()
        sleep = sleep_command(419)
        build_id = builds.start(
            project,
            buildspecOverride=f"version: 0.2\nphases:\n  build:\n    commands:\n      - echo up; {sleep}\n",
        )["id"]
        builds.wait_for_line(build_id, "up")
        deadline = time.monotonic() + 60
        while not running(sleep) and time.monotonic() < deadline:
            time.sleep(0.1)  # the line is out a moment before `sleep` starts
        assert running(sleep)

    assert not running(sleep)


def _cdk_template(outdir: Path, stage: str) -> dict[str, Any]:
    """What CDK's aws_codebuild.Project synthesizes for an S3-sourced project with its own log group."""
    import aws_cdk as cdk
    from aws_cdk import aws_codebuild as codebuild
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_s3 as s3

    app = cdk.App(outdir=str(outdir / f"cdk-{stage}"))
    stack = cdk.Stack(
        app, "Builder", synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
    )
    log_group = logs.LogGroup(stack, "Logs", log_group_name="/builds/image-builder")
    project = codebuild.Project(
        stack,
        "Project",
        project_name="image-builder",
        source=codebuild.Source.s3(
            bucket=s3.Bucket.from_bucket_name(stack, "Contexts", "build-contexts"), path="context/source.zip"
        ),
        build_spec=codebuild.BuildSpec.from_object(
            {"version": "0.2", "phases": {"build": {"commands": ["cat message.txt", "echo stage is $STAGE"]}}}
        ),
        environment=codebuild.BuildEnvironment(
            build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
            environment_variables={"STAGE": codebuild.BuildEnvironmentVariable(value=stage)},
        ),
        logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
        timeout=cdk.Duration.minutes(20),
    )
    cdk.CfnOutput(stack, "ProjectName", value=project.project_name)
    cdk.CfnOutput(stack, "ProjectArn", value=project.project_arn)
    template: dict[str, Any] = app.synth().get_stack_by_name("Builder").template
    return template
