"""Run one SageMaker pipeline execution: a DAG of steps, each step a local process.

The engine knows nothing about moto or HTTP: it gets a checked `PipelineSpec`, the execution's
values and a `JobRecorder` (which the API layer implements on moto's backends), and moves
statuses the way SageMaker does: the execution is Executing, then Succeeded, Failed or
Stopped; a step is Starting (its job's modeled start-up, see startup), Executing, then
Succeeded, Failed or Stopped; steps whose dependencies did
not succeed are never started (so they never appear in ListPipelineExecutionSteps).

A step runs in the environment of the image its definition names (`AppSpecification.ImageUri`,
`AlgorithmSpecification.TrainingImage`), found in the emulated ECR the way SageMaker pulls it;
an image ECR does not hold fails the step with SageMaker's reason (see step_image). Each attempt
is one job (see jobs.runner): its inputs are copied from the emulated S3 into its own /opt/ml, the
step process gets what SageMaker gives a container and nothing more (see images.container, jobs.isolation),
and its outputs are uploaded again.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import Any

from sagemaker_stack.local.images.container import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    kill_group,
    terminate,
)
from sagemaker_stack.local.sagemaker.execution_record import ExecutionRecord, StepState, interruption_reason
from sagemaker_stack.local.sagemaker.job_execution import (
    JOB_KINDS,
    JobRecorder,
    PreparedJob,
    execute,
    setup,
    start_up,
)
from sagemaker_stack.local.sagemaker.jobs.runner import AttemptResult, JobKind, JobPlace, JobSetupError
from sagemaker_stack.local.sagemaker.pipeline_definition import (
    RUNNABLE_STEP_TYPES,
    PipelineSpec,
    ResolutionError,
    StepSpec,
    property_path,
    resolve,
)
from sagemaker_stack.local.sagemaker.startup import StartupModel
from sagemaker_stack.local.sagemaker.step_image import ImagePullError

__all__ = [
    "DEFAULT_MAX_PARALLEL_STEPS",
    "JOB_KINDS",
    "TEST_ACCESS_KEY_ID",  # re-exported: callers pass the same keys to their own clients
    "TEST_SECRET_ACCESS_KEY",
    "ExecutionContext",
    "ExecutionRecord",
    "ExecutionRun",
    "JobKind",
    "JobRecorder",
    "StepState",
]

DEFAULT_MAX_PARALLEL_STEPS = 50
EXECUTION_FAILURE_REASON = "Step failure: One or multiple steps failed."


@dataclass(frozen=True)
class ExecutionContext:
    """The values of one execution the steps can see."""

    execution_arn: str
    pipeline_name: str
    pipeline_arn: str
    region: str
    endpoint_url: str
    work_root: Path
    parameters: dict[str, Any]
    max_parallel_steps: int = DEFAULT_MAX_PARALLEL_STEPS
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The start-up each step's job waits before its container runs (none by default).
    startup: StartupModel = field(default_factory=StartupModel)

    @property
    def execution_id(self) -> str:
        return self.execution_arn.rsplit("/", 1)[-1]


class ExecutionRun:
    """One running execution: a scheduler thread plus one thread per running step."""

    def __init__(
        self,
        spec: PipelineSpec,
        context: ExecutionContext,
        recorder: JobRecorder,
        on_change: Callable[[ExecutionRun], None] | None = None,
    ) -> None:
        self.spec = spec
        self.context = context
        self.recorder = recorder
        self.status = "Executing"
        self.failure_reason: str | None = None
        self.end_time: datetime | None = None
        self.steps: dict[str, StepState] = {}
        self._on_change = on_change
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._interrupted: str | None = None  # why the emulator cut the run off, see interrupt()
        self._thread = threading.Thread(target=self._schedule, name=f"execution-{context.execution_id}")
        self._thread.daemon = True

    # -- public -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """StopPipelineExecution: running steps are terminated, nothing new starts."""
        with self._lock:
            if self.status != "Executing":
                return
            self.status = "Stopping"
            for state in self.steps.values():
                if state.status in ("Starting", "Executing"):
                    state.status = "Stopping"
        self._notify()
        self._stop.set()
        for process in list(self._processes.values()):
            terminate(process)

    def interrupt(self, cause: str) -> None:
        """Cut the run off as the emulator stops: it and its running steps end Failed by `cause`."""
        self._interrupted = cause
        self.stop()

    def record(self) -> ExecutionRecord:
        """What the API reports now, as a copy (the snapshot saves it)."""
        with self._lock:
            return copy.deepcopy(ExecutionRecord(self.status, self.failure_reason, self.end_time, self.steps))

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def kill(self, timeout: float = 10.0) -> None:
        """Stop and wait: used when the emulator resets or shuts down."""
        self.stop()
        self.wait(timeout)
        for process in list(self._processes.values()):
            kill_group(process, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    # -- scheduling ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        finished: Queue[tuple[str, str]] = Queue()
        pending = list(self.spec.steps)
        running: set[str] = set()
        succeeded: set[str] = set()
        failed = False
        try:
            while True:
                if not self._stop.is_set() and not failed:
                    for name in list(pending):
                        if len(running) >= max(1, self.context.max_parallel_steps):
                            break
                        if all(dependency in succeeded for dependency in self.spec.steps[name].depends_on):
                            pending.remove(name)
                            running.add(name)
                            self._launch(self.spec.steps[name], finished)
                if not running:
                    break
                name, status = finished.get()
                running.discard(name)
                if status == "Succeeded":
                    succeeded.add(name)
                elif status == "Failed":
                    failed = True
        except Exception as error:  # a bug here must not leave the execution Executing for ever
            failed = True
            with self._lock:
                self.failure_reason = f"InternalError: the emulator's engine failed: {error}"
        with self._lock:
            if self._interrupted:
                self.status = "Failed"
                self.failure_reason = interruption_reason(self._interrupted, "execution")
            elif self._stop.is_set():
                self.status = "Stopped"
            elif failed:
                self.status = "Failed"
                self.failure_reason = self.failure_reason or EXECUTION_FAILURE_REASON
            else:
                self.status = "Succeeded"
            self.end_time = datetime.now(UTC)
        self._notify()
        self._done.set()

    def _launch(self, step: StepSpec, finished: Queue[tuple[str, str]]) -> None:
        state = StepState(name=step.name, display_name=step.display_name, description=step.description)
        with self._lock:
            self.steps[step.name] = state
        self._notify()

        def body() -> None:
            try:
                status = self._run_step(step, state)
            except Exception as error:
                status = "Failed"
                state.failure_reason = f"InternalError: the emulator could not run the step: {error}"
            if status == "Stopped" and self._interrupted:
                status, state.failure_reason = "Failed", interruption_reason(self._interrupted, "step")
            with self._lock:
                state.status = status
                state.end_time = datetime.now(UTC)
            self._notify()
            finished.put((step.name, status))

        threading.Thread(target=body, name=f"step-{step.name}", daemon=True).start()

    def _run_step(self, step: StepSpec, state: StepState) -> str:
        if step.type == "Fail":
            try:
                message = resolve((step.arguments or {}).get("ErrorMessage", ""), self._lookup)
            except ResolutionError as error:
                message = str(error)
            state.failure_reason = str(message) or "Fail step reached"
            return "Failed"
        kind = JOB_KINDS.get(step.type)
        if kind is None:
            supported = ", ".join(RUNNABLE_STEP_TYPES)
            state.failure_reason = (
                f"ClientError: step type {step.type!r} is not supported by the local emulator "
                f"(it runs {supported} and Fail steps)"
            )
            return "Failed"
        first_start = time.monotonic()
        retries = 0
        while True:
            state.attempt_count += 1
            with self._lock:
                if self._stop.is_set():
                    return "Stopped"
                state.status = "Starting"  # Executing once its job's instances are up (_attempt)
            self._notify()
            result = self._attempt(step, kind, state)
            state.failure_reason = result.failure_reason
            if result.status != "Failed":
                return result.status
            delay = _retry_delay(step.retry_policies, result.exception_type, retries, first_start)
            if delay is None or self._stop.wait(delay):
                return "Stopped" if self._stop.is_set() else "Failed"
            retries += 1

    # -- one attempt: one job, one process ------------------------------------------------------
    def _attempt(self, step: StepSpec, kind: JobKind, state: StepState) -> AttemptResult:
        job_name = _job_name(self.context.execution_id, step.name)
        try:
            arguments = resolve(step.arguments, self._lookup)
        except ResolutionError as error:
            return AttemptResult("Failed", f"ClientError: {error}")
        if not isinstance(arguments, dict):
            return AttemptResult("Failed", "ClientError: the step's Arguments must be an object")
        place = JobPlace(self.context.work_root / self.context.execution_id / job_name)
        try:
            prepared = setup(kind, job_name, arguments, self.recorder, place, region=self.context.region)
        except (ImagePullError, JobSetupError) as error:
            if error.job_created:
                state.job_type, state.job_name = kind.job_type, job_name
                state.job_arn = self.recorder.job_started(kind, job_name, arguments)
                self.recorder.job_ended(kind, job_name, "Failed", error.reason)
            return AttemptResult("Failed", error.reason)
        state.job_type, state.job_name = kind.job_type, job_name
        state.job_arn = self.recorder.job_started(kind, job_name, arguments)
        if start_up(kind, job_name, arguments, self.recorder, self.context.startup, self._stop):
            with self._lock:
                if state.status == "Starting":
                    state.status = "Executing"
            self._notify()
            self.recorder.job_phase(kind, job_name, "Training", "Training in progress")
            result = self._execute(kind, job_name, arguments, prepared, place)
        else:
            result = AttemptResult("Stopped", None)
        if result.status == "Stopped" and self._interrupted:
            result = AttemptResult("Failed", interruption_reason(self._interrupted, "job"))
        job_status = {"Succeeded": "Completed"}.get(result.status, result.status)
        self.recorder.job_ended(kind, job_name, job_status, result.failure_reason)
        if result.status == "Succeeded":
            state.properties = _job_properties(kind, job_name, state.job_arn, arguments)
        return result

    def _execute(
        self, kind: JobKind, job_name: str, arguments: dict[str, Any], prepared: PreparedJob, place: JobPlace
    ) -> AttemptResult:
        """Run the attempt's container, its process known to `stop`."""

        def track(process: subprocess.Popen[bytes] | None) -> None:
            with self._lock:
                if process is None:
                    self._processes.pop(job_name, None)
                else:
                    self._processes[job_name] = process

        return execute(
            kind,
            job_name,
            arguments,
            prepared,
            place,
            self.recorder,
            region=self.context.region,
            endpoint_url=self.context.endpoint_url,
            stop=self._stop,
            track=track,
        )

    # -- expressions ----------------------------------------------------------------------------
    def _lookup(self, path: str) -> Any:
        head, _, rest = path.partition(".")
        if head == "Parameters":
            if rest not in self.context.parameters:
                raise ResolutionError(f"parameter {rest!r} has no value (declare it with a DefaultValue)")
            return self.context.parameters[rest]
        if head == "Execution":
            values = {
                "PipelineExecutionArn": self.context.execution_arn,
                "PipelineExecutionId": self.context.execution_id,
                "PipelineName": self.context.pipeline_name,
                "PipelineArn": self.context.pipeline_arn,
                "StartDateTime": self.context.start_time.isoformat(),
                "CurrentDateTime": datetime.now(UTC).isoformat(),
            }
            if rest not in values:
                raise ResolutionError(f"unknown execution variable {path!r}")
            return values[rest]
        if head == "Steps":
            step_name, _, property_name = rest.partition(".")
            state = self.steps.get(step_name)
            if state is None or state.status != "Succeeded":
                raise ResolutionError(f"{path!r} reads step {step_name!r}, which has not succeeded")
            return property_path(state.properties, property_name)
        raise ResolutionError(f"unknown reference {path!r}")

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change(self)


