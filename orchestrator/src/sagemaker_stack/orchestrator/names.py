"""SageMaker pipeline and step names from ZenML's: deterministic, valid, collision-aware.

Its own module because the definition (`Name`, `DependsOn`), the job request (a training step's
default output path) and validation all name steps the same way, and the job request is built
before the definition that embeds it.

Step names: the ZenML invocation id when it already fits SageMaker's StepName shape
(`[A-Za-z0-9\\-_]*`, at most 64 characters, from botocore's model), otherwise a sanitized and
truncated form plus 8 hex characters of the original name's SHA-256. The mapping depends on
the name alone, so it is stable across runs and two different ZenML names never collide in
practice; `validation` still checks uniqueness.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from typing import Final

#: botocore sagemaker model: PipelineName max 256, pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}.
PIPELINE_NAME_MAX: Final = 256
#: botocore sagemaker model: StepName max 64, pattern [A-Za-z0-9\-_]*.
STEP_NAME_MAX: Final = 64
_HASH_CHARS: Final = 8


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_CHARS]


def sagemaker_pipeline_name(resource_prefix: str, zenml_pipeline_name: str) -> str:
    """`<prefix>-<name>` in CreatePipeline's PipelineName form, deterministic and collision-aware.

    Characters outside `[A-Za-z0-9-]` become '-', leading/trailing '-' go; when that changed
    anything or the name had to be cut to 256 characters, `-<8 hex of sha256(original)>` is
    appended so that `my_pipe` and `my-pipe` stay two pipelines.
    """
    raw = f"{resource_prefix}-{zenml_pipeline_name}"
    clean = re.sub(r"[^A-Za-z0-9-]+", "-", raw).strip("-")
    if clean == raw and len(clean) <= PIPELINE_NAME_MAX:
        return clean
    suffix = _short_hash(raw)
    head = clean[: PIPELINE_NAME_MAX - _HASH_CHARS - 1].rstrip("-")
    return f"{head}-{suffix}" if head else suffix


def sagemaker_step_name(zenml_step_name: str) -> str:
    """The SageMaker step name of a ZenML step (see the module docstring)."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", zenml_step_name)
    if clean == zenml_step_name and 0 < len(clean) <= STEP_NAME_MAX:
        return clean
    head = clean[: STEP_NAME_MAX - _HASH_CHARS - 1]
    return f"{head}-{_short_hash(zenml_step_name)}"


def sagemaker_group_name(members: Sequence[str], taken: Collection[str] = ()) -> str:
    """The SageMaker step name of a job that runs several ZenML steps (`step_groups`).

    `<first>-to-<last>-<count>-steps`, so the console's step list says which steps a group holds;
    when that is over 64 characters or already `taken` (a step's or another group's name), the
    two names are cut and 8 hex characters of the members' SHA-256 keep groups apart.
    """
    first, last = sagemaker_step_name(members[0]), sagemaker_step_name(members[-1])
    readable = f"{first}-to-{last}-{len(members)}-steps"
    if len(readable) <= STEP_NAME_MAX and readable not in taken:
        return readable
    suffix = f"-{len(members)}-steps-{_short_hash(chr(0).join(members))}"
    half = (STEP_NAME_MAX - len(suffix) - len("-to-")) // 2
    return f"{first[:half]}-to-{last[:half]}{suffix}"
