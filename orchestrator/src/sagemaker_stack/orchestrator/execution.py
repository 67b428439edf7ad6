"""SageMaker Pipelines calls for one run: upsert, start, watch, stop, logs. boto3 only, no ZenML.

The orchestrator's AWS side, kept apart from ZenML so that a unit test can drive it with
botocore's Stubber and count its calls: a run costs DescribePipeline, UpdatePipeline and
StartPipelineExecution whatever the number of steps; the run that creates the pipeline one more
(ListPipelineVersions), as does one that lost a race to create it (CreatePipeline refused, then
UpdatePipeline). Plus an S3 upload for a definition over CreatePipeline's 1 MB, and AddTags on
update when `pipeline_tags` are set. Each execution starts the pipeline version its own run wrote
(`PipelineVersionId`): else of two runs submitted at once, the first could start after the
second's update and execute the second's definition.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from sagemaker_stack import aws
from sagemaker_stack.orchestrator.definition import parallelism_configuration, tag_list
from sagemaker_stack.orchestrator.watch import (  # noqa: F401  (re-exported: the orchestrator's names)
    MAX_BACKOFF_SECONDS,
    THROTTLING_CODES,
    WATCH_CLIENT_CONFIG,
    ContactLost,
    poll_until,
    transient_reason,
)

#: Terminal SageMaker pipeline execution statuses.
FINISHED_EXECUTION_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"

_DISPLAY_NAME_BAD = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Submission:
    """What submitting one run produced."""

    pipeline_arn: str
    execution_arn: str
    created: bool


@dataclass(frozen=True)
class Upserted:
    """The pipeline a run created or updated, and the version its definition became (None only
    if SageMaker listed no version of a pipeline this run just created)."""

    arn: str
    created: bool
    version_id: int | None


@dataclass
class StepState:
    """One SageMaker step of an execution, as ListPipelineExecutionSteps reports it."""

    name: str
    status: str
    failure_reason: str | None = None
    job_kind: str | None = None  # "Processing" or "Training"
    job_name: str | None = None
    #: (kind, name) of the jobs of earlier attempts SageMaker listed for this step, oldest first:
    #: a retried step paid for each of them (`run_cost`).
    earlier_jobs: tuple[tuple[str, str], ...] = ()

    @property
    def jobs(self) -> tuple[tuple[str, str], ...]:
        """(kind, name) of every job this step ran that SageMaker listed, the latest last."""
        latest = ((self.job_kind, self.job_name),) if self.job_kind and self.job_name else ()
        return (*self.earlier_jobs, *latest)


@dataclass
class ExecutionState:
    """An execution's status and its steps (steps that have not started are absent)."""

    status: str
    failure_reason: str | None = None
    steps: list[StepState] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_EXECUTION_STATUSES


#: Where definitions too long for CreatePipeline go, under the stack's bucket.
DEFINITION_PREFIX: Final = "sagemaker-pipelines"


@dataclass(frozen=True)
class DefinitionStore:
    """The stack's bucket, for definitions over CreatePipeline's PipelineDefinition limit (1 MB).

    `s3` makes the S3 client only when a definition needs it: most runs never touch S3 here.
    """

    bucket: str
    s3: Callable[[], Any]


def definition_limit() -> int:
    """CreatePipeline's PipelineDefinition maximum (characters), from botocore's model."""
    return int(aws.service_model("sagemaker").shape_for("PipelineDefinition").metadata["max"])


def definition_members(name: str, definition: str, store: DefinitionStore | None) -> dict[str, Any]:
    """`PipelineDefinition`, or for a definition over the limit `PipelineDefinitionS3Location`.

    The object key holds the definition's SHA-256, so re-submitting the same definition writes the
    same object; the VersionId (a versioned bucket, as the stack's) pins the exact object.
    """
    if len(definition) <= definition_limit() or store is None:
        return {"PipelineDefinition": definition}
    digest = hashlib.sha256(definition.encode()).hexdigest()[:32]
    key = f"{DEFINITION_PREFIX}/{name}/definitions/{digest}.json"
    response = store.s3().put_object(
        Bucket=store.bucket, Key=key, Body=definition.encode(), ContentType="application/json"
    )
    location = {"Bucket": store.bucket, "ObjectKey": key}
    if response.get("VersionId") and response["VersionId"] != "null":
        location["VersionId"] = str(response["VersionId"])
    return {"PipelineDefinitionS3Location": location}


