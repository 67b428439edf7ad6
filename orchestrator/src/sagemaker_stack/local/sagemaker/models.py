"""The emulator's SageMaker backend: moto's, subclassed, as moto lays out a service (`models`).

`SageMakerBackend` is moto's `SageMakerModelBackend` with the emulator's parts mixed in, each a
subclass of moto's backend in its own module: pipeline versions (pipeline_versions), pipelines
whose executions really run (pipelines) and standalone jobs that really run (standalone). The
order is the order the calls nest: versions take the pipelines lock around the checks.

local.moto_registry makes moto's `sagemaker_backends` hand out this subclass. `urls` and
`responses` beside this module are what moto's server dispatches SageMaker requests to (moto finds
`urls` next to a backend's module).

What lives on a backend and is not saved with it: the running executions and jobs (threads and
processes, which cannot be pickled; the snapshot saves what executions report through
persistence, and the job records are moto's, saved as they are) and the server's settings (the
endpoint and folders of the server that runs now, given again at each start).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from sagemaker_stack.local.sagemaker import pipelines, standalone
from sagemaker_stack.local.sagemaker.pipeline_versions import PipelineVersions
from sagemaker_stack.local.sagemaker.pipelines import Pipelines
from sagemaker_stack.local.sagemaker.standalone import JobSettings, StandaloneJobs
from sagemaker_stack.local.services.moto_api import before_reset

__all__ = ["JobSettings", "SageMakerBackend", "configure", "interrupt_all"]

#: Attributes of a live backend that its pickle leaves out (see the module's docstring).
_LIVE = ("execution_runs", "execution_runs_lock", "job_runs", "job_runs_lock")


class SageMakerBackend(PipelineVersions, Pipelines, StandaloneJobs):
    """moto's SageMaker backend with pipelines, executions and jobs that behave as on AWS."""

    settings: ClassVar[JobSettings]  # type: ignore[misc]

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in _LIVE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.execution_runs = {}
        self.execution_runs_lock = threading.Lock()
        self.job_runs = {}
        self.job_runs_lock = threading.Lock()


def configure(settings: JobSettings) -> None:
    """The server's endpoint and folders, for every account's and region's backend; moto's reset
    (`POST /moto-api/reset`) stops what runs first (before moto takes its lock on the backends,
    which the running jobs' copies to S3 need)."""
    SageMakerBackend.settings = settings
    before_reset(_stop_all)


def _stop_all() -> None:
    pipelines.stop_all()
    standalone.stop_all()


def interrupt_all(cause: str) -> None:
    """The emulator stops: running executions, their steps and standalone jobs end Failed by `cause`."""
    standalone.interrupt_all(cause)
    pipelines.interrupt_all(cause)
