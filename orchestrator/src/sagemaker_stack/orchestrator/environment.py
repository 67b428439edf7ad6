"""The one policy for what may enter a step's environment, which anyone who may DescribePipeline reads.

- Credentials the user puts in a run's environment (ZenML's `environment` of the pipeline or a
  step, or the orchestrator's `environment` setting), by name (TOKEN, PASSWORD, API_KEY, ...) or
  by value (a ZenML API key, a JWT, an AWS access key id, a PEM key, a URL with a password), are
  refused (`credential_problems`) before ZenML stores anything: ZenML keeps the run's
  configuration in its database in plain text, and the definition would publish them. The message
  names the step and the variable, never the value.
- ZenML's connection settings (`ZENML_STORE_*`, the secrets-store settings, `ZENML_CONFIG_PATH`),
  which ZenML itself adds when it submits a run: the step entrypoint sets them from the stack's
  secret, so a client's value is wrong or secret. Dropping these is routine (logged at debug
  level).
- Anything else secret-looking that still reaches a submission (the `environment` of a stack or
  of a stack component, stored in ZenML before this run) is dropped with a warning that names the
  variable, never its value.
- `KNOWN_CREDENTIALS`, which validation refuses outright in a spec built by any other route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from sagemaker_stack.orchestrator.spec import PIPELINE_EXECUTION_ARN, EnvironmentValue
from sagemaker_stack.step.entrypoint import ENV_EXECUTION_ARN, ENV_SECRET_ARN
from sagemaker_stack.step.environment_parts import joined

#: Set by the step entrypoint from the stack's secret (or for itself): a client's value is wrong.
CONNECTION_VARIABLES: Final = frozenset(
    {
        "ZENML_STORE_URL",
        "ZENML_STORE_API_KEY",
        "ZENML_STORE_API_TOKEN",
        "ZENML_STORE_USERNAME",
        "ZENML_STORE_PASSWORD",
        "ZENML_CONFIG_PATH",
    }
)
CONNECTION_PREFIXES: Final = ("ZENML_SECRETS_STORE_", "ZENML_BACKUP_SECRETS_STORE_")

#: Credentials by name: refused in any spec (the definition would publish them).
KNOWN_CREDENTIALS: Final = frozenset(
    {
        "ZENML_STORE_API_KEY",
        "ZENML_STORE_API_TOKEN",
        "ZENML_STORE_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY", re.I
)
#: ZenML API keys, JWTs (ZenML API tokens), AWS access key ids, PEM keys, URLs with a password.
_SECRET_VALUE = re.compile(
    r"ZENKEY_|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN|://[^/\s:@]+:[^/\s@]+@"
)
#: Names that only look secret.
_ALLOWED_NAMES: Final = frozenset(
    {
        ENV_SECRET_ARN,
        ENV_EXECUTION_ARN,
        # ZenML's own switch (zenml.constants.ENV_ZENML_DISABLE_CREDENTIALS_DISK_CACHING), a boolean.
        "DISABLE_CREDENTIALS_DISK_CACHING",
        "ZENML_DISABLE_CREDENTIALS_DISK_CACHING",
    }
)


def is_connection_variable(name: str) -> bool:
    """One of ZenML's connection settings, which the step entrypoint sets itself."""
    return name in CONNECTION_VARIABLES or name.startswith(CONNECTION_PREFIXES)


def looks_like_credential(name: str, value: str) -> bool:
    """A credential by its name or by the look of its value (the few names that only look so aside)."""
    if name in _ALLOWED_NAMES:
        return False
    return bool(_SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


def is_secret(name: str, value: str) -> bool:
    """Whether a variable must stay out of the definition (by its name or by the look of its value)."""
    return is_connection_variable(name) or looks_like_credential(name, value)


def credential_problems(environments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One sentence per variable that looks like a credential, naming its steps, never its value.

    `environments` maps each ZenML step name to the environment the user configured for it (ZenML's
    `environment` and the orchestrator's `environment` setting, pipeline values merged in). A
    variable set at pipeline level reaches every step: it is one sentence, not one per step.
    """
    steps_of: dict[str, list[str]] = {}
    for step, environment in environments.items():
        for name, value in environment.items():
            if looks_like_credential(name, str(value)):
                steps_of.setdefault(name, []).append(step)
    problems = []
    for name, steps in sorted(steps_of.items()):
        where = f"step {steps[0]!r}" if len(steps) == 1 else f"steps {', '.join(map(repr, sorted(steps)))}"
        problems.append(
            f"{where}: environment variable {name} looks like a credential (by its name or its value), "
            "and a run's environment is stored in plain text in ZenML's database and in the SageMaker "
            "pipeline definition: remove it, keep the value in a ZenML secret and read it in the step "
            "(`Client().get_secret(...)`); AWS access comes from the execution role"
        )
    return problems


def public_environment(environment: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the variables safe to put in a definition, the names of those dropped)."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in environment.items():
        if is_secret(name, str(value)):
            dropped.append(name)
        else:
            kept[name] = str(value)
    return kept, sorted(dropped)


def step_environment(
    zenml_environment: Mapping[str, str],
    extra: Mapping[str, str],
    secret_arn: str,
    run_id: EnvironmentValue | None = PIPELINE_EXECUTION_ARN,
) -> tuple[dict[str, EnvironmentValue], list[str]]:
    """A step container's environment: ZenML's and the `environment` setting, minus secrets, plus ours.

    Values already split into parts are joined first, so the policy always judges whole values
    (the definition splits long values again, after the policy). `run_id` is what the container
    reads as `ENV_EXECUTION_ARN` (the execution ARN a pipeline step gets from SageMaker); a
    standalone job of a dynamic pipeline has no execution and passes None.
    """
    merged = joined({**zenml_environment, **extra})
    kept, dropped = public_environment(merged)
    environment: dict[str, EnvironmentValue] = dict(kept)
    environment[ENV_SECRET_ARN] = secret_arn
    if run_id is not None:
        environment[ENV_EXECUTION_ARN] = run_id
    return environment, dropped
