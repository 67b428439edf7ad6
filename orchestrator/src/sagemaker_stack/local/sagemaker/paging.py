"""One page of a SageMaker List* answer, as the emulator's additions return them.

SageMaker's NextToken is opaque; the emulator's is the index of the page's first item, so a list
that has not changed between two calls pages the same way. A token this API never returned is
SageMaker's ValidationException.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from moto.sagemaker.exceptions import ValidationError

T = TypeVar("T")


def page(
    items: Sequence[T], next_token: str | None, max_results: int | None, default: int
) -> tuple[Sequence[T], str | None]:
    """The items of the page `next_token` names (at most `max_results`), and the next page's token."""
    try:
        start = int(next_token or 0)
    except ValueError:
        raise ValidationError(f"NextToken {next_token!r} is not one this API returned") from None
    size = int(max_results or default)
    following = str(start + size) if start + size < len(items) else None
    return items[start : start + size], following


def present(entry: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    """`entry` with those of `optional` that are set (SageMaker leaves absent members out)."""
    entry.update({key: value for key, value in optional.items() if value is not None})
    return entry
