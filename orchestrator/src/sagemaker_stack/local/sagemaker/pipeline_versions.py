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

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError

from sagemaker_stack.local.sagemaker.moto_fixes import pipeline_named
from sagemaker_stack.local.sagemaker.paging import page, present

#: Held while a pipeline is created, updated or deleted (re-entrant: the wrappers nest).
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


def install(backend: Any, response: Any) -> None:
    """Wrap moto's SageMaker backend and response classes (called once by pipelines)."""
    backend.create_pipeline = _wrap_create(backend.create_pipeline)
    backend.update_pipeline = _wrap_locked(backend.update_pipeline)
    backend.delete_pipeline = _wrap_locked(backend.delete_pipeline)
    backend.list_pipeline_versions = _list_versions
    response.update_pipeline = _update_response
    response.describe_pipeline = _describe_response
    response.list_pipeline_versions = _list_versions_response


def _wrap_create(original: Any) -> Any:
    def create_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("pipeline_name", args[0] if args else None)
        with PIPELINES_LOCK:
            if name in self.pipelines:
                raise ValidationError(
                    "Pipeline names must be unique within an AWS account and region. "
                    f"Pipeline with name ({name}) already exists."
                )
            pipeline = original(self, *args, **kwargs)
            setattr(pipeline, _ATTRIBUTE, [])
            _new_version(pipeline)
            return pipeline

    return create_pipeline


def _wrap_locked(original: Any) -> Any:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with PIPELINES_LOCK:
            return original(self, *args, **kwargs)

    return locked


def _update_response(self: Any) -> ActionResult:
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
        version = _new_version(pipeline_named(backend.pipelines, name))
    return ActionResult({"PipelineArn": arn, "PipelineVersionId": version.version_id})


def _describe_response(self: Any) -> ActionResult:
    name = self._get_param("PipelineName")
    backend = self.sagemaker_backend
    described: dict[str, Any] = backend.describe_pipeline(name)
    version_id = self._get_param("PipelineVersionId")
    if version_id is not None:
        version = version_of(pipeline_named(backend.pipelines, name), version_id)
        described["PipelineDefinition"] = version.definition
        present(
            described,
            {
                "PipelineVersionDisplayName": version.display_name,
                "PipelineVersionDescription": version.description,
            },
        )
    return ActionResult(described)


def _list_versions(
    self: Any,
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


def _timestamp(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _list_versions_response(self: Any) -> ActionResult:
    return ActionResult(
        self.sagemaker_backend.list_pipeline_versions(
            self._get_param("PipelineName"),
            _timestamp(self._get_param("CreatedAfter")),
            _timestamp(self._get_param("CreatedBefore")),
            self._get_param("SortOrder"),
            self._get_param("NextToken"),
            self._get_param("MaxResults"),
        )
    )
