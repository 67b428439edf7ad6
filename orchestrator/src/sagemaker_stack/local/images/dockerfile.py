"""A Dockerfile translated into what the emulator does to build an image (pure: no I/O).

An emulated image is a Python environment, so a Dockerfile means: a base (FROM), files put into
the image's file system (COPY/ADD, WORKDIR), variables (ENV, ARG), requirements really installed
(`pip install`, `python -m pip install`, `uv pip install`: all done with uv), a few file commands
run on the image's files (chmod, mkdir, rm, touch), and configuration recorded for the container
(USER, LABEL, EXPOSE, ENTRYPOINT, CMD, VOLUME, STOPSIGNAL). Anything else (apt-get, curl, an
arbitrary shell, SHELL, HEALTHCHECK, ONBUILD, multi-stage builds) fails the build with a
`DockerfileError` naming the Dockerfile line: it is never skipped.

The text is parsed by `dockerfile-parse` (continuation lines, comments, instruction boundaries);
words inside an instruction are read by `shell_words` as docker and the shell read them.
"""

from __future__ import annotations

import io
import json
import posixpath
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from dockerfile_parse import DockerfileParser
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from sagemaker_stack.local.images.reference import is_python
from sagemaker_stack.local.images.shell_words import (
    ShellSyntaxError,
    expand_word,
    expand_words,
    split_commands,
    split_flags,
)

#: Installers the emulator's own environment already has: `pip install uv` etc. are satisfied.
INSTALLERS = frozenset({"pip", "uv", "setuptools", "wheel"})
FILE_COMMANDS = frozenset({"chmod", "mkdir", "rm", "touch"})
RECORDED = ("USER", "LABEL", "EXPOSE", "ENTRYPOINT", "CMD", "VOLUME", "STOPSIGNAL", "MAINTAINER")
_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
_SUPPORTED_RUN = "pip / python -m pip / uv pip install, echo, true, cd, chmod, mkdir, rm, touch"
# pip/uv options that only change how an installer caches, reports or which Python it picks
# (the image has exactly one): dropped, the installed result is the same.
_DROPPED = frozenset(
    {"--no-cache-dir", "--no-cache", "--system", "--break-system-packages", "--disable-pip-version-check",
     "--no-warn-script-location", "--compile", "--no-compile"}
)  # fmt: skip
_DROPPED_WITH_VALUE = frozenset(
    {
        "--default-timeout",
        "--timeout",
        "--root-user-action",
        "--progress-bar",
        "--cache-dir",
        "--python",
        "-p",
    }
)
_OUTSIDE_ENVIRONMENT = frozenset({"--user", "--target", "-t", "--prefix", "--root"})
_PATH_OPTIONS = frozenset(
    {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-f", "--find-links", "--override"}
)
_VALUE_OPTIONS = _PATH_OPTIONS | frozenset(
    {"-i", "--index-url", "--extra-index-url", "--index", "--default-index", "--python-version",
     "--python-platform", "--resolution", "--prerelease", "--index-strategy", "--keyring-provider",
     "-C", "--config-settings", "--exclude-newer", "--link-mode", "--only-binary", "--no-binary",
     "-P", "--upgrade-package", "--reinstall-package", "--extra", "--group", "--trusted-host"}
)  # fmt: skip


class DockerfileError(ValueError):
    """The Dockerfile cannot be built here; str() names the line and what to change."""

    def __init__(self, instruction: Instruction | None, message: str) -> None:
        where = f"Dockerfile line {instruction.line}: {instruction.text}: " if instruction else "Dockerfile: "
        super().__init__(where + message)


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based, where the instruction starts
    keyword: str  # upper case
    value: str  # the rest, continuation lines joined

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.value}"


@dataclass(frozen=True)
class ContainerPath:
    """An absolute path in the image's file system (mapped into the image's files folder)."""

    path: str


Word = str | ContainerPath


@dataclass(frozen=True)
class Install:
    """`uv pip install <arguments>` into the image's environment, run in `cwd`."""

    arguments: tuple[Word, ...]
    cwd: str


@dataclass(frozen=True)
class Satisfied:
    what: str  # e.g. "pip install uv": the emulator's environment has these installers


@dataclass(frozen=True)
class FileCommand:
    argv: tuple[Word, ...]  # chmod/mkdir/rm/touch with its path arguments marked
    cwd: str


@dataclass(frozen=True)
class Echo:
    text: str


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]  # relative to the build context
    destination: str  # absolute in the image; a trailing "/" means a folder
    chmod: int | None
    add: bool  # ADD extracts local tar archives


