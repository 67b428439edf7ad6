"""Is anything answering at a URL? One quick look before a slow client retries for a minute.

Both boto3 (against the emulator) and ZenML's client (against its server) retry a dead endpoint
for a long time, printing warnings; a single plain HTTP request says at once what is wrong.
"""

from __future__ import annotations

import urllib.error
import urllib.request


def unreachable_reason(url: str, timeout: float) -> str | None:
    """None when a server answers at `url` (with any HTTP status), else why nothing does."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError:
        return None  # it answers; what it says is the real client's business
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    return None
