"""What the emulator's CloudFormation resource types share (`secretsmanager`, `kms`, `codebuild.cfn`,
and moto's own types subclassed in `fixes`), and their registration in moto's type map.

moto finds resource types among `CloudFormationModel.__subclasses__()` (its *direct* subclasses,
the last one that names a type winning, cached in `moto.cloudformation.parsing`): so a type lists
`BackendResource` (or moto's class it corrects) before `CloudFormationModel` in its bases, and
`register()` clears those caches once the types are defined and checks that each won. The
resource itself lives in a moto backend; a `BackendResource` only remembers its name and ARN.
moto calls a type with its template's whole resource JSON; a type here implements `create`,
`update` and `remove` on the resource's properties.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel


class BackendResource:
    """A resource a stack made in a moto backend: `Ref` gives `REF`, `GetAtt` the `ATTRIBUTES`."""

    #: The instance attribute `Ref` returns ("name" or "arn").
    REF: ClassVar[str] = "name"
    #: GetAtt attribute name -> the instance attribute that holds it.
    ATTRIBUTES: ClassVar[dict[str, str]] = {}

    def __init__(self, *, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return str(getattr(self, self.REF))

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return str(getattr(self, self.ATTRIBUTES[attribute_name]))

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        """Make the resource `name` in its backend; the model that remembers it."""
        raise NotImplementedError

    @classmethod
    def update(cls, original: Any, properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        """Apply changed properties; the model of the resource that stands afterwards."""
        raise NotImplementedError

    @classmethod
    def remove(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        """Delete the resource (or schedule its deletion) as CloudFormation does with the stack."""
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls.create(resource_name, _properties(cloudformation_json), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return cls.update(original_resource, _properties(cloudformation_json), account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls.remove(resource_name, _properties(cloudformation_json), account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove(self.physical_resource_id, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True


def _properties(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return dict(cloudformation_json.get("Properties") or {})


def flag(value: Any) -> bool:
    """A CloudFormation boolean: a JSON bool, or "true"/"false" once an intrinsic made it text."""
    return str(value).lower() == "true" if isinstance(value, str) else bool(value)


def register(types: tuple[type[CloudFormationModel], ...]) -> None:
    """Make moto's CloudFormation see `types` (defined by now) even if it already built its type map."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    lost = [
        kind.__name__ for kind in types if parsing.get_model_map().get(kind.cloudformation_type()) is not kind
    ]
    if lost:
        raise RuntimeError(f"moto's CloudFormation type map does not hold {', '.join(lost)}")
