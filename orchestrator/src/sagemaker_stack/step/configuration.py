"""ZenML's step entrypoint configurations for steps run by the orchestrator and by the step operator.

ZenML imports this module by its source path (`ENTRYPOINT_CONFIGURATION_SOURCE`, or the step
operator's class) inside the step, after `sagemaker_stack.step.entrypoint` has put the
credentials into the environment, and on the client when a step's command is rendered. Both
configurations share the command (our credential-reading wrapper) and the code download below;
the step operator's is ZenML's step operator configuration (it runs one step run that the
launching orchestrator already created, `--step_run_id`).

ZenML's stock code download `chdir`s into `/app` (the Docker image's work dir). A SageMaker
container, or the emulator's local process, gets its code from the artifact store instead, so
this configuration unpacks it into a fresh temporary folder: nothing depends on `/app` being
writable, and two steps on one machine never share a folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from zenml.entrypoints.step_entrypoint_configuration import StepEntrypointConfiguration
from zenml.step_operators.step_operator_entrypoint_configuration import (
    StepOperatorEntrypointConfiguration,
)
from zenml.utils import code_utils

from sagemaker_stack.step.entrypoint import ENTRYPOINT_COMMAND, remove_at_exit


class _OurEntrypoint(StepEntrypointConfiguration):
    """Our wrapper's command, our configuration by import path, the code in a fresh folder."""

    @classmethod
    def get_entrypoint_command(cls) -> list[str]:
        """Our wrapper module, which reads the secret before ZenML starts."""
        return list(ENTRYPOINT_COMMAND)

    @classmethod
    def get_entrypoint_arguments(cls, **kwargs: Any) -> list[str]:
        """ZenML's arguments, with our configuration named by import path.

        ZenML writes the source path relative to the user's source root, which for an editable
        install can be a repository path; the step resolves it by import path instead.
        """
        arguments: list[str] = super().get_entrypoint_arguments(**kwargs)
        index = arguments.index("--entrypoint_config_source")
        arguments[index + 1] = f"{cls.__module__}.{cls.__qualname__}"
        return arguments

    def prepare_code_environment(self) -> None:
        """Download the code into a fresh folder of its own instead of ZenML's `/app`."""
        workdir = tempfile.mkdtemp(prefix="zenml-code-")
        remove_at_exit(workdir)
        os.chdir(workdir)
        if self.should_download_code:
            if code_path := self.snapshot.code_path:
                code_utils.download_code_from_artifact_store(
                    code_path=code_path, artifact_store=self._load_active_artifact_store()
                )
            elif code_reference := self.snapshot.code_reference:
                self.download_code_from_code_repository(code_reference=code_reference)
            else:
                raise RuntimeError("code download required but the snapshot has no code path or reference")
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)


class SagemakerStackStepEntrypointConfiguration(_OurEntrypoint):
    """ZenML's step entrypoint behind our credential-reading wrapper (the orchestrator's steps)."""


class SagemakerStackStepOperatorEntrypointConfiguration(_OurEntrypoint, StepOperatorEntrypointConfiguration):
    """ZenML's step operator entrypoint behind the same wrapper (the step operator's jobs)."""
