"""An in-memory ObjectStore (what the emulator's job data copies read and write), for unit tests."""

from __future__ import annotations

from sagemaker_stack.local.services.s3_objects import NO_SUCH_BUCKET, S3Error


class DictStore:
    """An ObjectStore over {bucket: {key: bytes}}."""

    def __init__(self, buckets: dict[str, dict[str, bytes]]) -> None:
        self.buckets = buckets

    def _bucket(self, bucket: str) -> dict[str, bytes]:
        if bucket not in self.buckets:
            raise S3Error(*NO_SUCH_BUCKET)
        return self.buckets[bucket]

    def keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(key for key in self._bucket(bucket) if key.startswith(prefix))

    def read(self, bucket: str, key: str) -> bytes:
        return self._bucket(bucket)[key]

    def write(self, bucket: str, key: str, data: bytes) -> None:
        self._bucket(bucket)[key] = data
