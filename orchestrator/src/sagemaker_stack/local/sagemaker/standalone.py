"""Standalone processing and training jobs that really run, as SageMaker runs them.

moto records a CreateProcessingJob or CreateTrainingJob and reports it Completed at once, with
nothing run; it has no StopTrainingJob, and its List* page before they filter. Here a job sent
outside any pipeline execution runs through the same path as a pipeline step's job
(job_execution: the image from the emulated ECR, the inputs copied from S3 into the job's private
/opt/ml, its output in CloudWatch Logs under SageMaker's group and stream names, its outputs
uploaded to S3):
- Create* refuses what SageMaker refuses when the job is created (a name in use: ResourceInUse;
  an image outside ECR or another region's, a data setting it cannot copy: ValidationException)
  and otherwise answers at once with the job InProgress; the job runs in the background and
  ends Completed, Failed with SageMaker's FailureReason, or Stopped;
- the job waits its modeled start-up first (startup; none by default), InProgress; a training
  job's SecondaryStatus moves Starting -> Downloading -> Training -> its end, with
  SecondaryStatusTransitions, and its start time is when its start-up ended;
- Stop* moves a running job to Stopping, ends its process, and it ends Stopped;
- List* filter, sort (SortBy / SortOrder) and then page (paging);
- the job records are moto's, so the emulator's snapshot saves them; a job the emulator's end
  cut off ends Failed with the reason (`interrupt_all` at a stop, `restore_jobs` after a kill),
  so nothing is ever reported Completed that did not run.
The running jobs live on the backend (`StandaloneJobs.job_runs`), left out of its pickle.
"""

from __future__ import annotations

import copy
import os
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from sagemaker_stack.local.images.container import kill_group, terminate
from sagemaker_stack.local.sagemaker.execution_record import interruption_reason
from sagemaker_stack.local.sagemaker.job_execution import JOB_KINDS, execute, setup, start_up
from sagemaker_stack.local.sagemaker.job_recorder import MotoJobRecorder, transition
from sagemaker_stack.local.sagemaker.jobs.channels import ChannelError, job_data
from sagemaker_stack.local.sagemaker.jobs.runner import JobKind, JobPlace, JobSetupError
from sagemaker_stack.local.sagemaker.paging import page, present
from sagemaker_stack.local.sagemaker.startup import StartupModel
from sagemaker_stack.local.sagemaker.step_image import ImagePullError

#: Where standalone jobs' folders go, under the work root the server gives (its executions/).
JOBS_FOLDER = "jobs"
#: SageMaker's List*Jobs page size when MaxResults is not given.
DEFAULT_PAGE = 10
_RUNNING = ("InProgress", "Stopping")


@dataclass(frozen=True)
class JobSettings:
    """What a job needs from the server: how steps reach it, where jobs work, the image store,
    the modeled start-up every job waits (startup)."""

    endpoint_url: str
    work_root: Path
    image_store: Path
    startup: StartupModel = field(default_factory=StartupModel)


class JobRun:
    """One standalone job running in the background: its thread, its process, its stop."""

    def __init__(
        self, backend: Any, kind: JobKind, job_name: str, arguments: dict[str, Any], settings: JobSettings
    ):
        self.kind = kind
        self.job_name = job_name
        self._backend = backend
        self._arguments = arguments
        self._settings = settings
        self._recorder = MotoJobRecorder(backend, settings.image_store)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._interrupted: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._body, name=f"job-{job_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop*: the job goes Stopping, its process is ended, and it ends Stopped."""
        self._stop.set()
        process = self._process
        if process is not None:
            terminate(process)

    def interrupt(self, cause: str) -> None:
        """The emulator stops: the job ends Failed by `cause`."""
        self._interrupted = cause
        self.stop()

    def kill(self, timeout: float = 10.0) -> None:
        self.stop()
        self._done.wait(timeout)
        process = self._process
        if process is not None:
            kill_group(process, 9)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def _body(self) -> None:
        try:
            status, reason = self._run()
        except Exception as error:  # a bug here must not leave the job InProgress for ever
            status, reason = "Failed", f"InternalError: the emulator could not run the job: {error}"
        if status == "Stopped" and self._interrupted:
            status, reason = "Failed", interruption_reason(self._interrupted, "job")
        self._recorder.job_ended(self.kind, self.job_name, status, reason)
        self._done.set()

    def _run(self) -> tuple[str, str | None]:
        kind, name, region = self.kind, self.job_name, self._backend.region_name
        if not start_up(kind, name, self._arguments, self._recorder, self._settings.startup, self._stop):
            return "Stopped", None
        place = JobPlace(self._settings.work_root / JOBS_FOLDER / f"{name}-{os.urandom(4).hex()}")
        try:
            prepared = setup(kind, name, self._arguments, self._recorder, place, region=region)
        except (ImagePullError, JobSetupError) as error:
            return "Failed", error.reason
        if self._stop.is_set():
            return "Stopped", None
        self._recorder.job_phase(
            kind, name, "Training", "Training image download completed. Training in progress."
        )

        def track(process: subprocess.Popen[bytes] | None) -> None:
            self._process = process
            if process is not None and self._stop.is_set():
                terminate(process)

        result = execute(
            kind,
            name,
            self._arguments,
            prepared,
            place,
            self._recorder,
            region=region,
            endpoint_url=self._settings.endpoint_url,
            stop=self._stop,
            track=track,
        )
        status = {"Succeeded": "Completed"}.get(result.status, result.status)
        return status, None if status == "Stopped" else result.failure_reason


