"""`up` and `down`: the whole life of a deployed stack in one command each way.

`up` = (bootstrap on the emulator) + `cdk deploy` + export + register.
`down` = refuse while a run executes + delete schedules + unregister + empty (only when the stack
was deployed with retain_data=false) + `cdk destroy` + remove the config file.

Both talk to AWS or the emulator through the same calls; the only difference is the endpoint
(and `--method=direct` for the emulator's CloudFormation, see `cdk_cli.deploy`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_stack.config import ConfigError, StackConfig

Echo = Callable[[str], None]

#: Moto's fixed account; `cdk bootstrap` on the emulator targets it.
EMULATOR_ACCOUNT = "123456789012"


class LifecycleError(RuntimeError):
    """`up` or `down` cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """Where a stack lives: AWS (no endpoint) or an emulator (its endpoint and test keys)."""

    region: str
    endpoint_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_emulator(self) -> bool:
        return self.endpoint_url is not None

    def client(self, service: str) -> Any:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.env.get("AWS_SECRET_ACCESS_KEY"),
            region_name=self.region,
        )
        make_client: Any = session.client  # boto3's stubs only type literal service names
        return make_client(service, endpoint_url=self.endpoint_url)


def emulator_target(endpoint_url: str, region: str) -> Target:
    """A Target for an emulator already serving at `endpoint_url`."""
    from sagemaker_stack.local.emulator import emulator_env

    return Target(region=region, endpoint_url=endpoint_url, env=emulator_env(endpoint_url, region))


def target_for_config(config: StackConfig) -> Target:
    """Where the stack described by `config` was deployed."""
    if config.endpoint_url:
        return emulator_target(config.endpoint_url, config.region)
    return Target(region=config.region)


def aws_credentials_available() -> bool:
    """True when boto3's credential chain finds credentials (env, profile, SSO, instance role)."""
    import boto3

    return boto3.session.Session().get_credentials() is not None


# --- up -------------------------------------------------------------------------------------------


def up(
    target: Target,
    *,
    app_dir: Path,
    context: Mapping[str, str],
    config_path: Path,
    stack_name: str,
    zenml_stack_name: str | None,
    activate: bool,
    echo: Echo,
) -> StackConfig:
    """Deploy the CDK app, write the StackConfig and register it with ZenML."""
    from sagemaker_stack import cdk_cli
    from sagemaker_stack.outputs import config_from_outputs_file

    context = {**context, "stack_name": stack_name}
    if target.endpoint_url is not None:
        _require_reachable(target.endpoint_url)
    where = f"the emulator at {target.endpoint_url}" if target.is_emulator else f"AWS ({target.region})"
    if target.is_emulator:
        echo(f"==> cdk bootstrap ({where})")
        cdk_cli.bootstrap(
            account=EMULATOR_ACCOUNT,
            region=target.region,
            app_dir=app_dir,
            env=target.env,
            echo=_indent(echo),
        )
    echo(f"==> cdk deploy {stack_name} to {where}")
    with tempfile.TemporaryDirectory(prefix="cdk-outputs-") as scratch:
        outputs_file = Path(scratch) / "cdk-outputs.json"
        cdk_cli.deploy(
            stack_name=stack_name,
            context=context,
            outputs_file=outputs_file,
            app_dir=app_dir,
            env=target.env,
            direct=target.is_emulator,
            echo=_indent(echo, only_progress=True),
        )
        config = config_from_outputs_file(
            outputs_file, stack_name=stack_name, endpoint_url=target.endpoint_url
        )
    config.save(config_path)
    echo(f"==> wrote {config_path} (mode 0600; no secret in it)")
    _register(config, zenml_stack_name, activate, echo)
    return config


def _register(config: StackConfig, zenml_stack_name: str | None, activate: bool, echo: Echo) -> None:
    from sagemaker_stack.registration import register, zenml_server_url

    if zenml_server_url() is None:
        echo(
            "==> not registering with ZenML: this client uses a local store, which pipelines on "
            "SageMaker cannot reach. Log in to a ZenML server (`zenml login <url>`), then run "
            "`sagemaker-stack register`."
        )
        return
    echo("==> register with ZenML")
    with _aws_env(target_for_config(config)):
        result = register(config, name=zenml_stack_name, activate=activate, echo=_indent(echo))
    if not result.changed:
        echo("    (already registered; nothing changed)")


# --- down -----------------------------------------------------------------------------------------


def running_executions(config: StackConfig) -> list[str]:
    """ARNs of executions of this stack's SageMaker pipelines that are still executing."""
    sagemaker = target_for_config(config).client("sagemaker")
    running: list[str] = []
    pipelines = sagemaker.get_paginator("list_pipelines")
    for page in pipelines.paginate(PipelineNamePrefix=config.pipeline_name_prefix):
        for pipeline in page.get("PipelineSummaries", []):
            executions = sagemaker.list_pipeline_executions(
                PipelineName=pipeline["PipelineName"], MaxResults=100
            )
            running += [
                execution["PipelineExecutionArn"]
                for execution in executions.get("PipelineExecutionSummaries", [])
                if execution.get("PipelineExecutionStatus") in ("Executing", "Stopping")
            ]
    return running


