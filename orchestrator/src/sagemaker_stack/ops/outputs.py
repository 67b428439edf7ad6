"""Deployed stack outputs -> StackConfig.

Two sources give the same outputs: the file `cdk deploy -O cdk-outputs.json` writes
(`{"<StackName>": {"OutputKey": "value", ...}}`) and CloudFormation's DescribeStacks. Both end in
`config_from_outputs`, which prefers the single `StackConfigJson` output but checks that it agrees
with the individual outputs: two views of one stack that disagree mean the recipe and this package
are out of step, and guessing which one is right would hand a wrong ARN to every later command.

Outputs never hold a secret value (the stack exports the secret's ARN only), and nothing here
prints output values in errors except names, so an error message is safe to paste anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.config import (
    DEFAULT_CONSTRUCT_ID,
    LOCAL_FIELDS,
    OPTIONAL_OUTPUTS,
    OUTPUT_FIELDS,
    REQUIRED_OUTPUTS,
    STACK_OUTPUTS,
    ConfigError,
    OutputName,
    StackConfig,
    StackOutput,
    output_key,
    read_json_file,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

#: Outputs that hold a boolean as text ("true" / "false"): those of StackConfig's bool fields.
BOOLEAN_OUTPUTS: Final = tuple(
    name for name, field in OUTPUT_FIELDS.items() if StackConfig.model_fields[field].annotation is bool
)

#: Stack statuses whose outputs describe a working stack (an update that rolled back restored the
#: previous, working resources and outputs).
USABLE_STATUSES: Final = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)

_REDEPLOY_HINT = "was the stack deployed with this version of the recipe? Run `cdk deploy` again"


class OutputsError(ConfigError):
    """The stack's outputs cannot be read or do not describe a usable stack."""


def config_from_outputs(
    outputs: Mapping[str, str],
    *,
    stack_name: str,
    endpoint_url: str | None = None,
    source: str = "stack outputs",
) -> StackConfig:
    """Build the StackConfig from one stack's outputs (key -> string value).

    All of REQUIRED_OUTPUTS must be present, OPTIONAL_OUTPUTS are taken when they are.
    `StackConfigJson`, when present, must be a JSON object of StackConfig fields that agrees with
    them; `endpoint_url` is set only for the emulator.
    """
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise OutputsError(
            f"stack {stack_name!r} ({source}) lacks the output(s) {', '.join(missing)}: {_REDEPLOY_HINT}"
        )
    present = [*REQUIRED_OUTPUTS, *(name for name in OPTIONAL_OUTPUTS if outputs.get(name))]
    individual: dict[str, Any] = {OUTPUT_FIELDS[name]: outputs[name] for name in present}
    for name in BOOLEAN_OUTPUTS:
        if name in present:
            individual[OUTPUT_FIELDS[name]] = _parse_bool(name, outputs[name], stack_name)
    data: dict[str, Any] = dict(individual)

    raw_json = outputs.get(OutputName.STACK_CONFIG_JSON)
    if raw_json is not None:
        combined = _parse_config_json(raw_json, stack_name)
        for name in OPTIONAL_OUTPUTS:
            field = OUTPUT_FIELDS[name]
            if combined.get(field) not in (None, "") and field not in individual:
                raise OutputsError(
                    f"stack {stack_name!r} ({source}): output {OutputName.STACK_CONFIG_JSON} names "
                    f"{field}={combined[field]!r} but the stack has no {name} output (was the resource "
                    f"created?): {_REDEPLOY_HINT}"
                )
        for field, value in individual.items():
            if field in combined and _normalize(combined[field]) != _normalize(value):
                raise OutputsError(
                    f"stack {stack_name!r} ({source}): output {OutputName.STACK_CONFIG_JSON} says "
                    f"{field}={combined[field]!r} but the individual output says {value!r}: "
                    f"{_REDEPLOY_HINT}"
                )
        data.update(combined)

    declared_name = data.get("stack_name", stack_name)
    if declared_name != stack_name:
        raise OutputsError(
            f"stack {stack_name!r} ({source}): its {OutputName.STACK_CONFIG_JSON} names stack "
            f"{declared_name!r}: {_REDEPLOY_HINT}"
        )
    data["stack_name"] = stack_name
    if data.get("scheduler_role_arn") == "":
        data["scheduler_role_arn"] = None
    if endpoint_url is not None:
        data["endpoint_url"] = endpoint_url
    return StackConfig.from_dict(data, source=f"stack {stack_name!r} ({source})")


