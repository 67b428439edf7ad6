"""moto's SageMaker answering as AWS does where it does not, so the product's code needs no emulator branch.

A SageMaker pipeline that does not exist is `ResourceNotFound` on AWS (DescribePipeline,
UpdatePipeline, StartPipelineExecution, ...); moto says `ValidationException`. The backend's
operations (pipelines.Pipelines) look the pipeline up with `pipeline_named` before moto does.
"""

from __future__ import annotations

from typing import Any

from moto.sagemaker.exceptions import ResourceNotFound


def pipeline_named(pipelines: dict[str, Any], pipeline_name: str) -> Any:
    """The pipeline called `pipeline_name`, or AWS's ResourceNotFound."""
    try:
        return pipelines[pipeline_name]
    except KeyError:
        raise ResourceNotFound(f"Pipeline '{pipeline_name}' does not exist.") from None