@dataclass(frozen=True)
class MakeDir:
    path: str  # WORKDIR creates its folder


Action = Install | Satisfied | FileCommand | Echo | Copy | MakeDir


@dataclass(frozen=True)
class BuildStep:
    instruction: Instruction
    actions: tuple[Action, ...]  # empty for instructions that only change the configuration
    environment: dict[str, str]  # what a RUN sees: the image's ENV and the ARGs declared so far


@dataclass
class ImageConfig:
    """What docker keeps in an image's config for its containers."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    volumes: list[str] = field(default_factory=list)
    stop_signal: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `config` object of a Docker image config (Env as KEY=value strings, ...)."""
        document: dict[str, Any] = {
            "Env": [f"{key}={value}" for key, value in self.env.items()],
            "WorkingDir": self.workdir,
            "User": self.user,
            "Labels": dict(self.labels),
            "ExposedPorts": {port: {} for port in self.exposed_ports},
            "Entrypoint": self.entrypoint,
            "Cmd": self.cmd,
            "Volumes": {volume: {} for volume in self.volumes},
        }
        if self.stop_signal:
            document["StopSignal"] = self.stop_signal
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ImageConfig:
        return cls(
            env=dict(item.split("=", 1) for item in document.get("Env") or []),
            workdir=document.get("WorkingDir") or "/",
            user=document.get("User") or "",
            labels=dict(document.get("Labels") or {}),
            exposed_ports=list(document.get("ExposedPorts") or {}),
            entrypoint=document.get("Entrypoint"),
            cmd=document.get("Cmd"),
            volumes=list(document.get("Volumes") or {}),
            stop_signal=document.get("StopSignal"),
        )


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]

    def base(self, build_args: dict[str, str]) -> tuple[str, str | None, Instruction]:
        """The FROM image name (ARGs before FROM expanded), its --platform, the FROM instruction."""
        scope: dict[str, str] = {}
        for instruction in self.instructions:
            if instruction.keyword == "ARG":
                scope.update(_declare_args(instruction, build_args, {}, scope))
                continue
            if instruction.keyword != "FROM":
                raise DockerfileError(
                    instruction, "the first instruction must be FROM (ARG may come before it)"
                )
            flags, rest = split_flags(instruction.value)
            _check_flags(instruction, flags, {"--platform"})
            words = _words(instruction, rest, scope)
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
                raise DockerfileError(instruction, "expected FROM <image> [AS <name>]")
            platform = next((f.partition("=")[2] for f in flags if f.startswith("--platform=")), None)
            if platform is not None:
                platform = _guard(instruction, lambda text=platform: expand_word(text, scope))
            return words[0], platform, instruction
        raise DockerfileError(None, "no FROM instruction")


@dataclass(frozen=True)
class Translation:
    steps: tuple[BuildStep, ...]
    config: ImageConfig
    unused_build_args: tuple[str, ...]


def parse(text: str) -> Dockerfile:
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    instructions = tuple(
        Instruction(int(item["startline"]) + 1, str(item["instruction"]).upper(), str(item["value"]).strip())
        for item in parser.structure
        if item["instruction"] != "COMMENT"
    )
    return Dockerfile(instructions)


