"""Storage: one interface (``Storage``), local disk and S3 implementations, keys in ``keys``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from vidlake.core.errors import InvalidParameters
from vidlake.storage.base import Storage


def open_storage(url: str) -> Storage:
    """Storage for ``file:///abs/path`` or ``s3://bucket/prefix?endpoint=...&region=...``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from vidlake.storage.local import LocalStorage

        return LocalStorage(Path(unquote(parts.netloc + parts.path)))
    if parts.scheme == "s3":
        from vidlake.storage.s3 import S3Storage

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Storage(
            bucket=parts.netloc,
            prefix=parts.path,
            endpoint_url=query.get("endpoint"),
            region=query.get("region"),
            access_key=query.get("access_key"),
            secret_key=query.get("secret_key"),
            create_bucket=query.get("create_bucket", "false").lower() in ("1", "true", "yes"),
        )
    raise InvalidParameters(f"VIDLAKE_STORAGE_URL: unsupported scheme {parts.scheme!r} (use file:// or s3://)")


__all__ = ["Storage", "open_storage"]
