"""StackConfig -> ZenML components and stack (idempotently), and back out.

What `register` makes, every piece carries a label naming this package and the stack
(`sagemaker-stack/managed`, `sagemaker-stack/stack`), so that `unregister` removes exactly that
and never a component a user registered by hand, even one with the same name. The service account
whose API key the step containers use has no labels in ZenML; its description marks it instead.

Order of work, chosen so that a failure leaves nothing half-registered:
1. read-only checks: the ZenML store is a reachable server, the AWS stack is still deployed (stack,
   secret, bucket), no name is taken by something we did not make, every configuration validates;
2. changes, each creation remembered so that an error undoes it before it is reported.

The ZenML server URL and API key go into the stack's Secrets Manager secret and nowhere else (not in
a component's configuration, the YAML file, a log line or an error).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.config import StackConfig

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.models import ComponentResponse, ServiceAccountResponse, StackResponse

MANAGED_LABEL: Final = "sagemaker-stack/managed"
STACK_LABEL: Final = "sagemaker-stack/stack"
ORCHESTRATOR_FLAVOR: Final = "sagemaker_pipelines"
FLAVOR_SOURCE: Final = "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor"
API_KEY_NAME: Final = "steps"
#: Environment variable with an API key for the steps, for users who may not create service accounts
#: (in ZenML OSS only admins may); read when `register` is not given `steps_api_key`.
STEPS_API_KEY_ENV: Final = "SAGEMAKER_STACK_STEPS_API_KEY"
#: The start of the description of every service account `register` makes.
SERVICE_ACCOUNT_MARKER: Final = "Made by sagemaker-stack for stack"

ARTIFACT_STORE: Final = "artifact_store"
CONTAINER_REGISTRY: Final = "container_registry"
ORCHESTRATOR: Final = "orchestrator"


class RegistrationError(RuntimeError):
    """Registration cannot be done (or undone) as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ComponentPlan:
    """One ZenML stack component as `register` wants it."""

    component_type: str
    name: str
    flavor: str
    configuration: Mapping[str, Any]


@dataclass(frozen=True)
class StackPlan:
    """The ZenML stack, its components and its service account, derived from one StackConfig."""

    stack_name: str
    components: tuple[ComponentPlan, ...]
    service_account: str

    @property
    def labels(self) -> dict[str, str]:
        """The labels that mark a component or stack as made by `register` for this stack."""
        return {MANAGED_LABEL: "true", STACK_LABEL: self.stack_name}

    @property
    def service_account_description(self) -> str:
        return f"{SERVICE_ACCOUNT_MARKER} {self.stack_name!r}: its steps log in with this account's key."


@dataclass
class RegistrationResult:
    """What `register` did, for the CLI to report."""

    stack_name: str
    changes: list[str] = field(default_factory=list)
    activated: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class UnregistrationResult:
    """What `unregister` removed and what it left alone (and why)."""

    stack_name: str
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


# --- the plan: pure, no ZenML store, no AWS --------------------------------------------------------


def orchestrator_configuration(config: StackConfig) -> dict[str, Any]:
    """The `sagemaker_pipelines` orchestrator's configuration for this stack (unset values left out)."""
    from sagemaker_stack.flavor import config_kwargs_from_stack_config

    values = config_kwargs_from_stack_config(config)
    return {key: value for key, value in values.items() if value is not None}


