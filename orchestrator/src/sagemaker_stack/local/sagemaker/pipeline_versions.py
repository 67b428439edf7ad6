"""SageMaker pipeline versions on moto's pipelines, which keep only the latest definition.

SageMaker keeps every definition a pipeline had: CreatePipeline makes version 1, each
UpdatePipeline a new version (returned as `PipelineVersionId`), and a client can describe
(`DescribePipeline(PipelineVersionId=)`), list (`ListPipelineVersions`) and start
(`StartPipelineExecution(PipelineVersionId=)`) any of them; DescribePipelineExecution says which
version an execution runs. That pin is what lets two runs that update one pipeline at once each
execute the definition they wrote. AWS's documentation does not say whether an UpdatePipeline
that changes nothing makes a version: here every UpdatePipeline does (its answer always carries
a version id).

The versions live on moto's pipeline objects (`pipeline.pipeline_versions`), so the emulator's
snapshot saves and restores them with the pipeline; a pipeline from a snapshot written before
versions were kept gets its definition as version 1. Creating, updating and deleting pipelines
take one lock (`PIPELINES_LOCK`): moto's own check that a name is free and the next version id
must not be interleaved by the server's request threads. A second CreatePipeline of a name
answers as AWS does (ValidationException "... already exists", which AWS's SageMaker SDK's
`Pipeline.upsert` relies on); an unknown version is ResourceNotFound, the error botocore's model
lists for DescribePipeline and StartPipelineExecution.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from sagemaker_stack.local.sagemaker.moto_fixes import pipeline_named
from sagemaker_stack.local.sagemaker.paging import page, present

#: Held while a pipeline is created, updated or deleted (re-entrant: the calls nest).
PIPELINES_LOCK = threading.RLock()
_ATTRIBUTE = "pipeline_versions"
_DEFAULT_PAGE = 50


@dataclass
class PipelineVersion:
    """One definition a pipeline had, as ListPipelineVersions and DescribePipeline report it."""

    version_id: int
    definition: str
    creation_time: datetime
    display_name: str | None = None
    description: str | None = None
    last_execution_arn: str | None = None


def versions_of(pipeline: Any) -> list[PipelineVersion]:
    """The pipeline's versions, oldest first (a pipeline saved before versions existed: one)."""
    versions: list[PipelineVersion] | None = pipeline.__dict__.get(_ATTRIBUTE)
    if versions is None:
        versions = [PipelineVersion(1, str(pipeline.pipeline_definition), pipeline.last_modified_time)]
        setattr(pipeline, _ATTRIBUTE, versions)
    return versions


def version_of(pipeline: Any, version_id: int | None) -> PipelineVersion:
    """The version `version_id` of the pipeline (None: the latest), or ResourceNotFound."""
    versions = versions_of(pipeline)
    if version_id is None:
        return versions[-1]
    for version in versions:
        if version.version_id == int(version_id):
            return version
    raise ResourceNotFound(
        f"Pipeline version {version_id} of pipeline '{pipeline.pipeline_name}' does not exist."
    )


def _new_version(pipeline: Any) -> PipelineVersion:
    versions = pipeline.__dict__.get(_ATTRIBUTE) or []
    now = datetime.now(UTC)
    next_id = versions[-1].version_id + 1 if versions else 1
    version = PipelineVersion(next_id, str(pipeline.pipeline_definition), now)
    setattr(pipeline, _ATTRIBUTE, [*versions, version])
    pipeline.last_modified_time = now
    return version


class PipelineVersions(SageMakerModelBackend):
    """The pipeline-version part of the emulator's SageMaker backend (see the module's docstring)."""

    def create_pipeline(self, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("pipeline_name", args[0] if args else None)
        with PIPELINES_LOCK:
            if name in self.pipelines:
                raise ValidationError(
                    "Pipeline names must be unique within an AWS account and region. "
                    f"Pipeline with name ({name}) already exists."
                )
            pipeline = super().create_pipeline(*args, **kwargs)
            setattr(pipeline, _ATTRIBUTE, [])
            _new_version(pipeline)
            return pipeline

    def update_pipeline(self, pipeline_name: str, **kwargs: Any) -> str:
        """The pipeline's ARN; its new version is `latest_version` (hold PIPELINES_LOCK for both)."""
        with PIPELINES_LOCK:
            arn = super().update_pipeline(pipeline_name, **kwargs)
            _new_version(pipeline_named(self.pipelines, pipeline_name))
            return arn

    def latest_version(self, pipeline_name: str) -> PipelineVersion:
        return versions_of(pipeline_named(self.pipelines, pipeline_name))[-1]

    def delete_pipeline(self, pipeline_name: str) -> str:
        with PIPELINES_LOCK:
            return super().delete_pipeline(pipeline_name)

    def describe_pipeline_version(self, pipeline_name: str, version_id: Any) -> dict[str, Any]:
        """DescribePipeline, of the version `version_id` when it is not None."""
        described: dict[str, Any] = self.describe_pipeline(pipeline_name)
        if version_id is not None:
            version = version_of(pipeline_named(self.pipelines, pipeline_name), version_id)
            described["PipelineDefinition"] = version.definition
            present(
                described,
                {
                    "PipelineVersionDisplayName": version.display_name,
                    "PipelineVersionDescription": version.description,
                },
            )
        return described

    def list_pipeline_versions(
        self,
        pipeline_name: str,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        sort_order: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        pipeline = pipeline_named(self.pipelines, pipeline_name.rpartition("pipeline/")[2] or pipeline_name)
        versions = [
            version
            for version in versions_of(pipeline)
            if (created_after is None or version.creation_time > created_after)
            and (created_before is None or version.creation_time < created_before)
        ]
        if (sort_order or "Descending") == "Descending":
            versions.reverse()
        listed, following = page(versions, next_token, max_results, _DEFAULT_PAGE)
        summaries = [
            present(
                {
                    "PipelineArn": pipeline.arn,
                    "PipelineVersionId": version.version_id,
                    "CreationTime": version.creation_time,
                },
                {
                    "PipelineVersionDisplayName": version.display_name,
                    "PipelineVersionDescription": version.description,
                    "LastExecutionPipelineExecutionArn": version.last_execution_arn,
                },
            )
            for version in listed
        ]
        result: dict[str, Any] = {"PipelineVersionSummaries": summaries}
        if following:
            result["NextToken"] = following
        return result


def timestamp(value: Any) -> datetime | None:
    """A request's timestamp (epoch seconds, as boto3 sends it) as a datetime."""
    return None if value is None else datetime.fromtimestamp(float(value), UTC)
