"""`sagemaker-stack demo`: the whole product on one machine, with no AWS account.

It runs the very commands a user would (`sagemaker-stack up`, `python examples/iris_pipeline.py`,
`sagemaker-stack down`) as child processes, against the embedded emulator and a real ZenML
server on loopback, and prints them as it goes so a newcomer can repeat any step by hand.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sagemaker_stack.local.process.emulator import data_dir
from sagemaker_stack.ops.processes import environment_without, stream

if TYPE_CHECKING:
    from sagemaker_stack.ops.local_env import LocalEnvironment

#: How the demo prints: a line, and whether it is a heading (the CLI shows those in bold).
Echo = Callable[[str, bool], None]

#: The demo's local environment, in the platform's data folder (outside the project, see local_env).
DEMO_STATE = data_dir() / "demo"
EXAMPLE = Path("examples") / "iris_pipeline.py"
EXAMPLE_CONFIG = EXAMPLE.with_suffix(".yaml")
#: The example's pipeline as an import path (`zenml pipeline build` takes one), from the repository root.
EXAMPLE_SOURCE = "examples.iris_pipeline.iris_pipeline"
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
    """A fresh local environment, deploy, register, run the example, report, tear down.

    With `keep` the local environment stays running (`sagemaker-stack local status --state-dir
    DEMO_STATE` shows it) until `run_demo_down`.
    """
    from sagemaker_stack.ops.local_env import LocalEnvironment

    environment = LocalEnvironment(app_dir / DEMO_STATE)
    if environment.is_running():
        raise DemoError(
            f"a kept demo is still running from {environment.state_dir}: tear it down with "
            "`sagemaker-stack demo --down` (or explore it: `sagemaker-stack local status --state-dir "
            f"{DEMO_STATE}`)"
        )
    # Every demo starts from nothing: a fresh emulator, ZenML database and client config.
    shutil.rmtree(environment.state_dir, ignore_errors=True)
    config_path = environment.state_dir / "sagemaker-stack.json"

    echo("==> starting the local environment: the AWS emulator and a ZenML server on 127.0.0.1", True)
    succeeded = False
    try:
        environment.start(echo=lambda line: echo(f"  {line}", False))
        env = {**_quiet_environment(os.environ), **environment.env()}
        _deploy_run_report(_cli(), env, config_path, app_dir, keep=keep, echo=echo)
        succeeded = True
        if keep:
            _explain_kept(environment, echo)
            return
    finally:
        if not (keep and succeeded):
            environment.stop()
    environment.destroy()
    echo("\nDone: the stack, its ZenML registration, the emulator and the server are gone.", True)


def run_demo_down(app_dir: Path, echo: Echo) -> None:
    """Tear a kept demo down: stack and registration (`sagemaker-stack down`), processes, state."""
    from sagemaker_stack.ops.local_env import LocalEnvironment

    environment = LocalEnvironment(app_dir / DEMO_STATE)
    if not environment.exists():
        echo(f"No kept demo in {environment.state_dir}: nothing to tear down.", True)
        return
    config_path = environment.state_dir / "sagemaker-stack.json"
    if config_path.exists():
        echo("==> the kept demo's local environment", True)
        environment.start(echo=lambda line: echo(f"  {line}", False))
        env = {**_quiet_environment(os.environ), **environment.env()}
        down = [*_cli(), "down", "--config", str(config_path), "--force"]
        _run("teardown", down, env, app_dir, echo)
    environment.destroy(echo=lambda line: echo(f"  {line}", False))
    echo(
        "\nDone: the stack, its ZenML registration, the emulator, the server and their state are gone.", True
    )


def _cli() -> list[str]:
    # The console script, not `python -m sagemaker_stack`: ZenML takes the folder of the
    # `__main__` module as the user's source root and would record our classes relative to it.
    return [str(Path(sys.executable).parent / "sagemaker-stack")]


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
    zenml = str(Path(sys.executable).parent / "zenml")
    try:
        # ZenML's own build of the pipeline's image (CodeBuild, then the push); the run reuses it.
        build = [zenml, "pipeline", "build", EXAMPLE_SOURCE, "--config", str(EXAMPLE_CONFIG)]
        _run("image build", build, {**env, "ZENML_LOGGING_VERBOSITY": "INFO"}, app_dir, echo)
        _run("pipeline run", [sys.executable, str(EXAMPLE)], watch, app_dir, echo)
        report = [sys.executable, "-m", "sagemaker_stack.ops.demo_report", str(config_path)]
        _run("report", report, env, app_dir, echo)
    finally:
        if not keep:
            _run("teardown", [*cli, "down", "--config", str(config_path), "--force"], env, app_dir, echo)


def run_demo_on_aws(app_dir: Path, keep: bool, echo: Echo) -> None:
    """The same phases against AWS: your credentials and your ZenML server; the stack builds images."""
    from sagemaker_stack.ops.registration.store import zenml_server_url
    from sagemaker_stack.ops.target import aws_credentials_available

    if not aws_credentials_available():
        raise DemoError("--aws needs AWS credentials: configure them (`aws configure`, SSO or env variables)")
    if zenml_server_url() is None:
        raise DemoError(
            "--aws needs a ZenML server the SageMaker jobs can reach: `zenml login <url>` first "
            "(a server on 127.0.0.1 is out of SageMaker's reach)"
        )
    state = (app_dir / DEMO_STATE).resolve()
    state.mkdir(parents=True, exist_ok=True)
    config_path = state / "aws-sagemaker-stack.json"
    env = {**os.environ, "ZENML_ANALYTICS_OPT_IN": "false"}
    echo("==> running the demo on AWS with your credentials and ZenML server", True)
    _deploy_run_report(_cli(), env, config_path, app_dir, keep=keep, echo=echo)
    if keep:
        echo(f"Kept. Tear down with: sagemaker-stack down --config {config_path}", False)
    else:
        echo("\nDone: the stack and its ZenML registration are gone.", True)


def _explain_kept(environment: LocalEnvironment, echo: Echo) -> None:
    echo(f"\nKept running for exploration (`sagemaker-stack local status --state-dir {DEMO_STATE}`).", True)
    echo("In another shell:", False)
    echo(f'  eval "$(sagemaker-stack local env --state-dir {DEMO_STATE})"', False)
    echo("  zenml stack describe; zenml pipeline runs list", False)
    echo("  aws sagemaker list-pipelines", False)
    echo("  python examples/iris_pipeline.py     # or any pipeline", False)
    for line in environment.dashboard_lines():
        echo(f"  {line}", False)
    echo("Tear it all down with: sagemaker-stack demo --down", False)


def _quiet_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus AWS and ZenML settings that would point elsewhere."""
    env = environment_without(environ)
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
