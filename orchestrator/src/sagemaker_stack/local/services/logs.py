"""Step and build output into the emulator's CloudWatch Logs, where SageMaker and CodeBuild put it.

The engine and the CodeBuild runner run inside the server process, so they write straight into
moto's logs backend: `boto3.client("logs").get_log_events(...)` against the emulator then reads
the output from the same group and stream names a user would look up on AWS. Writes hold the
state against a snapshot (see state.lock), as every change made outside a request does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import logs_backends

from sagemaker_stack.local.state.lock import STATE

_lock = threading.Lock()


class CloudWatchLogSink:
    """One log stream in `group`, written line by line.

    The stream is SageMaker's `<job-name>/algo-1-<epoch seconds>` unless `stream` names it
    (CodeBuild names it after the build).
    """

    def __init__(
        self, account_id: str, region: str, group: str, job_name: str = "", stream: str | None = None
    ) -> None:
        self.group = group
        self.stream = stream or f"{job_name}/algo-1-{int(time.time())}"
        with STATE.shared(), _lock:
            self._backend: Any = logs_backends[account_id][region]
            with contextlib.suppress(ResourceAlreadyExistsException):
                self._backend.create_log_group(group, {})
            self._backend.create_log_stream(group, self.stream)

    def write(self, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with STATE.shared(), _lock:
            self._backend.put_log_events(self.group, self.stream, [event])

    def close(self) -> None:
        """Nothing is buffered; kept so the engine can treat every sink alike."""
