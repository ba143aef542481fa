"""Audio chains of an edit: one per audible clip and one for the soundtrack (seconds, linear gains)."""

from __future__ import annotations

from vidlake.edit.filters import atempo_chain, num
from vidlake.edit.timeline import AudioAsset, Clip, Soundtrack, VideoAsset

#: Sample rate of every chain and of the output (Hz).
AUDIO_RATE = 48_000
_FORMAT = "aformat=sample_fmts=fltp:channel_layouts=stereo"


def clip_filters(clip: Clip, asset: VideoAsset | AudioAsset, fade_in: float, fade_out: float) -> list[str]:
    """Filters for a clip's sound: from its trimmed input to ``clip.length`` seconds of stereo at
    :data:`AUDIO_RATE`, sped up, at its volume, faded (``fade_in``/``fade_out`` seconds, or an audio
    asset's own fades if longer) and delayed to ``clip.start``."""
    if isinstance(asset, AudioAsset):
        fade_in, fade_out = max(fade_in, asset.fade_in), max(fade_out, asset.fade_out)
    filters = ["asetpts=PTS-STARTPTS", *atempo_chain(clip.speed), f"aresample={AUDIO_RATE}", _FORMAT,
               f"atrim=duration={num(clip.length)}", f"apad=whole_dur={num(clip.length)}",
               f"volume={num(asset.volume)}"]
    if fade_in > 0:
        filters.append(f"afade=t=in:st=0:d={num(fade_in)}")
    if fade_out > 0:
        filters.append(f"afade=t=out:st={num(clip.length - fade_out)}:d={num(fade_out)}")
    delay_ms = round(clip.start * 1000)
    if delay_ms:
        filters.append(f"adelay=delays={delay_ms}:all=1")
    return filters


def soundtrack_filters(sound: Soundtrack, available: float) -> list[str]:
    """Filters for the soundtrack: stereo at :data:`AUDIO_RATE`, its volume, its fade-in, and its
    fade-out ending where the music or the timeline ends (``available`` seconds)."""
    filters = ["asetpts=PTS-STARTPTS", f"aresample={AUDIO_RATE}", _FORMAT, f"volume={num(sound.volume)}"]
    if sound.fade_in > 0:
        filters.append(f"afade=t=in:st=0:d={num(sound.fade_in)}")
    if sound.fade_out > 0:
        filters.append(f"afade=t=out:st={num(max(0.0, available - sound.fade_out))}:d={num(sound.fade_out)}")
    return filters