def plan_stack(config: StackConfig, name: str | None = None) -> StackPlan:
    """The ZenML stack for `config`, named `name` (default: the AWS stack's name)."""
    stack_name = name or config.stack_name
    artifact_store: dict[str, Any] = {"path": config.artifact_path}
    if config.endpoint_url:
        # Only for the emulator; on AWS the SDK finds the endpoint and the credential chain the keys.
        artifact_store["client_kwargs"] = {"endpoint_url": config.endpoint_url, "region_name": config.region}
    return StackPlan(
        stack_name=stack_name,
        components=(
            ComponentPlan(ARTIFACT_STORE, f"{stack_name}-artifacts", "s3", artifact_store),
            ComponentPlan(
                CONTAINER_REGISTRY,
                f"{stack_name}-registry",
                "aws",
                # ZenML's AWS registry takes the host only; images go to <uri>/<default_repository>.
                {"uri": config.registry_uri, "default_repository": config.repository_name},
            ),
            ComponentPlan(
                ORCHESTRATOR,
                f"{stack_name}-orchestrator",
                ORCHESTRATOR_FLAVOR,
                orchestrator_configuration(config),
            ),
        ),
        service_account=f"{stack_name}-steps",
    )


def stack_yaml(plan: StackPlan) -> dict[str, Any]:
    """The stack in the format `zenml stack export` writes and `zenml stack import` reads."""
    import zenml

    components: dict[str, list[dict[str, Any]]] = {}
    for component in plan.components:
        components.setdefault(component.component_type, []).append(
            {
                "name": component.name,
                "type": component.component_type,
                "flavor": component.flavor,
                "configuration": _plain(component.configuration),
            }
        )
    return {"stack_name": plan.stack_name, "components": components, "zenml_version": zenml.__version__}


def write_stack_yaml(plan: StackPlan, path: str | os.PathLike[str]) -> Path:
    """Write `stack_yaml(plan)` to `path`, with a header saying how to import it."""
    import yaml  # type: ignore[import-untyped, unused-ignore]

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# ZenML stack {plan.stack_name!r}, written by `sagemaker-stack register --yaml`.\n"
        "# Import it with (the first command once per ZenML server):\n"
        f"#   zenml orchestrator flavor register {FLAVOR_SOURCE}\n"
        f"#   zenml stack import {plan.stack_name} -f {file.name}\n"
    )
    file.write_text(header + yaml.safe_dump(stack_yaml(plan), sort_keys=False))
    return file


# --- register ----------------------------------------------------------------------------------------


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
) -> RegistrationResult:
    """Create or update the ZenML components and stack for `config`, and the steps' credentials.

    Running it twice changes nothing; a changed config updates the components in place. `server_url`
    is the ZenML URL the steps use (default: the one this client talks to). The steps log in with
    the key of a service account made here, unless `steps_api_key` (a key of an account the caller
    made, for users who may not create service accounts; default: $SAGEMAKER_STACK_STEPS_API_KEY)
    is given.
    """
    say = echo or (lambda _line: None)
    steps_api_key = steps_api_key or os.environ.get(STEPS_API_KEY_ENV) or None
    plan = plan_stack(config, name)
    client = client or connect()
    server_url = (server_url or _server_url(client)).rstrip("/")
    if not server_url.startswith(("http://", "https://")):
        raise RegistrationError(f"--server-url {server_url!r} is not an http(s) URL")
    if check_aws:
        check_deployed(config)
    state = _inspect(client, plan)
    _validate_configurations(client, plan)

    result = RegistrationResult(stack_name=plan.stack_name)
    undo: list[tuple[str, Callable[[], None]]] = []
    try:
        _ensure_flavor(client, result, undo)
        ids = {
            component.component_type: _ensure_component(client, plan, component, state, result, undo)
            for component in plan.components
        }
        _ensure_stack(client, plan, ids, state.stack, result, undo)
        if steps_api_key is None:
            _ensure_step_credentials(client, config, plan, server_url, state, result, undo)
        else:
            _store_given_credentials(config, server_url, steps_api_key, result)
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
        reason = f"{type(error).__name__}: {_first_line(error)}"
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
        raise RegistrationError(f"cannot read the ZenML configuration: {_first_line(error)}") from None
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
            f"cannot use the ZenML server at {url} ({type(error).__name__}: {_first_line(error)}): "
            "check that you are logged in (`zenml login <url>`) and try again"
        ) from None
    return client


