"""Build an emulated image: a new Python environment layered on its base image's, from a Dockerfile.

The new layer is a virtual environment of the emulator's interpreter whose site-packages
1. starts with `00_image_layers.pth` (`import site; site.addsitedir(<base's site-packages>)`),
   so the base's packages (for `FROM python:3.11*`: the emulator's own, ZenML and this package)
   are importable after the image's own; each base does the same for its base, lowest last;
2. holds a copy of the base's `*.dist-info` folders (metadata only), so that `uv pip install`
   counts them as installed and installs only what is missing. If a requirement needs another
   version of a base's package, uv uninstalls the copied metadata (whose RECORD names files in
   this layer only) and installs its own copy here, first on sys.path: no file of a lower layer
   is ever touched;
3. gets the base's console scripts re-pointed at the new interpreter, so `zenml` and friends see
   the image's packages.
Installs use uv with one cache for all builds (`<store>/uv-cache`, hard-linked into the layers)
and compile bytecode. The image's files (WORKDIR, COPY destinations) start as a copy of the
base's. A failed build leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tarfile
import threading
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import uv

from sagemaker_stack.local.images.container import run_container
from sagemaker_stack.local.images.dockerfile import (
    ContainerPath,
    Copy,
    Dockerfile,
    DockerfileError,
    Echo,
    FileCommand,
    Install,
    MakeDir,
    Satisfied,
    Word,
    translate,
)
from sagemaker_stack.local.images.reference import Reference, ReferenceError, parse_reference
from sagemaker_stack.local.images.store import (
    PYTHON_VERSION,
    Environment,
    Image,
    ImageStore,
    StoreError,
    root_image,
    venv_environment,
)

LAYERS_PTH = "00_image_layers.pth"
ARCHITECTURE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower(), platform.machine().lower()
)
PLATFORM = f"linux/{ARCHITECTURE}"


class BuildError(RuntimeError):
    """The build failed; str() is the one line docker would end with."""


@dataclass(frozen=True)
class BuildRequest:
    dockerfile: Dockerfile
    dockerfile_text: str
    context: Path
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    platform: str | None = None
    no_cache: bool = False
    pull: bool = False


#: Finds an image in a registry: the reference -> the id of the local image its manifest names.
RegistryLookup = Callable[[Reference], str]


def resolve_base(store: ImageStore, name: str, *, pull: bool, registry: RegistryLookup) -> Image:
    """FROM: a public Python base (the root), a local tag, or an image in the emulated ECR."""
    try:
        reference = parse_reference(name)
    except ReferenceError as error:
        raise BuildError(f"FROM {name}: {error}") from None
    if reference.is_python_base():
        return root_image()
    local = None if pull and reference.ecr else store.find(name)
    if local is None and reference.ecr:
        local = registry(reference)
    if local is None:
        raise BuildError(
            f"FROM {name}: the emulator has no such image; it can build on python:{PYTHON_VERSION}* "
            f"(docker.io or public.ecr.aws/docker/library: its own Python {PYTHON_VERSION}), an image "
            "built here (docker images), or one pushed to the emulated ECR"
        )
    try:
        return store.image(local)
    except StoreError as error:
        raise BuildError(f"FROM {name}: {error}") from None


def build(store: ImageStore, request: BuildRequest, base: Image, out: TextIO) -> str:
    """Build, tag and return the image id; BuildError (a DockerfileError's line included) if not."""
    try:
        translation = translate(request.dockerfile, request.build_args, base.config)
    except DockerfileError as error:
        raise BuildError(str(error)) from None
    _, from_platform, from_instruction = request.dockerfile.base(request.build_args)
    for wanted in filter(None, (request.platform, from_platform)):
        if wanted not in (PLATFORM, ARCHITECTURE):
            raise BuildError(f"platform {wanted!r} is not supported: the emulator builds for {PLATFORM}")
    if translation.unused_build_args:
        print(
            f"[Warning] One or more build-args {list(translation.unused_build_args)} were not consumed",
            file=out,
        )
    key = _cache_key(request, base)
    cached = None if request.no_cache else store.cached(key)
    if cached is not None:
        print(
            f"Using cache: {cached[7:19]} was built from the same Dockerfile, arguments and context", file=out
        )
        return _tag(store, cached, request.tags, out)

    steps = translation.steps
    layer = store.new_layer()
    try:
        environment = _layered_environment(layer, base)
        if base.files is not None:
            shutil.copytree(base.files, layer / "files", symlinks=True, dirs_exist_ok=True)
        print(f"Step 1/{len(steps) + 1} : {from_instruction.text}", file=out)
        for number, step in enumerate(steps, start=2):
            print(f"Step {number}/{len(steps) + 1} : {step.instruction.text}", file=out, flush=True)
            for action in step.actions:
                try:
                    _act(
                        action,
                        store,
                        request.context,
                        layer / "files",
                        environment.python,
                        step.environment,
                        out,
                    )
                except BuildError as error:
                    where = f"Dockerfile line {step.instruction.line}: {step.instruction.text}"
                    raise BuildError(f"{where}: {error}") from None
        config = translation.config
        config.labels.update(request.labels)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        document = {
            "architecture": ARCHITECTURE,
            "os": "linux",
            "created": now,
            "config": config.to_json(),
            "history": [{"created": now, "created_by": step.instruction.text} for step in steps],
            "emulator": {"layers": [*base.layers, layer.name], "parent": base.id, "python": PYTHON_VERSION},
        }
        image_id = store.save(document)
    except BaseException:
        shutil.rmtree(layer, ignore_errors=True)
        raise
    store.remember(key, image_id)
    print(f"Successfully built {image_id[7:19]}", file=out)
    return _tag(store, image_id, request.tags, out)


def _tag(store: ImageStore, image_id: str, tags: tuple[str, ...], out: TextIO) -> str:
    for tag in tags:
        print(f"Successfully tagged {store.tag(image_id, tag)}", file=out)
    return image_id


# -- the layered environment -------------------------------------------------------------------
def _layered_environment(layer: Path, base: Image) -> Environment:
    builder = venv.EnvBuilder(symlinks=True, with_pip=False)
    builder.create(layer / "venv")
    environment = venv_environment(layer / "venv")
    site = environment.site_packages[0]
    lines = [f"import site; site.addsitedir({str(path)!r})" for path in base.environment.site_packages]
    (site / LAYERS_PTH).write_text("\n".join(lines) + "\n")
    for lower in base.environment.site_packages:
        for metadata in sorted([*lower.glob("*.dist-info"), *lower.glob("*.egg-info")]):
            if metadata.is_dir() and not (site / metadata.name).exists():
                shutil.copytree(metadata, site / metadata.name, symlinks=True)
    _repoint_scripts(base.environment.bin, base.environment.python, environment.bin, environment.python)
    return environment


def _repoint_scripts(lower_bin: Path, lower_python: Path, bin_dir: Path, python: Path) -> None:
    """Console scripts of the base run the base's interpreter: copy them to run this image's."""
    interpreters = {str(lower_python), str(lower_bin / "python"), str(lower_bin / "python3")}
    for script in sorted(lower_bin.iterdir()) if lower_bin.is_dir() else []:
        target = bin_dir / script.name
        if target.exists() or target.is_symlink() or not script.is_file() or script.is_symlink():
            continue
        with script.open("rb") as handle:
            first = handle.readline(512)
        if not first.startswith(b"#!") or first[2:].strip().decode(errors="replace") not in interpreters:
            continue
        body = script.read_bytes().split(b"\n", 1)[1]
        target.write_bytes(b"#!" + str(python).encode() + b"\n" + body)
        target.chmod(0o755)


# -- the actions of a Dockerfile -----------------------------------------------------------------
def _act(
    action: object,
    store: ImageStore,
    context: Path,
    files: Path,
    python: Path,
    environment: dict[str, str],
    out: TextIO,
) -> None:
    if isinstance(action, MakeDir):
        _host_path(files, "/", ContainerPath(action.path)).mkdir(parents=True, exist_ok=True)
    elif isinstance(action, Copy):
        _copy(context, files, action)
    elif isinstance(action, Satisfied):
        print(f" ---> `{action.what}`: already satisfied by the emulator's Python environment", file=out)
    elif isinstance(action, Echo):
        print(action.text, file=out)
    elif isinstance(action, Install):
        command = [uv.find_uv_bin(), "pip", "install", "--python", str(python)]
        _run(
            command,
            action.arguments,
            action.cwd,
            files,
            _install_environment(store, python, environment),
            out,
        )
    elif isinstance(action, FileCommand):
        program = shutil.which(str(action.argv[0]).rsplit("/", 1)[-1])
        if program is None:
            raise BuildError(f"{action.argv[0]} is not on this machine's PATH")
        _run([program], action.argv[1:], action.cwd, files, {**os.environ, **_without_path(environment)}, out)


def _install_environment(store: ImageStore, python: Path, environment: dict[str, str]) -> dict[str, str]:
    """What uv runs with: the RUN's variables, then the emulator's own uv settings on top."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(_without_path(environment))
    env["PATH"] = os.pathsep.join([str(python.parent), os.environ.get("PATH", "")])
    env.update(
        {
            "UV_CACHE_DIR": str(store.uv_cache),
            "UV_LINK_MODE": "hardlink",  # the cache and the layers share one file system
            "UV_COMPILE_BYTECODE": "1",  # these machines set PYTHONDONTWRITEBYTECODE
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
        }
    )
    return env


def _without_path(environment: dict[str, str]) -> dict[str, str]:
    """The image's PATH names folders inside the image; the build's programs are this machine's."""
    return {key: value for key, value in environment.items() if key != "PATH"}


def _run(
    command: list[str], words: tuple[Word, ...], cwd: str, files: Path, env: dict[str, str], out: TextIO
) -> None:
    """Run on the image's files: container paths mapped into them, relative ones kept inside them."""
    host_cwd = _host_path(files, "/", ContainerPath(cwd))
    host_cwd.mkdir(parents=True, exist_ok=True)
    argv = list(command)
    for word in words:
        if isinstance(word, ContainerPath):
            argv.append(str(_host_path(files, cwd, word)))
        else:
            if not word.startswith("-") and ".." in word:
                _host_path(files, cwd, word)  # raises for a path that climbs out of the image
            argv.append(word)
    try:
        outcome = run_container(
            argv,
            work_dir=host_cwd,
            environment=env,
            sink=_Output(out),
            max_runtime=None,
            stop=threading.Event(),
            track=lambda process: None,
        )
    except OSError as error:
        raise BuildError(f"cannot start {argv[0]}: {error.strerror}") from None
    if outcome.returncode != 0:
        raise BuildError(f"the command returned a non-zero code: {outcome.returncode}")


class _Output:
    """A RUN's output, line by line, into the build's output (what CodeBuild logs)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    def close(self) -> None:
        """Nothing to close: the build's output outlives its RUN lines."""


def _host_path(files: Path, cwd: str, word: Word) -> Path:
    """Where a path of the image's file system is in its files folder; never outside it."""
    path = word.path if isinstance(word, ContainerPath) else os.path.join(cwd, str(word))
    host = Path(os.path.normpath(files / path.lstrip("/")))
    if not host.is_relative_to(files):
        raise BuildError(f"{word} is outside the image's file system")
    return host


def _copy(context: Path, files: Path, action: Copy) -> None:
    context = context.resolve()
    sources: list[Path] = []
    for pattern in action.sources:
        relative = pattern.lstrip("/") or "."
        matches = (
            sorted(context.glob(relative)) if any(ch in relative for ch in "*?[") else [context / relative]
        )
        for match in matches:
            resolved = match.resolve()
            if not resolved.is_relative_to(context):
                raise BuildError(f"forbidden path outside the build context: {pattern}")
            if not match.exists():
                raise BuildError(f"{pattern}: no such file or directory in the build context")
            sources.append(match)
    if not sources:
        raise BuildError(f"no source files were specified ({' '.join(action.sources)} matches nothing)")
    destination = _host_path(files, "/", ContainerPath(action.destination))
    into_folder = action.destination.endswith("/") or len(sources) > 1 or destination.is_dir()
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
            written = [destination]
        elif action.add and tarfile.is_tarfile(source):
            destination.mkdir(parents=True, exist_ok=True)
            with tarfile.open(source) as archive:
                archive.extractall(destination, filter="data")
            written = [destination]
        else:
            target = destination / source.name if into_folder else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            written = [target]
        if action.chmod is not None:
            for path in written:
                for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
                    item.chmod(action.chmod)


def _cache_key(request: BuildRequest, base: Image) -> str:
    """What makes a build's result: base, Dockerfile, arguments, labels and every context file."""
    digest = hashlib.sha256()
    if base.id is None:  # the root follows the emulator's environment: its packages are its identity
        base_identity = sorted(
            p.name for site in base.environment.site_packages for p in site.glob("*.dist-info")
        )
    else:
        base_identity = [base.id]
    header = [base_identity, request.dockerfile_text, request.build_args, request.labels, request.platform]
    digest.update(json.dumps(header, sort_keys=True).encode())
    context = request.context.resolve()
    for path in sorted(context.rglob("*")):
        if path.is_file():
            digest.update(f"\0{path.relative_to(context)}\0{path.stat().st_mode:o}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
