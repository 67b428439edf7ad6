"""What the synthesized template promises: every property a user (or an auditor) relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from app import build_app
from sagemaker_stack.config import (
    LOCAL_FIELDS,
    OPTIONAL_OUTPUTS,
    REQUIRED_OUTPUTS,
    STACK_OUTPUTS,
    OutputName,
    StackConfig,
)
from sagemaker_stack.ops.outputs import config_from_outputs
from sagemaker_stack_cdk import STACK_TAG_KEY

#: The fixtures' type (defined in this folder's conftest.py, which is not importable by name).
Synthesized = Any

BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/TeamBoundary"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"


def _only(template: Template, resource_type: str) -> tuple[str, Any]:
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def _resource(template: Template, resource_type: str) -> dict[str, Any]:
    return _only(template, resource_type)[1]


def _logical_id(template: Template, resource_type: str) -> str:
    return _only(template, resource_type)[0]


def _role(template: Template, service: str) -> tuple[str, Any]:
    roles = {
        logical_id: role
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": service}
    }
    assert len(roles) == 1, f"expected one role trusted by {service}"
    return next(iter(roles.items()))


def _policy_of(template: Template, role_id: str) -> dict[str, Any]:
    policies = [
        policy["Properties"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    assert len(policies) == 1, f"expected one policy on {role_id}"
    return policies[0]


class _Resolver:
    """Evaluates the intrinsics this template uses, as CloudFormation would after a deploy."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template["Resources"]

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        resource = self.resources[logical_id]
        properties = resource["Properties"]
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            if "BucketName" not in properties:  # CloudFormation names it after the stack
                return f"stack-{logical_id.lower()}-abcdef"
            return str(self.value(properties["BucketName"]))
        if kind == "AWS::EC2::VPC":
            return "vpc-0123456789abcdef0"
        if kind == "AWS::EC2::Subnet":
            return f"subnet-{sorted(self.resources).index(logical_id):017x}"
        if kind == "AWS::ECR::Repository":
            return str(properties["RepositoryName"])
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{properties['Name']}-AbCdEf"
        if kind == "AWS::IAM::Role":
            return str(self.value(properties["RoleName"]))
        if kind == "AWS::CodeBuild::Project":
            return str(properties["Name"])
        raise AssertionError(f"no Ref for {kind}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
            return f"sg-{sorted(self.resources).index(logical_id):017x}"
        assert attribute == "Arn", attribute
        if kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{self.ref(logical_id)}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.ref(logical_id)}"
        raise AssertionError(f"no Arn for {kind}")

    def value(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Join":
                return arg[0].join(str(self.value(part)) for part in arg[1])
        if isinstance(node, str | bool | int):
            return node
        raise AssertionError(f"unexpected intrinsic in an output: {node}")


def _deployed_outputs(synthesized: Synthesized) -> dict[str, str]:
    """The outputs as `cdk deploy -O` would write them (all strings)."""
    template = synthesized.json
    resolver = _Resolver(template)
    return {name: str(resolver.value(output["Value"])) for name, output in template["Outputs"].items()}


# --- outputs: the hand-off ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "optional"),
    [
        ("default_stack", {OutputName.IMAGE_BUILDER_PROJECT}),
        ("custom_stack", set()),
        ("private_stack", set(OPTIONAL_OUTPUTS)),
    ],
)
def test_outputs_are_exactly_the_hand_off_names(
    fixture: str, optional: set[str], request: pytest.FixtureRequest
) -> None:
    """The image builder's output exists only with image_builder=codebuild (custom_stack has none)."""
    synthesized: Synthesized = request.getfixturevalue(fixture)
    assert set(synthesized.json["Outputs"]) == {*REQUIRED_OUTPUTS, *optional, OutputName.STACK_CONFIG_JSON}


