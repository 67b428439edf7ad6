"""The boto3 session of a ZenML AWS service connector linked to one of our stack components.

ZenML lets a stack component be linked to a service connector (`zenml orchestrator connect
<name> --connector <connector>`, or `sagemaker-stack register --connector <connector>`); its
built-in AWS flavors then make every AWS call with the connector's credentials, and so do ours:
the orchestrator, the step operator and the image builder hand `connector_session` to
`aws.client`, the one client factory. A component with no linked connector gets None, and
`aws.client` falls back on boto3's default chain as before.

A linked connector that cannot give credentials (deleted, refused by the server, expired keys, a
role it may not assume) is the user's to fix, and says so in one message naming the connector
and the component, never a credential (`ConnectorError`). The session is made again only when
the connector's credentials expire (ZenML's `get_connector` caches it per component).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagemaker_stack.user_errors import UserError

if TYPE_CHECKING:
    import boto3
    from zenml.stack import StackComponent


class ConnectorError(UserError, RuntimeError):
    """A linked AWS service connector cannot give credentials; the message names it and the fix."""


def connector_session(component: StackComponent) -> boto3.session.Session | None:
    """The linked connector's boto3 session, None when the component has no connector.

    Raises ConnectorError (one message naming the connector) when it cannot give credentials.
    """
    if component.connector is None:
        return None
    import boto3

    try:
        connector = component.get_connector()
        session = connector.connect() if connector is not None else None
    except Exception as error:
        raise _cannot(component, _first_line(error)) from None
    if not isinstance(session, boto3.session.Session):
        raise _cannot(
            component,
            f"it gave a {type(session).__name__}, not a boto3 session: link a connector of type "
            "'aws' with resource type 'aws-generic'",
        )
    try:
        credentials = session.get_credentials()
    except Exception as error:
        raise _cannot(component, _first_line(error)) from None
    if credentials is None:
        raise _cannot(component, "its session holds no AWS credentials")
    return session


def _cannot(component: StackComponent, reason: str) -> ConnectorError:
    name = _connector_name(component)
    kind = str(getattr(component.type, "value", component.type)).replace("_", " ")
    return ConnectorError(
        f"the AWS service connector {name!r} linked to the {kind} {component.name!r} cannot give "
        f"credentials ({reason}): check it with `zenml service-connector verify {name}`, or link "
        f"another one (`sagemaker-stack register --connector <name>`)"
    )


def _connector_name(component: StackComponent) -> str:
    """The connector's name (its id when the server will not say)."""
    if component.connector is None:
        return "?"
    try:
        from zenml.client import Client

        return str(Client().get_service_connector(component.connector, hydrate=False).name)
    except Exception:
        return str(component.connector)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
