"""The ZenML side of registration: connect, create or update what the plan says, and undo.

Order of work, chosen so that a failure leaves nothing half-registered:
1. read-only checks: the ZenML store is a reachable server, the AWS stack is still deployed (stack,
   secret, bucket), no name is taken by something we did not make, every configuration validates;
2. changes, each creation remembered so that an error undoes it before it is reported.

The service account whose API key the step containers use has no labels in ZenML; its
description marks it instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.registration import connector as links
from sagemaker_stack.ops.registration import secret
from sagemaker_stack.ops.registration.plan import (
    STEPS_API_KEY_ENV,
    ComponentPlan,
    RegistrationError,
    RegistrationResult,
    StackPlan,
    UnregistrationResult,
    first_line,
    has_labels,
    is_our_account,
    is_ours,
    plain,
    plan_stack,
    server_path_warning,
)

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.models import ComponentResponse, ServiceAccountResponse, StackResponse


def register(
    config: StackConfig,
    *,
    name: str | None = None,
    activate: bool = False,
    server_url: str | None = None,
    client: Client | None = None,
    steps_api_key: str | None = None,
    check_aws: bool = True,
    echo: Callable[[str], None] | None = None,
    connector: str | None = None,
) -> RegistrationResult:
    """Create or update the ZenML components and stack for `config`, and the steps' credentials.

    Running it twice changes nothing; a changed config updates the components in place. `server_url`
    is the ZenML URL the steps use (default: the one this client talks to). The steps log in with
    the key of a service account made here, unless `steps_api_key` (a key of an account the caller
    made, for users who may not create service accounts; default: $SAGEMAKER_STACK_STEPS_API_KEY)
    is given. `connector` names a ZenML AWS service connector to link to the components that call
    AWS (`registration.connector`); without it, links made before are left as they are.
    """
    say = echo or (lambda _line: None)
    steps_api_key = steps_api_key or os.environ.get(STEPS_API_KEY_ENV) or None
    plan = plan_stack(config, name)
    client = client or connect()
    server_url = (server_url or _server_url(client)).rstrip("/")
    if not server_url.startswith(("http://", "https://")):
        raise RegistrationError(f"--server-url {server_url!r} is not an http(s) URL")
    from sagemaker_stack.ops.reachability import public_address

    warning = server_path_warning(config, server_url, public_address(server_url))
    if check_aws:
        secret.check_deployed(config)
    state = _inspect(client, plan)
    _validate_configurations(client, plan)
    linked = links.find_connector(client, connector) if connector else None

    result = RegistrationResult(stack_name=plan.stack_name, warnings=[warning] if warning else [])
    for line in result.warnings:
        say(f"warning: {line}")
    undo: list[tuple[str, Callable[[], None]]] = []
    try:
        _ensure_flavors(client, plan, result, undo)
        ids = {
            component.component_type: _ensure_component(client, plan, component, state, result, undo)
            for component in plan.components
        }
        for component in plan.components:
            existing = state.components[component.name]
            if linked is not None:
                what = f"{component.component_type.replace('_', ' ')} {component.name!r}"
                current = existing.connector if existing is not None else None
                kind = component.component_type
                links.link(client, kind, ids[kind], current, linked, what, result)
        _ensure_stack(client, plan, ids, state.stack, result, undo)
        if steps_api_key is None:
            secret.ensure_step_credentials(
                client, config, plan, server_url, state.service_account, result, undo
            )
        else:
            secret.store_given_credentials(config, server_url, steps_api_key, result)
        if activate and _active_stack_name(client) != plan.stack_name:
            client.activate_stack(plan.stack_name)
            result.changes.append(f"activated stack {plan.stack_name!r}")
        result.activated = _active_stack_name(client) == plan.stack_name
    except Exception as error:
        problems = _undo(undo)
        if problems:
            note = f" Could not undo: {'; '.join(problems)}"
        elif any(line.startswith("updated") for line in result.changes):
            note = " What it created was removed again; updated components keep their new settings."
        else:
            note = " Nothing was left half-registered."
        if isinstance(error, RegistrationError):
            raise RegistrationError(f"{error}.{note}") from None
        reason = f"{type(error).__name__}: {first_line(error)}"
        raise RegistrationError(f"registering stack {plan.stack_name!r} failed: {reason}.{note}") from None
    for line in result.changes:
        say(line)
    return result


def zenml_store() -> tuple[str, bool]:
    """The URL of the store this ZenML client uses, and whether it is a server (not a local store)."""
    from zenml.config.global_config import GlobalConfiguration
    from zenml.enums import StoreType

    store = GlobalConfiguration().store_configuration
    return str(store.url).rstrip("/"), store.type == StoreType.REST


def zenml_server_url() -> str | None:
    """The URL of the ZenML server this client is logged in to; None for a local store."""
    url, is_server = zenml_store()
    return url if is_server else None


def connect() -> Client:
    """A ZenML client on a reachable ZenML *server* (steps on SageMaker cannot reach a local store)."""
    try:
        from zenml.client import Client

        url, is_server = zenml_store()
    except Exception as error:
        raise RegistrationError(f"cannot read the ZenML configuration: {first_line(error)}") from None
    if not is_server:
        raise RegistrationError(
            f"ZenML is using a local store ({url}); pipelines on SageMaker need a ZenML server they can "
            "reach: `zenml login <server url>` and try again (`sagemaker-stack demo` shows it all on "
            "a local server)"
        )
    # One quick probe first: ZenML's own client retries for half a minute, printing warnings.
    _probe(url)
    try:
        client = Client()
        client.zen_store.get_store_info()
    except Exception as error:
        raise RegistrationError(
            f"cannot use the ZenML server at {url} ({type(error).__name__}: {first_line(error)}): "
            "check that you are logged in (`zenml login <url>`) and try again"
        ) from None
    return client


def _probe(url: str) -> None:
    from sagemaker_stack.ops.reachability import unreachable_reason

    reason = unreachable_reason(f"{url}/health", timeout=10)
    if reason is not None:
        raise RegistrationError(
            f"the ZenML server at {url} is not reachable ({reason}): start it or log in to a "
            "running one (`zenml login <url>`), then try again"
        )


@dataclass
class _State:
    components: dict[str, ComponentResponse | None]
    stack: StackResponse | None
    service_account: ServiceAccountResponse | None


def _inspect(client: Client, plan: StackPlan) -> _State:
    """Look up everything `register` will touch, and refuse if any of it belongs to someone else."""
    clashes: list[str] = []
    components: dict[str, ComponentResponse | None] = {}
    for component in plan.components:
        existing = _find_component(client, component.component_type, component.name)
        components[component.name] = existing
        if existing is None:
            continue
        if not is_ours(existing.labels, plan.stack_name):
            clashes.append(f"{component.component_type.replace('_', ' ')} {component.name!r}")
        elif existing.flavor_name != component.flavor:
            raise RegistrationError(
                f"{component.component_type.replace('_', ' ')} {component.name!r} has flavor "
                f"{existing.flavor_name!r}, not {component.flavor!r}: run `sagemaker-stack unregister "
                f"--name {plan.stack_name}` first"
            )
    stack = _find_stack(client, plan.stack_name)
    if stack is not None and not is_ours(stack.labels, plan.stack_name):
        clashes.append(f"stack {plan.stack_name!r}")
    account = _find_service_account(client, plan.service_account)
    if account is not None and not is_our_account(account, plan.stack_name):
        clashes.append(f"service account {plan.service_account!r}")
    if clashes:
        raise RegistrationError(
            f"ZenML already has {', '.join(clashes)}, not made by sagemaker-stack for this stack; "
            "nothing was changed. Register under another name with --name, or remove or rename yours"
        )
    return _State(components=components, stack=stack, service_account=account)


def _validate_configurations(client: Client, plan: StackPlan) -> None:
    """Validate each configuration against its flavor's config class before anything is created."""
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import validate_flavor_source

    for component in plan.components:
        try:
            if component.flavor_source:
                component_type = StackComponentType(component.component_type)
                flavor_class = validate_flavor_source(component.flavor_source, component_type)[1]
            else:
                from zenml.stack.flavor import Flavor

                model = client.get_flavor_by_name_and_type(
                    name=component.flavor, component_type=StackComponentType(component.component_type)
                )
                flavor_class = Flavor.from_model(model)
            flavor_class.config_class(**plain(component.configuration))
        except (KeyError, ImportError) as error:
            raise RegistrationError(
                f"ZenML flavor {component.flavor!r} for the {component.component_type.replace('_', ' ')} "
                f"is not available ({first_line(error)}): install `sagemaker-stack[zenml-aws]` "
                "where this command and the ZenML server run"
            ) from None
        except ValueError as error:
            raise RegistrationError(
                f"the {component.component_type.replace('_', ' ')} configuration is invalid: "
                f"{first_line(error)}"
            ) from None


