"""The AWS side of registration: the stack still exists, and the steps' credentials in its secret.

The ZenML server URL and an API key go into the stack's Secrets Manager secret and nowhere else
(not in a component's configuration, the YAML file, a log line or an error). Its JSON keys are
`sagemaker_stack.config.SecretKey`, which the step entrypoint reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sagemaker_stack import aws
from sagemaker_stack.config import LOCAL_FIELDS, OutputName, SecretKey, StackConfig
from sagemaker_stack.ops.registration.plan import (
    API_KEY_NAME,
    RegistrationError,
    RegistrationResult,
    StackPlan,
    UnregistrationResult,
)

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.models import ServiceAccountResponse


def check_deployed(config: StackConfig) -> None:
    """Fail unless the AWS stack behind `config` still exists: the stack, its secret and bucket.

    A stack of the user's may hold several constructs: the config's is the one with its resource
    prefix (unique in an app), whatever its construct id.
    """

    from sagemaker_stack.ops.outputs import (
        OutputsError,
        config_from_outputs,
        construct_outputs,
        describe_stack_outputs,
    )

    try:
        outputs = describe_stack_outputs(
            config.stack_name, region=config.region, endpoint_url=config.endpoint_url
        )
        several = sum(key.endswith(OutputName.STACK_CONFIG_JSON) for key in outputs) > 1
        chosen = construct_outputs(
            outputs, stack_name=config.stack_name, construct=config.resource_prefix if several else None
        )
        deployed = config_from_outputs(chosen, stack_name=config.stack_name, endpoint_url=config.endpoint_url)
    except OutputsError as error:
        raise RegistrationError(str(error)) from None
    stale = [
        key
        for key, value in deployed.model_dump(exclude=set(LOCAL_FIELDS)).items()
        if getattr(config, key) != value
    ]
    if stale:
        raise RegistrationError(
            f"the config does not match the deployed stack {config.stack_name!r} "
            f"({', '.join(stale)} differ): run `sagemaker-stack export` again"
        )
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        (
            f"secret {config.secret_arn} cannot be read",
            lambda: _client(config, "secretsmanager").describe_secret(SecretId=config.secret_arn),
        ),
        (
            f"bucket {config.bucket_name} cannot be reached",
            lambda: _client(config, "s3").head_bucket(Bucket=config.bucket_name),
        ),
    )
    for what, check in checks:
        problem = _call_problem(check)
        if problem is not None:
            raise RegistrationError(f"the stack's {what} {problem}")


def _call_problem(call: Callable[[], object]) -> str | None:
    """Why an AWS call failed, in a user's words (`(code): advice`); None when it worked."""
    import botocore.exceptions

    try:
        call()
    except aws.ClientError as error:
        return (
            f"({aws.error_code(error)}): was the stack destroyed? "
            "Deploy it and run `sagemaker-stack export` again"
        )
    except botocore.exceptions.BotoCoreError as error:
        return f"(AWS is not reachable: {error})"
    return None


