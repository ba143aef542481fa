"""The web input runner: in each ``vidlake serve`` with live ingest, a thread that runs the web inputs the
database says should run, one :class:`~vidlake.webinput.browser.WebInputBrowser` each, streaming over
RTMP into this process's own ingest.

Every ``TICK_S`` it reads the web inputs that are ``launching`` or ``streaming``, claims those nobody
owns (or whose owner stopped renewing its claim ``OWNER_STALE_S`` ago: a killed machine's are taken over),
up to ``web_inputs_max``, renews its claims, and then acts: starts a browser for a new claim, stops
the ones shut down, deleted or lost, reloads on ``PUT .../reload``, restarts a crashed browser (after
``MAX_FAILURES`` in a row the web input goes ``idle`` with ``last_error``), marks ``streaming`` once the
live stream is active, and shuts a web input down ``timeout`` seconds after its launch.

The runner thread starts every child itself and outlives them (their death signal follows it).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import LiveStream
from vidlake.db.web_input_models import WebInput
from vidlake.runtime import Services
from vidlake.webinput import service
from vidlake.webinput.browser import BrowserConfig, BrowserError, WebInputBrowser, find_chromium, missing_tools
from vidlake.webinput.proxy import GuardProxy

log = logging.getLogger(__name__)

TICK_S = 0.5  #: how often the database is read (seconds)
OWNER_STALE_S = 10.0  #: a claim not renewed this long may be taken over (seconds)
MAX_FAILURES = 3  #: browser failures in a row before the web input is shut down
TIME_LIMIT_SLACK_S = 60.0  #: ffmpeg's own time limit is the timeout plus this (seconds)


@dataclass
class _Running:
    browser: WebInputBrowser
    reloads_done: int


class WebInputRunner:
    """Runs this process's web inputs (``start_in_thread`` / ``stop``); ``rtmp_port``: this process's
    RTMP ingest."""

    def __init__(self, services: Services, rtmp_port: int) -> None:
        self.services = services
        self.settings = services.settings
        self.rtmp_port = rtmp_port
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id(8)}"
        self.capacity = self.settings.web_inputs_max
        self.work_root = self.settings.data_dir / "web-inputs"
        self.proxy = GuardProxy(allow_private=self.settings.allow_private_networks)
        self.running: dict[str, _Running] = {}
        self.failures: dict[str, int] = {}  #: browser failures in a row, per web input
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_in_thread(self) -> None:
        self.proxy.start()
        self._thread = threading.Thread(target=self._main, name="vidlake-webinputs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every browser and the thread. Claims are released so another runner starts them at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
        self.proxy.close()

    def _main(self) -> None:
        try:
            while not self._stop.wait(TICK_S):
                try:
                    self.tick()
                except Exception:  # a bad tick must not end the runner
                    log.exception("web input runner tick failed")
        finally:
            for web_input_id in list(self.running):
                self._stop_browser(web_input_id)
            self._release_all()

    # ------------------------------------------------------------------ one pass

    def tick(self) -> None:
        """Claim, start, stop, reload, restart and time out, once."""
        with self.services.db.session() as session:
            mine = self._claim(session)
        for web_input_id in [i for i in self.running if i not in mine]:
            self._stop_browser(web_input_id)  # shut down, deleted, or taken over
        for row in mine.values():
            self._act(row)

    def _claim(self, session: Session) -> dict[str, WebInput]:
        """The running web inputs this runner owns after renewing and taking claims (at most ``capacity``)."""
        t = now()
        rows = session.scalars(select(WebInput).where(WebInput.status.in_(service.RUNNING),
                                                      WebInput.deleted_at.is_(None))
                               .order_by(WebInput.launched_at)).all()
        mine: dict[str, WebInput] = {}
        for row in rows:
            if row.owner != self.owner and len(mine) >= self.capacity:
                continue
            claimed = session.execute(
                update(WebInput).where(WebInput.id == row.id, WebInput.status.in_(service.RUNNING),
                                       or_(WebInput.owner.is_(None), WebInput.owner == self.owner,
                                           WebInput.owner_seen_at < t - OWNER_STALE_S))
                .values(owner=self.owner, owner_seen_at=t).execution_options(synchronize_session=False))
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                session.refresh(row)
                mine[row.id] = row
        session.expunge_all()
        return mine

    def _act(self, row: WebInput) -> None:
        run = self.running.get(row.id)
        if row.launched_at is not None and now() - row.launched_at > row.timeout:
            self._shut(row.id, f"timeout: shut down {row.timeout} s after its launch")
            return
        if run is None:
            self._start_browser(row)
            return
        died = run.browser.dead()
        if died is not None:
            log.warning("web input %s: %s; restarting", row.id, died)
            self._stop_browser(row.id)
            self._failed(row, died)
            return
        if row.reload_requested > run.reloads_done:
            try:
                run.browser.reload()
            except BrowserError as exc:
                log.warning("web input %s: %s", row.id, exc)
            run.reloads_done = row.reload_requested
            self._update(row.id, reloads_done=row.reload_requested)
        if row.status == "launching":
            with self.services.db.session() as session:
                stream = session.get(LiveStream, row.live_stream_id)
                fresh = session.get(WebInput, row.id)
                if stream is not None and stream.status == "active" and stream.connected and fresh is not None:
                    service.mark_streaming(session, fresh)
                    self.failures.pop(row.id, None)

    # ------------------------------------------------------------------ browsers

    def _failed(self, row: WebInput, reason: str) -> None:
        """Count a failure; the browser is started again on the next tick unless there were too many."""
        self.failures[row.id] = self.failures.get(row.id, 0) + 1
        if self.failures[row.id] >= MAX_FAILURES:
            self._shut(row.id, f"the browser failed {self.failures[row.id]} times in a row ({reason})")

    def _start_browser(self, row: WebInput) -> None:
        missing = missing_tools(self.settings.chromium or None)
        if missing:
            self._shut(row.id, f"this server lacks {', '.join(missing)} (make run installs them)")
            return
        with self.services.db.session() as session:
            stream = session.get(LiveStream, row.live_stream_id)
            key = stream.stream_key if stream is not None and stream.deleted_at is None else None
        if key is None:
            self._shut(row.id, f"live stream {row.live_stream_id} no longer exists")
            return
        width, height = service.size_of(row.resolution)
        config = BrowserConfig(
            url=row.url, rtmp_url=f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}", width=width, height=height,
            video_bitrate=service.VIDEO_BITRATE.get(max(width, height), 2_500_000),
            work_dir=self.work_root / row.id, proxy_url=self.proxy.url,
            max_seconds=row.timeout + TIME_LIMIT_SLACK_S, chromium=find_chromium(self.settings.chromium or None)
            or "chromium", ffmpeg=self.settings.ffmpeg or None)
        browser = WebInputBrowser(config)
        try:
            browser.start()
        except (BrowserError, OSError) as exc:
            log.warning("web input %s did not start: %s", row.id, exc)
            self._failed(row, f"did not start: {exc}")
            return
        self.running[row.id] = _Running(browser, row.reload_requested)

    def _stop_browser(self, web_input_id: str) -> None:
        run = self.running.pop(web_input_id, None)
        if run is not None:
            run.browser.stop()
            shutil.rmtree(Path(self.work_root / web_input_id / "profile"), ignore_errors=True)

    def _shut(self, web_input_id: str, reason: str) -> None:
        self._stop_browser(web_input_id)
        self.failures.pop(web_input_id, None)
        log.warning("web input %s shut down: %s", web_input_id, reason)
        with self.services.db.session() as session:
            row = session.get(WebInput, web_input_id)
            if row is not None and row.owner == self.owner:
                service.shutdown(session, row, reason)

    def _update(self, web_input_id: str, **values: object) -> None:
        with self.services.db.session() as session:
            session.execute(update(WebInput).where(WebInput.id == web_input_id, WebInput.owner == self.owner)
                            .values(**values).execution_options(synchronize_session=False))

    def _release_all(self) -> None:
        try:
            with self.services.db.session() as session:
                session.execute(update(WebInput).where(WebInput.owner == self.owner)
                                .values(owner=None, owner_seen_at=None).execution_options(synchronize_session=False))
        except Exception:  # the database may be gone at shutdown
            log.exception("could not release web input claims")

