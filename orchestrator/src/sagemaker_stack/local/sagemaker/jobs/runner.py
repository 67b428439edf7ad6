"""One attempt of one SageMaker job: its data in, its container, its data out.

`prepare` does what SageMaker does before a container starts: it reads the data the request
moves (channels), makes the job's folders (a working folder, and the folder that is the
job's private /opt/ml, see isolation) and copies the inputs in (data). `run` starts the
container in the job's image with that /opt/ml, uploads Continuous outputs while it runs and
the rest when it ends, and turns the outcome into SageMaker's status and FailureReason.

Where this machine cannot give a job its own /opt/ml, a job whose definition copies data
through container paths is refused with the reason (its code would not find its inputs, and
its outputs would land in the host's /opt/ml); any other job runs without one, and its log's
first line says so.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_stack.local.images.container import (
    CommandError,
    LogSink,
    ProcessOutcome,
    container_command,
    container_environment,
    prepare_work_dir,
    run_container,
)
from sagemaker_stack.local.images.store import Image
from sagemaker_stack.local.sagemaker.jobs import isolation
from sagemaker_stack.local.sagemaker.jobs.channels import ChannelError, JobData, job_data
from sagemaker_stack.local.sagemaker.jobs.data import DataError, Uploader, failure_message, stage_in
from sagemaker_stack.local.sagemaker.pipeline_definition import as_environment_value
from sagemaker_stack.local.services.s3_objects import ObjectStore

#: The failure class a non-zero exit is given, so that SageMakerJobStepRetryPolicy can retry it.
#: (On AWS only the service knows an internal error from an algorithm error; locally every
#: failed attempt is one the step's retry policy may retry.)
JOB_FAILURE_EXCEPTION_TYPE = "SageMaker.JOB_INTERNAL_ERROR"


@dataclass(frozen=True)
class JobKind:
    """What SageMaker calls the job a step type runs, and where that job's logs go."""

    step_type: str
    job_type: str  # "ProcessingJob" / "TrainingJob": the key in step Metadata
    log_group: str
    specification_key: str  # where ContainerEntrypoint lives in the step's Arguments
    image_key: str  # the image's name in that specification


@dataclass(frozen=True)
class AttemptResult:
    status: str  # Succeeded / Failed / Stopped
    failure_reason: str | None = None
    exception_type: str | None = None  # the retry class of a failure, None if not retryable


@dataclass(frozen=True)
class JobSetupError(Exception):
    """The job cannot start; like step_image.ImagePullError, says whether a job record exists."""

    reason: str
    job_created: bool


@dataclass(frozen=True)
class JobPlace:
    """A job's folders on this machine: `work` is its working folder and HOME, `ml` its /opt/ml."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def ml(self) -> Path:
        return self.root / "opt-ml"

    @property
    def layer(self) -> Path:
        return self.root / "mounts"  # an empty mount point for the namespace's own /opt layer


def prepare(
    kind: JobKind,
    job_name: str,
    arguments: dict[str, Any],
    image: Image,
    place: JobPlace,
    store: ObjectStore,
    *,
    region: str,
) -> JobData:
    """The job's folders and inputs, ready for its container; JobSetupError if it cannot start."""
    try:
        data = job_data(kind.step_type, job_name, arguments)
    except ChannelError as error:  # SageMaker refuses such a request at Create*Job
        raise JobSetupError(str(error), job_created=False) from None
    found = isolation.available()
    if data.copies_data and not found.available:
        raise JobSetupError(
            f"ClientError: the emulator cannot give this job its own {isolation.CONTAINER_ROOT} on this "
            f"machine ({found.reason}), and its definition copies data there ({data.first_copy()}); run "
            "the emulator on Linux as root, or where unprivileged user namespaces are allowed",
            job_created=False,
        )
    prepare_work_dir(image, place.work)
    for folder in (place.ml, place.layer):
        folder.mkdir()
    try:
        stage_in(data, store, place.ml, role=str(arguments.get("RoleArn") or ""), region=region)
    except DataError as error:
        # A training job's empty input prefix is a ValidationException of CreateTrainingJob; a
        # processing job exists and fails while it downloads its inputs.
        raise JobSetupError(error.reason, job_created=kind.step_type == "Processing") from None
    return data


def run(
    kind: JobKind,
    job_name: str,
    arguments: dict[str, Any],
    image: Image,
    data: JobData,
    place: JobPlace,
    *,
    store: ObjectStore,
    region: str,
    endpoint_url: str,
    open_sink: Callable[[], LogSink],
    stop: threading.Event,
    track: Callable[[subprocess.Popen[bytes] | None], None],
) -> AttemptResult:
    """Run the prepared job's container to its end and upload its outputs."""
    specification = arguments.get(kind.specification_key) or {}
    try:
        command = container_command(kind.step_type, specification, image, place.work)
    except CommandError as error:
        return AttemptResult("Failed", f"ClientError: {error}")
    sink = open_sink()
    found = isolation.available()
    if found.available:
        command = found.command(command, ml_dir=place.ml, layer_dir=place.layer)
    else:
        data = dataclasses.replace(data, model_output=None)  # /opt/ml/model is not the job's own
        sink.write(
            f"emulator: this machine cannot give the job its own {isolation.CONTAINER_ROOT} "
            f"({found.reason}); it runs without one"
            + (", and /opt/ml/model is not uploaded as model.tar.gz" if kind.step_type == "Training" else "")
        )
    step_environment = {
        str(name): as_environment_value(value) for name, value in (arguments.get("Environment") or {}).items()
    }
    if kind.step_type == "Training":
        step_environment["TRAINING_JOB_NAME"] = job_name
    environment = container_environment(
        step_environment, image=image, region=region, endpoint_url=endpoint_url, home=place.work
    )
    uploader = Uploader(data, store, place.ml)
    uploader.start()
    max_runtime = (arguments.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    try:
        outcome = run_container(
            command,
            work_dir=place.work,
            environment=environment,
            sink=sink,
            max_runtime=float(max_runtime) if max_runtime else None,
            stop=stop,
            track=track,
        )
    except OSError as error:
        uploader.finish(succeeded=False)
        return AttemptResult("Failed", f"ClientError: cannot start {command[0]!r}: {error.strerror}")
    result = _result(kind, job_name, outcome, max_runtime, place)
    try:
        uploader.finish(succeeded=result.status == "Succeeded")
    except DataError as error:
        if result.status == "Succeeded":
            return AttemptResult("Failed", error.reason)
    return result


def _result(
    kind: JobKind, job_name: str, outcome: ProcessOutcome, max_runtime: Any, place: JobPlace
) -> AttemptResult:
    """SageMaker's status for the container's outcome; a training job's own failure message wins."""
    where = f"see log group {kind.log_group}, stream prefix {job_name}/"
    if outcome.stopped:
        return AttemptResult("Stopped", "Stopped by StopPipelineExecution")
    if outcome.timed_out:
        return AttemptResult(
            "Failed",
            f"MaxRuntimeExceeded: the job ran longer than StoppingCondition.MaxRuntimeInSeconds "
            f"({max_runtime} s) and was stopped; {where}",
        )
    if outcome.returncode != 0:
        written = failure_message(place.ml) if kind.step_type == "Training" else None
        reason = written or f"the job's command exited with code {outcome.returncode}; {where}"
        return AttemptResult("Failed", f"AlgorithmError: {reason}", JOB_FAILURE_EXCEPTION_TYPE)
    return AttemptResult("Succeeded")
