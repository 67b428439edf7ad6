"""`sagemaker-stack image build`: the stack's base image, built and pushed on its CodeBuild project.

The build context is this repository's own: the variant's Dockerfile (`orchestrator/images/`), the
package source, and `constraints.txt` pinning every version `uv.lock` holds, so the image runs the
same ZenML and the same libraries as the client. The image's tag carries the digest of that
context (`sagemaker_stack.config.base_image_tag`): an unchanged recipe and package are found in the
repository and not built again; a changed one is a new tag, never a stale image under an old one.

The context goes to the stack's bucket under the build-context prefix (the only place the image
builder's role may read), and the build runs on the stack's CodeBuild project with a buildspec
that logs in to the stack's registry, builds and pushes: the same calls against AWS and the
emulator. On failure the error names the failing command and its last output lines.
"""

from __future__ import annotations

import hashlib
import io
import os
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sagemaker_stack import aws
from sagemaker_stack.config import StackConfig, base_image_tag, build_context_prefix
from sagemaker_stack.image_builder import build_log
from sagemaker_stack.ops.target import target_for_config

Echo = Callable[[str], None]

VARIANTS: Final = ("cpu", "cuda")
#: Seconds between polls of a running build (SAGEMAKER_STACK_POLL_SECONDS overrides).
DEFAULT_POLL_SECONDS: Final = 5.0
#: Folder of the package source inside the build context (what the Dockerfiles COPY).
PACKAGE_FOLDER: Final = "sagemaker-stack"
#: Every file of a zip entry gets this time, so that the same context is the same zip, byte for byte.
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


class ImageBuildError(RuntimeError):
    """The base image cannot be built or pushed; the message says why and what to do."""


@dataclass(frozen=True)
class BuildContext:
    """The files of one variant's build context, by their path in the context."""

    variant: str
    files: Mapping[str, bytes]

    @property
    def digest(self) -> str:
        """sha256 over every path and content: what the image's tag is made from."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()

    def zip(self) -> bytes:
        """The context as the zip CodeBuild unpacks (deterministic: fixed times, sorted names)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(self.files):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.external_attr = 0o644 << 16
                archive.writestr(info, self.files[name])
        return buffer.getvalue()


def constraints(lock_file: Path) -> str:
    """`name==version` for every registry package `uv.lock` pins to one version (pip constraints)."""
    lock = tomllib.loads(lock_file.read_text())
    versions: dict[str, set[str]] = {}
    for package in lock.get("package", []):
        if "registry" in (package.get("source") or {}) and package.get("version"):
            versions.setdefault(str(package["name"]), set()).add(str(package["version"]))
    pins = [f"{name}=={next(iter(found))}" for name, found in sorted(versions.items()) if len(found) == 1]
    return "\n".join(pins) + "\n"


def build_context(app_dir: Path, variant: str) -> BuildContext:
    """The base image's context from the repository at `app_dir`."""
    if variant not in VARIANTS:
        raise ImageBuildError(f"unknown image variant {variant!r}: use one of {', '.join(VARIANTS)}")
    package = app_dir / "orchestrator"
    dockerfile = package / "images" / f"{variant}.Dockerfile"
    lock_file = app_dir / "uv.lock"
    for needed in (dockerfile, lock_file, package / "pyproject.toml"):
        if not needed.is_file():
            raise ImageBuildError(
                f"{needed} is missing: run this from the sagemaker-stack repository (or pass --app-dir)"
            )
    files: dict[str, bytes] = {
        "Dockerfile": dockerfile.read_bytes(),
        "constraints.txt": constraints(lock_file).encode(),
        f"{PACKAGE_FOLDER}/pyproject.toml": (package / "pyproject.toml").read_bytes(),
    }
    for path in sorted((package / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            files[f"{PACKAGE_FOLDER}/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    return BuildContext(variant=variant, files=files)


def image_uri(config: StackConfig, context: BuildContext) -> str:
    """Where the stack's base image of this context lives: `<registry>/<repository>:<tag>`."""
    return f"{config.repository_uri}:{base_image_tag(context.variant, context.digest)}"


def buildspec(config: StackConfig, image: str) -> str:
    """Log in to the stack's registry, build the context's Dockerfile, push: one build phase."""
    return "\n".join(
        [
            "version: 0.2",
            "phases:",
            "  build:",
            "    commands:",
            f"      - aws ecr get-login-password --region {config.region} | docker login --username AWS "
            f"--password-stdin {config.registry_uri}",
            f"      - docker build -t {image} .",
            f"      - docker push {image}",
            "",
        ]
    )


def image_exists(config: StackConfig, image: str) -> bool:
    """Whether the repository already holds `image`'s tag."""
    tag = image.rsplit(":", 1)[1]
    ecr = target_for_config(config).client("ecr")
    try:
        ecr.describe_images(repositoryName=config.repository_name, imageIds=[{"imageTag": tag}])
    except aws.ClientError as error:
        if aws.error_code(error) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return False
        raise
    return True


def build_base_image(
    config: StackConfig, *, app_dir: Path, variant: str = "cpu", echo: Echo, force: bool = False
) -> str:
    """Build and push the stack's base image unless the repository has it; returns its URI."""
    if not config.image_builder_project:
        raise ImageBuildError(
            f"stack {config.stack_name!r} has no image builder (it was deployed with image_builder=none): "
            "redeploy with `-c image_builder=codebuild`, or build and push an image yourself and name it "
            "in DockerSettings(parent_image=..., skip_build=True)"
        )
    context = build_context(app_dir, variant)
    image = image_uri(config, context)
    if not force and image_exists(config, image):
        echo(f"    base image {image} is in the repository already (same recipe and package)")
        return image
    target = target_for_config(config)
    key = f"{build_context_prefix()}sagemaker-stack/{context.digest}.zip"
    target.client("s3").put_object(Bucket=config.bucket_name, Key=key, Body=context.zip())
    codebuild = target.client("codebuild")
    started = codebuild.start_build(
        projectName=config.image_builder_project,
        sourceTypeOverride="S3",
        sourceLocationOverride=f"{config.bucket_name}/{key}",
        buildspecOverride=buildspec(config, image),
        artifactsOverride={"type": "NO_ARTIFACTS"},
    )["build"]
    echo(f"    CodeBuild build {started['id']} of {image}")
    interval = float(os.environ.get("SAGEMAKER_STACK_POLL_SECONDS", DEFAULT_POLL_SECONDS))
    build = build_log.wait(
        codebuild, str(started["id"]), interval=interval, on_phase=lambda phase: echo(f"    {phase}")
    )
    if build.get("buildStatus") != "SUCCEEDED":
        lines = list(build_log.log_events(target.client("logs"), build))
        raise ImageBuildError(f"the base image was not built: {build_log.failure_summary(build, lines)}")
    return image
