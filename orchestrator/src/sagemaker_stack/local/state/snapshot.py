"""The emulator's state on disk: one pickle of moto's models, S3 object contents beside it.

    <state dir>/state/snapshot      a line naming the format, a JSON header line, the pickle
    <state dir>/state/blobs/<id>    the content of one S3 object (or multipart part)

Why a pickle: moto's models are plain Python objects that refer to each other across services
(a CloudFormation stack holds the very bucket and role objects the S3 and IAM backends hold), and
only pickling all of them at once keeps that; an export through the AWS API would lose ids,
times and the links. Pickling moto's models needs help in a few places, all handled here:
- moto's dict subclasses (S3's versioned key store, whose `items()` hides older versions; SSM's
  parameter dict, whose constructor pickle cannot call) are saved as their raw items;
- locks are saved as new, unlocked ones; a lambda (one of SSM's defaultdict factories) by value,
  which is what cloudpickle adds to the standard pickler; keys and certificates (KMS, EC2 key
  pairs, ACM: objects of cryptography's Rust bindings) as their DER encoding;
- a reference to one of moto's service dicts (`BackendDict`) stays a reference to the live one;
- an S3 object's content goes into a blob file of its own, written once (moto never changes a
  stored object's content), so a snapshot costs what the metadata costs however much S3 holds.

The header carries the format, moto's, Python's and cloudpickle's versions and the pickle's
sha256: a snapshot written by another version is refused before it is unpickled, and a damaged
one is told from a good one. The file and each blob are written to a temporary name and renamed,
so a crash at any moment leaves the previous snapshot or the new one, never half of one. Blobs
no snapshot names any more are removed after the snapshot that stopped naming them is in place.
The folder is its owner's only (0700, files 0600): it holds what AWS would, secrets included.
"""

from __future__ import annotations

import contextvars
import hashlib
import importlib
import io
import json
import os
import pickle
import shutil
import sys
import threading
import typing
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle
import moto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from moto.core.base_backend import BackendDict
from moto.s3.models import FakeKey

from sagemaker_stack.local.state.layout import BLOBS_FOLDER, SNAPSHOT_FILE, STATE_FOLDER

#: Bump when what the snapshot holds changes shape (ours, not moto's: moto's version is checked),
#: or when a class of ours it pickles (by reference: module and name) moves. 2: the emulator's
#: modules moved into packages (`local/sagemaker/`, `local/codebuild/`, ...), so a format 1
#: snapshot names modules that are gone and is set aside as another version's. 3: the backends of
#: CloudFormation, CodeBuild, Secrets Manager and SageMaker are the emulator's subclasses of moto's
#: (moto_registry); a format 2 snapshot's are moto's own, which would not run a build or a job.
FORMAT = 3
MAGIC = b"sagemaker-stack emulator state\n"
_BLOB_ATTRIBUTE = "_emulator_snapshot_blob"  # set on a FakeKey: the blob that holds its content
_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}
_PRIVATE_KEYS = typing.get_args(PrivateKeyTypes)
_PUBLIC_KEYS = typing.get_args(PublicKeyTypes)
_DER = serialization.Encoding.DER
_loading_from: contextvars.ContextVar[Path] = contextvars.ContextVar("_loading_from")


class SnapshotError(Exception):
    """The snapshot cannot be restored; `kind` is "corrupt" or "other-version", str() says why."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


class SnapshotChanged(Exception):
    """An S3 object went away before its content was written: take the snapshot again."""


def versions() -> dict[str, Any]:
    """What must be the same for a snapshot to be read back."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {
        "format": FORMAT,
        "moto": moto.__version__,
        "python": python,
        "cloudpickle": cloudpickle.__version__,
    }


# -- pickling moto's models -------------------------------------------------------------------------
_backend_names: dict[int, str] = {}


def backend_name(backends: BackendDict[Any]) -> str:
    """`module:attribute` naming the module-level BackendDict `backends` (`moto.s3.models:s3_backends`)."""
    found = _backend_names.get(id(backends))
    if found is not None:
        return found
    home = backends.backend.__module__
    modules = [home, *(name for name in list(sys.modules) if name.startswith("moto.") and name != home)]
    for module_name in modules:
        for attribute, value in list(vars(sys.modules[module_name]).items()):
            if value is backends:
                _backend_names[id(backends)] = f"{module_name}:{attribute}"
                return _backend_names[id(backends)]
    raise LookupError(f"moto's {backends.service_name} backends are not a module attribute")


