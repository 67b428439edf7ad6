"""The hand-off commands are reachable from the `sagemaker-stack` group."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sagemaker_stack.cli import main


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("export", "--outputs-file"),
        ("register", "--yaml"),
        ("unregister", "--name"),
    ],
)
def test_command_is_wired_into_the_cli(command: str, expected: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_register_without_a_config_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["register", "--config", str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no stack config at")
    assert "sagemaker-stack export" in result.output
    assert result.output.count("\n") == 1
