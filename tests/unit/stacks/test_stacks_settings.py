"""Settings from the CDK context: defaults, accepted spellings, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack_cdk.settings import (
    RESOURCE_PREFIX_MAX,
    SETTING_KEYS,
    ExistingVpc,
    Settings,
    SettingsError,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
LONGEST_REGION = "ap-southeast-1"
ACCOUNT = "123456789012"


def _error(context: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    settings = Settings.from_context({})
    assert settings == Settings(
        stack_name="sagemaker-stack",
        resource_prefix="zenml-sagemaker",
        retain_data=True,
        tags={},
        permissions_boundary_arn=None,
        image_builder="codebuild",
    )
    assert settings.builds_images


def test_cdk_json_holds_exactly_our_settings_with_their_defaults() -> None:
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert cdk_json["app"] == "python app.py"
    assert set(cdk_json["context"]) == set(SETTING_KEYS)
    assert Settings.from_context(cdk_json["context"]) == Settings()


def test_values_from_the_command_line_are_strings() -> None:
    settings = Settings.from_context(
        {
            "stack_name": "team-a",
            "resource_prefix": "team-a-ml2",
            "retain_data": "False",
            "tags": '{"team": "ml", "env": "dev"}',
            "permissions_boundary_arn": "arn:aws:iam::123456789012:policy/path/Boundary",
            "image_builder": "none",
        }
    )
    assert settings.stack_name == "team-a"
    assert settings.resource_prefix == "team-a-ml2"
    assert settings.retain_data is False
    assert settings.tags == {"team": "ml", "env": "dev"}
    assert settings.permissions_boundary_arn == "arn:aws:iam::123456789012:policy/path/Boundary"
    assert settings.image_builder == "none"
    assert not settings.builds_images


@pytest.mark.parametrize(
    ("raw", "expected"), [("codebuild", "codebuild"), ("None", "none"), (" CodeBuild ", "codebuild")]
)
def test_image_builder_accepts_its_values_in_any_case(raw: str, expected: str) -> None:
    assert Settings.from_context({"image_builder": raw}).image_builder == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, True), (False, False), ("true", True), ("FALSE", False)]
)
def test_retain_data_accepts_json_and_text_booleans(raw: Any, expected: bool) -> None:
    assert Settings.from_context({"retain_data": raw}).retain_data is expected


def test_tags_accept_a_json_object_from_cdk_json() -> None:
    assert Settings.from_context({"tags": {"team": "ml"}}).tags == {"team": "ml"}


def test_empty_boundary_means_none() -> None:
    assert Settings.from_context({"permissions_boundary_arn": ""}).permissions_boundary_arn is None


def test_aws_managed_policy_is_a_valid_boundary() -> None:
    arn = "arn:aws:iam::aws:policy/PowerUserAccess"
    assert Settings.from_context({"permissions_boundary_arn": arn}).permissions_boundary_arn == arn


def test_cdk_own_context_keys_are_not_ours_to_reject() -> None:
    Settings.from_context(
        {
            "@aws-cdk/core:newStyleStackSynthesis": True,
            "aws:cdk:enable-path-metadata": True,
            "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
            "acknowledged-issue-numbers": [12345],
        }
    )


# --- bad values: one line naming the key and what is allowed --------------------------------------


def test_unknown_key_names_the_key_and_the_allowed_ones() -> None:
    message = _error({"retain_date": "false"})
    assert "unknown setting 'retain_date'" in message
    for key in SETTING_KEYS:
        assert key in message


@pytest.mark.parametrize("prefix", ["ZenML", "zen_ml", "1zen", "zen-", "zen--ml", "", "zen ml"])
def test_prefix_with_bad_characters(prefix: str) -> None:
    message = _error({"resource_prefix": prefix})
    assert message.startswith(f"invalid resource_prefix {prefix!r}")
    assert "lowercase letters, digits" in message
    assert f"at most {RESOURCE_PREFIX_MAX} characters" in message


def test_prefix_too_long_states_the_maximum() -> None:
    prefix = "a" * (RESOURCE_PREFIX_MAX + 1)
    message = _error({"resource_prefix": prefix})
    assert f"({RESOURCE_PREFIX_MAX + 1} characters)" in message
    assert f"at most {RESOURCE_PREFIX_MAX} characters" in message
    assert "63" in message


def test_longest_prefix_fits_every_name_it_feeds() -> None:
    settings = Settings.from_context({"resource_prefix": "a" * RESOURCE_PREFIX_MAX})
    role_name = settings.execution_role_name(LONGEST_REGION)
    secret_id = f"{settings.secret_name}-AbCdEf"
    assert len(settings.bucket_name(ACCOUNT, LONGEST_REGION)) <= 63
    assert len(settings.execution_role_name(LONGEST_REGION)) <= 64
    assert len(settings.scheduler_role_name(LONGEST_REGION)) <= 64
    assert len(settings.image_builder_role_name(LONGEST_REGION)) <= 64
    assert len(settings.image_builder_project_name) <= 255
    assert len(settings.schedule_group_name) <= 64
    assert len(settings.repository_name) <= 256
    assert len(settings.secret_name) <= 512
    # The runtime's config accepts what the stack accepts.
    StackConfig.from_dict(
        {
            "stack_name": "s",
            "region": LONGEST_REGION,
            "account": ACCOUNT,
            "resource_prefix": settings.resource_prefix,
            "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
            "bucket_name": settings.bucket_name(ACCOUNT, LONGEST_REGION),
            "artifact_path": f"s3://{settings.bucket_name(ACCOUNT, LONGEST_REGION)}/zenml",
            "registry_uri": f"{ACCOUNT}.dkr.ecr.{LONGEST_REGION}.amazonaws.com",
            "repository_name": settings.repository_name,
            "secret_arn": f"arn:aws:secretsmanager:{LONGEST_REGION}:{ACCOUNT}:secret:{secret_id}",
            "image_builder_project": settings.image_builder_project_name,
        }
    )


@pytest.mark.parametrize("prefix", ["sthree", "sthree-data", "amzn-s3-demo"])
def test_prefix_that_s3_reserves(prefix: str) -> None:
    assert "may not start with" in _error({"resource_prefix": prefix})


@pytest.mark.parametrize("value", ["maybe", "", "2", 1])
def test_bad_bool(value: Any) -> None:
    message = _error({"retain_data": value})
    assert message.startswith("invalid retain_data")
    assert "use true or false" in message


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:iam::123:policy/Short",
        "arn:aws:iam::123456789012:role/NotAPolicy",
        "arn:aws:s3:::bucket",
    ],
)
def test_bad_boundary_arn(arn: str) -> None:
    message = _error({"permissions_boundary_arn": arn})
    assert message.startswith(f"invalid permissions_boundary_arn {arn!r}")
    assert "IAM managed policy ARN" in message


def test_tags_that_are_not_json() -> None:
    message = _error({"tags": "team=ml"})
    assert message.startswith("invalid tags 'team=ml': not JSON")
    assert '-c tags=\'{"team":"ml"}\'' in message


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ('["ml"]', "use a JSON object"),
        ('{"team": 1}', "the value of 'team' is '1', not a string"),
        ('{"aws:owner": "me"}', "key 'aws:owner' is not an AWS tag key"),
        ('{"team": "ml!"}', "the value of 'team' is not an AWS tag value"),
    ],
)
def test_tags_with_bad_content(tags: str, expected: str) -> None:
    assert expected in _error({"tags": tags})


@pytest.mark.parametrize("value", ["docker", "", "aws", True, 1])
def test_bad_image_builder(value: Any) -> None:
    message = _error({"image_builder": value})
    assert message.startswith("invalid image_builder ")
    assert "use codebuild" in message
    assert "or none" in message


@pytest.mark.parametrize("name", ["1stack", "my_stack", "a" * 129])
def test_bad_stack_name(name: str) -> None:
    assert _error({"stack_name": name}).startswith("invalid stack_name")


def test_long_values_are_shortened_in_the_message() -> None:
    message = _error({"stack_name": "x_" * 200})
    assert len(message) < 300


def test_app_prints_one_line_and_exits_non_zero_on_a_bad_setting() -> None:
    """What `cdk synth -c resource_prefix=Bad` shows: the app's stderr, one line, no traceback."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"resource_prefix": "Bad"})}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("!!")]
    assert lines == [lines[0]] and lines[0].startswith("sagemaker-stack: invalid resource_prefix 'Bad'")
    assert "Traceback" not in result.stderr


