"""Quiet ZenML's artifact-store log exporter during an outage the watch already reports."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from sagemaker_stack.orchestrator import execution


class OutageFilter(logging.Filter):
    """Drops the outage records of ZenML's artifact-store log exporter while a run is watched.

    ZenML exports the client's log lines to the artifact store (S3) every few seconds; during
    an outage each export fails with a full traceback (`logger.exception`), dozens in a minute,
    all saying what the watch's one line says. Dropped: its records while contact is lost, and
    those about a transient failure (the exception being handled when it logs, as
    `execution.transient_reason` sees it), which can come a moment before the watch's next poll
    notices. Those batches are lost either way (the exporter drops a failed batch); any other
    failure (a refused permission, a missing bucket) still shows.
    """

    LOGGER = "zenml.log_stores.artifact.artifact_log_exporter"

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.lost:
            return False
        # Both of the exporter's failure records are logged inside its `except` blocks.
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        for _ in range(10):  # the exception and what caused it (aiohttp's, under botocore's)
            if error is None:
                return True
            if execution.transient_reason(error) is not None:
                return False
            error = error.__cause__ or error.__context__
        return True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        exporter = logging.getLogger(self.LOGGER)
        exporter.addFilter(self)
        try:
            yield
        finally:
            exporter.removeFilter(self)
