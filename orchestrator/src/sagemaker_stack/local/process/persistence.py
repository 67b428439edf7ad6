"""The emulator's whole state survives stop, start and kill -9: saved while it serves, restored at start.

What is saved is every moto service in use (CloudFormation, IAM, S3 with versions, ECR, Secrets
Manager, SageMaker, CloudWatch Logs, Scheduler, CodeBuild, ...: all of `BackendDict._instances`,
in one pickle, see snapshot) plus what the SageMaker engine reports of each execution and its
steps. ECR images' content is in the image store on disk already.

When: a saver thread looks every `SAVE_INTERVAL` seconds whether anything changed (state.lock
counts changes) and, if so, pickles the state while holding changes off (the pause requests
see: milliseconds for a deployed stack with a thousand objects), then writes it out while they
go on. So a change is on disk at most about two intervals after it was acknowledged, and a
kill -9 loses at most that; `stop` saves once more after the last request.

At start, before the server answers, the snapshot is restored; executions, jobs and builds it
shows still running were cut off by a kill, and end Failed with a reason that says so (after a clean
stop they have ended that way already). A snapshot that cannot be used (damaged, or written by
another version of moto, Python or this format) is moved aside, kept whole with its blobs, and
the emulator starts empty, saying so in one line: the user loses nothing that was on disk, and
has a working emulator and the folder to go back to with the version that wrote it.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.core.base_backend import BackendDict

from sagemaker_stack.local.codebuild import builds as codebuild
from sagemaker_stack.local.sagemaker import pipelines as sagemaker_pipelines
from sagemaker_stack.local.sagemaker import standalone
from sagemaker_stack.local.services import s3_objects
from sagemaker_stack.local.state.lock import STATE
from sagemaker_stack.local.state.snapshot import (
    SnapshotChanged,
    SnapshotError,
    SnapshotStore,
    backend_name,
    live_backends,
)

#: Seconds between two looks for changes to save.
SAVE_INTERVAL = 1.0
#: The longest a snapshot waits for requests in flight before it tries again later (see state.lock).
PAUSE_TIMEOUT = 0.5
STOPPED_CAUSE = "the emulator was stopped"
KILLED_CAUSE = "the emulator ended unexpectedly (killed or crashed)"


@dataclass
class SaveStats:
    """The last save, for the health document (and the benchmark)."""

    saves: int = 0
    saved_at: str | None = None
    bytes: int = 0
    blobs_written: int = 0
    pause_seconds: float = 0.0  # waiting for requests in flight and pickling: new ones wait meanwhile
    write_seconds: float = 0.0  # writing the blobs and the file, while requests go on
    busy: int = 0  # attempts that gave up waiting for requests in flight
    error: str | None = None


def _state() -> dict[str, Any]:
    """Everything to save; called while nothing can change (a new service's backends included)."""
    return {
        "backends": {backend_name(backends): dict(dict.items(backends)) for backends in _in_use()},
        "executions": sagemaker_pipelines.saved_executions(),
    }


def _in_use() -> list[BackendDict[Any]]:
    """moto's list of the services that hold state (those its reset resets)."""
    instances: list[BackendDict[Any]] = BackendDict._instances  # type: ignore[misc]
    return instances


def _apply(state: dict[str, Any]) -> None:
    """Put the saved services in the place of moto's (all or none)."""
    try:
        services = [(live_backends(name), accounts) for name, accounts in state["backends"].items()]
    except (ImportError, AttributeError, KeyError, TypeError) as error:
        raise SnapshotError("corrupt", f"it names what this moto does not have ({error})") from None
    for backends, accounts in services:
        dict.clear(backends)
        dict.update(backends, accounts)
        if backends not in _in_use():
            _in_use().append(backends)


def inventory() -> str:
    """What the emulator holds, counted as a user would list it (for the line said at start)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.codebuild.models import codebuild_backends
    from moto.s3.models import s3_backends
    from moto.sagemaker.models import sagemaker_backends

    def backends(service: BackendDict[Any]) -> list[Any]:
        return [backend for _, _, backend in service.iter_backends()]

    pipelines = [
        pipeline for backend in backends(sagemaker_backends) for pipeline in backend.pipelines.values()
    ]
    counts = {
        "pipeline(s)": len(pipelines),
        "pipeline execution(s)": sum(len(pipeline.pipeline_executions) for pipeline in pipelines),
        "processing and training job(s)": sum(
            len(backend.processing_jobs) + len(backend.training_jobs)
            for backend in backends(sagemaker_backends)
        ),
        "CodeBuild build(s)": sum(
            len(builds)
            for backend in backends(codebuild_backends)
            for builds in backend.build_metadata_history.values()
        ),
        "CloudFormation stack(s)": sum(len(backend.stacks) for backend in backends(cloudformation_backends)),
        "S3 bucket(s)": sum(len(backend.buckets) for backend in backends(s3_backends)),
    }
    return ", ".join(f"{count} {name}" for name, count in counts.items())


class Persistence:
    """Restores the state folder's snapshot at start, saves changes while serving, saves at stop."""

    def __init__(self, state_dir: Path) -> None:
        self.store = SnapshotStore(state_dir)
        self.stats = SaveStats()
        self.notice = ""
        self._saved_changes = -1
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="state-saver", daemon=True)

    # -- start ------------------------------------------------------------------------------------
    def restore(self) -> str:
        """Bring the saved state back (call before serving); the one line that says what happened."""
        if not self.store.exists():
            self.notice = "no saved state: starting empty"
            return self.notice
        try:
            header, state = self.store.read()
            _apply(state)
            s3_objects.restore_bucket_namespace()
        except SnapshotError as error:
            where = self.store.set_aside(error.kind)
            self.notice = (
                f"the saved state in {self.store.file} cannot be restored: {error}; it was moved to {where} "
                "and the emulator starts empty"
            )
            return self.notice
        executions = sagemaker_pipelines.restore_executions(state.get("executions") or {}, KILLED_CAUSE)
        jobs = standalone.restore_jobs(KILLED_CAUSE)
        builds = codebuild.restore_builds(KILLED_CAUSE)
        ended = []
        if executions.interrupted:
            ended.append(f"{executions.interrupted} running pipeline execution(s)")
        if jobs:
            ended.append(f"{jobs} running processing or training job(s)")
        if builds:
            ended.append(f"{builds} running CodeBuild build(s)")
        cut = f"; the emulator had been killed, so {' and '.join(ended)} ended Failed" if ended else ""
        dropped = (
            f"; {executions.dropped} record(s) of executions of deleted pipelines dropped"
            if executions.dropped
            else ""
        )
        left_out = state.get("left_out") or []
        missing = f"; not saved, so empty: {'; '.join(left_out)}" if left_out else ""
        self.notice = (
            f"restored the state saved at {header.get('saved_at')}: {inventory()}{cut}{dropped}{missing}"
        )
        self._saved_changes = -1  # what restoring ended is a change to save
        return self.notice

    def start(self) -> None:
        self._thread.start()

    # -- saving -----------------------------------------------------------------------------------
    def save(self, pause_timeout: float = PAUSE_TIMEOUT) -> bool:
        """Take and write one snapshot if anything changed since the last; False if it could not."""
        paused = time.monotonic()  # from here new requests wait (see state.lock)
        with STATE.exclusive(pause_timeout) as held:
            if not held:
                self.stats.busy += 1
                return False
            changes = STATE.changes()
            if changes == self._saved_changes:
                return True
            state = _state()
            try:
                taken = self.store.take(state)
            except Exception:  # a model moto added that cannot be pickled: save the rest, say which
                state["left_out"] = self._left_out(state)
                try:
                    taken = self.store.take(state)
                except Exception as error:
                    self._failed(f"cannot pickle the state: {type(error).__name__}: {error}")
                    return False
            pause = time.monotonic() - paused
        written = time.monotonic()
        try:
            size = self.store.write(taken)
        except SnapshotChanged:
            return False  # an object went away meanwhile: the next round saves the state without it
        except OSError as error:
            self._failed(f"cannot write {self.store.folder}: {error.strerror or error}")
            return False
        self._saved_changes = changes
        still_failing = self.stats.error if state.get("left_out") else None
        self.stats = SaveStats(
            saves=self.stats.saves + 1,
            saved_at=datetime.now(UTC).isoformat(),
            bytes=size,
            blobs_written=len(taken.blobs.to_write),
            pause_seconds=round(pause, 6),
            write_seconds=round(time.monotonic() - written, 6),
            busy=self.stats.busy,
            error=still_failing,
        )
        if state.get("left_out"):
            self._failed(f"not saved (cannot be pickled): {'; '.join(state['left_out'])}")
        return True

    def _left_out(self, state: dict[str, Any]) -> list[str]:
        """Take out of `state` the services that cannot be pickled; what they are and why."""
        left_out = []
        for name, accounts in list(state["backends"].items()):
            try:
                self.store.take({name: accounts})
            except Exception as error:
                left_out.append(f"{name} ({type(error).__name__}: {error})")
                del state["backends"][name]
        return left_out

    def _failed(self, message: str) -> None:
        if self.stats.error != message:  # once per kind of failure, not once a second
            print(f"state not saved: {message}", file=sys.stderr, flush=True)
        self.stats.error = message

    def _loop(self) -> None:
        while not self._stopping.wait(SAVE_INTERVAL):
            if STATE.changes() != self._saved_changes:
                self.save()

    # -- stop -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """After the server stopped serving and its executions and builds ended: the last save."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        for _ in range(3):
            if self.save(pause_timeout=10.0):
                return

    def health(self) -> dict[str, Any]:
        """What the restore found, the last save, and whether changes wait for the next save."""
        return {
            "restore": self.notice,
            **asdict(self.stats),
            "unsaved": STATE.changes() != self._saved_changes,
        }
