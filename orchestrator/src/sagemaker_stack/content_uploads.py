"""ZenML's uploads named after their content, made safe for runs started at the same moment.

ZenML 0.98 (`zenml.utils.code_utils.upload_code_if_necessary`) names the code archive after its
content's hash, checks whether the artifact store has it, and if not copies it there with
`overwrite=False`. Two runs of one project started together both find it missing, both copy, and
the one whose copy comes second fails with `FileExistsError`, although the file it wanted is
there with the very content it would have written (the name is the hash). It happens on AWS as in
the emulator: seen with 6 runs started at once, 2 of 5 times. ZenML uploads an image's build
context the same way (`BaseImageBuilder._upload_build_context`): two first runs of a pipeline
started together both build its image, and one failed there too; our image builder goes through
`once_more_if_raced` as well.

The wrapper tries once more after that error: the archive now exists, so ZenML's own code skips
the copy and returns its path. It is installed by the orchestrator (`get_docker_builds`, which
ZenML calls before it uploads the code), so it applies only where our orchestrator runs a
pipeline, and only a `FileExistsError` is ever retried.

It also leaves out of the archive every folder whose `.gitignore` ignores all it holds (a line
`*`), in a project that is not a git repository. In a git repository ZenML lists the files with
`git ls-files --exclude-standard`, which does that already; outside one it archives every file
under the source root, so a local environment's state folder put in the project (which holds
such a `.gitignore`) went into every run's archive: the ZenML database, the emulator's blobs
(earlier archives among them, so each archive grew) and the environment's keys and passwords,
uploaded to the artifact store. Only that whole-folder rule of git's is applied, not the rest
of `.gitignore`'s patterns: outside git, ZenML's behaviour is otherwise unchanged.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

_MARK = "__sagemaker_stack_concurrent_safe__"


def once_more_if_raced(upload: Callable[[], str]) -> str:
    """`upload()`, called once more if it failed on a file another run copied meanwhile.

    Only for ZenML's check-then-copy uploads of a file named after its content: the file that is
    there is the one this run would have written, and the second call finds it and skips the copy.
    """
    try:
        return upload()
    except FileExistsError:
        return upload()


def ignores_everything(folder: Path) -> bool:
    """Whether `folder/.gitignore` ignores all the folder holds, as git reads it: a line `*` and
    no line that takes anything back (`!...`)."""
    try:
        lines = [line.strip() for line in (folder / ".gitignore").read_text().splitlines()]
    except (OSError, UnicodeDecodeError):
        return False
    return "*" in lines and not any(line.startswith("!") for line in lines)


def leave_out_ignored_folders(files: dict[str, str], root: str) -> dict[str, str]:
    """`files` ({path in archive: path on disk}, under `root`) without those inside a folder
    that ignores everything it holds."""
    verdicts: dict[PurePath, bool] = {}

    def ignored(folder: PurePath) -> bool:
        if folder not in verdicts:
            verdicts[folder] = ignores_everything(Path(root, folder))
        return verdicts[folder]

    return {
        inside: path
        for inside, path in files.items()
        if not any(ignored(folder) for folder in PurePath(inside).parents if folder != PurePath("."))
    }


def _without_ignored_folders(code_archive: Any) -> None:
    """Outside a git repository, the archive's files leave out folders that ignore everything."""
    root = getattr(code_archive, "_root", None)
    if not root or code_archive.git_repo is not None:
        return  # no files at all, or git's own rules already apply
    listed = code_archive.get_files
    code_archive.get_files = lambda: leave_out_ignored_folders(listed(), os.fspath(root))


def _tolerant(upload: Callable[[Any], str]) -> Callable[[Any], str]:
    @functools.wraps(upload)
    def upload_code_if_necessary(code_archive: Any) -> str:
        _without_ignored_folders(code_archive)
        return once_more_if_raced(lambda: upload(code_archive))

    setattr(upload_code_if_necessary, _MARK, True)
    return upload_code_if_necessary


def tolerate_concurrent_uploads() -> None:
    """Wrap ZenML's `upload_code_if_necessary` (once per process; idempotent)."""
    from zenml.utils import code_utils

    current = code_utils.upload_code_if_necessary
    if not getattr(current, _MARK, False):
        code_utils.upload_code_if_necessary = _tolerant(current)  # type: ignore[assignment]
