"""boto3 clients for the runtime, pointed at AWS or at the local emulator.

One factory so every caller honours the same two knobs: the stack's region, and the endpoint
URL that only the emulator config sets. Credentials always come from boto3's default chain
(environment, profile, instance or task role): the runtime never handles keys itself.

Every client is made from a fresh boto3 session, so it sees the environment and profile as they
are now, but all sessions share one botocore data loader. Parsing botocore's JSON (the SageMaker
service model, the endpoint tables) is most of the cost of a client; with the shared loader it
is paid once per process, and validation reads the same parsed model through `service_model`.
The cyclic garbage collector is paused while botocore parses, which makes that parse about three
times cheaper in a process that has imported ZenML (see `_collector_paused`).

There is deliberately no background warm-up: a thread parsing JSON while ZenML compiles held the
GIL against the main thread's imports and I/O, and measured end to end (benchmarks/, 8 runs each)
the pipeline call took 0.3 s *longer* with it than without.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

#: Adaptive retries absorb SageMaker's throttling of Describe/List calls while a run is watched.
_RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"})


@functools.lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    """The process's one data loader; it caches every file it parses."""
    return botocore.loaders.create_loader()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while botocore parses its JSON.

    Parsing allocates some hundred thousand dicts and lists that all stay alive (the loader
    caches them), and every few hundred allocations trigger a collection that walks the whole
    heap, which in a process that has imported ZenML is large: measured here, a SageMaker client
    took 0.22-0.28 s with the collector running and 0.06-0.09 s without. The previous state is
    restored, so a caller who disabled the collector keeps it disabled.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _botocore_session() -> botocore.session.Session:
    """A fresh session (credentials and config as they are now) on the shared loader."""
    session = botocore.session.Session()
    session.register_component("data_loader", _loader())
    return session


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client for `service`; `endpoint_url` None means AWS (or AWS_ENDPOINT_URL if set)."""
    kwargs: dict[str, Any] = {"config": _RETRY_CONFIG}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    with _collector_paused():
        session = boto3.session.Session(botocore_session=_botocore_session(), region_name=region)
        return session.client(service, **kwargs)  # type: ignore[call-overload]


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of `service` (its limits, patterns and shapes), parsed once per process."""
    with _collector_paused():
        return _botocore_session().get_service_model(service)
