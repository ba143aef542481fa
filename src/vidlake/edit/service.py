"""Edits and templates as a service: rows, the source resolver over the media library, state changes.

::

    create_edit(session, services, env_id, document, preview=..., request=...)   # validates, queues
        └─ job ``edit.render`` (vidlake.edit.jobs) ─► render ─► storage ─► create_asset ─► VOD pipeline

Edit ``status``: ``queued`` → ``rendering`` → ``completed`` (the new asset exists; it is then processed
by the VOD pipeline like any upload) | ``errored`` | ``cancelled``. Every state change is a function
here that also records its event (``video.edit.created|completed|errored``).

Sources (:class:`LibraryResolver`):

* ``asset:<id>``: the asset must exist in the same environment and be ``ready``; durations, streams
  and sizes come from the asset row (nothing is downloaded at validation time). At render time its
  media is the static MP4 if one is ready, else the stored source file (else the local HLS top rung);
  local storage is read in place (``storage.local_path``), other storage is downloaded to a temp dir.
* ``https://...``: checked against SSRF at validation time (duration unknown until render); at render
  time pulled with :func:`vidlake.vod.pull.pull` (SSRF checks at every redirect) and probed.
* ``live:<id>``: the live stream's active recording asset while it is live (its DVR window: every
  segment recorded so far), else its most recent recording; ``trim`` counts from the recording's start.
  See :mod:`vidlake.edit.live_source` (:meth:`LibraryResolver._live`).
* a caption clip's ``src`` (``asset:<id>`` + ``track_id``/``language_code``): the asset's text track,
  read from storage as WebVTT (:mod:`vidlake.edit.caption_tracks`) at validation and at render time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters
from vidlake.core.ids import new_id
from vidlake.core.netguard import check_url
from vidlake.core.settings import Settings
from vidlake.db.models import Asset, Edit, Job, Template
from vidlake.db.tenancy import get_owned
from vidlake.edit.caption_tracks import read_text_track
from vidlake.edit.captions_burn import parse_source_key
from vidlake.edit.templates import TemplateError, apply_template, placeholders
from vidlake.edit.validate import BYTES_PER_LAYER_PIXEL, FieldError, Limits, ResolveError, SourceInfo, find_errors
from vidlake.events import emit
from vidlake.ffmpeg import UnsupportedContainerError, demuxer_for
from vidlake.jobs import queue
from vidlake.runtime import Services
from vidlake.storage import keys

EDIT_KIND = "edit.render"
STATUSES = ("queued", "rendering", "completed", "errored", "cancelled")
FINAL = ("completed", "errored", "cancelled")
#: Static renditions tried first as an asset's media, best first.
STATIC_NAMES = ("highest.mp4", "capped-1080p.mp4")


def edit_limits(settings: Settings) -> Limits:
    """Render limits: :class:`Limits` defaults, never longer than the accepted media (seconds), with the
    pixels all layers may hold sized for ffmpeg's memory limit (``ffmpeg_memory_limit_bytes``)."""
    base = Limits()
    return Limits(max_duration_s=min(base.max_duration_s, settings.media_max_duration_s),
                  max_total_layer_pixels=settings.ffmpeg_memory_limit_bytes // BYTES_PER_LAYER_PIXEL)


class LibraryResolver:
    """Maps ``src`` to a :class:`SourceInfo` for one environment.

    Without ``work_dir`` (validation at request time) nothing is fetched: ``path`` is a placeholder
    and URL sources get an unknown (unbounded) duration. With ``work_dir`` (the render job) every
    source becomes a local file ffmpeg can read; downloads go into ``work_dir``.
    """

    def __init__(self, services: Services, environment_id: str, *, session: Session | None = None,
                 work_dir: Path | None = None, should_stop: Any = None) -> None:
        self.services = services
        self.environment_id = environment_id
        self.session = session
        self.work_dir = work_dir
        self.should_stop = should_stop
        self._count = 0

    def __call__(self, src: str) -> SourceInfo:
        text_track = parse_source_key(src)
        if text_track is not None:
            return self._text_track(*text_track)
        if src.startswith("asset:"):
            return self._asset(src[len("asset:"):])
        if src.startswith("live:"):
            return self._live(src[len("live:"):])
        if src.startswith(("https://", "http://")):
            return self._url(src)
        raise ResolveError("must be asset:<id> or an https:// URL")

    def _text_track(self, asset_id: str, track_id: str | None, language_code: str | None) -> SourceInfo:
        """A caption clip's text track: its WebVTT document as ``text`` (small: read at validation too)."""
        if self.session is not None:
            document = read_text_track(self.services, self.session, self.environment_id, asset_id, track_id,
                                       language_code)
        else:
            with self.services.db.session() as session:
                document = read_text_track(self.services, session, self.environment_id, asset_id, track_id,
                                           language_code)
        return SourceInfo(path=f"asset:{asset_id}", duration_s=None, has_video=False, has_audio=False,
                          text=document)

    # -- assets ---------------------------------------------------------------------------------
    def _asset(self, asset_id: str) -> SourceInfo:
        if self.session is not None:
            facts = self._asset_facts(self.session, asset_id)
        else:
            with self.services.db.session() as session:
                facts = self._asset_facts(session, asset_id)
        row_info, media_keys, hls_key = facts
        if self.work_dir is None:
            return row_info
        path, demuxer = self._media_path(media_keys, hls_key)
        width, height = row_info.width, row_info.height
        if row_info.has_video:
            width, height = self._probe_size(path, width, height)
        return SourceInfo(path=str(path), duration_s=row_info.duration_s, has_video=row_info.has_video,
                          has_audio=row_info.has_audio, width=width, height=height, demuxer=demuxer)

    def _asset_facts(self, session: Session, asset_id: str
                     ) -> tuple[SourceInfo, list[tuple[str, str | None]], str | None]:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.deleted_at is not None or asset.environment_id != self.environment_id:
            raise ResolveError(f"no asset {asset_id!r} in this environment")
        if asset.status != "ready":
            raise ResolveError(f"asset {asset_id!r} is not ready (status {asset.status})")
        video = next((t for t in asset.tracks or [] if t.get("type") == "video"), None)
        audio = next((t for t in asset.tracks or [] if t.get("type") == "audio"), None)
        info = SourceInfo(path=f"asset:{asset_id}", duration_s=asset.duration, has_video=video is not None,
                          has_audio=audio is not None, width=video.get("max_width") if video else None,
                          height=video.get("max_height") if video else None)
        # (key, pinned demuxer): static renditions are our MP4s; the source as its probe found it
        media: list[tuple[str, str | None]] = [
            (keys.asset_static(asset.environment_id, asset.id, f.get("name", "")), "mov")
            for name in STATIC_NAMES for f in asset.static_renditions or []
            if f.get("name") == name and f.get("status") == "ready"]
        if asset.source_key:
            media.append((asset.source_key, _probed_demuxer(asset.probe)))
        hls = f"{asset.hls_prefix}/master.m3u8" if asset.hls_prefix and asset.hls_complete else None
        return info, media, hls

    def _media_path(self, media_keys: list[tuple[str, str | None]], hls_key: str | None) -> tuple[Path, str | None]:
        """The local file of the first stored media and its pinned demuxer (``"hls"``: our own output)."""
        storage = self.services.storage
        assert self.work_dir is not None
        for key, demuxer in media_keys:
            local = storage.local_path(key)
            if local is not None and local.exists():
                return local, demuxer
            if local is None and storage.exists(key):
                self._count += 1
                dest = self.work_dir / f"source-{self._count}"
                storage.download(key, dest)
                return dest, demuxer
        if hls_key is not None:
            local = storage.local_path(hls_key)
            if local is not None and local.exists():
                return local, "hls"
        raise ResolveError("the asset's media is missing from storage")

    @staticmethod
    def _probe_size(path: Path, width: int | None, height: int | None) -> tuple[int | None, int | None]:
        """The picture size in pixels of the file actually used (it may differ from the ladder's top)."""
        from vidlake.vod.probe import MediaRejected, probe

        try:
            result = probe(path, validate_limits=False)
        except (MediaRejected, OSError):
            return width, height
        if result.video is None:
            return width, height
        return result.video.display_width, result.video.display_height

    # -- live streams ---------------------------------------------------------------------------
    def _live(self, live_stream_id: str) -> SourceInfo:
        """``live:<id>``: the remuxed recording like an asset, else its live segments (one local file at
        render time)."""
        from vidlake.edit.live_source import find_recording, segments_source

        if self.session is not None:
            rec = find_recording(self.session, self.environment_id, live_stream_id)
        else:
            with self.services.db.session() as session:
                rec = find_recording(session, self.environment_id, live_stream_id)
        if rec.remuxed:
            return self._asset(rec.asset_id)
        self._count += 1
        info = segments_source(self.services, rec, self.work_dir, f"live-{self._count}.ts")
        return dataclasses.replace(info, demuxer="mpegts")  # the recorded segments joined as MPEG-TS

    # -- URLs -----------------------------------------------------------------------------------
    def _url(self, url: str) -> SourceInfo:
        settings = self.services.settings
        check_url(url, field="src", allow_private=settings.allow_private_networks)
        if self.work_dir is None:
            return SourceInfo(path=url, duration_s=math.inf, has_video=True, has_audio=True, width=2, height=2)
        from vidlake.vod.probe import MediaRejected, ProbeLimits, probe
        from vidlake.vod.pull import PullError, pull

        self._count += 1
        dest = self.work_dir / f"url-{self._count}"
        try:
            pull(url, dest, allow_private=settings.allow_private_networks, max_bytes=settings.media_max_bytes,
                 timeout_s=settings.pull_timeout_s, should_stop=self.should_stop)
            result = probe(dest, ProbeLimits(max_bytes=settings.media_max_bytes,
                                             max_duration_s=settings.media_max_duration_s,
                                             max_pixels=settings.media_max_pixels,
                                             max_streams=settings.media_max_streams))
        except PullError as exc:
            raise ResolveError(str(exc)) from exc
        except MediaRejected as exc:
            raise ResolveError(f"not usable media: {exc}") from exc
        video = result.video
        return SourceInfo(path=str(dest), duration_s=result.duration_s, has_video=video is not None,
                          has_audio=result.audio is not None, width=video.display_width if video else None,
                          height=video.display_height if video else None, demuxer=result.demuxer)


def _probed_demuxer(probe: dict[str, Any] | None) -> str | None:
    """The pinned demuxer of a stored source from its probe row (None: decided from the file)."""
    name = (probe or {}).get("format")
    try:
        return demuxer_for(name) if isinstance(name, str) else None
    except UnsupportedContainerError:
        return None


# -- edits ----------------------------------------------------------------------------------------
def _messages(errors: list[FieldError]) -> list[str]:
    return [str(e) for e in errors] or ["invalid edit"]


def check_document(session: Session, services: Services, environment_id: str,
                   document: dict[str, Any]) -> float:
    """Validate ``document`` against the library (nothing big is fetched); returns its duration in
    seconds. Raises ``InvalidParameters`` with every ``path: message``."""
    resolver = LibraryResolver(services, environment_id, session=session)
    edit, _sources, errors = find_errors(document, resolver, edit_limits(services.settings))
    if errors or edit is None:
        raise InvalidParameters(*_messages(errors))
    return edit.duration()


def create_edit(session: Session, services: Services, environment_id: str, document: dict[str, Any], *,
                preview: bool = False, request: dict[str, Any] | None = None,
                template_id: str | None = None) -> Edit:
    """Validate ``document``, store the edit and queue its render (``edit.render``).

    ``request`` holds the new asset's settings (``playback_policy``, ``passthrough``, ``mp4_support``).
    """
    duration = check_document(session, services, environment_id, document)
    edit = Edit(id=new_id(), environment_id=environment_id, status="queued", preview=preview, document=document,
                request=request or {}, template_id=template_id, progress=0.0, duration=round(duration, 6),
                details={}, created_at=now(), updated_at=now())
    session.add(edit)
    session.flush()
    edit.job_id = queue.enqueue(session, EDIT_KIND, {"edit_id": edit.id}, environment_id=environment_id,
                                idempotency_key=f"{EDIT_KIND}:{edit.id}")
    emit(session, environment_id, "video.edit.created", "edit", edit.id, edit_public(session, edit))
    return edit


def get_edit(session: Session, environment_id: str, edit_id: str) -> Edit:
    """The edit, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, Edit, edit_id, environment_id, "edit")


def list_edits(session: Session, environment_id: str, offset: int, limit: int,
               asset_id: str | None = None) -> list[Edit]:
    """Edits of the environment, newest first (optionally the one that made ``asset_id``)."""
    query = select(Edit).where(Edit.environment_id == environment_id)
    if asset_id:
        query = query.where(Edit.asset_id == asset_id)
    return list(session.scalars(query.order_by(Edit.created_at.desc(), Edit.id).offset(offset).limit(limit)))


def edit_public(session: Session, edit: Edit, *, details: bool = False) -> dict[str, Any]:
    """The edit as the API shows it; ``progress`` is percent (0-100), ``duration`` seconds."""
    progress = edit.progress
    if edit.status == "rendering" and edit.job_id:
        job = session.get(Job, edit.job_id)
        if job is not None:
            progress = max(progress, job.progress)
    out: dict[str, Any] = {
        "id": edit.id,
        "status": edit.status,
        "preview": edit.preview,
        "progress": round(100.0 if edit.status == "completed" else progress, 1),
        "created_at": str(int(edit.created_at)),
        "duration": edit.duration,
    }
    optional = {"asset_id": edit.asset_id, "errors": edit.errors, "template_id": edit.template_id,
                "passthrough": edit.request.get("passthrough")}
    out.update({k: v for k, v in optional.items() if v is not None})
    if details:
        out["details"] = edit.details or {}
        out["document"] = edit.document
    return out


def mark_rendering(session: Session, edit: Edit) -> bool:
    """queued → rendering. False if the edit already ended (e.g. cancelled)."""
    if edit.status in FINAL:
        return False
    edit.status, edit.updated_at = "rendering", now()
    return True


def mark_completed(session: Session, edit: Edit, asset_id: str, details: dict[str, Any]) -> None:
    """→ completed with its new asset, with ``video.edit.completed``."""
    edit.status, edit.asset_id, edit.progress = "completed", asset_id, 100.0
    edit.details = {**(edit.details or {}), **details}
    edit.updated_at = edit.finished_at = now()
    emit(session, edit.environment_id, "video.edit.completed", "edit", edit.id, edit_public(session, edit))


def mark_errored(session: Session, edit: Edit, error_type: str, messages: list[str]) -> None:
    """→ errored (Mux's error shape), with ``video.edit.errored``. No-op once the edit ended."""
    if edit.status in FINAL:
        return
    edit.status, edit.errors = "errored", {"type": error_type, "messages": messages}
    edit.updated_at = edit.finished_at = now()
    emit(session, edit.environment_id, "video.edit.errored", "edit", edit.id, edit_public(session, edit))


def cancel_edit(session: Session, services: Services, edit: Edit) -> None:
    """Cancel a queued or rendering edit (a running render is stopped at its job's next heartbeat).
    Raises ``Conflict`` if it already completed or errored."""
    if edit.status == "cancelled":
        return
    if edit.status in FINAL:
        raise Conflict(f"edit {edit.id!r} already {edit.status}")
    edit.status, edit.updated_at, edit.finished_at = "cancelled", now(), now()
    session.flush()
    if edit.job_id:
        session.commit()  # the job table is updated in its own transaction
        with contextlib.suppress(Conflict):  # the job just ended: the handler sees the cancelled edit
            queue.cancel(services.db, edit.job_id)


# -- templates ------------------------------------------------------------------------------------
def create_template(session: Session, environment_id: str, name: str, document: dict[str, Any], *,
                    description: str | None = None, defaults: dict[str, Any] | None = None) -> Template:
    """Store an edit document with ``{{placeholders}}``."""
    template = Template(id=new_id(), environment_id=environment_id, name=name, description=description,
                        document=document, defaults=defaults or {}, placeholders=sorted(placeholders(document)),
                        created_at=now())
    session.add(template)
    session.flush()
    return template


def get_template(session: Session, environment_id: str, template_id: str) -> Template:
    """The template, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, Template, template_id, environment_id, "template")


def template_public(template: Template) -> dict[str, Any]:
    """The template as the API shows it."""
    out: dict[str, Any] = {"id": template.id, "name": template.name, "placeholders": template.placeholders,
                           "defaults": template.defaults, "edit": template.document,
                           "created_at": str(int(template.created_at))}
    if template.description is not None:
        out["description"] = template.description
    return out


def fill_template(template: Template, merge: dict[str, Any]) -> dict[str, Any]:
    """The template's document filled with ``merge`` over its defaults. Raises ``InvalidParameters``
    naming every missing merge value (``merge.price: is required (used at ...)``)."""
    try:
        return apply_template({"edit": template.document, "defaults": template.defaults}, merge)
    except TemplateError as exc:
        raise InvalidParameters(*[f"merge.{name}: is required (used at {', '.join(paths)})"
                                  for name, paths in sorted(exc.missing.items())]) from exc
