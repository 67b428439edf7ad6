"""The runtime's boto3 clients: fresh credentials every time, botocore's JSON parsed once.

`sagemaker_stack.aws` shares one botocore data loader between all sessions so the SageMaker
service model is parsed once per process, and `warm` parses it in the background while ZenML
compiles. These tests pin down what that must not change (each client reads the credential chain
as it is now; warming reads no credentials and sends no request) and what it is for (the real
client, and validation, parse nothing again).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import botocore.credentials
import botocore.endpoint
import botocore.loaders
import pytest
from botocore.exceptions import UnknownServiceError

from sagemaker_stack import aws, validation
from sagemaker_stack.entrypoint import ENV_EXECUTION_ARN

REGION = "eu-west-1"
_SAGEMAKER_MODEL = "sagemaker/2017-07-24/service-2"


@pytest.fixture(autouse=True)
def fresh_loader(no_aws_credentials: None) -> Iterator[None]:
    """Nothing parsed yet, and no credentials but the ones a test puts in the environment."""
    aws._loader.cache_clear()
    aws.service_model.cache_clear()
    yield
    aws._loader.cache_clear()
    aws.service_model.cache_clear()


@pytest.fixture
def parsed_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths botocore parses from now on."""
    paths: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def recording(self: Any, file_path: str) -> Any:
        paths.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", recording)
    return paths


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


def test_warming_reads_no_credentials_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, parsed_files: list[str]
) -> None:
    resolved: list[str] = []
    sent: list[str] = []
    monkeypatch.setattr(
        botocore.credentials.CredentialResolver,
        "load_credentials",
        lambda self: resolved.append("resolved"),
    )
    monkeypatch.setattr(
        botocore.endpoint.Endpoint, "make_request", lambda self, *args, **kwargs: sent.append("sent")
    )

    aws.warm("sagemaker", region=REGION, endpoint_url="http://127.0.0.1:9").join(timeout=60)

    assert any(path.endswith(_SAGEMAKER_MODEL) for path in parsed_files), "the warm-up parsed nothing"
    assert (resolved, sent) == ([], [])


def test_after_warming_the_real_client_parses_nothing(
    monkeypatch: pytest.MonkeyPatch, parsed_files: list[str]
) -> None:
    aws.warm("sagemaker", region=REGION, endpoint_url="http://127.0.0.1:9").join(timeout=60)
    parsed_files.clear()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")

    hits = aws.service_model.cache_info().hits
    client = aws.client("sagemaker", region=REGION, endpoint_url="http://127.0.0.1:9")
    aws.service_model("sagemaker")

    assert parsed_files == []
    assert aws.service_model.cache_info().hits == hits + 1, "validation's model was not warmed"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


def test_validation_reads_the_model_the_clients_use(
    monkeypatch: pytest.MonkeyPatch, parsed_files: list[str]
) -> None:
    model = aws.service_model("sagemaker")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")

    client = aws.client("sagemaker", region=REGION)

    # The model itself (not its small sdk-extras companions) is parsed once, for both.
    assert validation._model() is model
    assert len([path for path in parsed_files if path.endswith(_SAGEMAKER_MODEL)]) == 1
    assert client.meta.service_model.operation_names == model.operation_names


def test_botocore_parses_with_the_collector_paused_and_it_is_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector_on_while_parsing: list[bool] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def recording(self: Any, file_path: str) -> Any:
        collector_on_while_parsing.append(gc.isenabled())
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", recording)
    assert gc.isenabled()

    aws.service_model("sagemaker")
    aws.client("secretsmanager", region=REGION)
    with pytest.raises(UnknownServiceError):
        aws.client("no-such-service", region=REGION)

    assert collector_on_while_parsing and not any(collector_on_while_parsing)
    assert gc.isenabled(), "a client left the garbage collector disabled"


def test_a_caller_who_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        aws.client("sagemaker", region=REGION)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_warm_up_is_quiet_and_the_real_call_says_why() -> None:
    aws.warm("no-such-service", region=REGION).join(timeout=60)

    with pytest.raises(UnknownServiceError, match="no-such-service"):
        aws.client("no-such-service", region=REGION)


def test_the_orchestrator_warms_the_sagemaker_client_outside_steps_only(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    warmed: list[tuple[str, str | None, str | None]] = []
    monkeypatch.setattr(
        aws,
        "warm",
        lambda service, region=None, endpoint_url=None: warmed.append((service, region, endpoint_url)),
    )
    client_side = make_orchestrator()
    monkeypatch.setenv(ENV_EXECUTION_ARN, "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/p/execution/e")
    make_orchestrator()

    assert warmed == [("sagemaker", client_side.config.region, client_side.config.endpoint_url)]
