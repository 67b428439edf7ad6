"""The runtime's boto3 clients: fresh credentials every time, botocore's JSON parsed once.

`sagemaker_stack.aws` shares one botocore data loader between all sessions so the SageMaker
service model is parsed once per process, and pauses the garbage collector while botocore parses.
These tests pin down what that must not change (each client reads the credential chain as it is
now; the caller's collector setting survives) and what it is for (the client and validation parse
the model once; no collection runs during a parse).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import botocore.loaders
import pytest
from botocore.exceptions import UnknownServiceError

from sagemaker_stack import aws
from sagemaker_stack.orchestrator import service_model

REGION = "eu-west-1"
_SAGEMAKER_MODEL = "sagemaker/2017-07-24/service-2"


@pytest.fixture(autouse=True)
def fresh_loader(no_aws_credentials: None) -> Iterator[None]:
    """Nothing parsed yet, and no credentials but the ones a test puts in the environment."""
    aws._loader.cache_clear()
    aws._session.cache_clear()
    aws.service_model.cache_clear()
    yield
    aws._loader.cache_clear()
    aws._session.cache_clear()
    aws.service_model.cache_clear()


@pytest.fixture
def parsed_files(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each file botocore parses from now on, and whether the garbage collector was on meanwhile."""
    parses: list[tuple[str, bool]] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def recording(self: Any, file_path: str) -> Any:
        parses.append((file_path, gc.isenabled()))
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", recording)
    return parses


def _access_key(client: Any) -> str:
    # The signer holds the credentials the client resolved when it was made.
    return str(client._request_signer._credentials.access_key)


def test_each_client_reads_the_credentials_as_they_are_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFIRST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    first = aws.client("sagemaker", region=REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECOND")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "second-secret")
    second = aws.client("sagemaker", region=REGION)

    assert (_access_key(first), _access_key(second)) == ("AKIAFIRST", "AKIASECOND")
    assert second.meta.region_name == REGION


def test_validation_reads_the_model_the_clients_use(
    monkeypatch: pytest.MonkeyPatch, parsed_files: list[tuple[str, bool]]
) -> None:
    model = aws.service_model("sagemaker")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")

    client = aws.client("sagemaker", region=REGION)

    # The model itself (not its small sdk-extras companions) is parsed once, for both.
    assert service_model.model() is model
    assert len([path for path, _ in parsed_files if path.endswith(_SAGEMAKER_MODEL)]) == 1
    assert client.meta.service_model.operation_names == model.operation_names


def test_botocore_parses_with_the_collector_paused_and_it_is_restored_after(
    parsed_files: list[tuple[str, bool]],
) -> None:
    assert gc.isenabled()

    aws.service_model("sagemaker")
    aws.client("secretsmanager", region=REGION)
    with pytest.raises(UnknownServiceError):
        aws.client("no-such-service", region=REGION)

    assert parsed_files and not any(collector_on for _, collector_on in parsed_files)
    assert gc.isenabled(), "a client left the garbage collector disabled"


def test_a_caller_who_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        aws.client("sagemaker", region=REGION)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_runs_clients_share_one_session_and_log_nothing_about_credentials(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A run makes clients for SageMaker, S3, Logs, ECR, CodeBuild: botocore found credentials and
    the endpoint for each, and said so ("Found credentials in environment variables" 4-9 times)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFIRST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    caplog.set_level(logging.DEBUG)  # what a verbose ZenML shows
    clients = [aws.client(service, region=REGION) for service in ("sagemaker", "s3", "logs", "ecr")]

    assert len({id(client._request_signer._credentials) for client in clients}) == 1
    said = [record.getMessage() for record in caplog.records]
    assert not [line for line in said if line.startswith(("Found credentials", "Found endpoint"))]
    assert all(client.meta.endpoint_url == "http://127.0.0.1:9" for client in clients)
