"""One CodeBuild build, really run: its phases as a local shell session over its unpacked source.

The runner reads everything from the build's record (what StartBuild resolved: source,
buildspec, environment, timeout, logs) and moves that record through CodeBuild's phases:

    PROVISIONING -> DOWNLOAD_SOURCE -> INSTALL -> PRE_BUILD -> BUILD -> POST_BUILD
                 -> UPLOAD_ARTIFACTS -> FINALIZING -> COMPLETED

with CodeBuild's transitions when a phase fails: after PROVISIONING, DOWNLOAD_SOURCE, INSTALL or
PRE_BUILD the build goes straight to FINALIZING; after BUILD it still runs POST_BUILD (with
CODEBUILD_BUILD_SUCCEEDING=0) and after POST_BUILD it still runs UPLOAD_ARTIFACTS. A phase's
`on-failure: CONTINUE` goes on to the next phase and `ABORT` straight to FINALIZING; either
way the build ends FAILED. Within a phase the first failing command skips the rest, then the
phase's `finally` commands run. A stop or the timeout cuts the phase in progress (STOPPED or
TIMED_OUT) and ends the build after FINALIZING.

Every output line, and the agent's own `[Container] <time> ...` lines, goes live into the
build's CloudWatch Logs stream, with Parameter Store and Secrets Manager values masked.
The build folder (source, HOME, command files) is removed when the build ends, as CodeBuild
discards its container.
"""

from __future__ import annotations

import functools
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sagemaker_stack.local.codebuild import environment as build_environment
from sagemaker_stack.local.codebuild import source as build_source
from sagemaker_stack.local.codebuild.buildspec import Buildspec, BuildspecError, Phase, parse_buildspec
from sagemaker_stack.local.codebuild.record import BuildRecord, PhaseContext, PhaseFailure
from sagemaker_stack.local.codebuild.shell import ShellSession
from sagemaker_stack.local.images.container import LogSink
from sagemaker_stack.local.services.logs import CloudWatchLogSink

COMMAND_PHASES = ("INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD")
#: Phases after whose (default) failure CodeBuild still runs the next one.
_RUNS_ON_AFTER_FAILURE = ("BUILD", "POST_BUILD")
_MASK = "***"


@dataclass(frozen=True)
class Workspace:
    """What the server gives every build."""

    endpoint_url: str
    builds_root: Path
    bin_dir: Path  # holds the `docker` shim
    image_store: Path
    #: Seconds a minute of `timeoutInMinutes` lasts: 60, unless the server is told otherwise.
    seconds_per_minute: float = 60.0


