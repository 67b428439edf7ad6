"""CodeBuild's requests, as AWS reads them, for the backend in `models`.

moto's CodeBuildResponse with these replaced:
- StartBuild reads every override the API has: those the emulator honours go to the backend, and
  one it cannot honour (a set value of any other) makes the build fail in PROVISIONING, naming it;
- BatchGetBuilds also answers `buildsNotFound`;
- CreateProject takes a project with no source location where AWS does (NO_SOURCE, CODEPIPELINE).
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from moto.codebuild import responses as moto_responses
from moto.codebuild.exceptions import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from moto.core.responses import ActionResult
from moto.utilities.utils import get_partition

from sagemaker_stack.local.codebuild.models import CodeBuildBackend

#: StartBuild parameters with nothing to do locally (authentication, Git settings, compute size).
_IGNORED = {
    "projectName",
    "sourceVersion",
    "idempotencyToken",
    "insecureSslOverride",
    "reportBuildStatusOverride",
    "buildStatusConfigOverride",
    "gitCloneDepthOverride",
    "gitSubmodulesConfigOverride",
    "sourceAuthOverride",
    "certificateOverride",
    "registryCredentialOverride",
    "imagePullCredentialsTypeOverride",
    "encryptionKeyOverride",
    "cacheOverride",
    "hostKernelOverride",
    "fleetOverride",
}
_HONOURED = {
    "sourceTypeOverride",
    "sourceLocationOverride",
    "buildspecOverride",
    "environmentVariablesOverride",
    "imageOverride",
    "computeTypeOverride",
    "privilegedModeOverride",
    "environmentTypeOverride",
    "artifactsOverride",
    "timeoutInMinutesOverride",
    "queuedTimeoutInMinutesOverride",
    "logsConfigOverride",
    "serviceRoleOverride",
}

_SOURCE_TYPES = (
    botocore.session.get_session().get_service_model("codebuild").shape_for("SourceType").metadata["enum"]
)


class CodeBuildResponse(moto_responses.CodeBuildResponse):
    """moto's CodeBuild requests, reading what StartBuild, BatchGetBuilds and CreateProject say."""

    @property
    def codebuild_backend(self) -> CodeBuildBackend:
        backend = super().codebuild_backend
        assert isinstance(backend, CodeBuildBackend), "moto_registry.install puts it in moto's place"
        return backend

    def start_build(self) -> ActionResult:
        name = self._get_param("projectName")
        if name not in self.codebuild_backend.codebuild_projects:
            raise ResourceNotFoundException(
                f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:"
                f"{self.current_account}:project/{name}"
            )
        request = json.loads(self.body or "{}")
        overrides = {key: value for key, value in request.items() if key in _HONOURED}
        unhonoured = sorted(
            key for key, value in request.items() if key not in _HONOURED | _IGNORED and value
        )
        build = self.codebuild_backend.start_build(
            name, self._get_param("sourceVersion"), overrides=overrides, unhonoured=unhonoured
        )
        return ActionResult({"build": build})

    def batch_get_builds(self) -> ActionResult:
        ids = list(self._get_param("ids") or [])
        if any(":" not in build_id for build_id in ids):
            raise InvalidInputException("Invalid build ID provided")
        builds = self.codebuild_backend.batch_get_builds(ids)
        known = {value for build in builds for value in (build["id"], build["arn"])}
        return ActionResult(
            {"builds": builds, "buildsNotFound": [value for value in ids if value not in known]}
        )

    def create_project(self) -> ActionResult:
        """moto's CreateProject, with the source checked as AWS checks it (`_validate_source`)."""
        _validate_source(self._get_param("source"))
        service_role = self._get_param("serviceRole")
        moto_responses._validate_required_params_service_role(self.current_account, self.region, service_role)
        moto_responses._validate_required_params_artifacts(self._get_param("artifacts"))
        moto_responses._validate_required_params_environment(self._get_param("environment"))
        moto_responses._validate_required_params_project_name(self._get_param("name"))
        name = self._get_param("name")
        if name in self.codebuild_backend.codebuild_projects:
            raise ResourceAlreadyExistsException(
                f"Project already exists: arn:{get_partition(self.region)}:codebuild:{self.region}:"
                f"{self.current_account}:project/{name}"
            )
        project = self.codebuild_backend.create_project(
            project_name=name,
            description=self._get_param("description"),
            project_source=self._get_param("source"),
            artifacts=self._get_param("artifacts"),
            environment=self._get_param("environment"),
            service_role=service_role,
            tags=self._get_param("tags"),
            cache=self._get_param("cache"),
            timeout=self._get_param("timeoutInMinutes"),
            queued_timeout=self._get_param("queuedTimeoutInMinutes"),
            source_version=self._get_param("sourceVersion"),
            logs_config=self._get_param("logsConfig"),
            vpc_config=self._get_param("vpcConfig"),
        )
        return ActionResult({"project": project})


def _validate_source(source: dict[str, Any]) -> None:
    """CreateProject's check of `source`, as AWS makes it: NO_SOURCE and CODEPIPELINE need no location."""
    if source.get("type") not in _SOURCE_TYPES:
        raise InvalidInputException("Invalid type provided: Project source type")
    if source["type"] not in ("NO_SOURCE", "CODEPIPELINE") and not source.get("location"):
        raise InvalidInputException("Project source location is required")