# --- vpc, nat, kms, access_logs ----------------------------------------------------------------

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VPC = "vpc-0123456789abcdef0"
SUBNETS = ("subnet-0123456789abcdef0", "subnet-01234567")


def test_network_and_key_settings_default_to_nothing_made() -> None:
    settings = Settings.from_context({})
    assert (settings.vpc, settings.nat, settings.kms, settings.access_logs) == ("none", False, "none", False)
    assert not (settings.has_vpc or settings.encrypts or settings.builds_in_vpc)


def test_vpc_create_nat_key_and_logs_from_the_command_line() -> None:
    settings = Settings.from_context({"vpc": "Create", "nat": "true", "kms": "create", "access_logs": "true"})
    assert settings.creates_vpc and settings.nat and settings.creates_key and settings.access_logs is True
    assert settings.builds_in_vpc  # the builds reach PyPI through the NAT
    assert not Settings.from_context({"vpc": "create"}).builds_in_vpc


def test_an_existing_vpc_is_its_id_and_subnets() -> None:
    settings = Settings.from_context(
        {"vpc": f"{VPC}:{','.join(SUBNETS)}", "kms": KEY_ARN}, region="us-east-1"
    )
    assert settings.existing_vpc == ExistingVpc(vpc_id=VPC, subnet_ids=SUBNETS)
    assert settings.kms == KEY_ARN and not settings.creates_key


