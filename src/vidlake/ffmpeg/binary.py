"""Finding the ffmpeg binary.

The default is the static build shipped in the ``imageio-ffmpeg`` wheel. A different binary can be
configured with the ``VIDLAKE_FFMPEG`` setting (passed in explicitly by callers that hold settings).
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache


class FFmpegNotFoundError(FileNotFoundError):
    """No usable ffmpeg binary was found."""


@lru_cache(maxsize=8)
def ffmpeg_exe(configured: str | None = None) -> str:
    """Return the absolute path of the ffmpeg binary to run.

    ``configured`` (or the ``VIDLAKE_FFMPEG`` environment variable) wins over the wheel's binary.
    """
    choice = configured or os.environ.get("VIDLAKE_FFMPEG") or None
    if choice:
        found = shutil.which(choice)
        if not found:
            raise FFmpegNotFoundError(f"VIDLAKE_FFMPEG={choice!r} is not an executable file")
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise FFmpegNotFoundError("imageio-ffmpeg is not installed and VIDLAKE_FFMPEG is not set") from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())
