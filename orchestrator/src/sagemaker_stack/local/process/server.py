"""The emulator's server process: `python -m sagemaker_stack.local.process.server --port P --state-dir DIR`.

moto's WSGI app on 127.0.0.1 with our additions installed (moto_registry), plus `/_emulator/health` for
readiness checks (with what the restore found and the last save, see persistence). It restores
the state folder's snapshot (`state/`), ends what a killed predecessor left running, writes
`emulator.pid` and `emulator.port` once it listens, saves its state while it serves, and removes
them when it stops; SIGTERM ends every running pipeline execution (Failed: the emulator was
stopped) and CodeBuild build (STOPPED) first, then saves once more. What else the state folder
holds, and where, is named in state.layout. The port is bound with SO_REUSEADDR, so a restart on
the same port works at once (see port). `EMULATOR_CODEBUILD_SECONDS_PER_MINUTE` in its environment makes
a minute of a build's timeout last that many seconds (tests use a few).
`--job-startup-seconds S` and `--job-startup-table FILE` set the start-up every job waits before
its container runs (sagemaker.startup; none by default); the health document reports them.
Exit codes: 0 stopped, 2 state folder unusable, 3 port in use, 4 a bad start-up setting.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sagemaker_stack.local.process.port import PortInUse, listen
from sagemaker_stack.local.sagemaker.startup import StartupModel, StartupModelError, check_seconds, read_table
from sagemaker_stack.local.state.layout import (
    BUILDS_FOLDER,
    PID_FILE,
    PORT_FILE,
    WORK_FOLDER,
    state_dir_problem,
)
from sagemaker_stack.local.state.lock import STATE

HEALTH_PATH = "/_emulator/health"
EXIT_STATE_DIR = 2
EXIT_PORT_IN_USE = 3
EXIT_SETTINGS = 4


#: Requests that change nothing, by HTTP method or by the operation's name (JSON protocols).
_READING_METHODS = ("GET", "HEAD", "OPTIONS")
_READING_OPERATIONS = ("Describe", "List", "Get", "BatchGet", "Head")


def _changes_state(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") in _READING_METHODS:
        return False
    operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]
    return not operation.startswith(_READING_OPERATIONS)


def _state_app(inner: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Each request holds the state against a snapshot for as long as moto works on it."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with STATE.shared(changes=_changes_state(environ)):
            result = inner(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return app


def _health_app(
    inner: Callable[..., Iterable[bytes]], details: dict[str, Any], state: Callable[[], dict[str, Any]]
) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps({"status": "ok", **details, "state": state()}).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return inner(environ, start_response)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--job-startup-seconds",
        default="0",
        help="seconds every job waits, InProgress, before its container runs (AWS provisioning its "
        "instances; see sagemaker.startup); default 0",
    )
    parser.add_argument(
        "--job-startup-table",
        type=Path,
        default=None,
        help='a JSON file of start-up seconds by instance type ({"ml.m5.large": 60}); other types '
        "wait --job-startup-seconds",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started us ends (so a killed test run leaves nothing behind)",
    )
    args = parser.parse_args(argv)
    # Whatever this process, its steps and builds write is its user's alone (saved secrets,
    # artifacts, logs), whatever the umask of the shell that started it.
    os.umask(0o077)
    state_dir: Path = args.state_dir.resolve()
    problem = state_dir_problem(state_dir)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_STATE_DIR
    try:
        table = read_table(args.job_startup_table) if args.job_startup_table else {}
        startup = StartupModel(check_seconds(args.job_startup_seconds, "--job-startup-seconds"), table)
    except StartupModelError as error:
        print(error, file=sys.stderr)
        return EXIT_SETTINGS

    try:
        listener = listen(args.host, args.port)
    except PortInUse as error:
        print(error, file=sys.stderr)
        return EXIT_PORT_IN_USE
    port = listener.getsockname()[1]
    endpoint_url = f"http://{args.host}:{port}"
    # moto builds some URLs (S3, SQS) from these; set before moto is imported.
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)

    # One line per request would grow the log without bound; errors still get through.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from sagemaker_stack.local import moto_registry
    from sagemaker_stack.local.process.leftovers import kill_leftovers
    from sagemaker_stack.local.process.persistence import STOPPED_CAUSE, Persistence
    from sagemaker_stack.local.sagemaker import models as sagemaker
    from sagemaker_stack.local.services import moto_api

    moto_registry.install(endpoint_url, state_dir, startup)
    killed = kill_leftovers([state_dir / WORK_FOLDER, state_dir / BUILDS_FOLDER])
    if killed:
        print(f"ended {killed} step or build process(es) a killed emulator left", file=sys.stderr, flush=True)
    persistence = Persistence(state_dir)
    print(persistence.restore(), file=sys.stderr, flush=True)
    details = {
        "pid": os.getpid(),
        "port": port,
        "endpoint_url": endpoint_url,
        "region": args.region,
        "job_startup": startup.to_json(),
    }
    app = _health_app(
        _state_app(moto_api.stopping_on_reset(DomainDispatcherApplication(create_backend_app))),
        details,
        persistence.health,
    )
    server = make_server(
        args.host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
    )

    def on_signal(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_with_parent:
        _watch_parent(os.getppid())
    persistence.start()
    _write(state_dir / PID_FILE, str(os.getpid()))
    _write(state_dir / PORT_FILE, str(port))
    print(f"emulator serving at {endpoint_url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        sagemaker.interrupt_all(STOPPED_CAUSE)
        moto_api.stop_running()
        persistence.stop()
        for name in (PID_FILE, PORT_FILE):
            with contextlib.suppress(OSError):
                if (state_dir / name).read_text().strip() == (
                    str(os.getpid()) if name == PID_FILE else str(port)
                ):
                    (state_dir / name).unlink()
        server.server_close()
    return 0


def _watch_parent(parent: int) -> None:
    """SIGTERM ourselves (a clean stop) once we are re-parented, i.e. our parent has died."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _write(path: Path, text: str) -> None:
    """Atomically, so a reader never sees a half-written pid or port."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
