"""The construct library as a user's CDK app uses it: their stack, VPC and key, two constructs.

`user_app` is what docs/stack.md's "Use it in your own CDK app" shows: one stack of the user's
with their own VPC and key, team A in that VPC with that key, team B adopting the user's bucket
and repository. Synthesizing costs seconds, so it is built once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from app import build_app
from sagemaker_stack import config
from sagemaker_stack.config import OutputName
from sagemaker_stack.ops.outputs import construct_outputs
from sagemaker_stack_cdk import SettingsError, ZenmlSageMaker, ZenmlSageMakerProps, apply_checks
from tests.unit.stacks.conftest import Synthesized

USER_BUCKET = "team-b-own-artifacts"
USER_REPOSITORY = "team-b/own-images"


def _user_vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "UserVpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
        restrict_default_security_group=False,
    )


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Template]]:
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = Stack(app, "PlatformStack")
    vpc = _user_vpc(stack)
    key = kms.Key(stack, "UserKey", enable_key_rotation=True)
    ZenmlSageMaker(
        stack,
        "TeamA",
        ZenmlSageMakerProps(
            resource_prefix="team-a",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            key=key,
        ),
    )
    ZenmlSageMaker(
        stack,
        "TeamB",
        ZenmlSageMakerProps(
            resource_prefix="team-b",
            image_builder="none",
            artifact_bucket=s3.Bucket.from_bucket_name(stack, "TeamBBucket", USER_BUCKET),
            image_repository=ecr.Repository.from_repository_name(stack, "TeamBRepository", USER_REPOSITORY),
        ),
    )
    yield stack, Template.from_stack(stack)


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return {name: r for name, r in template.to_json()["Resources"].items() if r["Type"] == kind}


def _policies_naming(template: Template, text: str) -> set[str]:
    """The logical ids of the IAM policies whose JSON contains `text`."""
    return {name for name, r in _resources(template, "AWS::IAM::Policy").items() if text in json.dumps(r)}


def test_two_constructs_in_one_stack_have_their_own_outputs(user_app: tuple[Stack, Template]) -> None:
    _, template = user_app
    keys = set(template.to_json()["Outputs"])
    for prefix in ("TeamA", "TeamB"):
        required = {config.output_key(prefix, name) for name in config.REQUIRED_OUTPUTS}
        assert required <= keys, required - keys
        assert config.output_key(prefix, OutputName.STACK_CONFIG_JSON) in keys
    # Team A has the VPC, the key and the image builder; team B none of them.
    assert {"TeamAVpcId", "TeamASubnetIds", "TeamAKmsKeyArn", "TeamAImageBuilderProject"} <= keys
    assert not {"TeamBVpcId", "TeamBKmsKeyArn", "TeamBImageBuilderProject"} & keys
    assert not set(config.REQUIRED_OUTPUTS) & keys  # the plain names belong to a "Default" construct


def test_two_constructs_name_nothing_alike(user_app: tuple[Stack, Template]) -> None:
    _, template = user_app
    names: list[str] = []
    for resource in template.to_json()["Resources"].values():
        props = resource.get("Properties", {})
        names += [
            json.dumps(props[key], sort_keys=True)
            for key in ("RoleName", "BucketName", "RepositoryName", "Name", "LogGroupName")
            if key in props
        ]
    assert len(names) == len(set(names)), sorted(names)
    config_json = {
        prefix: template.to_json()["Outputs"][f"{prefix}StackConfigJson"]["Value"]
        for prefix in ("TeamA", "TeamB")
    }
    assert "team-a" in json.dumps(config_json["TeamA"]) and "team-b" not in json.dumps(config_json["TeamA"])


def test_the_user_vpc_and_key_are_used_not_copied_or_changed(user_app: tuple[Stack, Template]) -> None:
    stack, template = user_app
    vpcs = _resources(template, "AWS::EC2::VPC")
    assert list(vpcs) == [stack.get_logical_id(stack.node.find_child("UserVpc").node.default_child)]  # type: ignore[arg-type]
    assert not _resources(template, "AWS::EC2::VPCEndpoint")  # the VPC's owner decides its endpoints
    ours = [
        r
        for name, r in _resources(template, "AWS::EC2::SecurityGroup").items()
        if name.startswith("TeamANetwork")
    ]
    assert ours and all(g["Properties"]["VpcId"] == {"Ref": next(iter(vpcs))} for g in ours)
    subnets = [stack.get_logical_id(s.node.default_child) for s in _private_subnets(stack)]  # type: ignore[arg-type]
    team_a_subnets = json.dumps(template.to_json()["Outputs"]["TeamASubnetIds"]["Value"])
    assert all(f'"Ref": "{name}"' in team_a_subnets for name in subnets)
    keys = _resources(template, "AWS::KMS::Key")
    assert len(keys) == 1  # the user's own, its policy theirs
    ((key_id, user_key),) = keys.items()
    assert "CloudWatchLogsOfTheStack" not in json.dumps(user_key["Properties"]["KeyPolicy"])
    using_key = _policies_naming(template, f'"Fn::GetAtt": ["{key_id}", "Arn"]')
    assert len(using_key) >= 2 and all(name.startswith("TeamA") for name in using_key), using_key


def _private_subnets(stack: Stack) -> list[ec2.ISubnet]:
    vpc = stack.node.find_child("UserVpc")
    assert isinstance(vpc, ec2.Vpc)
    return list(vpc.isolated_subnets)


def test_adopted_bucket_and_repository_are_not_made_and_the_roles_name_them(
    user_app: tuple[Stack, Template],
) -> None:
    _, template = user_app
    buckets = _resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 1  # team A's; team B's is the user's, never in the template
    assert USER_BUCKET not in json.dumps(buckets)
    repositories = _resources(template, "AWS::ECR::Repository")
    assert len(repositories) == 1 and USER_REPOSITORY not in json.dumps(repositories)
    # Nothing of the construct's could empty or delete what it adopted.
    assert not [r for r in template.to_json()["Resources"].values() if r["Type"].startswith("Custom::")]
    # Team B's roles are scoped to the bucket and repository it adopted, and only team B's.
    on_bucket = _policies_naming(template, f":s3:::{USER_BUCKET}/*")
    on_repository = _policies_naming(template, f"repository/{USER_REPOSITORY}")
    assert on_bucket and on_bucket == on_repository
    assert all(name.startswith("TeamB") for name in on_bucket), on_bucket


def test_the_construct_acknowledges_its_own_findings_in_a_user_stack(tmp_path: Any) -> None:
    """cdk-nag's checks applied by the user's app find nothing of the construct's to report."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "UserStack")
    ZenmlSageMaker(stack, "Zenml", ZenmlSageMakerProps(resource_prefix="ml"))
    apply_checks(app)
    app.synth()  # a finding not acknowledged interrupts synthesis


