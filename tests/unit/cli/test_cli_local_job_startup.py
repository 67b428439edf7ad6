"""`sagemaker-stack local start --job-startup-seconds/--job-startup-table` and `local status`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sagemaker_stack.cli import main
from sagemaker_stack.ops.local_env import STATE_FILE


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--job-startup-seconds", "-1"], "must be a number of seconds >= 0"),
        (["--job-startup-table", "{missing}"], "cannot read the job start-up table"),
        (["--job-startup-table", "{bad}"], "'m5.large', which is not a SageMaker instance type"),
    ],
)
def test_local_start_refuses_a_bad_model_in_one_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"m5.large": 60}))
    values = {"missing": str(tmp_path / "missing.json"), "bad": str(bad)}
    state = tmp_path / "local"

    result = CliRunner().invoke(
        main, ["local", "start", "--state-dir", str(state), *[option.format(**values) for option in options]]
    )

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (state / "emulator").exists()  # nothing started


def test_local_status_shows_a_model_that_is_set(tmp_path: Path) -> None:
    state = tmp_path / "local"
    state.mkdir()
    recorded = {"region": "us-east-1", "job_startup": {"default_seconds": 60, "table": {"ml.g5.xlarge": 240}}}
    (state / STATE_FILE).write_text(json.dumps(recorded))

    result = CliRunner().invoke(main, ["local", "status", "--state-dir", str(state)])

    assert "job start-up: 60 s per job; ml.g5.xlarge: 240 s (modeled" in result.output
    (state / STATE_FILE).write_text(json.dumps({"region": "us-east-1"}))
    assert (
        "job start-up" not in CliRunner().invoke(main, ["local", "status", "--state-dir", str(state)]).output
    )
