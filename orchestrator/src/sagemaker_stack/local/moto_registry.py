"""Where the emulator extends moto, in one place: moto's services, replaced by our subclasses.

The emulator extends moto the way moto extends itself: a variant of a service is a subclass of
its backend (and of its responses, which the backend's `urls` name), and the service's
`BackendDict`, which makes a backend per account and region, makes the subclass's instead.
`install` puts each subclass in its BackendDict, one line per service in `BACKENDS`, before moto
makes any backend; every import of the BackendDict (moto's responses, CloudFormation, ours) then
gets the subclass. CloudFormation types (ours, and moto's subclassed in `cloudformation.fixes`)
are registered in moto's own type map of resource types.

What is not here, and why:
- moto's reset is seen by the server's WSGI stack (services.moto_api: moto's API has no
  BackendDict, and nothing of it needs to change but the moment of its reset);
No function of ours is assigned onto a class of moto's (tests/unit/local/test_local_moto_registry.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.common_models import CloudFormationModel

from sagemaker_stack.local.cloudformation import fixes, kms, resources, rollback, secretsmanager
from sagemaker_stack.local.codebuild import cfn, models
from sagemaker_stack.local.sagemaker import models as sagemaker
from sagemaker_stack.local.sagemaker.startup import StartupModel
from sagemaker_stack.local.services import secret_versions
from sagemaker_stack.local.state.layout import IMAGES_FOLDER, WORK_FOLDER

#: (moto's module, its BackendDict, our backend subclass), one line per service.
BACKENDS: tuple[tuple[str, str, type[Any]], ...] = (
    ("moto.cloudformation.models", "cloudformation_backends", rollback.CloudFormationBackend),
    ("moto.codebuild.models", "codebuild_backends", models.CodeBuildBackend),
    ("moto.sagemaker.models", "sagemaker_backends", sagemaker.SageMakerBackend),
    ("moto.secretsmanager.models", "secretsmanager_backends", secret_versions.SecretsManagerBackend),
)

#: The CloudFormation resource types the emulator adds or corrects.
RESOURCE_TYPES: tuple[type[CloudFormationModel], ...] = (
    kms.CfnKey,
    secretsmanager.CfnSecret,
    cfn.CfnProject,
    *fixes.TYPES,
)


def install(endpoint_url: str, state_dir: Path, startup: StartupModel | None = None) -> None:
    """Extend moto in this process (the emulator's server) before it answers; `endpoint_url` is
    where builds reach the emulator, `state_dir` the state folder, `startup` the start-up every
    SageMaker job waits (none by default)."""
    models.CodeBuildBackend.configure(endpoint_url, state_dir)
    sagemaker.configure(
        sagemaker.JobSettings(
            endpoint_url, state_dir / WORK_FOLDER, state_dir / IMAGES_FOLDER, startup or StartupModel()
        )
    )
    for module, attribute, subclass in BACKENDS:
        backends: BackendDict[Any] = getattr(importlib.import_module(module), attribute)
        made = [backend for _, _, backend in backends.iter_backends() if not isinstance(backend, subclass)]
        if made:
            raise RuntimeError(f"moto made {attribute} before the emulator's install: install first")
        backends.backend = subclass
        for accounts in backends.values():
            accounts.backend = subclass
    resources.register(RESOURCE_TYPES)