def live_backends(name: str) -> BackendDict[Any]:
    module_name, _, attribute = name.partition(":")
    backends: BackendDict[Any] = getattr(importlib.import_module(module_name), attribute)
    return backends


def _rebuild_dict(kind: Any, items: dict[Any, Any], attributes: dict[str, Any] | None, factory: Any) -> Any:
    rebuilt = kind.__new__(kind)
    if factory is not None:
        rebuilt.default_factory = factory
    dict.update(rebuilt, items)
    if attributes:
        rebuilt.__dict__.update(attributes)
    return rebuilt


def _restore_key(kind: Any, state: dict[str, Any], blob: str | None) -> FakeKey:
    key: FakeKey = kind.__new__(kind)
    value = (_loading_from.get() / blob).read_bytes() if blob else b""
    key.__setstate__({**state, "value": value})
    return key


def _reduce_cryptography(obj: Any) -> Any:
    """A key or certificate as a call that loads it from its DER encoding (NotImplemented if neither)."""
    if isinstance(obj, _PRIVATE_KEYS):
        der = obj.private_bytes(_DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return _load_der, ("private key", der)
    if isinstance(obj, _PUBLIC_KEYS):
        return _load_der, (
            "public key",
            obj.public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        )
    if isinstance(obj, x509.Certificate):
        return _load_der, ("certificate", obj.public_bytes(_DER))
    if isinstance(obj, x509.CertificateSigningRequest):
        return _load_der, ("certificate request", obj.public_bytes(_DER))
    return NotImplemented


def _load_der(kind: str, der: bytes) -> Any:
    """What `_reduce_cryptography` saved (cryptography's loaders cannot be pickled by name)."""
    if kind == "private key":
        return serialization.load_der_private_key(der, None)
    if kind == "public key":
        return serialization.load_der_public_key(der)
    if kind == "certificate":
        return x509.load_der_x509_certificate(der)
    return x509.load_der_x509_csr(der)


@dataclass
class _Blobs:
    """The blobs one snapshot names, and those of them not on disk yet."""

    on_disk: set[str]
    named: set[str] = field(default_factory=set)
    to_write: dict[str, FakeKey] = field(default_factory=dict)

    def name(self, key: FakeKey) -> str | None:
        if key.disposed:  # deleted: its buffer is closed, and nothing can read it any more
            return None
        blob = key.__dict__.get(_BLOB_ATTRIBUTE)
        if blob is None:
            blob = key.__dict__[_BLOB_ATTRIBUTE] = uuid.uuid4().hex
        self.named.add(blob)
        if blob not in self.on_disk:
            self.to_write[blob] = key
        return str(blob)


class _StatePickler(cloudpickle.Pickler):
    def __init__(self, file: io.BytesIO, blobs: _Blobs) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs = blobs

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _LOCK_TYPES:
            return _LOCK_TYPES[kind], ()
        if isinstance(obj, BackendDict):
            return live_backends, (backend_name(obj),)
        if isinstance(obj, FakeKey):
            state = {
                name: value for name, value in vars(obj).items() if name not in ("_value_buffer", "lock")
            }
            return _restore_key, (kind, state, self._blobs.name(obj))
        if kind.__module__.startswith("cryptography."):
            return _reduce_cryptography(obj)
        if isinstance(obj, dict) and kind.__module__.startswith("moto."):
            attributes = getattr(obj, "__dict__", None) or None
            return _rebuild_dict, (
                kind,
                dict(dict.items(obj)),
                attributes,
                getattr(obj, "default_factory", None),
            )
        return super().reducer_override(obj)


# -- the files --------------------------------------------------------------------------------------
@dataclass
class Taken:
    """A snapshot pickled in memory, to be written out by `SnapshotStore.write`."""

    payload: bytes
    blobs: _Blobs


class SnapshotStore:
    """The snapshot file and its blobs in `<state dir>/state`."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / STATE_FOLDER
        self.file = self.folder / SNAPSHOT_FILE
        self.blobs = self.folder / BLOBS_FOLDER
        self._on_disk: set[str] | None = None

    def exists(self) -> bool:
        return self.file.exists()

    def read(self) -> tuple[dict[str, Any], Any]:
        """The header and the unpickled payload; SnapshotError if it cannot be used."""
        try:
            data = self.file.read_bytes()
        except OSError as error:
            raise SnapshotError("corrupt", f"it cannot be read ({error.strerror})") from None
        if not data.startswith(MAGIC):
            raise SnapshotError("corrupt", "it is not an emulator snapshot")
        header_line, _, payload = data[len(MAGIC) :].partition(b"\n")
        try:
            header = json.loads(header_line)
            expected = (int(header["bytes"]), str(header["sha256"]))
        except (ValueError, KeyError, TypeError):
            raise SnapshotError("corrupt", "its header is damaged") from None
        ours = versions()
        differ = [
            f"{name} {header.get(name)} (this emulator: {value})"
            for name, value in ours.items()
            if header.get(name) != value
        ]
        if differ:
            raise SnapshotError("other-version", f"it was written with {', '.join(differ)}")
        if (len(payload), hashlib.sha256(payload).hexdigest()) != expected:
            raise SnapshotError("corrupt", "it is truncated or damaged (its checksum does not match)")
        token = _loading_from.set(self.blobs)
        try:
            state = pickle.loads(payload)
        except FileNotFoundError as error:
            raise SnapshotError(
                "corrupt", f"the content of an S3 object is missing ({error.filename})"
            ) from None
        except Exception as error:
            raise SnapshotError(
                "corrupt", f"it cannot be unpickled ({type(error).__name__}: {error})"
            ) from None
        finally:
            _loading_from.reset(token)
        return header, state

    def set_aside(self, kind: str) -> Path:
        """Move the whole state folder (snapshot and blobs) out of the way, keeping it; returns where."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.folder.with_name(f"{STATE_FOLDER}.{kind}-{stamp}")
        suffix = 1
        while target.exists():
            suffix += 1
            target = self.folder.with_name(f"{STATE_FOLDER}.{kind}-{stamp}-{suffix}")
        self.folder.rename(target)
        self._on_disk = None
        return target

    def take(self, state: Any) -> Taken:
        """Pickle `state` in memory (the caller keeps it from changing meanwhile)."""
        if self._on_disk is None:
            self._on_disk = {path.name for path in self.blobs.glob("*") if not path.name.startswith(".")}
        blobs = _Blobs(on_disk=self._on_disk)
        buffer = io.BytesIO()
        _StatePickler(buffer, blobs).dump(state)
        return Taken(buffer.getvalue(), blobs)

    def write(self, taken: Taken) -> int:
        """Write the new blobs, then the snapshot, then drop unnamed blobs; the file's size.

        SnapshotChanged if an object was deleted before its content could be written (the
        state has changed since, so the caller takes a new snapshot).
        """
        for folder in (self.folder, self.blobs):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)
        assert self._on_disk is not None
        for blob, key in taken.blobs.to_write.items():
            _write_blob(key, self.blobs / blob)
            self._on_disk.add(blob)
        header = {
            **versions(),
            "saved_at": datetime.now(UTC).isoformat(),
            "bytes": len(taken.payload),
            "sha256": hashlib.sha256(taken.payload).hexdigest(),
        }
        content = MAGIC + json.dumps(header).encode() + b"\n" + taken.payload
        _replace(self.file, lambda out: out.write(content))
        for blob in self._on_disk - taken.blobs.named:
            (self.blobs / blob).unlink(missing_ok=True)
        self._on_disk &= taken.blobs.named
        return len(content)


def _write_blob(key: FakeKey, path: Path) -> None:
    def copy(out: io.BufferedWriter) -> None:
        with key.lock:
            if key.disposed:
                raise SnapshotChanged(key.name)
            buffer: Any = key._value_buffer
            buffer.seek(0)
            shutil.copyfileobj(buffer, out)

    try:
        _replace(path, copy)
    except ValueError:  # the buffer was closed under us: the object was deleted
        raise SnapshotChanged(key.name) from None


def _replace(path: Path, fill: Any) -> None:
    """Write `path` through a temporary file in the same folder and an atomic rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            fill(out)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
