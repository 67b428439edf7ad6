"""What a build's shell starts with: the variables CodeBuild sets, and the user's, resolved.

Like a step process, a build (`container.host_environment`) gets nothing of the emulator's own
environment but what runs programs: credentials standing for the service role, the region,
the emulator's endpoint, a fresh HOME. On top of that come what a CodeBuild standard image has on
its PATH (the AWS CLI and Python from the emulator's environment, and a `docker` command that
runs the emulator's `docker` stand-in) and the `CODEBUILD_*` variables.

Variables of type PARAMETER_STORE and SECRETS_MANAGER are read from the emulator's own backends
(in this process, as the runner reads S3); their values are also returned so that the log can
mask them, as CodeBuild does. A variable that cannot be read fails the phase with CLIENT_ERROR.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

from sagemaker_stack.local.codebuild.record import PhaseFailure
from sagemaker_stack.local.images.container import host_environment
from sagemaker_stack.local.state.lock import STATE

#: Where the emulator's `docker` stand-in keeps images; the shim passes it on.
IMAGE_STORE_VARIABLE = "EMULATOR_IMAGE_STORE"
DOCKER_CLI_MODULE = "sagemaker_stack.local.images.docker_cli"


@dataclass
class ResolvedVariables:
    values: dict[str, str]
    secrets: list[str]  # values read from Parameter Store / Secrets Manager, masked in the log


def write_docker_shim(bin_dir: Path) -> Path:
    """`<bin_dir>/docker`: runs the emulator's stand-in with the emulator's own Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "docker"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {DOCKER_CLI_MODULE} "$@"\n')
    shim.chmod(0o700)  # its user runs it; the state folder is private
    return shim


def base_environment(
    *, region: str, endpoint_url: str, home: Path, bin_dir: Path, image_store: Path
) -> dict[str, str]:
    environment = host_environment(region=region, endpoint_url=endpoint_url, home=home)
    environment["PATH"] = os.pathsep.join([str(bin_dir), environment["PATH"]])
    environment[IMAGE_STORE_VARIABLE] = str(image_store)
    return environment


def resolve(variables: Iterable[Mapping[str, Any]], *, account_id: str, region: str) -> ResolvedVariables:
    """`environmentVariables` entries (name, value, type) to values; later entries win."""
    resolved = ResolvedVariables({}, [])
    for variable in variables:
        kind = str(variable.get("type") or "PLAINTEXT")
        name, value = str(variable["name"]), str(variable.get("value", ""))
        if kind == "PLAINTEXT":
            resolved.values[name] = value
            continue
        if kind == "PARAMETER_STORE":
            secret = parameter(value, account_id=account_id, region=region)
        elif kind == "SECRETS_MANAGER":
            secret = secret_value(value, account_id=account_id, region=region)
        else:
            raise PhaseFailure("CLIENT_ERROR", f"environment variable {name} has unknown type {kind}")
        resolved.values[name] = secret
        resolved.secrets.append(secret)
    return resolved


def parameter(name: str, *, account_id: str, region: str) -> str:
    try:
        with STATE.shared(changes=False):
            found = ssm_backends[account_id][region].get_parameter(name)
    except JsonRESTError as error:
        raise PhaseFailure("CLIENT_ERROR", f"Parameter Store error for {name}: {error.message}") from None
    if found is None:
        raise PhaseFailure("CLIENT_ERROR", f"Parameter Store error: parameter does not exist: {name}")
    return str(found.value)


def secret_value(reference: str, *, account_id: str, region: str) -> str:
    """`secret-id[:json-key[:version-stage[:version-id]]]`, the secret id a name or an ARN."""
    parts = reference.split(":")
    head = 7 if reference.startswith("arn:") else 1
    secret_id = ":".join(parts[:head])
    json_key, stage, version = ([*parts[head:], "", "", ""])[:3]
    try:
        with STATE.shared():  # moto records when a secret was last read
            document = secretsmanager_backends[account_id][region].get_secret_value(secret_id, version, stage)
    except JsonRESTError as error:
        raise PhaseFailure(
            "CLIENT_ERROR", f"Secrets Manager error for {secret_id}: {error.message}"
        ) from None
    except KeyError:
        raise PhaseFailure(
            "CLIENT_ERROR", f"Secrets Manager error: secret {secret_id} does not exist"
        ) from None
    value = str(document.get("SecretString", ""))
    if not json_key:
        return value
    try:
        field = json.loads(value)[json_key]
    except (ValueError, TypeError, KeyError):
        raise PhaseFailure(
            "CLIENT_ERROR", f"Secrets Manager error: secret {secret_id} has no JSON key {json_key}"
        ) from None
    return field if isinstance(field, str) else json.dumps(field)


def codebuild_variables(build: Mapping[str, Any], *, source_dir: Path, log_stream: str) -> dict[str, str]:
    """The variables CodeBuild sets in every build, from its record."""
    source = build.get("source", {})
    location = str(source.get("location", ""))
    start = build["startTime"]
    return {
        "CODEBUILD_BUILD_ARN": str(build["arn"]),
        "CODEBUILD_BUILD_ID": str(build["id"]),
        "CODEBUILD_BUILD_IMAGE": str(build["environment"]["image"]),
        "CODEBUILD_BUILD_NUMBER": str(build["buildNumber"]),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "CODEBUILD_INITIATOR": str(build.get("initiator", "")),
        "CODEBUILD_KMS_KEY_ID": str(build.get("encryptionKey", "")),
        "CODEBUILD_LOG_PATH": log_stream,
        "CODEBUILD_PROJECT_ARN": str(build["arn"]).split(":build/")[0] + f":project/{build['projectName']}",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": str(build.get("resolvedSourceVersion", "")),
        "CODEBUILD_SOURCE_REPO_URL": f"s3://{location}" if source.get("type") == "S3" else location,
        "CODEBUILD_SOURCE_VERSION": str(build.get("sourceVersion", "")),
        "CODEBUILD_SRC_DIR": str(source_dir),
        "CODEBUILD_START_TIME": str(int(start.timestamp() * 1000)),
    }