def construct_outputs(
    outputs: Mapping[str, str],
    *,
    stack_name: str,
    construct: str | None = None,
    source: str = "stack outputs",
) -> dict[str, str]:
    """The outputs of one `ZenmlSageMaker` construct of the stack, under the table's plain names.

    A stack may hold several constructs, each with its rows under its own output prefix
    (`config.output_key`), found by their `StackConfigJson` outputs. `construct` names one by its
    output prefix (its construct id; "Default" for the plain names) or its resource prefix;
    without it the stack must hold exactly one. A stack without any `StackConfigJson` (deployed
    before it existed) is one construct with the plain names.
    """
    found = constructs_of(outputs)
    if construct is None:
        if len(found) > 1:
            raise OutputsError(
                f"stack {stack_name!r} ({source}) holds {len(found)} sagemaker-stack constructs: "
                f"{constructs_text(found)}; pick one with --construct <id or resource prefix>"
            )
        prefix = next(iter(found))
    else:
        wanted = "" if construct == DEFAULT_CONSTRUCT_ID else construct
        matches = [prefix for prefix, resource_prefix in found.items() if wanted in (prefix, resource_prefix)]
        if len(matches) != 1:
            raise OutputsError(
                f"stack {stack_name!r} ({source}) has no sagemaker-stack construct {construct!r}; "
                f"it holds: {constructs_text(found)}. Pass one of those to --construct"
            )
        prefix = matches[0]
    rows: tuple[StackOutput | None, ...] = (*STACK_OUTPUTS, None)
    names = [row.name if row else OutputName.STACK_CONFIG_JSON for row in rows]
    return {name: outputs[output_key(prefix, name)] for name in names if output_key(prefix, name) in outputs}


def constructs_of(outputs: Mapping[str, str]) -> dict[str, str | None]:
    """The sagemaker-stack constructs a stack's outputs show: output prefix ('' for the default
    construct, whose outputs keep the plain names) -> resource prefix (None if unknown). A stack
    without any `StackConfigJson` (deployed before it existed) is one default construct."""
    found = {
        key[: -len(OutputName.STACK_CONFIG_JSON)]: _resource_prefix_of(value)
        for key, value in outputs.items()
        if key.endswith(OutputName.STACK_CONFIG_JSON)
    }
    return found or {"": None}


def _resource_prefix_of(config_json: str) -> str | None:
    try:
        value = json.loads(config_json)
    except json.JSONDecodeError:
        return None
    prefix = value.get("resource_prefix") if isinstance(value, dict) else None
    return prefix if isinstance(prefix, str) else None


def constructs_text(found: Mapping[str, str | None]) -> str:
    """Each construct as its --construct id, with its resource prefix."""
    return ", ".join(
        f"{prefix or DEFAULT_CONSTRUCT_ID}"
        + (f" (resource prefix {resource_prefix})" if resource_prefix else "")
        for prefix, resource_prefix in sorted(found.items())
    )


def keep_local_fields(config: StackConfig, path: str | os.PathLike[str]) -> StackConfig:
    """`config` with what an existing file at `path` holds that no output carries (the base image).

    Re-exporting must not lose the base image `image build` recorded, as long as the file
    describes the same stack and registry (a base image is only valid in its own repository).
    """
    try:
        previous = StackConfig.load(path)
    except ConfigError:
        return config
    if (previous.stack_name, previous.region, previous.registry_uri, previous.repository_name) != (
        config.stack_name,
        config.region,
        config.registry_uri,
        config.repository_name,
    ):
        return config
    kept = {field: getattr(previous, field) for field in LOCAL_FIELDS if getattr(config, field) is None}
    return config.model_copy(update=kept)


