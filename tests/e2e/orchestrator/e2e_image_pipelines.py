"""Pipelines of the image e2e tests, run as a user would: `python e2e_image_pipelines.py <mode>`.

- `requirement`: no Docker settings in the code; its YAML run configuration asks for a package
  the emulator's own environment lacks, which the step imports.
- `bad`: the same with a requirement no index has: the image build must fail the run.
- `outside`: an image SageMaker cannot pull (Docker Hub), with skip_build: refused before any call.
- `bad-setting`, `bad-cron`, `secret-env`: `requirement` with a volume of 0 GB, with a schedule
  whose cron AWS cannot express, with a credential in its `environment` setting: refused, and the
  error reaches the top of this script as it would reach a user's.

The last line printed is JSON: the run's status and the step's output when it completed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from zenml import pipeline, step
from zenml.client import Client
from zenml.config import DockerSettings

REQUIREMENT = "pyjokes==0.8.3"
#: The value of the credential `secret-env` tries to pass: it must be stored nowhere.
SECRET_VALUE = "e2e-secret-value-5b1f0c7d"
MISSING = "sagemaker-stack-no-such-package==1.0.0"


@step
def tell_a_joke() -> str:
    """Imports what only the built image has."""
    from importlib.metadata import version

    import pyjokes  # type: ignore[import-not-found, unused-ignore]

    return f"pyjokes {version('pyjokes')}: {pyjokes.get_joke()[:0]}"


@pipeline(enable_cache=False)
def image_requirement() -> None:
    tell_a_joke()


@pipeline(enable_cache=False)
def image_bad_requirement() -> None:
    tell_a_joke()


@pipeline(
    enable_cache=False,
    settings={"docker": DockerSettings(skip_build=True, parent_image="python:3.11-slim")},
)
def image_outside_ecr() -> None:
    tell_a_joke()


def _run_with(configured: object, requirements: list[str]) -> None:
    config = Path(tempfile.mkdtemp()) / "run.yaml"
    lines = ["settings:", "  docker:", "    requirements:", *(f"      - {r}" for r in requirements)]
    config.write_text("\n".join(lines) + "\n")
    configured.with_options(config_path=str(config))()  # type: ignore[attr-defined]


def _refused(mode: str) -> None:
    """`requirement` with one mistake; the error is left to reach the top of the script."""
    from zenml.config.schedule import Schedule

    from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings

    options: dict[str, object] = {}
    if mode == "bad-setting":
        options["settings"] = {"orchestrator": SagemakerPipelinesOrchestratorSettings(volume_size_in_gb=0)}
    elif mode == "bad-cron":
        options["schedule"] = Schedule(cron_expression="61 * * * *")
    else:
        environment = {"SERVICE_API_TOKEN": SECRET_VALUE}
        options["settings"] = {
            "orchestrator": SagemakerPipelinesOrchestratorSettings(environment=environment)
        }
    _run_with(image_requirement.with_options(**options), [REQUIREMENT])


def main(mode: str) -> None:
    if mode in ("bad-setting", "bad-cron", "secret-env"):
        _refused(mode)
        raise SystemExit(f"{mode} was not refused")
    if mode == "requirement":
        _run_with(image_requirement, [REQUIREMENT])
        name = "image_requirement"
    elif mode == "bad":
        _run_with(image_bad_requirement, [MISSING])
        name = "image_bad_requirement"
    elif mode == "outside":
        image_outside_ecr()
        name = "image_outside_ecr"
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    run = Client().get_pipeline(name).last_run
    output = None
    if run.status.value == "completed":
        output = run.steps["tell_a_joke"].outputs["output"][0].load()
    print(json.dumps({"status": run.status.value, "output": output, "build": str(run.build.id)}))


if __name__ == "__main__":
    main(sys.argv[1])
