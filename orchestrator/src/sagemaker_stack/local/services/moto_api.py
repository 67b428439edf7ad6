"""moto's own API (`/moto-api/`): its reset, which work running in the background must see first.

moto's reset (`POST /moto-api/reset`) forgets every backend, while builds and executions still
running use them: each is stopped first. A backend of ours with work running in this process
(CodeBuild's builds) says how to stop it with a `stop_running()` method; `stop_running()` here
calls it on every backend moto holds, for the reset and for the server's stop.

The reset is seen in the server's WSGI stack (`stopping_on_reset`), not in moto: moto's API has
no BackendDict to register a subclass in (its backend is one module-level instance, which its
responses import by name), and there is nothing of it to extend but the moment of the reset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from moto.core.base_backend import BackendDict

RESET_PATH = "/moto-api/reset"

#: Work that does not live on a backend of ours yet (SageMaker's executions), stopped as well.
_before_reset: list[Callable[[], None]] = []


def before_reset(stop: Callable[[], None]) -> None:
    """Call `stop` before every reset too (for work that is not on a backend with `stop_running`)."""
    if stop not in _before_reset:
        _before_reset.append(stop)


def stop_running() -> None:
    """Every backend moto holds stops the work it runs in this process, and waits for it to end."""
    instances: list[BackendDict[Any]] = list(BackendDict._instances)  # type: ignore[misc]
    for backends in instances:
        for _, _, backend in list(backends.iter_backends()):
            stop = getattr(backend, "stop_running", None)
            if stop is not None:
                stop()


def stopping_on_reset(inner: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """moto's WSGI app, which stops what runs before moto's reset forgets the state it uses."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            for stop in _before_reset:
                stop()
            stop_running()
        return inner(environ, start_response)

    return app
