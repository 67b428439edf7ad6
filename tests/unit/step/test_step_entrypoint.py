"""The step entrypoint reads ZenML credentials from Secrets Manager and never shows them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sagemaker_stack.step import entrypoint
from sagemaker_stack.step.entrypoint import (
    ENTRYPOINT_COMMAND,
    ENTRYPOINT_CONFIGURATION_SOURCE,
    ENV_SECRET_ARN,
    CredentialsError,
    configure_zenml_environment,
    prepare,
    read_server_credentials,
)

REGION = "us-east-1"
API_KEY = "ZENKEY_not-a-real-key-but-a-secret-nonetheless"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def _secret(value: str) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.create_secret(Name="zenml-credentials", SecretString=value)["ARN"])


@mock_aws
def test_reads_url_and_key_from_the_secret(aws_env: None) -> None:
    arn = _secret(json.dumps({"server_url": "https://zenml.example.com/", "api_key": API_KEY}))
    assert read_server_credentials(arn) == ("https://zenml.example.com", API_KEY)


@mock_aws
def test_prepare_sets_zenml_environment_with_a_fresh_config_folder(aws_env: None) -> None:
    arn = _secret(json.dumps({"server_url": "http://127.0.0.1:8237", "api_key": API_KEY}))
    env = {ENV_SECRET_ARN: arn, "ZENML_STORE_API_TOKEN": "stale-token"}
    assert prepare(env) == ("http://127.0.0.1:8237", API_KEY)
    assert env["ZENML_STORE_URL"] == "http://127.0.0.1:8237"
    # The key goes to ZenML's credentials store, never into the environment children inherit.
    assert API_KEY not in env.values()
    assert "ZENML_STORE_API_TOKEN" not in env, "the API key must win over any token"
    config_path = Path(env["ZENML_CONFIG_PATH"])
    assert config_path.is_dir() and not any(config_path.iterdir())
    second: dict[str, str] = {ENV_SECRET_ARN: arn}
    prepare(second)
    assert second["ZENML_CONFIG_PATH"] != env["ZENML_CONFIG_PATH"]


@mock_aws
def test_placeholder_secret_is_a_clear_error_without_its_value(aws_env: None) -> None:
    placeholder = "generated-placeholder-Xk29fj2kd9"
    arn = _secret(placeholder)
    with pytest.raises(CredentialsError) as caught:
        read_server_credentials(arn)
    message = str(caught.value)
    assert "sagemaker-stack register" in message
    assert placeholder not in message


@mock_aws
def test_secret_missing_a_key_names_it(aws_env: None) -> None:
    arn = _secret(json.dumps({"server_url": "http://x", "api_key": ""}))
    with pytest.raises(CredentialsError, match="lacks api_key"):
        read_server_credentials(arn)


@mock_aws
def test_unreadable_secret_names_the_arn_and_the_cause(aws_env: None) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:missing-AbCdEf"
    with pytest.raises(CredentialsError, match="ResourceNotFoundException") as caught:
        read_server_credentials(arn)
    assert arn in str(caught.value)


def test_main_without_secret_arn_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_SECRET_ARN, raising=False)
    assert entrypoint.main(["--snapshot_id", "x"]) == 2
    assert ENV_SECRET_ARN in capsys.readouterr().err


@mock_aws
def test_main_never_prints_the_key(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _secret(json.dumps({"server_url": "http://127.0.0.1:1", "api_key": API_KEY}))
    monkeypatch.setenv(ENV_SECRET_ARN, arn)
    # Keep ZenML out of this unit test: stop right after the credentials are in place.
    calls: list[list[str]] = []
    monkeypatch.setattr(
        "zenml.entrypoints.entrypoint.main", lambda: calls.append(list(__import__("sys").argv[1:]))
    )
    # monkeypatch restores every variable main() sets, so later tests see the old environment.
    for name in (
        "ZENML_STORE_URL",
        "ZENML_STORE_API_KEY",
        "ZENML_STORE_TYPE",
        "ZENML_CONFIG_PATH",
        "DISABLE_CREDENTIALS_DISK_CACHING",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.argv", ["entrypoint"])
    from zenml.login.credentials_store import CredentialsStore, get_credentials_store

    CredentialsStore._clear()  # type: ignore[attr-defined]
    try:
        assert entrypoint.main(["--step_name", "trainer"]) == 0
        assert calls == [["--step_name", "trainer"]]
        # ZenML has the key (it logs in with it again whenever its token expires) ...
        assert get_credentials_store().get_api_key("http://127.0.0.1:1") == API_KEY
        # ... while a process the step's code starts does not, nor any file.
        assert API_KEY not in os.environ.values()
        child = subprocess.run(["env"], capture_output=True, text=True, check=True)
        assert API_KEY not in child.stdout and "ZENML_STORE_URL=http://127.0.0.1:1" in child.stdout
        config_path = Path(os.environ["ZENML_CONFIG_PATH"])
        assert not [path for path in config_path.rglob("*") if path.is_file() and API_KEY in path.read_text()]
    finally:
        CredentialsStore._clear()  # type: ignore[attr-defined]
    out = capsys.readouterr()
    assert API_KEY not in out.out + out.err


def test_configure_drops_credentials_and_uses_rest(tmp_path: Path) -> None:
    from zenml.constants import ENV_ZENML_DISABLE_CREDENTIALS_DISK_CACHING

    env = {"ZENML_STORE_API_TOKEN": "t", "ZENML_STORE_API_KEY": "old", "ZENML_STORE_PASSWORD": "p"}
    path = configure_zenml_environment(env, "http://s", config_root=str(tmp_path))
    assert env == {
        "ZENML_STORE_URL": "http://s",
        "ZENML_STORE_TYPE": "rest",
        ENV_ZENML_DISABLE_CREDENTIALS_DISK_CACHING: "true",
        "ZENML_CONFIG_PATH": path,
    }
    assert Path(path).parent == tmp_path


def test_entrypoint_configuration_runs_our_module_by_import_path() -> None:
    from sagemaker_stack.step.configuration import SagemakerStackStepEntrypointConfiguration as Configuration

    assert Configuration.get_entrypoint_command() == list(ENTRYPOINT_COMMAND)
    arguments = Configuration.get_entrypoint_arguments(
        step_name="trainer", snapshot_id="0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a"
    )
    assert arguments[arguments.index("--entrypoint_config_source") + 1] == ENTRYPOINT_CONFIGURATION_SOURCE
    assert "trainer" in arguments

    from zenml.utils import source_utils

    assert source_utils.load(ENTRYPOINT_CONFIGURATION_SOURCE) is Configuration


def test_code_is_unpacked_into_a_fresh_folder_not_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sagemaker_stack.step.configuration import SagemakerStackStepEntrypointConfiguration as Configuration

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Configuration, "should_download_code", property(lambda self: False))
    configuration = Configuration.__new__(Configuration)
    configuration.prepare_code_environment()
    cwd = Path.cwd()
    assert cwd != Path("/app") and cwd.name.startswith("zenml-code-")
