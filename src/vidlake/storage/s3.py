"""S3-compatible storage via boto3. Uploads are single PUTs or multipart uploads completed at the
end (atomic: an object is visible only when whole). Configured as
``s3://bucket/optional/prefix?endpoint=http://host:port&region=us-east-1`` with credentials from the
usual AWS environment variables or the URL's ``access_key``/``secret_key`` query parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from vidlake.core.errors import ObjectNotFound, StorageError
from vidlake.storage.base import validate_key

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """Objects in one bucket under an optional prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region or "us-east-1"
        )
        self.client: Any = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60),
        )
        self.transfer = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)
        if create_bucket:
            self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call(self.client.create_bucket, Bucket=self.bucket)

    def _k(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _kp(self, prefix: str) -> str:
        """Full key prefix for listing (a trailing '/' is kept)."""
        if not prefix:
            return f"{self.prefix}/" if self.prefix else ""
        validate_key(prefix.rstrip("/"))
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _call(self, fn: Any, *args: Any, key: str = "", **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectNotFound(f"no object {key!r}") from exc
            raise StorageError(f"S3 error on {key!r}: {code or exc}") from exc
        except (BotoCoreError, EndpointConnectionError, OSError) as exc:
            raise StorageError(f"S3 unreachable on {key!r}: {exc}") from exc

    def _extra(self, content_type: str | None) -> dict[str, Any]:
        return {"ContentType": content_type} if content_type else {}

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._call(self.client.put_object, Bucket=self.bucket, Key=self._k(key), Body=data, key=key,
                   **self._extra(content_type))

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self._call(self.client.upload_file, str(path), self.bucket, self._k(key), key=key,
                   ExtraArgs=self._extra(content_type) or None, Config=self.transfer)

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        """Read ``stream`` to the end and store it; a read error aborts the upload (nothing visible).

        Small streams are one PUT; larger ones a multipart upload completed only after the last part.
        (boto3's ``upload_fileobj`` was seen storing a truncated object when the stream raised.)
        """
        part_size = self.transfer.multipart_chunksize
        first = _read_full(stream, part_size)
        if len(first) < part_size:
            self.put_bytes(key, first, content_type)
            return len(first)
        full = self._k(key)
        upload = self._call(self.client.create_multipart_upload, Bucket=self.bucket, Key=full, key=key,
                            **self._extra(content_type))
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        total = 0
        try:
            chunk = first
            while chunk:
                number = len(parts) + 1
                resp = self._call(self.client.upload_part, Bucket=self.bucket, Key=full, UploadId=upload_id,
                                  PartNumber=number, Body=chunk, key=key)
                parts.append({"ETag": resp["ETag"], "PartNumber": number})
                total += len(chunk)
                chunk = _read_full(stream, part_size)
            self._call(self.client.complete_multipart_upload, Bucket=self.bucket, Key=full, UploadId=upload_id,
                       MultipartUpload={"Parts": parts}, key=key)
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            raise
        return total

    def open(self, key: str) -> BinaryIO:
        resp = self._call(self.client.get_object, Bucket=self.bucket, Key=self._k(key), key=key)
        return cast(BinaryIO, resp["Body"])

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        resp = self._call(self.client.get_object, Bucket=self.bucket, Key=self._k(key), Range=f"bytes={start}-{end}",
                          key=key)
        return cast(BinaryIO, resp["Body"])

    def read_bytes(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def size(self, key: str) -> int:
        resp = self._call(self.client.head_object, Bucket=self.bucket, Key=self._k(key), key=key)
        return int(resp["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=self._k(key), key=key)

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list(prefix))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._k(k)} for k in keys[start:start + 1000]]
            self._call(self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": batch}, key=prefix)
        return len(keys)

    def list(self, prefix: str) -> Iterator[str]:
        full = self._kp(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        cut = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(obj["Key"][cut:] for obj in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 list failed under {prefix!r}: {exc}") from exc
        yield from sorted(keys)

    def local_path(self, key: str) -> Path | None:
        return None

    def local_dir(self, prefix: str) -> Path | None:
        return None

    def download(self, key: str, dest: Path) -> None:
        self._call(self.client.download_file, self.bucket, self._k(key), str(dest), key=key, Config=self.transfer)

    def check(self) -> None:
        self._call(self.client.head_bucket, Bucket=self.bucket, key="")


def _read_full(stream: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads; fewer only at the end of the stream."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        chunks.append(data)
        remaining -= len(data)
    return b"".join(chunks)