def _retry_delay(
    policies: tuple[dict[str, Any], ...], exception_type: str | None, retries: int, first_start: float
) -> float | None:
    """Seconds to wait before the next attempt, or None if no policy retries this failure."""
    if exception_type is None:
        return None
    for policy in policies:
        if exception_type not in (policy.get("ExceptionType") or []):
            continue
        interval = float(policy.get("IntervalSeconds", 1)) * float(policy.get("BackoffRate", 2.0)) ** retries
        if "MaxAttempts" in policy and retries >= int(policy["MaxAttempts"]):
            return None
        expire = policy.get("ExpireAfterMin")
        if expire is not None and time.monotonic() + interval - first_start > float(expire) * 60:
            return None
        return interval
    return None


def _job_name(execution_id: str, step_name: str) -> str:
    """A job name as SageMaker Pipelines makes one: pipelines-<execution>-<step>-<random>."""
    safe = re.sub(r"[^A-Za-z0-9]+", "-", step_name).strip("-") or "step"
    suffix = os.urandom(5).hex()
    return f"pipelines-{execution_id}-{safe}"[: 63 - len(suffix) - 1] + f"-{suffix}"


def _job_properties(kind: JobKind, job_name: str, job_arn: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """What `Steps.<name>.<property>` reads: the job's Describe* response, as far as we know it."""
    properties = dict(arguments)
    properties[f"{kind.job_type}Name"] = job_name
    properties[f"{kind.job_type}Arn"] = job_arn
    properties[f"{kind.job_type}Status"] = "Completed"
    if kind.step_type == "Training":
        output = (arguments.get("OutputDataConfig") or {}).get("S3OutputPath", "")
        properties["ModelArtifacts"] = {
            "S3ModelArtifacts": f"{output.rstrip('/')}/{job_name}/output/model.tar.gz"
        }
    return properties