@dataclass(frozen=True)
class PipelineRequest:
    """What CreatePipeline / UpdatePipeline get for one ZenML pipeline, on every run."""

    name: str
    definition: str
    role_arn: str
    description: str | None = None
    #: Set when the pipeline is created (UpdatePipeline takes none).
    tags: Mapping[str, str] | None = None
    #: The user's `pipeline_tags`, added to an existing pipeline with AddTags.
    retag: Mapping[str, str] | None = None
    #: Where a definition over 1 MB goes (see `definition_members`).
    store: DefinitionStore | None = None


def upsert_pipeline(sagemaker: Any, request: PipelineRequest) -> Upserted:
    """Create the pipeline, or update it in place if it exists; which version it now runs.

    UpdatePipeline answers with the version it made. CreatePipeline answers with the ARN only,
    and makes the pipeline's first version: it is the oldest ListPipelineVersions lists
    (SortOrder Ascending, MaxResults 1), whatever other runs updated since. Two first runs
    racing both find no pipeline; the one whose CreatePipeline SageMaker refuses because the
    pipeline now exists (ValidationException "... already exists", what AWS's SageMaker SDK's
    `Pipeline.upsert` also falls back on) updates it instead.

    `retag` is added to an existing pipeline with AddTags, so that a changed tag value applies
    from the next run on: one more call, only for pipelines that set pipeline_tags."""
    from botocore.exceptions import ClientError

    common: dict[str, Any] = {"PipelineName": request.name, "RoleArn": request.role_arn}
    if request.description:
        common["PipelineDescription"] = request.description[:3072]
    definition = functools.cache(lambda: definition_members(request.name, request.definition, request.store))
    try:
        sagemaker.describe_pipeline(PipelineName=request.name)
    except ClientError as error:
        if not aws.is_not_found(error):
            raise
        create = {**common, **definition()}
        if request.tags:
            create["Tags"] = tag_list(request.tags)
        try:
            arn = str(sagemaker.create_pipeline(**create)["PipelineArn"])
        except ClientError as refused:  # only if another run created it meanwhile
            if aws.error_code(refused) != "ValidationException" or "already exists" not in str(refused):
                raise
        else:
            return Upserted(arn, True, _first_version(sagemaker, request.name))
    response = sagemaker.update_pipeline(**common, **definition())
    arn = str(response["PipelineArn"])
    if request.retag:
        sagemaker.add_tags(ResourceArn=arn, Tags=tag_list(request.retag))
    version = response.get("PipelineVersionId")
    return Upserted(arn, False, None if version is None else int(version))


def _first_version(sagemaker: Any, name: str) -> int | None:
    listed = sagemaker.list_pipeline_versions(PipelineName=name, SortOrder="Ascending", MaxResults=1)
    summaries = listed.get("PipelineVersionSummaries") or []
    return int(summaries[0]["PipelineVersionId"]) if summaries else None


def start_execution(
    sagemaker: Any,
    *,
    name: str,
    display_name: str | None = None,
    max_parallel_steps: int | None = None,
    client_token: str | None = None,
    parameters: Mapping[str, str] | None = None,
    version_id: int | None = None,
) -> str:
    """Start one execution; returns its ARN. `client_token` makes a retried start idempotent.

    `parameters` set the definition's parameters for this execution (sorted by name), e.g. the
    ZenML snapshot id the steps run; `version_id` the pipeline version it executes (else the
    latest, whoever wrote it).
    """
    request: dict[str, Any] = {"PipelineName": name}
    if version_id is not None:
        request["PipelineVersionId"] = version_id
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    if parameters:
        request["PipelineParameters"] = [
            {"Name": key, "Value": parameters[key]} for key in sorted(parameters)
        ]
    parallelism = parallelism_configuration(max_parallel_steps)
    if parallelism is not None:
        request["ParallelismConfiguration"] = parallelism
    if client_token:
        request["ClientRequestToken"] = client_token
    response = sagemaker.start_pipeline_execution(**request)
    return str(response["PipelineExecutionArn"])


