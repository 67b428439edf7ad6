"""`AWS::SecretsManager::Secret` for moto's CloudFormation, which otherwise skips it silently.

Registered as every emulator resource type is (`resources`). Ref gives the secret's ARN (as
on AWS); deleting the stack deletes the secret at once (no recovery window), so a stack can be
deployed again under the same name.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.utils import random_password

from sagemaker_stack.local.cloudformation.resources import BackendResource, flag

_DEFAULT_PASSWORD_LENGTH = 32


class CfnSecret(BackendResource, CloudFormationModel):
    """A secret made by a stack; Ref (and GetAtt Id) return its ARN, as on AWS."""

    REF = "arn"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"Id": "arn"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> CfnSecret:
        name = properties.get("Name") or name
        response = secretsmanager_backends[account_id][region_name].create_secret(
            name=name,
            secret_string=secret_string(properties),
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags") or None,
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(name=name, arn=json.loads(response)["ARN"])

    @classmethod
    def update(
        cls, original: CfnSecret, properties: dict[str, Any], account_id: str, region_name: str
    ) -> CfnSecret:
        """A changed description or template: keep the secret (and its value), update the description."""
        backend = secretsmanager_backends[account_id][region_name]
        secret: Any = backend.secrets.get(original.name) if "Description" in properties else None
        if secret is not None:
            secret.description = properties["Description"]
        return original

    @classmethod
    def remove(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


def secret_string(properties: dict[str, Any]) -> str | None:
    """SecretString, or one generated as GenerateSecretString asks (the CDK's usual form)."""
    if "SecretString" in properties:
        return str(properties["SecretString"])
    generate = properties.get("GenerateSecretString")
    if generate is None:
        return None
    password = random_password(
        int(generate.get("PasswordLength", _DEFAULT_PASSWORD_LENGTH)),
        str(generate.get("ExcludeCharacters", "")),
        flag(generate.get("ExcludeNumbers")),
        flag(generate.get("ExcludePunctuation")),
        flag(generate.get("ExcludeUppercase")),
        flag(generate.get("ExcludeLowercase")),
        flag(generate.get("IncludeSpace")),
        flag(generate.get("RequireEachIncludedType", True)),
    )
    template = generate.get("SecretStringTemplate")
    key = generate.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ValueError(
            "GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither"
        )
    document = json.loads(template)
    document[key] = password
    return json.dumps(document)
