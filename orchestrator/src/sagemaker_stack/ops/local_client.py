"""The local environment's ZenML client folder: what pins a process to the environment, what is
wrong with the folder, and how it is repaired.

Why pins: ZenML rewrites the folder's `config.yaml` in place (no atomic rename) several times in
every process that starts, and reads an empty or half-written file as "no configuration". A
process that starts while another writes then falls back to a new local SQLite store and ZenML's
default stack (its runs go nowhere near SageMaker, and exit 0), and writes that back for every
later process. So `local env` exports what ZenML reads before its file: `ZENML_STORE_URL` (the
server), `ZENML_ACTIVE_PROJECT_ID` and, once a stack is registered, `ZENML_ACTIVE_STACK_ID`. A
process of the environment then needs nothing of `config.yaml`, whatever others write into it.

Credentials stay in the folder (`credentials.yaml`, mode 0600 in a 0700 folder), not in the
shell's environment: every program a shell starts inherits its variables, and only ZenML's
clients need the login. (ZenML rewrites that file too, but only when a login token is renewed,
and a process that reads it half-written fails with ZenML's "no valid credentials" message; it
cannot run elsewhere.)

`check_client` is what `local status` reports and `local start` repairs: an empty or garbled
`config.yaml`, another store in it, an active stack that is missing, gone or ZenML's default
while the environment has a registered stack, a `credentials.yaml` without the login.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_stack.ops.zenml_server import LocalZenMLServer

CONFIG_FILE = "config.yaml"
CREDENTIALS_FILE = "credentials.yaml"
#: ZenML's own stack (its local orchestrator and artifact store), which every server has.
DEFAULT_STACK = "default"


@dataclass(frozen=True)
class ClientCheck:
    """What is wrong with a client folder, and the ids a process of the environment should use."""

    project_id: str | None
    #: The stack runs should go to: the active one if registered, else the one the environment
    #: recorded, else the only registered stack; None before the first `up`.
    stack_id: str | None
    stack_name: str | None = None
    problems: list[str] = field(default_factory=list)
    #: The config file cannot be read at all (a repair replaces it).
    unreadable: bool = False


def check_client(folder: Path, server: LocalZenMLServer, recorded_stack: str | None) -> ClientCheck:
    """Read the folder's files and compare them with what the server holds."""
    project = server.admin_get("/api/v1/projects/default")
    listed = server.admin_get("/api/v1/stacks?size=1000") or {}
    stacks = {str(item["id"]): str(item["name"]) for item in listed.get("items") or []}
    registered = [stack_id for stack_id, name in stacks.items() if name != DEFAULT_STACK]

    config, config_problem = _read_yaml(folder / CONFIG_FILE)
    active = str(config.get("active_stack_id") or "") if config else ""
    if active in registered:
        stack: str | None = active
    elif recorded_stack in registered:
        stack = recorded_stack
    else:
        stack = registered[0] if len(registered) == 1 else None

    problems = []
    if config_problem:
        problems.append(f"{folder / CONFIG_FILE} is {config_problem}")
    else:
        assert config is not None
        store = config.get("store") if isinstance(config.get("store"), dict) else {}
        url = str((store or {}).get("url") or "").rstrip("/")
        if url != server.url:
            problems.append(
                f"{folder / CONFIG_FILE} points at another ZenML store ({url or 'none'}), "
                f"not the environment's server {server.url}"
            )
        if not active:
            problems.append(f"{folder / CONFIG_FILE} names no active stack")
        elif active not in stacks:
            problems.append(f"the active stack in {folder / CONFIG_FILE} ({active}) is not on the server")
        elif stack is not None and active != stack:
            problems.append(
                f"the active stack in {folder / CONFIG_FILE} is ZenML's {stacks[active]!r} stack, "
                f"not the registered {stacks[stack]!r}: runs would not go to SageMaker"
            )
    credentials, credentials_problem = _read_yaml(folder / CREDENTIALS_FILE)
    login = (credentials or {}).get(server.url)
    if credentials_problem or not isinstance(login, dict) or not login.get("username"):
        problems.append(f"{folder / CREDENTIALS_FILE} holds no login for {server.url}")
    return ClientCheck(
        project_id=str(project["id"]) if project else None,
        stack_id=stack,
        stack_name=stacks.get(stack) if stack else None,
        problems=problems,
        unreadable=bool(config_problem),
    )


def _read_yaml(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(document, None) or (None, what is wrong: missing, empty, garbled)."""
    import yaml  # type: ignore[import-untyped]  # ZenML's dependency; here: `local env` loads quickly

    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, "missing"
    except OSError as error:
        return None, f"unreadable ({error.strerror})"
    if not text.strip():
        return None, "empty"
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None, "garbled (not YAML)"
    if not isinstance(document, dict):
        return None, "garbled (not a mapping)"
    return document, None
