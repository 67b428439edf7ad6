"""Environment values longer than SageMaker allows, split into parts and joined again.

SageMaker caps each environment value of a job (256 characters for processing jobs, 512 for
training jobs: botocore's ProcessingEnvironmentValue / TrainingEnvironmentValue). The definition
therefore carries a long value `NAME` as `NAME__PART_0`, `NAME__PART_1`, ... and the step's
entrypoint joins them back into `NAME` before ZenML is imported (ZenML reads some of its own
variables at import time). One module defines the format for both sides.

ZenML's built-in flavor does the same with `zenml.utils.env_utils` (at most 10 parts, joined by
its entrypoint configuration once ZenML runs); ours has no part limit other than SageMaker's 100
variables per job, and joins before ZenML starts. This module imports neither ZenML nor boto3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Final

PART_MARKER: Final = "__PART_"
_PART_NAME = re.compile(rf"^(?P<name>.+){re.escape(PART_MARKER)}(?P<index>0|[1-9][0-9]*)$")


def part_name(name: str, index: int) -> str:
    """The variable that holds part `index` (from 0) of the value of `name`."""
    return f"{name}{PART_MARKER}{index}"


def split_value(name: str, value: str, limit: int) -> dict[str, str]:
    """`{name: value}` when it fits `limit` characters, else its parts in order (each at most `limit`)."""
    if len(value) <= limit:
        return {name: value}
    return {
        part_name(name, index // limit): value[index : index + limit] for index in range(0, len(value), limit)
    }


def join_parts(environ: MutableMapping[str, str]) -> list[str]:
    """Replace every complete run of `NAME__PART_<i>` (i = 0, 1, ...) by `NAME`; returns the names joined.

    Parts are joined in index order (numeric: part 10 after part 9). A run that does not start at 0
    or has a gap is left alone: it was not written by `split_value`.
    """
    found: dict[str, dict[int, str]] = {}
    for key in environ:
        match = _PART_NAME.match(key)
        if match:
            found.setdefault(match["name"], {})[int(match["index"])] = key
    joined: list[str] = []
    for name in sorted(found):
        parts = found[name]
        if sorted(parts) != list(range(len(parts))):
            continue
        environ[name] = "".join(environ.pop(parts[index]) for index in range(len(parts)))
        joined.append(name)
    return joined


def joined(environment: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environment` with split values joined (for checks that must see whole values)."""
    copy = dict(environment)
    join_parts(copy)
    return copy