def _ensure_flavors(
    client: Client, plan: StackPlan, result: RegistrationResult, undo: list[tuple[str, Callable[[], None]]]
) -> None:
    """Register this package's flavors the plan uses, unless the ZenML server has them."""
    from zenml.enums import StackComponentType

    for component in plan.components:
        if not component.flavor_source:
            continue
        kind = StackComponentType(component.component_type)
        if client.list_flavors(name=component.flavor, type=kind).items:
            continue
        flavor_id = str(client.create_flavor(source=component.flavor_source, component_type=kind).id)
        undo.append((f"flavor {component.flavor}", functools.partial(client.delete_flavor, flavor_id)))
        result.changes.append(f"registered the ZenML flavor {component.flavor!r}")


def _ensure_component(
    client: Client,
    plan: StackPlan,
    component: ComponentPlan,
    state: _State,
    result: RegistrationResult,
    undo: list[tuple[str, Callable[[], None]]],
) -> Any:
    from zenml.enums import StackComponentType

    component_type = StackComponentType(component.component_type)
    wanted = plain(component.configuration)
    existing = state.components[component.name]
    what = f"{component.component_type.replace('_', ' ')} {component.name!r}"
    if existing is None:
        created = client.create_stack_component(
            name=component.name,
            flavor=component.flavor,
            component_type=component_type,
            configuration=wanted,
            labels=plan.labels,
        )
        undo.append((what, lambda: client.delete_stack_component(created.id, component_type)))
        result.changes.append(f"created {what}")
        return created.id
    current = plain(existing.configuration)
    if current == wanted and has_labels(existing.labels, plan.labels):
        return existing.id
    # Keys we no longer set are removed (ZenML merges updates and drops None values).
    update = {**dict.fromkeys(current), **wanted}
    client.update_stack_component(existing.id, component_type, configuration=update, labels=plan.labels)
    result.changes.append(f"updated {what}")
    return existing.id


