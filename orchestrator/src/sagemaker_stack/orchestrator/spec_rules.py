"""Rules between a step's settings that botocore's model cannot express, checked on its request.

Each rule is checked on the request the step will send (`job_request`), so it holds whichever
setting put a member there (`max_wait_time_in_seconds` or `estimator_args.max_wait`, say), and
its message names that setting.

Settings of the other job kind are ignored, not refused: ZenML merges pipeline-level settings
into every step, so a pipeline with both kinds of steps and a pipeline-wide
`keep_alive_period_in_seconds`, `use_spot_instances` or `estimator_args` must stay valid
(ZenML's built-in flavor ignores them the same way).
"""

from __future__ import annotations

from sagemaker_stack.defaults import DEFAULT_OUTPUT_DATA_S3_MODE
from sagemaker_stack.orchestrator.job_request import JOB_ARGUMENTS, JobRequest
from sagemaker_stack.orchestrator.spec import StepSpec

_RUNTIME = ("StoppingCondition", "MaxRuntimeInSeconds")
_WAIT = ("StoppingCondition", "MaxWaitTimeInSeconds")
_SPOT = ("EnableManagedSpotTraining",)


def settings_problems(step: StepSpec, request: JobRequest) -> list[str]:
    """Every rule `step` breaks, one sentence each (without the step's name)."""
    problems = [
        f"{JOB_ARGUMENTS} member {'.'.join(path)} is also set by {owner}: set it in one place only "
        f"(remove it from {JOB_ARGUMENTS}, or the other setting)"
        for path, owner in request.conflicts
    ]
    settings = step.settings
    if settings.use_training_step:
        output = settings.output_data_s3_uri
        if isinstance(output, dict) or (output is not None and not isinstance(output, str)):
            problems.append(
                "output_data_s3_uri is a dict of channels, which only processing steps have: a training "
                "step writes one output path (a single URI), or set use_training_step=False"
            )
        elif output is not None and settings.output_data_s3_mode != DEFAULT_OUTPUT_DATA_S3_MODE:
            problems.append(
                f"output_data_s3_mode = {settings.output_data_s3_mode!r}: a training step uploads its "
                f"output at the end of the job only ('{DEFAULT_OUTPUT_DATA_S3_MODE}'), or set "
                "use_training_step=False"
            )
        problems.extend(_spot_problems(request))
    return problems


def _spot_problems(request: JobRequest) -> list[str]:
    wait = request.get(_WAIT)
    if wait is None:
        return []
    spot = request.get(_SPOT) is True
    if not spot:
        return [
            f"{request.source_of(_WAIT)} = {wait!r} applies to managed spot training only: set "
            "use_spot_instances=True, or remove it"
        ]
    runtime = request.get(_RUNTIME)
    if isinstance(wait, int) and isinstance(runtime, int) and wait < runtime:
        return [
            f"{request.source_of(_WAIT)} = {wait} is less than {request.source_of(_RUNTIME)} = {runtime}: "
            "a spot training job's wait time includes its run time, so SageMaker requires "
            "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds"
        ]
    return []