def test_outputs_of_each_construct_are_picked_by_id_or_prefix(user_app: tuple[Stack, Template]) -> None:
    _, template = user_app
    outputs = {key: json.dumps(value["Value"]) for key, value in template.to_json()["Outputs"].items()}
    # StackConfigJson values are JSON the export reads the resource prefix from.
    for prefix, resource_prefix in (("TeamA", "team-a"), ("TeamB", "team-b")):
        outputs[f"{prefix}StackConfigJson"] = json.dumps({"resource_prefix": resource_prefix})
    by_id = construct_outputs(outputs, stack_name="PlatformStack", construct="TeamB")
    by_prefix = construct_outputs(outputs, stack_name="PlatformStack", construct="team-b")
    assert by_id == by_prefix
    assert set(config.REQUIRED_OUTPUTS) <= set(by_id)
    assert by_id[OutputName.EXECUTION_ROLE_ARN] == outputs["TeamBExecutionRoleArn"]


def test_the_library_path_makes_the_one_click_template(default_stack: Synthesized, tmp_path: Any) -> None:
    """A user's stack with one default construct is what `make deploy` deploys, resource for resource."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, config.DEFAULT_STACK_NAME)
    ZenmlSageMaker(stack, config.DEFAULT_CONSTRUCT_ID)
    ours = Template.from_stack(stack).to_json()
    assert ours["Resources"] == default_stack.json["Resources"]
    assert ours["Outputs"] == default_stack.json["Outputs"]


# --- one clear message naming the prop ----------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "named"),
    [
        (lambda: ZenmlSageMakerProps(resource_prefix="Team_A"), "invalid resource_prefix 'Team_A'"),
        (lambda: ZenmlSageMakerProps(resource_prefix="x" * 40), "invalid resource_prefix"),
        (lambda: ZenmlSageMakerProps(tags={"aws:team": "ml"}), "invalid tags"),
        (lambda: ZenmlSageMakerProps(image_builder="docker"), "invalid image_builder"),  # type: ignore[arg-type]
        (lambda: ZenmlSageMakerProps(nat=True), "invalid nat"),
        (lambda: ZenmlSageMakerProps(output_prefix="team-a"), "invalid output_prefix"),
    ],
)
def test_a_bad_prop_is_one_message_naming_it(props: Any, named: str) -> None:
    with pytest.raises(SettingsError, match=r"^" + named.replace("(", r"\(")):
        props()


def test_a_key_of_another_region_is_refused_naming_the_prop() -> None:
    stack = Stack(App(), "S", env={"region": "us-east-1", "account": "123456789012"})
    key = kms.Key.from_key_arn(
        stack, "K", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    with pytest.raises(
        SettingsError, match=r"^invalid key: it is in eu-west-1 but the stack deploys to us-east-1"
    ):
        ZenmlSageMaker(stack, "Z", ZenmlSageMakerProps(key=key))


def test_a_subnet_selection_with_no_subnets_is_refused_naming_the_prop() -> None:
    stack = Stack(App(), "S")
    vpc = _user_vpc(stack)
    selections = (ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC), ec2.SubnetSelection(subnets=[]))
    for index, selection in enumerate(selections):
        with pytest.raises(SettingsError, match=r"^invalid vpc_subnets: "):
            ZenmlSageMaker(
                stack,
                f"Z{index}",
                ZenmlSageMakerProps(resource_prefix=f"z{index}", vpc=vpc, vpc_subnets=selection),
            )


def test_two_constructs_of_one_prefix_are_refused() -> None:
    stack = Stack(App(), "S")
    ZenmlSageMaker(stack, "A", ZenmlSageMakerProps(resource_prefix="ml"))
    with pytest.raises(SettingsError, match=r"^invalid resource_prefix 'ml' of S/B: S/A has it too"):
        ZenmlSageMaker(stack, "B", ZenmlSageMakerProps(resource_prefix="ml"))


def test_the_app_still_builds_from_cdk_json(tmp_path: Any) -> None:
    """app.py is context -> props -> construct: its stack holds one construct, the default one."""
    _, stack = build_app({}, outdir=str(tmp_path))
    constructs = [c for c in stack.node.find_all() if isinstance(c, ZenmlSageMaker)]
    assert [c.node.id for c in constructs] == [config.DEFAULT_CONSTRUCT_ID]
