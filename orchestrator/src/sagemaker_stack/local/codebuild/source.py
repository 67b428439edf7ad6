"""DOWNLOAD_SOURCE: a build's source and buildspec, read from the emulator's own S3.

The runner lives in the server process, so it reads objects straight from moto's S3 backend.
An S3 source is `bucket/key` of a zip, unpacked into the build's fresh source folder (file modes
kept, nothing written outside it); NO_SOURCE leaves the folder empty. Sources that need the
network (Git hosts, CodeCommit, CodePipeline) fail the phase with a message saying so.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from sagemaker_stack.local.codebuild.buildspec import looks_inline
from sagemaker_stack.local.codebuild.record import PhaseFailure
from sagemaker_stack.local.state.lock import STATE

DEFAULT_BUILDSPEC = "buildspec.yml"
_S3_ARN_PREFIX = "arn:aws:s3:::"


def download_source(
    source_type: str,
    location: str,
    version: str | None,
    source_dir: Path,
    *,
    account_id: str,
    region: str,
) -> None:
    source_dir.mkdir(parents=True, exist_ok=True)
    if source_type == "NO_SOURCE":
        return
    if source_type != "S3":
        raise PhaseFailure(
            "CLIENT_ERROR",
            f"the emulator cannot fetch {source_type} sources (it reaches no network); use S3 or NO_SOURCE",
        )
    data = read_object(location, version, account_id=account_id, region=region)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PhaseFailure(
            "CLIENT_ERROR", f"the S3 source {location} is not a zip file; upload the source as a zip"
        ) from None
    with archive:
        _extract(archive, source_dir)


def read_buildspec(
    buildspec: str, source_dir: Path, *, account_id: str, region: str
) -> tuple[str, str | None]:
    """The buildspec's text and, when it came from a file, where (for the log)."""
    if buildspec and looks_inline(buildspec):
        return buildspec, None
    name = buildspec.strip() or DEFAULT_BUILDSPEC
    if name.startswith(_S3_ARN_PREFIX):
        location = name[len(_S3_ARN_PREFIX) :]
        text = read_object(location, None, account_id=account_id, region=region, what="buildspec")
        return text.decode("utf-8", errors="replace"), name
    path = (source_dir / name).resolve()
    if not path.is_relative_to(source_dir.resolve()) or not path.is_file():
        raise PhaseFailure("YAML_FILE_ERROR", f"stat {path}: no such file or directory")
    return path.read_text(encoding="utf-8", errors="replace"), str(path)


def read_object(
    location: str, version: str | None, *, account_id: str, region: str, what: str = "primary source"
) -> bytes:
    bucket, _, key = location.partition("/")
    suffix = f"for {what} and source version {location}"
    if not bucket or not key:
        raise PhaseFailure("CLIENT_ERROR", f"invalid S3 location {location!r}: expected bucket/key {suffix}")
    try:
        with STATE.shared(changes=False):
            backend: Any = s3_backends[account_id][get_partition(region)]
            found = backend.get_object(bucket, key, version_id=version or None)
            content = None if found is None else bytes(found.value)
    except MissingBucket:
        raise PhaseFailure(
            "CLIENT_ERROR", f"NoSuchBucket: The specified bucket does not exist {suffix}"
        ) from None
    if content is None:
        raise PhaseFailure("CLIENT_ERROR", f"NoSuchKey: The specified key does not exist. {suffix}")
    return content


def _extract(archive: zipfile.ZipFile, target: Path) -> None:
    root = target.resolve()
    for member in archive.infolist():
        destination = (root / member.filename).resolve()
        if not destination.is_relative_to(root):
            raise PhaseFailure(
                "CLIENT_ERROR", f"the source zip's entry {member.filename!r} points outside the source folder"
            )
        archive.extract(member, root)
        mode = (member.external_attr >> 16) & 0o777
        if mode and not member.is_dir():
            destination.chmod(mode)
