"""`AWS::CodeBuild::Project` for moto's CloudFormation, which otherwise skips it silently.

Registered like `secrets_cfn`: moto finds resource types through `CloudFormationModel`'s
subclasses. The project is made in moto's CodeBuild backend from the template's properties (what
CDK's `aws_codebuild.Project` synthesizes: Name, Source, Environment, ServiceRole, Artifacts,
LogsConfig, TimeoutInMinutes, ...), so StartBuild runs it like a project made through the API.
`Ref` is the project's name and `GetAtt Arn` its ARN, as on AWS. An update keeps the project and
its builds unless the name changes (a replacement, as on AWS); deleting the stack deletes it.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.codebuild.models import CodeBuildBackend, codebuild_backends
from moto.core.common_models import CloudFormationModel

#: CloudFormation property names whose API name is not the same word with a lower-case first letter.
_API_NAMES = {"BuildSpec": "buildspec"}
_REQUIRED = ("Source", "Environment", "ServiceRole", "Artifacts")


class CfnProject(CloudFormationModel):
    """A project made by a stack; `physical_resource_id` (what Ref returns) is its name."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnProject:
        backend = codebuild_backends[account_id][region_name]
        properties = cloudformation_json.get("Properties", {})
        if resource_name in backend.codebuild_projects:
            raise ValueError(f"a CodeBuild project named {resource_name} already exists")
        return cls(resource_name, _create(backend, resource_name, properties)["arn"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnProject,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnProject:
        backend = codebuild_backends[account_id][region_name]
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("Name") or original_resource.name
        if name != original_resource.name:  # a new name replaces the project
            replacement = cls.create_from_cloudformation_json(
                name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return replacement
        old = backend.codebuild_projects[name].project_metadata
        history = backend.build_history.get(name, [])
        metadata = _create(backend, name, properties)
        metadata["created"] = old["created"]
        backend.build_history[name] = history
        return cls(name, metadata["arn"])

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        codebuild_backends[account_id][region_name].delete_project(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


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


def register() -> None:
    """Make moto's CloudFormation see CfnProject even if it already built its type map."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
