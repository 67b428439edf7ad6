"""The step container's entrypoint: credentials from Secrets Manager, then ZenML's step.

`python -m sagemaker_stack.step.entrypoint --entrypoint_config_source ... --snapshot_id ... --step_name ...`

Why a wrapper: a SageMaker step's Environment is readable by anyone who may DescribePipeline,
so the pipeline definition carries only the ARN of the stack's secret
(`SAGEMAKER_STACK_SECRET_ARN`). With the execution role the step reads the ZenML server URL and a
service account's API key from that secret, points ZenML at the server (`ZENML_STORE_URL`, a
fresh `ZENML_CONFIG_PATH`), joins the environment values the definition had to split to fit
SageMaker's 256 characters, and only then imports ZenML. The API key goes straight into ZenML's
credentials store, in memory only (ZenML's `DISABLE_CREDENTIALS_DISK_CACHING`): never into
`os.environ`, where every process the step's code starts would inherit it, and never on disk.
ZenML logs in again with it from there whenever its token expires. The values are never printed,
logged or put in an exception.

This module imports neither ZenML nor anything that does: ZenML reads its store configuration
from the environment when it is first imported. The ZenML side of the step (where the code is
unpacked) is `sagemaker_stack.step.configuration`, which ZenML loads by its source path.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import MutableMapping, Sequence
from typing import Any, Final

from sagemaker_stack import aws
from sagemaker_stack.config import SecretKey
from sagemaker_stack.step.environment_parts import join_parts

#: Environment variable holding the ARN of the stack's secret (set in the definition).
ENV_SECRET_ARN: Final = "SAGEMAKER_STACK_SECRET_ARN"
#: Environment variable holding the SageMaker pipeline execution ARN (a `Get` expression in the
#: definition that SageMaker resolves when the execution starts); the ZenML orchestrator run id.
ENV_EXECUTION_ARN: Final = "SAGEMAKER_STACK_EXECUTION_ARN"
#: Environment variable holding the name of a dynamic pipeline's orchestration job (set in its
#: request): the run's ZenML orchestrator run id, as the execution ARN is a static run's.
ENV_ORCHESTRATION_JOB: Final = "SAGEMAKER_STACK_ORCHESTRATION_JOB"

#: ZenML's `ENV_ZENML_DISABLE_CREDENTIALS_DISK_CACHING` (sic, no prefix): its credentials store
#: then neither reads nor writes `credentials.yaml`, so the API key is never on disk.
DISABLE_DISK_CACHING: Final = "DISABLE_CREDENTIALS_DISK_CACHING"
#: The command each step's container runs (ContainerEntrypoint); the package must be installed
#: in the step image (on the emulator: in the interpreter the engine starts).
ENTRYPOINT_COMMAND: Final = ("python", "-m", "sagemaker_stack.step.entrypoint")
#: Where ZenML finds our entrypoint configuration (an import path, so it resolves in any image).
ENTRYPOINT_CONFIGURATION_SOURCE: Final = (
    "sagemaker_stack.step.configuration.SagemakerStackStepEntrypointConfiguration"
)
#: The same for a step group: several steps of a pipeline in one job (`step.group_runner`).
STEP_GROUP_CONFIGURATION_SOURCE: Final = (
    "sagemaker_stack.step.configuration.SagemakerStackStepGroupConfiguration"
)
#: The same for an isolated step of a dynamic pipeline (it runs the step run ZenML created).
ISOLATED_STEP_CONFIGURATION_SOURCE: Final = (
    "sagemaker_stack.step.configuration.SagemakerStackIsolatedStepConfiguration"
)
#: The same for a dynamic pipeline's orchestration job (ZenML's dynamic pipeline runner).
DYNAMIC_PIPELINE_CONFIGURATION_SOURCE: Final = (
    "sagemaker_stack.step.configuration.SagemakerStackDynamicPipelineConfiguration"
)


class CredentialsError(RuntimeError):
    """The stack's secret cannot give this step ZenML credentials; the message says how to fix it."""


