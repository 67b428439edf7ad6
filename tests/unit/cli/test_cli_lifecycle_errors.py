"""`up` / `down` refuse bad input with one clear line, before touching anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from sagemaker_stack.cli.lifecycle import down, up
from tests.support.botocore_attempts import record_attempts

REPO = Path(__file__).resolve().parents[3]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_against_an_emulator_that_is_down_says_so_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "stack.json"
    result = CliRunner().invoke(
        up,
        [
            "--app-dir",
            str(REPO),
            "--config",
            str(config),
            "--endpoint-url",
            f"http://127.0.0.1:{_closed_port()}",
        ],
    )
    assert result.exit_code == 1
    assert "nothing answers at http://127.0.0.1:" in result.output and "local start" in result.output
    assert not config.exists()


def test_up_rejects_a_context_pair_without_a_value(tmp_path: Path) -> None:
    result = CliRunner().invoke(up, ["--config", str(tmp_path / "s.json"), "-c", "retain_data"])
    assert result.exit_code == 2
    assert "'retain_data' is not key=value" in result.output


def test_down_without_a_config_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = CliRunner().invoke(down, ["--config", str(missing)])
    assert result.exit_code == 1
    assert f"no stack config at {missing}" in result.output and "sagemaker-stack export" in result.output
    assert "Traceback" not in result.output


def test_demo_on_aws_without_credentials_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker_stack.cli.demo import demo

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(demo, ["--aws", "--app-dir", str(REPO)])
    assert result.exit_code == 1
    assert "--aws needs AWS credentials" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["down"],
        ["register"],
        ["image", "build"],
        ["schedules", "list"],
        ["schedules", "delete", "--orphans"],
    ],
)
def test_a_command_whose_config_names_an_endpoint_that_is_down_says_so_at_once(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One line naming the endpoint and what to start, before botocore's minute of retries."""
    from sagemaker_stack.cli import main
    from tests.support.schedules import stack_config

    config = tmp_path / "stack.json"
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    stack_config(endpoint).save(config)
    attempts = record_attempts(monkeypatch)
    result = CliRunner().invoke(main, [*command, "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "nothing answers at http://127.0.0.1:" in result.output and "local start" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert [url for url in attempts if url.startswith(endpoint)] == []  # no request, so no retries
    assert config.exists()  # nothing was lost


def test_export_from_an_endpoint_that_is_down_says_so_at_once(tmp_path: Path) -> None:
    from sagemaker_stack.cli import main

    output = tmp_path / "stack.json"
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    args = ["export", "--region", "us-east-1", "--endpoint-url", endpoint, "--output", str(output)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert f"nothing answers at {endpoint}" in result.output
    assert not output.exists()
