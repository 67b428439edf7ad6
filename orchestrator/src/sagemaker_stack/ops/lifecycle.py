"""`up` and `down`: the whole life of a deployed stack in one command each way.

`up` = (bootstrap on the emulator) + adopt what an earlier stack retained (`adoption`) + `cdk
deploy` + export + the base image (built on the stack's CodeBuild project when the repository
lacks it) + register.
`down` = refuse while a run executes (with --force: stop them, `teardown`) + delete schedules +
delete the orchestrator's SageMaker pipelines + unregister + empty what the stack owns (only with
retain_data=false) + `cdk destroy` + remove the config file. Without a config file it works from
the stack's name: a deployed stack's config is read from CloudFormation, and a stack whose
deployment failed is deleted.

Both talk to AWS or the emulator through the same calls; the only difference is the endpoint
(and `--method=direct` for the emulator's CloudFormation, see `cdk.deploy`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sagemaker_stack.config import DEFAULT_RESOURCE_PREFIX, ConfigError, StackConfig
from sagemaker_stack.ops import teardown
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
    where = _where(target)
    if target.is_emulator:
        echo(f"==> cdk bootstrap ({where})")
        cdk.bootstrap(
            account=EMULATOR_ACCOUNT,
            region=target.region,
            app_dir=app_dir,
            env=target.env,
            echo=_indent(echo),
        )
    context = {**context, **_adopt(target, app_dir, context, echo)}
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


def _adopt(target: Target, app_dir: Path, context: Mapping[str, str], echo: Echo) -> dict[str, str]:
    """The context that makes the stack adopt the bucket and repository an earlier stack kept."""
    from sagemaker_stack.ops import adoption, cdk

    def setting(key: str) -> str | None:
        return context.get(key) or cdk.app_setting(app_dir, key)

    try:
        adopted = adoption.find(
            target,
            stack_name=context["stack_name"],
            resource_prefix=setting("resource_prefix") or DEFAULT_RESOURCE_PREFIX,
            kms=setting("kms"),
            context=context,
        )
    except adoption.AdoptionError as error:
        raise LifecycleError(str(error)) from None
    for kind, name in (("bucket", adopted.bucket), ("repository", adopted.repository)):
        if name:
            echo(
                f"==> adopting the existing {kind} {name} (kept by an earlier stack; `down` never deletes it)"
            )
    return adopted.context()


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
    return teardown.running_executions(sagemaker, teardown.stack_pipelines(sagemaker, config))


def empty_artifact_store(
    config: StackConfig, echo: Echo, *, bucket: bool = True, repository: bool = True
) -> None:
    """Delete every object version in the bucket and every image in the repository."""
    target = target_for_config(config)
    if bucket:
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
    if repository:
        ecr = target.client("ecr")
        images = [
            image
            for page in ecr.get_paginator("list_images").paginate(repositoryName=config.repository_name)
            for image in page.get("imageIds", [])
        ]
        for start in range(0, len(images), 100):
            ecr.batch_delete_image(
                repositoryName=config.repository_name, imageIds=images[start : start + 100]
            )
        echo(f"    emptied repository {config.repository_name} ({len(images)} images)")


def down(
    config_path: Path,
    *,
    app_dir: Path,
    force: bool,
    zenml_stack_name: str | None,
    echo: Echo,
    stack_name: str | None = None,
    target: Target | None = None,
) -> StackConfig | None:
    """Take down what `up` made: runs, ZenML registration, schedules, pipelines, data (if not
    retained), the stack. Without a config file, `target` and `stack_name` say which stack.

    The StackConfig of the stack taken down; None when it was a failed deployment (just deleted).
    """
    from sagemaker_stack.ops import adoption, cdk
    from sagemaker_stack.ops.registration.store import unregister, zenml_server_url

    config = _config_for_down(
        config_path, stack_name or cdk.default_stack_name(app_dir), target, app_dir, echo
    )
    if config is None:
        return None
    require_endpoint(config.endpoint_url)
    target = target_for_config(config)
    _refuse_a_users_app(config, config_path, target)
    running = running_executions(config)
    if running and not force:
        raise LifecycleError(
            f"{len(running)} run(s) of stack {config.stack_name!r} are still executing "
            f"({', '.join(running)}): wait for them, stop them (`zenml pipeline runs stop`), "
            "or pass --force"
        )
    _delete_schedules(config, echo)
    registered = zenml_server_url() is not None
    zenml_name = zenml_stack_name or config.stack_name
    _end_runs(config, zenml_name if registered else None, force, echo)
    if not registered:
        echo("==> not unregistering: this ZenML client uses a local store (nothing was registered there)")
    else:
        echo("==> unregister from ZenML")
        with _aws_env(target):
            unregister(zenml_name, config=config, echo=_indent(echo))
    owned = adoption.owned(target, config.stack_name)
    owns_bucket, owns_repository = config.bucket_name in owned, config.repository_name in owned
    if not config.retain_data and (owns_bucket or owns_repository):
        echo("==> empty bucket and repository (retain_data=false)")
        empty_artifact_store(config, echo, bucket=owns_bucket, repository=owns_repository)
    echo(f"==> cdk destroy {config.stack_name}")
    cdk.destroy(
        stack_name=config.stack_name,
        context={"stack_name": config.stack_name, "resource_prefix": config.resource_prefix},
        app_dir=app_dir,
        env=target.env,
        echo=_indent(echo, only_progress=True),
    )
    if not (owns_bucket and owns_repository):
        adopted = [
            text
            for text, owns in (
                (f"bucket {config.bucket_name}", owns_bucket),
                (f"repository {config.repository_name}", owns_repository),
            )
            if not owns
        ]
        echo(
            f"    kept {' and '.join(adopted)}: adopted, not made by this stack, so never emptied or "
            "deleted by it (delete them yourself if you no longer need them: docs/stack.md, retain_data)"
        )
    if config.retain_data and owns_bucket and owns_repository:
        echo(
            f"    kept bucket {config.bucket_name} and repository {config.repository_name} (retain_data=true)"
        )
    config_path.unlink(missing_ok=True)
    echo(f"==> removed {config_path}")
    return config


def _refuse_a_users_app(config: StackConfig, config_path: Path, target: Target) -> None:
    """LifecycleError if the stack is a CDK app of the user's own (its constructs have ids of
    their own, `export --construct`): `down` destroys a whole stack, so it would take every
    construct in it, and whatever else the app holds, with the one this config names."""
    from sagemaker_stack.ops.outputs import (
        OutputsError,
        constructs_of,
        constructs_text,
        describe_stack_outputs,
    )

    try:
        outputs = describe_stack_outputs(
            config.stack_name,
            region=target.region,
            endpoint_url=target.endpoint_url,
            client=target.client("cloudformation"),
        )
    except OutputsError:
        return  # not deployed, failed or busy: what `down` does next deals with it
    found = constructs_of(outputs)
    if set(found) == {""}:
        return  # the stack `up` makes: one construct, the default one
    raise LifecycleError(
        f"stack {config.stack_name!r} is a CDK app of your own holding sagemaker-stack constructs "
        f"{constructs_text(found)}: `down` would destroy the whole stack, every construct and all else "
        f"in it. For one construct: `sagemaker-stack unregister --config {config_path}`, then take "
        "the construct out of your app and `cdk deploy`; for the whole app: `cdk destroy` from its folder"
    )


def _config_for_down(
    config_path: Path, stack_name: str, target: Target | None, app_dir: Path, echo: Echo
) -> StackConfig | None:
    """The config file's StackConfig; without one, the deployed stack's (None: a failed one, deleted)."""
    from sagemaker_stack.ops import cdk
    from sagemaker_stack.ops.outputs import USABLE_STATUSES, OutputsError, config_from_cloudformation

    try:
        return StackConfig.load(config_path)
    except ConfigError as error:
        if config_path.exists() or target is None:
            raise LifecycleError(str(error)) from None
    require_endpoint(target.endpoint_url)
    status = _stack_status(target, stack_name)
    if status is None:
        raise LifecycleError(
            f"no stack config at {config_path}, and no stack {stack_name!r} is deployed in {_where(target)}: "
            "nothing to take down. Pass the file `up` wrote (--config FILE), or the stack's name "
            "(--stack-name NAME) with the endpoint or region it was deployed to"
        )
    if status in USABLE_STATUSES:
        echo(f"==> no stack config at {config_path}: reading stack {stack_name!r} from CloudFormation")
        try:
            return config_from_cloudformation(
                stack_name,
                region=target.region,
                endpoint_url=target.endpoint_url,
                client=target.client("cloudformation"),
            )
        except OutputsError as error:
            raise LifecycleError(str(error)) from None
    if status.endswith("_IN_PROGRESS"):
        raise LifecycleError(
            f"stack {stack_name!r} in {_where(target)} is busy ({status}): "
            "wait until it ends, then run down again"
        )
    echo(f"==> stack {stack_name!r} is {status} (its deployment failed): cdk destroy {stack_name}")
    cdk.destroy(
        stack_name=stack_name,
        context={"stack_name": stack_name},
        app_dir=app_dir,
        env=target.env,
        echo=_indent(echo, only_progress=True),
    )
    return None


def _stack_status(target: Target, stack_name: str) -> str | None:
    """The stack's CloudFormation status; None if there is no such stack (or it was deleted)."""
    from botocore.exceptions import ClientError

    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=stack_name).get("Stacks", [])
    except ClientError as error:
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            return None
        raise
    status = str(stacks[0].get("StackStatus")) if stacks else None
    return None if status in (None, "DELETE_COMPLETE") else status


