"""The Python environment the ZenML client actions run in: a user's, synced from uv.lock.

Someone who submits ZenML pipelines to SageMaker installs ZenML, the orchestrator and the AWS
integration's requirements: `sagemaker-stack[zenml-aws]` (ZenML, boto3, s3fs, the sagemaker SDK),
which is also what `zenml integration install aws s3` brings for ZenML's built-in orchestrator.
They do not have this repository's development venv, which also holds scikit-learn for the
example, moto, the ZenML server and the CDK. That difference is not cosmetic: on every pipeline
call ZenML imports the materializers of every installed integration, and scikit-learn alone adds
~2 s to both orchestrators' submissions. So the submitting processes run in `.bench-client-venv`,
synced from the same uv.lock (the orchestrator is installed editable, so it is this checkout's
code); `--client-python` picks another interpreter, e.g. `.venv/bin/python` for the dev venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

from _common import REPO, say

CLIENT_VENV = REPO / ".bench-client-venv"
_PACKAGE = ("--package", "sagemaker-stack", "--extra", "zenml-aws")
#: What the client environment holds, as a sentence for BENCHMARKS.md.
DESCRIPTION = "`.bench-client-venv`: `sagemaker-stack[zenml-aws]` from uv.lock, nothing else"


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(REPO / ".uv-bootstrap" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit(
        "uv not found (needed to build the benchmark's client environment): run `make bench`, "
        "which bootstraps it, or pass --client-python"
    )


def client_python() -> Path:
    """Sync `.bench-client-venv` from uv.lock (seconds once uv's cache is warm); its interpreter."""
    say(f"syncing the client environment {CLIENT_VENV.name} from uv.lock")
    env = dict(os.environ)
    env.update(
        {
            "UV_PROJECT_ENVIRONMENT": str(CLIENT_VENV),
            # These machines set PYTHONDONTWRITEBYTECODE=1: without compiled bytecode every
            # submitting process would compile ZenML and the sagemaker SDK from source.
            "UV_COMPILE_BYTECODE": "1",
            "UV_LINK_MODE": "copy",
        }
    )
    subprocess.run(
        [_uv(), "sync", "--frozen", "--quiet", "--no-dev", *_PACKAGE],
        cwd=REPO,
        env=env,
        check=True,
    )
    return CLIENT_VENV / "bin" / "python"


def add_option(parser: argparse.ArgumentParser) -> None:
    """`--client-python`, the same in every script that submits through ZenML."""
    parser.add_argument(
        "--client-python",
        type=Path,
        default=None,
        help=f"interpreter for the submitting ZenML client (default: sync and use {CLIENT_VENV.name})",
    )
