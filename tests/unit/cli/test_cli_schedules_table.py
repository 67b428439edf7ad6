"""The `schedules` CLI's argument rules and table, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from sagemaker_stack.cli import main
from sagemaker_stack.cli.schedules import _row, _table
from sagemaker_stack.schedules.scheduler import ScheduleInfo


def _info(**changes: object) -> ScheduleInfo:
    values: dict[str, object] = {
        "name": "zenml-8f0c2a36-4a51-4d8e-9a7e-0c1f3b2d6e11",
        "group_name": "demo-schedules",
        "arn": None,
        "state": "ENABLED",
        "expression": "cron(0 6 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
        "start": None,
        "end": datetime(2030, 3, 1, tzinfo=UTC),
        "window": "OFF",
        "pipeline_arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/demo-training",
        "zenml_schedule_id": "8f0c2a36-4a51-4d8e-9a7e-0c1f3b2d6e11",
        "zenml_schedule_name": "nightly",
        "zenml_pipeline": "training",
        "orphan": False,
    }
    values.update(changes)
    return ScheduleInfo(**values)  # type: ignore[arg-type]


def test_row_shows_what_a_user_needs_to_decide() -> None:
    row = _row(_info())
    assert row == (
        "zenml-8f0c2a36-4a51-4d8e-9a7e-0c1f3b2d6e11",
        "cron(0 6 ? * MON-FRI *)",
        "Europe/Berlin",
        "OFF now..2030-03-01 00:00 UTC",
        "demo-training",
        "nightly (8f0c2a36)",
        "no",
    )
    assert _row(_info(orphan=True))[-1] == "yes"
    assert _row(_info(orphan=None))[-1] == "?"
    assert _row(_info(state="DISABLED"))[0].endswith("[DISABLED]")


def test_foreign_schedules_are_marked_and_never_orphans() -> None:
    row = _row(_info(zenml_schedule_id=None, zenml_schedule_name=None, orphan=None))
    assert row[-2:] == ("(not made by sagemaker-stack)", "-")


def test_table_aligns_columns_under_headers() -> None:
    lines = _table([_row(_info())]).splitlines()
    assert lines[0].split() == [
        "NAME",
        "EXPRESSION",
        "TIMEZONE",
        "WINDOW",
        "PIPELINE",
        "ZENML",
        "SCHEDULE",
        "ORPHAN",
    ]
    assert lines[1].index("cron(") == lines[0].index("EXPRESSION")


def test_delete_needs_exactly_one_selection() -> None:
    runner = CliRunner()
    for args in ([], ["--all", "--orphans"], ["x", "--all"]):
        result = runner.invoke(main, ["schedules", "delete", *args])
        assert result.exit_code == 2, result.output
        assert "exactly one of them" in result.output


def test_schedules_is_a_subcommand() -> None:
    result = CliRunner().invoke(main, ["schedules", "--help"])
    assert result.exit_code == 0
    assert "list" in result.output and "delete" in result.output
