"""`up --local` (and `up` with no AWS credentials) uses the local environment as `local env` would."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sagemaker_stack.cli.lifecycle import up
from sagemaker_stack.ops import lifecycle
from sagemaker_stack.ops.local_env import LocalEnvironment


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Record what `up` asks of the environment and what `lifecycle.up` then sees."""
    seen: dict[str, Any] = {}
    endpoint = "http://127.0.0.1:45123"

    def start(self: LocalEnvironment, **kwargs: Any) -> None:
        seen["started"] = (self.state_dir, kwargs.get("region"))

    def env(self: LocalEnvironment, **kwargs: Any) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "ZENML_CONFIG_PATH": str(self.client_dir),
            "SAGEMAKER_STACK_LOCAL_DIR": str(self.state_dir),
        }

    def fake_up(target: Any, **kwargs: Any) -> None:
        seen["target"] = target
        seen["zenml_config"] = os.environ.get("ZENML_CONFIG_PATH")
        seen["store_url"] = os.environ.get("ZENML_STORE_URL")

    monkeypatch.setattr(LocalEnvironment, "start", start)
    monkeypatch.setattr(LocalEnvironment, "env", env)
    monkeypatch.setattr(lifecycle, "up", fake_up)
    # Set first so that monkeypatch restores what `up` changes in this process.
    for name in ("ZENML_CONFIG_PATH", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "before")
        monkeypatch.delenv(name)  # a shell with none of them; restored as it was afterwards
    monkeypatch.setenv("SAGEMAKER_STACK_LOCAL_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("ZENML_STORE_URL", "https://elsewhere.example")
    return seen


def test_up_local_starts_the_environment_and_points_registration_at_its_server(
    calls: dict[str, Any], tmp_path: Path
) -> None:
    result = CliRunner().invoke(up, ["--local", "--config", str(tmp_path / "s.json"), "--stack-name", "s"])
    assert result.exit_code == 0, result.output
    assert calls["started"] == ((tmp_path / "mine").resolve(), None)  # the one `local env` named
    assert calls["target"].endpoint_url == "http://127.0.0.1:45123"
    assert calls["target"].region == "eu-west-1"
    assert calls["zenml_config"] == str((tmp_path / "mine").resolve() / "zenml-client")
    assert calls["store_url"] is None  # a store URL of the shell would win over the client folder
    assert "Using the local environment in" in result.output
