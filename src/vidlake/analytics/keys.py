"""mux-embed's key dictionary, and each environment's public beacon key (``env_key``).

mux-embed 5 shortens the keys of every event before it sends it: the first word (``view``) becomes one
letter (``x``), each further word two (``time`` → ``ti``), numbers stay digits, so ``view_time_to_first_frame``
travels as ``xtitofifr``. :func:`expand` turns an abbreviated event back into full names. The two tables
below are the SDK's own (``mux-embed`` 5.19, ``dist/mux.js``); a word the SDK does not know it sends as
``_word_``, which :func:`expand_key` keeps.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidlake.db.models import Environment

#: First word of a key (one letter) → the word.
FIRST_WORDS: dict[str, str] = {
    "a": "env", "b": "beacon", "c": "custom", "d": "ad", "e": "event", "f": "experiment", "i": "internal",
    "m": "mux", "n": "response", "p": "player", "q": "request", "r": "retry", "s": "session", "t": "timestamp",
    "u": "viewer", "v": "video", "w": "page", "x": "view", "y": "sub",
}

#: Further words (two letters) → the word.
WORDS: dict[str, str] = {
    "ad": "ad", "af": "affiliate", "ag": "aggregate", "ap": "api", "al": "application", "ao": "audio",
    "ar": "architecture", "as": "asset", "au": "autoplay", "av": "average", "bi": "bitrate", "bn": "brand",
    "br": "break", "bw": "browser", "by": "bytes", "bz": "business", "ca": "cached", "cb": "cancel", "cc": "codec",
    "cd": "code", "cg": "category", "ch": "changed", "ci": "client", "cj": "channels", "ck": "clicked",
    "cl": "canceled", "cm": "cmcd", "cn": "config", "co": "count", "ce": "counter", "cp": "complete",
    "cq": "creator", "cr": "creative", "cs": "captions", "ct": "content", "cu": "current", "cv": "cumulative",
    "cx": "connection", "cz": "context", "da": "data", "dg": "downscaling", "dm": "domain", "dn": "cdn",
    "do": "downscale", "dr": "drm", "dp": "dropped", "du": "duration", "dv": "device", "dy": "dynamic",
    "eb": "enabled", "ec": "encoding", "ed": "edge", "en": "end", "eg": "engine", "em": "embed", "er": "error",
    "ep": "experiments", "es": "errorcode", "et": "errortext", "ee": "event", "ev": "events", "ex": "expires",
    "ez": "exception", "fa": "failed", "fi": "first", "fm": "family", "ft": "format", "fp": "fps", "fq": "frequency",
    "fr": "frame", "fs": "fullscreen", "ha": "has", "hb": "holdback", "he": "headers", "ho": "host",
    "hn": "hostname", "ht": "height", "id": "id", "ii": "init", "in": "instance", "ip": "ip", "is": "is",
    "ke": "key", "la": "language", "lb": "labeled", "le": "level", "li": "live", "ld": "loaded", "lo": "load",
    "lw": "low", "ls": "lists", "lt": "latency", "ma": "max", "md": "media", "me": "message", "mf": "manifest",
    "mi": "mime", "ml": "midroll", "mm": "min", "mn": "manufacturer", "mo": "model", "mp": "mode", "ms": "ms",
    "mx": "mux", "ne": "newest", "nm": "name", "no": "number", "on": "on", "or": "origin", "os": "os",
    "pa": "paused", "pb": "playback", "pd": "producer", "pe": "percentage", "pf": "played", "pg": "program",
    "ph": "playhead", "pi": "plugin", "pl": "preroll", "pn": "playing", "po": "poster", "pp": "pip", "pr": "preload",
    "ps": "position", "pt": "part", "pv": "previous", "py": "property", "px": "pop", "pz": "plan", "ra": "rate",
    "rd": "requested", "re": "rebuffer", "rf": "rendition", "rg": "range", "rm": "remote", "ro": "ratio",
    "rp": "response", "rq": "request", "rs": "requests", "sa": "sample", "sd": "skipped", "se": "session",
    "sh": "shift", "si": "sid", "sk": "seek", "sm": "stream", "so": "source", "sq": "sequence", "sr": "series",
    "ss": "status", "st": "start", "su": "startup", "sv": "server", "sw": "software", "sy": "severity", "ta": "tag",
    "tc": "tech", "te": "text", "tg": "target", "th": "throughput", "ti": "time", "tl": "total", "to": "to",
    "tr": "track", "tt": "title", "ty": "type", "ug": "upscaling", "un": "universal", "up": "upscale", "ur": "url",
    "us": "user", "va": "variant", "vd": "viewed", "vi": "video", "ve": "version", "vw": "view", "vr": "viewer",
    "wd": "width", "wa": "watch", "wt": "waiting",
}

_TOKEN = re.compile(r"\d+|_[^_]*_|..", re.S)
#: Environment keys: lowercase letters and digits (what the SDK expects of an env key), 128 random bits.
ENV_KEY_ALPHABET = string.ascii_lowercase + string.digits
ENV_KEY_LENGTH = 26


def expand_key(key: str) -> str:
    """The full name of an abbreviated key (``xwati`` → ``view_watch_time``); unknown parts kept as sent."""
    if not key:
        return key
    words = [FIRST_WORDS.get(key[0], key[0])]
    rest = key[1:]
    if key[0] not in FIRST_WORDS and "_" in key:  # the SDK sends an unknown first word as "word_"
        head, _, rest = key.partition("_")
        words = [head]
    for part in _TOKEN.findall(rest):
        if part.startswith("_") and part.endswith("_") and len(part) > 1:
            words.append(part.strip("_"))
        else:
            words.append(WORDS.get(part, part))
    return "_".join(w for w in words if w)


def expand(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with every key expanded (values untouched)."""
    return {expand_key(k): v for k, v in event.items()}


def new_env_key() -> str:
    """A fresh public beacon key."""
    return "".join(secrets.choice(ENV_KEY_ALPHABET) for _ in range(ENV_KEY_LENGTH))


def env_key_for(session: Session, environment_id: str) -> str | None:
    """The beacon key of ``environment_id``, made (and flushed) on first use; None if no such environment.

    The key only lets a player add views to the environment's analytics: it reads nothing and
    writes nothing else, so it is safe to embed in public pages (as Mux's env keys are)."""
    env = session.get(Environment, environment_id)
    if env is None:
        return None
    if not env.data_env_key:
        key = new_env_key()
        # Conditional: two first uses at once agree on one key.
        session.execute(update(Environment).where(Environment.id == environment_id,
                                                  Environment.data_env_key.is_(None)).values(data_env_key=key))
        session.flush()
        session.refresh(env)
    return env.data_env_key


def environment_for_key(session: Session, env_key: str) -> str | None:
    """The environment id whose beacon key is ``env_key``, or None."""
    if not env_key or len(env_key) > 64:
        return None
    return session.scalar(select(Environment.id).where(Environment.data_env_key == env_key))
