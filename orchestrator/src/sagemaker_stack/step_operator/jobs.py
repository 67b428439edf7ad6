"""The step operator's job on SageMaker's side: the standalone jobs of dynamic pipelines, reused.

A step that names our step operator runs as one standalone processing or training job, as an
isolated step of a dynamic pipeline does: the same Create/Describe/Stop calls, names, console and
log links (`orchestrator.standalone_jobs`), watched by the orchestrator's outage-tolerant watch
(`orchestrator.watch.poll_until`): a connection refused, reset or timed out, throttling or a 5xx
does not end it; after the outage bound it raises `ContactLost`, and the job goes on either way
(SageMaker runs it, not this process). boto3 only, no ZenML.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from sagemaker_stack.orchestrator import standalone_jobs
from sagemaker_stack.orchestrator.standalone_jobs import (
    PROCESSING,
    TRAINING,
    JobRef,
    JobState,
    console_url,
    create,
    describe,
    log_tail,
    stop,
)
from sagemaker_stack.orchestrator.standalone_jobs import job_logs_url as logs_url
from sagemaker_stack.orchestrator.watch import poll_until

__all__ = [
    "PROCESSING",
    "TRAINING",
    "Job",
    "JobState",
    "console_url",
    "create",
    "describe",
    "job_name",
    "log_tail",
    "logs_url",
    "stop",
    "watch",
]

#: One standalone job: its kind and name.
Job = JobRef


def job_name(prefix: str, step_name: str, step_run_id: str) -> str:
    """`<prefix>-<step>-<step run id start>-<random>`: the step run's id makes the job findable
    from ZenML's step, the random part lets ZenML's retries of one step run each have their own."""
    return standalone_jobs.job_name(prefix, step_name, re.sub(r"[^A-Za-z0-9]", "", step_run_id)[:8])


def watch(
    sagemaker: Any,
    job: Job,
    *,
    report: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    interval: float = 10.0,
    outage_limit: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> JobState:
    """Poll until the job ends, reporting each new status; ContactLost after `outage_limit` s."""
    return poll_until(
        lambda: describe(sagemaker, job),
        target=job.name,
        finished=lambda state: state.finished,
        line=lambda state: state.status,
        report=report,
        warn=warn,
        interval=interval,
        outage_limit=outage_limit,
        sleep=sleep,
        clock=clock,
    )
