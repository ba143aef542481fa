"""Images rendered on demand (thumbnails, animated GIF/WebP), each rendered once and kept in storage."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from starlette.responses import Response

from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.deliver.media import local_hls_dir
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.deliver.serve import headers_for, image_key, serve_key
from vidlake.ffmpeg import FFmpegError
from vidlake.runtime import Services

IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
#: Cache-Control of rendered images (seconds).
IMAGE_CACHE = "public, max-age=86400"


def digest(*parts: object) -> str:
    """A short stable name for a rendering's parameters."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def cached_image(services: Services, target: PlaybackTarget, name: str, fmt: str,
                 render: Callable[[Path, Path], None]) -> Response:
    """Serve the image ``name`` from storage, rendering it first if needed (``render(hls_dir, dest)``
    from the asset's local HLS output). A render that fails is a 400 naming the problem."""
    if target.asset_id is None or not target.complete:
        raise NotFound("images are made once the asset is fully processed")
    key = image_key(target, name)
    if not services.storage.exists(key):
        hls_dir = local_hls_dir(services, target.hls_prefix)
        with tempfile.TemporaryDirectory(prefix="vidlake-img-", dir=services.work_dir()) as tmp:
            dest = Path(tmp) / f"out.{fmt}"
            try:
                render(hls_dir, dest)
            except ValueError as exc:
                raise InvalidParameters(str(exc)) from exc
            except FFmpegError as exc:
                raise InvalidParameters(f"could not render the image: {str(exc).splitlines()[0]}") from exc
            services.storage.put_file(key, dest, IMAGE_TYPES[fmt])
    return serve_key(services, key, IMAGE_TYPES[fmt], headers_for(target, IMAGE_CACHE))