def _probe(url: str) -> None:
    from sagemaker_stack.reachability import unreachable_reason

    reason = unreachable_reason(f"{url}/health", timeout=10)
    if reason is not None:
        raise RegistrationError(
            f"the ZenML server at {url} is not reachable ({reason}): start it or log in to a "
            "running one (`zenml login <url>`), then try again"
        )


def check_deployed(config: StackConfig) -> None:
    """Fail unless the AWS stack behind `config` still exists: the stack, its secret and bucket."""
    import boto3
    import botocore.exceptions

    from sagemaker_stack.outputs import OutputsError, config_from_outputs, describe_stack_outputs

    try:
        outputs = describe_stack_outputs(
            config.stack_name, region=config.region, endpoint_url=config.endpoint_url
        )
        deployed = config_from_outputs(
            outputs, stack_name=config.stack_name, endpoint_url=config.endpoint_url
        )
    except OutputsError as error:
        raise RegistrationError(str(error)) from None
    stale = [key for key, value in deployed.model_dump().items() if getattr(config, key) != value]
    if stale:
        raise RegistrationError(
            f"the config does not match the deployed stack {config.stack_name!r} "
            f"({', '.join(stale)} differ): run `sagemaker-stack export` again"
        )
    session = boto3.session.Session(region_name=config.region)
    try:
        session.client("secretsmanager", endpoint_url=config.endpoint_url).describe_secret(
            SecretId=config.secret_arn
        )
    except botocore.exceptions.ClientError as error:
        raise RegistrationError(
            f"the stack's secret {config.secret_arn} cannot be read "
            f"({error.response.get('Error', {}).get('Code')}): was the stack destroyed? "
            "Deploy it and run `sagemaker-stack export` again"
        ) from None
    try:
        session.client("s3", endpoint_url=config.endpoint_url).head_bucket(Bucket=config.bucket_name)
    except botocore.exceptions.ClientError as error:
        raise RegistrationError(
            f"the stack's bucket {config.bucket_name} cannot be reached "
            f"({error.response.get('Error', {}).get('Code')}): was the stack destroyed? "
            "Deploy it and run `sagemaker-stack export` again"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise RegistrationError(f"cannot reach AWS: {error}") from None


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
        if not _is_ours(existing.labels, plan.stack_name):
            clashes.append(f"{component.component_type.replace('_', ' ')} {component.name!r}")
        elif existing.flavor_name != component.flavor:
            raise RegistrationError(
                f"{component.component_type.replace('_', ' ')} {component.name!r} has flavor "
                f"{existing.flavor_name!r}, not {component.flavor!r}: run `sagemaker-stack unregister "
                f"--name {plan.stack_name}` first"
            )
    stack = _find_stack(client, plan.stack_name)
    if stack is not None and not _is_ours(stack.labels, plan.stack_name):
        clashes.append(f"stack {plan.stack_name!r}")
    account = _find_service_account(client, plan.service_account)
    if account is not None and not _is_our_account(account, plan.stack_name):
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
            if component.flavor == ORCHESTRATOR_FLAVOR:
                flavor_class = validate_flavor_source(FLAVOR_SOURCE, StackComponentType(ORCHESTRATOR))[1]
            else:
                from zenml.stack.flavor import Flavor

                model = client.get_flavor_by_name_and_type(
                    name=component.flavor, component_type=StackComponentType(component.component_type)
                )
                flavor_class = Flavor.from_model(model)
            flavor_class.config_class(**_plain(component.configuration))
        except (KeyError, ImportError) as error:
            raise RegistrationError(
                f"ZenML flavor {component.flavor!r} for the {component.component_type.replace('_', ' ')} "
                f"is not available ({_first_line(error)}): install `sagemaker-stack[zenml-aws]` "
                "where this command and the ZenML server run"
            ) from None
        except ValueError as error:
            raise RegistrationError(
                f"the {component.component_type.replace('_', ' ')} configuration is invalid: "
                f"{_first_line(error)}"
            ) from None


def _ensure_flavor(
    client: Client, result: RegistrationResult, undo: list[tuple[str, Callable[[], None]]]
) -> None:
    from zenml.enums import StackComponentType

    flavors = client.list_flavors(name=ORCHESTRATOR_FLAVOR, type=StackComponentType.ORCHESTRATOR).items
    if flavors:
        return
    flavor = client.create_flavor(source=FLAVOR_SOURCE, component_type=StackComponentType.ORCHESTRATOR)
    undo.append((f"flavor {ORCHESTRATOR_FLAVOR}", lambda: client.delete_flavor(str(flavor.id))))
    result.changes.append(f"registered the ZenML flavor {ORCHESTRATOR_FLAVOR!r}")


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
    wanted = _plain(component.configuration)
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
    current = _plain(existing.configuration)
    if current == wanted and _has_labels(existing.labels, plan.labels):
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
    if all(current.get(kind) == [component_id] for kind, component_id in components.items()) and _has_labels(
        existing.labels, plan.labels
    ):
        return
    client.update_stack(existing.id, component_updates=components, labels=plan.labels)
    result.changes.append(f"updated stack {plan.stack_name!r}")


def _ensure_step_credentials(
    client: Client,
    config: StackConfig,
    plan: StackPlan,
    server_url: str,
    state: _State,
    result: RegistrationResult,
    undo: list[tuple[str, Callable[[], None]]],
) -> None:
    """A service account for the steps, its API key, and both URL and key in the stack's secret.

    Left as is when the secret already holds this server's URL and the account's current key.
    """
    from zenml.exceptions import IllegalOperationError
    from zenml.models.v2.core.api_key import APIKey

    account = state.service_account
    if account is None:
        try:
            account = client.create_service_account(
                name=plan.service_account, description=plan.service_account_description
            )
        except IllegalOperationError:
            raise RegistrationError(
                "only a ZenML admin may create the service account the steps log in with: log in as an "
                "admin, or create a service account and API key yourself (`zenml service-account create`) "
                "and pass the key in SAGEMAKER_STACK_STEPS_API_KEY"
            ) from None
        created_account = account
        undo.append(
            (
                f"service account {plan.service_account!r}",
                lambda: client.delete_service_account(created_account.id),
            )
        )
        result.changes.append(f"created service account {plan.service_account!r}")
    keys = client.list_api_keys(account.id, name=API_KEY_NAME).items
    key = keys[0] if keys else None

    stored = _read_secret(config)
    stored_key_id = None
    if isinstance(stored.get("api_key"), str):
        try:
            stored_key_id = APIKey.decode_api_key(stored["api_key"]).id
        except ValueError:
            stored_key_id = None
    if key is not None and key.active and stored.get("server_url") == server_url and stored_key_id == key.id:
        return

    if key is None:
        new_key = client.create_api_key(
            account.id, name=API_KEY_NAME, description="read by the steps' entrypoint"
        )
        undo.append(
            (f"API key of {plan.service_account!r}", lambda: client.delete_api_key(account.id, new_key.id))
        )
    else:
        # The old key stops working at once: only the secret held it, and it is rewritten next.
        new_key = client.rotate_api_key(account.id, key.id, retain_period_minutes=0)
    assert new_key.key is not None
    _write_secret(config, {"server_url": server_url, "api_key": new_key.key})
    result.changes.append(
        f"stored the ZenML server URL and a new API key of {plan.service_account!r} in the stack's secret"
    )


def _store_given_credentials(
    config: StackConfig, server_url: str, api_key: str, result: RegistrationResult
) -> None:
    stored = _read_secret(config)
    if stored.get("server_url") == server_url and stored.get("api_key") == api_key:
        return
    _write_secret(config, {"server_url": server_url, "api_key": api_key})
    result.changes.append("stored the ZenML server URL and the given API key in the stack's secret")


# --- unregister ------------------------------------------------------------------------------------


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
        reason = f"{type(error).__name__}: {_first_line(error)}"
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
        if not _is_ours(stack.labels, stack_name):
            raise RegistrationError(
                f"ZenML stack {stack_name!r} was not made by sagemaker-stack: left alone, nothing removed"
            )
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
            result.kept.append(f"{what} ({_first_line(error)})")
        else:
            result.removed.append(what)

    account = _find_service_account(client, f"{stack_name}-steps")
    if account is not None and _is_our_account(account, stack_name):
        key_ids = [key.id for key in client.list_api_keys(account.id).items]
        for key_id in key_ids:
            client.delete_api_key(account.id, key_id)
        note = _delete_account(client, account.id)
        result.removed.append(f"service account {account.name!r} and its API key{note}")
    if config is not None:
        _wipe_secret(config, result)


def _wipe_secret(config: StackConfig, result: UnregistrationResult) -> None:
    """Remove the server URL and key `register` stored (also a key the user gave: the stack is gone
    from ZenML, so its steps have nothing to log in to)."""
    try:
        if "api_key" not in _read_secret(config):
            return
        _write_secret(config, {})
    except Exception as error:  # the AWS stack may be gone already; the key is revoked anyway
        result.kept.append(f"the stack's secret could not be cleared ({type(error).__name__})")
    else:
        result.removed.append("the ZenML credentials from the stack's secret")


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


def _our_components(client: Client, stack_name: str) -> Iterator[ComponentResponse]:
    page_number = 1
    while True:
        page = client.list_stack_components(page=page_number, size=100, hydrate=True)
        for component in page.items:
            if _is_ours(component.labels, stack_name):
                yield component
        if page_number >= page.total_pages:
            return
        page_number += 1


def _is_ours(labels: Mapping[str, Any] | None, stack_name: str) -> bool:
    labels = labels or {}
    return labels.get(MANAGED_LABEL) == "true" and labels.get(STACK_LABEL) == stack_name


def _is_our_account(account: ServiceAccountResponse, stack_name: str) -> bool:
    return account.description.startswith(f"{SERVICE_ACCOUNT_MARKER} {stack_name!r}:")


def _has_labels(labels: Mapping[str, Any] | None, wanted: Mapping[str, str]) -> bool:
    labels = labels or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def _active_stack_name(client: Client) -> str | None:
    try:
        return str(client.active_stack_model.name)
    except Exception:
        return None


def _server_url(client: Client) -> str:
    return str(client.zen_store.url).rstrip("/")


def _secrets_client(config: StackConfig) -> Any:
    import boto3

    return boto3.session.Session(region_name=config.region).client(
        "secretsmanager", endpoint_url=config.endpoint_url
    )


def _read_secret(config: StackConfig) -> dict[str, Any]:
    """The secret's current JSON object, or {} (the stack's generated placeholder is not JSON)."""
    import botocore.exceptions

    try:
        value = _secrets_client(config).get_secret_value(SecretId=config.secret_arn).get("SecretString")
    except botocore.exceptions.ClientError:
        return {}
    try:
        data = json.loads(value or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write_secret(config: StackConfig, value: Mapping[str, Any]) -> None:
    import botocore.exceptions

    try:
        _secrets_client(config).put_secret_value(SecretId=config.secret_arn, SecretString=json.dumps(value))
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise RegistrationError(f"cannot write the stack's secret {config.secret_arn} ({code})") from None


def _undo(undo: list[tuple[str, Callable[[], None]]]) -> list[str]:
    problems = []
    for what, action in reversed(undo):
        try:
            action()
        except Exception as error:
            problems.append(f"{what}: {_first_line(error)}")
    return problems


def _plain(value: Any) -> Any:
    """A JSON-plain copy (what ZenML stores and returns), for comparisons and YAML."""
    return json.loads(json.dumps(value))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
