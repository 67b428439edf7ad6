"""A stack whose creation fails ends as CloudFormation ends it: rolled back, with the reason.

moto creates a stack's resources inside the CreateStack call and lets a resource's error escape
it: CreateStack answered that error, and the stack stayed `CREATE_IN_PROGRESS` for ever with half
of its resources made and the rest parsed lazily on the next look, so DescribeStacks,
DescribeStackResources and a later DeleteStack tried to create them again and answered 500
(seen after `up` met the bucket a destroyed stack had retained). Then nothing could remove it.

CloudFormation instead accepts the CreateStack, marks the resource `CREATE_FAILED` with the
service's message, rolls back (deletes what it made, keeping what a `DeletionPolicy: Retain`
keeps) and ends `ROLLBACK_COMPLETE`, a stack with no resources and no outputs that answers every
Describe call and can be deleted (the cdk CLI deletes it before deploying the stack again).
This does the same; `DisableRollback` (moto records it) stops at `CREATE_FAILED` with the
resources made so far, as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap

_FAILED_RESOURCE = "_emulator_failed_logical_id"
_INSTALLED: dict[str, bool] = {}


def install() -> None:
    """Patch moto's stack creation in this process (the emulator's server); idempotent."""
    if _INSTALLED:
        return
    _INSTALLED["done"] = True
    create_resources = Stack.create_resources
    getitem = ResourceMap.__getitem__

    def get_resource(self: ResourceMap, key: str) -> Any:
        try:
            return getitem(self, key)
        except KeyError:
            raise
        except Exception as error:
            # The innermost resource that failed (a reference parses the resource it names first).
            if not hasattr(error, _FAILED_RESOURCE):
                setattr(error, _FAILED_RESOURCE, key)
            raise

    def create(self: Stack) -> None:
        try:
            create_resources(self)
        except Exception as error:
            _fail(self, error)

    ResourceMap.__getitem__ = get_resource  # type: ignore[method-assign]
    Stack.create_resources = create  # type: ignore[method-assign]


def reason(error: Exception) -> str:
    """The service's own message, as CloudFormation shows it in the resource's event."""
    code = getattr(error, "error_type", None) or getattr(error, "code", None) or type(error).__name__
    message = getattr(error, "message", None) or str(error)
    return f"{message} (Service: {code})" if code else str(message)


def _fail(stack: Stack, error: Exception) -> None:
    logical_id = getattr(error, _FAILED_RESOURCE, None)
    why = reason(error)
    if logical_id is not None:
        resource = stack.template_dict.get("Resources", {}).get(logical_id, {})
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id="",
                resource_type=str(resource.get("Type", "")),
                resource_status="CREATE_FAILED",
                resource_status_reason=why,
                resource_properties=None,
            )
        )
    failed = f"The following resource(s) failed to create: [{logical_id or 'unknown'}]."
    if stack.disable_rollback:
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=failed)
        return
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS", resource_status_reason=f"{failed} Rollback requested by user."
    )
    try:
        stack.resource_map.delete()
    except Exception as cleanup:
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=reason(cleanup))
        return
    # Nothing of the template stands: no resource to list (or to create lazily), no output.
    stack.resource_map._resource_json_map = {}
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")
