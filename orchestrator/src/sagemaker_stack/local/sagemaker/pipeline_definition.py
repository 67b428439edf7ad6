"""Parse, check and evaluate a SageMaker pipeline definition (the JSON of CreatePipeline).

Pure functions, no I/O: the API layer calls `parse_definition` before it stores or starts a
pipeline, so a definition that is not JSON, or whose steps name an unknown dependency, is a
ValidationException at the call that sent it, as on AWS, instead of a broken run later.
`resolve` evaluates the expressions a definition may hold (`Get` of parameters, execution
variables and earlier steps' properties, `Std:Join`) against one execution's values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Step types the engine runs as local processes.
RUNNABLE_STEP_TYPES = ("Processing", "Training")

_STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)")
_PATH_TOKEN = re.compile(r"\.?([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
#: Keys a list element may be looked up by in a property path such as Outputs['train'].
_NAME_KEYS = ("OutputName", "InputName", "ChannelName", "Name", "MetricName")


class DefinitionError(ValueError):
    """The pipeline definition cannot be run; the message says what is wrong and where."""


class ResolutionError(ValueError):
    """An expression in a step's arguments cannot be evaluated for this execution."""


@dataclass(frozen=True)
class StepSpec:
    """One step of a definition, as the scheduler needs it."""

    name: str
    type: str
    arguments: Any
    depends_on: tuple[str, ...]
    retry_policies: tuple[dict[str, Any], ...] = ()
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """A checked definition: steps in definition order, and parameter defaults."""

    steps: dict[str, StepSpec]
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_types: dict[str, str] = field(default_factory=dict)


