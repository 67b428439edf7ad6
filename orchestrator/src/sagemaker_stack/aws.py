"""boto3 clients for the runtime, pointed at AWS or at the local emulator.

One factory so every caller honours the same two knobs: the stack's region, and the endpoint
URL that only the emulator config sets. Credentials always come from boto3's default chain
(environment, profile, instance or task role): the runtime never handles keys itself.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

#: Adaptive retries absorb SageMaker's throttling of Describe/List calls while a run is watched.
_RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"})


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client for `service`; `endpoint_url` None means AWS (or AWS_ENDPOINT_URL if set)."""
    session = boto3.session.Session(region_name=region)
    kwargs: dict[str, Any] = {"config": _RETRY_CONFIG}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return session.client(service, **kwargs)  # type: ignore[call-overload]
