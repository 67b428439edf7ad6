"""boto3 clients for the runtime, pointed at AWS or at the local emulator; AWS error codes and ARNs.

One factory so every caller honours the same two knobs: the stack's region, and the endpoint
URL that only the emulator config sets. Credentials come from boto3's default chain
(environment, profile, instance or task role), or from the boto3 session of a ZenML AWS service
connector linked to the component that makes the client (`session`, see `service_connector`);
the only keys ever passed in are the emulator's test keys. The error-code, ARN and ECR image
reference helpers are here too, so no module parses any of them by hand.

Clients come from one boto3 session per region and credential setting: one per process in a
run. A session finds credentials and endpoints once (botocore logs each discovery, and every
fresh session discovered them again: "Found credentials in environment variables" 4-9 times a
run); it is made again only when the AWS_* environment changed, so a process whose environment or
profile changes still sees the change. Those discovery logs are INFO lines about where
credentials came from, not about the run: this module keeps them at WARNING for any process that
loads it (a pipeline run loads it with the orchestrator, before ZenML's S3 artifact store makes
its own clients), not only for the CLI. All sessions share one botocore data loader. Parsing
botocore's JSON (the SageMaker service model, the endpoint tables) is most of the cost of a
client; with the shared loader it is paid once per process, and validation reads the same
parsed model through `service_model`.
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
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = [
    "Arn",
    "ClientError",
    "arn_region",
    "client",
    "error_code",
    "is_not_found",
    "paginate",
    "parse_arn",
]

#: Adaptive retries absorb SageMaker's throttling of Describe/List calls while a run is watched.
_RETRY_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"})


#: botocore's loggers that say where credentials and endpoints were found (INFO), nothing else.
DISCOVERY_LOGGERS: Final = (
    "botocore.credentials",
    "botocore.configprovider",
    "botocore.tokens",
    "aiobotocore.credentials",  # s3fs, which ZenML's S3 artifact store uses
)


def quiet_discovery_logs() -> None:
    """Keep botocore's "Found credentials in ..." / "Found endpoint for ..." INFO lines out of output."""
    for name in DISCOVERY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


quiet_discovery_logs()

#: Sessions are not thread-safe; clients made from them are.
_SESSION_LOCK: Final = threading.Lock()


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


def client(
    service: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    session: boto3.session.Session | None = None,
) -> Any:
    """A boto3 client for `service`; `endpoint_url` None means AWS (or AWS_ENDPOINT_URL if set).

    `session` is a boto3 session that already holds credentials (a ZenML AWS service connector's):
    the client is made from it, in `region`, with the same endpoint and retries as any other.
    Without one, `credentials` (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) are only for the
    emulator's test keys; everywhere else boto3's default chain finds them. `config` (botocore
    `Config` keywords) replaces the adaptive retries, for a caller that retries by itself.
    """
    kwargs: dict[str, Any] = {"config": Config(**config) if config else _RETRY_CONFIG}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if session is not None:
        with _SESSION_LOCK, _collector_paused():
            return session.client(service, region_name=region, **kwargs)  # type: ignore[call-overload]
    keys = credentials or {}
    with _SESSION_LOCK, _collector_paused():
        session = _session(
            region, keys.get("AWS_ACCESS_KEY_ID"), keys.get("AWS_SECRET_ACCESS_KEY"), _aws_environment()
        )
        return session.client(service, **kwargs)  # type: ignore[call-overload]


def _aws_environment() -> tuple[tuple[str, str], ...]:
    """What of the environment a session depends on (AWS_* variables): a new value, a new session."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


@functools.lru_cache(maxsize=16)
def _session(
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    environment: tuple[tuple[str, str], ...],
) -> boto3.session.Session:
    """The one session of these settings: credentials and endpoints are discovered once, then reused.

    `environment` is only part of the cache key (`_aws_environment`), so that a changed AWS_*
    environment (another profile, new keys) makes a new session as a fresh one would see it.
    """
    return boto3.session.Session(
        botocore_session=_botocore_session(),
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
    )


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of `service` (its limits, patterns and shapes), parsed once per process."""
    with _collector_paused():
        return _botocore_session().get_service_model(service)


def paginate(client: Any, operation: str, key: str, **request: Any) -> Iterator[Any]:
    """Every item under `key` of every page of `operation` (botocore's own paginator)."""
    for page in client.get_paginator(operation).paginate(**request):
        yield from page.get(key, [])


# --- errors -------------------------------------------------------------------------------------

#: Error codes AWS services use for "there is no such resource".
NOT_FOUND_CODES: Final = frozenset(
    {"ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NotFoundException", "404"}
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError, else the exception's class name."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def is_not_found(error: BaseException) -> bool:
    """Whether a ClientError says the resource does not exist (by code or HTTP status)."""
    response = getattr(error, "response", None)
    status = ""
    if isinstance(response, Mapping):
        status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return error_code(error) in NOT_FOUND_CODES or status == "404"


# --- ARNs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN, as botocore's own parser splits it."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_parts(self) -> list[str]:
        """`pipeline/name/execution/id` -> ["pipeline", "name", "execution", "id"]."""
        return self.resource.split("/")


def parse_arn(arn: str) -> Arn:
    """Split an ARN; ValueError when it is not one."""
    from botocore.utils import ArnParser, InvalidArnException

    try:
        parts = ArnParser().parse_arn(arn)
    except InvalidArnException:
        raise ValueError(f"{arn!r} is not an ARN") from None
    return Arn(**parts)


def arn_region(arn: str) -> str | None:
    """The region of an ARN, None for a global resource or a malformed ARN."""
    try:
        return parse_arn(arn).region or None
    except ValueError:
        return None


# --- ECR image references ----------------------------------------------------------------------

_ECR_IMAGE: Final = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+)(:(?P<tag>[\w.-]{1,128})|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class EcrImage:
    """An image reference in Amazon ECR, split as DescribeImages takes it."""

    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


def ecr_image(image: str) -> EcrImage | None:
    """The parts of an ECR image reference (no tag means `latest`), None for any other registry."""
    found = _ECR_IMAGE.match(image)
    if found is None:
        return None
    tag, digest = found.group("tag"), found.group("digest")
    return EcrImage(
        account=found.group("account"),
        region=found.group("region"),
        repository=found.group("repository"),
        tag=tag or (None if digest else "latest"),
        digest=digest,
    )
