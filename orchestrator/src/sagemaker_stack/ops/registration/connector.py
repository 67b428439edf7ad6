"""`register --connector NAME`: link a ZenML AWS service connector to the components that call AWS.

The orchestrator, the step operator and the image builder then make their AWS calls with the
connector's credentials (`sagemaker_stack.service_connector`), as ZenML's built-in AWS flavors
do. The connector is the user's: `register` never creates, changes or removes one, it only links
(and `unregister` removes the components, and the links with them).

Checked before anything changes, with one message naming the connector: it exists, it is an
AWS connector that gives the `aws-generic` resource (a boto3 session), and it can give
credentials now (ZenML's `verify`, which runs where the connector's credentials live: on the
ZenML server for a shared connector; that is why the local environment's server knows the
emulator's endpoint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.flavor import AWS_GENERIC_RESOURCE
from sagemaker_stack.ops.registration.plan import (
    IMAGE_BUILDER,
    ORCHESTRATOR,
    STEP_OPERATOR,
    RegistrationError,
    RegistrationResult,
    first_line,
)

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.models import ServiceConnectorResponse

#: The components that call AWS themselves (the artifact store and the registry are ZenML's own).
LINKED_COMPONENTS: Final = (ORCHESTRATOR, STEP_OPERATOR, IMAGE_BUILDER)


def find_connector(client: Client, name: str) -> ServiceConnectorResponse:
    """The connector `name`, checked to give AWS credentials; RegistrationError naming it if not."""
    try:
        connector = client.get_service_connector(name, allow_name_prefix_match=False)
    except KeyError:
        raise RegistrationError(
            f"there is no ZenML service connector named {name!r}: register one first (`zenml "
            f"service-connector register {name} --type aws ...`) or name another with --connector"
        ) from None
    except Exception as error:
        raise RegistrationError(f"cannot read the service connector {name!r}: {first_line(error)}") from None
    resource_types = _resource_types(connector)
    if connector.type != "aws" or AWS_GENERIC_RESOURCE not in resource_types:
        raise RegistrationError(
            f"service connector {name!r} is a {connector.type!r} connector for {sorted(resource_types)}: "
            f"link an AWS connector (type 'aws') that gives the {AWS_GENERIC_RESOURCE!r} resource"
        )
    try:
        client.verify_service_connector(
            connector.id, resource_type=AWS_GENERIC_RESOURCE, list_resources=False
        )
    except Exception as error:
        raise RegistrationError(
            f"the AWS service connector {name!r} cannot give credentials ({first_line(error)}): check it "
            f"with `zenml service-connector verify {name}`; nothing was changed"
        ) from None
    return connector


def _resource_types(connector: ServiceConnectorResponse) -> set[str]:
    types: Any = connector.resource_types
    return {str(getattr(item, "resource_type", item)) for item in types or []}


def link(
    client: Client,
    component_type: str,
    component_id: Any,
    current_connector: Any,
    connector: ServiceConnectorResponse,
    what: str,
    result: RegistrationResult,
) -> None:
    """Link `connector` to one of our components unless it is linked already."""
    from zenml.enums import StackComponentType

    if component_type not in LINKED_COMPONENTS:
        return
    if current_connector is not None and getattr(current_connector, "id", current_connector) == connector.id:
        return
    client.update_stack_component(component_id, StackComponentType(component_type), connector_id=connector.id)
    result.changes.append(f"linked {what} to the service connector {connector.name!r}")
