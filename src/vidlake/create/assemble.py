"""From scored candidates and the music's beat grid to an ordinary edit document.

**Cuts.** With music, every cut lands on a beat of the music (the music starts with the video, so a beat
at ``t`` seconds of the music is a cut at ``t`` on the timeline): ``energetic`` cuts every two beats (every
beat when the music is slower than 100 BPM), ``product`` every bar, ``calm`` and ``vlog`` every two bars
(bars start at the grid's downbeats). Without music, cuts fall on a fixed grid (:data:`PLAIN_SHOT_S`).
The last shot runs to ``duration`` exactly.

**Shots.** Each slot takes the best-scored candidate long enough for it, one use per candidate, with a
penalty for the input used by the slot before (variety across inputs) and a large one for the same shot
(no cut would show); the window starts where the candidate starts, and what is left of a long shot stays a
candidate for later slots. A window with faces keeps them in frame when the aspect changes (``crop_focus`` on the
largest face's median centre). In ``vlog`` (``speech`` given) a window neither starts nor ends inside a
sentence when the shot has a pause that allows it (:func:`clean_start`); a shot without one is scored
:data:`SENTENCE_PENALTY` lower, and a slot that still cuts a sentence says so (``cuts_sentence``).

**Style.** ``calm`` and ``vlog`` cross-fade (:data:`DISSOLVE_S`, centred on the beat); ``energetic`` and
``product`` cut hard. A title (when given) is drawn over the first shot and fades out by the first cut; the
music fades out over the last :data:`MUSIC_FADE_S` seconds; the inputs' own sound is kept only in ``vlog``
(speech), where the music is ducked under it (:data:`DUCKED_VOLUME` of its volume): the music is then laid
as consecutive audio clips, loud between sentences and ducked under them, cross-faded where they meet.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vidlake.create.scoring import Candidate

PLAIN_SHOT_S = {"energetic": 1.5, "calm": 4.0, "vlog": 4.0, "product": 3.0}
DISSOLVE_S = 0.4
MUSIC_FADE_S = 1.5
DUCKED_VOLUME = 0.3
#: How long the music's stretches overlap where its volume changes (seconds, one fading into the next).
DUCK_CROSSFADE_S = 0.3
#: A slot shorter than this (seconds) merges into the one before.
MIN_SLOT_S = 0.6
#: Score penalty for taking the same input as the slot before.
SAME_INPUT_PENALTY = 0.1
#: Score penalty for another part of a shot already used, and the shortest such part kept (seconds).
REUSE_PENALTY = 0.15
MIN_REST_S = 0.8
#: Score penalty (vlog) for a shot whose every window would cut a sentence; how close to a sentence a
#: cut may fall (seconds: word times are approximate); the step of the window search (seconds).
SENTENCE_PENALTY = 0.3
SENTENCE_MARGIN_S = 0.15
WINDOW_STEP_S = 0.1


class NotEnoughFootage(ValueError):
    """No candidate is left for a slot: the reason says how much usable footage there was."""


@dataclass
class Slot:
    """One shot on the timeline: ``start``/``length`` seconds of the timeline, ``source_start`` seconds in
    the candidate's asset."""

    start: float
    length: float
    candidate: Candidate | None = None
    source_start: float = 0.0
    focus: tuple[float, float] | None = None
    cuts_sentence: bool | None = None  #: vlog: the window starts or ends inside a sentence

    def public(self) -> dict[str, Any]:
        c = self.candidate
        assert c is not None
        out = {"start": round(self.start, 3), "length": round(self.length, 3), "input": c.input_index,
               "asset_id": c.asset_id, "scene": c.scene, "source_start": round(self.source_start, 3),
               "score": round(c.score, 3), "reasons": c.reasons}
        if self.focus is not None:
            out["crop_focus"] = {"x": round(self.focus[0], 3), "y": round(self.focus[1], 3)}
        if self.cuts_sentence is not None:
            out["cuts_sentence"] = self.cuts_sentence
        return out


def cut_times(duration: float, style: str, beats: dict[str, Any] | None) -> list[float]:
    """Cut times in seconds (ascending, inside ``(0, duration)``)."""
    if beats and beats.get("beats"):
        tempo = float(beats.get("tempo_bpm") or 120.0)
        grid = [float(b) for b in beats["beats"]]
        downbeats = [float(b) for b in beats.get("downbeats") or []]
        if style == "energetic":
            times = grid[::1 if tempo < 100 else 2]
        elif style == "product":
            times = downbeats or grid[::4]
        else:
            times = (downbeats or grid[::4])[::2]
    else:
        step = PLAIN_SHOT_S[style]
        times = [step * i for i in range(1, int(duration / step) + 1)]
    cuts: list[float] = []
    for t in times:
        if t < MIN_SLOT_S or t > duration - MIN_SLOT_S:
            continue
        if cuts and t - cuts[-1] < MIN_SLOT_S:
            continue
        cuts.append(t)
    return cuts


