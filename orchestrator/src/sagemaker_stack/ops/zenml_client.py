"""A ZenML client folder that is logged in to a server (the local environment's client folder).

`python -m sagemaker_stack.ops.zenml_client URL USER PASSWORD_FILE [PROJECT_ID [STACK_ID]]`, run
with `ZENML_CONFIG_PATH` naming the folder: ZenML's credentials store keeps the user name and
password in the folder's `credentials.yaml` and `GlobalConfiguration.set_store` writes
`config.yaml` (the REST store, no analytics) once it has logged in with them, so every later
client in that folder (`zenml`, `python pipeline.py`, `sagemaker-stack register`) finds them; the
project and stack given are made active (the local environment's repair of a damaged folder). A
separate process because ZenML's configuration is a process-wide singleton read from
`ZENML_CONFIG_PATH` once; the password is read from its file, never from the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from sagemaker_stack.ops.processes import environment_without


class ZenMLClientError(RuntimeError):
    """The client folder could not be logged in; the message has ZenML's reason."""


def configure_client(
    folder: Path,
    url: str,
    user: str,
    password_file: Path,
    env: Mapping[str, str],
    *,
    project_id: str | None = None,
    stack_id: str | None = None,
) -> None:
    """Log the client folder in to the server at `url` (mode 0700: it holds the password), with
    the project and stack given active."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    clean = environment_without(env, ("ZENML_",))
    clean.update({"ZENML_CONFIG_PATH": str(folder), "ZENML_ANALYTICS_OPT_IN": "false"})
    ids = [project_id or "", stack_id or ""] if project_id or stack_id else []
    completed = subprocess.run(
        [sys.executable, "-m", "sagemaker_stack.ops.zenml_client", url, user, str(password_file), *ids],
        env=clean,
        # Not the caller's folder: a `.zen` there (`zenml init`) would take the active stack.
        cwd=folder,
        umask=0o077,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        lines = [line for line in (completed.stderr + completed.stdout).splitlines() if line.strip()]
        raise ZenMLClientError(
            f"could not log the ZenML client in {folder} in to {url}: {' | '.join(lines[-3:])}"
        )
    for name in ("credentials.yaml", "config.yaml"):
        if (folder / name).exists():
            (folder / name).chmod(0o600)


def main(argv: list[str]) -> int:
    url, user, password_file, *ids = argv
    from uuid import UUID

    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.login.credentials_store import get_credentials_store
    from zenml.zen_stores.rest_zen_store import RestZenStoreConfiguration

    get_credentials_store().set_password(url, user, Path(password_file).read_text().strip())
    config = GlobalConfiguration()
    config.analytics_opt_in = False
    config.set_store(RestZenStoreConfiguration(url=url))
    project_id, stack_id = (*ids, "", "")[:2]
    if project_id:
        Client().set_active_project(UUID(project_id))
    if stack_id:
        Client().activate_stack(UUID(stack_id))
    print(f"ZenML client in {os.environ['ZENML_CONFIG_PATH']} logged in to {url} as {user}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
