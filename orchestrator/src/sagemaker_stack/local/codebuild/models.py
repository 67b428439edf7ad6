"""CodeBuild on moto, completed: StartBuild really runs the build.

moto records projects and builds, but reads only a project name and an artifacts override from
StartBuild and reports every build SUCCEEDED the moment it is read. `CodeBuildBackend` here is
moto's backend with these replaced, keeping the state where moto keeps it (each build's record
is the dict in `build_metadata_history`, as moto's own builds are); moto_registry puts it in
moto's place, with `responses` (the requests' side) and `urls`, laid out as moto lays out a
service:
- StartBuild: honours the project's source, buildspec, environment, timeout and logs settings and
  StartBuild's overrides of them (what ZenML's `aws` image builder and `aws codebuild start-build`
  send), returns at once with the build IN_PROGRESS and runs it in the background
  (`runner`);
- BatchGetBuilds: the builds as they are now;
- StopBuild: stops a running build (it ends STOPPED);
- moto's reset (`POST /moto-api/reset`) and the server's shutdown stop every running build
  (`stop_running`, see services.moto_api);
- a build the emulator's end cut off (killed, it could not stop the build) ends FAILED when the
  emulator's state is restored (`restore_builds`), its current phase with the reason.

Project settings the emulator cannot honour (uploading artifacts, S3 logs, secondary sources)
are not rejected by StartBuild, which AWS would accept: the build fails in PROVISIONING with a
message naming the setting.
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import sys
import threading
import types
import uuid
from pathlib import Path
from typing import Any, ClassVar

from moto.codebuild import models as moto_models
from moto.codebuild.exceptions import ResourceNotFoundException
from moto.codebuild.models import CodeBuildProjectMetadata, codebuild_backends
from moto.utilities.utils import get_partition

from sagemaker_stack.local.codebuild.environment import write_docker_shim
from sagemaker_stack.local.codebuild.record import BuildRecord, PhaseContext, now
from sagemaker_stack.local.codebuild.runner import BuildRun, Workspace
from sagemaker_stack.local.state.layout import BUILDS_FOLDER, CODEBUILD_FOLDER, IMAGES_FOLDER

#: Environment variable of the server process: how many seconds a minute of a build's
#: `timeoutInMinutes` lasts (default 60), so that tests can see a timeout in seconds.
SECONDS_PER_MINUTE_VARIABLE = "EMULATOR_CODEBUILD_SECONDS_PER_MINUTE"
DEFAULT_TIMEOUT_MINUTES = 60
DEFAULT_QUEUED_TIMEOUT_MINUTES = 480
#: What a backend holds only while this process runs: the runs' threads and their lock.
_LIVE = ("_runs", "_runs_lock")


class CodeBuildBackend(moto_models.CodeBuildBackend):
    """moto's CodeBuild backend whose builds really run, one `BuildRun` each."""

    #: Where builds reach the emulator and keep their files. The same for every account and
    #: region of the process, and moto makes backends itself from a region and an account only,
    #: so it is set once for the class (`configure`), before the server answers.
    workspace: ClassVar[Workspace | None] = None

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._runs: dict[str, BuildRun] = {}
        self._runs_lock = threading.Lock()

    @classmethod
    def configure(cls, endpoint_url: str, state_dir: Path) -> None:
        """Builds reach the emulator at `endpoint_url` and keep their files under `state_dir`."""
        codebuild_dir = state_dir / CODEBUILD_FOLDER
        cls.workspace = Workspace(
            endpoint_url=endpoint_url,
            builds_root=state_dir / BUILDS_FOLDER,
            bin_dir=codebuild_dir / "bin",
            image_store=state_dir / IMAGES_FOLDER,
            seconds_per_minute=_seconds_per_minute(),
        )
        write_docker_shim(codebuild_dir / "bin")

    @property
    def _url_module(self) -> types.ModuleType:
        """This package's `urls`: found by name beside `models`, as moto finds a service's (its
        models never import their responses; ours import these models)."""
        return importlib.import_module(f"{__package__}.urls")

    # A running build's thread and process are this process's only: the snapshot saves the
    # build's record (in `build_metadata_history`) and leaves them out.
    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in _LIVE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._runs = {}
        self._runs_lock = threading.Lock()

    def start_build(
        self,
        project_name: str,
        source_version: str | None = None,
        artifact_override: dict[str, Any] | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        unhonoured: list[str] | None = None,
    ) -> dict[str, Any]:
        overrides = dict(overrides or {})
        if artifact_override:
            overrides["artifactsOverride"] = artifact_override
        project = self.codebuild_projects[project_name]
        history = self.build_history.setdefault(project_name, [])
        build_id = f"{project_name}:{uuid.uuid4()}"
        data, refusal = _new_build(
            self, project.project_metadata, build_id, len(history) + 1, source_version, overrides
        )
        if unhonoured:
            refusal = f"the emulator does not support {', '.join(unhonoured)} in StartBuild"
        metadata = CodeBuildProjectMetadata(
            self.account_id,
            self.region_name,
            project_name,
            source_version,
            None,
            build_id,
            data["serviceRole"],
        )
        metadata.build_metadata = data
        self.build_metadata[project_name] = metadata
        history.append(build_id)
        self.build_metadata_history[project_name].append(data)
        record = BuildRecord(data)
        record.begin("SUBMITTED")
        record.end("SUCCEEDED")
        record.begin("QUEUED")
        assert self.workspace is not None, "CodeBuildBackend.configure runs before the server answers"
        run = BuildRun(
            record, self.workspace, account_id=self.account_id, region=self.region_name, refusal=refusal
        )
        with self._runs_lock:
            self._runs[build_id] = run
        started = record.snapshot()  # as StartBuild answers: SUBMITTED done, QUEUED in progress
        run.start()
        return started

    def batch_get_builds(self, ids: list[str]) -> list[dict[str, Any]]:
        return [
            self._current(build) for build in (self._find(build_id) for build_id in ids) if build is not None
        ]

    def stop_build(self, build_id: str) -> dict[str, Any]:
        build = self._find(build_id)
        if build is None:
            raise ResourceNotFoundException(f"Build {build_id} does not exist")
        run = self._runs.get(build["id"])
        if run is not None:
            run.stop()
        return self._current(build)

    def stop_running(self, timeout: float = 15.0) -> None:
        """Stop every running build and wait for it to end (moto's reset, the server's stop)."""
        with self._runs_lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            run.stop()
        for run in runs:
            run.wait(timeout)

    def end_cut_off_builds(self, cause: str) -> int:
        """End FAILED every build the restored state has IN_PROGRESS (none runs yet); how many did."""
        ended = 0
        for builds in self.build_metadata_history.values():
            for data in builds:
                if data.get("buildStatus") == "IN_PROGRESS":
                    record = BuildRecord(data)
                    record.end(
                        "FAILED", PhaseContext("CLIENT_ERROR", f"{cause} while this build was running")
                    )
                    record.complete("FAILED")
                    ended += 1
        return ended

    def _find(self, build_id: str) -> dict[str, Any] | None:
        for builds in self.build_metadata_history.values():
            for build in builds:
                if build_id in (build["id"], build["arn"]):
                    return build
        return None

    def _current(self, build: dict[str, Any]) -> dict[str, Any]:
        """A copy taken under the runner's lock while it may still change the record."""
        run = self._runs.get(build["id"])
        return run.record.snapshot() if run is not None else copy.deepcopy(build)


