"""`sagemaker-stack local`: one local environment = the emulator + a ZenML server, in the background.

Both run from one state folder and outlive the command that started them. By default it is in
the platform's data folder (`~/.local/share/sagemaker-stack/local` on Linux), outside any project:
ZenML archives the folder a pipeline runs from, and would walk (and upload) the emulator's state.
A state folder is private (mode 0700) and holds a `.gitignore` of `*`, so that one put inside a
project with `--state-dir` stays out of git and of ZenML's code archive (which lists files with
`git ls-files --exclude-standard` in a git repository; outside one, our orchestrator leaves such
folders out of the archive, `sagemaker_stack.content_uploads`):

    <state>/local.json     the ports, region and job start-up it had (a restart keeps them)
    <state>/emulator/      the emulator's state folder (`sagemaker_stack.local.process.emulator.Emulator`)
    <state>/zenml/         the ZenML server's (`LocalZenMLServer`: database, pid, admin password)
    <state>/zenml-client/  a ZenML client folder logged in to that server as its admin
                           (`local_client` says why the shell also pins server, project, stack)

`start` is idempotent (what runs is kept, what is stopped is started on its old ports), `stop`
keeps every file, `destroy` removes the folder. `env` is every variable that points boto3, the
AWS CLI (v1 and v2), `cdk` and `zenml` at it; no secret is in it (the emulator's keys are its
fixed test keys, the ZenML password stays in the client folder and in a mode-0600 file).
`problems` is what `status` reports beyond "it answers": a damaged client folder (which `start`
repairs), an emulator that cannot save its state; `notes`: secrets the server keeps unencrypted.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_stack.local.process.emulator import (
    DEFAULT_REGION,
    Emulator,
    EmulatorError,
    data_dir,
    emulator_env,
)
from sagemaker_stack.local.process.port import PORT_ADVICE
from sagemaker_stack.local.sagemaker.startup import StartupModel, StartupModelError, read_table
from sagemaker_stack.local.state.layout import make_private_state_dir
from sagemaker_stack.ops.loopback_ports import PortUnavailable, check_port_free
from sagemaker_stack.ops.zenml_server import ADMIN_USER, LocalZenMLServer, ZenMLServerError

if TYPE_CHECKING:
    from sagemaker_stack.ops.local_client import ClientCheck

DEFAULT_STATE_DIR = data_dir() / "local"
STATE_FILE = "local.json"
#: Set by `env`: where the environment lives, so `up` and `demo` find the one the shell points at.
ENV_STATE_DIR = "SAGEMAKER_STACK_LOCAL_DIR"
#: Variables `env` clears: each would point a tool somewhere else than this environment.
UNSET = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "ZENML_STORE_URL",
    "ZENML_STORE_API_KEY",
    "ZENML_STORE_API_TOKEN",
    "ZENML_STORE_USERNAME",
    "ZENML_STORE_PASSWORD",
    "ZENML_ACTIVE_STACK_ID",
    "ZENML_ACTIVE_PROJECT_ID",
)

Echo = Callable[[str], None]


class LocalEnvironmentError(RuntimeError):
    """The local environment cannot be started, found or removed; the message says what to do."""


@dataclass(frozen=True)
class Service:
    """One of the two processes, as `status` reports it."""

    name: str
    url: str | None
    pid: int | None
    answers: bool

    def describe(self) -> str:
        if self.answers:
            return f"running at {self.url} (pid {self.pid}), answers"
        if self.pid is not None:
            return f"process {self.pid} is alive but does not answer at {self.url}"
        return f"stopped (last at {self.url})" if self.url else "stopped"


class LocalEnvironment:
    """The emulator and the ZenML server of one state folder."""

    def __init__(self, state_dir: str | os.PathLike[str] = DEFAULT_STATE_DIR) -> None:
        self.state_dir = Path(state_dir).resolve()

    @classmethod
    def from_environment(cls, default: Path = DEFAULT_STATE_DIR) -> LocalEnvironment:
        """The environment the shell's `eval "$(sagemaker-stack local env)"` points at, else `default`."""
        return cls(os.environ.get(ENV_STATE_DIR) or default)

    # -- where things are ---------------------------------------------------------------------------
    @property
    def emulator_dir(self) -> Path:
        return self.state_dir / "emulator"

    @property
    def zenml_dir(self) -> Path:
        return self.state_dir / "zenml"

    @property
    def client_dir(self) -> Path:
        return self.state_dir / "zenml-client"

    @property
    def password_file(self) -> Path:
        return self.zenml_dir / "admin-password"

    def exists(self) -> bool:
        """Whether this folder holds a local environment (started at least once)."""
        return (self.state_dir / STATE_FILE).is_file()

    def _recorded(self) -> dict[str, Any]:
        try:
            document = json.loads((self.state_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def _record(self, **values: Any) -> None:
        document = {**self._recorded(), **values}
        temporary = self.state_dir / f".{STATE_FILE}.{os.getpid()}"
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(json.dumps(document, indent=2))
        temporary.replace(self.state_dir / STATE_FILE)

    @property
    def region(self) -> str:
        return str(self._recorded().get("region") or DEFAULT_REGION)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(
        self,
        *,
        emulator_port: int | None = None,
        zenml_port: int | None = None,
        region: str | None = None,
        job_startup_seconds: float | None = None,
        job_startup_table: Path | None = None,
        echo: Echo = lambda line: None,
    ) -> None:
        """Start what is not running, on the ports it had; leave what runs as it is.

        `job_startup_seconds` / `job_startup_table` (a JSON file) set the emulator's modeled job
        start-up; like the ports and region, the last ones given are kept for the next start."""
        self._check_writable()
        recorded = self._recorded()
        region = region or self.region
        if recorded and region != self.region:
            raise LocalEnvironmentError(
                f"the local environment in {self.state_dir} is in region {self.region}; "
                f"`sagemaker-stack local destroy` it first to change the region"
            )
        startup = self._wanted_startup(job_startup_seconds, job_startup_table)
        emulator = self._running_emulator()
        server = self._running_server()
        self._refuse_other_ports(emulator, server, emulator_port, zenml_port)
        if emulator is not None and emulator.job_startup != startup:
            raise LocalEnvironmentError(
                f"the emulator of {self.state_dir} already runs with a job start-up of "
                f"{emulator.job_startup.describe()}, not {startup.describe()}: "
                f"`sagemaker-stack local stop{self.state_dir_option()}` first to change it"
            )
        self._record(region=region, job_startup=startup.to_json())
        started_emulator, started_server = emulator is None, server is None
        if server is None:
            # Before anything starts: a port another program holds is one line, not half a start.
            # (The emulator checks its own port, telling a running program from TIME_WAIT.)
            zenml_port = zenml_port or recorded.get("zenml_port")
            if zenml_port is not None:
                try:
                    check_port_free(zenml_port)
                except PortUnavailable as error:
                    raise LocalEnvironmentError(_with_port_hint(str(error), "--zenml-port")) from None
        fresh_server = not (self.zenml_dir / "server" / "zenml.db").exists()
        if emulator is None:
            emulator = self._start_emulator(emulator_port or recorded.get("emulator_port"), region, startup)
        if server is None:
            try:
                server = self._start_server(zenml_port, emulator)
            except BaseException:
                if started_emulator:
                    emulator.stop()  # half an environment helps nobody
                raise
        for what, url, pid, new in (
            ("the emulator", emulator.endpoint_url, emulator.pid, started_emulator),
            ("the ZenML server", server.url, server.pid, started_server),
        ):
            echo(f"{'started' if new else 'already running:'} {what} at {url} (pid {pid})")
        self._record(emulator_port=emulator.port, zenml_port=server.port, region=region)
        self._repair_client(server, fresh_server, echo)

    def _repair_client(self, server: LocalZenMLServer, fresh: bool, echo: Echo) -> None:
        """Log the client folder in (a new server) or repair what `check_client` finds wrong."""
        from sagemaker_stack.ops.local_client import CONFIG_FILE
        from sagemaker_stack.ops.zenml_client import configure_client

        check = self.client_check(server)
        if not fresh and not check.problems:
            return
        if check.unreadable:
            # ZenML cannot read a garbled file either: it is replaced, with the same settings.
            (self.client_dir / CONFIG_FILE).unlink(missing_ok=True)
        configure_client(
            self.client_dir,
            server.url,
            ADMIN_USER,
            self.password_file,
            os.environ,
            project_id=check.project_id,
            stack_id=check.stack_id,
        )
        for problem in [] if fresh else check.problems:
            echo(f"repaired the ZenML client configuration: {problem}")

    def client_check(self, server: LocalZenMLServer | None = None) -> ClientCheck:
        """What is wrong with the client folder, and the stack runs should use (recorded here)."""
        from sagemaker_stack.ops.local_client import check_client

        server = server or self.running()[1]
        recorded = self._recorded().get("stack_id")
        check = check_client(self.client_dir, server, recorded if isinstance(recorded, str) else None)
        if check.stack_id and check.stack_id != recorded:
            self._record(stack_id=check.stack_id)
        return check

    def _check_writable(self) -> None:
        try:
            make_private_state_dir(self.state_dir, markers=(STATE_FILE,))
            probe = self.state_dir / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise LocalEnvironmentError(
                f"state folder {self.state_dir} is not writable ({error.strerror or error}); "
                "choose another with --state-dir"
            ) from None

    def _refuse_other_ports(
        self,
        emulator: Emulator | None,
        server: LocalZenMLServer | None,
        emulator_port: int | None,
        zenml_port: int | None,
    ) -> None:
        wanted = (("emulator", emulator, emulator_port), ("ZenML server", server, zenml_port))
        for what, running, port in wanted:
            if running is not None and port is not None and running.port != port:
                raise LocalEnvironmentError(
                    f"the {what} of {self.state_dir} already runs on port {running.port}, not {port}: "
                    "`sagemaker-stack local stop` first to move it"
                )

    @property
    def job_startup(self) -> StartupModel:
        """The modeled job start-up the emulator runs (or last ran) with."""
        recorded = self._recorded().get("job_startup") or {}
        try:
            return StartupModel(recorded.get("default_seconds", 0), recorded.get("table") or {})
        except (StartupModelError, AttributeError):
            return StartupModel()

    def _wanted_startup(self, seconds: float | None, table_file: Path | None) -> StartupModel:
        """The start-up the options ask for, what was recorded where they say nothing."""
        recorded = self.job_startup
        try:
            table = read_table(table_file) if table_file is not None else recorded.table
            return StartupModel(recorded.default_seconds if seconds is None else seconds, table)
        except StartupModelError as error:
            raise LocalEnvironmentError(str(error)) from None

    def _start_emulator(self, port: int | None, region: str, startup: StartupModel) -> Emulator:
        try:
            emulator = Emulator(
                self.emulator_dir,
                port=port,
                region=region,
                job_startup_seconds=startup.default_seconds,
                job_startup_table=startup.table,
            ).start(exit_with_parent=False)
        except EmulatorError as error:
            raise LocalEnvironmentError(_with_port_hint(str(error), "--port")) from None
        emulator.detach()
        return emulator

    def _start_server(self, port: int | None, emulator: Emulator) -> LocalZenMLServer:
        """The ZenML server, knowing the emulator's endpoint (its AWS service connectors use it)."""
        try:
            server = LocalZenMLServer(
                self.zenml_dir, port=port, aws_endpoint_url=emulator.endpoint_url
            ).start()
        except ZenMLServerError as error:
            raise LocalEnvironmentError(_with_port_hint(str(error), "--zenml-port")) from None
        server.detach()
        return server

    def stop(self, echo: Echo = lambda line: None) -> None:
        """Stop both processes; every file stays (the next `start` resumes from them)."""
        emulator = self._running_emulator()
        if emulator is not None:
            pid = emulator.pid
            emulator.stop()
            echo(f"stopped the emulator (pid {pid})")
        server = self._running_server()
        if server is not None:
            pid = server.pid
            server.stop()
            echo(f"stopped the ZenML server (pid {pid})")
        if emulator is None and server is None:
            echo(f"nothing of the local environment in {self.state_dir} was running")

    def destroy(self, echo: Echo = lambda line: None) -> None:
        """Stop both and remove the state folder (only one that holds a local environment)."""
        if not self.state_dir.exists():
            echo(f"no local environment in {self.state_dir}: nothing to remove")
            return
        if not self.exists():
            raise LocalEnvironmentError(
                f"{self.state_dir} holds no local environment (no {STATE_FILE}): not removing it"
            )
        self.stop(echo)
        shutil.rmtree(self.state_dir)
        echo(f"removed {self.state_dir}")

    # -- what runs ----------------------------------------------------------------------------------
    def _running_emulator(self) -> Emulator | None:
        try:
            return Emulator.attach(self.emulator_dir)
        except EmulatorError:
            return None

    def _running_server(self) -> LocalZenMLServer | None:
        try:
            return LocalZenMLServer.attach(self.zenml_dir)
        except ZenMLServerError:
            return None

    def is_running(self) -> bool:
        """Whether either process answers (a kept demo, or a started environment)."""
        return self._running_emulator() is not None or self._running_server() is not None

    def services(self) -> tuple[Service, Service]:
        """The emulator and the server: where they are and whether they answer."""
        emulator = self._running_emulator()
        server = self._running_server()
        recorded = self._recorded()
        emulator_url = emulator.endpoint_url if emulator else _url(recorded.get("emulator_port"))
        server_url = server.url if server else _url(recorded.get("zenml_port"))
        return (
            Service("emulator", emulator_url, emulator.pid if emulator else None, emulator is not None),
            Service("ZenML server", server_url, server.pid if server else None, server is not None),
        )

    def running(self) -> tuple[Emulator, LocalZenMLServer]:
        """Both processes, or LocalEnvironmentError saying how to start them."""
        emulator, server = self._running_emulator(), self._running_server()
        if emulator is None or server is None:
            found = (("the emulator", emulator), ("the ZenML server", server))
            missing = " and ".join(name for name, process in found if process is None)
            raise LocalEnvironmentError(
                f"{missing} of the local environment in {self.state_dir} is not running: "
                f"start it with `sagemaker-stack local start{self.state_dir_option()}`"
            )
        return emulator, server

    # -- using it -----------------------------------------------------------------------------------
    def env(self, *, pin_stack: bool = True) -> dict[str, str]:
        """The variables every tool needs (the environment must be running).

        ZenML's server, project and (with `pin_stack`, once one is registered) stack are pinned
        in variables, so that no process depends on the shared `config.yaml` (see local_client).
        """
        emulator, server = self.running()
        check = self.client_check(server)
        env = {
            **emulator_env(emulator.endpoint_url, emulator.region),
            # AWS CLI v2 pages its output through `less` otherwise.
            "AWS_PAGER": "",
            "ZENML_CONFIG_PATH": str(self.client_dir),
            "ZENML_STORE_URL": server.url,
            "ZENML_ANALYTICS_OPT_IN": "false",
            ENV_STATE_DIR: str(self.state_dir),
        }
        if check.project_id:
            env["ZENML_ACTIVE_PROJECT_ID"] = check.project_id
        if pin_stack and check.stack_id:
            env["ZENML_ACTIVE_STACK_ID"] = check.stack_id
        return env

    def pinned_stack(self) -> str | None:
        """The name of the stack `env` pins (None before a stack is registered)."""
        return self.client_check().stack_name

    def problems(self) -> list[str]:
        """What is wrong although both answer: each line says what and how to fix it."""
        emulator, server = self.running()
        check = self.client_check(server)
        lines = [f"{problem}: `sagemaker-stack local start` repairs it" for problem in check.problems]
        try:
            saving = emulator.state_report().get("error")
        except EmulatorError:
            saving = "the emulator stopped answering"
        if saving:
            lines.append(
                f"the emulator's state is not being saved ({saving}): what changes now is lost when it "
                f"stops; free space or fix the permissions of {self.emulator_dir}"
            )
        return lines

    def notes(self) -> list[str]:
        """What `status` mentions without calling it broken."""
        _, server = self.running()
        if server.has_encrypted_secrets():
            return []
        return [
            "the ZenML server keeps its secrets unencrypted (its database predates encryption keys): "
            "`sagemaker-stack local destroy` and `start` make a new one that encrypts them"
        ]

    def activate_in_process(self) -> dict[str, str]:
        """Point this process's tools at the environment (what `eval "$(... local env)"` does).

        The stack is not pinned: the caller (`up`) is about to register and activate its own.
        """
        env = self.env(pin_stack=False)
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ.update(env)
        return env

    def dashboard_lines(self) -> list[str]:
        """Where the dashboard is and how to log in (the password stays in its mode-0600 file)."""
        _, server = self.running()
        return [
            f"ZenML dashboard: {server.url}",
            f"  log in as `{ADMIN_USER}`, password: `cat {self.password_file}` (a mode-0600 file)",
        ]

    def state_dir_option(self) -> str:
        if self.state_dir == DEFAULT_STATE_DIR.resolve():
            return ""
        return f" --state-dir {self.state_dir}"


def _url(port: object) -> str | None:
    return f"http://127.0.0.1:{port}" if isinstance(port, int) else None


def _with_port_hint(message: str, option: str) -> str:
    """The emulator's and server's port messages, with the option of `local start` that moves it."""
    if "in use" in message:
        message = message.removesuffix(f"; {PORT_ADVICE}")
        return f"{message}; choose another with `sagemaker-stack local start {option} PORT`"
    return message
