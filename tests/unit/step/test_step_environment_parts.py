"""Long environment values: split in the definition, joined by the entrypoint before ZenML starts."""

from __future__ import annotations

import json
import random
import string

import boto3
import pytest
from moto import mock_aws

from sagemaker_stack.orchestrator.environment import step_environment
from sagemaker_stack.step.entrypoint import ENV_SECRET_ARN, prepare
from sagemaker_stack.step.environment_parts import join_parts, split_value

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf"


def value_of(length: int) -> str:
    """Every printable character, so that nothing in the format depends on the content."""
    generator = random.Random(length)
    return "".join(generator.choice(string.printable) for _ in range(length))


@pytest.mark.parametrize("length", [0, 1, 256, 257, 600, 256 * 11 + 3])
def test_split_then_join_gives_the_value_back_byte_for_byte(length: int) -> None:
    value = value_of(length)
    parts = split_value("LONG", value, 256)
    assert all(len(part) <= 256 for part in parts.values())
    assert (parts == {"LONG": value}) == (length <= 256)
    environ = {"OTHER": "x", **parts}
    join_parts(environ)
    assert environ == {"OTHER": "x", "LONG": value}


def test_parts_join_in_numeric_order_and_incomplete_runs_are_left_alone() -> None:
    environ = {f"A__PART_{i}": str(i % 10) for i in range(12)}  # part 10 comes after part 9
    environ.update({"B__PART_1": "gap", "C__PART_0": "only"})
    assert join_parts(environ) == ["A", "C"]
    assert environ == {"A": "012345678901", "B__PART_1": "gap", "C": "only"}


@mock_aws
def test_the_entrypoint_joins_before_zenml_and_the_credentials_still_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    payload = json.dumps({"server_url": "http://127.0.0.1:8237", "api_key": "ZENKEY_x"})
    arn = boto3.client("secretsmanager").create_secret(Name="c", SecretString=payload)["ARN"]
    value = value_of(600)
    env = {
        ENV_SECRET_ARN: arn,
        **split_value("MY_SETTING", value, 256),
        **split_value("ZENML_STORE_URL", "w" * 300, 256),
    }
    prepare(env)
    assert env["MY_SETTING"] == value
    assert env["ZENML_STORE_URL"] == "http://127.0.0.1:8237"
    assert not [key for key in env if "__PART_" in key]


def test_the_secret_policy_judges_the_joined_value() -> None:
    """A secret split into innocent-looking parts by hand is still kept out of the definition."""
    token = "ZENKEY_" + "k" * 300
    parts = {"HARMLESS__PART_0": token[:4], "HARMLESS__PART_1": token[4:]}
    environment, dropped = step_environment({}, parts, SECRET_ARN)
    assert dropped == ["HARMLESS"]
    assert not [key for key in environment if key.startswith("HARMLESS")]
