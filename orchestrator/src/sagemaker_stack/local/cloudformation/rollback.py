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
This does the same, in `CloudFormationBackend` (moto's backend, which moto_registry puts in
moto's place): CreateStack creates the stack as moto does and, when a resource's creation fails,
ends it as above instead of answering the error. A stack whose `disable_rollback` is set stops
at `CREATE_FAILED` with the resources made so far, as on AWS (moto's CreateStack does not read
`DisableRollback` yet, so today every failed stack rolls back). The failed resource is the one moto
was creating, innermost: a resource's reference to another parses that one first, inside.
"""

from __future__ import annotations

import traceback
import types
from typing import Any

from moto.cloudformation import models as moto_models
from moto.cloudformation import parsing, urls
from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import OutputMap


class CloudFormationBackend(moto_models.CloudFormationBackend):
    """moto's CloudFormation, whose CreateStack rolls a failed creation back."""

    @property
    def _url_module(self) -> types.ModuleType:
        """moto's own `urls` (moto looks for them beside the backend's module)."""
        return urls

    def create_stack(self, name: str, *args: Any, **kwargs: Any) -> Stack:
        known = set(self.stacks)
        try:
            return super().create_stack(name, *args, **kwargs)
        except Exception as error:
            # moto adds the stack, then creates its resources; an error before that (a bad
            # template, a name in use, an export taken) stays the request's answer, as on AWS.
            made = [stack for key, stack in self.stacks.items() if key not in known]
            if not made or made[0].status != "CREATE_IN_PROGRESS":
                raise
            _fail(made[0], error)
            return made[0]


def failed_resource(error: BaseException) -> str | None:
    """The logical id of the resource whose creation raised `error` (the innermost one)."""
    found = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code is parsing.parse_and_create_resource.__code__:
            found = frame.f_locals.get("logical_id")
    return found


def reason(error: Exception) -> str:
    """The service's own message, as CloudFormation shows it in the resource's event."""
    code = getattr(error, "error_type", None) or getattr(error, "code", None) or type(error).__name__
    message = getattr(error, "message", None) or str(error)
    return f"{message} (Service: {code})" if code else str(message)


def _fail(stack: Stack, error: Exception) -> None:
    logical_id = failed_resource(error)
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
