"""The outage-tolerant watch: poll SageMaker until something ends, riding out outages.

Shared by a SageMaker pipeline execution (`execution.watch`) and a dynamic pipeline's
orchestration job (`dynamic_run`): whatever is polled, a transient failure (the endpoint refused
or timed out, throttling, a 5xx) does not end the watch; it says once that contact is lost,
retries with a growing pause, says once that contact is back, and gives up with `ContactLost`
after the outage limit. boto3 only, no ZenML.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Final, TypeVar

from sagemaker_stack import aws

State = TypeVar("State")

#: Error codes AWS answers with when it throttles a caller (retried by the watch, as a 5xx is).
THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
#: Seconds between two polls of a watched run or job, unless SAGEMAKER_STACK_POLL_SECONDS says.
DEFAULT_POLL_SECONDS: Final = 10.0
#: Longest pause between two attempts while contact is lost.
MAX_BACKOFF_SECONDS: Final = 30.0
#: The watch's client: one quick retry inside botocore (a blip), then the watch's own loop, which
#: says that contact is lost; short timeouts, so a hung endpoint counts as lost within a minute.
WATCH_CLIENT_CONFIG: Final = {
    "retries": {"max_attempts": 2, "mode": "standard"},
    "connect_timeout": 10,
    "read_timeout": 30,
}


class ContactLost(RuntimeError):
    """SageMaker could not be reached for longer than the watch's bound; the run may go on."""

    def __init__(self, execution_arn: str, seconds: float, reason: str) -> None:
        super().__init__(f"lost contact with SageMaker for {seconds:.0f} s ({reason})")
        #: What was watched: an execution ARN, or a dynamic pipeline's orchestration job name.
        self.execution_arn = execution_arn
        self.seconds = seconds
        self.reason = reason


def poll_interval() -> float:
    """Seconds between two polls: SAGEMAKER_STACK_POLL_SECONDS (tests and the demo poll faster)."""
    return float(os.environ.get("SAGEMAKER_STACK_POLL_SECONDS", DEFAULT_POLL_SECONDS))


def transient_reason(error: BaseException) -> str | None:
    """Why a call failed when trying again later may succeed, else None (a real answer).

    Transient: the endpoint refused, reset or timed out the connection (botocore's connection
    and HTTP client errors), AWS throttled the caller, or answered with a server error (5xx).
    """
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ConnectionError | HTTPClientError):
        return str(error) or type(error).__name__
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = aws.error_code(error)
        if code in THROTTLING_CODES or status == 429 or status >= 500:
            return f"{code} (HTTP {status})" if status else code
    return None


def poll_until(
    poll: Callable[[], State],
    *,
    target: str,
    finished: Callable[[State], bool],
    line: Callable[[State], str],
    report: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    interval: float = 10.0,
    timeout: float | None = None,
    outage_limit: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    still_running: Callable[[State], str] | None = None,
) -> State:
    """Call `poll` until `finished`, reporting `line` whenever it changes; `target` names what is watched.

    A transient failure (`transient_reason`) does not end the watch: it says once (`warn`, else
    `report`) that contact is lost, tries again with a growing pause (from `interval` up to 30 s),
    and says once that contact is back; after `outage_limit` seconds without an answer it raises
    ContactLost. Any other error is raised as it is; past `timeout`, TimeoutError with
    `still_running`'s sentence.
    """
    warn = warn or report
    deadline = None if timeout is None else clock() + timeout
    last: str | None = None
    lost_since: float | None = None
    pause = interval
    while True:
        try:
            state = poll()
        except Exception as error:
            reason = transient_reason(error)
            if reason is None:
                if lost_since is not None:  # an answer, if not the one hoped for
                    warn(f"Contact with SageMaker is back after {clock() - lost_since:.0f} s")
                raise
            now = clock()
            if lost_since is None:
                lost_since = now
                warn(f"Lost contact with SageMaker ({reason}); retrying for up to {outage_limit:.0f} s")
            elif now - lost_since >= outage_limit:
                raise ContactLost(target, now - lost_since, reason) from None
            sleep(min(pause, max(outage_limit - (now - lost_since), 0.1)))
            pause = min(pause * 2, MAX_BACKOFF_SECONDS)
            continue
        if lost_since is not None:
            warn(f"Contact with SageMaker is back after {clock() - lost_since:.0f} s")
            lost_since, pause = None, interval
        current = line(state)
        if current != last:
            report(current)
            last = current
        if finished(state):
            return state
        if deadline is not None and clock() > deadline:
            raise TimeoutError(
                still_running(state) if still_running else f"{target} still running after {timeout:.0f} s"
            )
        sleep(interval)