class StandaloneJobs(SageMakerModelBackend):
    """The standalone-job part of the emulator's SageMaker backend (see the module's docstring).

    moto's own `create_processing_job` / `create_training_job` stay what they are, a record of a
    job (the job recorder uses them for pipeline steps too); the API's Create* call `run_job`.
    """

    #: The server's endpoint and folders, the same for every account and region (set at start).
    settings: JobSettings

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        #: The standalone jobs running in this process, by ARN (threads and processes: never pickled).
        self.job_runs: dict[str, JobRun] = {}
        self.job_runs_lock = threading.Lock()

    def run_job(self, step_type: str, request: dict[str, Any]) -> str:
        """CreateProcessingJob / CreateTrainingJob: refuse it as SageMaker would, or start it; its ARN."""
        kind = JOB_KINDS[step_type]
        name = str(request.get(f"{kind.job_type}Name") or "")
        arguments = copy.deepcopy(request)
        jobs = _jobs_of(self, kind)
        if name in jobs:
            what = "Job" if step_type == "Processing" else "Training job"
            raise ResourceInUseException(
                f"{what} names must be unique within an AWS account and region, and a job with this "
                f"name already exists ({jobs[name].arn})"
            )
        try:
            job_data(step_type, name, arguments)
        except ChannelError as error:
            raise ValidationError(_client_message(str(error))) from None
        recorder = MotoJobRecorder(self, self.settings.image_store)
        try:
            recorder.pull_image(kind, arguments)
        except ImagePullError as error:
            if not error.job_created:
                raise ValidationError(_client_message(error.reason)) from None
        arn = recorder.job_started(kind, name, arguments)
        if name not in jobs:
            raise ValidationError(f"{kind.job_type} {name}: the request cannot be recorded")
        run = JobRun(self, kind, name, arguments, self.settings)
        with self.job_runs_lock:
            self.job_runs[arn] = run
        run.start()
        return arn

    def stop_processing_job(self, processing_job_name: str) -> None:
        self.stop_job("Processing", processing_job_name)

    def stop_training_job(self, training_job_name: str) -> None:
        self.stop_job("Training", training_job_name)

    def stop_job(self, step_type: str, name: str) -> None:
        """StopProcessingJob / StopTrainingJob: a running job goes Stopping, then Stopped."""
        kind = JOB_KINDS[step_type]
        what = kind.job_type[: -len("Job")].lower()
        job = _jobs_of(self, kind).get(name)
        if job is None:
            raise ValidationError(f"Could not find {what} job '{_arn(self, kind, name)}'.")
        status = _status(job, kind)
        if status not in _RUNNING:
            raise ValidationError(f"The request was rejected because the {what} job is in status {status}.")
        run = self.job_runs.get(job.arn)
        if run is None:
            raise ValidationError(
                f"{kind.job_type} {name} runs a step of a pipeline execution: stop it with "
                "StopPipelineExecution"
            )
        if status == "InProgress":
            if kind.step_type == "Processing":
                job.processing_job_status = "Stopping"
            else:
                job.training_job_status = "Stopping"
                transition(job, "Stopping", "Stopping the training job")
            job.last_modified_time = datetime.now(UTC)
        run.stop()

    def list_jobs(self, step_type: str, params: dict[str, Any]) -> dict[str, Any]:
        """ListProcessingJobs / ListTrainingJobs: filtered, sorted, then paged."""
        return _listed(self, JOB_KINDS[step_type], params)

    def running_jobs(self) -> list[JobRun]:
        with self.job_runs_lock:
            return [run for run in self.job_runs.values() if run.running]

    def forget_jobs(self) -> list[JobRun]:
        with self.job_runs_lock:
            runs = list(self.job_runs.values())
            self.job_runs.clear()
        return runs