def test_access_logs_may_name_an_existing_bucket() -> None:
    assert Settings.from_context({"access_logs": "team-logs.example"}).access_logs == "team-logs.example"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"vpc": "yes"}, "invalid vpc 'yes': use none, create"),
        ({"vpc": "vpc-123:subnet-0123456789abcdef0"}, "'vpc-123' is not a VPC id"),
        ({"vpc": f"{VPC}:subnet-xyz"}, "'subnet-xyz' is not a subnet id"),
        ({"vpc": f"{VPC}:{SUBNETS[0]},{SUBNETS[0]}"}, "name 1 to 16 different subnets"),
        ({"nat": "true"}, "nat=true needs a VPC"),
        ({"kms": "alias/mine"}, "invalid kms 'alias/mine'"),
        ({"kms": "arn:aws:kms:us-east-1:123456789012:alias/mine"}, "(not an alias)"),
        ({"access_logs": "Not_A_Bucket"}, "invalid access_logs 'Not_A_Bucket'"),
    ],
)
def test_bad_network_key_and_log_settings(context: dict[str, Any], expected: str) -> None:
    assert expected in _error(context)


def test_a_key_of_another_region_is_refused_when_the_region_is_known() -> None:
    other = KEY_ARN.replace("us-east-1", "eu-west-1")
    with pytest.raises(SettingsError, match="the key is in eu-west-1 but the stack deploys to us-east-1"):
        Settings.from_context({"kms": other}, region="us-east-1")
    assert Settings.from_context({"kms": other}).kms == other  # region unknown: CloudFormation decides


def test_the_app_refuses_a_key_of_another_region_than_the_cdk_deploys_to() -> None:
    env = {
        **os.environ,
        "CDK_DEFAULT_REGION": "us-east-1",
        "CDK_CONTEXT_JSON": json.dumps({"kms": KEY_ARN.replace("us-east-1", "eu-west-1")}),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "sagemaker-stack: invalid kms" in result.stderr and "Traceback" not in result.stderr
