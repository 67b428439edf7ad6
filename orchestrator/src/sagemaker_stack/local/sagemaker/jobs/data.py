"""Copy a job's data between the emulated S3 and its /opt/ml folder, as SageMaker does.

`stage_in` runs before the container starts: the folders and config files the request implies,
then every input (an S3 prefix: each object under it, at its key relative to the prefix; a
manifest file: each object it lists, at its relative path). `Uploader` runs around the
container: `Continuous` outputs and checkpoints are uploaded while the job runs (every changed
file, once a second) and once more at its end whatever the outcome; `EndOfJob` outputs and a
training job's `model.tar.gz` / `output.tar.gz` only when the container succeeded. A failed
copy is a DataError whose message is SageMaker's FailureReason for it.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
import threading
from pathlib import Path

from sagemaker_stack.local.sagemaker.jobs.channels import (
    ChannelError,
    Download,
    JobData,
    Upload,
    split_s3_uri,
)
from sagemaker_stack.local.services.s3_objects import ObjectStore, S3Error

#: Seconds between two passes over a Continuous output while the job runs.
SYNC_INTERVAL_SECONDS = 1.0
#: SageMaker's FailureReason holds the first 1024 characters of /opt/ml/output/failure.
FAILURE_FILE = "output/failure"
FAILURE_LIMIT = 1024


class DataError(Exception):
    """A copy failed; `reason` is the job's FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def stage_in(data: JobData, store: ObjectStore, ml_dir: Path, *, role: str, region: str) -> None:
    """The job's /opt/ml before its container starts: folders, config files, every input."""
    for folder in data.folders:
        (ml_dir / folder).mkdir(parents=True, exist_ok=True)
    for relative, text in data.files.items():
        path = ml_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for download in data.downloads:
        target = ml_dir / download.local
        for bucket, key, relative in _objects(download, store, role=role, region=region):
            destination = _inside(target, relative, f"s3://{bucket}/{key}")
            if key.endswith("/"):  # a "folder" object, as the console creates them
                destination.mkdir(parents=True, exist_ok=True)
                continue
            try:
                content = store.read(bucket, key)
            except S3Error as error:
                raise DataError(f"ClientError: Data download failed: s3://{bucket}/{key} ({error})") from None
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)


def _objects(download: Download, store: ObjectStore, *, role: str, region: str) -> list[tuple[str, str, str]]:
    """(bucket, key, path relative to the input's LocalPath) of every object the input names."""
    bucket, prefix = split_s3_uri(download.uri, download.name)
    if download.data_type == "ManifestFile":
        return _manifest(download.uri, bucket, prefix, store)
    try:
        keys = store.keys(bucket, prefix)
    except S3Error:
        keys = []  # SageMaker's message covers a missing bucket too
    if not keys and download.must_exist:
        raise DataError(
            f'ClientError: No S3 objects found under S3 URL "{download.uri}" given in input data source. '
            f"Please ensure that the bucket exists in the selected region ({region}), that objects exist "
            f'under that S3 prefix, and that the role "{role}" has "s3:ListBucket" permissions on bucket '
            f'"{bucket}".'
        )
    return [(bucket, key, key[len(prefix) :].lstrip("/") or posixpath.basename(key)) for key in keys]


def _manifest(uri: str, bucket: str, key: str, store: ObjectStore) -> list[tuple[str, str, str]]:
    """A manifest: `[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]`."""
    try:
        entries = json.loads(store.read(bucket, key))
    except S3Error as error:
        raise DataError(
            f"ClientError: Data download failed: cannot read the manifest file {uri} ({error})"
        ) from None
    except ValueError as error:
        raise DataError(f"ClientError: the manifest file {uri} is not valid JSON: {error}") from None
    head = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise DataError(
            f'ClientError: the manifest file {uri} must be a JSON array that starts with {{"prefix": "s3://..."}}'
        )
    try:
        prefix_bucket, prefix = split_s3_uri(head["prefix"], f"the manifest file {uri}")
    except ChannelError as error:
        raise DataError(str(error)) from None
    relatives = entries[1:]
    if not all(isinstance(item, str) and item for item in relatives):
        raise DataError(
            f"ClientError: the manifest file {uri} must list object keys as strings after its prefix"
        )
    return [(prefix_bucket, prefix + item, item) for item in relatives]


def _inside(root: Path, relative: str, source: str) -> Path:
    normal = posixpath.normpath(relative)
    if normal.startswith("../") or normal == ".." or posixpath.isabs(normal):
        raise DataError(f"ClientError: {source} would be written outside the input's LocalPath")
    return root / normal


class Uploader:
    """Uploads a job's outputs: Continuous ones while it runs, the rest when it ends."""

    def __init__(self, data: JobData, store: ObjectStore, ml_dir: Path) -> None:
        self._data = data
        self._store = store
        self._ml_dir = ml_dir
        self._sent: dict[Path, tuple[int, int]] = {}
        self._error: DataError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin the background passes if any output is Continuous."""
        if any(upload.continuous for upload in self._data.uploads):
            self._thread = threading.Thread(target=self._run, name="continuous-upload", daemon=True)
            self._thread.start()

    def finish(self, *, succeeded: bool) -> None:
        """The last pass; DataError if any upload failed (the job then fails with its reason)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        self._pass([upload for upload in self._data.uploads if succeeded or upload.continuous])
        if succeeded and self._data.model_output is not None:
            self._upload_tarball("model", "model.tar.gz", always=True)
            self._upload_tarball("output/data", "output.tar.gz", always=False)

    def _run(self) -> None:
        continuous = [upload for upload in self._data.uploads if upload.continuous]
        while not self._stop.wait(SYNC_INTERVAL_SECONDS):
            try:
                self._pass(continuous)
            except DataError as error:
                self._error = error
                return

    def _pass(self, uploads: list[Upload]) -> None:
        for upload in uploads:
            folder = self._ml_dir / upload.local
            bucket, prefix = split_s3_uri(upload.uri, upload.name)
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if not path.is_file():
                    continue
                stat = path.stat()
                stamp = (stat.st_size, stat.st_mtime_ns)
                if self._sent.get(path) == stamp:
                    continue
                self._put(bucket, _key(prefix, path.relative_to(folder).as_posix()), path.read_bytes())
                self._sent[path] = stamp

    def _upload_tarball(self, folder: str, name: str, *, always: bool) -> None:
        root = self._ml_dir / folder
        members = sorted(root.rglob("*")) if root.is_dir() else []
        if not members and not always:
            return
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in members:
                archive.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
        assert self._data.model_output is not None
        bucket, prefix = split_s3_uri(self._data.model_output, "OutputDataConfig.S3OutputPath")
        self._put(bucket, _key(prefix, name), buffer.getvalue())

    def _put(self, bucket: str, key: str, content: bytes) -> None:
        try:
            self._store.write(bucket, key, content)
        except S3Error as error:
            raise DataError(
                f"ClientError: Artifact upload failed:Unable to upload file to s3://{bucket}/{key} ({error})"
            ) from None


def _key(prefix: str, relative: str) -> str:
    return f"{prefix.rstrip('/')}/{relative}" if prefix.strip("/") else relative


def failure_message(ml_dir: Path) -> str | None:
    """What the container wrote to /opt/ml/output/failure, as SageMaker reports it."""
    path = ml_dir / FAILURE_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    return text[:FAILURE_LIMIT] or None