def slots_for(duration: float, cuts: list[float]) -> list[Slot]:
    """The shots between consecutive cuts (the first from 0, the last to ``duration``)."""
    edges = [0.0, *cuts, duration]
    return [Slot(a, b - a) for a, b in itertools.pairwise(edges)]


def clean_start(c: Candidate, need: float, spoken: list[tuple[float, float]]) -> float | None:
    """The earliest start (seconds of the asset) of a ``need``-second window inside ``c`` that neither starts
    nor ends inside a sentence of ``spoken`` (sentence intervals, seconds of the asset), or ``None``."""
    def inside(t: float) -> bool:
        return any(a - SENTENCE_MARGIN_S < t < b + SENTENCE_MARGIN_S for a, b in spoken)

    steps = int((c.length - need) / WINDOW_STEP_S + 1e-6)
    for k in range(max(0, steps) + 1):
        t = c.start + k * WINDOW_STEP_S
        if t + need <= c.end + 1e-6 and not inside(t) and not inside(t + need):
            return t
    return None


def fill(slots: list[Slot], cands: list[Candidate], faces: dict[int, dict[str, Any]], overlap: float,
         speech: dict[int, list[tuple[float, float]]] | None = None) -> None:
    """Give every slot a candidate and a window (each slot's source needs ``overlap`` seconds more, the
    dissolve into the next). ``faces``: the faces result of each input index; ``speech`` (vlog): the
    sentences of each input index, which windows should not cut. A long shot can serve several slots: what
    is left of it after a window stays a candidate, scored :data:`REUSE_PENALTY` lower, never for the very
    next slot."""
    free = sorted((c for c in cands if c.dropped is None), key=lambda c: -c.score)
    usable = sum(c.length for c in free)
    previous: Candidate | None = None
    for i, slot in enumerate(slots):
        need = slot.length + (overlap if i < len(slots) - 1 else 0.0)
        fits = [c for c in free if c.length >= need]
        if not fits:
            raise NotEnoughFootage(
                f"not enough usable footage: shot {i + 1} of {len(slots)} needs {need:.1f} s and no shot left is "
                f"that long ({usable:.1f} s usable in all; dropped shots are listed with why in "
                "plan.candidates): add inputs or ask for a shorter video")

        starts = {id(c): clean_start(c, need, speech.get(c.input_index, [])) for c in fits} if speech else {}
        best = max(fits, key=lambda c: _value(c, previous) - (
            SENTENCE_PENALTY if speech and starts[id(c)] is None else 0.0))
        free.remove(best)
        slot.candidate = best
        slot.source_start = best.start
        if speech:
            clean = starts[id(best)]
            slot.cuts_sentence = clean is None
            slot.source_start = best.start if clean is None else clean
        slot.focus = face_focus(faces.get(best.input_index), slot.source_start, slot.source_start + need)
        a, b = slot.source_start + need, best.end
        if b - a >= MIN_REST_S:
            free.append(replace(best, start=a, end=b, score=best.score - REUSE_PENALTY,
                                reasons=[*best.reasons, "another part of a shot used before"]))
        previous = best


def _value(c: Candidate, previous: Candidate | None) -> float:
    """A candidate's score for the slot after ``previous``'s: lower for the same input, far lower for the
    same shot (no cut would show)."""
    if previous is None:
        return c.score
    same_input = c.input_index == previous.input_index
    return c.score - (SAME_INPUT_PENALTY if same_input else 0.0) - (1.0 if same_input and c.scene == previous.scene
                                                                    else 0.0)


