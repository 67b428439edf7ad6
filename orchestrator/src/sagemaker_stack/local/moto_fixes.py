"""moto answering as AWS does where it does not, so the product's code needs no emulator branch.

A SageMaker pipeline that does not exist is `ResourceNotFound` on AWS (DescribePipeline,
UpdatePipeline, StartPipelineExecution, ...); moto says `ValidationException`. And moto's reset
(`POST /moto-api/reset`) forgets state that our running executions and builds still use, so
they are stopped first (`before_reset`). ListSecretVersionIds reports when each version was
created (moto says "now" for every version, and for when it was last read, which it does not
track: AWS leaves that out until a version is read).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import moto.sagemaker.models as sagemaker_models
import moto.sagemaker.utils as sagemaker_utils
from moto.moto_api._internal.models import MotoAPIBackend
from moto.sagemaker.exceptions import ResourceNotFound
from moto.secretsmanager.models import SecretsManagerBackend


def pipeline_named(pipelines: dict[str, Any], pipeline_name: str) -> Any:
    """The pipeline called `pipeline_name`, or AWS's ResourceNotFound."""
    try:
        return pipelines[pipeline_name]
    except KeyError:
        raise ResourceNotFound(f"Pipeline '{pipeline_name}' does not exist.") from None


def install() -> None:
    """Patch moto in this process (the emulator's server); idempotent."""
    sagemaker_models.get_pipeline_from_name = pipeline_named
    sagemaker_utils.get_pipeline_from_name = pipeline_named
    secrets: Any = SecretsManagerBackend
    if not getattr(secrets, "_sagemaker_stack_installed", False):
        secrets._sagemaker_stack_installed = True
        secrets.list_secret_version_ids = _version_dates(secrets.list_secret_version_ids)


def _version_dates(original: Any) -> Any:
    def list_secret_version_ids(self: Any, secret_id: str) -> str:
        listed = json.loads(original(self, secret_id))
        versions = self.secrets[secret_id].versions
        for item in listed["Versions"]:
            item.pop("LastAccessedDate", None)
            item["CreatedDate"] = versions[item["VersionId"]].get("createdate", item["CreatedDate"])
        return json.dumps(listed)

    return list_secret_version_ids


def before_reset(stop: Callable[[], None]) -> None:
    """Call `stop` whenever moto resets all its state, before it does (call once per `stop`)."""
    api: Any = MotoAPIBackend
    original_reset = api.reset

    def reset(self: Any) -> None:
        stop()
        original_reset(self)

    api.reset = reset
