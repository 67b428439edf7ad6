"""Image names as docker reads them, and the Amazon ECR registry hosts among them.

`parse_reference("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag")` splits a name the
way docker does (a first component with a `.` or `:` or equal to `localhost` is a registry; the
tag follows the last `:` after the last `/`; a digest follows `@`), so that the docker stand-in,
the image store and the SageMaker engine agree on what a name means.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

DEFAULT_TAG = "latest"
DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$"
)
#: The public Python images the emulator's own interpreter stands for (as `python:<major>.<minor>*`).
PYTHON_BASES = (
    (DOCKER_HUB, "library/python"),
    ("public.ecr.aws", "docker/library/python"),
)


def is_python(program: str) -> bool:
    """`python`, `python3` or `python3.<minor>` (any folder): a command for an image's interpreter."""
    name = program.rsplit("/", 1)[-1]
    return name in ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}")


class ReferenceError(ValueError):
    """Not a name docker would accept; the message says why."""


@dataclass(frozen=True)
class Reference:
    registry: str  # "docker.io" when the name has none
    repository: str  # "library/python" for "python"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """registry/repository:tag (or @digest) as docker prints it, hub names shortened."""
        hub = self.registry == DOCKER_HUB
        base = self.repository.removeprefix("library/") if hub else f"{self.registry}/{self.repository}"
        if self.digest:
            return f"{base}@{self.digest}"
        return f"{base}:{self.tag or DEFAULT_TAG}"

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) if the registry is an Amazon ECR private registry."""
        match = _ECR_HOST.match(self.registry)
        return (match["account"], match["region"]) if match else None

    def is_python_base(self) -> bool:
        """A public Python image of the emulator's own Python version (`python:3.11-slim`, ...)."""
        if (self.registry, self.repository) not in PYTHON_BASES:
            return False
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        tag = self.tag or DEFAULT_TAG
        return tag == version or tag.startswith((f"{version}-", f"{version}."))


def parse_reference(name: str) -> Reference:
    if not name or name != name.strip() or any(ch.isspace() for ch in name):
        raise ReferenceError(f"invalid reference format: {name!r}")
    rest, digest = name, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise ReferenceError(f"invalid reference format: {name!r} (a digest is sha256:<64 hex digits>)")
    registry, _, remainder = rest.partition("/")
    if not remainder or not ("." in registry or ":" in registry or registry == "localhost"):
        registry, remainder = DOCKER_HUB, rest
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in remainder:
            remainder = f"library/{remainder}"
    repository, tag = remainder, None
    last = remainder.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = remainder.rsplit(":", 1)
    if not repository or repository != repository.lower() or (tag is not None and not tag):
        raise ReferenceError(
            f"invalid reference format: {name!r} (repository names are lowercase, a tag follows ':')"
        )
    return Reference(registry, repository, tag if tag or digest else DEFAULT_TAG, digest)
