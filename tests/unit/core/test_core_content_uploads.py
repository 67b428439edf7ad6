"""Runs of one project started at once all upload their code: none fails on the other's copy.

ZenML names the archive after its content and copies it with overwrite=False after checking that
it is missing; a second run whose check came before the first run's copy landed failed with
FileExistsError (2 of 5 times with 6 runs started together).
"""

from __future__ import annotations

import inspect
import subprocess
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from zenml.utils import code_utils

from sagemaker_stack import content_uploads


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ZenML's real upload into a local artifact store, whatever was set restored afterwards.

    ZenML's own function, unwrapped: another test in this process (a pytest-xdist worker runs
    many files) may have run the orchestrator, which wraps it for the rest of the process.
    """
    zenml_own = inspect.unwrap(code_utils.upload_code_if_necessary)  # ZenML's is not decorated
    monkeypatch.setattr(code_utils, "upload_code_if_necessary", zenml_own)
    artifact_store = tmp_path / "artifacts"
    artifact_store.mkdir()
    client = SimpleNamespace(
        active_stack=SimpleNamespace(artifact_store=SimpleNamespace(path=str(artifact_store)))
    )
    monkeypatch.setattr(code_utils, "Client", lambda: client)
    return artifact_store


def _archive(tmp_path: Path) -> Any:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text("print('hello')\n")
    return code_utils.CodeArchive(root=str(project))


def _check_before_the_other_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first existence check answers as it did before the other run's copy landed."""
    real_exists = code_utils.fileio.exists
    first = [True]

    def exists(path: Any) -> bool:
        if first.pop() if first else False:
            return False
        return bool(real_exists(path))

    monkeypatch.setattr(code_utils.fileio, "exists", exists)


def test_a_run_whose_check_came_before_another_runs_copy_still_gets_its_archive(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path)
    uploaded = code_utils.upload_code_if_necessary(archive)  # the other run's upload
    _check_before_the_other_copy(monkeypatch)
    with pytest.raises(FileExistsError):  # ZenML's own function, unwrapped
        code_utils.upload_code_if_necessary(archive)

    _check_before_the_other_copy(monkeypatch)
    content_uploads.tolerate_concurrent_uploads()
    content_uploads.tolerate_concurrent_uploads()  # idempotent: wrapped once
    assert code_utils.upload_code_if_necessary(archive) == uploaded
    assert [path.name for path in (store / "code_uploads").iterdir()] == [Path(uploaded).name]


def test_other_failures_of_the_upload_are_not_hidden(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content_uploads.tolerate_concurrent_uploads()

    def refuse(*_: Any, **__: Any) -> None:
        raise PermissionError("AccessDenied")

    monkeypatch.setattr(code_utils.fileio, "copy", refuse)
    with pytest.raises(PermissionError):
        code_utils.upload_code_if_necessary(_archive(tmp_path))


def _archived(store: Path, uploaded: str) -> set[str]:
    with tarfile.open(store / "code_uploads" / Path(uploaded).name) as archive:
        return {member.name for member in archive.getmembers() if member.isfile()}


def test_outside_git_a_folder_that_ignores_everything_is_not_archived(store: Path, tmp_path: Path) -> None:
    """A local environment's state folder in a project that is no git repository: its database,
    keys and blobs stay out of the archive; the user's files, and folders that ignore only some
    of what they hold (git's other rules are not applied outside git), go in."""
    archive = _archive(tmp_path)
    project = tmp_path / "project"
    state = project / "local-state"
    (state / "zenml").mkdir(parents=True)
    (state / ".gitignore").write_text("# the state of a sagemaker-stack local environment\n*\n")
    (state / "zenml" / "api-key").write_text("ZENKEY_secret")
    (project / "data").mkdir()
    (project / "data" / ".gitignore").write_text("*.csv\n")
    (project / "data" / "rows.csv").write_text("a,b\n")
    (project / "kept").mkdir()
    (project / "kept" / ".gitignore").write_text("*\n!settings.yaml\n")
    (project / "kept" / "settings.yaml").write_text("x: 1\n")
    content_uploads.tolerate_concurrent_uploads()

    files = _archived(store, code_utils.upload_code_if_necessary(archive))
    assert files == {
        "pipeline.py",
        "data/.gitignore",
        "data/rows.csv",
        "kept/.gitignore",
        "kept/settings.yaml",
    }


def test_in_a_git_repository_gits_own_rules_choose_the_files(store: Path, tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    project = tmp_path / "project"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".gitignore").write_text("*.log\n")
    (project / "run.log").write_text("noise\n")
    (project / "local-state").mkdir()
    (project / "local-state" / ".gitignore").write_text("*\n")
    (project / "local-state" / "api-key").write_text("ZENKEY_secret")
    content_uploads.tolerate_concurrent_uploads()

    assert _archived(store, code_utils.upload_code_if_necessary(archive)) == {".gitignore", "pipeline.py"}
