"""The only code in Vidlake that starts ffmpeg."""

from vidlake.ffmpeg.binary import FFmpegNotFoundError, ffmpeg_exe

__all__ = ["FFmpegNotFoundError", "ffmpeg_exe"]
