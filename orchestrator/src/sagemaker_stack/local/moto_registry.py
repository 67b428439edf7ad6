"""Where the emulator's subclasses of moto's backends are registered: one line per service.

moto extends itself by subclassing: a service's backend class (`models`) holds its state, a
response class its wire format (`responses`), and a `BackendDict` of the backend class is what
moto's server and moto's own modules look up (`moto.<service>.models.<name>_backends`, found by
name in `moto.backends`). `install()` puts the emulator's BackendDict in that place, in every
moto module that imported moto's, so the server's dispatch (and anything of moto's that reaches
a service through its backends, e.g. CloudFormation) uses the subclass; the subclass's own
`urls` module, beside its `models`, names its response class. No function is assigned onto a
moto class: what the emulator changes is in the subclasses.

Call `install()` once in the server process, before moto's server app is made.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Service:
    """moto's BackendDict (module and name) and the emulator's that takes its place."""

    moto_module: str
    name: str
    ours: str  # the module that holds the emulator's BackendDict under the same name


#: One line per service the emulator extends by subclassing moto's backend.
SERVICES: list[Service] = [
    Service("moto.sagemaker.models", "sagemaker_backends", "sagemaker_stack.local.sagemaker.models"),
]


def install() -> None:
    """Put each service's subclassed BackendDict where moto looks for moto's (idempotent)."""
    for service in SERVICES:
        theirs = getattr(importlib.import_module(service.moto_module), service.name)
        ours = getattr(importlib.import_module(service.ours), service.name)
        if theirs is ours:
            continue
        for module in [module for name, module in list(sys.modules.items()) if name.startswith("moto")]:
            if getattr(module, service.name, None) is theirs:
                setattr(module, service.name, ours)
        _forget(theirs)


def _forget(backends: Any) -> None:
    """moto's replaced BackendDict is no service any more: out of the list moto resets and saves."""
    from moto.core.base_backend import BackendDict

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    if backends in instances:
        instances.remove(backends)
