"""A CodeBuild buildspec (version 0.2), parsed and checked before any of its commands runs.

CodeBuild reads the buildspec in its DOWNLOAD_SOURCE phase and fails the build there with
`YAML_FILE_ERROR` when it cannot use it; `parse_buildspec` raises `BuildspecError` with the
message the runner reports in that phase's context. Whatever the emulator cannot honour (other
users, runtime versions, reports, proxies, batch settings that would change the build) is refused
the same way rather than skipped, so a build never silently does less than on AWS. `batch` only
matters to StartBuildBatch and `artifacts` / `cache` only to projects that upload artifacts or
cache, which the runner checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

#: Buildspec phase keys in the order CodeBuild runs them, with the phase types BatchGetBuilds names.
PHASE_TYPES = {"install": "INSTALL", "pre_build": "PRE_BUILD", "build": "BUILD", "post_build": "POST_BUILD"}
ON_FAILURE_VALUES = ("ABORT", "CONTINUE")
SHELLS = {"bash": "bash", "/bin/bash": "bash", "sh": "sh", "/bin/sh": "sh"}
_TOP_LEVEL = {"version", "env", "phases", "artifacts", "cache", "run-as", "proxy", "batch", "reports"}
_ENV_KEYS = {
    "variables",
    "parameter-store",
    "secrets-manager",
    "exported-variables",
    "shell",
    "git-credential-helper",
}
_PHASE_KEYS = {"commands", "finally", "on-failure", "run-as", "runtime-versions"}
#: Keys whose meaning the emulator cannot provide: a build that uses them fails, saying so.
_UNSUPPORTED = {
    "run-as": "builds run as the emulator's own user",
    "runtime-versions": "builds use the emulator's own tools, whatever runtime is asked for",
    "reports": "the emulator has no CodeBuild report groups",
    "proxy": "the emulator runs builds without a proxy",
}


class BuildspecError(ValueError):
    """The buildspec cannot be used; the message is the `YAML_FILE_ERROR` context CodeBuild would give."""


@dataclass(frozen=True)
class Phase:
    """One of install / pre_build / build / post_build."""

    phase_type: str
    commands: tuple[str, ...] = ()
    finally_commands: tuple[str, ...] = ()
    #: None: CodeBuild's default transitions; "ABORT" or "CONTINUE" as the buildspec says.
    on_failure: str | None = None


@dataclass(frozen=True)
class Buildspec:
    phases: dict[str, Phase]  # by phase type, only those the buildspec has
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    exported_variables: tuple[str, ...] = ()
    shell: str = "bash"

    def summary(self) -> list[str]:
        """The agent's 'Phases found in YAML' lines."""
        lines = [f"Phases found in YAML: {len(self.phases)}"]
        lines += [f" {phase.phase_type}: {len(phase.commands)} commands" for phase in self.phases.values()]
        return lines


def looks_inline(buildspec: str) -> bool:
    """Whether a project's or override's buildspec is the YAML itself rather than a file name.

    CodeBuild takes a one-line value for a path relative to the source root (or an S3 ARN);
    anything with a line break, or a one-liner that is already a YAML mapping, is the buildspec.
    """
    if "\n" in buildspec.strip():
        return True
    try:
        return isinstance(yaml.safe_load(buildspec), dict)
    except yaml.YAMLError:
        return False


def parse_buildspec(text: str) -> Buildspec:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BuildspecError(_yaml_message(error)) from None
    if not isinstance(document, dict):
        raise BuildspecError("the buildspec is not a YAML mapping of keys such as version and phases")
    _refuse_unknown(document, _TOP_LEVEL, "the buildspec")
    _refuse_unsupported(document, "the buildspec")
    version = document.get("version")
    if version is None:
        raise BuildspecError("missing 'version' in the buildspec; use version: 0.2")
    if str(version) != "0.2":
        raise BuildspecError(
            f"buildspec version {version} is not supported by the emulator; use version: 0.2"
        )
    env = _mapping(document.get("env"), "env")
    _refuse_unknown(env, _ENV_KEYS, "env")
    if str(env.get("git-credential-helper", "no")).lower() not in ("no", "false"):
        raise BuildspecError("env/git-credential-helper is not supported: builds have no Git source")
    shell = str(env.get("shell", "bash"))
    if shell not in SHELLS:
        raise BuildspecError(f"env/shell {shell!r} is not supported; use one of bash, sh")
    phases_document = _mapping(document.get("phases"), "phases")
    if not phases_document:
        raise BuildspecError("the buildspec has no phases; add at least phases/build/commands")
    _refuse_unknown(phases_document, set(PHASE_TYPES), "phases")
    phases = {}
    for key, phase_type in PHASE_TYPES.items():
        if key in phases_document:
            phases[phase_type] = _phase(key, phase_type, phases_document[key])
    return Buildspec(
        phases=phases,
        variables=_strings(env.get("variables"), "env/variables"),
        parameter_store=_strings(env.get("parameter-store"), "env/parameter-store"),
        secrets_manager=_strings(env.get("secrets-manager"), "env/secrets-manager"),
        exported_variables=tuple(_commands(env.get("exported-variables"), "env/exported-variables")),
        shell=SHELLS[shell],
    )


def _phase(key: str, phase_type: str, document: Any) -> Phase:
    where = f"phases/{key}"
    body = _mapping(document, where)
    _refuse_unknown(body, _PHASE_KEYS, where)
    _refuse_unsupported(body, where)
    on_failure = body.get("on-failure")
    if on_failure is not None and str(on_failure) not in ON_FAILURE_VALUES:
        raise BuildspecError(f"{where}/on-failure {on_failure!r} is not supported; use ABORT or CONTINUE")
    return Phase(
        phase_type=phase_type,
        commands=tuple(_commands(body.get("commands"), f"{where}/commands")),
        finally_commands=tuple(_commands(body.get("finally"), f"{where}/finally")),
        on_failure=None if on_failure is None else str(on_failure),
    )


def _commands(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BuildspecError(f"Expected {where} to be of array type, found {_kind(value)}")
    commands = []
    for index, item in enumerate(value):
        if isinstance(item, dict | list):
            raise BuildspecError(
                f"Expected {where}[{index}] to be of string type: found subkeys instead, "
                "check indentation or put the command in quotes"
            )
        commands.append(_scalar(item))
    return commands


def _strings(value: Any, where: str) -> dict[str, str]:
    mapping = _mapping(value, where)
    result = {}
    for name, item in mapping.items():
        if isinstance(item, dict | list):
            raise BuildspecError(f"{where}/{name} must be a single value, found {_kind(item)}")
        result[str(name)] = _scalar(item)
    return result


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"Expected {where} to be a mapping, found {_kind(value)}")
    return value


def _scalar(value: Any) -> str:
    """As CodeBuild's YAML reader gives it: booleans in lower case, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _refuse_unknown(document: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(str(key) for key in document if key not in known)
    if unknown:
        raise BuildspecError(
            f"unknown key {unknown[0]!r} in {where}; expected one of {', '.join(sorted(known))}"
        )


def _refuse_unsupported(document: Mapping[str, Any], where: str) -> None:
    for key, reason in _UNSUPPORTED.items():
        if key in document:
            raise BuildspecError(f"{where}/{key} is not supported by the emulator: {reason}")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else f"the value {value!r}"


def _yaml_message(error: yaml.YAMLError) -> str:
    """In the form CodeBuild's YAML reader reports: `yaml: line N: <problem>`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"
