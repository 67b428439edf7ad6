"""The start-up model's settings: what is accepted, and one clear message for what is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sagemaker_stack.local import Emulator, EmulatorError
from sagemaker_stack.local.process import server
from sagemaker_stack.local.sagemaker.job_recorder import billed_seconds
from sagemaker_stack.local.sagemaker.startup import (
    StartupModel,
    StartupModelError,
    instance_types,
    read_table,
)


def test_a_type_in_the_table_waits_its_seconds_the_others_the_default() -> None:
    model = StartupModel(60, {"ml.g5.xlarge": 240})

    assert model.seconds(["ml.g5.xlarge"]) == 240
    assert model.seconds(["ml.m5.large"]) == 60
    assert model.seconds([]) == 60
    # Instances start in parallel: a heterogeneous cluster waits its slowest type once.
    assert model.seconds(["ml.m5.large", "ml.g5.xlarge"]) == 240
    assert model.enabled and not StartupModel().enabled
    assert model.describe() == "60 s per job; ml.g5.xlarge: 240 s"


def test_the_instance_types_of_a_request_are_read_from_its_resources() -> None:
    processing = {
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.large"}}
    }
    training = {
        "ResourceConfig": {
            "InstanceGroups": [
                {"InstanceGroupName": "a", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
                {"InstanceGroupName": "b", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
            ]
        }
    }

    assert instance_types("Processing", processing) == ["ml.m5.large"]
    assert instance_types("Training", training) == ["ml.p3.2xlarge", "ml.c5.xlarge"]
    assert instance_types("Training", {}) == []


@pytest.mark.parametrize(
    ("seconds", "table", "message"),
    [
        (-1, {}, "must be a number of seconds >= 0"),
        ("soon", {}, "must be a number of seconds, not 'soon'"),
        (float("nan"), {}, "must be a number of seconds >= 0"),
        (0, {"m5.large": 60}, "'m5.large', which is not a SageMaker instance type"),
        (0, {"ml.m5.large": -5}, "the job start-up of ml.m5.large must be a number of seconds >= 0"),
        (0, ["ml.m5.large"], "must be a JSON object of instance types and seconds"),
    ],
)
def test_bad_values_are_refused_with_what_is_wrong(seconds: object, table: object, message: str) -> None:
    with pytest.raises(StartupModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StartupModel(seconds, table)  # type: ignore[arg-type]


def test_a_table_file_that_cannot_be_used_says_why(tmp_path: Path) -> None:
    with pytest.raises(StartupModelError, match="cannot read the job start-up table"):
        read_table(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{ml.m5.large: 60")
    with pytest.raises(StartupModelError, match="is not valid JSON"):
        read_table(broken)
    good = tmp_path / "table.json"
    good.write_text(json.dumps({"ml.m5.large": 60, "ml.g5.xlarge": 240.5}))
    assert read_table(good) == {"ml.m5.large": 60.0, "ml.g5.xlarge": 240.5}


def test_the_emulator_and_its_server_refuse_a_bad_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(EmulatorError, match="not a SageMaker instance type"):
        Emulator(tmp_path / "state", job_startup_table={"gpu": 10})
    with pytest.raises(EmulatorError, match=">= 0"):
        Emulator(tmp_path / "state", job_startup_seconds=-3)

    code = server.main(["--state-dir", str(tmp_path / "state"), "--job-startup-seconds", "-2"])

    assert code == server.EXIT_SETTINGS
    assert "--job-startup-seconds must be a number of seconds >= 0, not '-2'" in capsys.readouterr().err


def test_billed_seconds_run_from_the_start_after_the_start_up_to_the_end() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    assert billed_seconds(start, start + timedelta(seconds=41.2)) == 42
    assert billed_seconds(None, start) == 0  # ended before its instances were up: nothing billed
