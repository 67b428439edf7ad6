"""Two runs that build one image at once both upload its build context: neither fails on the other.

ZenML names the context after its hash, checks the artifact store for it and copies it with
overwrite=False; a run whose check came before the other run's copy landed failed with
FileExistsError (seen with two first runs of a new pipeline started together).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import pytest
from zenml.image_builders import base_image_builder
from zenml.utils.archivable import ArchiveType

from sagemaker_stack.image_builder.codebuild import CodeBuildImageBuilder


class _Context:
    """A build context: its archive is a few fixed bytes."""

    def write_archive(self, output: IO[bytes], archive_type: ArchiveType) -> None:
        output.write(b"FROM base\n")
        output.seek(0)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    client = SimpleNamespace(active_stack=SimpleNamespace(artifact_store=SimpleNamespace(path=str(tmp_path))))
    monkeypatch.setattr(base_image_builder, "Client", lambda: client)
    return tmp_path


def _check_before_the_other_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first existence check answers as it did before the other run's copy landed."""
    real_exists = base_image_builder.fileio.exists
    first = [True]

    def exists(path: Any) -> bool:
        return False if (first.pop() if first else False) else bool(real_exists(path))

    monkeypatch.setattr(base_image_builder.fileio, "exists", exists)


def test_a_run_whose_check_came_before_another_runs_copy_still_gets_its_context(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploaded = CodeBuildImageBuilder._upload_build_context(
        _Context(), "contexts", ArchiveType.ZIP
    )  # the other run
    _check_before_the_other_copy(monkeypatch)
    with pytest.raises(FileExistsError):  # ZenML's own upload
        base_image_builder.BaseImageBuilder._upload_build_context(_Context(), "contexts", ArchiveType.ZIP)

    _check_before_the_other_copy(monkeypatch)
    assert CodeBuildImageBuilder._upload_build_context(_Context(), "contexts", ArchiveType.ZIP) == uploaded
    assert [path.name for path in (store / "contexts").iterdir()] == [Path(uploaded).name]


def test_other_failures_of_the_upload_are_not_hidden(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise PermissionError("AccessDenied")

    monkeypatch.setattr(base_image_builder.fileio, "copy", refuse)
    with pytest.raises(PermissionError):
        CodeBuildImageBuilder._upload_build_context(_Context(), "contexts", ArchiveType.ZIP)
