"""Every HTTP attempt botocore makes (retries included), to assert that a command made none.

"Said at once, not after botocore's retries" used to be asserted with a wall clock (`< 20 s`),
which a busy machine (another test suite beside it) can break while the behaviour is right.
What the user relies on is that no request, hence no retry, went to an endpoint known to be
down: that is counted here, whatever the machine's speed.
"""

from __future__ import annotations

from typing import Any

import botocore.endpoint
import pytest


def record_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the URL of each request botocore sends (each retry too), then sends it."""
    urls: list[str] = []
    send = botocore.endpoint.Endpoint._send

    def recording(self: Any, request: Any) -> Any:
        urls.append(str(request.url))
        return send(self, request)

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", recording)
    return urls