def ensure_step_credentials(
    client: Client,
    config: StackConfig,
    plan: StackPlan,
    server_url: str,
    account: ServiceAccountResponse | None,
    result: RegistrationResult,
    undo: list[tuple[str, Callable[[], None]]],
) -> None:
    """A service account for the steps, its API key, and both URL and key in the stack's secret.

    `account` is the steps' service account if it exists already. Left as is when the secret
    already holds this server's URL and the account's current key. An account `unregister`
    deactivated (ZenML keeps an account that owns runs: it cannot be deleted) is reactivated: it
    is the same stack's, its earlier runs stay attributed to it, and an inactive account's keys
    are refused (`CredentialsNotValid`), so every step would fail.
    """
    from zenml.exceptions import IllegalOperationError
    from zenml.models.v2.core.api_key import APIKey

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
    elif not account.active:
        inactive_id = account.id

        def deactivate() -> None:
            client.update_service_account(inactive_id, active=False)

        client.update_service_account(inactive_id, active=True)
        undo.append((f"reactivation of {plan.service_account!r}", deactivate))
        result.changes.append(f"reactivated service account {plan.service_account!r}")
    account_id = account.id
    keys = client.list_api_keys(account_id, name=API_KEY_NAME).items
    key = keys[0] if keys else None

    stored = read_secret(config)
    stored_key_id = None
    if isinstance(stored.get(SecretKey.API_KEY), str):
        try:
            stored_key_id = APIKey.decode_api_key(stored[SecretKey.API_KEY]).id
        except ValueError:
            stored_key_id = None
    if (
        key is not None
        and key.active
        and stored.get(SecretKey.SERVER_URL) == server_url
        and stored_key_id == key.id
    ):
        return

    if key is None:
        new_key = client.create_api_key(
            account_id, name=API_KEY_NAME, description="read by the steps' entrypoint"
        )
        undo.append(
            (f"API key of {plan.service_account!r}", lambda: client.delete_api_key(account_id, new_key.id))
        )
    else:
        # The old key stops working at once: only the secret held it, and it is rewritten next.
        new_key = client.rotate_api_key(account_id, key.id, retain_period_minutes=0)
    assert new_key.key is not None
    write_secret(config, credentials(server_url, new_key.key))
    result.changes.append(
        f"stored the ZenML server URL and a new API key of {plan.service_account!r} in the stack's secret"
    )


def store_given_credentials(
    config: StackConfig, server_url: str, api_key: str, result: RegistrationResult
) -> None:
    """Put a key the caller made (a non-admin's own service account) into the secret, if not there."""
    wanted = credentials(server_url, api_key)
    if read_secret(config) == wanted:
        return
    write_secret(config, wanted)
    result.changes.append("stored the ZenML server URL and the given API key in the stack's secret")


def wipe_secret(config: StackConfig, result: UnregistrationResult) -> None:
    """Remove the server URL and key `register` stored (also a key the user gave: the stack is gone
    from ZenML, so its steps have nothing to log in to)."""
    from sagemaker_stack.ops.reachability import unreachable_reason

    down = config.endpoint_url and unreachable_reason(config.endpoint_url, timeout=5)
    if down:  # said at once, not after botocore's minute of retries
        where = config.endpoint_url
        result.kept.append(f"the stack's secret could not be cleared (nothing answers at {where})")
        return
    try:
        if SecretKey.API_KEY not in read_secret(config):
            return
        write_secret(config, {})
    except Exception as error:  # the AWS stack may be gone already; the key is revoked anyway
        result.kept.append(f"the stack's secret could not be cleared ({type(error).__name__})")
    else:
        result.removed.append("the ZenML credentials from the stack's secret")


def credentials(server_url: str, api_key: str) -> dict[str, str]:
    """The secret's JSON object for a ZenML server and API key (what the step entrypoint reads)."""
    return {SecretKey.SERVER_URL: server_url, SecretKey.API_KEY: api_key}


def _client(config: StackConfig, service: str) -> Any:
    return aws.client(service, region=config.region, endpoint_url=config.endpoint_url)


def read_secret(config: StackConfig) -> dict[str, Any]:
    """The secret's current JSON object, or {} (the stack's generated placeholder is not JSON)."""
    try:
        value = _client(config, "secretsmanager").get_secret_value(SecretId=config.secret_arn)
    except aws.ClientError:
        return {}
    try:
        data = json.loads(value.get("SecretString") or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_secret(config: StackConfig, value: Mapping[str, Any]) -> None:
    """Replace the secret's value (a new version; Secrets Manager keeps the previous one for a while)."""
    try:
        _client(config, "secretsmanager").put_secret_value(
            SecretId=config.secret_arn, SecretString=json.dumps(value)
        )
    except aws.ClientError as error:
        raise RegistrationError(
            f"cannot write the stack's secret {config.secret_arn} ({aws.error_code(error)})"
        ) from None