def test_every_output_the_stack_makes_is_read_by_export_and_back(private_stack: Synthesized) -> None:
    """One table, `config.STACK_OUTPUTS`: the stack with every option makes exactly its rows, each
    StackConfig field a stack knows has a row, and export reads each output into its row's field."""
    outputs = _deployed_outputs(private_stack)
    assert set(outputs) - {OutputName.STACK_CONFIG_JSON} == {row.name for row in STACK_OUTPUTS}
    not_outputs = {"schema_version", "stack_name", "endpoint_url", *LOCAL_FIELDS}
    assert {row.field for row in STACK_OUTPUTS} == set(StackConfig.model_fields) - not_outputs
    config = config_from_outputs(outputs, stack_name=private_stack.stack.stack_name)
    for row in STACK_OUTPUTS:
        value = getattr(config, row.field)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, tuple):
            value = ",".join(value)
        assert value == outputs[row.name], row


@pytest.mark.parametrize("fixture", ["default_stack", "custom_stack", "private_stack"])
def test_stack_config_json_loads_into_a_stack_config(fixture: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)
    settings = synthesized.stack.settings
    prefix = settings.resource_prefix
    outputs = _deployed_outputs(synthesized)
    data = json.loads(outputs[OutputName.STACK_CONFIG_JSON])
    not_outputs = {"schema_version", "endpoint_url", *LOCAL_FIELDS}
    if not settings.builds_images:
        not_outputs.add("image_builder_project")
    if not settings.has_vpc:
        not_outputs |= {"vpc_id", "subnet_ids", "security_group_id", "nat"}
    if not settings.encrypts:
        not_outputs.add("kms_key_arn")
    if settings.access_logs is not True:
        not_outputs.add("access_logs_bucket")
    assert set(data) == set(StackConfig.model_fields) - not_outputs
    config = StackConfig.from_dict(data)
    assert config.stack_name == settings.stack_name
    assert config.region == REGION
    assert config.account == ACCOUNT
    assert config.resource_prefix == prefix
    assert config.bucket_name == f"{prefix}-artifacts-{ACCOUNT}-{REGION}"
    assert config.artifact_path == f"s3://{prefix}-artifacts-{ACCOUNT}-{REGION}/zenml"
    assert config.registry_uri == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert config.repository_name == f"{prefix}-zenml"
    assert config.execution_role_arn == f"arn:aws:iam::{ACCOUNT}:role/{prefix}-execution-{REGION}"
    assert config.scheduler_role_arn == f"arn:aws:iam::{ACCOUNT}:role/{prefix}-scheduler-{REGION}"
    assert config.secret_arn.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{prefix}/")
    assert config.retain_data is settings.retain_data
    assert config.image_builder_project == (f"{prefix}-image-builder" if settings.builds_images else None)
    if settings.has_vpc:
        assert config.vpc_id == "vpc-0123456789abcdef0" and config.nat is settings.nat
        assert config.subnet_ids is not None and len(config.subnet_ids) == 2
        assert config.security_group_id is not None and config.security_group_id.startswith("sg-")
    else:
        assert config.subnet_ids is None and config.security_group_id is None
    assert (config.kms_key_arn is not None) is settings.encrypts


@pytest.mark.parametrize("fixture", ["default_stack", "custom_stack", "private_stack"])
def test_export_accepts_the_deployed_outputs(fixture: str, request: pytest.FixtureRequest) -> None:
    """The runtime's own reader agrees with every individual output and the JSON one."""
    synthesized: Synthesized = request.getfixturevalue(fixture)
    outputs = _deployed_outputs(synthesized)
    config = config_from_outputs(outputs, stack_name=synthesized.stack.stack_name)
    retained = synthesized.stack.settings.retain_data
    assert config.retain_data is retained
    assert outputs[OutputName.RETAIN_DATA] == ("true" if retained else "false")
    assert config.subnet_ids == (tuple(outputs[OutputName.SUBNET_IDS].split(",")) if config.vpc_id else None)
    assert config.kms_key_arn == outputs.get(OutputName.KMS_KEY_ARN)
    assert config.resource_prefix == synthesized.stack.settings.resource_prefix
    assert config.image_builder_project == outputs.get(OutputName.IMAGE_BUILDER_PROJECT)


