"""Generate Vidlake's shot-boundary evaluation corpus with ffmpeg, and its ground-truth table.

Every video is an *edit*: shots (a photo from scikit-image with a slow drift, a fast pan or a Ken
Burns zoom, or an animated lavfi source) joined by hard cuts, fades through black (``xfade`` with
``fadeblack``) or dissolves (``xfade`` with ``fade``); some shots carry flashes (one or two nearly
white frames). The edit list below is the single source of truth: :func:`truth_rows` derives the
table ``truth.csv`` (committed next to this file) from it, and :func:`render` produces the media.

``truth.csv`` columns: ``video`` (name without extension), ``type`` (``cut``/``fade``/``dissolve``
are shot boundaries; ``flash``/``pan``/``zoom`` are zones where no boundary may be reported),
``start_s``/``end_s`` in seconds (for a cut both are the time of the first frame of the new shot).

Usage::

    python bench/corpus/generate.py --out bench/out/corpus [--size 640x360] [--only NAME ...]
    python bench/corpus/generate.py --write-truth        # rewrite truth.csv from the edit list

Media is never committed: it is rendered into a cache folder (``bench/out/`` is git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

FPS = 25
HERE = Path(__file__).resolve().parent
TRUTH_CSV = HERE / "truth.csv"
ZONE_MARGIN = 0.2  # seconds trimmed from each end of a pan/zoom zone (near its boundaries)

#: scikit-image photos that ship inside the wheel (no download needed).
PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
    "retina", "colorwheel", "camera", "coins", "moon", "brick", "grass", "gravel",
)


@dataclass(frozen=True)
class Shot:
    """One shot: ``source`` is ``photo:NAME`` or ``lavfi:FILTER`` (a lavfi source without size/rate);
    ``duration`` in seconds (a multiple of 1/25); ``motion`` for photos: ``drift`` (slow pan),
    ``pan`` (fast pan), ``zoom`` (Ken Burns); ``flashes``: (time in the shot in s, length in frames)."""

    source: str
    duration: float
    motion: str = "drift"
    flashes: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True)
class Join:
    """How a shot starts: ``cut``, ``fade`` (through black) or ``dissolve``; ``duration`` in seconds."""

    kind: str = "cut"
    duration: float = 0.0


@dataclass(frozen=True)
class Edit:
    """A video: the first shot, then (join, shot) pairs. ``small`` edits make the test corpus."""

    name: str
    first: Shot
    rest: tuple[tuple[Join, Shot], ...]
    small: bool = False
    notes: str = field(default="", compare=False)


CUT = Join("cut")


def fade(d: float) -> Join:
    return Join("fade", d)


def dissolve(d: float) -> Join:
    return Join("dissolve", d)


def P(name: str, d: float, motion: str = "drift", flashes: tuple[tuple[float, int], ...] = ()) -> Shot:
    return Shot(f"photo:{name}", d, motion, flashes)


def L(src: str, d: float, flashes: tuple[tuple[float, int], ...] = ()) -> Shot:
    return Shot(f"lavfi:{src}", d, "lavfi", flashes)


EDITS: tuple[Edit, ...] = (
    Edit("cuts", P("astronaut", 2.0), (
        (CUT, P("coffee", 1.6)), (CUT, L("testsrc2", 2.0)), (CUT, P("rocket", 1.2)),
        (CUT, P("chelsea", 2.4)), (CUT, P("camera", 1.0)), (CUT, P("coins", 1.8)),
        (CUT, L("mandelbrot", 1.4)), (CUT, P("hubble_deep_field", 2.0))), small=True),
    Edit("fades", P("coffee", 2.0), (
        (fade(0.4), P("retina", 2.0)), (fade(0.8), L("testsrc2", 3.0)),
        (fade(1.2), P("astronaut", 4.0)), (fade(2.0), P("immunohistochemistry", 3.2))), small=True),
    Edit("dissolves", P("rocket", 2.0), (
        (dissolve(0.4), P("chelsea", 2.0)), (dissolve(0.8), P("hubble_deep_field", 3.0)),
        (dissolve(1.2), P("coffee", 4.0)), (dissolve(2.0), P("astronaut", 3.2))), small=True),
    Edit("flashes", P("chelsea", 3.0, flashes=((1.0, 1), (2.0, 2))), (
        (CUT, P("astronaut", 3.0, flashes=((1.2, 1),))),
        (CUT, L("testsrc2", 3.0, flashes=((1.0, 1), (1.8, 3)))),
        (CUT, P("coffee", 2.0, flashes=((0.6, 2),)))), small=True),
    Edit("pans", P("hubble_deep_field", 2.4, "pan"), (
        (CUT, P("astronaut", 2.0, "pan")), (CUT, P("coffee", 2.4, "zoom")),
        (dissolve(0.8), P("retina", 2.4, "pan")), (CUT, P("rocket", 2.8, "zoom"))), small=True),
    Edit("motion", L("testsrc2", 2.0), (
        (CUT, L("mandelbrot", 2.0)), (CUT, L("life=mold=10:ratio=0.1:seed=7:life_color=#40e040", 2.0)),
        (CUT, L("gradients=seed=3:speed=0.05", 2.0)), (dissolve(1.0), L("cellauto=rule=110:seed=5", 2.0)),
        (CUT, L("smptehdbars", 1.6)), (fade(0.8), L("testsrc2", 2.0)))),
    Edit("textures", P("brick", 2.0), (
        (CUT, P("grass", 2.0)), (CUT, P("gravel", 2.0)), (dissolve(1.0), P("moon", 2.0)),
        (CUT, P("camera", 2.0)), (fade(1.0), P("coins", 2.0)))),
    Edit("mixed", P("astronaut", 3.0), (
        (CUT, P("hubble_deep_field", 2.0, "pan")), (dissolve(0.6), P("coffee", 2.4, flashes=((1.0, 1),))),
        (CUT, L("testsrc2", 2.0)), (fade(1.0), P("rocket", 3.0, "zoom")),
        (CUT, P("chelsea", 2.6)), (dissolve(1.6), P("immunohistochemistry", 2.4)),
        (CUT, P("retina", 1.2)), (CUT, L("mandelbrot", 2.0)), (fade(0.6), P("colorwheel", 2.0)),
        (dissolve(0.4), P("astronaut", 2.0, "pan")), (CUT, P("coins", 2.0, flashes=((0.8, 2),))))),
)


def shot_starts(edit: Edit) -> list[tuple[float, Shot, Join | None]]:
    """Output start time (s) of every shot with the join that opens it."""
    out: list[tuple[float, Shot, Join | None]] = [(0.0, edit.first, None)]
    end = edit.first.duration
    for join, shot in edit.rest:
        start = end - join.duration
        out.append((start, shot, join))
        end = start + shot.duration
    return out


def truth_rows(edits: Sequence[Edit] = EDITS) -> list[dict[str, str]]:
    """The ground-truth table rows (see the module docstring), times rounded to 1 ms."""
    rows: list[dict[str, str]] = []

    def add(video: str, kind: str, start: float, end: float) -> None:
        rows.append({"video": video, "type": kind, "start_s": f"{start:.3f}", "end_s": f"{end:.3f}"})

    for edit in edits:
        starts = shot_starts(edit)
        for i, (start, shot, join) in enumerate(starts):
            if join is not None:
                add(edit.name, join.kind, start, start + join.duration)
            for t, n in shot.flashes:
                add(edit.name, "flash", start + t, start + t + n / FPS)
            lead = join.duration if join else 0.0
            nxt = starts[i + 1][2] if i + 1 < len(starts) else None
            tail = nxt.duration if nxt else 0.0
            if shot.duration - lead - tail < 0.8 - 1e-6:
                raise ValueError(f"{edit.name}: shot {i} has under 0.8 s outside its transitions")
            if shot.motion in ("pan", "zoom"):
                add(edit.name, shot.motion, start + lead + ZONE_MARGIN,
                    start + shot.duration - tail - ZONE_MARGIN)
    return rows


def write_truth(path: Path = TRUTH_CSV) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["video", "type", "start_s", "end_s"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(truth_rows())


def read_truth(path: Path = TRUTH_CSV) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _export_photos(folder: Path) -> None:
    import numpy as np
    import skimage.data
    from skimage.io import imsave

    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        target = folder / f"{name}.png"
        if target.exists():
            continue
        img = np.asarray(getattr(skimage.data, name)())
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        imsave(target, img[:, :, :3], check_contrast=False)


def _shot_input(shot: Shot, photos: Path, w: int, h: int) -> tuple[list[str], str]:
    """ffmpeg input arguments and the filter chain (without labels) for one shot."""
    d = shot.duration
    kind, _, name = shot.source.partition(":")
    if kind == "lavfi":
        src, _, opts = name.partition("=")
        spec = f"{src}=s={w}x{h}:r={FPS}" + (f":{opts}" if opts else "")
        return ["-f", "lavfi", "-t", f"{d}", "-i", spec], "null"
    args = ["-loop", "1", "-framerate", str(FPS), "-t", f"{d}", "-i", str(photos / f"{name}.png")]
    if shot.motion == "pan":
        sw, sh = 3 * w, 2 * h
        chain = (f"scale={sw}:{sh}:force_original_aspect_ratio=increase,crop={sw}:{sh},"
                 f"crop={w}:{h}:x='(iw-ow)*t/{d}':y='(ih-oh)*(0.5+0.45*sin(2.5*t))'")
    elif shot.motion == "zoom":
        n = round(d * FPS)
        chain = (f"scale={2 * w}:{2 * h}:force_original_aspect_ratio=increase,crop={2 * w}:{2 * h},"
                 f"zoompan=z='1+0.6*on/{n}':x='iw/2-iw/zoom/2+on':y='ih/2-ih/zoom/2':d=1:s={w}x{h}:fps={FPS}")
    else:
        sw, sh = round(1.2 * w) // 2 * 2, round(1.2 * h) // 2 * 2
        chain = (f"scale={sw}:{sh}:force_original_aspect_ratio=increase,crop={sw}:{sh},"
                 f"crop={w}:{h}:x='(iw-ow)*t/{d}':y='(ih-oh)/2'")
    return args, chain


def build_command(edit: Edit, out: Path, photos: Path, w: int, h: int, ffmpeg: str) -> list[str]:
    """The ffmpeg command line that renders ``edit`` into ``out`` (H.264, yuv420p, 25 fps)."""
    args: list[str] = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    graph: list[str] = []
    shots = shot_starts(edit)
    for i, (_, shot, _) in enumerate(shots):
        inp, chain = _shot_input(shot, photos, w, h)
        args += inp
        flashes = "".join(
            f",drawbox=x=0:y=0:w=iw:h=ih:color=white@0.85:t=fill:enable='between(n,{round(t * FPS)},"
            f"{round(t * FPS) + k - 1})'"
            for t, k in shot.flashes
        )
        n = round(shot.duration * FPS)
        graph.append(f"[{i}:v]{chain},fps={FPS},scale={w}:{h},setsar=1,format=yuv420p,trim=end_frame={n},"
                     f"settb=1/{FPS},setpts=N{flashes}[s{i}]")
    current = "s0"
    length = shots[0][1].duration
    for i, (start, shot, join) in enumerate(shots[1:], start=1):
        assert join is not None
        label = f"j{i}"
        if join.kind == "cut":
            graph.append(f"[{current}][s{i}]concat=n=2:v=1:a=0,settb=1/{FPS},setpts=N[{label}]")
        else:
            transition = "fadeblack" if join.kind == "fade" else "fade"
            graph.append(f"[{current}][s{i}]xfade=transition={transition}:duration={join.duration}:"
                         f"offset={start:.3f},settb=1/{FPS},setpts=N[{label}]")
        current = label
        length = start + shot.duration
    args += ["-filter_complex", ";".join(graph), "-map", f"[{current}]", "-frames:v", str(round(length * FPS)),
             "-c:v", "libx264", "-preset", "fast", "-crf", "23", "-threads", "2", "-pix_fmt", "yuv420p",
             "-movflags", "+faststart", str(out)]
    return args


def render(out_dir: Path, *, size: tuple[int, int] = (640, 360), only: Sequence[str] = (),
           small: bool = False, ffmpeg: str | None = None) -> dict[str, Path]:
    """Render the corpus into ``out_dir`` (files are reused when present); return ``{name: path}``.

    ``size`` is (width, height) in pixels; ``only`` restricts to named edits; ``small`` to the test set.
    """
    if ffmpeg is None:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    w, h = size
    out_dir.mkdir(parents=True, exist_ok=True)
    photos = out_dir / "photos"
    _export_photos(photos)
    made: dict[str, Path] = {}
    for edit in EDITS:
        if (only and edit.name not in only) or (small and not edit.small):
            continue
        target = out_dir / f"{edit.name}_{w}x{h}.mp4"
        if not target.exists():
            tmp = target.with_suffix(".part.mp4")
            subprocess.run(build_command(edit, tmp, photos, w, h, ffmpeg), check=True)
            tmp.replace(target)
        made[edit.name] = target
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "out" / "corpus")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT in pixels")
    parser.add_argument("--only", nargs="*", default=())
    parser.add_argument("--small", action="store_true", help="only the edits of the test corpus")
    parser.add_argument("--write-truth", action="store_true", help="rewrite truth.csv and exit")
    ns = parser.parse_args(argv)
    if ns.write_truth:
        write_truth()
        print(f"wrote {TRUTH_CSV}")
        return 0
    w, h = (int(v) for v in ns.size.split("x"))
    for name, path in render(ns.out, size=(w, h), only=ns.only, small=ns.small).items():
        print(name, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
