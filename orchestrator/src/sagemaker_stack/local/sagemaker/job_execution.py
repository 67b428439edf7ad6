"""One job from its request to its outcome: the one path every job the emulator runs takes.

A pipeline step's attempt (engine) and a standalone CreateProcessingJob / CreateTrainingJob
(standalone) both run their job through these two calls, so a job behaves the same whoever
started it: `setup` pulls the image from the emulated ECR and prepares the job's folders and
inputs (jobs.runner.prepare); `execute` runs its container with its private /opt/ml, writes its
output to CloudWatch Logs, uploads its outputs and turns the outcome into SageMaker's status.
Between the two, `start_up` waits the job's modeled start-up (startup.StartupModel: AWS
provisioning its instances) after its record is made. What differs between the callers is only
when the job's record is made and who may stop it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sagemaker_stack.local.images.container import LogSink
from sagemaker_stack.local.images.store import Image
from sagemaker_stack.local.sagemaker.jobs.channels import JobData
from sagemaker_stack.local.sagemaker.jobs.runner import AttemptResult, JobKind, JobPlace, prepare, run
from sagemaker_stack.local.sagemaker.startup import StartupModel, instance_types
from sagemaker_stack.local.services.s3_objects import ObjectStore

JOB_KINDS: dict[str, JobKind] = {
    "Processing": JobKind(
        "Processing", "ProcessingJob", "/aws/sagemaker/ProcessingJobs", "AppSpecification", "ImageUri"
    ),
    "Training": JobKind(
        "Training", "TrainingJob", "/aws/sagemaker/TrainingJobs", "AlgorithmSpecification", "TrainingImage"
    ),
}


class JobRecorder(Protocol):
    """The API layer's view of jobs: records them so DescribeProcessingJob etc. work."""

    def job_started(self, kind: JobKind, job_name: str, arguments: dict[str, Any]) -> str:
        """Record a new job, InProgress with its instances starting, and return its ARN."""
        ...

    def job_launched(self, kind: JobKind, job_name: str) -> None:
        """The job's instances are up: its start time (what AWS bills from) is now."""
        ...

    def job_phase(self, kind: JobKind, job_name: str, status: str, message: str) -> None:
        """A training job's SecondaryStatus moves on."""
        ...

    def job_ended(self, kind: JobKind, job_name: str, status: str, failure_reason: str | None) -> None: ...

    def log_sink(self, kind: JobKind, job_name: str) -> LogSink: ...

    def pull_image(self, kind: JobKind, arguments: dict[str, Any]) -> Image:
        """The image the job names, from the emulated ECR; ImagePullError as SageMaker fails."""
        ...

    def object_store(self) -> ObjectStore:
        """The emulated S3 the job's data is copied from and to."""
        ...


@dataclass(frozen=True)
class PreparedJob:
    """A job whose image is pulled and whose inputs are in its /opt/ml."""

    image: Image
    data: JobData
    store: ObjectStore


def start_up(
    kind: JobKind,
    job_name: str,
    arguments: dict[str, Any],
    recorder: JobRecorder,
    model: StartupModel,
    stop: threading.Event,
) -> bool:
    """Wait the recorded job's modeled start-up, then record its instances up; False if `stop`
    was set first (a Stop during the start-up ends the job at once, with no start time)."""
    seconds = model.seconds(instance_types(kind.step_type, arguments))
    if (seconds > 0 and stop.wait(seconds)) or stop.is_set():
        return False
    recorder.job_launched(kind, job_name)
    return True


def setup(
    kind: JobKind,
    job_name: str,
    arguments: dict[str, Any],
    recorder: JobRecorder,
    place: JobPlace,
    *,
    region: str,
) -> PreparedJob:
    """Pull the image and prepare the job; ImagePullError or JobSetupError as SageMaker fails."""
    store = recorder.object_store()
    image = recorder.pull_image(kind, arguments)
    data = prepare(kind, job_name, arguments, image, place, store, region=region)
    return PreparedJob(image, data, store)


def execute(
    kind: JobKind,
    job_name: str,
    arguments: dict[str, Any],
    prepared: PreparedJob,
    place: JobPlace,
    recorder: JobRecorder,
    *,
    region: str,
    endpoint_url: str,
    stop: threading.Event,
    track: Callable[[subprocess.Popen[bytes] | None], None],
) -> AttemptResult:
    """Run the prepared job's container to its end, its output into the job's log stream."""
    return run(
        kind,
        job_name,
        arguments,
        prepared.image,
        prepared.data,
        place,
        store=prepared.store,
        region=region,
        endpoint_url=endpoint_url,
        open_sink=lambda: recorder.log_sink(kind, job_name),
        stop=stop,
        track=track,
    )
