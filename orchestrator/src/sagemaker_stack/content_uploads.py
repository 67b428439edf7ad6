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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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


def _tolerant(upload: Callable[[Any], str]) -> Callable[[Any], str]:
    @functools.wraps(upload)
    def upload_code_if_necessary(code_archive: Any) -> str:
        return once_more_if_raced(lambda: upload(code_archive))

    setattr(upload_code_if_necessary, _MARK, True)
    return upload_code_if_necessary


def tolerate_concurrent_uploads() -> None:
    """Wrap ZenML's `upload_code_if_necessary` (once per process; idempotent)."""
    from zenml.utils import code_utils

    current = code_utils.upload_code_if_necessary
    if not getattr(current, _MARK, False):
        code_utils.upload_code_if_necessary = _tolerant(current)  # type: ignore[assignment]