def test_no_output_can_carry_the_secret_value(default_stack: Synthesized) -> None:
    secret_id = _logical_id(default_stack.template, "AWS::SecretsManager::Secret")
    text = json.dumps(default_stack.json["Outputs"])
    assert "resolve:secretsmanager" not in text
    assert "SecretString" not in text
    # The secret appears in outputs only through Ref, which is its ARN.
    assert {"Fn::GetAtt": [secret_id, "SecretString"]} not in _nodes(default_stack.json["Outputs"])
    refs = [node for node in _nodes(default_stack.json["Outputs"]) if node == {"Ref": secret_id}]
    assert refs, "the secret ARN is an output"
    assert "resolve:secretsmanager" not in json.dumps(default_stack.json)


def _nodes(node: Any) -> list[Any]:
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += _nodes(value)
    elif isinstance(node, list):
        for value in node:
            found += _nodes(value)
    return found


# --- execution role ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "name"),
    [("sagemaker.amazonaws.com", "execution"), ("codebuild.amazonaws.com", "image-builder")],
)
def test_execution_and_image_builder_roles_are_trusted_by_their_service_only(
    service: str, name: str, default_stack: Synthesized
) -> None:
    _, role = _role(default_stack.template, service)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # The service's confused-deputy conditions are checked in test_stacks_network.
    assert {key: statement[key] for key in ("Action", "Effect", "Principal")} == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": service},
    }
    assert role["Properties"]["RoleName"] == {
        "Fn::Join": ["", [f"zenml-sagemaker-{name}-", {"Ref": "AWS::Region"}]]
    }


def test_execution_role_has_the_sagemaker_managed_policy(default_stack: Synthesized) -> None:
    _, role = _role(default_stack.template, "sagemaker.amazonaws.com")
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonSageMakerFullAccess"]]}
    ]


PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUSH = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]


@pytest.mark.parametrize(
    ("fixture", "repository_actions"),
    [
        # image_builder=codebuild: the project pushes, a step only pulls the image it runs in.
        ("default_stack", PULL),
        # image_builder=none: as before the builder existed, images are pushed with this role.
        ("custom_stack", [*PULL, "ecr:DescribeImages", *PUSH]),
    ],
)
def test_execution_role_policy_is_scoped_to_own_bucket_repository_and_secret(
    fixture: str, repository_actions: list[str], request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(fixture).template
    bucket = _logical_id(template, "AWS::S3::Bucket")
    repository = _logical_id(template, "AWS::ECR::Repository")
    secret = _logical_id(template, "AWS::SecretsManager::Secret")
    role_id, _ = _role(template, "sagemaker.amazonaws.com")
    statements = _policy_of(template, role_id)["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Sid": "ArtifactBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
        },
        {
            "Sid": "ArtifactObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]},
        },
        {
            "Sid": "ImageRepository",
            "Effect": "Allow",
            "Action": repository_actions,
            "Resource": {"Fn::GetAtt": [repository, "Arn"]},
        },
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "ZenmlCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": {"Ref": secret},
        },
    ]


@pytest.mark.parametrize(("fixture", "roles"), [("default_stack", 3), ("custom_stack", 2)])
def test_only_the_stacks_roles_and_one_policy_each_exist(
    fixture: str, roles: int, request: pytest.FixtureRequest
) -> None:
    """Execution and scheduler roles, plus the image builder's with image_builder=codebuild."""
    template = request.getfixturevalue(fixture).template
    template.resource_count_is("AWS::IAM::Role", roles)
    template.resource_count_is("AWS::IAM::Policy", roles)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.resource_count_is("AWS::IAM::User", 0)


# --- scheduler role ------------------------------------------------------------------------------


def test_scheduler_role_is_trusted_by_scheduler_for_this_account_only(default_stack: Synthesized) -> None:
    _, role = _role(default_stack.template, "scheduler.amazonaws.com")
    assert role["Properties"]["AssumeRolePolicyDocument"] == {
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
        "Version": "2012-10-17",
    }
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]