def restore_builds(cause: str) -> int:
    """End FAILED every build the restored state has IN_PROGRESS, in every account and region."""
    ended = sum(
        backend.end_cut_off_builds(cause)
        for _, _, backend in codebuild_backends.iter_backends()
        if isinstance(backend, CodeBuildBackend)
    )
    # Their folders (source, HOME, commands), which the build would have removed as it ended.
    if CodeBuildBackend.workspace is not None:
        shutil.rmtree(CodeBuildBackend.workspace.builds_root, ignore_errors=True)
    return ended


def _seconds_per_minute() -> float:
    value = os.environ.get(SECONDS_PER_MINUTE_VARIABLE, "")
    try:
        seconds = float(value) if value else 60.0
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        print(f"ignoring {SECONDS_PER_MINUTE_VARIABLE}={value!r}: not a positive number", file=sys.stderr)
        return 60.0
    return seconds


def _new_build(
    backend: CodeBuildBackend,
    project: dict[str, Any],
    build_id: str,
    build_number: int,
    source_version: str | None,
    overrides: dict[str, Any],
) -> tuple[dict[str, Any], str | None]:
    """The build's record, from the project and the overrides; and why it cannot run, if so."""
    region, account = backend.region_name, backend.account_id
    partition = get_partition(region)
    name = project["name"]
    source = copy.deepcopy(project["source"])
    for key, field in (("sourceTypeOverride", "type"), ("sourceLocationOverride", "location")):
        if key in overrides:
            source[field] = overrides[key]
    if "buildspecOverride" in overrides:
        source["buildspec"] = overrides["buildspecOverride"]
    environment = copy.deepcopy(project["environment"])
    for key, field in (
        ("imageOverride", "image"),
        ("computeTypeOverride", "computeType"),
        ("environmentTypeOverride", "type"),
        ("privilegedModeOverride", "privilegedMode"),
    ):
        if key in overrides:
            environment[field] = overrides[key]
    variables = {item["name"]: item for item in environment.get("environmentVariables") or []}
    variables |= {item["name"]: item for item in overrides.get("environmentVariablesOverride") or []}
    environment["environmentVariables"] = list(variables.values())
    artifacts = overrides.get("artifactsOverride") or project.get("artifacts") or {"type": "NO_ARTIFACTS"}
    logs, s3_logs = _logs(
        overrides.get("logsConfigOverride") or project.get("logsConfig"), name, build_id, region, account
    )
    data: dict[str, Any] = {
        "id": build_id,
        "arn": f"arn:{partition}:codebuild:{region}:{account}:build/{build_id}",
        "buildNumber": build_number,
        "startTime": now(),
        "currentPhase": "QUEUED",
        "buildStatus": "IN_PROGRESS",
        "projectName": name,
        "phases": [],
        "source": source,
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "secondaryArtifacts": [],
        "cache": copy.deepcopy(project.get("cache") or {"type": "NO_CACHE"}),
        "environment": environment,
        "serviceRole": overrides.get("serviceRoleOverride") or project["serviceRole"],
        "logs": logs,
        "timeoutInMinutes": int(
            overrides.get("timeoutInMinutesOverride")
            or project.get("timeoutInMinutes")
            or DEFAULT_TIMEOUT_MINUTES
        ),
        "queuedTimeoutInMinutes": int(
            overrides.get("queuedTimeoutInMinutesOverride")
            or project.get("queuedTimeoutInMinutes")
            or DEFAULT_QUEUED_TIMEOUT_MINUTES
        ),
        "buildComplete": False,
        "initiator": "moto",
        "encryptionKey": project.get("encryptionKey", ""),
    }
    if source_version:
        data["sourceVersion"] = source_version
    refusal = None
    if artifacts.get("type") != "NO_ARTIFACTS":
        refusal = (
            f"the emulator does not upload build artifacts (artifacts type {artifacts.get('type')}); "
            "use NO_ARTIFACTS"
        )
    elif s3_logs:
        refusal = "the emulator writes build logs to CloudWatch Logs only; disable S3 logs"
    elif project.get("secondarySources") or project.get("secondaryArtifacts"):
        refusal = "the emulator does not support secondary sources or artifacts"
    return data, refusal


def _logs(
    config: dict[str, Any] | None, project: str, build_id: str, region: str, account: str
) -> tuple[dict[str, Any], bool]:
    """The build's `logs` (group `/aws/codebuild/<project>` and stream `<build uuid>` by default)."""
    config = config or {}
    cloudwatch = dict(config.get("cloudWatchLogs") or {"status": "ENABLED"})
    s3 = dict(config.get("s3Logs") or {"status": "DISABLED", "encryptionDisabled": False})
    logs: dict[str, Any] = {"cloudWatchLogs": cloudwatch, "s3Logs": s3}
    if cloudwatch.get("status") != "DISABLED":
        group = cloudwatch.get("groupName") or f"/aws/codebuild/{project}"
        stream_id = build_id.rsplit(":", 1)[-1]
        stream = f"{cloudwatch['streamName']}/{stream_id}" if cloudwatch.get("streamName") else stream_id
        partition = get_partition(region)
        logs |= {
            "groupName": group,
            "streamName": stream,
            "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logEvent:group={group};stream={stream}",
            "cloudWatchLogsArn": (
                f"arn:{partition}:logs:{region}:{account}:log-group:{group}:log-stream:{stream}"
            ),
        }
    return logs, s3.get("status") == "ENABLED"
