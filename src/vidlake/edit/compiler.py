"""Compile a validated timeline into ONE ffmpeg command with one filter graph.

The graph is passed as two ``-filter_complex`` halves, video and audio, in the same process: ffmpeg 9
stalled in about 1 of 5 runs when delayed audio (``adelay``) shared one graph with the video
(measured on the example timelines; 0 stalls in 60 runs once split).

How the graph is laid out::

    color (background, whole duration)                      -> base
    per visual clip: input -> speed/fps/trim -> fit/scale -> filter -> effect (zoompan)
                     -> alpha (opacity, in/out transitions through transparency) -> layer
    per track: layers that overlap on the track are joined with xfade into one segment
    base <- overlay segments of the last track ... <- overlay segments of track 0 (on top)
    text clips with no transition or a ``fade`` are drawn straight onto the composite (drawtext)
    caption clips: one drawtext each, its text set and enabled per cue by a sendcmd, onto the composite
    audio: every audible clip (trim, speed, volume, fades, delay) + soundtrack -> amix normalize=0

Inputs are opened with ``-ss``/``-t`` around the part a clip uses, so ffmpeg seeks instead of
decoding from the start. No Python runs per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from vidlake.edit import audio
from vidlake.edit.audio import AUDIO_RATE
from vidlake.edit.encoding import PREVIEW_ENCODING, CompiledEdit, Encoding
from vidlake.edit.filters import EFFECT_EXPRS, FILTER_CHAINS, color, escape_value, filter_text, num
from vidlake.edit.geometry import crop_filters, even, fit_size, headroom, is_direct_text
from vidlake.edit.text import Frame, direct_filters, drawtext
from vidlake.edit.timeline import AudioAsset, CaptionAsset, Clip, ColorAsset, Edit, ImageAsset, TextAsset, VideoAsset
from vidlake.edit.validate import SourceInfo, ValidatedEdit
from vidlake.ffmpeg import FFmpegCommand, MediaInput

#: Previews render at this fraction of the output size, at most this many frames per second.
PREVIEW_SCALE = 1 / 3
PREVIEW_MAX_FPS = 15
#: Seconds of extra source read after a clip's end (the graph trims exactly).
READ_MARGIN_S = 0.5


@dataclass
class _Layer:
    """A processed visual clip: stream ``label`` of ``w``x``h`` pixels drawn at (``x``, ``y``),
    timestamps starting at 0 (not yet moved to ``start``)."""

    label: str
    w: int
    h: int
    x: int
    y: int
    alpha: bool
    start: float
    length: float


@dataclass
class _Segment:
    """Clips of one track joined by cross transitions, or a single clip; or a direct text draw."""

    clips: list[tuple[int, Clip]] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.clips[0][1].start


class _Builder:
    def __init__(self, validated: ValidatedEdit, preview: bool, files_stem: Path) -> None:
        self.edit: Edit = validated.edit
        #: side files (sendcmd scripts) are ``{files_stem}.<label>.sendcmd``: path -> text
        self.files_stem = files_stem
        self.files: dict[str, str] = {}
        self.sources: dict[str, SourceInfo] = validated.sources
        out = self.edit.output
        nominal_w, nominal_h = out.size()
        if preview:
            self.width, self.height = even(nominal_w * PREVIEW_SCALE), even(nominal_h * PREVIEW_SCALE)
            self.fps = min(out.fps, PREVIEW_MAX_FPS)
        else:
            self.width, self.height, self.fps = nominal_w, nominal_h, out.fps
        #: render pixels per document pixel (text sizes, fit "none").
        self.ref = self.width / nominal_w
        self.frame = Frame(self.width, self.height, self.ref)
        self.duration = self.edit.duration()
        self.inputs: list[MediaInput] = []
        self.chains: list[str] = []  # video graph
        self.achains: list[str] = []  # audio graph
        self.audio_labels: list[str] = []
        self._n = 0

    # -- plumbing ---------------------------------------------------------------------------
    def label(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    @staticmethod
    def source_input(info: SourceInfo) -> MediaInput:
        """The hardened input for a source: its pinned demuxer, ``file`` as the only protocol."""
        return MediaInput.local_file(info.path, info.demuxer)

    def trimmed_input(self, info: SourceInfo, trim: float, read: float, streams: Literal["video", "audio"]) -> int:
        """Add an input reading ``read`` seconds from ``trim`` seconds on; returns its index. Video and
        audio of one file are opened as two inputs (``streams``): one demuxer feeding two far-apart parts
        of the graph can stall ffmpeg when one part waits (e.g. a clip that starts late)."""
        media = replace(self.source_input(info), seek_s=trim or None, duration_s=read, streams=streams)
        return self.add_input(media)

    def add_input(self, media: MediaInput) -> int:
        self.inputs.append(media)
        return len(self.inputs) - 1

    def chain(self, sources: list[str], filters: list[str], out: str, audio: bool = False) -> None:
        ins = "".join(f"[{s}]" for s in sources)
        (self.achains if audio else self.chains).append(f"{ins}{','.join(filters)}[{out}]")

    def direct_text(self, clip: Clip) -> list[str]:
        """A text or caption clip drawn onto the composite; a caption's sendcmd script goes to ``files``."""
        label = self.label("cap") if isinstance(clip.asset, CaptionAsset) else "text"
        script = f"{self.files_stem}.{label}.sendcmd"
        filters, commands = direct_filters(clip, self.frame, self.sources, f"drawtext@{label}", script)
        if commands:
            self.files[script] = commands
        return filters

    # -- geometry ---------------------------------------------------------------------------
    def fit_size(self, clip: Clip, src_w: int, src_h: int, mult: int = 1) -> tuple[int, int, list[str]]:
        """Layer size (w, h) in render pixels and the filters that scale the source to ``mult`` times
        that size (``mult=2`` gives zoompan sub-pixel headroom)."""
        w, h = fit_size(clip, self.width, self.height, src_w, src_h, self.ref)
        sw, sh = w * mult, h * mult
        if clip.fit == "crop":
            return w, h, crop_filters(clip, src_w, src_h, sw, sh)
        return w, h, [f"scale={sw}:{sh}", "setsar=1"]

    def place(self, clip: Clip, w: int, h: int) -> tuple[int, int]:
        """Top-left corner in render pixels for a ``w``x``h`` layer."""
        pos = clip.position
        if pos in ("left", "topLeft", "bottomLeft"):
            x = 0.0
        elif pos in ("right", "topRight", "bottomRight"):
            x = float(self.width - w)
        else:
            x = (self.width - w) / 2
        if pos in ("top", "topLeft", "topRight"):
            y = 0.0
        elif pos in ("bottom", "bottomLeft", "bottomRight"):
            y = float(self.height - h)
        else:
            y = (self.height - h) / 2
        x += clip.offset.x * self.width
        y -= clip.offset.y * self.height
        return round(x), round(y)

    # -- visual clips -----------------------------------------------------------------------
    def visual_layer(self, clip: Clip, fade_in: bool, fade_out: bool) -> _Layer:
        """Build the stream for one visual clip. ``fade_in``/``fade_out``: apply the clip's own in/out
        transition (False where a cross transition with a neighbour replaces it)."""
        asset = clip.asset
        n_frames = max(1, round(clip.length * self.fps))
        pre: list[str]
        src: str
        if isinstance(asset, VideoAsset):
            info = self.sources[asset.src]
            read = clip.length * clip.speed + READ_MARGIN_S
            idx = self.trimmed_input(info, asset.trim, read, "video")
            src = f"{idx}:v"
            pre = [
                f"setpts=(PTS-STARTPTS)/{num(clip.speed)}",
                f"fps={self.fps}",
                f"tpad=stop_mode=clone:stop_duration={num(clip.length)}",
                f"trim=duration={num(clip.length)}",
            ]
            assert info.width and info.height
            w, h, fit = self.fit_size(clip, info.width, info.height)
            body = [*pre, *fit]
        elif isinstance(asset, ImageAsset):
            info = self.sources[asset.src]
            idx = self.add_input(replace(self.source_input(info), framerate=self.fps))
            src = f"{idx}:v"
            assert info.width and info.height
            # zoompan needs headroom: scale to twice the size, zoompan back down
            w, h, fit = self.fit_size(clip, info.width, info.height, headroom(clip))
            # scale the still once, then repeat that frame for the clip's length
            body = ["format=rgba", *fit, f"tpad=stop_mode=clone:stop_duration={num(clip.length)}",
                    f"trim=duration={num(clip.length)}"]
        elif isinstance(asset, ColorAsset):
            w, h = self.fit_size(clip, self.width, self.height)[:2]
            label = self.label("col")
            self.chains.append(
                f"color=c={color(asset.color)}:s={w}x{h}:r={self.fps}:d={num(clip.length)}[{label}]"
            )
            src, body = label, []
        elif isinstance(asset, TextAsset):
            w, h = self.width, self.height
            label = self.label("canvas")
            # transparent pixels carry the text's colour so 4:2:0 chroma at glyph edges stays saturated
            clear = color(asset.style.color[:7] + "00")
            self.chains.append(
                f"color=c={clear}:s={w}x{h}:r={self.fps}:d={num(clip.length)},format=yuva420p[{label}]"
            )
            src, body = label, [drawtext(clip, asset, self.frame, enable=None)]
        else:  # pragma: no cover - audio clips are not visual
            raise TypeError(f"not a visual asset: {asset.type}")

        if clip.filter:
            body.append(FILTER_CHAINS[clip.filter])
        if clip.effect and isinstance(asset, VideoAsset | ImageAsset):
            zoom, ex, ey = EFFECT_EXPRS[clip.effect]
            zoom, ex, ey = (e.replace("N", str(n_frames)) for e in (zoom, ex, ey))
            body.append(filter_text("zoompan", z=zoom, x=ex, y=ey, d="1", s=f"{w}x{h}", fps=str(self.fps)))
            body.append(f"trim=duration={num(clip.length)}")
        body.append("setpts=PTS-STARTPTS")

        tr = clip.transition
        want_in = tr.in_ if (tr and fade_in) else None
        want_out = tr.out if (tr and fade_out) else None
        alpha = (isinstance(asset, ImageAsset | TextAsset) or clip.opacity < 1 or bool(want_in or want_out)
                 or (isinstance(asset, ColorAsset) and len(asset.color) == 9))
        if alpha:
            body.append("format=yuva420p")
        else:
            body.append("format=yuv420p")
        if clip.opacity < 1:
            body.append(f"lut=a=val*{num(clip.opacity)}")
        label = self.label("v")
        self.chain([src], body, label)
        layer = _Layer(label, w, h, 0, 0, alpha, clip.start, clip.length)
        layer.x, layer.y = (0, 0) if isinstance(asset, TextAsset) else self.place(clip, w, h)
        if tr is not None:
            if want_in:
                self.edge_transition(layer, want_in, tr.duration, at_start=True)
            if want_out:
                self.edge_transition(layer, want_out, tr.duration, at_start=False)
        return layer

    def edge_transition(self, layer: _Layer, name: str, duration: float, *, at_start: bool) -> None:
        """Transition a layer from (``at_start``) or to transparency over ``duration`` seconds."""
        out = self.label("t")
        if name == "fade":
            st = 0.0 if at_start else layer.length - duration
            kind = "in" if at_start else "out"
            self.chain([layer.label], [f"fade=t={kind}:st={num(st)}:d={num(duration)}:alpha=1"], out)
        else:
            clear = self.label("clear")
            self.chains.append(f"color=c=black@0:s={layer.w}x{layer.h}:r={self.fps}:d={num(duration)},"
                               f"format=yuva420p[{clear}]")
            if at_start:
                self.chain([clear, layer.label], [f"xfade=transition={name}:duration={num(duration)}:offset=0"],
                           out)
            else:
                offset = layer.length - duration
                self.chain([layer.label, clear],
                           [f"xfade=transition={name}:duration={num(duration)}:offset={num(offset)}"], out)
        layer.label = out

    def to_canvas(self, layer: _Layer, alpha: bool) -> _Layer:
        """Make a layer full-frame (needed to cross-transition two clips of different geometry)."""
        if (layer.w, layer.h, layer.x, layer.y) == (self.width, self.height, 0, 0):
            if alpha and not layer.alpha:
                out = self.label("c")
                self.chain([layer.label], ["format=yuva420p"], out)
                return _Layer(out, layer.w, layer.h, 0, 0, True, layer.start, layer.length)
            return layer
        x0, y0 = max(0, layer.x), max(0, layer.y)
        x1, y1 = min(self.width, layer.x + layer.w), min(self.height, layer.y + layer.h)
        out = self.label("c")
        if x1 - x0 < 2 or y1 - y0 < 2:  # entirely off-screen
            filters = ["crop=2:2:0:0", "format=yuva420p", "lut=a=0",
                       f"pad={self.width}:{self.height}:0:0:color=black@0"]
        else:
            filters = [f"crop={x1 - x0}:{y1 - y0}:{x0 - layer.x}:{y0 - layer.y}", "format=yuva420p",
                       f"pad={self.width}:{self.height}:{x0}:{y0}:color=black@0"]
        self.chain([layer.label], filters, out)
        return _Layer(out, self.width, self.height, 0, 0, True, layer.start, layer.length)

    def segment_layer(self, seg: _Segment) -> _Layer:
        """One stream for a run of overlapping clips of one track, joined with xfade."""
        clips = [c for _, c in seg.clips]
        if len(clips) == 1:
            return self.visual_layer(clips[0], True, True)
        layers = [self.visual_layer(c, i == 0, i == len(clips) - 1) for i, c in enumerate(clips)]
        alpha = any(lay.alpha for lay in layers)
        layers = [self.to_canvas(lay, alpha) for lay in layers]
        current = layers[0].label
        for i in range(1, len(clips)):
            prev, cur = clips[i - 1], clips[i]
            name = (cur.transition.in_ if cur.transition else None) or (
                prev.transition.out if prev.transition else None) or "fade"
            overlap = prev.end - cur.start
            out = self.label("x")
            # No format filter after xfade: its inputs already share one pixel format and xfade keeps it; forcing it
            # again made the graph negotiate a slower path (bench/edit.py: 9.4 s -> 7.4 s at 720p).
            self.chain([current, layers[i].label],
                       [f"xfade=transition={name}:duration={num(overlap)}:offset={num(cur.start - seg.start)}"],
                       out)
            current = out
        end = max(c.end for c in clips)
        return _Layer(current, self.width, self.height, 0, 0, alpha, seg.start, end - seg.start)

    # -- audio ------------------------------------------------------------------------------
    def clip_audio(self, clip: Clip, fade_in: float, fade_out: float) -> None:
        asset = clip.asset
        assert isinstance(asset, VideoAsset | AudioAsset)
        info = self.sources[asset.src]
        read = clip.length * clip.speed + READ_MARGIN_S
        input_index = self.trimmed_input(info, asset.trim, read, "audio")
        filters = audio.clip_filters(clip, asset, fade_in, fade_out)
        label = self.label("a")
        self.chain([f"{input_index}:a"], filters, label, audio=True)
        self.audio_labels.append(label)

    def soundtrack(self) -> None:
        sound = self.edit.timeline.soundtrack
        if sound is None:
            return
        info = self.sources[sound.src]
        idx = self.add_input(replace(self.source_input(info), seek_s=sound.trim or None,
                                     duration_s=self.duration + READ_MARGIN_S))
        available = self.duration if info.duration_s is None else min(self.duration, info.duration_s - sound.trim)
        filters = audio.soundtrack_filters(sound, available)
        label = self.label("a")
        self.chain([f"{idx}:a"], filters, label, audio=True)
        self.audio_labels.append(label)

    # -- whole graph ------------------------------------------------------------------------
    def segments(self, clips: list[Clip]) -> list[_Segment]:
        """Group a track's visual clips into runs joined by overlaps (cross transitions)."""
        visual = sorted(((i, c) for i, c in enumerate(clips) if not isinstance(c.asset, AudioAsset)),
                        key=lambda ic: ic[1].start)
        segs: list[_Segment] = []
        for i, clip in visual:
            if segs and not is_direct_text(clip) and not is_direct_text(segs[-1].clips[-1][1]) \
                    and segs[-1].clips[-1][1].end > clip.start + 1e-6:
                segs[-1].clips.append((i, clip))
            else:
                segs.append(_Segment([(i, clip)]))
        return segs

    def build(self) -> tuple[str, str]:
        """Return the video graph and the audio graph."""
        d = num(self.duration)
        current = "base"
        self.chains.append(f"color=c={color(self.edit.timeline.background)}:s={self.width}x{self.height}"
                           f":r={self.fps}:d={d},format=yuv420p[{current}]")
        audio_jobs: list[tuple[Clip, float, float]] = []
        for track in reversed(self.edit.timeline.tracks):
            for seg in self.segments(track.clips):
                first = seg.clips[0][1]
                if len(seg.clips) == 1 and is_direct_text(first):
                    filters = self.direct_text(first)
                    if filters:
                        out = self.label("m")
                        self.chain([current], filters, out)
                        current = out
                    continue
                layer = self.segment_layer(seg)
                # audio of video clips in this segment, with cross-fades over the overlaps
                clips = [c for _, c in seg.clips]
                for k, clip in enumerate(clips):
                    fin = (clips[k - 1].end - clip.start) if k > 0 else self._edge(clip, True)
                    fout = (clip.end - clips[k + 1].start) if k + 1 < len(clips) else self._edge(clip, False)
                    audio_jobs.append((clip, fin, fout))
                if current == "base" and self.covers_frame(layer):
                    # an opaque full-frame layer over the whole timeline: it is the base itself
                    self.chains.pop(0)
                    current = layer.label
                    continue
                moved = self.label("p")
                self.chain([layer.label], [f"setpts=PTS+{num(layer.start)}/TB"], moved)
                out = self.label("m")
                self.chain([current, moved],
                           [f"overlay=x={layer.x}:y={layer.y}:eof_action=pass:repeatlast=0:format=auto"], out)
                current = out
            for clip in track.clips:
                if isinstance(clip.asset, AudioAsset):
                    audio_jobs.append((clip, 0.0, 0.0))
        self.chain([current], [f"trim=duration={d}", "format=yuv420p"], "vout")

        for clip, fin, fout in audio_jobs:
            asset = clip.asset
            if isinstance(asset, AudioAsset):
                self.clip_audio(clip, 0.0, 0.0)
            elif isinstance(asset, VideoAsset) and asset.volume > 0 and self.sources[asset.src].has_audio:
                self.clip_audio(clip, fin, fout)
        self.soundtrack()
        # finite pads only: an endless apad feeding amix stalls ffmpeg now and then
        tail = [f"atrim=duration={d}", f"apad=whole_dur={d}"]
        if not self.audio_labels:
            self.achains.append(f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration={d}[aout]")
        elif len(self.audio_labels) == 1:
            self.chain(self.audio_labels, tail, "aout", audio=True)
        else:
            mix = f"amix=inputs={len(self.audio_labels)}:normalize=0:duration=longest:dropout_transition=0"
            self.chain(self.audio_labels, [mix, *tail], "aout", audio=True)
        return ";\n".join(self.chains), ";\n".join(self.achains)

    def covers_frame(self, layer: _Layer) -> bool:
        """An opaque layer that fills the frame from 0 to the end of the timeline."""
        return (not layer.alpha and (layer.w, layer.h, layer.x, layer.y) == (self.width, self.height, 0, 0)
                and layer.start <= 1e-6 and layer.length >= self.duration - 1e-6)

    @staticmethod
    def _edge(clip: Clip, at_start: bool) -> float:
        tr = clip.transition
        if tr is None:
            return 0.0
        return tr.duration if (tr.in_ if at_start else tr.out) else 0.0


def compile_edit(
    validated: ValidatedEdit,
    out_path: str | Path,
    *,
    preview: bool = False,
    encoding: Encoding | None = None,
) -> CompiledEdit:
    """Compile a validated edit into one ffmpeg argv (without the executable) writing ``out_path``, built
    with :class:`vidlake.ffmpeg.FFmpegCommand` (hardened inputs, bounded threads).

    Caption clips' ``sendcmd`` scripts are ``compiled.files`` (beside ``out_path``; written by
    :meth:`CompiledEdit.write_files`). ``preview=True``: a fast draft at 1/3 of the output size, at most
    15 frames per second, x264 ``ultrafast``. ``encoding`` overrides the encoder settings.
    """
    builder = _Builder(validated, preview, Path(out_path).absolute().with_suffix(""))
    video_graph, audio_graph = builder.build()
    enc = encoding or (PREVIEW_ENCODING if preview else Encoding())
    # two graphs in one process: ffmpeg 9 sometimes stalls when delayed audio (adelay) shares one
    # filter graph with the video; each -filter_complex runs in its own thread.
    command = FFmpegCommand(inputs=list(builder.inputs), filter_complex=video_graph,
                            extra_filter_graphs=[audio_graph], threads=enc.threads or None)
    command.add_output(out_path, [
        "-map", "[vout]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf), "-pix_fmt", "yuv420p",
        "-r", str(builder.fps),
        "-c:a", "aac", "-b:a", str(enc.audio_bitrate), "-ar", str(AUDIO_RATE), "-ac", "2",
        "-t", num(builder.duration),
        "-movflags", "+faststart", "-f", "mp4",
    ])
    return CompiledEdit(argv=command.argv(), filter_graph=f"{video_graph};\n{audio_graph}", video_graph=video_graph,
                        audio_graph=audio_graph, duration_s=builder.duration, width=builder.width,
                        height=builder.height, fps=builder.fps, files=builder.files)


__all__ = ["PREVIEW_ENCODING", "CompiledEdit", "Encoding", "compile_edit", "escape_value"]