@pytest.mark.parametrize(
    ("fixture", "prefix"), [("default_stack", "zenml-sagemaker"), ("custom_stack", "mlteam")]
)
def test_scheduler_role_may_only_start_this_stacks_pipelines(
    fixture: str, prefix: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)
    role_id, _ = _role(synthesized.template, "scheduler.amazonaws.com")
    assert _policy_of(synthesized.template, role_id)["PolicyDocument"]["Statement"] == [
        {
            "Sid": "StartStackPipelines",
            "Effect": "Allow",
            "Action": "sagemaker:StartPipelineExecution",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":sagemaker:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        f":pipeline/{prefix}-*",
                    ],
                ]
            },
        }
    ]
    assert "iam:PassRole" not in json.dumps(synthesized.json)


def test_scheduler_role_arn_is_the_scheduler_output(default_stack: Synthesized) -> None:
    role_id, _ = _role(default_stack.template, "scheduler.amazonaws.com")
    default_stack.template.has_output(
        OutputName.SCHEDULER_ROLE_ARN, {"Value": {"Fn::GetAtt": [role_id, "Arn"]}}
    )


# --- image builder -------------------------------------------------------------------------------


def test_image_builder_project_builds_from_the_build_context_prefix(default_stack: Synthesized) -> None:
    template = default_stack.template
    bucket = _logical_id(template, "AWS::S3::Bucket")
    log_group = _logical_id(template, "AWS::Logs::LogGroup")
    role_id, _ = _role(template, "codebuild.amazonaws.com")
    policy_id = next(
        logical_id
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    project = _resource(template, "AWS::CodeBuild::Project")
    properties = project["Properties"]
    assert properties["Name"] == "zenml-sagemaker-image-builder"
    assert properties["ServiceRole"] == {"Fn::GetAtt": [role_id, "Arn"]}
    # A folder source in the stack's own bucket: where ZenML and `image build` upload contexts.
    assert properties["Source"] == {
        "Type": "S3",
        "Location": {"Fn::Join": ["", [{"Ref": bucket}, "/zenml/code-build-contexts/"]]},
    }
    environment = properties["Environment"]
    assert environment["Type"] == "LINUX_CONTAINER"
    assert environment["Image"].startswith("aws/codebuild/standard:")
    assert environment["ImagePullCredentialsType"] == "CODEBUILD"
    assert environment["PrivilegedMode"] is True
    assert environment["ComputeType"] == "BUILD_GENERAL1_SMALL"
    assert "EnvironmentVariables" not in environment
    assert properties["TimeoutInMinutes"] == 60
    assert properties["Artifacts"] == {"Type": "NO_ARTIFACTS"}
    assert properties["LogsConfig"] == {
        "CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": log_group}}
    }
    # The role's policy exists before CodeBuild can start a build with the role.
    assert policy_id in project["DependsOn"]


def test_image_builder_log_group_is_codebuilds_own_and_goes_with_the_stack(
    default_stack: Synthesized,
) -> None:
    log_group = _resource(default_stack.template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["LogGroupName"] == "/aws/codebuild/zenml-sagemaker-image-builder"
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Delete"


def test_image_builder_role_has_no_managed_or_inline_policy(default_stack: Synthesized) -> None:
    """Its one policy is the stack's own (below); trust and name are checked with the execution role's."""
    _, role = _role(default_stack.template, "codebuild.amazonaws.com")
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]


