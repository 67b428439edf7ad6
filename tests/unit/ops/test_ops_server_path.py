"""`register` warns when the steps of a stack with a VPC and no NAT cannot reach the ZenML server."""

from __future__ import annotations

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.reachability import public_address
from sagemaker_stack.ops.registration.plan import server_path_warning

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _config(**network: object) -> StackConfig:
    return StackConfig.from_dict(
        {
            "stack_name": "private",
            "region": REGION,
            "account": ACCOUNT,
            "resource_prefix": "priv",
            "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/priv-execution",
            "bucket_name": "priv-artifacts",
            "artifact_path": "s3://priv-artifacts/zenml",
            "registry_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
            "repository_name": "priv-zenml",
            "secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:priv/zenml-server-AbCdEf",
            **network,
        }
    )


VPC = {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_id": "sg-0123456789abcdef0"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://8.8.8.8", "8.8.8.8"),
        ("https://[2606:4700:4700::1111]:443", "2606:4700:4700::1111"),
        ("http://10.1.2.3:8080", None),
        ("http://127.0.0.1:8237", None),
        ("https://zenml.invalid", None),  # does not resolve: unknown, no warning
    ],
)
def test_public_address_is_only_a_public_internet_address(url: str, expected: str | None) -> None:
    assert public_address(url) == expected


def test_a_vpc_without_nat_and_a_public_server_is_warned_about() -> None:
    warning = server_path_warning(_config(**VPC), "https://zenml.example.com", "203.0.113.7")
    assert warning is not None
    assert "without a NAT gateway" in warning and "https://zenml.example.com" in warning
    assert "private endpoint in the VPC" in warning and "-c nat=true" in warning


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ({}, "203.0.113.7"),  # no VPC: the jobs reach the internet
        ({**VPC, "nat": True}, "203.0.113.7"),  # through the NAT
        (VPC, None),  # a private address: a VPC path
    ],
)
def test_no_warning_when_the_steps_have_a_way(network: dict[str, object], address: str | None) -> None:
    assert server_path_warning(_config(**network), "https://zenml.example.com", address) is None
