"""ZenML's entrypoint configurations for what the sagemaker_pipelines orchestrator starts.

ZenML imports this module by its source path inside the container, after
`sagemaker_stack.step.entrypoint` has put the credentials into the environment, and on the
client when the orchestrator renders each job's command. Four configurations, one per kind of
container, all behind that same credential-reading entrypoint:
- a step of a SageMaker pipeline (ZenML's step entrypoint);
- a step group of a SageMaker pipeline: several steps of one job configuration in one job, each
  its own ZenML step run (`step.group_runner`);
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

import argparse
import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any, NoReturn
from uuid import UUID

from zenml.entrypoints.base_entrypoint_configuration import SNAPSHOT_ID_OPTION, BaseEntrypointConfiguration
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
    STEP_GROUP_CONFIGURATION_SOURCE,
    remove_at_exit,
)

if TYPE_CHECKING:
    from zenml.config.step_configurations import Step
    from zenml.models import PipelineSnapshotResponse

#: The option naming a step group's steps, all after one `--step_names`.
STEP_NAMES_OPTION = "step_names"


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


class _Parser(argparse.ArgumentParser):
    """ZenML's way: a bad argument is an exception, not `sys.exit`."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"Failed to parse entrypoint arguments: {message}")


class SagemakerStackStepGroupConfiguration(StepEntrypointConfiguration):
    """Several steps of a static pipeline in one job (a step group), behind our wrapper.

    `--step_names a b c` names them (ZenML's own parser takes one value per option); the code is
    prepared once, then `group_runner` runs each step as ZenML's local orchestrator does, in
    dependency order, parallel branches side by side, skipping steps an earlier attempt of the
    job already completed.
    """

    @classmethod
    def get_entrypoint_command(cls) -> list[str]:
        """Our wrapper module, which reads the secret before ZenML starts."""
        return list(ENTRYPOINT_COMMAND)

    @classmethod
    def get_entrypoint_options(cls) -> dict[str, bool]:
        """The snapshot and the group's step names (instead of one `step_name`)."""
        return {**BaseEntrypointConfiguration.get_entrypoint_options(), STEP_NAMES_OPTION: True}

    @classmethod
    def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
        """`--entrypoint_config_source <this> --snapshot_id <id> --step_names <name>...`."""
        arguments = super(StepEntrypointConfiguration, cls).get_entrypoint_arguments(**kwargs)
        names = [str(name) for name in kwargs.get(STEP_NAMES_OPTION) or ()]
        return [
            *_by_import_path(arguments, STEP_GROUP_CONFIGURATION_SOURCE),
            f"--{STEP_NAMES_OPTION}",
            *names,
        ]

    @classmethod
    def _parse_arguments(cls, arguments: list[str]) -> dict[str, Any]:
        parser = _Parser()
        parser.add_argument(f"--{SNAPSHOT_ID_OPTION}", required=True)
        parser.add_argument(f"--{STEP_NAMES_OPTION}", required=True, nargs="+")
        result, _ = parser.parse_known_args(arguments)
        return vars(result)

    @property
    def step_names(self) -> list[str]:
        """The group's steps, as the definition lists them."""
        return list(self.entrypoint_args[STEP_NAMES_OPTION])

    @property
    def step(self) -> Step:
        """The group's first step: its Docker settings are the image's, which all steps share."""
        return self.snapshot.step_configurations[self.step_names[0]]

    def _load_snapshot(self) -> PipelineSnapshotResponse:
        from zenml.client import Client

        return Client().zen_store.get_snapshot(
            snapshot_id=UUID(self.entrypoint_args[SNAPSHOT_ID_OPTION]),
            step_configuration_filter=self.step_names,
        )

    def prepare_code_environment(self) -> None:
        """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
        _prepare_code(self)

    def run(self) -> None:
        """Prepare the code once, then run the group's steps (`group_runner.run_group`)."""
        from zenml.client import Client
        from zenml.integrations.registry import integration_registry

        from sagemaker_stack.step.group_runner import run_group

        snapshot = self.snapshot
        integration_registry.activate_integrations()
        self.prepare_code_environment()
        run_group(snapshot, self.step_names, Client().active_stack.orchestrator)