def _backends() -> list[StandaloneJobs]:
    from moto.sagemaker.models import sagemaker_backends

    return [
        backend for _, _, backend in sagemaker_backends.iter_backends() if isinstance(backend, StandaloneJobs)
    ]


def stop_all(timeout: float = 15.0) -> None:
    """Stop every running job and forget them (moto's reset)."""
    runs = [run for backend in _backends() for run in backend.forget_jobs()]
    for run in runs:
        run.kill(timeout)


def interrupt_all(cause: str, timeout: float = 15.0) -> None:
    """The emulator stops: every running job ends Failed by `cause`."""
    runs = [run for backend in _backends() for run in backend.running_jobs()]
    for run in runs:
        run.interrupt(cause)
    for run in runs:
        run.kill(timeout)


def _jobs_of(backend: Any, kind: JobKind) -> dict[str, Any]:
    jobs: dict[str, Any] = (
        backend.processing_jobs if kind.step_type == "Processing" else backend.training_jobs
    )
    return jobs


def _client_message(reason: str) -> str:
    """A job FailureReason as the message of the ValidationException that refuses the request."""
    return reason.removeprefix("ClientError: ")


def _listed(backend: Any, kind: JobKind, params: dict[str, Any]) -> dict[str, Any]:
    prefix = kind.job_type

    def stamp(name: str) -> datetime | None:
        value = params.get(name)
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromtimestamp(float(value), UTC)

    created_after, created_before = stamp("CreationTimeAfter"), stamp("CreationTimeBefore")
    modified_after, modified_before = stamp("LastModifiedTimeAfter"), stamp("LastModifiedTimeBefore")
    contains, status = params.get("NameContains"), params.get("StatusEquals")
    jobs = [
        job
        for job in list(_jobs_of(backend, kind).values())
        if (contains is None or contains.lower() in _name(job, kind).lower())
        and (status is None or _status(job, kind) == status)
        and (created_after is None or job.creation_time > created_after)
        and (created_before is None or job.creation_time < created_before)
        and (modified_after is None or job.last_modified_time > modified_after)
        and (modified_before is None or job.last_modified_time < modified_before)
    ]
    sort_by = params.get("SortBy") or "CreationTime"
    keys = {"Name": lambda job: _name(job, kind), "Status": lambda job: _status(job, kind)}
    # SageMaker lists the newest first unless told otherwise (its documentation of StatusEquals).
    jobs.sort(
        key=keys.get(sort_by, lambda job: job.creation_time), reverse=params.get("SortOrder") != "Ascending"
    )
    listed, following = page(jobs, params.get("NextToken"), params.get("MaxResults"), DEFAULT_PAGE)
    summaries = []
    for job in listed:
        end = job.processing_end_time if kind.step_type == "Processing" else job.training_end_time
        summary = present(
            {
                f"{prefix}Name": _name(job, kind),
                f"{prefix}Arn": job.arn,
                "CreationTime": job.creation_time,
                f"{prefix}Status": _status(job, kind),
            },
            {
                "LastModifiedTime": job.last_modified_time,
                f"{'Processing' if kind.step_type == 'Processing' else 'Training'}EndTime": end,
                "FailureReason": getattr(job, "failure_reason", None)
                if kind.step_type == "Processing"
                else None,
                "SecondaryStatus": getattr(job, "secondary_status", None)
                if kind.step_type == "Training"
                else None,
            },
        )
        summaries.append(summary)
    result: dict[str, Any] = {f"{prefix}Summaries": summaries}
    if following:
        result["NextToken"] = following
    return result


def restore_jobs(cause: str) -> int:
    """After a restore: end Failed by `cause` every job still InProgress or Stopping; how many."""
    from moto.sagemaker.models import sagemaker_backends

    recorder_kinds = list(JOB_KINDS.values())
    ended = 0
    for _, _, backend in sagemaker_backends.iter_backends():
        recorder = MotoJobRecorder(backend, Path())
        for kind in recorder_kinds:
            for name, job in list(_jobs_of(backend, kind).items()):
                if _status(job, kind) in _RUNNING:
                    recorder.job_ended(kind, name, "Failed", interruption_reason(cause, "job"))
                    ended += 1
    return ended


def _name(job: Any, kind: JobKind) -> str:
    return str(job.processing_job_name if kind.step_type == "Processing" else job.training_job_name)


def _status(job: Any, kind: JobKind) -> str:
    return str(job.processing_job_status if kind.step_type == "Processing" else job.training_job_status)


def _arn(backend: Any, kind: JobKind, name: str) -> str:
    resource = "processing-job" if kind.step_type == "Processing" else "training-job"
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{resource}/{name}"