def face_focus(faces: dict[str, Any] | None, start: float, end: float) -> tuple[float, float] | None:
    """The median centre (fractions of the frame) of the largest face of each sample in ``[start, end)``;
    None without faces."""
    centres = []
    for f in (faces or {}).get("frames", []):
        if start <= float(f["time"]) < end and f["faces"]:
            box = max((d["box"] for d in f["faces"]), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            centres.append(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    if not centres:
        return None
    arr = np.asarray(centres)
    return float(np.median(arr[:, 0])), float(np.median(arr[:, 1]))


def document(slots: list[Slot], request: dict[str, Any], speech: dict[int, list[tuple[float, float]]],
             caption_tracks: dict[int, str]) -> dict[str, Any]:
    """The edit document: title, captions and shots; music as the soundtrack (ducked under speech in
    ``vlog``). ``speech``: speech intervals per input index (seconds of the asset); ``caption_tracks``: the
    ready text track id per input index for burned captions."""
    style, duration = request["style"], float(request["duration"])
    dissolve = DISSOLVE_S if style in ("calm", "vlog") else 0.0
    keep_sound = style == "vlog"
    shots = []
    for i, slot in enumerate(slots):
        c = slot.candidate
        assert c is not None
        lead = dissolve / 2 if i > 0 else 0.0
        tail = dissolve / 2 if i < len(slots) - 1 else 0.0
        clip: dict[str, Any] = {
            "asset": {"type": "video", "src": f"asset:{c.asset_id}", "trim": round(slot.source_start, 3),
                      "volume": 1.0 if keep_sound else 0.0},
            "start": round(slot.start - lead, 3), "length": round(slot.length + lead + tail, 3), "fit": "crop"}
        if slot.focus is not None:
            clip["crop_focus"] = {"x": round(slot.focus[0], 3), "y": round(slot.focus[1], 3)}
        if lead:
            clip["transition"] = {"in": "fade"}
        shots.append(clip)
    tracks: list[dict[str, Any]] = []
    if request.get("title"):
        first_cut = slots[0].length if len(slots) > 1 else min(3.0, duration)
        tracks.append({"clips": [{"asset": {"type": "text", "text": request["title"],
                                            "style": {"size": 72, "background": "#00000080", "padding": 24}},
                                  "start": 0, "length": round(max(1.0, min(first_cut, 4.0)), 3),
                                  "transition": {"in": "fade", "out": "fade", "duration": 0.3}}]})
    captions = _caption_clips(slots, caption_tracks, request.get("captions"))
    if captions:
        tracks.append({"clips": captions})
    tracks.append({"clips": shots})
    timeline: dict[str, Any] = {"background": "#000000", "tracks": tracks}
    music = request.get("music")
    if music:
        volume = float(music.get("volume", 0.8))
        ducks = _ducks(slots, speech, duration) if keep_sound else None
        if ducks:  # the music in stretches, ducked under speech
            tracks.append({"clips": ducks(music["src"], volume)})
        else:
            timeline["soundtrack"] = {"src": music["src"], "volume": volume, "fade_out": MUSIC_FADE_S}
    return {"timeline": timeline,
            "output": {"resolution": request.get("resolution", "720p"), "aspect_ratio": request["aspect_ratio"],
                       "fps": 30}}


def _caption_clips(slots: list[Slot], tracks: dict[int, str], language: str | None) -> list[dict[str, Any]]:
    out = []
    for slot in slots:
        c = slot.candidate
        if language is None or c is None or c.input_index not in tracks:
            continue
        out.append({"asset": {"type": "caption", "src": f"asset:{c.asset_id}", "track_id": tracks[c.input_index],
                              "trim": round(slot.source_start, 3), "style": {"size": 44, "background": "#00000080"}},
                    "start": round(slot.start, 3), "length": round(slot.length, 3)})
    return out


def _ducks(slots: list[Slot], speech: dict[int, list[tuple[float, float]]], duration: float) -> Any:
    """The music as consecutive stretches of the timeline, loud between sentences (gaps of at least a
    second) and ducked under speech, as a maker of audio clips; ``None`` without speech.

    The stretches do not overlap but by :data:`DUCK_CROSSFADE_S`, where one fades out as the next fades in:
    the music is never layered on itself (two copies a few milliseconds apart would comb-filter it)."""
    spoken: list[tuple[float, float]] = []
    for slot in slots:
        c = slot.candidate
        assert c is not None
        for s0, s1 in speech.get(c.input_index, []):
            a = max(slot.start, slot.start + s0 - slot.source_start)
            b = min(slot.start + slot.length, slot.start + s1 - slot.source_start)
            if b > a:
                spoken.append((a, b))
    if not spoken:
        return None
    spoken.sort()
    loud, t = [], 0.0
    for a, b in spoken:
        if a - t >= 1.0:
            loud.append((t, a))
        t = max(t, b)
    if duration - t >= 1.0:
        loud.append((t, duration))
    edges = sorted({0.0, duration, *(x for span in loud for x in span)})
    stretches = [(a, b, any(la <= a and b <= lb for la, lb in loud)) for a, b in itertools.pairwise(edges)]

    def make(src: str, volume: float) -> list[dict[str, Any]]:
        out = []
        half = DUCK_CROSSFADE_S / 2
        for i, (a, b, is_loud) in enumerate(stretches):
            a0 = max(0.0, a - half) if i > 0 else 0.0
            b0 = min(duration, b + half) if i < len(stretches) - 1 else duration
            asset: dict[str, Any] = {"type": "audio", "src": src, "trim": round(a0, 3),
                                     "volume": round(volume * (1.0 if is_loud else DUCKED_VOLUME), 3)}
            if i > 0:
                asset["fade_in"] = DUCK_CROSSFADE_S
            asset["fade_out"] = DUCK_CROSSFADE_S if i < len(stretches) - 1 else min(MUSIC_FADE_S, b0 - a0)
            out.append({"asset": asset, "start": round(a0, 3), "length": round(b0 - a0, 3)})
        return out

    return make
