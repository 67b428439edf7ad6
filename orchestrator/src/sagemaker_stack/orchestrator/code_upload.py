"""ZenML's code upload, made safe for runs of one project started at the same moment.

ZenML 0.98 (`zenml.utils.code_utils.upload_code_if_necessary`) names the code archive after its
content's hash, checks whether the artifact store has it, and if not copies it there with
`overwrite=False`. Two runs of one project started together both find it missing, both copy, and
the one whose copy comes second fails with `FileExistsError`, although the file it wanted is
there with the very content it would have written (the name is the hash). It happens on AWS as in
the emulator: seen with 6 runs started at once, 2 of 5 times.

The wrapper tries once more after that error: the archive now exists, so ZenML's own code skips
the copy and returns its path. It is installed by the orchestrator (`get_docker_builds`, which
ZenML calls before it uploads the code), so it applies only where our orchestrator runs a
pipeline, and only a `FileExistsError` is ever retried.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MARK = "__sagemaker_stack_concurrent_safe__"


def _tolerant(upload: Callable[[Any], str]) -> Callable[[Any], str]:
    @functools.wraps(upload)
    def upload_code_if_necessary(code_archive: Any) -> str:
        try:
            return upload(code_archive)
        except FileExistsError:
            # Another run uploaded the same archive between ZenML's check and its copy.
            return upload(code_archive)

    setattr(upload_code_if_necessary, _MARK, True)
    return upload_code_if_necessary


def tolerate_concurrent_uploads() -> None:
    """Wrap ZenML's `upload_code_if_necessary` (once per process; idempotent)."""
    from zenml.utils import code_utils

    current = code_utils.upload_code_if_necessary
    if not getattr(current, _MARK, False):
        code_utils.upload_code_if_necessary = _tolerant(current)  # type: ignore[assignment]
