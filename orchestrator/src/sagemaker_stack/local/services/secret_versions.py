"""moto's Secrets Manager answering ListSecretVersionIds as AWS does.

AWS reports when each version was created; moto says "now" for every version, and for when it
was last read, which it does not track: AWS leaves that out until a version is read.
`SecretsManagerBackend` is moto's backend with that answer corrected; moto_registry puts it in
moto's place.
"""

from __future__ import annotations

import json
import types

from moto.secretsmanager import models as moto_models
from moto.secretsmanager import urls


class SecretsManagerBackend(moto_models.SecretsManagerBackend):
    """moto's Secrets Manager, with each version's own creation date."""

    @property
    def _url_module(self) -> types.ModuleType:
        """moto's own `urls` (moto looks for them beside the backend's module)."""
        return urls

    def list_secret_version_ids(self, secret_id: str) -> str:
        listed = json.loads(super().list_secret_version_ids(secret_id))
        versions = self.secrets[secret_id].versions
        for item in listed["Versions"]:
            item.pop("LastAccessedDate", None)
            item["CreatedDate"] = versions[item["VersionId"]].get("createdate", item["CreatedDate"])
        return json.dumps(listed)
