"""`sagemaker-stack schedules list|delete` against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sagemaker_stack.cli import main
from sagemaker_stack.cli import schedules as schedules_cli
from sagemaker_stack.config import StackConfig
from sagemaker_stack.schedules import scheduler as scheduler_api
from tests.support.schedules import PIPELINE_ARN, Stored


@pytest.fixture
def config_file(config: StackConfig, tmp_path: Path) -> Path:
    return config.save(tmp_path / "sagemaker-stack.json")


@pytest.fixture
def made(config: StackConfig) -> list[Stored]:
    stored = [Stored(name=n, cron_expression="0 5 * * *") for n in ("alive", "dead")]
    for schedule in stored:
        scheduler_api.create_or_update_schedule(config, schedule, PIPELINE_ARN, zenml_pipeline="training")
    return stored


def _run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, ["schedules", *args], input=input, catch_exceptions=False)


def _zenml_knows(monkeypatch: pytest.MonkeyPatch, ids: set[str] | None, problem: str | None = None) -> None:
    monkeypatch.setattr(schedules_cli, "_zenml_ids", lambda: (ids, problem))
    monkeypatch.setattr(schedules_cli, "_zenml_url", lambda: "http://127.0.0.1:1")


def test_list_shows_each_schedule_with_its_zenml_schedule_and_orphan_state(
    config_file: Path, made: list[Stored], monkeypatch: pytest.MonkeyPatch
) -> None:
    alive, dead = made
    _zenml_knows(monkeypatch, {str(alive.id)})
    result = _run("list", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "cron(0 5 * * ? *)" in lines[f"zenml-{alive.id}"]
    assert "schedtest-training" in lines[f"zenml-{alive.id}"]
    assert lines[f"zenml-{alive.id}"].rstrip().endswith("no")
    assert lines[f"zenml-{dead.id}"].rstrip().endswith("yes")


def test_list_without_zenml_still_lists(config_file: Path, made: list[Stored]) -> None:
    result = _run("list", "--config", str(config_file), "--no-zenml")
    assert result.exit_code == 0, result.output
    assert all(f"zenml-{s.id}" in result.output for s in made)


def test_list_of_an_empty_stack_says_so(config_file: Path) -> None:
    result = _run("list", "--config", str(config_file), "--no-zenml")
    assert result.exit_code == 0 and "No schedules in group schedtest-schedules" in result.output


def test_delete_by_name(config_file: Path, made: list[Stored], config: StackConfig) -> None:
    result = _run("delete", "--config", str(config_file), f"zenml-{made[0].id}", "no-such")
    assert result.exit_code == 0, result.output
    assert f"deleted zenml-{made[0].id}" in result.output and "no-such: no such schedule" in result.output
    assert [i.name for i in scheduler_api.list_schedules(config)] == [f"zenml-{made[1].id}"]


def test_delete_orphans_asks_then_removes_only_orphans(
    config_file: Path, made: list[Stored], config: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive, dead = made
    _zenml_knows(monkeypatch, {str(alive.id)})

    declined = _run("delete", "--config", str(config_file), "--orphans", input="n\n")
    assert "Nothing deleted" in declined.output and len(scheduler_api.list_schedules(config)) == 2

    result = _run("delete", "--config", str(config_file), "--orphans", "--yes")
    assert result.exit_code == 0, result.output
    assert f"deleted zenml-{dead.id}" in result.output
    assert [i.name for i in scheduler_api.list_schedules(config)] == [f"zenml-{alive.id}"]


def test_delete_orphans_refuses_without_zenml(
    config_file: Path, made: list[Stored], config: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    _zenml_knows(monkeypatch, None, "ZenML is not reachable (connection refused)")
    result = CliRunner().invoke(main, ["schedules", "delete", "--config", str(config_file), "--orphans"])
    assert result.exit_code == 1
    assert "cannot tell which schedules are orphans" in result.output
    assert len(scheduler_api.list_schedules(config)) == 2


def test_delete_all(config_file: Path, made: list[Stored], config: StackConfig) -> None:
    result = _run("delete", "--config", str(config_file), "--all", "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted 2 schedule(s)" in result.output
    assert scheduler_api.list_schedules(config) == []