def empty_artifact_store(config: StackConfig, echo: Echo) -> None:
    """Delete every object version in the bucket and every image in the repository."""
    target = target_for_config(config)
    s3 = target.client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=config.bucket_name):
        keys = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if keys:
            s3.delete_objects(Bucket=config.bucket_name, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    echo(f"    emptied bucket {config.bucket_name} ({deleted} object versions)")
    ecr = target.client("ecr")
    images = [
        image
        for page in ecr.get_paginator("list_images").paginate(repositoryName=config.repository_name)
        for image in page.get("imageIds", [])
    ]
    for start in range(0, len(images), 100):
        ecr.batch_delete_image(repositoryName=config.repository_name, imageIds=images[start : start + 100])
    echo(f"    emptied repository {config.repository_name} ({len(images)} images)")


def down(
    config_path: Path,
    *,
    app_dir: Path,
    force: bool,
    zenml_stack_name: str | None,
    echo: Echo,
) -> StackConfig:
    """Take down what `up` made: ZenML registration, schedules, data (if not retained), the stack."""
    from sagemaker_stack import cdk_cli
    from sagemaker_stack.registration import unregister, zenml_server_url

    try:
        config = StackConfig.load(config_path)
    except ConfigError as error:
        raise LifecycleError(str(error)) from None
    target = target_for_config(config)
    running = _checked(lambda: running_executions(config), config)
    if running and not force:
        raise LifecycleError(
            f"{len(running)} run(s) of stack {config.stack_name!r} are still executing "
            f"({', '.join(running)}): wait for them, stop them (`zenml pipeline runs stop`), "
            "or pass --force"
        )
    _delete_schedules(config, echo)
    if zenml_server_url() is None:
        echo("==> not unregistering: this ZenML client uses a local store (nothing was registered there)")
    else:
        echo("==> unregister from ZenML")
        with _aws_env(target):
            unregister(zenml_stack_name or config.stack_name, config=config, echo=_indent(echo))
    if not config.retain_data:
        echo("==> empty bucket and repository (retain_data=false)")
        _checked(lambda: empty_artifact_store(config, echo), config)
    echo(f"==> cdk destroy {config.stack_name}")
    cdk_cli.destroy(
        stack_name=config.stack_name,
        context={"stack_name": config.stack_name, "resource_prefix": config.resource_prefix},
        app_dir=app_dir,
        env=target.env,
        echo=_indent(echo, only_progress=True),
    )
    if config.retain_data:
        echo(
            f"    kept bucket {config.bucket_name} and repository {config.repository_name} (retain_data=true)"
        )
    config_path.unlink(missing_ok=True)
    echo(f"==> removed {config_path}")
    return config


def _delete_schedules(config: StackConfig, echo: Echo) -> None:
    from sagemaker_stack.schedules import delete_all_schedules

    with _aws_env(target_for_config(config)):
        removed = delete_all_schedules(config)
    if removed:
        echo(f"==> deleted {len(removed)} schedule(s): {', '.join(removed)}")


# --- helpers ------------------------------------------------------------------------------------------


def _checked(call: Callable[[], Any], config: StackConfig) -> Any:
    """Run an AWS call, turning unreachable endpoints and missing credentials into one clear line."""
    import botocore.exceptions

    where = config.endpoint_url or f"AWS region {config.region}"
    try:
        return call()
    except botocore.exceptions.EndpointConnectionError:
        raise LifecycleError(f"{where} is not reachable: is the emulator running / are you online?") from None
    except botocore.exceptions.NoCredentialsError:
        raise LifecycleError("no AWS credentials found: configure them (`aws configure`) and retry") from None
    except botocore.exceptions.ClientError as error:
        raise LifecycleError(f"{where}: {error}") from None


def _require_reachable(endpoint_url: str) -> None:
    """Fail in a second, with one line, when nothing answers at the emulator's endpoint."""
    from sagemaker_stack.reachability import unreachable_reason

    reason = unreachable_reason(endpoint_url, timeout=5)
    if reason is not None:
        raise LifecycleError(
            f"nothing answers at {endpoint_url} ({reason}): start the emulator "
            "(`sagemaker-stack emulator start`) or point AWS_ENDPOINT_URL at a running one"
        )


class _aws_env:
    """Temporarily point this process's boto3 (and ZenML's) at the target's endpoint and keys."""

    def __init__(self, target: Target) -> None:
        self._values = dict(target.env)
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self._values.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *_: object) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_PROGRESS_WORDS = (
    "✅",
    "❌",
    "CREATE_",
    "DELETE_",
    "UPDATE_",
    "Outputs",
    "Stack ARN",
    "no changes",
    "error",
    "Error",
)


def _indent(echo: Echo, only_progress: bool = False) -> Echo:
    """Indent a tool's lines under our own; optionally keep just its progress and errors."""

    def show(line: str) -> None:
        if not only_progress or any(word in line for word in _PROGRESS_WORDS):
            echo(f"    {line}")

    return show