def read_outputs_file(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Read a `cdk deploy -O` file: stack name -> outputs."""
    file = Path(path)
    data = read_json_file(
        file,
        missing=f"no outputs file at {file}: run `cdk deploy -O {file}` first, "
        "or export straight from CloudFormation with --stack-name and --region",
        what="outputs file",
        error=OutputsError,
    )
    if not isinstance(data, dict) or not all(isinstance(value, dict) for value in data.values()):
        raise OutputsError(
            f"{file} is not a `cdk deploy -O` outputs file (expected {{stack name: {{output: value}}}})"
        )
    return {str(name): {str(k): str(v) for k, v in outputs.items()} for name, outputs in data.items()}


def config_from_outputs_file(
    path: str | os.PathLike[str],
    *,
    stack_name: str | None = None,
    endpoint_url: str | None = None,
    construct: str | None = None,
) -> StackConfig:
    """The StackConfig of `stack_name` (and its `construct`) in a `cdk deploy -O` file.

    Without a stack name the file must hold exactly one stack (the usual `cdk deploy <stack>`).
    """
    stacks = read_outputs_file(path)
    if stack_name is None:
        if len(stacks) != 1:
            raise OutputsError(
                f"{path} holds {len(stacks)} stacks ({_names(stacks)}): pick one with --stack-name"
            )
        stack_name = next(iter(stacks))
    if stack_name not in stacks:
        raise OutputsError(
            f"stack {stack_name!r} is not in {path}; it holds: {_names(stacks)}. "
            "Pass the right --stack-name, or deploy that stack with `cdk deploy -O`"
        )
    chosen = construct_outputs(
        stacks[stack_name], stack_name=stack_name, construct=construct, source=str(path)
    )
    return config_from_outputs(chosen, stack_name=stack_name, endpoint_url=endpoint_url, source=str(path))


def describe_stack_outputs(
    stack_name: str,
    *,
    region: str,
    endpoint_url: str | None = None,
    client: CloudFormationClient | None = None,
) -> dict[str, str]:
    """The outputs of a deployed, usable stack, from CloudFormation DescribeStacks.

    Every way this commonly fails (not deployed, failed or busy stack, no credentials, endpoint
    unreachable) becomes one OutputsError saying what to do.
    """
    import botocore.exceptions

    where = f"region {region}" + (f" at {endpoint_url}" if endpoint_url else "")
    try:
        if client is None:
            from sagemaker_stack import aws

            client = aws.client("cloudformation", region=region, endpoint_url=endpoint_url)
        response = client.describe_stacks(StackName=stack_name)
    except botocore.exceptions.ClientError as error:
        info = error.response.get("Error", {})
        message = str(info.get("Message", ""))
        if info.get("Code") == "ValidationError" and "does not exist" in message:
            raise OutputsError(
                f"stack {stack_name!r} is not deployed in {where}: run `cdk deploy` first"
            ) from None
        raise OutputsError(
            f"CloudFormation DescribeStacks for {stack_name!r} in {where} failed: "
            f"{info.get('Code', 'error')}: {message}"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise OutputsError(
            "no AWS credentials found: configure them (`aws configure`, AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and try again"
        ) from None
    except botocore.exceptions.EndpointConnectionError as error:
        raise OutputsError(
            f"cannot reach CloudFormation in {where} ({error.kwargs.get('endpoint_url', 'endpoint')}): "
            "check the network, the region, or that the emulator is running"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise OutputsError(f"CloudFormation DescribeStacks for {stack_name!r} failed: {error}") from None

    stacks = response.get("Stacks", [])
    if not stacks:
        raise OutputsError(f"stack {stack_name!r} is not deployed in {where}: run `cdk deploy` first")
    stack = stacks[0]
    status = stack.get("StackStatus", "UNKNOWN")
    if status not in USABLE_STATUSES:
        raise OutputsError(_status_problem(stack_name, where, status))
    return {
        output["OutputKey"]: output.get("OutputValue", "")
        for output in stack.get("Outputs", [])
        if "OutputKey" in output
    }


def config_from_cloudformation(
    stack_name: str,
    *,
    region: str,
    endpoint_url: str | None = None,
    client: CloudFormationClient | None = None,
    construct: str | None = None,
) -> StackConfig:
    """The StackConfig of a deployed stack (of its `construct`, when it holds several), read with
    DescribeStacks.

    An explicit `endpoint_url` (the emulator) is used for the call and recorded in the config;
    AWS_ENDPOINT_URL from the environment is honoured by boto3 but not recorded.
    """
    outputs = describe_stack_outputs(stack_name, region=region, endpoint_url=endpoint_url, client=client)
    source = f"CloudFormation, region {region}"
    chosen = construct_outputs(outputs, stack_name=stack_name, construct=construct, source=source)
    return config_from_outputs(chosen, stack_name=stack_name, endpoint_url=endpoint_url, source=source)


def _status_problem(stack_name: str, where: str, status: str) -> str:
    if status.endswith("_IN_PROGRESS"):
        return (
            f"stack {stack_name!r} in {where} is busy ({status}): wait until `cdk deploy` or "
            "`cdk destroy` finishes, then run this again"
        )
    if status.startswith("DELETE"):
        return f"stack {stack_name!r} in {where} is being deleted or gone ({status}): run `cdk deploy` first"
    return (
        f"stack {stack_name!r} in {where} is in status {status}, so its outputs cannot be trusted: "
        "see the stack's events in CloudFormation, then fix and `cdk deploy` again "
        "(a stack in ROLLBACK_COMPLETE must be destroyed first with `cdk destroy`)"
    )


def _parse_config_json(raw: str, stack_name: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise OutputsError(
            f"stack {stack_name!r}: output {OutputName.STACK_CONFIG_JSON} is not valid JSON: {_REDEPLOY_HINT}"
        ) from None
    if not isinstance(value, dict):
        raise OutputsError(
            f"stack {stack_name!r}: output {OutputName.STACK_CONFIG_JSON} is not a JSON object: "
            f"{_REDEPLOY_HINT}"
        )
    return value


def _parse_bool(name: str, value: str, stack_name: str) -> bool:
    text = value.strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise OutputsError(f"stack {stack_name!r}: output {name} is {value!r}, expected true or false")


def _normalize(value: Any) -> Any:
    """Outputs are strings while the JSON output keeps types: compare them as text."""
    if isinstance(value, list | tuple):  # subnet ids: comma-separated in their own output
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    text = str(value)
    return text.lower() if text.lower() in {"true", "false"} else text


def _names(stacks: Mapping[str, Any]) -> str:
    return ", ".join(sorted(stacks)) or "no stacks"
