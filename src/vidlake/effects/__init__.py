"""Video effects: one contract (:mod:`vidlake.effects.base`), one module per effect, one pipeline.

::

    params = parse_effects([{"type": "background", "mode": "blur"}])   # EffectsInvalid -> 400
    info = stream_info(1280, 720, 30.0, 10.0)
    render_file(MediaInput.untrusted(path, "mov"), "out.mp4", params, info, has_audio=True, work_dir=tmp)

See docs/effects.md for every effect and parameter.
"""

from vidlake.effects.base import Effect, FilterEffect, FrameEffect, Params, Stage, StreamInfo
from vidlake.effects.pipeline import EffectsResult, Encoding, process_frames, render_file, stream_info
from vidlake.effects.registry import EffectsInvalid, build, effect_types, parse_effects, to_json

__all__ = [
    "Effect",
    "EffectsInvalid",
    "EffectsResult",
    "Encoding",
    "FilterEffect",
    "FrameEffect",
    "Params",
    "Stage",
    "StreamInfo",
    "build",
    "effect_types",
    "parse_effects",
    "process_frames",
    "render_file",
    "stream_info",
    "to_json",
]
