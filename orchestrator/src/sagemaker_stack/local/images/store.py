"""The emulator's local images: what a docker daemon keeps, for images that are Python environments.

Layout under `EMULATOR_IMAGE_STORE` (the emulator's state folder `/images`):

    layers/<id>/venv/     the image's Python environment, layered on its parent's (see build)
    layers/<id>/files/    the image's file system: WORKDIR and COPY destinations (`/app` -> files/app)
    configs/<hex>.json    the image config (env, workdir, entrypoint, layers); sha256 of its bytes
                          is the image id, and the config digest of the manifest pushed to ECR
    repositories.json     local tags -> image id, as docker keeps them
    auths.json            registries logged in to (user name and a hash of the password, never it)
    build-cache.json      build inputs -> image id, so an unchanged rebuild reuses the image
    uv-cache/             one uv cache for every build (installs hard-link from it)

Images are immutable once built: a build writes a new layer folder and a new config; nothing
writes into a finished layer (a step copies its WORKDIR out, it does not run in it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_stack.local.images.dockerfile import ImageConfig
from sagemaker_stack.local.images.reference import ReferenceError, parse_reference

STORE_VARIABLE = "EMULATOR_IMAGE_STORE"
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
#: What the official python image sets, which the emulator's own Python stands for.
ROOT_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PYTHON_VERSION": ".".join(str(part) for part in sys.version_info[:3]),
}
ROOT_LAYER = "root"


class StoreError(RuntimeError):
    """The store cannot answer; the message says what is wrong."""


@dataclass(frozen=True)
class Environment:
    """A Python environment an image runs in, or that a build layers a new one on."""

    python: Path
    bin: Path
    site_packages: tuple[Path, ...]  # where its packages and their *.dist-info live


@dataclass(frozen=True)
class Image:
    """A built image (or, with id None, the root: the emulator's own Python)."""

    id: str | None
    document: dict[str, Any]
    layer: Path | None
    environment: Environment

    @property
    def config(self) -> ImageConfig:
        return ImageConfig.from_json(self.document.get("config") or {})

    @property
    def files(self) -> Path | None:
        return self.layer / "files" if self.layer else None

    @property
    def layers(self) -> list[str]:
        """Layer ids, lowest (the root) first."""
        return list(self.document.get("emulator", {}).get("layers") or [ROOT_LAYER])


def root_image() -> Image:
    """The emulator's own Python: what `FROM python:3.11*` stands for."""
    paths = sysconfig.get_paths()
    sites = tuple(dict.fromkeys(Path(paths[key]) for key in ("purelib", "platlib")))
    environment = Environment(Path(sys.executable), Path(paths["scripts"]), sites)
    document = {"config": ImageConfig(env=dict(ROOT_ENV), cmd=["python3"]).to_json()}
    return Image(None, document, None, environment)


def venv_environment(venv: Path) -> Environment:
    site = venv / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
    return Environment(venv / "bin" / "python", venv / "bin", (site,))


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("layers", "configs", "uv-cache"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_environment(cls) -> ImageStore:
        location = os.environ.get(STORE_VARIABLE)
        if not location:
            raise StoreError(
                f"{STORE_VARIABLE} is not set: it names the emulator's image store "
                "(<emulator state folder>/images)"
            )
        return cls(Path(location))

    @property
    def uv_cache(self) -> Path:
        return self.root / "uv-cache"

    # -- layers and configs -----------------------------------------------------------------------
    def new_layer(self) -> Path:
        layer = self.root / "layers" / uuid.uuid4().hex
        (layer / "files").mkdir(parents=True)
        return layer

    def save(self, document: dict[str, Any]) -> str:
        """Store an image config; its id is the sha256 of the stored bytes."""
        data = config_bytes(document)
        digest = hashlib.sha256(data).hexdigest()
        _write_atomically(self.root / "configs" / f"{digest}.json", data)
        return f"sha256:{digest}"

    def config_bytes(self, image_id: str) -> bytes:
        return (self.root / "configs" / f"{image_id.removeprefix('sha256:')}.json").read_bytes()

    def image(self, image_id: str) -> Image:
        """The image with this id; StoreError if the store does not hold it."""
        try:
            document = json.loads(self.config_bytes(image_id))
        except (OSError, ValueError):
            raise StoreError(f"image {image_id} is not in the image store {self.root}") from None
        layer = self.root / "layers" / document["emulator"]["layers"][-1]
        if not layer.is_dir():
            raise StoreError(f"image {image_id} has lost its layer folder {layer}")
        return Image(image_id, document, layer, venv_environment(layer / "venv"))

    def find(self, name_or_id: str) -> str | None:
        """The id of a local image by tag, full id, or id prefix (12+ hex digits), else None."""
        hex_part = name_or_id.removeprefix("sha256:")
        if len(hex_part) >= 12 and all(ch in "0123456789abcdef" for ch in hex_part):
            matches = [path.stem for path in (self.root / "configs").glob(f"{hex_part}*.json")]
            if len(matches) == 1:
                return f"sha256:{matches[0]}"
        try:
            name = parse_reference(name_or_id).name
        except ReferenceError:
            return None
        return self._read("repositories.json").get(name)

    # -- tags, logins, cache ----------------------------------------------------------------------
    def tag(self, image_id: str, name: str) -> str:
        """Point the tag `name` at the image; returns the normalized name docker prints."""
        normalized = parse_reference(name).name
        with self._update("repositories.json") as tags:
            tags[normalized] = image_id
        return normalized

    def tags(self) -> dict[str, str]:
        return self._read("repositories.json")

    def login(self, registry: str, username: str, password: str) -> None:
        digest = hashlib.sha256(password.encode()).hexdigest()
        with self._update("auths.json") as auths:
            auths[registry] = {"username": username, "password_sha256": digest}

    def logged_in(self, registry: str) -> bool:
        return registry in self._read("auths.json")

    def cached(self, key: str) -> str | None:
        image_id = self._read("build-cache.json").get(key)
        try:
            return self.image(image_id).id if image_id else None
        except StoreError:
            return None

    def remember(self, key: str, image_id: str) -> None:
        with self._update("build-cache.json") as cache:
            cache[key] = image_id

    def _read(self, name: str) -> dict[str, Any]:
        try:
            value = json.loads((self.root / name).read_text())
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    @contextlib.contextmanager
    def _update(self, name: str) -> Iterator[dict[str, Any]]:
        """Read-modify-write under the store's lock: builds in parallel may tag at once."""
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            content = self._read(name)
            yield content
            _write_atomically(self.root / name, json.dumps(content, indent=1, sort_keys=True).encode())
            os.chmod(self.root / name, 0o600)


def config_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    temporary.write_bytes(data)
    temporary.replace(path)
