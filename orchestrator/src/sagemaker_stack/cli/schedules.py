"""`sagemaker-stack schedules list|delete`: the stack's EventBridge schedules, orphans included.

An orphan is a schedule sagemaker-stack made whose ZenML schedule no longer exists (deleted
with its pipeline, say: ZenML then removes the schedule from its database without asking the
orchestrator). Which ZenML schedules exist is asked of the ZenML server this client is connected
to, one id at a time, so schedules of every project count. Deleting asks for confirmation and
names that server, because a client connected to another server would see every schedule as an
orphan.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

import click

from sagemaker_stack.cli.common import config_option, load_config, user_errors
from sagemaker_stack.config import StackConfig

_HEADERS = ("NAME", "EXPRESSION", "TIMEZONE", "WINDOW", "PIPELINE", "ZENML SCHEDULE", "ORPHAN")


@click.group("schedules")
def schedules() -> None:
    """Show and remove the stack's EventBridge Scheduler schedules (one per ZenML schedule)."""


@schedules.command("list")
@config_option()
@click.option(
    "--no-zenml", is_flag=True, help="Do not ask ZenML which schedules still exist (no orphan column)."
)
def list_command(config_file: Path | None, no_zenml: bool) -> None:
    """List the schedules of the stack's group with the ZenML schedule each belongs to."""
    from sagemaker_stack.schedules import scheduler as api

    config = load_config(config_file)
    existing: Container[str] | None = None
    if not no_zenml:
        existing, problem = _zenml_ids()
        if problem:
            click.echo(f"(orphans not checked: {problem})", err=True)
    client = _client(config)
    try:
        infos = _call(lambda: api.list_schedules(config, existing, client=client), config)
    except click.ClickException:
        raise
    except Exception as error:  # a ZenML failure only loses the orphan column
        click.echo(f"(orphans not checked: ZenML could not be asked: {error})", err=True)
        infos = _call(lambda: api.list_schedules(config, client=client), config)
    if not infos:
        click.echo(f"No schedules in group {config.schedule_group_name}.")
        return
    click.echo(_table([_row(info) for info in infos]))


@schedules.command("delete")
@config_option()
@click.option("--orphans", is_flag=True, help="Delete schedules whose ZenML schedule no longer exists.")
@click.option("--all", "delete_all", is_flag=True, help="Delete every schedule of the stack (and its group).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.argument("names", nargs=-1)
def delete_command(
    config_file: Path | None, orphans: bool, delete_all: bool, yes: bool, names: Sequence[str]
) -> None:
    """Delete schedules by NAME, or --orphans, or --all."""
    from sagemaker_stack.schedules import scheduler as api

    chosen = sum([bool(names), orphans, delete_all])
    if chosen != 1:
        raise click.UsageError("give schedule NAMEs, or --orphans, or --all (exactly one of them)")
    config = load_config(config_file)
    client = _client(config)

    if names:
        for name in names:
            deleted = _call(lambda name=name: api.delete_schedule(config, name, client), config)
            click.echo(
                f"deleted {name}" if deleted else f"{name}: no such schedule in {config.schedule_group_name}"
            )
        return

    if delete_all:
        infos = _call(lambda: api.list_schedules(config, client=client), config)
        if not _confirm(yes, f"Delete all {len(infos)} schedule(s) of {config.schedule_group_name}?"):
            return
        removed = _call(lambda: api.delete_all_schedules(config, client), config)
        click.echo(f"deleted {len(removed)} schedule(s){': ' + ', '.join(removed) if removed else ''}")
        return

    existing, problem = _zenml_ids()
    if problem or existing is None:
        raise click.ClickException(f"cannot tell which schedules are orphans: {problem}")
    try:
        found = _call(lambda: api.find_orphans(config, existing, client), config)
    except click.ClickException:
        raise
    except Exception as error:  # ZenML errors surface while checking ids
        raise click.ClickException(f"cannot ask ZenML which schedules exist: {error}") from None
    if not found:
        click.echo("No orphaned schedules.")
        return
    click.echo(_table([_row(info) for info in found]))
    question = f"Delete these {len(found)} schedule(s)? (ZenML consulted: {_zenml_url()})"
    if not _confirm(yes, question):
        return
    for info in found:
        if _call(lambda info=info: api.delete_schedule(config, info.name, client), config):
            click.echo(f"deleted {info.name}")


# --- helpers --------------------------------------------------------------------------------------


def _client(config: StackConfig) -> Any:
    """A Scheduler client; for an emulator config with the emulator's test keys."""
    from sagemaker_stack.ops.target import target_for_config

    return target_for_config(config).client("scheduler")


def _call(call: Any, config: StackConfig) -> Any:
    """Run AWS calls, turning the usual failures into one readable line."""
    with user_errors(config):
        return call()


def _zenml_ids() -> tuple[Container[str] | None, str | None]:
    """A container of existing ZenML schedule ids, or None and why ZenML cannot be asked."""
    try:
        from zenml.client import Client

        from sagemaker_stack.schedules.hooks import ZenMLScheduleIds

        Client().zen_store  # noqa: B018 - connects now, so a dead server is reported here
        return ZenMLScheduleIds(), None
    except Exception as error:  # any failure only means "orphans unknown"
        return None, f"ZenML is not reachable ({error})"


def _zenml_url() -> str:
    try:
        from zenml.client import Client

        return str(Client().zen_store.url)
    except Exception:  # only shown in a prompt
        return "unknown"


def _confirm(yes: bool, question: str) -> bool:
    if yes:
        return True
    if click.confirm(question, default=False):
        return True
    click.echo("Nothing deleted.")
    return False


def _row(info: Any) -> tuple[str, ...]:
    zenml = info.zenml_schedule_name or ""
    if info.zenml_schedule_id:
        zenml = f"{zenml} ({info.zenml_schedule_id[:8]})" if zenml else info.zenml_schedule_id
    orphan = {True: "yes", False: "no", None: "?"}[info.orphan]
    if not info.managed:
        zenml, orphan = "(not made by sagemaker-stack)", "-"
    window = info.window
    if info.start or info.end:
        start = info.start.strftime("%Y-%m-%d %H:%M") if info.start else "now"
        end = info.end.strftime("%Y-%m-%d %H:%M") if info.end else "open"
        window = f"{window} {start}..{end} UTC"
    state = "" if info.state in (None, "ENABLED") else f" [{info.state}]"
    return (
        info.name + state,
        info.expression or "",
        info.timezone or "",
        window,
        info.pipeline_name or info.pipeline_arn or "",
        zenml,
        orphan,
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [_HEADERS, *rows]) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_HEADERS, *rows]
    ]
    return "\n".join(lines)
