"""`AWS::KMS::Key` for moto's CloudFormation, as CloudFormation makes and deletes keys.

moto has the type, but its version fails on what every template holds: the key policy is a JSON
object (moto stores it as is, and every later DescribeKey then fails on it), tags are
CloudFormation's `Key`/`Value` pairs (moto's tagger wants `TagKey`/`TagValue`), and deleting the
stack deletes the key at once, where CloudFormation schedules its deletion after
`PendingWindowInDays` (7 to 30, default 30) so that whatever it encrypted can still be read.

This type replaces moto's (registered as every emulator type is, `resources`: moto's own is
defined first, so this later one wins the type map). `Ref` gives the key id, `GetAtt` Arn and
KeyId, as on AWS. An update changes policy, description, rotation and enablement in place.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.kms.models import KmsBackend, kms_backends

from sagemaker_stack.local.cloudformation.resources import BackendResource, flag

#: CloudFormation's PendingWindowInDays when a template gives none.
DEFAULT_PENDING_WINDOW_DAYS = 30


class CfnKey(BackendResource, CloudFormationModel):
    """A key made by a stack; its deletion is scheduled, never immediate."""

    ATTRIBUTES: ClassVar[dict[str, str]] = {"Arn": "arn", "KeyId": "name"}

    def __init__(self, *, name: str, arn: str, pending_window_days: int) -> None:
        super().__init__(name=name, arn=arn)
        self.pending_window_days = pending_window_days

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KMS::Key"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> CfnKey:
        backend = kms_backends[account_id][region_name]
        key = backend.create_key(
            policy=_policy(properties),
            key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=properties.get("Description", ""),
            tags=[{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])],
            multi_region=flag(properties.get("MultiRegion", False)),
        )
        _apply(backend, key.id, properties)
        return cls(name=key.id, arn=key.arn, pending_window_days=_window(properties))

    @classmethod
    def update(
        cls, original: CfnKey, properties: dict[str, Any], account_id: str, region_name: str
    ) -> CfnKey:
        backend = kms_backends[account_id][region_name]
        backend.put_key_policy(original.name, _policy(properties))
        backend.update_key_description(original.name, properties.get("Description", ""))
        _apply(backend, original.name, properties)
        original.pending_window_days = _window(properties)
        return original

    @classmethod
    def remove(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        kms_backends[account_id][region_name].schedule_key_deletion(name, _window(properties))

    def delete(self, account_id: str, region_name: str) -> None:
        kms_backends[account_id][region_name].schedule_key_deletion(self.name, self.pending_window_days)


def _policy(properties: dict[str, Any]) -> str:
    policy = properties.get("KeyPolicy")
    return json.dumps(policy) if isinstance(policy, dict) else str(policy or "")


def _apply(backend: KmsBackend, key_id: str, properties: dict[str, Any]) -> None:
    """Rotation and enablement, which CloudFormation sets after the key exists."""
    if flag(properties.get("EnableKeyRotation", False)):
        backend.enable_key_rotation(key_id)
    else:
        backend.disable_key_rotation(key_id)
    if flag(properties.get("Enabled", True)):
        backend.enable_key(key_id)
    else:
        backend.disable_key(key_id)


def _window(properties: dict[str, Any]) -> int:
    return int(properties.get("PendingWindowInDays") or DEFAULT_PENDING_WINDOW_DAYS)