def read_server_credentials(secret_arn: str, client: Any = None) -> tuple[str, str]:
    """(server URL, API key) from the stack's secret; CredentialsError without the secret's value.

    `client` is a Secrets Manager client; by default one from boto3's default credential chain
    (the step's execution role on SageMaker) in the secret's own region, with the endpoint from
    AWS_ENDPOINT_URL when set (the emulator).
    """
    if client is None:
        region = (
            aws.arn_region(secret_arn) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        client = aws.client("secretsmanager", region=region)
    try:
        response = client.get_secret_value(SecretId=secret_arn)
    except Exception as error:  # botocore ClientError, NoCredentialsError, EndpointConnectionError
        code = aws.error_code(error)
        raise CredentialsError(
            f"cannot read the stack's secret {secret_arn} ({code}): the step's execution role needs "
            "secretsmanager:GetSecretValue on it, and the secret must exist"
        ) from None
    raw = response.get("SecretString")
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CredentialsError(
            f"the stack's secret {secret_arn} holds no ZenML credentials yet (still the placeholder the "
            "stack was deployed with): run `sagemaker-stack register` to store the server URL and API key"
        )
    url, key = data.get(SecretKey.SERVER_URL), data.get(SecretKey.API_KEY)
    missing = [
        name
        for name, value in ((SecretKey.SERVER_URL, url), (SecretKey.API_KEY, key))
        if not isinstance(value, str) or not value
    ]
    if missing:
        raise CredentialsError(
            f"the stack's secret {secret_arn} lacks {' and '.join(missing)}: run `sagemaker-stack register` "
            "again to store the ZenML server URL and API key"
        )
    assert isinstance(url, str) and isinstance(key, str)
    return url.rstrip("/"), key


def configure_zenml_environment(
    environ: MutableMapping[str, str], server_url: str, config_root: str | None = None
) -> str:
    """Point ZenML at the server, with a fresh config folder; returns that folder.

    Credentials from the definition (there should be none) are dropped so the secret's API key,
    given to ZenML by `give_zenml_the_key`, always wins; credentials are kept in memory only.
    """
    environ["ZENML_STORE_URL"] = server_url
    for name in (
        "ZENML_STORE_API_KEY",
        "ZENML_STORE_API_TOKEN",
        "ZENML_STORE_USERNAME",
        "ZENML_STORE_PASSWORD",
    ):
        environ.pop(name, None)
    environ.setdefault("ZENML_STORE_TYPE", "rest")
    environ[DISABLE_DISK_CACHING] = "true"
    config_path = tempfile.mkdtemp(prefix="zenml-config-", dir=config_root)
    environ["ZENML_CONFIG_PATH"] = config_path
    remove_at_exit(config_path)
    return config_path


def remove_at_exit(path: str) -> None:
    """A step's scratch folders go with its process (they matter on the emulator's shared /tmp)."""
    atexit.register(shutil.rmtree, path, ignore_errors=True)


def give_zenml_the_key(server_url: str, api_key: str) -> None:
    """The API key into ZenML's credentials store of this process (call after `prepare`)."""
    from zenml.login.credentials_store import get_credentials_store

    get_credentials_store().set_api_key(server_url, api_key)


def prepare(environ: MutableMapping[str, str] | None = None, client: Any = None) -> tuple[str, str]:
    """Everything before ZenML is imported: long values joined, credentials, a fresh config folder.

    Values the definition had to split (`environment_parts`) are joined first, so that ZenML and
    the step's code see each variable whole, and so that the credentials set next always win.
    """
    env = os.environ if environ is None else environ
    join_parts(env)
    secret_arn = env.get(ENV_SECRET_ARN)
    if not secret_arn:
        raise CredentialsError(
            f"{ENV_SECRET_ARN} is not set: this step was not submitted by the sagemaker_pipelines "
            "orchestrator, or its definition was edited"
        )
    url, key = read_server_credentials(secret_arn, client=client)
    configure_zenml_environment(env, url)
    return url, key


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ZenML step; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        url, key = prepare()
    except CredentialsError as error:
        print(f"sagemaker-stack entrypoint: {error}", file=sys.stderr)
        return 2
    # Imported only now: ZenML reads its store configuration from the environment on import.
    give_zenml_the_key(url, key)
    from zenml.entrypoints import entrypoint as zenml_entrypoint

    sys.argv = [sys.argv[0], *arguments]
    zenml_entrypoint.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