def test_image_builder_role_may_read_build_contexts_push_the_repository_and_write_its_logs(
    default_stack: Synthesized,
) -> None:
    """Exactly these statements: none of the ones CDK's codebuild.Project adds on its own."""
    template = default_stack.template
    bucket = _logical_id(template, "AWS::S3::Bucket")
    repository = _logical_id(template, "AWS::ECR::Repository")
    log_group = _logical_id(template, "AWS::Logs::LogGroup")
    role_id, _ = _role(template, "codebuild.amazonaws.com")
    assert _policy_of(template, role_id)["PolicyDocument"]["Statement"] == [
        {
            "Sid": "BuildContextBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"],
            "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
        },
        {
            "Sid": "ListBuildContexts",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": "zenml/code-build-contexts/*"}},
        },
        {
            "Sid": "ReadBuildContexts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/zenml/code-build-contexts/*"]]},
        },
        {
            "Sid": "ImageRepository",
            "Effect": "Allow",
            "Action": [*PULL, *PUSH],
            "Resource": {"Fn::GetAtt": [repository, "Arn"]},
        },
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "BuildLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
        },
    ]


def test_cdks_own_grants_to_the_project_never_reach_its_role(
    default_stack: Synthesized, tmp_path: Path
) -> None:
    """codebuild.Project gets its role without policy updates: grants to it change nothing.

    An empty context means the default settings, which are cdk.json's (test_stacks_settings).
    """
    _, stack = build_app({}, outdir=str(tmp_path))
    project = stack.zenml.image_builder_project
    assert project is not None
    project.add_to_role_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    stack.zenml.bucket.grant_read_write(project)
    stack.zenml.repository.grant_pull_push(project)
    assert Template.from_stack(stack).to_json() == default_stack.json


def test_image_builder_project_is_its_output(default_stack: Synthesized) -> None:
    project = _logical_id(default_stack.template, "AWS::CodeBuild::Project")
    default_stack.template.has_output(OutputName.IMAGE_BUILDER_PROJECT, {"Value": {"Ref": project}})


def test_image_builder_none_leaves_project_role_and_log_group_out(custom_stack: Synthesized) -> None:
    assert custom_stack.stack.settings.image_builder == "none"
    template = custom_stack.template
    template.resource_count_is("AWS::CodeBuild::Project", 0)
    template.resource_count_is("AWS::Logs::LogGroup", 0)
    roles = template.find_resources("AWS::IAM::Role").values()
    assert all(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        != {"Service": "codebuild.amazonaws.com"}
        for role in roles
    )
    assert "codebuild" not in json.dumps(custom_stack.json).lower()


# --- artifact bucket -----------------------------------------------------------------------------


def test_bucket_is_named_encrypted_private_and_versioned(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": {
                "Fn::Join": [
                    "",
                    ["zenml-sagemaker-artifacts-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}],
                ]
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )


def test_bucket_expires_noncurrent_versions(default_stack: Synthesized) -> None:
    rules = _resource(default_stack.template, "AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert any(
        rule["Status"] == "Enabled" and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        for rule in rules
    )


def test_bucket_policy_denies_every_request_without_tls(default_stack: Synthesized) -> None:
    bucket = _logical_id(default_stack.template, "AWS::S3::Bucket")
    policy = _resource(default_stack.template, "AWS::S3::BucketPolicy")["Properties"]
    assert policy["Bucket"] == {"Ref": bucket}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": [
                {"Fn::GetAtt": [bucket, "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]},
            ],
        }
    ]


def test_bucket_has_no_lambda_backed_auto_delete(custom_stack: Synthesized) -> None:
    """retain_data=false must not need a Lambda (the emulator cannot run one): `down` empties it."""
    custom_stack.template.resource_count_is("AWS::Lambda::Function", 0)
    custom_stack.template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


# --- image repository ----------------------------------------------------------------------------


def test_repository_is_named_scanned_and_expires_untagged_images(default_stack: Synthesized) -> None:
    properties = _resource(default_stack.template, "AWS::ECR::Repository")["Properties"]
    assert properties["RepositoryName"] == "zenml-sagemaker-zenml"
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    lifecycle = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])
    assert lifecycle["rules"] == [
        {
            "rulePriority": 1,
            "description": "Expire untagged images after 14 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countNumber": 14,
                "countUnit": "days",
            },
            "action": {"type": "expire"},
        }
    ]


# --- retain_data ---------------------------------------------------------------------------------


def test_retain_data_true_keeps_bucket_and_repository(default_stack: Synthesized) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::ECR::Repository"):
        resource = _resource(default_stack.template, resource_type)
        assert resource["DeletionPolicy"] == "Retain", resource_type
        assert resource["UpdateReplacePolicy"] == "Retain", resource_type
    assert _resource(default_stack.template, "AWS::ECR::Repository")["Properties"]["EmptyOnDelete"] is False


def test_retain_data_false_deletes_bucket_and_emptied_repository(custom_stack: Synthesized) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::ECR::Repository"):
        resource = _resource(custom_stack.template, resource_type)
        assert resource["DeletionPolicy"] == "Delete", resource_type
    assert _resource(custom_stack.template, "AWS::ECR::Repository")["Properties"]["EmptyOnDelete"] is True


@pytest.mark.parametrize("fixture", ["default_stack", "custom_stack"])
def test_secret_is_always_deleted_with_the_stack(fixture: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(fixture)
    assert _resource(synthesized.template, "AWS::SecretsManager::Secret")["DeletionPolicy"] == "Delete"


# --- credentials secret --------------------------------------------------------------------------


def test_secret_is_generated_with_a_placeholder_and_no_value_in_the_template(
    default_stack: Synthesized,
) -> None:
    properties = _resource(default_stack.template, "AWS::SecretsManager::Secret")["Properties"]
    assert properties["Name"] == "zenml-sagemaker/zenml-server"
    generate = properties["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"server_url": ""}
    assert generate["GenerateStringKey"] == "api_key"
    assert "SecretString" not in properties


# --- settings that change names, tags and boundaries ---------------------------------------------


def test_custom_prefix_and_stack_name_flow_into_every_name(custom_stack: Synthesized) -> None:
    template = custom_stack.template
    assert custom_stack.stack.stack_name == "ml-team-stack"
    assert _resource(template, "AWS::ECR::Repository")["Properties"]["RepositoryName"] == "mlteam-zenml"
    assert _resource(template, "AWS::SecretsManager::Secret")["Properties"]["Name"] == "mlteam/zenml-server"
    bucket_name = _resource(template, "AWS::S3::Bucket")["Properties"]["BucketName"]
    assert bucket_name["Fn::Join"][1][0] == "mlteam-artifacts-"
    template.has_output(OutputName.RESOURCE_PREFIX, {"Value": "mlteam"})
    outputs = _deployed_outputs(custom_stack)
    assert json.loads(outputs[OutputName.STACK_CONFIG_JSON])["stack_name"] == "ml-team-stack"


def test_custom_prefix_flows_into_the_image_builders_names(custom_builder_stack: Synthesized) -> None:
    template = custom_builder_stack.template
    assert _resource(template, "AWS::CodeBuild::Project")["Properties"]["Name"] == "mlteam-image-builder"
    log_group = _resource(template, "AWS::Logs::LogGroup")["Properties"]["LogGroupName"]
    assert log_group == "/aws/codebuild/mlteam-image-builder"
    _, role = _role(template, "codebuild.amazonaws.com")
    assert role["Properties"]["RoleName"] == {
        "Fn::Join": ["", ["mlteam-image-builder-", {"Ref": "AWS::Region"}]]
    }


TAGGED_TYPES = (
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::SecretsManager::Secret",
    "AWS::IAM::Role",
    "AWS::CodeBuild::Project",
    "AWS::Logs::LogGroup",
)


def test_tags_from_settings_are_on_every_taggable_resource(custom_builder_stack: Synthesized) -> None:
    expected = {"team": "ml", "cost-center": "42", STACK_TAG_KEY: "ml-team-stack"}
    for resource_type in TAGGED_TYPES:
        resources = custom_builder_stack.template.find_resources(resource_type)
        assert resources, resource_type
        for logical_id, resource in resources.items():
            tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"].get("Tags", [])}
            assert tags == expected, logical_id


def test_default_stack_is_tagged_with_its_name_only(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::S3::Bucket", {"Tags": [{"Key": STACK_TAG_KEY, "Value": "sagemaker-stack"}]}
    )


def test_permissions_boundary_is_applied_to_every_role(
    custom_builder_stack: Synthesized, custom_context: dict[str, Any]
) -> None:
    assert custom_context["permissions_boundary_arn"] == BOUNDARY_ARN
    roles = custom_builder_stack.template.find_resources("AWS::IAM::Role")
    assert len(roles) == 3
    for logical_id, role in roles.items():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN, logical_id


def test_no_permissions_boundary_by_default(default_stack: Synthesized) -> None:
    default_stack.template.all_resources_properties("AWS::IAM::Role", {"PermissionsBoundary": Match.absent()})
