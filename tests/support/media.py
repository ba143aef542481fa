"""Test media made with the real ffmpeg, and a tiny static HTTP server for URL pulls."""

from __future__ import annotations

import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from vidlake.ffmpeg import ffmpeg_exe


def make_av(dest: Path, *, seconds: float = 4, size: str = "640x360", rate: int = 25, audio: bool = True,
            extra: list[str] | None = None) -> Path:
    """An H.264/AAC MP4 from lavfi sources (testsrc2 + a sine tone)."""
    if dest.exists():
        return dest
    args = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}", "-ac", "2", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *(extra or []), "-shortest", str(dest)]
    subprocess.run(args, check=True, timeout=120)
    return dest


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class FileServer:
    """Serves a directory over HTTP on 127.0.0.1 (for URL-pull tests)."""

    def __init__(self, root: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
