"""The floor of a ZenML submission: a remote, containerized orchestrator whose submit does nothing.

A pipeline call with this orchestrator does all the work ZenML does for any orchestrator
(integration activation, compile, snapshot, the code upload, the REST calls to the server) and
nothing else. Its latency is the least any orchestrator can take in the same set-up, so
`ours - floor` and `theirs - floor` are the two orchestrators' own time, and `floor / theirs` is
the best ratio any orchestrator could reach against the built-in one. The same for dynamic
pipelines (`submit_dynamic_pipeline` does nothing either).

It is a benchmark instrument, loaded by ZenML from this folder (the source root of
`_zenml_client.py`); no run it "submits" ever starts.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from zenml.config.base_settings import BaseSettings
from zenml.orchestrators import BaseOrchestratorConfig, BaseOrchestratorFlavor, ContainerizedOrchestrator

if TYPE_CHECKING:
    from zenml.models import PipelineRunResponse, PipelineSnapshotResponse
    from zenml.orchestrators.base_orchestrator import SubmissionResult
    from zenml.stack import Stack

FLAVOR_NAME = "bench_floor"


class FloorOrchestratorSettings(BaseSettings):
    """The one setting the benchmark passes to every orchestrator. Without a settings class,
    ZenML would drop it with a warning whose call-site lookup alone costs about 0.25 s."""

    synchronous: bool = False


class FloorOrchestratorConfig(BaseOrchestratorConfig, FloorOrchestratorSettings):
    """Remote and asynchronous, like both orchestrators measured against it, so ZenML takes the
    same paths (builds from the container registry, code upload to the artifact store)."""

    @property
    def is_remote(self) -> bool:
        return True

    @property
    def is_synchronous(self) -> bool:
        return False


class FloorOrchestrator(ContainerizedOrchestrator):
    """Accepts every submission and starts nothing."""

    def get_orchestrator_run_id(self) -> str:
        return str(uuid.uuid4())

    def submit_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        base_environment: dict[str, str],
        step_environments: dict[str, dict[str, str]],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        return None

    def submit_dynamic_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        environment: dict[str, str],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        """The floor of a dynamic pipeline's submission: ZenML's work, no orchestration job."""
        return None


class FloorOrchestratorFlavor(BaseOrchestratorFlavor):
    """Registered by `_zenml_client.py setup` as a custom flavor."""

    @property
    def name(self) -> str:
        return FLAVOR_NAME

    @property
    def config_class(self) -> type[FloorOrchestratorConfig]:
        return FloorOrchestratorConfig

    @property
    def settings_class(self) -> type[FloorOrchestratorSettings]:
        return FloorOrchestratorSettings

    @property
    def implementation_class(self) -> type[Any]:
        return FloorOrchestrator