def _ensure_stack(
    client: Client,
    plan: StackPlan,
    ids: Mapping[str, Any],
    existing: StackResponse | None,
    result: RegistrationResult,
    undo: list[tuple[str, Callable[[], None]]],
) -> None:
    from zenml.enums import StackComponentType

    components = {StackComponentType(kind): component_id for kind, component_id in ids.items()}
    if existing is None:
        stack = client.create_stack(name=plan.stack_name, components=components, labels=plan.labels)
        undo.append((f"stack {plan.stack_name!r}", lambda: client.delete_stack(stack.id)))
        result.changes.append(f"created stack {plan.stack_name!r}")
        return
    current = {kind: [c.id for c in found] for kind, found in existing.components.items()}
    # A kind this plan no longer has (an image builder after a redeploy with image_builder=none)
    # leaves the stack; its component is removed by `unregister` like any other of ours.
    updates: dict[StackComponentType, list[Any]] = {kind: [] for kind in current if kind not in components}
    updates.update({kind: [component_id] for kind, component_id in components.items()})
    if all(current.get(kind, []) == wanted for kind, wanted in updates.items()) and has_labels(
        existing.labels, plan.labels
    ):
        return
    client.update_stack(existing.id, component_updates=updates, labels=plan.labels)
    result.changes.append(f"updated stack {plan.stack_name!r}")