def _end_runs(config: StackConfig, zenml_stack_name: str | None, force: bool, echo: Echo) -> None:
    """Stop the stack's executions (with `force`), end its unfinished ZenML runs, delete its pipelines.

    Runs first through ZenML (the orchestrator's own stop), then any execution ZenML does not
    know; every ZenML run of the stack that has not ended gets its final status before the
    orchestrator component that could refresh it is unregistered.
    """
    target = target_for_config(config)
    sagemaker = target.client("sagemaker")
    pipelines = teardown.stack_pipelines(sagemaker, config)
    running = teardown.running_executions(sagemaker, pipelines)
    with _aws_env(target):
        runs = teardown.unfinished_runs(zenml_stack_name) if zenml_stack_name else []
        if force and running:
            echo(f"==> stop {len(running)} running execution(s) of the stack (--force)")
            teardown.stop_zenml_runs(runs)
            teardown.stop_executions(sagemaker, running)
            statuses = teardown.wait_until_ended(sagemaker, running)
            still = sorted(arn for arn, status in statuses.items() if status in teardown.ACTIVE_STATUSES)
            if still:
                echo(f"    still stopping after {teardown.STOP_TIMEOUT:.0f} s, going on: {', '.join(still)}")
        ended = teardown.finish_zenml_runs([run.id for run in runs], "the stack was taken down (`down`)")
    if ended:
        echo(f"    {ended} unfinished ZenML run(s) ended with their SageMaker status (else stopped)")
    deleted = teardown.delete_pipelines(sagemaker, teardown.orchestrator_pipelines(sagemaker, pipelines))
    if deleted:
        echo(f"==> deleted {len(deleted)} SageMaker pipeline(s) of the orchestrator: {', '.join(deleted)}")


def _delete_schedules(config: StackConfig, echo: Echo) -> None:
    from sagemaker_stack.schedules.scheduler import delete_all_schedules

    with _aws_env(target_for_config(config)):
        removed = delete_all_schedules(config)
    if removed:
        echo(f"==> deleted {len(removed)} schedule(s): {', '.join(removed)}")


# --- helpers ------------------------------------------------------------------------------------------


def _where(target: Target) -> str:
    return f"the emulator at {target.endpoint_url}" if target.is_emulator else f"AWS ({target.region})"


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
    "no changes",
    "error",
    "Error",
)
#: Lines with a progress word that say nothing on their own: cdk's headings of the outputs and the
#: stack ARN (their values, on the next lines, are in the config file `up` writes).
_HEADINGS = ("Outputs:", "Stack ARN:")


def _indent(echo: Echo, only_progress: bool = False) -> Echo:
    """Indent a tool's lines under our own; optionally keep just its progress and errors."""

    def show(line: str) -> None:
        if not only_progress or (
            any(word in line for word in _PROGRESS_WORDS) and line.strip() not in _HEADINGS
        ):
            echo(f"    {line}")

    return show
