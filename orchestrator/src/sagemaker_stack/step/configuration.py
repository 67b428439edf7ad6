"""ZenML's entrypoint configurations for what the sagemaker_pipelines orchestrator starts.

ZenML imports this module by its source path inside the container, after
`sagemaker_stack.step.entrypoint` has put the credentials into the environment, and on the
client when the orchestrator renders each job's command. Three configurations, one per kind of
container, all behind that same credential-reading entrypoint:
- a step of a SageMaker pipeline (ZenML's step entrypoint);
- an isolated step of a dynamic pipeline, a standalone job (ZenML's step operator entrypoint:
  it runs the step run ZenML already created, `--step_run_id`);
- a dynamic pipeline's orchestration job, a standalone job (ZenML's dynamic pipeline runner,
  which runs the pipeline function, inline steps in its own process, and submits isolated ones).

ZenML's stock code download `chdir`s into `/app` (the Docker image's work dir). A SageMaker
container, or the emulator's local process, gets its code from the artifact store instead, so
these configurations unpack it into a fresh temporary folder: nothing depends on `/app` being
writable, and two containers on one machine never share a folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from zenml.entrypoints.base_entrypoint_configuration import BaseEntrypointConfiguration
from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration
from zenml.pipelines.dynamic.entrypoint_configuration import DynamicPipelineEntrypointConfiguration
from zenml.step_operators.step_operator_entrypoint_configuration import (
    StepOperatorEntrypointConfiguration,
)
from zenml.utils import code_utils

from sagemaker_stack.step.entrypoint import (
    DYNAMIC_PIPELINE_CONFIGURATION_SOURCE,
    ENTRYPOINT_COMMAND,
    ENTRYPOINT_CONFIGURATION_SOURCE,
    ISOLATED_STEP_CONFIGURATION_SOURCE,
    remove_at_exit,
)


def _by_import_path(arguments: list[str], source: str) -> list[str]:
    """ZenML's arguments with the configuration named by import path.

    ZenML writes the source path relative to the user's source root, which for an editable
    install can be a repository path; the container resolves it by import path instead.
    """
    index = arguments.index("--entrypoint_config_source")
    arguments[index + 1] = source
    return arguments


def _prepare_code(configuration: BaseEntrypointConfiguration) -> None:
    """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
    workdir = tempfile.mkdtemp(prefix="zenml-code-")
    remove_at_exit(workdir)
    os.chdir(workdir)
    if configuration.should_download_code:
        snapshot = configuration.snapshot
        if code_path := snapshot.code_path:
            code_utils.download_code_from_artifact_store(
                code_path=code_path, artifact_store=configuration._load_active_artifact_store()
            )
        elif code_reference := snapshot.code_reference:
            configuration.download_code_from_code_repository(code_reference=code_reference)
        else:
            raise RuntimeError("code download required but the snapshot has no code path or reference")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


class SagemakerStackStepEntrypointConfiguration(StepEntrypointConfiguration):
    """ZenML's step entrypoint behind our credential-reading wrapper."""

    @classmethod
    def get_entrypoint_command(cls) -> list[str]:
        """Our wrapper module, which reads the secret before ZenML starts."""
        return list(ENTRYPOINT_COMMAND)

    @classmethod
    def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
        """ZenML's arguments, with our configuration named by import path."""
        return _by_import_path(super().get_entrypoint_arguments(**kwargs), ENTRYPOINT_CONFIGURATION_SOURCE)

    def prepare_code_environment(self) -> None:
        """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
        _prepare_code(self)


class SagemakerStackIsolatedStepConfiguration(StepOperatorEntrypointConfiguration):
    """ZenML's step operator entrypoint behind our wrapper: an isolated step of a dynamic pipeline,
    or a step that names our step operator (both run one step run ZenML already created)."""

    @classmethod
    def get_entrypoint_command(cls) -> list[str]:
        """Our wrapper module, which reads the secret before ZenML starts."""
        return list(ENTRYPOINT_COMMAND)

    @classmethod
    def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
        """ZenML's arguments (with `--step_run_id`), our configuration named by import path."""
        return _by_import_path(super().get_entrypoint_arguments(**kwargs), ISOLATED_STEP_CONFIGURATION_SOURCE)

    def prepare_code_environment(self) -> None:
        """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
        _prepare_code(self)


class SagemakerStackDynamicPipelineConfiguration(DynamicPipelineEntrypointConfiguration):
    """A dynamic pipeline's orchestration job: ZenML's dynamic runner, behind our wrapper."""

    @classmethod
    def get_entrypoint_command(cls) -> list[str]:
        """Our wrapper module, which reads the secret before ZenML starts."""
        return list(ENTRYPOINT_COMMAND)

    @classmethod
    def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
        """ZenML's arguments (`--snapshot_id`, `--run_id`), our configuration named by import path."""
        return _by_import_path(
            super().get_entrypoint_arguments(**kwargs), DYNAMIC_PIPELINE_CONFIGURATION_SOURCE
        )

    def prepare_code_environment(self) -> None:
        """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
        _prepare_code(self)