def unregister(
    stack_name: str,
    *,
    config: StackConfig | None = None,
    client: Client | None = None,
    echo: Callable[[str], None] | None = None,
) -> UnregistrationResult:
    """Remove what `register` made for `stack_name`, and nothing else.

    With `config`, the steps' credentials are also wiped from the stack's secret (best effort: the
    AWS stack may already be gone; the key is revoked in ZenML either way).
    """
    say = echo or (lambda _line: None)
    client = client or connect()
    result = UnregistrationResult(stack_name=stack_name)
    try:
        _unregister(client, stack_name, config, result, say)
    except RegistrationError:
        raise
    except Exception as error:
        done = f" (removed so far: {', '.join(result.removed)})" if result.removed else ""
        reason = f"{type(error).__name__}: {first_line(error)}"
        raise RegistrationError(
            f"unregistering stack {stack_name!r} stopped: {reason}{done}; "
            "fix that and run `sagemaker-stack unregister` again"
        ) from None
    for line in result.removed:
        say(f"removed {line}")
    for line in result.kept:
        say(f"kept {line}")
    return result


def _unregister(
    client: Client,
    stack_name: str,
    config: StackConfig | None,
    result: UnregistrationResult,
    say: Callable[[str], None],
) -> None:
    from zenml.enums import StackComponentType

    stack = _find_stack(client, stack_name)
    if stack is not None:
        if not is_ours(stack.labels, stack_name):
            raise RegistrationError(
                f"ZenML stack {stack_name!r} was not made by sagemaker-stack: left alone, nothing removed"
            )
        # A shell of the local environment pins its stack (`local env`); the pin goes with it,
        # or ZenML would refuse to delete the stack it takes for the active one.
        if os.environ.get("ZENML_ACTIVE_STACK_ID") == str(stack.id):
            del os.environ["ZENML_ACTIVE_STACK_ID"]
        if _active_stack_name(client) == stack_name:
            client.activate_stack("default")
            say(f"switched the active ZenML stack from {stack_name!r} to 'default'")
        client.delete_stack(stack.id)
        result.removed.append(f"stack {stack_name!r}")

    for component in _our_components(client, stack_name):
        what = f"{component.type.value.replace('_', ' ')} {component.name!r}"
        try:
            client.delete_stack_component(component.id, StackComponentType(component.type))
        except Exception as error:  # e.g. a user put our component into a stack of theirs
            result.kept.append(f"{what} ({first_line(error)})")
        else:
            result.removed.append(what)

    account = _find_service_account(client, f"{stack_name}-steps")
    if account is not None and is_our_account(account, stack_name):
        key_ids = [key.id for key in client.list_api_keys(account.id).items]
        for key_id in key_ids:
            client.delete_api_key(account.id, key_id)
        note = _delete_account(client, account.id)
        result.removed.append(f"service account {account.name!r} and its API key{note}")
    if config is not None:
        secret.wipe_secret(config, result)


def _delete_account(client: Client, account_id: Any) -> str:
    """Delete a service account; ZenML refuses when it owns resources, then deactivate it instead."""
    try:
        client.delete_service_account(account_id)
    except Exception:
        client.update_service_account(account_id, active=False)
        return " (deactivated: ZenML keeps accounts that own runs)"
    return ""


# --- lookups and helpers ---------------------------------------------------------------------------


def _find_component(client: Client, component_type: str, name: str) -> ComponentResponse | None:
    from zenml.enums import StackComponentType

    found = client.list_stack_components(name=name, type=component_type, hydrate=True).items
    wanted = StackComponentType(component_type)
    return next((c for c in found if c.name == name and c.type == wanted), None)


def _find_stack(client: Client, name: str) -> StackResponse | None:
    found = client.list_stacks(name=name, hydrate=True).items
    return next((s for s in found if s.name == name), None)


def _find_service_account(client: Client, name: str) -> ServiceAccountResponse | None:
    found = client.list_service_accounts(name=name, hydrate=True).items
    return next((a for a in found if a.name == name), None)


def _our_components(client: Client, stack_name: str) -> list[ComponentResponse]:
    from zenml.utils.pagination_utils import depaginate

    found = depaginate(client.list_stack_components, size=100, hydrate=True)
    return [component for component in found if is_ours(component.labels, stack_name)]


def _active_stack_name(client: Client) -> str | None:
    try:
        return str(client.active_stack_model.name)
    except Exception:
        return None


def _server_url(client: Client) -> str:
    return str(client.zen_store.url).rstrip("/")


def _undo(undo: list[tuple[str, Callable[[], None]]]) -> list[str]:
    problems = []
    for what, action in reversed(undo):
        try:
            action()
        except Exception as error:
            problems.append(f"{what}: {first_line(error)}")
    return problems
