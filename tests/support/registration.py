"""Shared by the registration tests and their fixtures (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from sagemaker_stack.config import OutputName, StackConfig
from sagemaker_stack.ops.outputs import config_from_cloudformation
from sagemaker_stack.ops.zenml_server import LocalZenMLServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: What the recipe's secret holds before `register`: CDK generates the `api_key` (see stacks/credentials.py).
PLACEHOLDER = json.dumps({"server_url": "", "api_key": "Xq7-generated-placeholder-Zr2"})

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "SAGEMAKER_TELEMETRY_DISABLED": "1",
}


def emulator_credentials() -> dict[str, str]:
    from sagemaker_stack.local.sagemaker.engine import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

    return {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY}


def deploy_fake_stack(endpoint: str, stack_name: str) -> StackConfig:
    """What `cdk deploy` leaves in the account: bucket, secret, and a stack with the outputs.

    Built with plain API calls rather than the CDK app so that these tests stay fast and only
    test registration (the CDK app is deployed to the emulator in the e2e tests)."""
    prefix = stack_name[:24]
    bucket = f"{prefix}-artifacts-{ACCOUNT}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    secret_arn = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION).create_secret(
        Name=f"{prefix}-zenml", SecretString=PLACEHOLDER
    )["ARN"]
    outputs = {
        OutputName.EXECUTION_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/{prefix}-execution",
        OutputName.BUCKET_NAME: bucket,
        OutputName.ARTIFACT_PATH: f"s3://{bucket}/zenml",
        OutputName.REGISTRY_URI: f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        OutputName.REPOSITORY_NAME: f"{prefix}-images",
        OutputName.SECRET_ARN: secret_arn,
        OutputName.SCHEDULER_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/{prefix}-scheduler",
        OutputName.RESOURCE_PREFIX: prefix,
        OutputName.RETAIN_DATA: "true",
        OutputName.REGION: REGION,
        OutputName.ACCOUNT: ACCOUNT,
    }
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION).create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template)
    )
    return config_from_cloudformation(stack_name, region=REGION, endpoint_url=endpoint)


def reset_zenml_singletons() -> None:
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.login.credentials_store import CredentialsStore

    Client._reset_instance()
    GlobalConfiguration._reset_instance()
    CredentialsStore._clear()


def admin_env(server: LocalZenMLServer, config_path: Path) -> dict[str, str]:
    """Client variables for the server's admin user: in ZenML OSS (no RBAC) only an admin may create
    the service account and API key that `register` makes for the steps, as a user would be."""
    return server.admin_env(config_path)