def submit(
    sagemaker: Any,
    request: PipelineRequest,
    *,
    display_name: str | None = None,
    max_parallel_steps: int | None = None,
    client_token: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Submission:
    """Upsert the pipeline and start the version this run wrote: three or four SageMaker calls
    (see `upsert_pipeline`)."""
    upserted = upsert_pipeline(sagemaker, request)
    execution_arn = start_execution(
        sagemaker,
        name=request.name,
        display_name=display_name,
        max_parallel_steps=max_parallel_steps,
        client_token=client_token,
        parameters=parameters,
        version_id=upserted.version_id,
    )
    return Submission(pipeline_arn=upserted.arn, execution_arn=execution_arn, created=upserted.created)


def stop_execution(sagemaker: Any, execution_arn: str) -> None:
    """Ask SageMaker to stop the execution (running steps are stopped, pending ones never start)."""
    from botocore.exceptions import ClientError

    try:
        sagemaker.stop_pipeline_execution(PipelineExecutionArn=execution_arn)
    except ClientError as error:
        # Stopping a finished execution is a no-op for the user, not an error.
        if aws.error_code(error) == "ConflictException" or "already" in str(error).lower():
            return
        raise


def describe(sagemaker: Any, execution_arn: str, include_steps: bool = True) -> ExecutionState:
    """The execution's status and, with `include_steps`, its steps' statuses and jobs."""
    response = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    state = ExecutionState(
        status=str(response["PipelineExecutionStatus"]), failure_reason=response.get("FailureReason")
    )
    if include_steps:
        state.steps = list_steps(sagemaker, execution_arn)
    return state


def list_steps(sagemaker: Any, execution_arn: str) -> list[StepState]:
    """All steps of the execution that have started, one entry per step (latest attempt)."""
    steps: dict[str, StepState] = {}
    for item in aws.paginate(
        sagemaker,
        "list_pipeline_execution_steps",
        "PipelineExecutionSteps",
        PipelineExecutionArn=execution_arn,
        SortOrder="Ascending",
    ):
        kind, job_name = _job_of(item.get("Metadata") or {})
        earlier = steps.get(item["StepName"])
        steps[item["StepName"]] = StepState(
            name=item["StepName"],
            status=str(item.get("StepStatus", "Starting")),
            failure_reason=item.get("FailureReason"),
            job_kind=kind,
            job_name=job_name,
            earlier_jobs=tuple(job for job in (earlier.jobs if earlier else ()) if job != (kind, job_name)),
        )
    return list(steps.values())


def log_tail(logs: Any, step: StepState, lines: int = 20) -> list[str]:
    """The last `lines` lines the step's job wrote to CloudWatch Logs ([] if none yet)."""
    if not step.job_name:
        return []
    group = TRAINING_LOG_GROUP if step.job_kind == "Training" else PROCESSING_LOG_GROUP
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{step.job_name}/").get(
            "logStreams", []
        )
        collected: list[str] = []
        for stream in streams:
            events = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=False, limit=lines
            ).get("events", [])
            collected.extend(str(event.get("message", "")).rstrip("\n") for event in events)
    except Exception:  # logs are a diagnostic aid: never let them hide the real failure
        return []
    return collected[-lines:]


@dataclass(frozen=True)
class Progress:
    """Counts shown while a run is watched."""

    total: int
    done: int
    running: int
    failed: int

    def __str__(self) -> str:
        return f"{self.done}/{self.total} steps done, {self.running} running, {self.failed} failed"


