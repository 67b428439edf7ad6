"""The emulator restores whatever it saved, whatever API sequence came before, and says what it restored.

One test drives creates, updates and deletes of every resource type the product and ZenML use,
stops the emulator, drives more on the restored state and kills it (-9) once that is saved; after
each restart everything read back through the APIs is what it was before.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.local import Emulator
from tests.support.codebuild import Builds
from tests.support.emulator import ROLE_ARN, Pipelines, clean, definition, python_step, saved
from tests.support.images import step_image

TRUST = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
TEMPLATE = json.dumps(
    {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "restore-stack-bucket"}}
        }
    }
)
TARGET = {"Arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/kept", "RoleArn": ROLE_ARN}
BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n"
MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
)


def _manifest(tag: str) -> str:
    return MANIFEST[:-1] + f', "annotations": {{"tag": "{tag}"}}}}'


def _first(emulator: Emulator) -> None:
    """Create, update and delete a bit of every service."""
    client = emulator.client
    s3 = client("s3")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket="versioned", Key="model", Body=body)
    s3.put_object(Bucket="versioned", Key="removed", Body=b"x")
    s3.delete_object(Bucket="versioned", Key="removed")  # a delete marker
    gone = s3.put_object(Bucket="versioned", Key="model", Body=b"three")["VersionId"]
    s3.delete_object(Bucket="versioned", Key="model", VersionId=gone)  # a version deleted for good
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="a", Body=b"a")
    s3.create_bucket(Bucket="dropped")
    s3.delete_bucket(Bucket="dropped")

    ecr = client("ecr")
    for repository in ("kept-repo", "dropped-repo"):
        ecr.create_repository(repositoryName=repository)
    for tag in ("v1", "v2"):
        ecr.put_image(repositoryName="kept-repo", imageManifest=_manifest(tag), imageTag=tag)
    ecr.batch_delete_image(repositoryName="kept-repo", imageIds=[{"imageTag": "v1"}])
    ecr.delete_repository(repositoryName="dropped-repo")

    secrets = client("secretsmanager")
    secrets.create_secret(Name="kept-secret", SecretString="first")
    secrets.put_secret_value(SecretId="kept-secret", SecretString="second")
    secrets.update_secret(SecretId="kept-secret", Description="updated")
    secrets.create_secret(Name="forced-secret", SecretString="x")
    secrets.delete_secret(SecretId="forced-secret", ForceDeleteWithoutRecovery=True)
    secrets.create_secret(Name="scheduled-secret", SecretString="x")
    secrets.delete_secret(SecretId="scheduled-secret", RecoveryWindowInDays=7)

    iam = client("iam")
    iam.create_role(RoleName="kept-role", AssumeRolePolicyDocument=TRUST, Path="/restore/")
    iam.put_role_policy(RoleName="kept-role", PolicyName="inline", PolicyDocument=POLICY)
    policy = iam.create_policy(PolicyName="managed", PolicyDocument=POLICY, Path="/restore/")["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=policy, PolicyDocument=POLICY, SetAsDefault=True)
    iam.attach_role_policy(RoleName="kept-role", PolicyArn=policy)
    iam.create_role(RoleName="dropped-role", AssumeRolePolicyDocument=TRUST, Path="/restore/")
    iam.delete_role(RoleName="dropped-role")

    cloudformation = client("cloudformation")
    cloudformation.create_stack(StackName="kept-stack", TemplateBody=TEMPLATE)
    cloudformation.create_stack(
        StackName="dropped-stack", TemplateBody=TEMPLATE.replace("restore-", "other-")
    )
    cloudformation.delete_stack(StackName="dropped-stack")

    logs = client("logs")
    logs.create_log_group(logGroupName="kept-group")
    logs.put_retention_policy(logGroupName="kept-group", retentionInDays=30)
    for stream in ("kept-stream", "dropped-stream"):
        logs.create_log_stream(logGroupName="kept-group", logStreamName=stream)
    logs.put_log_events(
        logGroupName="kept-group",
        logStreamName="kept-stream",
        logEvents=[{"timestamp": 1_700_000_000_000, "message": "hello"}],
    )
    logs.delete_log_stream(logGroupName="kept-group", logStreamName="dropped-stream")
    logs.create_log_group(logGroupName="dropped-group")
    logs.delete_log_group(logGroupName="dropped-group")

    kms = client("kms")
    key = kms.create_key(Description="kept key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/kept", TargetKeyId=key)
    kms.disable_key(KeyId=kms.create_key(Description="disabled key")["KeyMetadata"]["KeyId"])
    kms.schedule_key_deletion(
        KeyId=kms.create_key(Description="deleted key")["KeyMetadata"]["KeyId"], PendingWindowInDays=7
    )

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "restore", "Value": "kept"}])
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")
    group = ec2.create_security_group(GroupName="kept-group", Description="kept", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    dropped = ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=dropped)

    scheduler = client("scheduler")
    for group_name in ("kept-group", "dropped-group"):
        scheduler.create_schedule_group(Name=group_name)
    for name in ("kept-schedule", "dropped-schedule"):
        scheduler.create_schedule(
            Name=name,
            GroupName="kept-group",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=TARGET,
        )
    scheduler.update_schedule(
        Name="kept-schedule",
        GroupName="kept-group",
        ScheduleExpression="rate(2 hours)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=TARGET,
    )
    scheduler.delete_schedule(Name="dropped-schedule", GroupName="kept-group")
    scheduler.delete_schedule_group(Name="dropped-group")

    builds = Builds(emulator)
    project = builds.project(source={"type": "NO_SOURCE", "buildspec": BUILDSPEC})
    builds.codebuild.delete_project(name=builds.project())
    assert builds.run(project)["buildStatus"] == "SUCCEEDED"

    step_image(emulator)
    pipelines = Pipelines(emulator)
    sagemaker = pipelines.sagemaker
    sagemaker.create_pipeline(
        PipelineName="kept", PipelineDefinition=definition(python_step("one", "pass")), RoleArn=ROLE_ARN
    )
    sagemaker.update_pipeline(PipelineName="kept", PipelineDefinition=definition(python_step("two", "pass")))
    arn = sagemaker.start_pipeline_execution(PipelineName="kept", PipelineVersionId=1)["PipelineExecutionArn"]
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    dropped_run = pipelines.start(python_step("quick", "pass"))
    assert pipelines.wait(dropped_run)["PipelineExecutionStatus"] == "Succeeded"
    sagemaker.delete_pipeline(PipelineName=dropped_run.split("/")[1])


def _then(emulator: Emulator) -> None:
    """Go on from the restored state: more versions, updates and deletes."""
    client = emulator.client
    client("s3").put_object(Bucket="versioned", Key="model", Body=b"four")
    client("s3").delete_object(Bucket="plain", Key="a")
    client("ecr").put_image(repositoryName="kept-repo", imageManifest=_manifest("v3"), imageTag="v3")
    client("secretsmanager").put_secret_value(SecretId="kept-secret", SecretString="third")
    client("secretsmanager").restore_secret(SecretId="scheduled-secret")
    iam = client("iam")
    policy = iam.list_attached_role_policies(RoleName="kept-role")["AttachedPolicies"][0]["PolicyArn"]
    iam.detach_role_policy(RoleName="kept-role", PolicyArn=policy)
    iam.delete_role_policy(RoleName="kept-role", PolicyName="inline")
    client("cloudformation").delete_stack(StackName="kept-stack")
    client("logs").put_log_events(
        logGroupName="kept-group",
        logStreamName="kept-stream",
        logEvents=[{"timestamp": 1_700_000_001_000, "message": "again"}],
    )
    kms = client("kms")
    kms.enable_key(KeyId=next(key["KeyId"] for key in _keys(kms) if key["Description"] == "disabled key"))
    client("scheduler").delete_schedule(Name="kept-schedule", GroupName="kept-group")
    builds = Builds(emulator)
    project = client("codebuild").list_projects()["projects"][0]
    assert builds.run(project)["buildStatus"] == "SUCCEEDED"
    pipelines = Pipelines(emulator)
    version = pipelines.sagemaker.update_pipeline(
        PipelineName="kept", PipelineDefinition=definition(python_step("three", "pass"))
    )["PipelineVersionId"]
    assert version == 3
    arn = pipelines.sagemaker.start_pipeline_execution(PipelineName="kept", PipelineVersionId=2)[
        "PipelineExecutionArn"
    ]
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"


def _keys(kms: Any) -> list[dict[str, Any]]:
    return [kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"] for key in kms.list_keys()["Keys"]]


def _read(emulator: Emulator) -> dict[str, Any]:
    """Everything `_first` and `_then` touched, as a user reads it through the APIs."""
    client = emulator.client
    s3, ecr, secrets, iam = client("s3"), client("ecr"), client("secretsmanager"), client("iam")
    versions = s3.list_object_versions(Bucket="versioned")
    state: dict[str, Any] = {
        "buckets": s3.list_buckets()["Buckets"],
        "versions": versions,
        "contents": [
            s3.get_object(Bucket="versioned", Key=item["Key"], VersionId=item["VersionId"])["Body"]
            for item in versions.get("Versions", [])
        ],
        "plain": s3.list_objects_v2(Bucket="plain").get("Contents", []),
        "repositories": ecr.describe_repositories()["repositories"],
        "images": sorted(ecr.describe_images(repositoryName="kept-repo")["imageDetails"], key=str),
        "secrets": secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"],
        "secret versions": secrets.list_secret_version_ids(SecretId="kept-secret")["Versions"],
        "secret": secrets.get_secret_value(SecretId="kept-secret"),
        "roles": iam.list_roles(PathPrefix="/restore/")["Roles"],
        "inline policies": iam.list_role_policies(RoleName="kept-role")["PolicyNames"],
        "attached": iam.list_attached_role_policies(RoleName="kept-role")["AttachedPolicies"],
        "policies": iam.list_policies(Scope="Local")["Policies"],
        "stacks": client("cloudformation").list_stacks()["StackSummaries"],
        "log groups": client("logs").describe_log_groups()["logGroups"],
        "log streams": client("logs").describe_log_streams(logGroupName="kept-group")["logStreams"],
        "log events": client("logs").get_log_events(
            logGroupName="kept-group", logStreamName="kept-stream", startFromHead=True
        )["events"],
        "keys": _keys(client("kms")),
        "aliases": client("kms").list_aliases()["Aliases"],
        "vpcs": client("ec2").describe_vpcs()["Vpcs"],
        "subnets": client("ec2").describe_subnets()["Subnets"],
        "security groups": client("ec2").describe_security_groups()["SecurityGroups"],
        "schedule groups": client("scheduler").list_schedule_groups()["ScheduleGroups"],
        "schedules": client("scheduler").list_schedules()["Schedules"],
        "projects": client("codebuild").batch_get_projects(
            names=client("codebuild").list_projects()["projects"]
        )["projects"],
        "builds": client("codebuild").batch_get_builds(ids=client("codebuild").list_builds()["ids"])[
            "builds"
        ],
    }
    sagemaker = client("sagemaker")
    state["pipelines"] = sagemaker.list_pipelines()["PipelineSummaries"]
    state["pipeline"] = sagemaker.describe_pipeline(PipelineName="kept")
    listed = sagemaker.list_pipeline_versions(PipelineName="kept")["PipelineVersionSummaries"]
    state["pipeline versions"] = listed
    state["version definitions"] = [
        sagemaker.describe_pipeline(PipelineName="kept", PipelineVersionId=item["PipelineVersionId"])[
            "PipelineDefinition"
        ]
        for item in listed
    ]
    executions = sagemaker.list_pipeline_executions(PipelineName="kept")["PipelineExecutionSummaries"]
    state["executions"] = executions
    state["execution details"] = [
        [
            sagemaker.describe_pipeline_execution(PipelineExecutionArn=item["PipelineExecutionArn"]),
            sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=item["PipelineExecutionArn"]),
            sagemaker.describe_pipeline_definition_for_execution(
                PipelineExecutionArn=item["PipelineExecutionArn"]
            ),
        ]
        for item in executions
    ]
    state["jobs"] = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    return clean(state)


def test_every_resource_survives_a_stop_and_a_kill_whatever_came_before(state_dir: Path) -> None:
    with Emulator(state_dir) as emulator:
        _first(emulator)
        before_stop = _read(emulator)
    assert len(before_stop["pipeline versions"]) == 2 and len(before_stop["executions"]) == 1

    emulator = Emulator(state_dir).start()
    try:
        assert (
            emulator.state_notice is not None
            and "1 pipeline(s), 1 pipeline execution(s)" in emulator.state_notice
        )
        after_stop = _read(emulator)
        _then(emulator)
        before_kill = _read(emulator)
        saved(emulator)
    finally:
        assert emulator.pid is not None
        os.kill(emulator.pid, signal.SIGKILL)
        emulator.stop()  # reaps the killed process

    with Emulator(state_dir) as emulator:
        after_kill = _read(emulator)
    for name, value in before_stop.items():
        assert after_stop[name] == value, name
    assert before_kill != before_stop
    for name, value in before_kill.items():
        assert after_kill[name] == value, name


def test_a_deleted_pipeline_with_executions_does_not_stop_the_emulator_from_starting(state_dir: Path) -> None:
    with Emulator(state_dir) as emulator:
        pipelines = Pipelines(emulator)
        step_image(emulator)
        arn = pipelines.start(python_step("quick", "pass"))
        assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
        kept = pipelines.start(python_step("kept", "pass"))
        assert pipelines.wait(kept)["PipelineExecutionStatus"] == "Succeeded"
        pipelines.sagemaker.delete_pipeline(PipelineName=arn.split("/")[1])

    with Emulator(state_dir) as emulator:
        assert emulator.state_notice is not None
        assert (
            "1 pipeline(s), 1 pipeline execution(s), 2 processing and training job(s)"
            in emulator.state_notice
        )
        sagemaker = emulator.client("sagemaker")
        with pytest.raises(ClientError) as gone:
            sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        assert gone.value.response["Error"]["Code"] == "ResourceNotFound"
        assert (
            sagemaker.describe_pipeline_execution(PipelineExecutionArn=kept)["PipelineExecutionStatus"]
            == "Succeeded"
        )
