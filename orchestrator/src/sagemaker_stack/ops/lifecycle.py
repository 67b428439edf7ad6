"""`up` and `down`: the whole life of a deployed stack in one command each way.

`up` = (bootstrap on the emulator) + `cdk deploy` + export + the base image (built on the stack's
CodeBuild project when the repository lacks it) + register.
`down` = refuse while a run executes + delete schedules + unregister + empty (only when the stack
was deployed with retain_data=false) + `cdk destroy` + remove the config file.

Both talk to AWS or the emulator through the same calls; the only difference is the endpoint
(and `--method=direct` for the emulator's CloudFormation, see `cdk.deploy`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sagemaker_stack import aws
from sagemaker_stack.config import ConfigError, StackConfig
from sagemaker_stack.ops.reachability import require_endpoint
from sagemaker_stack.ops.target import EMULATOR_ACCOUNT, Target, target_for_config

Echo = Callable[[str], None]


class LifecycleError(RuntimeError):
    """`up` or `down` cannot go on; the message says why and what to do."""


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
    from sagemaker_stack.ops import cdk
    from sagemaker_stack.ops.outputs import config_from_outputs_file, keep_local_fields

    context = {**context, "stack_name": stack_name}
    require_endpoint(target.endpoint_url)
    where = f"the emulator at {target.endpoint_url}" if target.is_emulator else f"AWS ({target.region})"
    if target.is_emulator:
        echo(f"==> cdk bootstrap ({where})")
        cdk.bootstrap(
            account=EMULATOR_ACCOUNT,
            region=target.region,
            app_dir=app_dir,
            env=target.env,
            echo=_indent(echo),
        )
    echo(f"==> cdk deploy {stack_name} to {where}")
    with tempfile.TemporaryDirectory(prefix="cdk-outputs-") as scratch:
        outputs_file = Path(scratch) / "cdk-outputs.json"
        cdk.deploy(
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
    config = keep_local_fields(config, config_path)
    config.save(config_path)
    echo(f"==> wrote {config_path} (mode 0600; no secret in it)")
    if config.image_builder_project:
        config = _base_image(config, config_path, app_dir, echo)
    _register(config, zenml_stack_name, activate, echo)
    return config


def _base_image(config: StackConfig, config_path: Path, app_dir: Path, echo: Echo) -> StackConfig:
    """Build the base image on the stack's CodeBuild project unless it is there; record it."""
    from sagemaker_stack.ops.images import build_base_image

    echo(f"==> base image (CodeBuild project {config.image_builder_project})")
    started = time.monotonic()
    image = build_base_image(config, app_dir=app_dir, echo=echo)
    echo(f"    {image} ({time.monotonic() - started:.0f} s)")
    if image != config.base_image:
        config = config.model_copy(update={"base_image": image})
        config.save(config_path)
    return config


def _register(config: StackConfig, zenml_stack_name: str | None, activate: bool, echo: Echo) -> None:
    from sagemaker_stack.ops.registration.store import register, zenml_server_url

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
    """ARNs of executions of this stack's SageMaker pipelines that are still executing (every page)."""
    sagemaker = target_for_config(config).client("sagemaker")
    return [
        str(execution["PipelineExecutionArn"])
        for pipeline in aws.paginate(
            sagemaker, "list_pipelines", "PipelineSummaries", PipelineNamePrefix=config.pipeline_name_prefix
        )
        for execution in aws.paginate(
            sagemaker,
            "list_pipeline_executions",
            "PipelineExecutionSummaries",
            PipelineName=pipeline["PipelineName"],
        )
        if execution.get("PipelineExecutionStatus") in ("Executing", "Stopping")
    ]


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
    from sagemaker_stack.ops import cdk
    from sagemaker_stack.ops.registration.store import unregister, zenml_server_url

    try:
        config = StackConfig.load(config_path)
    except ConfigError as error:
        raise LifecycleError(str(error)) from None
    require_endpoint(config.endpoint_url)
    target = target_for_config(config)
    running = running_executions(config)
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
        empty_artifact_store(config, echo)
    echo(f"==> cdk destroy {config.stack_name}")
    cdk.destroy(
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
    from sagemaker_stack.schedules.scheduler import delete_all_schedules

    with _aws_env(target_for_config(config)):
        removed = delete_all_schedules(config)
    if removed:
        echo(f"==> deleted {len(removed)} schedule(s): {', '.join(removed)}")


# --- helpers ------------------------------------------------------------------------------------------


@contextmanager
def _aws_env(target: Target) -> Iterator[None]:
    """Point this process's boto3 (and ZenML's) at the target's endpoint and keys for a while."""
    from zenml.utils.env_utils import temporary_environment

    with temporary_environment(dict(target.env)):
        yield


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
