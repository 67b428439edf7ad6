"""A run's cost in ZenML: which jobs a run had, and its cost in the run's metadata, once.

`run_cost` works out the figures from SageMaker; this module is the ZenML side. A run's jobs are
those of its SageMaker pipeline execution's steps (ListPipelineExecutionSteps, which the watch and
`fetch_status` already call), a dynamic run's orchestration job, and every job a step run
recorded (`run_metadata.step_job_of`: a dynamic run's isolated steps, and our step operator's
jobs in a run of this orchestrator).

When: at the end of the synchronous watch, and when `fetch_status` (`zenml pipeline runs
refresh`, the dashboard) finds the run ended, so that asynchronous and scheduled runs get it too.
Once: a run whose metadata already holds a cost with no job left running is not described again;
one whose jobs had not all ended gets it again on the next refresh. What a run cost is a report,
never the run's outcome: any failure to work it out or to publish it is one warning line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from zenml.logger import get_logger

from sagemaker_stack.orchestrator import run_cost, run_metadata
from sagemaker_stack.orchestrator.execution import StepState
from sagemaker_stack.orchestrator.standalone_jobs import JobRef

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.models import PipelineRunResponse

logger = get_logger(__name__)

#: How a dynamic run's orchestration job is named in the cost breakdown.
ORCHESTRATION_JOB_LABEL = "orchestration job"


def recorded(run: Any) -> bool:
    """Whether the run's metadata already holds its final cost (every job had ended)."""
    metadata = getattr(run, "run_metadata", None) or {}
    return run_cost.METADATA_BILLED_SECONDS in metadata and not metadata.get(run_cost.METADATA_JOBS_RUNNING)


def step_run_jobs(run: Any) -> list[tuple[str, JobRef]]:
    """(ZenML step name, job) of each job the run's step runs recorded (isolated steps, step operator)."""
    jobs = []
    for name, step_run in (getattr(run, "steps", None) or {}).items():
        ref = run_metadata.step_job_of(step_run)
        if ref is not None:
            jobs.append((str(name), ref))
    return jobs


def dynamic_run_jobs(run: Any, orchestration_job: JobRef) -> list[tuple[str, JobRef]]:
    """A dynamic run's orchestration job and its isolated steps' jobs."""
    return [(ORCHESTRATION_JOB_LABEL, orchestration_job), *step_run_jobs(run)]


def static_run_jobs(run: Any, steps: Iterable[StepState]) -> list[tuple[str, JobRef]]:
    """A pipeline execution's step jobs (by SageMaker step name) and any job a step run recorded."""
    return [*run_cost.step_jobs(steps), *(step_run_jobs(run) if run is not None else [])]


def record(
    sagemaker: Callable[[], Any],
    run_id: UUID | None,
    component_id: UUID,
    jobs: Callable[[PipelineRunResponse | None], list[tuple[str, JobRef]]],
) -> run_cost.RunCost | None:
    """Work out the run's cost and publish it on the ZenML run (when there is one).

    `jobs` gets the ZenML run (None without a run id) and returns its jobs. Returns the cost for
    the watch's line even if publishing it failed; None, after one warning, if it could not be
    worked out.
    """
    try:
        run = _zenml_run(run_id)
        cost = run_cost.of_jobs(sagemaker(), jobs(run))
    except Exception as error:  # a report, never the run's outcome
        logger.warning("Could not work out what the run cost: %s", error)
        return None
    if run_id is not None:
        publish(run_id, component_id, cost)
    return cost


def record_once(
    sagemaker: Callable[[], Any],
    run: PipelineRunResponse,
    component_id: UUID,
    jobs: Callable[[PipelineRunResponse], list[tuple[str, JobRef]]],
) -> None:
    """`record` for an ended run found by `fetch_status`, unless its cost is already recorded."""
    try:
        if recorded(run):
            return
        cost = run_cost.of_jobs(sagemaker(), jobs(run))
    except Exception as error:
        logger.warning("Could not work out what run %s cost: %s", getattr(run, "name", "?"), error)
        return
    publish(run.id, component_id, cost)


def publish(run_id: UUID, component_id: UUID, cost: run_cost.RunCost) -> None:
    """The cost into the run's metadata (ZenML's `publish_pipeline_run_metadata`); a warning if not."""
    from zenml.orchestrators.publish_utils import publish_pipeline_run_metadata

    try:
        publish_pipeline_run_metadata(
            pipeline_run_id=run_id, pipeline_run_metadata={component_id: cost.metadata()}
        )
    except Exception as error:
        logger.warning("Could not record the run's cost in ZenML: %s", error)


def _zenml_run(run_id: UUID | None) -> PipelineRunResponse | None:
    """The ZenML run, for the jobs its step runs recorded; None when there is none or it is out of reach
    (the execution's own jobs are still counted)."""
    if run_id is None:
        return None
    from zenml.client import Client

    try:
        return Client().get_pipeline_run(run_id)
    except Exception as error:
        logger.debug("Could not read run %s back from ZenML: %s", run_id, error)
        return None
