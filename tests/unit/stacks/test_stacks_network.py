"""`vpc`, `nat`, `kms` and `access_logs` in the synthesized template: what each promises, and combined.

The stacks are conftest's: `private_stack` (vpc=create kms=create access_logs=true, no NAT),
`nat_stack` (vpc=create nat=true), `existing_stack` (an existing VPC with a NAT, a key ARN and a
logs bucket the user owns) and `default_stack` (none of it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_stack.config import OutputName
from sagemaker_stack_cdk.encryption import BUILDER_KEY_ACTIONS, JOB_KEY_ACTIONS
from sagemaker_stack_cdk.network import INTERFACE_ENDPOINTS
from tests.unit.stacks.conftest import EXISTING_KEY, EXISTING_SUBNETS, EXISTING_VPC
from tests.unit.stacks.test_stacks_template import _logical_id, _only, _policy_of, _resource, _role

Synthesized = Any


def _of_type(synthesized: Synthesized, kind: str) -> dict[str, Any]:
    return dict(synthesized.template.find_resources(kind))


def _security_group(synthesized: Synthesized, construct: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        item for item in _of_type(synthesized, "AWS::EC2::SecurityGroup").items() if construct in item[0]
    ]
    return found


# --- vpc=create ------------------------------------------------------------------------------


def test_created_vpc_has_two_private_subnets_in_two_zones_and_no_way_out(private_stack: Synthesized) -> None:
    subnets = _of_type(private_stack, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    zones = sorted(subnet["Properties"]["AvailabilityZone"]["Fn::Select"][0] for subnet in subnets.values())
    assert zones == [0, 1]
    assert all(subnet["Properties"]["MapPublicIpOnLaunch"] is False for subnet in subnets.values())
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route", "AWS::EC2::EIP"):
        private_stack.template.resource_count_is(kind, 0)


def test_created_vpc_has_the_endpoints_a_pipeline_needs(private_stack: Synthesized) -> None:
    endpoints = _of_type(private_stack, "AWS::EC2::VPCEndpoint").values()
    services = {
        endpoint["Properties"]["ServiceName"]["Fn::Join"][1][-1].lstrip("."): endpoint["Properties"]
        for endpoint in endpoints
    }
    assert set(services) == {
        "s3",
        "ecr.api",
        "ecr.dkr",
        "sagemaker.api",
        "secretsmanager",
        "logs",
        "sts",
        "codebuild",
    }
    assert len(INTERFACE_ENDPOINTS) == 7
    subnets = [{"Ref": logical_id} for logical_id in sorted(_of_type(private_stack, "AWS::EC2::Subnet"))]
    route_tables = [
        {"Ref": logical_id} for logical_id in sorted(_of_type(private_stack, "AWS::EC2::RouteTable"))
    ]
    assert services["s3"]["VpcEndpointType"] == "Gateway"
    assert sorted(services["s3"]["RouteTableIds"], key=str) == route_tables
    endpoints_group, _ = _security_group(private_stack, "EndpointsSecurityGroup")
    for name, endpoint in services.items():
        if name == "s3":
            continue
        assert endpoint["VpcEndpointType"] == "Interface"
        assert endpoint["PrivateDnsEnabled"] is True
        assert sorted(endpoint["SubnetIds"], key=str) == subnets
        assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoints_group, "GroupId"]}]


def test_jobs_may_only_send_https_and_nothing_may_reach_them(private_stack: Synthesized) -> None:
    _, group = _security_group(private_stack, "JobsSecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to the VPC endpoints, S3 and the ZenML server",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    private_stack.template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    private_stack.template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)


@pytest.mark.parametrize(("fixture", "clients"), [("private_stack", 1), ("nat_stack", 2)])
def test_endpoints_accept_https_from_the_stacks_jobs_and_builds_only(
    fixture: str, clients: int, request: pytest.FixtureRequest
) -> None:
    synthesized = request.getfixturevalue(fixture)
    _, group = _security_group(synthesized, "EndpointsSecurityGroup")
    ingress = group["Properties"]["SecurityGroupIngress"]
    expected = [_security_group(synthesized, "JobsSecurityGroup")[0]]
    if clients == 2:
        expected.append(_security_group(synthesized, "BuildSecurityGroup")[0])
    assert [(rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in ingress] == [
        ("tcp", 443, 443)
    ] * clients
    assert [rule["SourceSecurityGroupId"]["Fn::GetAtt"][0] for rule in ingress] == expected
    assert all("CidrIp" not in rule for rule in ingress)
    # EC2's default allow-all egress is replaced by a rule that matches no traffic.
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32" and egress["IpProtocol"] == "icmp"


def test_without_nat_the_image_builder_stays_outside_the_vpc(private_stack: Synthesized) -> None:
    """A build must reach PyPI and the public registries: private subnets without NAT cannot."""
    project = _resource(private_stack.template, "AWS::CodeBuild::Project")
    assert "VpcConfig" not in project["Properties"]
    assert not [name for name in _of_type(private_stack, "AWS::EC2::SecurityGroup") if "Build" in name]
    role_id, _ = _role(private_stack.template, "codebuild.amazonaws.com")
    assert "ec2:" not in json.dumps(_policy_of(private_stack.template, role_id))


def test_the_vpc_records_every_flow_with_a_role_that_may_do_nothing_else(private_stack: Synthesized) -> None:
    flow_log = _resource(private_stack.template, "AWS::EC2::FlowLog")["Properties"]
    vpc = _logical_id(private_stack.template, "AWS::EC2::VPC")
    assert flow_log["ResourceId"] == {"Ref": vpc} and flow_log["TrafficType"] == "ALL"
    role_id, role = _role(private_stack.template, "vpc-flow-logs.amazonaws.com")
    assert flow_log["DeliverLogsPermissionArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert condition["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][-1] == ":vpc-flow-log/*"
    (statement,) = _policy_of(private_stack.template, role_id)["PolicyDocument"]["Statement"]
    group = [key for key in _of_type(private_stack, "AWS::Logs::LogGroup") if "FlowLog" in key]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    assert statement["Resource"] == {"Fn::GetAtt": [group[0], "Arn"]}


# --- nat=true --------------------------------------------------------------------------------


def test_nat_gives_the_private_subnets_one_way_out_and_builds_run_there(nat_stack: Synthesized) -> None:
    template = nat_stack.template
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    template.resource_count_is("AWS::EC2::InternetGateway", 1)
    private = [key for key in _of_type(nat_stack, "AWS::EC2::Subnet") if "jobs" in key]
    assert len(private) == 2
    nat = _logical_id(template, "AWS::EC2::NatGateway")
    nat_routes = [
        route["Properties"]
        for route in _of_type(nat_stack, "AWS::EC2::Route").values()
        if "NatGatewayId" in route["Properties"]
    ]
    assert len(nat_routes) == 2 and all(route["NatGatewayId"] == {"Ref": nat} for route in nat_routes)
    project = _resource(template, "AWS::CodeBuild::Project")["Properties"]
    build_group, group = _security_group(nat_stack, "BuildSecurityGroup")
    assert project["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [build_group, "GroupId"]}]
    assert sorted(project["VpcConfig"]["Subnets"], key=str) == sorted(
        ({"Ref": key} for key in private), key=str
    )
    assert [(rule["FromPort"], rule["CidrIp"]) for rule in group["Properties"]["SecurityGroupEgress"]] == [
        (443, "0.0.0.0/0"),
        (80, "0.0.0.0/0"),
    ]


def test_builds_in_the_vpc_may_make_network_interfaces_in_the_stacks_subnets_only(
    nat_stack: Synthesized,
) -> None:
    role_id, _ = _role(nat_stack.template, "codebuild.amazonaws.com")
    statements = {s["Sid"]: s for s in _policy_of(nat_stack.template, role_id)["PolicyDocument"]["Statement"]}
    assert statements["BuildNetworkInterfaces"]["Resource"] == "*"
    assert "ec2:CreateNetworkInterfacePermission" not in statements["BuildNetworkInterfaces"]["Action"]
    permission = statements["BuildNetworkInterfacePermission"]
    assert permission["Action"] == "ec2:CreateNetworkInterfacePermission"
    condition = permission["Condition"]["StringEquals"]
    assert condition["ec2:AuthorizedService"] == "codebuild.amazonaws.com"
    private = sorted(key for key in _of_type(nat_stack, "AWS::EC2::Subnet") if "jobs" in key)
    assert sorted(arn["Fn::Join"][1][-1]["Ref"] for arn in condition["ec2:Subnet"]) == private


# --- an existing VPC ---------------------------------------------------------------------------


def test_an_existing_vpc_gets_only_the_security_groups(existing_stack: Synthesized) -> None:
    template = existing_stack.template
    for kind in (
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::VPCEndpoint",
        "AWS::EC2::FlowLog",
        "AWS::EC2::NatGateway",
    ):
        template.resource_count_is(kind, 0)
    groups = _of_type(existing_stack, "AWS::EC2::SecurityGroup")
    assert len(groups) == 2  # jobs, and builds (the VPC has a NAT)
    assert all(group["Properties"]["VpcId"] == EXISTING_VPC for group in groups.values())
    project = _resource(template, "AWS::CodeBuild::Project")["Properties"]
    assert project["VpcConfig"]["VpcId"] == EXISTING_VPC
    assert project["VpcConfig"]["Subnets"] == list(EXISTING_SUBNETS)
    outputs = existing_stack.json["Outputs"]
    assert outputs[OutputName.SUBNET_IDS]["Value"] == ",".join(EXISTING_SUBNETS)
    assert outputs[OutputName.VPC_ID]["Value"] == EXISTING_VPC
    assert outputs[OutputName.NAT]["Value"] == "true"


# --- kms ---------------------------------------------------------------------------------------


def test_the_stack_key_rotates_and_leaves_use_to_iam_and_cloudwatch_logs(private_stack: Synthesized) -> None:
    key_id, key = _only(private_stack.template, "AWS::KMS::Key")
    properties = key["Properties"]
    assert properties["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"  # retain_data's default: the data it encrypts stays too
    statements = properties["KeyPolicy"]["Statement"]
    assert (
        statements[0]["Principal"]["AWS"]["Fn::Join"][1][-1] == ":root" and statements[0]["Action"] == "kms:*"
    )
    (logs,) = [s for s in statements if s.get("Sid") == "CloudWatchLogsOfTheStack"]
    groups = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(group["Fn::Join"][1][-1].rsplit(":", 1)[1] for group in groups) == [
        "/aws/codebuild/zenml-sagemaker-image-builder",
        "/sagemaker-stack/zenml-sagemaker/vpc-flow-logs",
    ]
    assert not [s for s in statements if s.get("Principal") == "*" or s.get("Principal") == {"AWS": "*"}]
    alias = _resource(private_stack.template, "AWS::KMS::Alias")["Properties"]
    assert alias == {"AliasName": "alias/zenml-sagemaker", "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}


def test_without_retained_data_the_keys_deletion_is_scheduled_with_the_stack(synth: Any) -> None:
    key = _resource(synth({"kms": "create", "retain_data": "false"}).template, "AWS::KMS::Key")
    assert key["DeletionPolicy"] == "Delete"


def test_the_key_encrypts_bucket_secret_repository_project_and_log_groups(private_stack: Synthesized) -> None:
    template = private_stack.template
    key = {"Fn::GetAtt": [_logical_id(template, "AWS::KMS::Key"), "Arn"]}
    bucket = next(
        b for key_id, b in _of_type(private_stack, "AWS::S3::Bucket").items() if "Artifact" in key_id
    )
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": key, "SSEAlgorithm": "aws:kms"},
    }
    assert _resource(template, "AWS::SecretsManager::Secret")["Properties"]["KmsKeyId"] == key
    assert _resource(template, "AWS::ECR::Repository")["Properties"]["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": key,
    }
    assert _resource(template, "AWS::CodeBuild::Project")["Properties"]["EncryptionKey"] == key
    log_groups = _of_type(private_stack, "AWS::Logs::LogGroup").values()
    assert len(log_groups) == 2 and all(group["Properties"]["KmsKeyId"] == key for group in log_groups)


def _key_statements(synthesized: Synthesized, service: str) -> list[dict[str, Any]]:
    role_id, _ = _role(synthesized.template, service)
    statements = _policy_of(synthesized.template, role_id)["PolicyDocument"]["Statement"]
    return [statement for statement in statements if "kms:" in json.dumps(statement.get("Action"))]


def test_each_role_gets_exactly_the_key_grants_its_work_needs(private_stack: Synthesized) -> None:
    key = {"Fn::GetAtt": [_logical_id(private_stack.template, "AWS::KMS::Key"), "Arn"]}
    assert _key_statements(private_stack, "sagemaker.amazonaws.com") == [
        {"Sid": "StackKey", "Effect": "Allow", "Action": list(JOB_KEY_ACTIONS), "Resource": key},
        {
            "Sid": "StackKeyVolumeGrants",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": key,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]
    assert _key_statements(private_stack, "codebuild.amazonaws.com") == [
        {"Sid": "StackKey", "Effect": "Allow", "Action": list(BUILDER_KEY_ACTIONS), "Resource": key}
    ]
    # Starting pipelines and writing flow logs use no key; CloudWatch Logs has the key policy.
    assert _key_statements(private_stack, "scheduler.amazonaws.com") == []
    assert _key_statements(private_stack, "vpc-flow-logs.amazonaws.com") == []
    assert "kms:ReEncrypt" not in json.dumps(_of_type(private_stack, "AWS::IAM::Policy"))


def test_an_existing_key_is_named_by_its_arn_and_keeps_its_own_policy(existing_stack: Synthesized) -> None:
    existing_stack.template.resource_count_is("AWS::KMS::Key", 0)
    assert [s["Resource"] for s in _key_statements(existing_stack, "sagemaker.amazonaws.com")] == [
        EXISTING_KEY
    ] * 2
    assert (
        _resource(existing_stack.template, "AWS::ECR::Repository")["Properties"]["EncryptionConfiguration"][
            "KmsKey"
        ]
        == EXISTING_KEY
    )
    assert existing_stack.json["Outputs"][OutputName.KMS_KEY_ARN]["Value"] == EXISTING_KEY


def test_no_kms_setting_leaves_aws_managed_encryption(default_stack: Synthesized) -> None:
    text = json.dumps(default_stack.json)
    assert "AWS::KMS::Key" not in text and "kms:" not in text and "KmsKeyId" not in text


# --- access_logs -------------------------------------------------------------------------------


def test_access_logs_go_to_a_logs_bucket_the_stack_keeps(private_stack: Synthesized) -> None:
    buckets = _of_type(private_stack, "AWS::S3::Bucket")
    (logs_id,) = [key for key in buckets if "AccessLogs" in key]
    artifacts = next(bucket for key, bucket in buckets.items() if "Artifact" in key)
    assert artifacts["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": "artifact-bucket/",
    }
    logs = buckets[logs_id]
    assert logs["DeletionPolicy"] == "Retain" and "BucketName" not in logs["Properties"]
    # S3 delivers access logs only to an SSE-S3 bucket, key or no key.
    (rule,) = logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    policies = [p["Properties"] for p in _of_type(private_stack, "AWS::S3::BucketPolicy").values()]
    (logs_policy,) = [p for p in policies if p["Bucket"] == {"Ref": logs_id}]
    (delivery,) = [s for s in logs_policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0] in {
        key for key in buckets if "Artifact" in key
    }
    assert private_stack.json["Outputs"][OutputName.ACCESS_LOGS_BUCKET]["Value"] == {"Ref": logs_id}


def test_access_logs_may_go_to_a_bucket_the_user_has(existing_stack: Synthesized) -> None:
    (bucket,) = _of_type(existing_stack, "AWS::S3::Bucket").values()
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == "team-access-logs"
    assert OutputName.ACCESS_LOGS_BUCKET not in existing_stack.json["Outputs"]


# --- trust policies ----------------------------------------------------------------------------


def test_sagemaker_may_assume_the_execution_role_for_the_stacks_pipelines_and_jobs_only(
    default_stack: Synthesized,
) -> None:
    _, role = _role(default_stack.template, "sagemaker.amazonaws.com")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    sources = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert [source["Fn::Join"][1][-1] for source in sources] == [
        ":pipeline/zenml-sagemaker-*",
        ":processing-job/*",
        ":training-job/*",
    ]
    assert all(":sagemaker:" in source["Fn::Join"][1][2] for source in sources)


def test_codebuild_may_assume_the_builder_role_for_the_stacks_project_only(
    default_stack: Synthesized,
) -> None:
    _, role = _role(default_stack.template, "codebuild.amazonaws.com")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source[-1] == ":project/zenml-sagemaker-image-builder" and ":codebuild:" in source
