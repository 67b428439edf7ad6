"""`AWS::CodeBuild::Project` for moto's CloudFormation, which otherwise skips it silently.

Registered as every emulator resource type is (`cloudformation.resources`). The project is made in moto's
CodeBuild backend from the template's properties (what CDK's `aws_codebuild.Project`
synthesizes: Name, Source, Environment, ServiceRole, Artifacts, LogsConfig, TimeoutInMinutes,
...), so StartBuild runs it like a project made through the API.
`Ref` is the project's name and `GetAtt Arn` its ARN, as on AWS. An update keeps the project and
its builds unless the name changes (a replacement, as on AWS); deleting the stack deletes it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.codebuild.models import CodeBuildBackend, codebuild_backends
from moto.core.common_models import CloudFormationModel

from sagemaker_stack.local.cloudformation.resources import BackendResource

#: CloudFormation property names whose API name is not the same word with a lower-case first letter.
_API_NAMES = {"BuildSpec": "buildspec"}
_REQUIRED = ("Source", "Environment", "ServiceRole", "Artifacts")


class CfnProject(BackendResource, CloudFormationModel):
    """A project made by a stack; Ref returns its name and GetAtt Arn its ARN, as on AWS."""

    ATTRIBUTES: ClassVar[dict[str, str]] = {"Arn": "arn"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> CfnProject:
        backend = codebuild_backends[account_id][region_name]
        if name in backend.codebuild_projects:
            raise ValueError(f"a CodeBuild project named {name} already exists")
        return cls(name=name, arn=_create(backend, name, properties)["arn"])

    @classmethod
    def update(
        cls, original: CfnProject, properties: dict[str, Any], account_id: str, region_name: str
    ) -> CfnProject:
        name = properties.get("Name") or original.name
        if name != original.name:  # a new name replaces the project
            replacement = cls.create(name, properties, account_id, region_name)
            original.delete(account_id, region_name)
            return replacement
        backend = codebuild_backends[account_id][region_name]
        old = backend.codebuild_projects[name].project_metadata
        history = backend.build_history.get(name, [])
        metadata = _create(backend, name, properties)
        metadata["created"] = old["created"]
        backend.build_history[name] = history
        return cls(name=name, arn=metadata["arn"])

    @classmethod
    def remove(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        codebuild_backends[account_id][region_name].delete_project(name)


def _create(backend: CodeBuildBackend, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in _REQUIRED if not properties.get(key)]
    if missing:
        raise ValueError(f"AWS::CodeBuild::Project {name} needs {', '.join(missing)}")
    api = _api_shape(properties)
    metadata = backend.create_project(
        project_name=name,
        description=properties.get("Description"),
        project_source=api["source"],
        artifacts=api["artifacts"],
        environment=api["environment"],
        service_role=str(properties["ServiceRole"]),
        tags=api.get("tags"),
        cache=api.get("cache"),
        timeout=_int(properties.get("TimeoutInMinutes")),
        queued_timeout=_int(properties.get("QueuedTimeoutInMinutes")),
        source_version=properties.get("SourceVersion"),
        logs_config=api.get("logsConfig"),
        vpc_config=api.get("vpcConfig"),
    )
    if properties.get("EncryptionKey"):
        metadata["encryptionKey"] = properties["EncryptionKey"]
    for key in ("secondarySources", "secondaryArtifacts"):
        if api.get(key):
            metadata[key] = api[key]
    return metadata


def _api_shape(value: Any) -> Any:
    """CloudFormation's PascalCase properties as the API's camelCase (`BuildSpec` -> `buildspec`)."""
    if isinstance(value, dict):
        return {_api_name(key): _api_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    return value


def _api_name(key: str) -> str:
    return _API_NAMES.get(key) or key[:1].lower() + key[1:]


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
