"""What `down` ends and removes on the SageMaker side before the stack goes.

A stack's runs outlive the stack unless someone ends them: an execution keeps its jobs (and its
bill) running, its ZenML run stays `running` for good once the orchestrator component is
unregistered (nothing could refresh it any more), and the SageMaker pipelines the orchestrator
made stay listed. So `down --force` stops every execution of the stack's pipelines (through
ZenML's own stop for the runs ZenML knows, then StopPipelineExecution for any other), waits
until SageMaker says they ended, brings each ZenML run to its final status (ZenML's refresh,
which reads it from SageMaker: `stopped`), and `down` then deletes the pipelines the stack's
orchestrator created: named with the stack's prefix (its execution role's trust is scoped to
that) and carrying the orchestrator's `zenml-pipeline` tag. Pipelines of the prefix without the
tag were made by someone else and are left alone.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sagemaker_stack import aws
from sagemaker_stack.config import ZENML_PIPELINE_TAG, StackConfig

Echo = Callable[[str], None]
#: SageMaker's statuses of an execution that has not ended.
ACTIVE_STATUSES = frozenset({"Executing", "Stopping"})
#: How long `down --force` waits for stopped executions to end (SageMaker stops jobs in minutes).
STOP_TIMEOUT = 900.0
_POLL_SECONDS = 2.0


def stack_pipelines(sagemaker: Any, config: StackConfig) -> list[dict[str, Any]]:
    """Every SageMaker pipeline named with the stack's prefix (every page)."""
    return list(
        aws.paginate(
            sagemaker, "list_pipelines", "PipelineSummaries", PipelineNamePrefix=config.pipeline_name_prefix
        )
    )


def running_executions(sagemaker: Any, pipelines: Iterable[dict[str, Any]]) -> list[str]:
    """ARNs of the executions of `pipelines` that have not ended (every page)."""
    return [
        str(execution["PipelineExecutionArn"])
        for pipeline in pipelines
        for execution in aws.paginate(
            sagemaker,
            "list_pipeline_executions",
            "PipelineExecutionSummaries",
            PipelineName=pipeline["PipelineName"],
        )
        if execution.get("PipelineExecutionStatus") in ACTIVE_STATUSES
    ]


def orchestrator_pipelines(sagemaker: Any, pipelines: Iterable[dict[str, Any]]) -> list[str]:
    """Names of those of `pipelines` the orchestrator created (they carry its tag)."""
    names = []
    for pipeline in pipelines:
        tags = aws.paginate(sagemaker, "list_tags", "Tags", ResourceArn=pipeline["PipelineArn"])
        if any(tag.get("Key") == ZENML_PIPELINE_TAG for tag in tags):
            names.append(str(pipeline["PipelineName"]))
    return names


def stop_executions(sagemaker: Any, arns: Iterable[str]) -> None:
    """StopPipelineExecution for each one that has not ended (ZenML's stop may have asked already)."""
    for arn in arns:
        status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status == "Executing":
            try:
                sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)
            except aws.ClientError as error:
                if aws.error_code(error) != "ValidationException":  # it ended meanwhile
                    raise


def wait_until_ended(sagemaker: Any, arns: Iterable[str], *, timeout: float = STOP_TIMEOUT) -> dict[str, str]:
    """Each execution's status once none is active any more, or at `timeout` (polling, no waiter
    exists for pipeline executions)."""
    pending = set(arns)
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        for arn in sorted(pending):
            statuses[arn] = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)[
                "PipelineExecutionStatus"
            ]
        pending = {arn for arn in pending if statuses[arn] in ACTIVE_STATUSES}
        if not pending or time.monotonic() >= deadline:
            return statuses
        time.sleep(_POLL_SECONDS)


def delete_pipelines(sagemaker: Any, names: Iterable[str]) -> list[str]:
    """DeletePipeline for each (its executions go with it, as SageMaker deletes them)."""
    deleted = []
    for name in names:
        try:
            sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=uuid.uuid4().hex)
        except aws.ClientError as error:
            if aws.error_code(error) not in ("ResourceNotFound", "ValidationException"):
                raise
            continue
        deleted.append(name)
    return deleted


# --- the ZenML side ------------------------------------------------------------------------------


def unfinished_runs(zenml_stack_name: str) -> list[Any]:
    """ZenML runs on the registered stack that have not ended (none if the stack is not registered)."""
    from zenml.client import Client
    from zenml.utils.pagination_utils import depaginate

    client = Client()
    try:
        stack = client.get_stack(zenml_stack_name, allow_name_prefix_match=False)
    except KeyError:
        return []
    runs = depaginate(client.list_pipeline_runs, stack_id=stack.id)
    return [run for run in runs if not run.status.is_finished]


def stop_zenml_runs(runs: Iterable[Any]) -> None:
    """ZenML's own stop for each run (our orchestrator's StopPipelineExecution); best effort."""
    from zenml.utils.run_utils import stop_run

    for run in runs:
        try:
            stop_run(run, graceful=False)
        except Exception:  # already stopping, never submitted: the end state is settled below
            continue


def finish_zenml_runs(run_ids: Iterable[Any], reason: str) -> int:
    """Each run's final status from SageMaker (ZenML's refresh); `stopped` if none can be read.

    How many runs ended this way.
    """
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.orchestrators.publish_utils import publish_pipeline_run_status_update
    from zenml.utils.run_utils import refresh_run_status

    ended = 0
    for run_id in run_ids:
        run = Client().get_pipeline_run(run_id)
        # No execution ARN (never submitted), or the stack cannot be read: marked stopped below.
        with contextlib.suppress(Exception):
            run = refresh_run_status(run, include_step_updates=True)
        if not run.status.is_finished:
            publish_pipeline_run_status_update(run.id, ExecutionStatus.STOPPED, status_reason=reason)
        ended += 1
    return ended
