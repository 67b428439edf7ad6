"""ZenML's `run`, without the API token ZenML would ask its server to mint for it.

`BaseOrchestrator.run` (zenml 0.98) starts with `get_config_environment_vars(schedule_id=...,
pipeline_run_id=...)`, which asks the ZenML server for a new API token: for a schedule a workload
token that never expires (with the warning "An API token without an expiration time will be
generated ... This is very insecure" when the client logged in with a password), for a run one
scoped to it. The orchestrator puts none of it in a step: `ZENML_STORE_API_TOKEN` is a connection
variable (`environment`), and steps authenticate with the stack's service account, whose API key
they read from the stack's secret. So the token was minted for nothing, and a never-expiring one
stays valid on the server for good. ZenML has no switch for it.

While `without_run_tokens()` is active (our orchestrator's `run`, in this thread or task only: a
ContextVar), that call is made without the ids; ZenML then adds only the client's current token,
read locally with no server call, which the orchestrator drops as before. Any other caller of the
function (another orchestrator, ZenML's step launcher) is untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_ACTIVE: ContextVar[bool] = ContextVar("sagemaker_stack_without_run_tokens", default=False)


def _gated(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def config_environment_vars(*args: Any, **kwargs: Any) -> Any:
        if _ACTIVE.get():
            kwargs.pop("schedule_id", None)
            kwargs.pop("pipeline_run_id", None)
        return original(*args, **kwargs)

    config_environment_vars.__sagemaker_stack_gated__ = True  # type: ignore[attr-defined]
    return config_environment_vars


@contextmanager
def without_run_tokens() -> Iterator[None]:
    """ZenML's base orchestrator asks for no schedule or run token while this is active."""
    from zenml.orchestrators import base_orchestrator

    current = base_orchestrator.get_config_environment_vars
    if not getattr(current, "__sagemaker_stack_gated__", False):
        base_orchestrator.get_config_environment_vars = _gated(current)
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
