"""moto's Secrets Manager answering ListSecretVersionIds as AWS does.

AWS reports when each version was created; moto says "now" for every version, and for when it
was last read, which it does not track: AWS leaves that out until a version is read.
"""

from __future__ import annotations

import json
from typing import Any

from moto.secretsmanager.models import SecretsManagerBackend


def install() -> None:
    """Patch moto in this process (the emulator's server); idempotent."""
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