def load_definition(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    """The definition as a dict; moto keeps it as the JSON string the caller sent (or a dict from S3)."""
    if isinstance(definition, Mapping):
        return dict(definition)
    try:
        loaded = json.loads(definition)
    except (TypeError, ValueError) as error:
        raise DefinitionError(f"not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise DefinitionError("it must be a JSON object with a 'Steps' list")
    return loaded


def parse_definition(definition: str | Mapping[str, Any]) -> PipelineSpec:
    """Check a definition and return its steps; DefinitionError names the first problem found."""
    document = load_definition(definition)
    raw_steps = document.get("Steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DefinitionError("it must have a non-empty 'Steps' list")
    names: list[str] = []
    for index, raw in enumerate(raw_steps):
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str) or not raw["Name"]:
            raise DefinitionError(f"Steps[{index}] must be an object with a non-empty string 'Name'")
        if not isinstance(raw.get("Type"), str):
            raise DefinitionError(f"step {raw['Name']!r} has no string 'Type'")
        if raw["Name"] in names:
            raise DefinitionError(
                f"step name {raw['Name']!r} is used more than once; step names must be unique"
            )
        names.append(raw["Name"])
    steps: dict[str, StepSpec] = {}
    for raw in raw_steps:
        steps[raw["Name"]] = _step_spec(raw, set(names))
    _check_acyclic(steps)
    parameters, parameter_types = _parameters(document.get("Parameters") or [])
    return PipelineSpec(steps=steps, parameters=parameters, parameter_types=parameter_types)


def _step_spec(raw: dict[str, Any], known: set[str]) -> StepSpec:
    name = raw["Name"]
    depends_on = raw.get("DependsOn") or []
    if not isinstance(depends_on, list) or not all(isinstance(item, str) for item in depends_on):
        raise DefinitionError(f"step {name!r}: 'DependsOn' must be a list of step names")
    implicit = sorted(step_references(raw.get("Arguments")))
    for dependency in [*depends_on, *implicit]:
        if dependency not in known:
            raise DefinitionError(
                f"step {name!r} depends on {dependency!r}, which is not a step of this pipeline "
                f"(steps: {', '.join(sorted(known))})"
            )
        if dependency == name:
            raise DefinitionError(f"step {name!r} depends on itself")
    policies = raw.get("RetryPolicies") or []
    if not isinstance(policies, list) or not all(isinstance(item, dict) for item in policies):
        raise DefinitionError(f"step {name!r}: 'RetryPolicies' must be a list of objects")
    ordered = tuple(dict.fromkeys([*depends_on, *implicit]))
    return StepSpec(
        name=name,
        type=raw["Type"],
        arguments=raw.get("Arguments", {}),
        depends_on=ordered,
        retry_policies=tuple(policies),
        display_name=raw.get("DisplayName"),
        description=raw.get("Description"),
    )


def step_references(value: Any) -> set[str]:
    """Names of the steps whose properties an expression reads (data dependencies)."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if len(value) == 1 and isinstance(get, str):
            match = _STEP_REFERENCE.match(get)
            if match:
                found.add(match.group(1))
            return found
        for item in value.values():
            found |= step_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= step_references(item)
    return found


def _check_acyclic(steps: Mapping[str, StepSpec]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise DefinitionError(f"steps depend on each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for dependency in steps[name].depends_on:
            visit(dependency, [*path, name])
        state[name] = 2

    for name in steps:
        visit(name, [])


def _parameters(raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(raw, list):
        raise DefinitionError("'Parameters' must be a list of {Name, Type, DefaultValue} objects")
    defaults: dict[str, Any] = {}
    types: dict[str, str] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise DefinitionError(f"Parameters[{index}] must be an object with a string 'Name'")
        types[item["Name"]] = str(item.get("Type", "String"))
        if "DefaultValue" in item:
            defaults[item["Name"]] = item["DefaultValue"]
    return defaults, types


def parameter_values(spec: PipelineSpec, given: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Defaults overlaid with an execution's PipelineParameters, converted to the declared types."""
    values = dict(spec.parameters)
    for item in given or []:
        name = item.get("Name")
        if name not in spec.parameter_types:
            raise DefinitionError(
                f"PipelineParameters names {name!r}, which the pipeline does not declare "
                f"(declared: {', '.join(sorted(spec.parameter_types)) or 'none'})"
            )
        values[name] = _typed(item.get("Value"), spec.parameter_types[name], name)
    return values


def _typed(value: Any, kind: str, name: str) -> Any:
    try:
        if kind == "Integer":
            return int(value)
        if kind == "Float":
            return float(value)
        if kind == "Boolean":
            return str(value).lower() == "true" if isinstance(value, str) else bool(value)
    except (TypeError, ValueError):
        raise DefinitionError(f"parameter {name!r} is declared {kind} but was given {value!r}") from None
    return value


#: Looks a dotted property path up: "Parameters.X", "Execution.PipelineExecutionArn", "Steps.A.B".
Lookup = Callable[[str], Any]


def resolve(value: Any, lookup: Lookup) -> Any:
    """Evaluate every `Get` / `Std:Join` expression inside value; everything else is returned as is."""
    if isinstance(value, dict):
        if len(value) == 1 and "Get" in value and isinstance(value["Get"], str):
            return lookup(value["Get"])
        if len(value) == 1 and "Std:Join" in value:
            join = value["Std:Join"]
            separator = join.get("On", "")
            return str(separator).join(_as_text(resolve(item, lookup)) for item in join.get("Values", []))
        for function in ("Std:JsonGet", "Std:Fail"):
            if function in value and len(value) == 1:
                raise ResolutionError(f"the emulator does not evaluate {function} expressions")
        return {key: resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, lookup) for item in value]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_environment_value(value: Any) -> str:
    """Environment values are strings on AWS; resolved parameters may be numbers or booleans."""
    return _as_text(value)


def property_path(document: Any, path: str) -> Any:
    """Walk `ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri` through a step's properties."""
    current = document
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise ResolutionError(f"cannot parse property path {path!r} at {path[position:]!r}")
        position = match.end()
        key, index, quoted_single, quoted_double = match.groups()
        if key is not None:
            if not isinstance(current, dict) or key not in current:
                raise ResolutionError(f"property {path!r} is not available (no {key!r})")
            current = current[key]
        elif index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                raise ResolutionError(f"property {path!r} is not available (no item {index})")
            current = current[int(index)]
        else:
            wanted = quoted_single if quoted_single is not None else quoted_double
            current = _by_name(current, wanted, path)
    return current


def _by_name(current: Any, wanted: str, path: str) -> Any:
    if isinstance(current, dict) and wanted in current:
        return current[wanted]
    if isinstance(current, list):
        for item in current:
            if isinstance(item, dict) and any(item.get(key) == wanted for key in _NAME_KEYS):
                return item
    raise ResolutionError(f"property {path!r} is not available (no item named {wanted!r})")
