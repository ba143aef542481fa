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

from dataclasses import dataclass, field
from pathlib import Path

from vidlake.edit.captions_burn import caption_source_key, clip_windows, inline_cues, parse_cues, sendcmd_commands
from vidlake.edit.text_layout import face_for, layout_text
from vidlake.edit.timeline import (
    AudioAsset,
    CaptionAsset,
    Clip,
    ColorAsset,
    Edit,
    ImageAsset,
    TextAsset,
    VideoAsset,
)
from vidlake.edit.validate import SourceInfo, ValidatedEdit

#: Previews render at this fraction of the output size, at most this many frames per second.
PREVIEW_SCALE = 1 / 3
PREVIEW_MAX_FPS = 15
AUDIO_RATE = 48_000
#: Seconds of extra source read after a clip's end (the graph trims exactly).
READ_MARGIN_S = 0.5


@dataclass(frozen=True)
class Encoding:
    """Encoder settings: x264 ``preset`` and ``crf`` (quality, lower is better), AAC bit rate in bits
    per second, and ``threads`` (``None``: ffmpeg decides)."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: int = 160_000
    threads: int | None = None


PREVIEW_ENCODING = Encoding(preset="ultrafast", crf=32, audio_bitrate=96_000)


@dataclass(frozen=True)
class CompiledEdit:
    """The command to run (``argv`` without the ffmpeg executable), the filter graph on its own (for
    job details and debugging), and what the output will be: seconds, pixels, frames per second.

    ``filter_graph`` is the whole graph as one string (valid for a single ``-filter_complex``); the
    command passes it as its ``video_graph`` and ``audio_graph`` halves (see :func:`compile_edit`).

    ``files`` are the files the command reads beside its inputs (path -> UTF-8 text: the ``sendcmd``
    scripts of caption clips, which can exceed the 128 KiB a single argument may have); the caller
    writes them with :meth:`write_files` before running ``argv``."""

    argv: list[str]
    filter_graph: str
    video_graph: str
    audio_graph: str
    duration_s: float
    width: int
    height: int
    fps: int
    files: dict[str, str] = field(default_factory=dict)

    def write_files(self) -> None:
        """Write :attr:`files` (next to the output)."""
        for path, text in self.files.items():
            Path(path).write_text(text, encoding="utf-8")


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _num(value: float) -> str:
    """A compact decimal for ffmpeg options (no exponent)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _color(hex_color: str) -> str:
    """``#rrggbb[aa]`` to ffmpeg's ``0xrrggbb@alpha``."""
    rgb = hex_color[1:7]
    alpha = int(hex_color[7:9], 16) / 255 if len(hex_color) == 9 else 1.0
    return f"0x{rgb}@{_num(alpha)}"


