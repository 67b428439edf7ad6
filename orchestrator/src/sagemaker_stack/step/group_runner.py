"""Inside a step group's job: run its ZenML steps, each its own step run, in dependency order.

A step group (`orchestrator.step_groups`) is several steps of one job configuration in one
SageMaker job, so the job's start-up is paid once. Each step still runs as ZenML's local
orchestrator runs one (`orchestrator._prepare_run(snapshot)`, then `orchestrator.run_step(step)`,
ZenML's `launch_step`): its own step run, status, logs, artifacts, caching, hooks and ZenML
retries. Steps whose upstream steps are done run side by side in threads, at most one per CPU
core, as ZenML's dynamic pipeline runner runs its steps (each thread in a copy of the caller's
context: ZenML's logging and execution contexts are ContextVars).

On a failure nothing new starts; the steps already running end, then the job fails (a non-zero
exit, so SageMaker's step status says so) naming the failed steps.

Resume: SageMaker retries a group's job for an infrastructure failure (capacity, internal error)
as a new job of the same execution. Before launching anything, the runner asks ZenML which steps
of the run (its orchestrator run id is the execution ARN) already completed or were cached, and
skips them: a retried group resumes at its first unfinished step and never re-runs a completed one.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from zenml.logger import get_logger

if TYPE_CHECKING:
    from zenml.models import PipelineSnapshotResponse

logger = get_logger(__name__)


class StepGroupFailed(RuntimeError):
    """Steps of the group failed: the job fails, and the message names them."""


def run_in_order(
    upstream: Mapping[str, Collection[str]],
    launch: Callable[[str], object],
    *,
    done: Collection[str] = (),
    workers: int | None = None,
) -> dict[str, BaseException]:
    """Launch every step of `upstream` (name -> its upstream steps in the group) once its
    upstream steps are done; the steps that failed with their errors (empty: all succeeded).

    `done` are steps that need no launch (completed before). At most `workers` run at once
    (default: the CPU count). After the first failure no step starts; running ones finish.
    """
    finished = set(done)
    pending = [name for name in upstream if name not in finished]
    failed: dict[str, BaseException] = {}
    running: dict[Future[object], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
        while True:
            if not failed:
                for name in [n for n in pending if set(upstream[n]) <= finished]:
                    pending.remove(name)
                    context = contextvars.copy_context()
                    running[pool.submit(context.run, launch, name)] = name
            if not running:
                break
            completed, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in completed:
                name = running.pop(future)
                error = future.exception()
                if error is None:
                    finished.add(name)
                else:
                    logger.error("Step `%s` of the step group failed: %s", name, error)
                    failed[name] = error
    return failed


def completed_steps(orchestrator_run_id: str, snapshot_id: Any) -> set[str]:
    """Steps of this run (found by its orchestrator run id) that completed, were cached or skipped."""
    from zenml.client import Client
    from zenml.utils.pagination_utils import depaginate

    client = Client()
    runs = client.list_pipeline_runs(orchestrator_run_id=orchestrator_run_id, snapshot_id=snapshot_id, size=1)
    if not runs.items:
        return set()
    step_runs = depaginate(client.list_run_steps, pipeline_run_id=runs.items[0].id, exclude_retried=True)
    return {step_run.name for step_run in step_runs if step_run.status.is_successful}


def group_upstream(snapshot: PipelineSnapshotResponse, names: Sequence[str]) -> dict[str, list[str]]:
    """Each step of the group -> its upstream steps inside the group, in the group's order."""
    members = set(names)
    return {
        name: [u for u in snapshot.step_configurations[name].spec.upstream_steps if u in members]
        for name in names
    }


def run_group(
    snapshot: PipelineSnapshotResponse,
    names: Sequence[str],
    orchestrator: Any,
    *,
    completed: Callable[[str, Any], set[str]] = completed_steps,
) -> None:
    """Run the group's steps (see the module docstring); StepGroupFailed if any failed."""
    from zenml.execution.context import setup_execution_context

    orchestrator._prepare_run(snapshot=snapshot)
    done = completed(orchestrator.get_orchestrator_run_id(), snapshot.id) & set(names)
    for name in names:
        if name in done:
            logger.info("Step `%s` already completed in this run (an earlier attempt of this job).", name)

    launched: set[str] = set()

    def launch(name: str) -> None:
        launched.add(name)
        orchestrator.run_step(step=snapshot.step_configurations[name])

    with setup_execution_context():
        failed = run_in_order(group_upstream(snapshot, names), launch, done=done)
    if failed:
        # The job log's last lines are what the watch shows: say there what failed, and why.
        lines = [f"{len(failed)} of the step group's {len(names)} steps failed:"]
        lines.extend(f"  {name}: {type(error).__name__}: {error}" for name, error in failed.items())
        skipped = [name for name in names if name not in launched and name not in done]
        if skipped:
            lines.append(f"  not started: {', '.join(skipped)}")
        raise StepGroupFailed("\n".join(lines))
