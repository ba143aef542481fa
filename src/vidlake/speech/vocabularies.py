"""Transcription vocabularies: stored phrase lists that bias recognition (the engine's hot-words).

Mux's shape: ``{"id", "name", "phrases", "passthrough", "created_at", "updated_at"}``. Limits: at most
:data:`MAX_PHRASES` phrases of at most :data:`MAX_PHRASE_CHARS` characters each; a caption request may
name up to :data:`MAX_PER_REQUEST` vocabularies, whose phrases are merged (first occurrence kept).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.core.ids import new_id
from vidlake.db.models import TranscriptionVocabulary
from vidlake.db.tenancy import get_owned

MAX_PHRASES = 1000
MAX_PHRASE_CHARS = 100
MAX_PER_REQUEST = 5


def clean_phrases(phrases: list[str], field: str = "phrases") -> list[str]:
    """Stripped, de-duplicated phrases; 400 naming ``field`` for empty or oversized ones."""
    out: list[str] = []
    for i, phrase in enumerate(phrases):
        text = " ".join(str(phrase).split())
        if not text:
            raise InvalidParameters(f"{field}[{i}]: a phrase may not be empty")
        if len(text) > MAX_PHRASE_CHARS:
            raise InvalidParameters(f"{field}[{i}]: longer than {MAX_PHRASE_CHARS} characters")
        if text not in out:
            out.append(text)
    if len(out) > MAX_PHRASES:
        raise InvalidParameters(f"{field}: at most {MAX_PHRASES} phrases")
    return out


def public(row: TranscriptionVocabulary) -> dict[str, Any]:
    """The API view (Mux's field names)."""
    out: dict[str, Any] = {"id": row.id, "phrases": list(row.phrases or []),
                           "created_at": str(int(row.created_at)), "updated_at": str(int(row.updated_at))}
    if row.name is not None:
        out["name"] = row.name
    if row.passthrough is not None:
        out["passthrough"] = row.passthrough
    return out


def create(session: Session, environment_id: str, name: str | None, phrases: list[str],
           passthrough: str | None) -> TranscriptionVocabulary:
    """A new vocabulary."""
    row = TranscriptionVocabulary(id=new_id(), environment_id=environment_id, name=name,
                                  phrases=clean_phrases(phrases), passthrough=passthrough,
                                  created_at=now(), updated_at=now())
    session.add(row)
    session.flush()
    return row


def get(session: Session, environment_id: str, vocabulary_id: str) -> TranscriptionVocabulary:
    """The vocabulary, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, TranscriptionVocabulary, vocabulary_id, environment_id, "transcription vocabulary")


def list_rows(session: Session, environment_id: str, offset: int, limit: int) -> list[TranscriptionVocabulary]:
    """The environment's vocabularies, newest first."""
    return list(session.scalars(select(TranscriptionVocabulary)
                                .where(TranscriptionVocabulary.environment_id == environment_id)
                                .order_by(TranscriptionVocabulary.created_at.desc(), TranscriptionVocabulary.id)
                                .offset(offset).limit(limit)))


def update(row: TranscriptionVocabulary, fields: dict[str, Any]) -> None:
    """Replace ``name``, ``phrases`` and/or ``passthrough`` (the keys present in ``fields``)."""
    if "phrases" in fields:
        row.phrases = clean_phrases(list(fields["phrases"] or []))
    if "name" in fields:
        row.name = fields["name"]
    if "passthrough" in fields:
        row.passthrough = fields["passthrough"]
    row.updated_at = now()


def phrases_for(session: Session, environment_id: str, ids: list[str], field: str) -> list[str]:
    """The merged phrases of vocabularies ``ids`` (400 naming ``field`` for unknown ids)."""
    if len(ids) > MAX_PER_REQUEST:
        raise InvalidParameters(f"{field}: at most {MAX_PER_REQUEST} vocabularies")
    merged: list[str] = []
    for i, vocabulary_id in enumerate(ids):
        row = session.get(TranscriptionVocabulary, vocabulary_id)
        if row is None or row.environment_id != environment_id:
            raise InvalidParameters(f"{field}[{i}]: transcription vocabulary {vocabulary_id!r} not found")
        merged += [p for p in row.phrases or [] if p not in merged]
    return merged
