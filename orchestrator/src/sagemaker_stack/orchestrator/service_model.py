"""botocore's SageMaker service model as a checker: the limits AWS itself validates against.

`shape_problems` walks a value against a shape for what botocore's own ParamValidator leaves out
(maximum lengths and counts, patterns, enums); `param_validator_problems` runs ParamValidator for
the rest (types, required and unknown members, minimums). Both yield the request path of each
problem, so that the caller can name the setting behind it.

The model's patterns are Java regular expressions matched against the whole value; `\\p{L}`,
`\\p{N}`, `\\p{Z}` and `\\p{Alnum}` are translated for Python's `re` (see `python_pattern`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from sagemaker_stack import aws


def model() -> Any:
    """botocore's SageMaker service model, parsed once per process and shared with the clients."""
    return aws.service_model("sagemaker")


def input_shape(operation: str) -> Any:
    """The request shape of an operation, e.g. CreateProcessingJob."""
    return model().operation_model(operation).input_shape


def shape(name: str) -> Any:
    """A named shape, e.g. ProcessingInstanceType."""
    return model().shape_for(name)


def enum(name: str) -> frozenset[str]:
    """The values of an enum shape."""
    return frozenset(shape(name).enum)


_UNICODE_CLASSES: Final = {
    # Valid inside a character class, the only place the model uses them. Python's \w is
    # [\p{L}\p{N}_]; the model uses \p{L}\p{N} only next to '_' (TagKey/TagValue): same set.
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
    r"\p{Alnum}": "a-zA-Z0-9",
}


@functools.lru_cache(maxsize=256)
def python_pattern(pattern: str) -> re.Pattern[str]:
    """A model (Java) pattern as a Python regex, for a whole-value match."""
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    return re.compile(pattern)


def show(value: Any, limit: int = 80) -> str:
    """A value for a message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def range_text(metadata: Mapping[str, Any]) -> str:
    low, high = metadata.get("min"), metadata.get("max")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}"


def shape_problems(value: Any, checked: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, what is wrong and what is allowed) for min/max/pattern/enum violations.

    Types, required and unknown members are left to botocore's ParamValidator.
    """
    meta = checked.metadata
    kind = checked.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for name, member in checked.members.items():
            if name in value:
                yield from shape_problems(value[name], member, f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        if not _within(len(value), meta):
            yield path, f"has {len(value)} entries; allowed: {range_text(meta)} entries"
        for index, item in enumerate(value):
            yield from shape_problems(item, checked.member, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        if not _within(len(value), meta):
            yield path, f"has {len(value)} entries; allowed: {range_text(meta)} entries"
        for key in value:
            for _, problem in shape_problems(key, checked.key, f"{path}.{key}"):
                yield f"{path}.{key}", f"name {problem}"
            for _, problem in shape_problems(value[key], checked.value, f"{path}.{key}"):
                yield f"{path}.{key}", f"value {problem}"
    elif kind == "string" and isinstance(value, str):
        values = getattr(checked, "enum", None)
        if values and value not in values:
            yield path, enum_problem(value, checked)
        elif not _within(len(value), meta):
            yield path, f"is {len(value)} characters long; allowed: {range_text(meta)} characters"
        elif "pattern" in meta and not python_pattern(meta["pattern"]).fullmatch(value):
            yield path, f"does not match the pattern {meta['pattern']}"
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):  # noqa: SIM102
        if not _within(value, meta):
            yield path, f"is out of range; allowed: {range_text(meta)}"


def _within(number: int, metadata: Mapping[str, Any]) -> bool:
    return metadata.get("min", number) <= number <= metadata.get("max", number)


def enum_problem(value: str, checked: Any) -> str:
    values = list(checked.enum)
    text = f"is not a {checked.name} (one of {len(values)} values"
    close = difflib.get_close_matches(value, values, n=3)
    text += f"; did you mean {', '.join(close)}?)" if close else ", e.g. " + ", ".join(values[:3]) + ")"
    for other, hint in (
        ("TrainingInstanceType", "it is a training instance type: set use_training_step=True"),
        ("ProcessingInstanceType", "it is a processing instance type: set use_training_step=False"),
    ):
        if other != checked.name and value in shape(other).enum:
            text += f"; {hint}"
    return text


def param_validator_problems(request: dict[str, Any], checked: Any) -> list[tuple[str, str]]:
    """botocore's own request validation (types, required and unknown members, minimums).

    Environment values are described, never echoed: they are where a user may have put a token.
    """
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, checked)
    if not report.has_errors():
        return []
    errors = getattr(report, "_errors", None)
    if errors is None:  # a future botocore without the list: use its text report
        return [("", line) for line in report.generate_report().splitlines()]
    # Each error is (kind, ".Dotted.Path", details); the path is what `shape_problems` reports.
    problems = []
    for kind, name, details in errors:
        path = str(name).lstrip(".")
        if path.startswith("Environment."):
            value = details.get("param") if isinstance(details, Mapping) else None
            message = (
                f"environment variable {path.split('.', 1)[1]!r}: {kind} (a {type(value).__name__}); "
                "allowed: a string or an execution variable expression"
            )
        else:
            message = report._format_error((kind, name, details))
        problems.append((path, message))
    return problems


def value_at(document: Any, path: str) -> Any:
    """The value at a dotted/indexed request path (not used for environment values: never shown)."""
    current = document
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            current = current[index] if isinstance(current, list) and index < len(current) else None
        else:
            current = current.get(part) if isinstance(current, Mapping) else None
    return current


def path_parts(path: str) -> tuple[str, ...]:
    """`ResourceConfig.InstanceType` or `Tags[0].Key` -> the member names, list indexes dropped."""
    return tuple(part for part in re.findall(r"[^.\[\]]+|\[\d+\]", path) if not part.startswith("["))