def escape_value(value: str) -> str:
    """Escape an option value for a filter graph: first for the filter's own option parser
    (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    level1 = "".join("\\" + ch if ch in "\\':" else ch for ch in value)
    return "".join("\\" + ch if ch in "\\'[],;" else ch for ch in level1)


def _filter(name: str, **options: str | float | int) -> str:
    if not options:
        return name
    parts = []
    for key, val in options.items():
        text = val if isinstance(val, str) else _num(float(val))
        parts.append(f"{key}={escape_value(text)}")
    return f"{name}=" + ":".join(parts)


#: Colour filters: name -> ffmpeg filter chain.
FILTER_CHAINS: dict[str, str] = {
    "greyscale": "hue=s=0",
    "blur": "gblur=sigma=6",
    "boost": "eq=contrast=1.25:saturation=1.4",
    "contrast": "eq=contrast=1.5",
    "darken": "eq=brightness=-0.15",
    "lighten": "eq=brightness=0.15",
    "muted": "eq=saturation=0.5:contrast=0.9",
    "negative": "negate",
    "sepia": "colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131",
}

#: Ken Burns effects: name -> (zoom expression, x expression, y expression) for zoompan, where
#: ``on`` is the output frame number and ``N`` the clip's frame count.
_CENTER_X = "(iw-iw/zoom)/2"
_CENTER_Y = "(ih-ih/zoom)/2"
EFFECT_EXPRS: dict[str, tuple[str, str, str]] = {
    "zoomIn": ("1+0.25*on/N", _CENTER_X, _CENTER_Y),
    "zoomOut": ("1.25-0.25*on/N", _CENTER_X, _CENTER_Y),
    "slideLeft": ("1.2", "(iw-iw/zoom)*on/N", _CENTER_Y),
    "slideRight": ("1.2", "(iw-iw/zoom)*(1-on/N)", _CENTER_Y),
    "slideUp": ("1.2", _CENTER_X, "(ih-ih/zoom)*on/N"),
    "slideDown": ("1.2", _CENTER_X, "(ih-ih/zoom)*(1-on/N)"),
}


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


def _atempo_chain(speed: float) -> list[str]:
    """atempo accepts 0.5..100 per instance: chain instances for slower speeds."""
    filters: list[str] = []
    remaining = speed
    while remaining < 0.5:
        filters.append("atempo=0.5")
        remaining /= 0.5
    if abs(remaining - 1.0) > 1e-9:
        filters.append(f"atempo={_num(remaining)}")
    return filters


class _Builder:
    def __init__(self, validated: ValidatedEdit, preview: bool, files_stem: Path | None = None) -> None:
        self.edit: Edit = validated.edit
        #: side files (sendcmd scripts) are ``{files_stem}.<label>.sendcmd``
        self.files_stem = files_stem or Path("edit")
        self.files: dict[str, str] = {}
        self.sources: dict[str, SourceInfo] = validated.sources
        out = self.edit.output
        nominal_w, nominal_h = out.size()
        if preview:
            self.width, self.height = _even(nominal_w * PREVIEW_SCALE), _even(nominal_h * PREVIEW_SCALE)
            self.fps = min(out.fps, PREVIEW_MAX_FPS)
        else:
            self.width, self.height, self.fps = nominal_w, nominal_h, out.fps
        #: render pixels per document pixel (text sizes, fit "none").
        self.ref = self.width / nominal_w
        self.duration = self.edit.duration()
        self.inputs: list[list[str]] = []
        self.chains: list[str] = []  # video graph
        self.achains: list[str] = []  # audio graph
        self.audio_labels: list[str] = []
        self._n = 0

    # -- plumbing ---------------------------------------------------------------------------
    def label(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    @staticmethod
    def trimmed_input(path: str, trim: float, read: float, drop: str) -> list[str]:
        """Input options reading ``read`` seconds from ``trim`` seconds on. Video and audio of one file
        are opened as two inputs (``drop`` = ``-an``/``-vn``): one demuxer feeding two far-apart parts
        of the graph can stall ffmpeg when one part waits (e.g. a clip that starts late)."""
        seek = ["-ss", _num(trim)] if trim else []
        return [*seek, "-t", _num(read), drop, "-i", path]

    def add_input(self, args: list[str]) -> int:
        self.inputs.append(args)
        return len(self.inputs) - 1

    def chain(self, sources: list[str], filters: list[str], out: str, audio: bool = False) -> None:
        ins = "".join(f"[{s}]" for s in sources)
        (self.achains if audio else self.chains).append(f"{ins}{','.join(filters)}[{out}]")

    # -- geometry ---------------------------------------------------------------------------
    def fit_size(self, clip: Clip, src_w: int, src_h: int, mult: int = 1) -> tuple[int, int, list[str]]:
        """Layer size (w, h) in render pixels and the filters that scale the source to ``mult`` times
        that size (``mult=2`` gives zoompan sub-pixel headroom)."""
        if clip.fit in ("crop", "cover"):
            w, h = _even(self.width * clip.scale), _even(self.height * clip.scale)
        else:
            if clip.fit == "contain":
                factor = min(self.width / src_w, self.height / src_h) * clip.scale
            else:  # none
                factor = self.ref * clip.scale
            w, h = _even(src_w * factor), _even(src_h * factor)
        sw, sh = w * mult, h * mult
        if clip.fit == "crop":
            return w, h, [f"scale={sw}:{sh}:force_original_aspect_ratio=increase", f"crop={sw}:{sh}", "setsar=1"]
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
            idx = self.add_input(self.trimmed_input(info.path, asset.trim, read, "-an"))
            src = f"{idx}:v"
            pre = [
                f"setpts=(PTS-STARTPTS)/{_num(clip.speed)}",
                f"fps={self.fps}",
                f"tpad=stop_mode=clone:stop_duration={_num(clip.length)}",
                f"trim=duration={_num(clip.length)}",
            ]
            assert info.width and info.height
            w, h, fit = self.fit_size(clip, info.width, info.height)
            body = [*pre, *fit]
        elif isinstance(asset, ImageAsset):
            info = self.sources[asset.src]
            idx = self.add_input(["-f", "image2", "-pattern_type", "none", "-framerate", str(self.fps),
                                  "-i", info.path])
            src = f"{idx}:v"
            assert info.width and info.height
            # zoompan needs headroom: scale to twice the size, zoompan back down
            w, h, fit = self.fit_size(clip, info.width, info.height, 2 if clip.effect else 1)
            # scale the still once, then repeat that frame for the clip's length
            body = ["format=rgba", *fit, f"tpad=stop_mode=clone:stop_duration={_num(clip.length)}",
                    f"trim=duration={_num(clip.length)}"]
        elif isinstance(asset, ColorAsset):
            w, h = self.fit_size(clip, self.width, self.height)[:2]
            label = self.label("col")
            self.chains.append(
                f"color=c={_color(asset.color)}:s={w}x{h}:r={self.fps}:d={_num(clip.length)}[{label}]"
            )
            src, body = label, []
        elif isinstance(asset, TextAsset):
            w, h = self.width, self.height
            label = self.label("canvas")
            # transparent pixels carry the text's colour so 4:2:0 chroma at glyph edges stays saturated
            clear = _color(asset.style.color[:7] + "00")
            self.chains.append(
                f"color=c={clear}:s={w}x{h}:r={self.fps}:d={_num(clip.length)},format=yuva420p[{label}]"
            )
            src, body = label, [self.drawtext(clip, asset, enable=None)]
        else:  # pragma: no cover - audio clips are not visual
            raise TypeError(f"not a visual asset: {asset.type}")

        if clip.filter:
            body.append(FILTER_CHAINS[clip.filter])
        if clip.effect and isinstance(asset, VideoAsset | ImageAsset):
            zoom, ex, ey = EFFECT_EXPRS[clip.effect]
            zoom, ex, ey = (e.replace("N", str(n_frames)) for e in (zoom, ex, ey))
            body.append(_filter("zoompan", z=zoom, x=ex, y=ey, d="1", s=f"{w}x{h}", fps=str(self.fps)))
            body.append(f"trim=duration={_num(clip.length)}")
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
            body.append(f"lut=a=val*{_num(clip.opacity)}")
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
            self.chain([layer.label], [f"fade=t={kind}:st={_num(st)}:d={_num(duration)}:alpha=1"], out)
        else:
            clear = self.label("clear")
            self.chains.append(f"color=c=black@0:s={layer.w}x{layer.h}:r={self.fps}:d={_num(duration)},"
                               f"format=yuva420p[{clear}]")
            if at_start:
                self.chain([clear, layer.label], [f"xfade=transition={name}:duration={_num(duration)}:offset=0"],
                           out)
            else:
                offset = layer.length - duration
                self.chain([layer.label, clear],
                           [f"xfade=transition={name}:duration={_num(duration)}:offset={_num(offset)}"], out)
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
                       [f"xfade=transition={name}:duration={_num(overlap)}:offset={_num(cur.start - seg.start)}"],
                       out)
            current = out
        end = max(c.end for c in clips)
        return _Layer(current, self.width, self.height, 0, 0, alpha, seg.start, end - seg.start)

    # -- text -------------------------------------------------------------------------------
    def drawtext(self, clip: Clip, asset: TextAsset, enable: tuple[float, float] | None) -> str:
        """A drawtext filter for a text clip; ``enable`` = (start, end) seconds when drawing straight
        onto the composite (then the fade transitions and opacity become an alpha expression)."""
        style = asset.style
        scale = self.ref * clip.scale
        pad = style.padding * scale if style.background else 0.0
        max_width = style.max_width * scale if style.max_width else self.width - 2 * pad
        block = layout_text(asset.text, style.font, max(1, round(style.size * scale)), max(1.0, max_width))
        pos = clip.position
        if pos in ("left", "topLeft", "bottomLeft"):
            x = f"{_num(pad)}"
        elif pos in ("right", "topRight", "bottomRight"):
            x = f"w-text_w-{_num(pad)}"
        else:
            x = "(w-text_w)/2"
        if pos in ("top", "topLeft", "topRight"):
            y = f"{_num(pad)}"
        elif pos in ("bottom", "bottomLeft", "bottomRight"):
            y = f"h-text_h-{_num(pad)}"
        else:
            y = "(h-text_h)/2"
        x = f"{x}+{_num(clip.offset.x * self.width)}"
        y = f"{y}-{_num(clip.offset.y * self.height)}"
        options: dict[str, str | float | int] = {
            "fontfile": str(block.font_file),
            "text": block.text,
            "expansion": "none",
            "fontsize": block.size_px,
            "fontcolor": _color(style.color),
            "line_spacing": round(style.line_spacing * scale),
            "text_align": {"left": "L", "center": "C", "right": "R"}[style.align],
            "x": x,
            "y": y,
        }
        if style.background:
            options.update(box="1", boxcolor=_color(style.background), boxborderw=max(0, round(pad)))
        if enable is not None:
            start, end = enable
            options["enable"] = f"between(t,{_num(start)},{_num(end)})"
            alpha = self.text_alpha(clip, start, end)
            if alpha != "1":
                options["alpha"] = alpha
        return _filter("drawtext", **options)

    def caption_filters(self, clip: Clip, asset: CaptionAsset) -> list[str]:
        """A caption clip as ONE drawtext (named ``drawtext@capN``, off at first) and a ``sendcmd`` that
        sets its text and turns it on at each cue's start and off at its end (timeline seconds, start
        inclusive, end exclusive). One instance, not one per cue: each drawtext maps the 16 MB CJK face
        and keeps its own glyph cache (100 cues as 100 instances: 2.4 GB of address space, 290 MB
        anonymous memory). See :mod:`vidlake.edit.captions_burn`."""
        style = asset.style
        scale = self.ref
        if asset.cues is not None:
            cues = inline_cues(asset)
        else:
            text = self.sources[caption_source_key(asset)].text
            assert text is not None
            cues = parse_cues(text)
        windows = clip_windows(cues, clip.start, clip.length, asset.trim)
        if not windows:
            return []
        size = max(1, round(style.size * scale))
        max_width = max(1.0, style.max_width * scale if style.max_width else self.width * 0.9)
        face = face_for(style.font, "".join(c.text for c in windows))  # one face for every cue
        blocks = [layout_text(c.text, face, size, max_width) for c in windows]
        label = self.label("cap")
        name = f"drawtext@{label}"
        margin = style.margin * scale
        options: dict[str, str | float | int] = {
            "fontfile": str(blocks[0].font_file), "text": blocks[0].text, "expansion": "none", "fontsize": size,
            "fontcolor": _color(style.color), "line_spacing": round(style.line_spacing * scale),
            "text_align": {"left": "L", "center": "C", "right": "R"}[style.align], "x": "(w-text_w)/2",
            "y": {"bottom": f"h-text_h-{_num(margin)}", "top": _num(margin), "center": "(h-text_h)/2"}[style.position],
            "enable": "0",
        }
        if style.outline:
            options.update(borderw=max(1, round(style.outline * scale)), bordercolor=_color(style.outline_color))
        if style.background:
            options.update(box="1", boxcolor=_color(style.background), boxborderw=round(style.padding * scale))
        if clip.opacity < 1:
            options["alpha"] = _num(clip.opacity)
        script = f"{self.files_stem}.{label}.sendcmd"
        self.files[script] = sendcmd_commands(name, [(_num(c.start), _num(c.end), b.text)
                                                     for c, b in zip(windows, blocks, strict=True)])
        return [_filter("sendcmd", f=script), _filter(name, **options)]

    @staticmethod
    def text_alpha(clip: Clip, start: float, end: float) -> str:
        terms: list[str] = []
        tr = clip.transition
        if tr and tr.in_ == "fade":
            terms.append(f"min(1,max(0,(t-{_num(start)})/{_num(tr.duration)}))")
        if tr and tr.out == "fade":
            terms.append(f"min(1,max(0,({_num(end)}-t)/{_num(tr.duration)}))")
        if clip.opacity < 1:
            terms.append(_num(clip.opacity))
        return "*".join(terms) if terms else "1"

    @staticmethod
    def is_direct_text(clip: Clip) -> bool:
        """Text that needs no stream of its own: drawn straight onto the composite."""
        tr = clip.transition
        return isinstance(clip.asset, TextAsset | CaptionAsset) and (
            tr is None or (tr.in_ in (None, "fade") and tr.out in (None, "fade")))

    # -- audio ------------------------------------------------------------------------------
    def clip_audio(self, clip: Clip, fade_in: float, fade_out: float) -> None:
        asset = clip.asset
        assert isinstance(asset, VideoAsset | AudioAsset)
        info = self.sources[asset.src]
        read = clip.length * clip.speed + READ_MARGIN_S
        input_index = self.add_input(self.trimmed_input(info.path, asset.trim, read, "-vn"))
        if isinstance(asset, AudioAsset):
            fade_in, fade_out = max(fade_in, asset.fade_in), max(fade_out, asset.fade_out)
        filters = ["asetpts=PTS-STARTPTS", *_atempo_chain(clip.speed), f"aresample={AUDIO_RATE}",
                   "aformat=sample_fmts=fltp:channel_layouts=stereo",
                   f"atrim=duration={_num(clip.length)}", f"apad=whole_dur={_num(clip.length)}",
                   f"volume={_num(asset.volume)}"]
        if fade_in > 0:
            filters.append(f"afade=t=in:st=0:d={_num(fade_in)}")
        if fade_out > 0:
            filters.append(f"afade=t=out:st={_num(clip.length - fade_out)}:d={_num(fade_out)}")
        delay_ms = round(clip.start * 1000)
        if delay_ms:
            filters.append(f"adelay=delays={delay_ms}:all=1")
        label = self.label("a")
        self.chain([f"{input_index}:a"], filters, label, audio=True)
        self.audio_labels.append(label)

    def soundtrack(self) -> None:
        sound = self.edit.timeline.soundtrack
        if sound is None:
            return
        info = self.sources[sound.src]
        args = ["-ss", _num(sound.trim)] if sound.trim else []
        idx = self.add_input([*args, "-t", _num(self.duration + READ_MARGIN_S), "-i", info.path])
        available = self.duration if info.duration_s is None else min(self.duration, info.duration_s - sound.trim)
        filters = ["asetpts=PTS-STARTPTS", f"aresample={AUDIO_RATE}",
                   "aformat=sample_fmts=fltp:channel_layouts=stereo", f"volume={_num(sound.volume)}"]
        if sound.fade_in > 0:
            filters.append(f"afade=t=in:st=0:d={_num(sound.fade_in)}")
        if sound.fade_out > 0:
            filters.append(f"afade=t=out:st={_num(max(0.0, available - sound.fade_out))}:d={_num(sound.fade_out)}")
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
            if segs and not self.is_direct_text(clip) and not self.is_direct_text(segs[-1].clips[-1][1]) \
                    and segs[-1].clips[-1][1].end > clip.start + 1e-6:
                segs[-1].clips.append((i, clip))
            else:
                segs.append(_Segment([(i, clip)]))
        return segs

    def build(self) -> tuple[str, str]:
        """Return the video graph and the audio graph."""
        d = _num(self.duration)
        current = "base"
        self.chains.append(f"color=c={_color(self.edit.timeline.background)}:s={self.width}x{self.height}"
                           f":r={self.fps}:d={d},format=yuv420p[{current}]")
        audio_jobs: list[tuple[Clip, float, float]] = []
        for track in reversed(self.edit.timeline.tracks):
            for seg in self.segments(track.clips):
                first = seg.clips[0][1]
                if len(seg.clips) == 1 and self.is_direct_text(first):
                    if isinstance(first.asset, CaptionAsset):
                        filters = self.caption_filters(first, first.asset)
                    else:
                        assert isinstance(first.asset, TextAsset)
                        filters = [self.drawtext(first, first.asset, (first.start, first.end))]
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
                self.chain([layer.label], [f"setpts=PTS+{_num(layer.start)}/TB"], moved)
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
    """Compile a validated edit into one ffmpeg argv (without the executable) writing ``out_path``.

    ``preview=True``: a fast draft at 1/3 of the output size, at most 15 frames per second, x264
    ``ultrafast``. ``encoding`` overrides the encoder settings.
    """
    builder = _Builder(validated, preview, Path(out_path).with_suffix(""))
    video_graph, audio_graph = builder.build()
    enc = encoding or (PREVIEW_ENCODING if preview else Encoding())
    argv: list[str] = ["-hide_banner", "-nostdin", "-y", "-v", "error"]
    if enc.threads:
        argv += ["-threads", str(enc.threads), "-filter_complex_threads", str(enc.threads)]
    for args in builder.inputs:
        argv += ["-protocol_whitelist", "file", *args]
    argv += [
        # two graphs in one process: ffmpeg 9 sometimes stalls when delayed audio (adelay) shares one
        # filter graph with the video; each -filter_complex runs in its own thread.
        "-filter_complex", video_graph, "-filter_complex", audio_graph,
        "-map", "[vout]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf), "-pix_fmt", "yuv420p",
        "-r", str(builder.fps),
        "-c:a", "aac", "-b:a", str(enc.audio_bitrate), "-ar", str(AUDIO_RATE), "-ac", "2",
        "-t", _num(builder.duration),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    ]
    return CompiledEdit(argv=argv, filter_graph=f"{video_graph};\n{audio_graph}", video_graph=video_graph,
                        audio_graph=audio_graph, duration_s=builder.duration, width=builder.width,
                        height=builder.height, fps=builder.fps, files=builder.files)


__all__ = ["PREVIEW_ENCODING", "CompiledEdit", "Encoding", "compile_edit", "escape_value"]
