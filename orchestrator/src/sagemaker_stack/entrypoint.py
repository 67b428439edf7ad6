"""The step container's entrypoint: credentials from Secrets Manager, then ZenML's step.

`python -m sagemaker_stack.entrypoint --entrypoint_config_source ... --snapshot_id ... --step_name ...`

Why a wrapper: a SageMaker step's Environment is readable by anyone who may DescribePipeline,
so the pipeline definition carries only the ARN of the stack's secret
(`SAGEMAKER_STACK_SECRET_ARN`). With the execution role the step reads the ZenML server URL and a
service account's API key from that secret, puts them where ZenML looks for them
(`ZENML_STORE_URL`, `ZENML_STORE_API_KEY`) and only then imports ZenML. The values are never
printed, logged or put in an exception.

ZenML's stock code download `chdir`s into `/app` (the Docker image's work dir). A SageMaker
container, or the emulator's local process, gets its code from the artifact store instead, so
our entrypoint configuration unpacks it into a fresh temporary folder: nothing depends on `/app`
being writable, and two steps on one machine never share a folder.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

#: Environment variable holding the ARN of the stack's secret (set in the definition).
ENV_SECRET_ARN = "SAGEMAKER_STACK_SECRET_ARN"
#: Environment variable holding the SageMaker pipeline execution ARN (a `Get` expression in the
#: definition that SageMaker resolves when the execution starts); the ZenML orchestrator run id.
ENV_EXECUTION_ARN = "SAGEMAKER_STACK_EXECUTION_ARN"
#: Keys of the JSON object in the secret (written by `sagemaker-stack register`).
SECRET_SERVER_URL = "server_url"
SECRET_API_KEY = "api_key"

#: The command each step's container runs (ContainerEntrypoint); the package must be installed
#: in the step image (on the emulator: in the interpreter the engine starts).
ENTRYPOINT_COMMAND = ["python", "-m", "sagemaker_stack.entrypoint"]


class CredentialsError(RuntimeError):
    """The stack's secret cannot give this step ZenML credentials; the message says how to fix it."""


def read_server_credentials(secret_arn: str, client: Any = None) -> tuple[str, str]:
    """(server URL, API key) from the stack's secret; CredentialsError without the secret's value.

    `client` is a Secrets Manager client; by default one from boto3's default credential chain
    (the step's execution role on SageMaker) in the secret's own region, with the endpoint from
    AWS_ENDPOINT_URL when set (the emulator).
    """
    if client is None:
        import boto3

        region = (
            _region_of(secret_arn) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        client = boto3.session.Session(region_name=region).client("secretsmanager")
    try:
        response = client.get_secret_value(SecretId=secret_arn)
    except Exception as error:  # botocore ClientError, NoCredentialsError, EndpointConnectionError
        code = _error_code(error)
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
    url, key = data.get(SECRET_SERVER_URL), data.get(SECRET_API_KEY)
    missing = [
        name
        for name, value in ((SECRET_SERVER_URL, url), (SECRET_API_KEY, key))
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
    environ: MutableMapping[str, str], server_url: str, api_key: str, config_root: str | None = None
) -> str:
    """Point ZenML at the server with the API key, with a fresh config folder; returns that folder.

    A token from the definition (there should be none) is dropped so the API key always wins.
    """
    environ["ZENML_STORE_URL"] = server_url
    environ["ZENML_STORE_API_KEY"] = api_key
    environ.pop("ZENML_STORE_API_TOKEN", None)
    environ.setdefault("ZENML_STORE_TYPE", "rest")
    config_path = tempfile.mkdtemp(prefix="zenml-config-", dir=config_root)
    environ["ZENML_CONFIG_PATH"] = config_path
    _remove_at_exit(config_path)
    return config_path


def _remove_at_exit(path: str) -> None:
    """A step's scratch folders go with its process (they matter on the emulator's shared /tmp)."""
    atexit.register(shutil.rmtree, path, ignore_errors=True)


def prepare(environ: MutableMapping[str, str] | None = None, client: Any = None) -> None:
    """Everything before ZenML is imported: credentials from the secret, a fresh config folder."""
    env = os.environ if environ is None else environ
    secret_arn = env.get(ENV_SECRET_ARN)
    if not secret_arn:
        raise CredentialsError(
            f"{ENV_SECRET_ARN} is not set: this step was not submitted by the sagemaker_pipelines "
            "orchestrator, or its definition was edited"
        )
    url, key = read_server_credentials(secret_arn, client=client)
    configure_zenml_environment(env, url, key)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ZenML step; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        prepare()
    except CredentialsError as error:
        print(f"sagemaker-stack entrypoint: {error}", file=sys.stderr)
        return 2
    # Imported only now: ZenML reads its store configuration from the environment on import.
    from zenml.entrypoints import entrypoint as zenml_entrypoint

    sys.argv = [sys.argv[0], *arguments]
    zenml_entrypoint.main()
    return 0


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def _entrypoint_configuration_class() -> type:
    """Our StepEntrypointConfiguration, defined lazily so importing this module stays ZenML-free."""
    from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration
    from zenml.utils import code_utils

    class _Configuration(StepEntrypointConfiguration):
        @classmethod
        def get_entrypoint_command(cls) -> list[str]:
            return list(ENTRYPOINT_COMMAND)

        @classmethod
        def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
            arguments: list[str] = super().get_entrypoint_arguments(**kwargs)
            # ZenML writes the source path relative to the user's source root, which for an editable
            # install can be a repository path; the step resolves it by import path.
            index = arguments.index("--entrypoint_config_source")
            arguments[index + 1] = ENTRYPOINT_CONFIGURATION_SOURCE
            return arguments

        def prepare_code_environment(self) -> None:
            workdir = tempfile.mkdtemp(prefix="zenml-code-")
            _remove_at_exit(workdir)
            os.chdir(workdir)
            if self.should_download_code:
                if code_path := self.snapshot.code_path:
                    code_utils.download_code_from_artifact_store(
                        code_path=code_path, artifact_store=self._load_active_artifact_store()
                    )
                elif code_reference := self.snapshot.code_reference:
                    self.download_code_from_code_repository(code_reference=code_reference)
                else:
                    raise RuntimeError(
                        "code download required but the snapshot has no code path or reference"
                    )
            cwd = os.getcwd()
            if cwd not in sys.path:
                sys.path.insert(0, cwd)

    _Configuration.__name__ = _Configuration.__qualname__ = "SagemakerStackStepEntrypointConfiguration"
    _Configuration.__module__ = __name__ if __name__ != "__main__" else "sagemaker_stack.entrypoint"
    return _Configuration


ENTRYPOINT_CONFIGURATION_SOURCE = "sagemaker_stack.entrypoint.SagemakerStackStepEntrypointConfiguration"


def __getattr__(name: str) -> Any:
    # `SagemakerStackStepEntrypointConfiguration` is built on first access (PEP 562), so the
    # entrypoint can set ZenML's environment before anything imports zenml.
    if name == "SagemakerStackStepEntrypointConfiguration":
        cls = _entrypoint_configuration_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