def progress(state: ExecutionState, total: int) -> Progress:
    """Count the steps of `state` (steps not started yet count towards the total only)."""
    done = sum(1 for step in state.steps if step.status == "Succeeded")
    running = sum(1 for step in state.steps if step.status in ("Starting", "Executing", "Stopping"))
    failed = sum(1 for step in state.steps if step.status == "Failed")
    return Progress(total=max(total, len(state.steps)), done=done, running=running, failed=failed)


def watch(
    sagemaker: Any,
    execution_arn: str,
    *,
    total_steps: int,
    report: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    interval: float = 10.0,
    timeout: float | None = None,
    outage_limit: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExecutionState:
    """Poll the execution until it finishes, reporting progress whenever it changes.

    The outage-tolerant loop is `watch.poll_until` (shared with a dynamic pipeline's jobs).
    """
    return poll_until(
        lambda: describe(sagemaker, execution_arn),
        target=execution_arn,
        finished=lambda state: state.finished,
        line=lambda state: f"{state.status}: {progress(state, total_steps)}",
        report=report,
        warn=warn,
        interval=interval,
        timeout=timeout,
        outage_limit=outage_limit,
        sleep=sleep,
        clock=clock,
        still_running=lambda state: (
            f"SageMaker execution {execution_arn} still {state.status} after {timeout or 0:.0f} s; "
            "it keeps running: watch it in the console or stop it with `zenml pipeline runs stop`"
        ),
    )


def execution_id(execution_arn: str) -> str:
    """`arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>` -> `<id>`."""
    return aws.parse_arn(execution_arn).resource_parts[-1]


def pipeline_name_of(execution_arn: str) -> str:
    """`arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>` -> `<name>`."""
    parts = aws.parse_arn(execution_arn).resource_parts
    return parts[1] if len(parts) > 1 else parts[0]


def display_name(run_name: str) -> str:
    """A PipelineExecutionDisplayName (letters, digits, single '-', at most 82) from a run name."""
    cleaned = _DISPLAY_NAME_BAD.sub("-", run_name).strip("-") or "run"
    return cleaned[:82].rstrip("-")


def console_url(region: str, pipeline_name: str, execution_arn: str) -> str:
    """The execution's page in the SageMaker console (Studio opens it from there)."""
    return (
        f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
        f"#/pipelines/{pipeline_name}/executions/{quote(execution_id(execution_arn), safe='')}"
    )


def job_name_prefix(execution_arn: str, sagemaker_step_name: str) -> str:
    """The start of the job names SageMaker gives this step's jobs: pipelines-<execution>-<step>."""
    safe = re.sub(r"[^A-Za-z0-9]+", "-", sagemaker_step_name).strip("-") or "step"
    # Job names are cut to fit 63 characters with a random suffix; 40 characters always survive.
    return f"pipelines-{execution_id(execution_arn)}-{safe}"[:40]


def logs_url(region: str, log_group: str, stream_prefix: str) -> str:
    """CloudWatch Logs console link to the streams of `log_group` starting with `stream_prefix`."""

    def encode(text: str) -> str:
        # The console's fragment uses '$' instead of '%' for its own encoding.
        return quote(quote(text, safe=""), safe="").replace("%", "$")

    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{encode(log_group)}/log-events$3FlogStreamNameFilter$3D"
        f"{encode(stream_prefix)}"
    )


def step_log_urls(
    region: str, execution_arn: str, sagemaker_step_names: Iterable[str], use_training: Mapping[str, bool]
) -> dict[str, str]:
    """One CloudWatch link per SageMaker step, known before any job starts."""
    return {
        name: logs_url(
            region,
            TRAINING_LOG_GROUP if use_training.get(name) else PROCESSING_LOG_GROUP,
            job_name_prefix(execution_arn, name),
        )
        for name in sagemaker_step_names
    }


def _job_of(metadata: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for key, kind in (("ProcessingJob", "Processing"), ("TrainingJob", "Training")):
        arn = (metadata.get(key) or {}).get("Arn")
        if arn:
            return kind, aws.parse_arn(str(arn)).resource_parts[-1]
    return None, None