def translate(dockerfile: Dockerfile, build_args: dict[str, str], parent: ImageConfig) -> Translation:
    """The steps after FROM, and the config they leave, on top of the `parent` image's config."""
    _, _, from_instruction = dockerfile.base(build_args)
    pre_from = {
        name: value
        for instruction in dockerfile.instructions[: dockerfile.instructions.index(from_instruction)]
        for name, value in _declare_args(instruction, build_args, {}, {}).items()
    }
    config = replace(parent, env=dict(parent.env), labels=dict(parent.labels))
    args: dict[str, str] = {}
    used: set[str] = set()
    steps: list[BuildStep] = []
    cmd_set_here = False
    for instruction in dockerfile.instructions[dockerfile.instructions.index(from_instruction) + 1 :]:
        scope = {**args, **config.env}
        keyword = instruction.keyword
        actions: tuple[Action, ...] = ()
        if keyword == "FROM":
            raise DockerfileError(instruction, "multi-stage builds are not supported by the emulator")
        if keyword == "ARG":
            declared = _declare_args(instruction, build_args, pre_from, scope)
            used.update(name for name in declared if name in build_args)
            args.update(declared)
        elif keyword == "ENV":
            config.env.update(_pairs(instruction, scope, allow_old_form=True))
        elif keyword == "LABEL":
            config.labels.update(_pairs(instruction, scope, allow_old_form=False))
        elif keyword == "WORKDIR":
            config.workdir = posixpath.normpath(posixpath.join(config.workdir, _word(instruction, scope)))
            actions = (MakeDir(config.workdir),)
        elif keyword in ("COPY", "ADD"):
            actions = (_copy(instruction, scope, config.workdir),)
        elif keyword == "RUN":
            actions = _run(instruction, scope, config.workdir)
        elif keyword == "USER":
            config.user = _word(instruction, scope)
        elif keyword == "EXPOSE":
            config.exposed_ports += [p if "/" in p else f"{p}/tcp" for p in _words(instruction, None, scope)]
        elif keyword == "ENTRYPOINT":
            config.entrypoint = _command(instruction)
            if not cmd_set_here:
                config.cmd = None  # as docker: an ENTRYPOINT resets the CMD of the base image
        elif keyword == "CMD":
            config.cmd, cmd_set_here = _command(instruction), True
        elif keyword == "VOLUME":
            config.volumes += _json_list(instruction) or _words(instruction, None, scope)
        elif keyword == "STOPSIGNAL":
            config.stop_signal = _word(instruction, scope)
        elif keyword == "MAINTAINER":
            config.labels["maintainer"] = instruction.value
        elif keyword in ("SHELL", "HEALTHCHECK", "ONBUILD"):
            raise DockerfileError(instruction, f"{keyword} is not supported by the emulator")
        else:
            raise DockerfileError(instruction, f"unknown instruction {keyword}")
        steps.append(BuildStep(instruction, actions, scope))
    unused = tuple(sorted(set(build_args) - used - set(pre_from)))
    return Translation(tuple(steps), config, unused)


# -- instructions ------------------------------------------------------------------------------
def _declare_args(
    instruction: Instruction, build_args: dict[str, str], pre_from: dict[str, str], scope: dict[str, str]
) -> dict[str, str]:
    declared: dict[str, str] = {}
    for word in _words(instruction, None, scope):
        name, has_default, default = word.partition("=")
        if name in build_args:
            declared[name] = build_args[name]
        elif has_default:
            declared[name] = default
        elif name in pre_from:
            declared[name] = pre_from[name]
    return declared


def _pairs(instruction: Instruction, scope: dict[str, str], *, allow_old_form: bool) -> dict[str, str]:
    words = _words(instruction, None, scope)
    if allow_old_form and words and "=" not in words[0]:
        key, _, rest = instruction.value.partition(" ")
        return {key: _guard(instruction, lambda: expand_word(rest, scope))}
    pairs: dict[str, str] = {}
    for word in words:
        key, has_value, value = word.partition("=")
        if not has_value or not key:
            raise DockerfileError(instruction, f"expected KEY=value, got {word!r}")
        pairs[key] = value
    return pairs


def _copy(instruction: Instruction, scope: dict[str, str], workdir: str) -> Copy:
    add = instruction.keyword == "ADD"
    flags, rest = split_flags(instruction.value)
    _check_flags(instruction, flags, {"--chown", "--chmod", "--link"})
    chmod = None
    for flag in flags:
        name, _, value = flag.partition("=")
        if name == "--chmod":
            try:
                chmod = int(value, 8)
            except ValueError:
                raise DockerfileError(instruction, f"--chmod takes an octal mode, got {value!r}") from None
    words = _json_list(instruction, rest) or _words(instruction, rest, scope)
    if len(words) < 2:
        raise DockerfileError(instruction, f"{instruction.keyword} needs a source and a destination")
    *sources, destination = words
    if add and any("://" in source or source.startswith("git@") for source in sources):
        raise DockerfileError(
            instruction, "ADD from a URL is not supported by the emulator: COPY local files"
        )
    absolute = posixpath.normpath(posixpath.join(workdir, destination))
    if destination.endswith(("/", "/.")) or (destination == "." and absolute != "/"):
        absolute += "/"
    return Copy(tuple(sources), absolute, chmod, add)


