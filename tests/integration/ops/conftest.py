"""Fixtures for registration tests: a real ZenML server and an emulated, "deployed" AWS stack.

The ZenML server is the session's (`zenml_server`, tests/integration/conftest.py); every test
names what it registers uniquely, so tests sharing it see only their own.
AWS is the embedded emulator holding what `cdk deploy` leaves behind: a CloudFormation stack
with the recipe's outputs, its bucket and its secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.registration import (
    AWS_ENV,
    REGION,
    admin_env,
    deploy_fake_stack,
    emulator_credentials,
    reset_zenml_singletons,
)


@pytest.fixture(scope="module")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded emulator; AWS_ENDPOINT_URL stays unset so only the config's endpoint reaches it."""
    from sagemaker_stack.local.process.emulator import Emulator

    emulator = Emulator(state_dir=tmp_path_factory.mktemp("emulator"), region=REGION)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**AWS_ENV, **emulator_credentials()}.items():
            patch.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(key, raising=False)
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        with emulator:
            yield emulator.endpoint_url


@pytest.fixture(scope="module")
def zenml_server(tmp_path_factory: pytest.TempPathFactory, aws_endpoint: str) -> Iterator[LocalZenMLServer]:
    """The ZenML server, knowing the emulator's endpoint (as the local environment's does): the
    connector tests need it, so this folder has its own instead of the session-wide one."""
    server = LocalZenMLServer(root=tmp_path_factory.mktemp("zenml"), aws_endpoint_url=aws_endpoint)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def deployed(aws_endpoint: str) -> StackConfig:
    """A freshly 'deployed' stack with a unique name, and its exported config."""
    return deploy_fake_stack(aws_endpoint, f"reg-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def zenml_env(
    zenml_server: LocalZenMLServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A ZenML client environment of its own, logged in to the test server as its admin user."""
    env = admin_env(zenml_server, tmp_path / "zenml-client")
    monkeypatch.delenv("ZENML_STORE_API_KEY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ZENML_LOGGING_VERBOSITY", "ERROR")
    return env


@pytest.fixture
def zenml_client(zenml_env: dict[str, str]) -> Iterator[Any]:
    """An in-process ZenML Client on the test server; ZenML's singletons are reset around it."""
    from zenml.client import Client

    reset_zenml_singletons()
    try:
        yield Client()
    finally:
        reset_zenml_singletons()
