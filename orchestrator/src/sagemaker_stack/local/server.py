"""The emulator's server process: `python -m sagemaker_stack.local.server --port P --state-dir DIR`.

moto's WSGI app on 127.0.0.1 with our additions installed, plus `/_emulator/health` for
readiness checks. It writes `emulator.pid` and `emulator.port` into the state folder once it
listens, and removes them when it stops; SIGTERM stops every running pipeline step and CodeBuild
build first. The state folder also holds the builds' folders (`codebuild/`) and the `docker`
stand-in's images (`images/`). `EMULATOR_CODEBUILD_SECONDS_PER_MINUTE` in its environment makes
a minute of a build's timeout last that many seconds (tests use a few).
Exit codes: 0 stopped, 2 state folder unusable, 3 port in use.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PID_FILE = "emulator.pid"
PORT_FILE = "emulator.port"
LOG_FILE = "emulator.log"
WORK_FOLDER = "executions"
IMAGES_FOLDER = "images"  # the image store, EMULATOR_IMAGE_STORE of the emulator's builds
HEALTH_PATH = "/_emulator/health"
EXIT_STATE_DIR = 2
EXIT_PORT_IN_USE = 3


def port_in_use_message(host: str, port: int) -> str:
    return f"port {port} on {host} is in use; choose another with --port or omit it for a free one"


def state_dir_message(state_dir: Path, reason: str) -> str:
    return f"state folder {state_dir} is not writable ({reason}); choose another with --state-dir"


def check_state_dir(state_dir: Path) -> None:
    """Create the folder and prove we can write into it; OSError says why not."""
    state_dir.mkdir(parents=True, exist_ok=True)
    probe = state_dir / f".write-test-{os.getpid()}"
    probe.write_text("ok")
    probe.unlink()


def _health_app(
    inner: Callable[..., Iterable[bytes]], details: dict[str, Any]
) -> Callable[..., Iterable[bytes]]:
    body = json.dumps({"status": "ok", **details}).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
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
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started us ends (so a killed test run leaves nothing behind)",
    )
    args = parser.parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    try:
        check_state_dir(state_dir)
    except OSError as error:
        print(state_dir_message(state_dir, error.strerror or str(error)), file=sys.stderr)
        return EXIT_STATE_DIR

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((args.host, args.port))
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            print(port_in_use_message(args.host, args.port), file=sys.stderr)
            return EXIT_PORT_IN_USE
        raise
    listener.listen(128)
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

    from sagemaker_stack.local import (  # the *_cfn modules define CloudFormation resource types
        cfn_resources,
        codebuild,
        codebuild_cfn,  # noqa: F401
        kms_cfn,  # noqa: F401
        moto_fixes,
        sagemaker_pipelines,
        secrets_cfn,  # noqa: F401
    )

    moto_fixes.install()
    cfn_resources.register()
    sagemaker_pipelines.install(endpoint_url, state_dir / WORK_FOLDER, state_dir / IMAGES_FOLDER)
    codebuild.install(endpoint_url, state_dir)
    details = {"pid": os.getpid(), "port": port, "endpoint_url": endpoint_url, "region": args.region}
    app = _health_app(DomainDispatcherApplication(create_backend_app), details)
    server = make_server(
        args.host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
    )

    def on_signal(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_with_parent:
        _watch_parent(os.getppid())
    _write(state_dir / PID_FILE, str(os.getpid()))
    _write(state_dir / PORT_FILE, str(port))
    print(f"emulator serving at {endpoint_url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        sagemaker_pipelines.stop_all()
        codebuild.stop_all()
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