def _run(instruction: Instruction, scope: dict[str, str], workdir: str) -> tuple[Action, ...]:
    flags, rest = split_flags(instruction.value)
    for flag in flags:
        name, _, value = flag.partition("=")
        if name == "--mount" and "type=cache" in value.split(","):
            continue  # a cache mount only makes installs faster; the emulator has its own cache
        if name == "--network" and value in ("default", "host"):
            continue
        raise DockerfileError(instruction, f"RUN {flag} is not supported by the emulator")
    exec_form = _json_list(instruction, rest)
    try:
        commands = [exec_form] if exec_form else split_commands(rest, scope)
    except ShellSyntaxError as error:
        raise DockerfileError(instruction, str(error)) from None
    actions: list[Action] = []
    cwd = workdir
    for argv in commands:
        program = posixpath.basename(argv[0])
        installer = _installer_words(argv)
        if installer is not None:
            actions.append(_install(instruction, argv, installer, cwd))
        elif program == "echo":
            actions.append(Echo(" ".join(argv[1:])))
        elif program in ("true", ":"):
            continue
        elif program == "cd" and len(argv) == 2:
            cwd = posixpath.normpath(posixpath.join(cwd, argv[1]))
        elif program in FILE_COMMANDS:
            actions.append(FileCommand((argv[0], *(_mark(word) for word in argv[1:])), cwd))
        else:
            raise DockerfileError(
                instruction,
                f"the emulator cannot run `{argv[0]}`: an image here is a Python environment, not an OS "
                f"(RUN may use {_SUPPORTED_RUN}); install OS packages in a real Docker build",
            )
    return tuple(actions)


def _installer_words(argv: list[str]) -> list[str] | None:
    """The words after pip / python -m pip / uv pip (`install ...`), or None for other programs."""
    program = posixpath.basename(argv[0])
    if program in ("pip", "pip3", f"pip{_MINOR}"):
        return argv[1:]
    if is_python(program) and argv[1:3] == ["-m", "pip"]:
        return argv[3:]
    if program == "uv" and argv[1:2] == ["pip"]:
        return argv[2:]
    if is_python(program) and argv[1:4] == ["-m", "uv", "pip"]:
        return argv[4:]
    return None


def _install(instruction: Instruction, argv: list[str], words: list[str], cwd: str) -> Action:
    if words[:1] != ["install"]:
        raise DockerfileError(
            instruction, f"`{' '.join(argv)}`: the emulator runs only the installers' `install`"
        )
    kept: list[Word] = []
    positional: list[str] = []
    files = False
    index = 1
    while index < len(words):
        word = words[index]
        name, has_value, inline = word.partition("=")
        takes_value = name in _VALUE_OPTIONS or name in _DROPPED_WITH_VALUE
        value = inline if has_value else (words[index + 1] if takes_value and index + 1 < len(words) else "")
        index += 2 if takes_value and not has_value else 1
        if name in _OUTSIDE_ENVIRONMENT:
            raise DockerfileError(instruction, f"{name} installs outside the image's Python environment")
        if word in _DROPPED or name in _DROPPED_WITH_VALUE:
            continue
        if takes_value:
            files = files or name in _PATH_OPTIONS
            kept += [name, _mark(value) if name in _PATH_OPTIONS else value]
        elif word.startswith("-"):
            kept.append(word)
        else:
            positional.append(word)
            kept.append(_mark(word))
    if positional and not files and all(_requirement_name(word) in INSTALLERS for word in positional):
        return Satisfied(" ".join(argv))
    return Install(tuple(kept), cwd)


def _requirement_name(word: str) -> str | None:
    try:
        return canonicalize_name(Requirement(word).name)
    except InvalidRequirement:
        return None


def _mark(word: str) -> Word:
    return ContainerPath(word) if word.startswith("/") else word


def _command(instruction: Instruction) -> list[str]:
    """ENTRYPOINT/CMD: the exec form as given, the shell form as `/bin/sh -c <text>`."""
    return _json_list(instruction) or ["/bin/sh", "-c", instruction.value]


# -- words -------------------------------------------------------------------------------------
def _json_list(instruction: Instruction, text: str | None = None) -> list[str] | None:
    text = instruction.value if text is None else text
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise DockerfileError(instruction, "the exec form is a JSON array of strings")
    return value


def _words(instruction: Instruction, text: str | None, scope: dict[str, str]) -> list[str]:
    return _guard(instruction, lambda: expand_words(instruction.value if text is None else text, scope))


def _word(instruction: Instruction, scope: dict[str, str]) -> str:
    return _guard(instruction, lambda: expand_word(instruction.value, scope))


def _guard(instruction: Instruction, read: Any) -> Any:
    try:
        return read()
    except ShellSyntaxError as error:
        raise DockerfileError(instruction, str(error)) from None


def _check_flags(instruction: Instruction, flags: list[str], allowed: set[str]) -> None:
    for flag in flags:
        if flag.partition("=")[0] not in allowed:
            raise DockerfileError(
                instruction, f"{instruction.keyword} {flag} is not supported by the emulator"
            )