class _Interrupted(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status
        self.context = (
            PhaseContext("BUILD_TIMED_OUT", "Build has timed out. ") if status == "TIMED_OUT" else None
        )


class _NoLogs:
    """The project's CloudWatch Logs are disabled."""

    def write(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


class BuildLog:
    """The build's log stream: output as it comes, agent lines with their time, secrets masked."""

    def __init__(self, sink: LogSink) -> None:
        self._sink = sink
        self._secrets: list[str] = []

    def mask(self, values: list[str]) -> None:
        self._secrets.extend(value for value in values if value)
        self._secrets.sort(key=len, reverse=True)

    def write(self, line: str) -> None:
        for secret in self._secrets:
            line = line.replace(secret, _MASK)
        self._sink.write(line)

    def agent(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self.write(f"[Container] {stamp} {message}")

    def close(self) -> None:
        self._sink.close()


class BuildRun:
    """Runs one build in a background thread; `stop()` asks it to stop."""

    def __init__(
        self,
        record: BuildRecord,
        workspace: Workspace,
        *,
        account_id: str,
        region: str,
        refusal: str | None = None,
    ) -> None:
        self.record = record
        self._workspace = workspace
        self._account_id = account_id
        self._region = region
        self._refusal = refusal  # a project setting the emulator cannot honour: fails PROVISIONING
        self._stop = threading.Event()
        build = record.snapshot()
        self._folder = workspace.builds_root / record.build_id.rsplit(":", 1)[-1]
        self._source_dir = self._folder / "src"
        self._deadline = time.monotonic() + int(build["timeoutInMinutes"]) * workspace.seconds_per_minute
        self._thread = threading.Thread(target=self._run, name=f"build-{record.build_id}", daemon=True)
        self._shell: ShellSession | None = None
        self._environment: dict[str, str] = {}
        self._log = BuildLog(_NoLogs())
        self._buildspec: Buildspec | None = None
        self._project_variables: dict[str, str] = {}
        self._codebuild_variables: dict[str, str] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the build has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the phases -------------------------------------------------------------------------------
    def _run(self) -> None:
        self.record.end("SUCCEEDED")  # QUEUED: the emulator has no queue
        status = "FAULT"
        try:
            status = self._phases()
        except _Interrupted as cut:
            self.record.end(cut.status, cut.context)
            self._finalize()
            status = cut.status
        except Exception as error:  # a fault of the emulator's, not of the build
            self.record.end("FAULT", PhaseContext("CLIENT_ERROR", f"emulator fault: {error}"))
            self._finalize()
        finally:
            self._log.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            self.record.complete(status)

    def _phases(self) -> str:
        self._log = BuildLog(self._open_sink())
        if not self._phase("PROVISIONING", self._provision):
            return self._finalize("FAILED")
        if not self._phase("DOWNLOAD_SOURCE", self._download_source):
            return self._finalize("FAILED")
        buildspec = self._buildspec
        assert buildspec is not None
        failed = False
        for phase_type in COMMAND_PHASES:
            phase = buildspec.phases.get(phase_type, Phase(phase_type))
            if self._phase(phase_type, functools.partial(self._commands, phase)):
                continue
            failed = True
            self._mark_failing()
            if phase.on_failure == "CONTINUE":
                continue
            if phase.on_failure == "ABORT" or phase_type not in _RUNS_ON_AFTER_FAILURE:
                return self._finalize("FAILED")
        self._phase("UPLOAD_ARTIFACTS", lambda: None)  # artifacts other than NO_ARTIFACTS are refused
        return self._finalize("FAILED" if failed else "SUCCEEDED")

    def _phase(self, phase_type: str, body: Callable[[], None]) -> bool:
        """Run one phase; True if it succeeded. A stop or the timeout propagates."""
        self.record.begin(phase_type)
        self._check_interrupted()
        if phase_type in COMMAND_PHASES:
            self._log.agent(f"Entering phase {phase_type}")
        try:
            body()
        except PhaseFailure as failure:
            self._phase_complete(phase_type, "FAILED", failure.context)
            return False
        self._phase_complete(phase_type, "SUCCEEDED", PhaseContext())
        return True

    def _phase_complete(self, phase_type: str, status: str, context: PhaseContext) -> None:
        if phase_type != "PROVISIONING":  # the agent starts logging phases from DOWNLOAD_SOURCE on
            self._log.agent(f"Phase complete: {phase_type} State: {status}")
            self._log.agent(context.log_line())
        self.record.end(status, context)

    def _finalize(self, status: str = "") -> str:
        """FINALIZING: read the exported variables, end the shell and everything it started."""
        self.record.begin("FINALIZING")
        if self._shell is not None:
            names = self._buildspec.exported_variables if self._buildspec is not None else ()
            if names:
                values = self._shell.read_variables(names)
                exported = [{"name": name, "value": values.get(name, "")} for name in names]
                self.record.update(exportedEnvironmentVariables=exported)
            self._shell.close()
        self.record.end("SUCCEEDED")
        return status

    # -- what each phase does ---------------------------------------------------------------------
    def _open_sink(self) -> LogSink:
        logs = self.record.snapshot()["logs"]
        if logs.get("cloudWatchLogs", {}).get("status") == "DISABLED":
            return _NoLogs()
        return CloudWatchLogSink(self._account_id, self._region, logs["groupName"], stream=logs["streamName"])

    def _provision(self) -> None:
        self._log.agent("Running on CodeBuild On-demand")
        self._log.agent("Waiting for agent ping")
        if self._refusal:
            raise PhaseFailure("CLIENT_ERROR", self._refusal)
        build = self.record.snapshot()
        variables = build_environment.resolve(
            build["environment"].get("environmentVariables") or [],
            account_id=self._account_id,
            region=self._region,
        )
        self._log.mask(variables.secrets)
        home = self._folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        self._environment = build_environment.base_environment(
            region=self._region,
            endpoint_url=self._workspace.endpoint_url,
            home=home,
            bin_dir=self._workspace.bin_dir,
            image_store=self._workspace.image_store,
        )
        self._project_variables = variables.values
        self._codebuild_variables = build_environment.codebuild_variables(
            build, source_dir=self._source_dir, log_stream=build["logs"].get("streamName", "")
        )
        self._log.agent("Waiting for DOWNLOAD_SOURCE")

    def _download_source(self) -> None:
        build = self.record.snapshot()
        source = build["source"]
        self._log.agent("Phase is DOWNLOAD_SOURCE")
        self._log.agent(f"CODEBUILD_SRC_DIR={self._source_dir}")
        where = {"account_id": self._account_id, "region": self._region}
        build_source.download_source(
            source["type"], source.get("location", ""), build.get("sourceVersion"), self._source_dir, **where
        )
        text, location = build_source.read_buildspec(source.get("buildspec", ""), self._source_dir, **where)
        if location:
            self._log.agent(f"YAML location is {location}")
        try:
            buildspec = parse_buildspec(text)
        except BuildspecError as error:
            raise PhaseFailure("YAML_FILE_ERROR", str(error)) from None
        self._log.agent("Processing environment variables")
        secrets = {
            name: build_environment.parameter(value, **where)
            for name, value in buildspec.parameter_store.items()
        }
        secrets |= {
            name: build_environment.secret_value(value, **where)
            for name, value in buildspec.secrets_manager.items()
        }
        self._log.mask(list(secrets.values()))
        # Lowest to highest precedence: the buildspec, the project and StartBuild, CodeBuild's own.
        self._environment |= (
            buildspec.variables | secrets | self._project_variables | self._codebuild_variables
        )
        self._log.agent(f"Moving to directory {self._source_dir}")
        self._log.agent("Registering with agent")
        for line in buildspec.summary():
            self._log.agent(line)
        self._shell = ShellSession(
            shell=buildspec.shell,
            environment=dict(self._environment),
            work_dir=self._source_dir,
            scripts_dir=self._folder / "commands",
            sink=self._log,
            stopped=self._stop.is_set,
            deadline=self._deadline,
        )
        self._buildspec = buildspec

    def _commands(self, phase: Phase) -> None:
        """The phase's commands up to the first that fails, then its `finally` commands likewise."""
        failure = self._first_failure(phase.commands)
        failure = self._first_failure(phase.finally_commands) or failure
        if failure is not None:
            raise failure

    def _first_failure(self, commands: tuple[str, ...]) -> PhaseFailure | None:
        for command in commands:
            failure = self._command(command)
            if failure is not None:
                return failure
        return None

    def _command(self, command: str) -> PhaseFailure | None:
        assert self._shell is not None
        self._log.agent(f"Running command {command}")
        outcome = self._shell.run(command)
        if outcome.interrupted:
            raise _Interrupted(outcome.interrupted)
        if outcome.returncode == 0:
            return None
        self._log.agent(f"Command did not exit successfully {command} exit status {outcome.returncode}")
        return PhaseFailure(
            "COMMAND_EXECUTION_ERROR",
            f"Error while executing command: {command}. Reason: exit status {outcome.returncode}",
        )

    def _mark_failing(self) -> None:
        """CODEBUILD_BUILD_SUCCEEDING=0 from now on, in the running shell and any later one."""
        assert self._shell is not None
        self._shell.set_variable("CODEBUILD_BUILD_SUCCEEDING", "0")

    def _check_interrupted(self) -> None:
        if self._stop.is_set():
            raise _Interrupted("STOPPED")
        if time.monotonic() > self._deadline:
            raise _Interrupted("TIMED_OUT")
