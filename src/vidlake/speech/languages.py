"""Language codes for captions: what the Whisper model knows, and how a request's code maps to it.

Requests may use ISO 639-1 codes (``zh``, ``en``), BCP 47 tags (``zh-CN``, ``zh-Hans``, ``en-US``)
or ``cmn`` for Mandarin; :func:`engine_language` gives Whisper's code or ``None`` when the model does
not know the language. Mandarin and English are measured (see ``bench/captions.py``); the other
Whisper languages work as well as the *base* model does and are marked ``tested: false``.
"""

from __future__ import annotations

import re

#: Languages whose captions are measured by the tests and the bench (Whisper codes).
TESTED = ("zh", "en")
#: Display names used when a request gives no ``name``.
NAMES = {"zh": "中文", "en": "English", "ja": "日本語", "ko": "한국어", "yue": "粵語", "es": "Español",
         "fr": "Français", "de": "Deutsch", "it": "Italiano", "pt": "Português", "ru": "Русский"}
_ALIASES = {"cmn": "zh", "zho": "zh", "chi": "zh", "eng": "en", "iw": "he", "jw": "jw"}
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def whisper_codes() -> tuple[str, ...]:
    """Every language code the Whisper tokenizer accepts (99 of them)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def engine_language(code: str) -> str | None:
    """Whisper's code for the request's ``code`` (``zh-Hans`` → ``zh``, ``cmn`` → ``zh``), or ``None``."""
    if not isinstance(code, str) or not _TAG.match(code):
        return None
    tag = code.lower()
    if tag in ("zh-yue", "zh-hk-yue"):
        return "yue" if "yue" in whisper_codes() else "zh"
    primary = tag.split("-", 1)[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in whisper_codes() else None


def is_valid_tag(code: str) -> bool:
    """Whether ``code`` looks like a BCP 47 language tag (for uploaded subtitle tracks)."""
    return isinstance(code, str) and bool(_TAG.match(code)) and len(code) <= 35


def display_name(code: str) -> str:
    """A human name for a generated track in ``code``."""
    lang = engine_language(code) or code
    return NAMES.get(lang, code)


def is_cjk_language(code: str) -> bool:
    """Whether cues in this language are laid out by characters (Chinese, Japanese, Cantonese)."""
    return (engine_language(code) or "") in ("zh", "ja", "yue")
