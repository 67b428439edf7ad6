"""`sagemaker-stack demo`: the whole product on one machine, with no AWS account.

It runs the very commands a user would (`sagemaker-stack up`, `python examples/iris_pipeline.py`,
`sagemaker-stack down`) as child processes, against the embedded emulator and a real ZenML
server on loopback, and prints them as it goes so a newcomer can repeat any step by hand.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sagemaker_stack.ops.processes import stream

if TYPE_CHECKING:
    from sagemaker_stack.local.emulator import Emulator

#: How the demo prints: a line, and whether it is a heading (the CLI shows those in bold).
Echo = Callable[[str, bool], None]

DEMO_STATE = Path(".sagemaker-stack") / "demo"
EXAMPLE = Path("examples") / "iris_pipeline.py"
DEMO_STACK = "sagemaker-stack-demo"

#: Lines of ZenML's own chatter that tell a newcomer nothing.
_NOISE = (
    "Reusing registered pipeline",
    "Using user:",
    "Using a build:",
    "Dashboard URL",
    "Using stack:",
    "Found credentials in environment variables",
    "Unable to find a build to reuse",
    "* The existing build",
    "* The stack contains",
    "* The Docker settings",
    "Archiving pipeline code directory",
    "Caching is disabled",
)


class DemoError(RuntimeError):
    """A demo phase failed; the message names the phase and how to see more."""


def _run(title: str, command: list[str], env: Mapping[str, str], cwd: Path, echo: Echo) -> None:
    echo(f"\n$ {shlex.join(command)}", True)
    started = time.monotonic()

    def on_line(line: str) -> None:
        if line and not any(noise in line for noise in _NOISE):
            echo(f"  {line}", False)

    code = stream(command, cwd=cwd, env=env, on_line=on_line)
    if code != 0:
        raise DemoError(f"{title} failed (exit {code}); its output is above")
    echo(f"  ({title}: {time.monotonic() - started:.0f} s)", False)


def run_demo(app_dir: Path, keep: bool, echo: Echo) -> None:
    """Emulator + ZenML server up, deploy, register, run the example, report, tear down."""
    from sagemaker_stack.local.emulator import Emulator, EmulatorError
    from sagemaker_stack.ops.zenml_server import LocalZenMLServer

    state = (app_dir / DEMO_STATE).resolve()
    try:
        kept = Emulator.attach(state / "emulator")
    except EmulatorError:
        kept = None
    if kept is not None:
        raise DemoError(
            f"a kept demo is still running from {state} (emulator at {kept.endpoint_url}): tear it down "
            f"with `sagemaker-stack down --config {state / 'sagemaker-stack.json'}` and "
            f"`sagemaker-stack emulator stop --state-dir {state / 'emulator'}`, then stop its ZenML server"
        )
    # Every demo starts from nothing: a fresh emulator, ZenML database and client config.
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    config_path = state / "sagemaker-stack.json"
    # The console script, not `python -m sagemaker_stack`: ZenML takes the folder of the
    # `__main__` module as the user's source root and would record our classes relative to it.
    cli = [str(Path(sys.executable).parent / "sagemaker-stack")]

    echo("==> starting the AWS emulator and a ZenML server on 127.0.0.1", True)
    emulator = Emulator(state_dir=state / "emulator").start()
    server: LocalZenMLServer | None = None
    succeeded = False
    try:
        server = LocalZenMLServer(root=state / "zenml").start()
        echo(f"  emulator:     {emulator.endpoint_url}", False)
        echo(f"  ZenML server: {server.url}", False)
        env = {
            **_quiet_environment(os.environ),
            **emulator.env(),
            **server.admin_env(state / "zenml-client"),
        }
        env["SAGEMAKER_STACK_STEP_IMAGE"] = _push_step_image(emulator, env, state, app_dir, echo)
        _deploy_run_report(cli, env, config_path, app_dir, keep=keep, echo=echo)
        succeeded = True
        if keep:
            _explain_kept(emulator.endpoint_url, env, config_path, echo)
            return
    finally:
        if not (keep and succeeded):
            if server is not None:
                server.stop()
            emulator.stop()
    echo("\nDone: the stack, its ZenML registration, the emulator and the server are gone.", True)


def _push_step_image(
    emulator: Emulator, env: Mapping[str, str], state: Path, app_dir: Path, echo: Echo
) -> str:
    """A step image in the emulated ECR, built and pushed with the emulator's docker stand-in.

    The emulator runs steps only in images its ECR holds; `FROM python:3.11-slim` is the
    emulator's own Python (ZenML, this package, scikit-learn). Until `up` builds the stack's
    base image on its CodeBuild project, the demo pushes this one itself.
    """
    account = emulator.client("sts").get_caller_identity()["Account"]
    registry = f"{account}.dkr.ecr.{emulator.region}.amazonaws.com"
    uri = f"{registry}/demo-steps:python-3.11"
    emulator.client("ecr").create_repository(repositoryName="demo-steps")
    context = state / "step-image"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text("FROM python:3.11-slim\n")
    docker = [sys.executable, "-m", "sagemaker_stack.local.docker_cli"]
    docker_env = {**env, "EMULATOR_IMAGE_STORE": str(emulator.image_store)}
    token = emulator.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    login = subprocess.run(
        [*docker, "login", "--username", "AWS", "--password-stdin", registry],
        input=base64.b64decode(token).decode().split(":", 1)[1],
        env=docker_env,
        capture_output=True,
        text=True,
    )
    if login.returncode != 0:
        raise DemoError(f"docker login to the emulated ECR failed: {login.stderr.strip()}")
    _run("image build", [*docker, "build", "-t", uri, str(context)], docker_env, app_dir, echo)
    _run("image push", [*docker, "push", uri], docker_env, app_dir, echo)
    return uri


def _deploy_run_report(
    cli: list[str], env: Mapping[str, str], config_path: Path, app_dir: Path, *, keep: bool, echo: Echo
) -> None:
    """up, the example pipeline, the report and (unless kept) down, even after a failed run."""
    _run(
        "deploy",
        [*cli, "up", "--config", str(config_path), "--stack-name", DEMO_STACK, "-c", "retain_data=false"],
        env,
        app_dir,
        echo,
    )
    # INFO shows the orchestrator's progress lines (steps done / running / failed).
    watch = {**env, "ZENML_LOGGING_VERBOSITY": "INFO", "SAGEMAKER_STACK_POLL_SECONDS": "3"}
    try:
        _run("pipeline run", [sys.executable, str(EXAMPLE)], watch, app_dir, echo)
        report = [sys.executable, "-m", "sagemaker_stack.ops.demo_report", str(config_path)]
        _run("report", report, env, app_dir, echo)
    finally:
        if not keep:
            _run("teardown", [*cli, "down", "--config", str(config_path), "--force"], env, app_dir, echo)


def run_demo_on_aws(app_dir: Path, keep: bool, image: str | None, echo: Echo) -> None:
    """The same phases against AWS: your credentials, your ZenML server, your step image."""
    from sagemaker_stack.ops import lifecycle
    from sagemaker_stack.ops.registration.store import zenml_server_url

    if not lifecycle.aws_credentials_available():
        raise DemoError("--aws needs AWS credentials: configure them (`aws configure`, SSO or env variables)")
    if zenml_server_url() is None:
        raise DemoError(
            "--aws needs a ZenML server the SageMaker jobs can reach: `zenml login <url>` first "
            "(a server on 127.0.0.1 is out of SageMaker's reach)"
        )
    if not image:
        raise DemoError(
            "--aws needs --image: an image with Python 3.11, ZenML 0.98, scikit-learn and this "
            "repository's orchestrator package (`pip install ./orchestrator`), "
            "pushed where SageMaker can pull it"
        )
    state = (app_dir / DEMO_STATE).resolve()
    state.mkdir(parents=True, exist_ok=True)
    config_path = state / "aws-sagemaker-stack.json"
    env = {**os.environ, "SAGEMAKER_STACK_STEP_IMAGE": image, "ZENML_ANALYTICS_OPT_IN": "false"}
    cli = [str(Path(sys.executable).parent / "sagemaker-stack")]
    echo("==> running the demo on AWS with your credentials and ZenML server", True)
    _deploy_run_report(cli, env, config_path, app_dir, keep=keep, echo=echo)
    if keep:
        echo(f"Kept. Tear down with: sagemaker-stack down --config {config_path}", False)
    else:
        echo("\nDone: the stack and its ZenML registration are gone.", True)


def _explain_kept(endpoint_url: str, env: Mapping[str, str], config_path: Path, echo: Echo) -> None:
    keys = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "ZENML_CONFIG_PATH",
    ]
    echo("\nKept running for exploration. In another shell:", True)
    for key in keys:
        echo(f"  export {key}={shlex.quote(env[key])}", False)
    echo("  zenml stack describe; zenml pipeline runs list", False)
    echo(f"  aws --endpoint-url {endpoint_url} sagemaker list-pipelines", False)
    echo(
        f"Tear down with: sagemaker-stack down --config {config_path} (then stop the emulator and server)",
        False,
    )


def _quiet_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus AWS and ZenML settings that would point elsewhere."""
    env = {k: v for k, v in environ.items() if not k.startswith(("AWS_", "ZENML_"))}
    env.update(
        {
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            "SAGEMAKER_TELEMETRY_DISABLED": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env
