"""The emulator's SageMaker wire format: moto's `SageMakerResponse`, subclassed.

moto's `sagemaker_backends` hands out the emulator's backend (local.moto_registry); this adds or completes the
operations moto lacks or answers short: ListPipelineExecutionSteps, StopPipelineExecution,
StartPipelineExecution and DescribePipeline with `PipelineVersionId`, UpdatePipeline's
`PipelineVersionId`, ListPipelineVersions, and the standalone jobs' Create/Stop/List (the
whole request reaches the backend: moto's own drops Environment, ProcessingResources, ...).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.responses import SageMakerResponse as MotoSageMakerResponse

from sagemaker_stack.local.sagemaker.pipeline_versions import PIPELINES_LOCK, timestamp


class SageMakerResponse(MotoSageMakerResponse):
    """moto's SageMaker responses, answered by the emulator's SageMaker backend."""

    @property
    def sagemaker_backend(self) -> Any:
        """moto's, which is the emulator's subclass (typed Any: it has the subclass's operations)."""
        return super().sagemaker_backend

    # -- pipelines ------------------------------------------------------------------------------
    def start_pipeline_execution(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.start_pipeline_execution(
                self._get_param("PipelineName"),
                self._get_param("PipelineExecutionDisplayName"),
                self._get_param("PipelineParameters"),
                self._get_param("PipelineExecutionDescription"),
                self._get_param("ParallelismConfiguration"),
                self._get_param("ClientRequestToken"),
                self._get_param("PipelineVersionId"),
            )
        )

    def list_pipeline_execution_steps(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.list_pipeline_execution_steps(
                self._get_param("PipelineExecutionArn"),
                self._get_param("NextToken"),
                self._get_param("MaxResults"),
                self._get_param("SortOrder"),
            )
        )

    def stop_pipeline_execution(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.stop_pipeline_execution(
                self._get_param("PipelineExecutionArn"), self._get_param("ClientRequestToken")
            )
        )

    # -- pipeline versions ----------------------------------------------------------------------
    def update_pipeline(self) -> ActionResult:
        name = self._get_param("PipelineName")
        backend = self.sagemaker_backend
        with PIPELINES_LOCK:
            arn = backend.update_pipeline(
                pipeline_name=name,
                pipeline_display_name=self._get_param("PipelineDisplayName"),
                pipeline_definition=self._get_param("PipelineDefinition"),
                pipeline_definition_s3_location=self._get_param("PipelineDefinitionS3Location"),
                pipeline_description=self._get_param("PipelineDescription"),
                role_arn=self._get_param("RoleArn"),
                parallelism_configuration=self._get_param("ParallelismConfiguration"),
            )
            version = backend.latest_version(name)
        return ActionResult({"PipelineArn": arn, "PipelineVersionId": version.version_id})

    def describe_pipeline(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.describe_pipeline_version(
                self._get_param("PipelineName"), self._get_param("PipelineVersionId")
            )
        )

    def list_pipeline_versions(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.list_pipeline_versions(
                self._get_param("PipelineName"),
                timestamp(self._get_param("CreatedAfter")),
                timestamp(self._get_param("CreatedBefore")),
                self._get_param("SortOrder"),
                self._get_param("NextToken"),
                self._get_param("MaxResults"),
            )
        )

    # -- standalone jobs ------------------------------------------------------------------------
    def create_processing_job(self) -> ActionResult:
        arn = self.sagemaker_backend.run_job("Processing", dict(self.params))
        return ActionResult({"ProcessingJobArn": arn})

    def create_training_job(self) -> ActionResult:
        arn = self.sagemaker_backend.run_job("Training", dict(self.params))
        return ActionResult({"TrainingJobArn": arn})

    def stop_processing_job(self) -> ActionResult:
        self.sagemaker_backend.stop_job("Processing", self._get_param("ProcessingJobName"))
        return EmptyResult()

    def stop_training_job(self) -> ActionResult:
        self.sagemaker_backend.stop_job("Training", self._get_param("TrainingJobName"))
        return EmptyResult()

    def list_processing_jobs(self) -> ActionResult:
        return ActionResult(self.sagemaker_backend.list_jobs("Processing", dict(self.params)))

    def list_training_jobs(self) -> ActionResult:
        return ActionResult(self.sagemaker_backend.list_jobs("Training", dict(self.params)))
