"""Live highlights (直播切片): the liveliest stretches of one recording, each a clip of 15-60 s.

The recording is cut into :data:`BIN_S` bins, each scored by how loud it is against the recording's own
level (the ``beats`` analysis' loudness curve), how fast people speak (caption words per second) and how
often the picture changes (scene cuts), plus a bonus (:data:`KEYWORD_BONUS`) around **keywords**: the
request's own (product names) and the phrases of a sale (上链接, 秒杀, 限时, 优惠, 包邮, link, sale, discount...) and
prices (99元, ¥199, $20). A clip starts where a sentence or a scene starts and ends where one ends, as near
the wanted length (``clip_duration``, default :data:`DEFAULT_CLIP_S`) as the boundaries allow; black and
frozen runs are left out. The best clips that do not overlap are kept, in time order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidlake.create.signals import AssetSignals

BIN_S = 0.5
DEFAULT_CLIP_S = 30.0
MIN_CLIP_S, MAX_CLIP_S = 15.0, 60.0
#: Seconds around a keyword that share its bonus.
KEYWORD_SPREAD_S = 6.0
#: Score added per keyword to the bins around it (the loudness and speech terms are z-scores, about -2..2):
#: a sale phrase outweighs a merely loud or talkative stretch.
KEYWORD_BONUS = 3.0
SALE_PHRASES = ("上链接", "链接", "秒杀", "限时", "优惠", "包邮", "福利", "抢购", "下单", "折扣", "库存",
                "link", "sale", "discount", "order now", "limited", "deal")
PRICE = re.compile(r"\d+(?:\.\d+)?\s*(?:元|块钱|块)|[¥￥$]\s*\d+")


@dataclass
class Highlight:
    """One clip: ``start``/``end`` seconds of the recording, its score and why."""

    start: float
    end: float
    score: float
    reasons: list[str] = field(default_factory=list)
    text: str = ""

    def public(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "length": round(self.end - self.start, 3),
                "score": round(self.score, 3), "reasons": self.reasons, "text": self.text[:200]}


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - float(values.mean())) / spread if spread > 1e-9 else np.zeros_like(values)


def _sentences(words: list[dict[str, Any]], gap: float = 0.6) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    for w in words:
        s, e, t = float(w["start"]), float(w["end"]), str(w["text"])
        if out and s - out[-1][1] <= gap and not out[-1][2].endswith(("。", "！", "？", ".", "!", "?")):
            out[-1] = (out[-1][0], e, out[-1][2] + t)
        else:
            out.append((s, e, t))
    return out


def choose(signals: AssetSignals, lo: float, hi: float, request: dict[str, Any]) -> list[Highlight]:
    """Up to ``request["count"]`` highlights inside ``[lo, hi)`` seconds of the recording."""
    res = signals.results
    n = max(1, int((hi - lo) / BIN_S))
    energy = np.zeros(n)
    curve = (res.get("beats") or {}).get("energy") or []
    for i, v in enumerate(curve):
        k = int((i * 0.5 - lo) / BIN_S)
        if 0 <= k < n:
            energy[k] = float(v)
    words = (res.get("captions") or {}).get("words", [])
    rate = np.zeros(n)
    for w in words:
        k = int((float(w["start"]) - lo) / BIN_S)
        if 0 <= k < n:
            rate[k] += len(str(w["text"]).strip()) / BIN_S
    rate = np.convolve(rate, np.ones(8) / 8, mode="same")
    scenes = (res.get("scenes") or {}).get("scenes") or []
    cuts = [float(s["start"]) for s in scenes[1:]]
    change = np.zeros(n)
    for c in cuts:
        k = int((c - lo) / BIN_S)
        if 0 <= k < n:
            change[k] = 1.0
    change = np.convolve(change, np.ones(20), mode="same")
    sentences = _sentences(words)
    keywords = [k.strip().lower() for k in request.get("keywords") or [] if k.strip()] + list(SALE_PHRASES)
    bonus = np.zeros(n)
    hits: list[tuple[float, str]] = []
    for s, e, text in sentences:
        found = [k for k in keywords if k in text.lower()] + PRICE.findall(text)
        if found:
            hits.append(((s + e) / 2, found[0]))
            a, b = int((s - KEYWORD_SPREAD_S - lo) / BIN_S), int((e + KEYWORD_SPREAD_S - lo) / BIN_S)
            bonus[max(0, a):max(0, b)] += KEYWORD_BONUS * len(found)
    score = _z(energy) + _z(rate) + 0.5 * _z(change) + bonus
    bad = [(float(i["start"]), float(i["end"])) for kind in ("black", "frozen")
           for i in (res.get(kind) or {}).get("intervals", [])]
    target = float(request.get("clip_duration") or DEFAULT_CLIP_S)
    starts = sorted({lo, *[s for s, _, _ in sentences if lo <= s < hi], *[c for c in cuts if lo <= c < hi]})
    ends = sorted({hi, *[e for _, e, _ in sentences if lo < e <= hi], *[c for c in cuts if lo < c <= hi]})
    windows: list[Highlight] = []
    for s in starts:
        fits = [e for e in ends if MIN_CLIP_S <= e - s <= MAX_CLIP_S]
        e = min(fits, key=lambda e: abs(e - s - target)) if fits else min(s + target, hi)
        if e - s < MIN_CLIP_S or any(b0 < e and b1 > s for b0, b1 in bad):
            continue
        a, b = int((s - lo) / BIN_S), max(int((s - lo) / BIN_S) + 1, int((e - lo) / BIN_S))
        windows.append(Highlight(s, e, float(score[a:b].mean()), _why(energy[a:b], rate[a:b], hits, s, e, cuts),
                                 "".join(x for x0, x1, x in sentences if s <= (x0 + x1) / 2 < e)))
    chosen: list[Highlight] = []
    for w in sorted(windows, key=lambda w: -w.score):
        if len(chosen) >= int(request.get("count") or 3):
            break
        if all(w.end <= c.start or w.start >= c.end for c in chosen):
            chosen.append(w)
    return sorted(chosen, key=lambda w: w.start)


def _why(energy: np.ndarray, rate: np.ndarray, hits: list[tuple[float, str]], s: float, e: float,
         cuts: list[float]) -> list[str]:
    out = []
    words = [w for t, w in hits if s <= t < e]
    if words:
        out.append("keywords: " + ", ".join(dict.fromkeys(words)))
    out.append(f"loudness {float(energy.mean()):.2f}")
    if rate.mean() > 0:
        out.append(f"speech {float(rate.mean()):.1f} characters/s")
    inside = sum(1 for c in cuts if s < c < e)
    if inside:
        out.append(f"{inside} scene changes")
    return out


def document(clip: Highlight, asset_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """The edit of one highlight: the stretch of the recording in the requested aspect, with its title."""
    length = round(clip.end - clip.start, 3)
    tracks: list[dict[str, Any]] = []
    if request.get("title"):
        tracks.append({"clips": [{"asset": {"type": "text", "text": request["title"],
                                            "style": {"size": 64, "background": "#00000080", "padding": 20}},
                                  "start": 0, "length": min(3.0, length), "position": "top",
                                  "transition": {"in": "fade", "out": "fade", "duration": 0.3}}]})
    tracks.append({"clips": [{"asset": {"type": "video", "src": f"asset:{asset_id}", "trim": round(clip.start, 3)},
                              "start": 0, "length": length, "fit": "crop"}]})
    return {"timeline": {"tracks": tracks},
            "output": {"resolution": request.get("resolution", "720p"), "aspect_ratio": request["aspect_ratio"],
                       "fps": 30}}
