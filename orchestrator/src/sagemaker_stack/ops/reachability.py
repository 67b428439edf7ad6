"""Is anything answering at a URL? One quick look before a slow client retries for a minute.

Both boto3 (against the emulator) and ZenML's client (against its server) retry a dead endpoint
for a long time, printing warnings; a single plain HTTP request says at once what is wrong.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request


class EndpointUnreachable(RuntimeError):
    """Nothing answers at the configured AWS endpoint; the message says what to start."""


def require_endpoint(endpoint_url: str | None) -> None:
    """Fail in a second, with one line, when nothing answers at a configured AWS endpoint.

    botocore's adaptive retries (8 attempts, `aws.client`) would spend 40-60 s on a refused
    connection before the same error; with no endpoint (AWS itself) there is nothing to look at.
    """
    if endpoint_url is None:
        return
    reason = unreachable_reason(endpoint_url, timeout=5)
    if reason is not None:
        raise EndpointUnreachable(
            f"nothing answers at {endpoint_url} ({reason}): start the emulator "
            '(`sagemaker-stack local start`, then `eval "$(sagemaker-stack local env)"`) or point '
            "AWS_ENDPOINT_URL at a running one"
        )


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


def public_address(url: str) -> str | None:
    """The public internet address `url`'s host resolves to; None when private or unknown.

    Resolved from this machine, which is what the user sees: a name that resolves to private
    addresses (a VPC endpoint, split-horizon DNS) or not at all gives None, as does loopback.
    """
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        return None
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None
    public = sorted(address for address in addresses if ipaddress.ip_address(address).is_global)
    return public[0] if public and len(public) == len(addresses) else None
