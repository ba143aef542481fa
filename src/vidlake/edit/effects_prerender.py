"""Video clips with ``effects``: each is rendered through the effects pipeline first, into a local
MP4 covering just the part of the source the clip uses (with its audio); the compiler then uses that
file as the clip's source. The one-graph compiler stays free of per-frame Python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vidlake.edit.compiler import READ_MARGIN_S
from vidlake.edit.timeline import VideoAsset
from vidlake.edit.validate import SourceInfo, ValidatedEdit
from vidlake.effects.pipeline import render_file, stream_info
from vidlake.effects.registry import parse_effects
from vidlake.ffmpeg import MediaInput
from vidlake.vod.probe import probe


def prerender_effects(validated: ValidatedEdit, work_dir: Path, *, timeout_s: float,
                      cancel_check: Callable[[], bool] | None = None) -> ValidatedEdit:
    """A copy of ``validated`` whose effect clips point at pre-rendered files in ``work_dir``
    (``trim`` becomes 0, ``effects`` empty). ``timeout_s``: seconds for each clip's render."""
    edit = validated.edit
    if not any(c.effects for t in edit.timeline.tracks for c in t.clips):
        return validated
    sources = dict(validated.sources)
    tracks = []
    count = 0
    for track in edit.timeline.tracks:
        clips = []
        for clip in track.clips:
            asset = clip.asset
            if not clip.effects or not isinstance(asset, VideoAsset):
                clips.append(clip)
                continue
            count += 1
            info = validated.sources[asset.src]
            probed = probe(info.path, validate_limits=False)
            assert probed.video is not None  # validation checked the source has a picture
            read = clip.length * clip.speed + READ_MARGIN_S
            if info.duration_s:
                read = min(read, max(0.1, info.duration_s - asset.trim))
            media = (MediaInput.trusted_output(info.path) if info.path.endswith(".m3u8")
                     else MediaInput.untrusted(info.path, probed.format_name)).with_window(asset.trim, read)
            out = work_dir / f"effects-clip-{count}.mp4"
            stream = stream_info(probed.video.display_width, probed.video.display_height,
                                 probed.video.frame_rate, read)
            render_file(media, out, parse_effects(clip.effects), stream, has_audio=probed.audio is not None,
                        work_dir=work_dir, load=lambda src: Path(validated.sources[src].path),
                        timeout_s=timeout_s, cancel_check=cancel_check)
            key = f"effects:{count}"
            sources[key] = SourceInfo(path=str(out), duration_s=read, has_video=True,
                                      has_audio=probed.audio is not None, width=stream.width, height=stream.height)
            new_asset = asset.model_copy(update={"src": key, "trim": 0.0})
            clips.append(clip.model_copy(update={"asset": new_asset, "effects": []}))
        tracks.append(track.model_copy(update={"clips": clips}))
    timeline = edit.timeline.model_copy(update={"tracks": tracks})
    return ValidatedEdit(edit=edit.model_copy(update={"timeline": timeline}), sources=sources)
