"""The emulated S3 as a job's data copies need it: list a prefix, read and write objects.

The engine runs inside the server process, so it reads and writes moto's S3 backend directly (as
logs and build_source do), with the errors S3 itself would give: a missing bucket is NoSuchBucket,
a missing key NoSuchKey. `ObjectStore` is what sagemaker.jobs.data needs, so its tests can use a dict.
"""

from __future__ import annotations

from typing import Any, Protocol

from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from sagemaker_stack.local.state.lock import STATE


class S3Error(Exception):
    """An S3 error code and message, as S3 returns them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


NO_SUCH_BUCKET = ("NoSuchBucket", "The specified bucket does not exist")
NO_SUCH_KEY = ("NoSuchKey", "The specified key does not exist.")


class ObjectStore(Protocol):
    def keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key that starts with `prefix`, sorted; S3Error if the bucket does not exist."""
        ...

    def read(self, bucket: str, key: str) -> bytes: ...

    def write(self, bucket: str, key: str, data: bytes) -> None: ...


class MotoObjectStore:
    """One account's S3 in this process, for a job in `region`."""

    def __init__(self, account_id: str, region: str) -> None:
        self._backend: Any = s3_backends[account_id][get_partition(region)]

    def _bucket(self, bucket: str) -> Any:
        try:
            return self._backend.get_bucket(bucket)
        except MissingBucket:
            raise S3Error(*NO_SUCH_BUCKET) from None

    def keys(self, bucket: str, prefix: str) -> list[str]:
        with STATE.shared(changes=False):
            found, _folders, _truncated, _marker = self._backend.list_objects(
                self._bucket(bucket), prefix or None, None, None, None
            )
            return sorted(str(key.name) for key in found)

    def read(self, bucket: str, key: str) -> bytes:
        with STATE.shared(changes=False):
            self._bucket(bucket)
            found = self._backend.get_object(bucket, key)
            if found is None:
                raise S3Error(*NO_SUCH_KEY)
            return bytes(found.value)

    def write(self, bucket: str, key: str, data: bytes) -> None:
        # A snapshot must see the object whole or not at all (see state.lock).
        with STATE.shared():
            self._bucket(bucket)
            self._backend.put_object(bucket, key, data)


def restore_bucket_namespace() -> int:
    """Tell moto again which buckets exist, after a snapshot put its S3 backends back; how many.

    S3 bucket names are one namespace: moto keeps it in `s3_backends.bucket_accounts` (name ->
    partition and account), filled in only by FakeBucket's constructor, which unpickling does not
    run. Without this, every bucket restored from a snapshot was missing from it: CreateBucket of
    an existing name (a retained bucket that a new stack creates again) then succeeded and
    replaced the bucket, with everything in it, by an empty one, instead of failing with
    BucketAlreadyExists as S3 does.
    """
    namespace = s3_backends.bucket_accounts
    namespace.clear()
    for account_id, partitions in dict.items(s3_backends):
        for partition, backend in dict.items(partitions):
            for bucket in [*backend.buckets.values(), *backend.table_buckets.values()]:
                namespace[bucket.name] = (partition, account_id)
    return len(namespace)
