"""moto's SageMaker answering as AWS does where it does not, so the product's code needs no emulator branch.

A SageMaker pipeline that does not exist is `ResourceNotFound` on AWS (DescribePipeline,
UpdatePipeline, StartPipelineExecution, ...); moto says `ValidationException`.
"""

from __future__ import annotations

from typing import Any

import moto.sagemaker.models as sagemaker_models
import moto.sagemaker.utils as sagemaker_utils
from moto.sagemaker.exceptions import ResourceNotFound


def pipeline_named(pipelines: dict[str, Any], pipeline_name: str) -> Any:
    """The pipeline called `pipeline_name`, or AWS's ResourceNotFound."""
    try:
        return pipelines[pipeline_name]
    except KeyError:
        raise ResourceNotFound(f"Pipeline '{pipeline_name}' does not exist.") from None


def install() -> None:
    """Patch moto in this process (the emulator's server); idempotent."""
    sagemaker_models.get_pipeline_from_name = pipeline_named
    sagemaker_utils.get_pipeline_from_name = pipeline_named
