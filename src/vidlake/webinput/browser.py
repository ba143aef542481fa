"""The processes of one running web input: a virtual display (Xvfb), a sound server (PulseAudio with a
null sink), a real Chromium showing the page full screen on them, and ffmpeg capturing both (x11grab +
the sink's monitor) into H.264/AAC over RTMP to the live stream's own ingest.

Every process is started by :func:`vidlake.ffmpeg.process.popen` (own process group, killed with the
runner thread that started it). Chromium gets no address-space limit (it aborts under any; see
``NO_ADDRESS_LIMIT``) but a bounded JavaScript heap, its own throw-away profile, the outbound guard
proxy (:mod:`vidlake.webinput.proxy`) and, unless the runner is root, its own sandbox. Its DevTools port
(loopback, found in the profile's ``DevToolsActivePort``) is used for ``reload`` only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from vidlake.ffmpeg import FFmpegCommand, MediaInput, ffmpeg_exe
from vidlake.ffmpeg.process import NO_ADDRESS_LIMIT, Child, kill_popen, popen

log = logging.getLogger(__name__)

FPS = 30  #: frames per second captured and sent
GOP_S = 2  #: keyframe interval of the stream sent (seconds)
START_TIMEOUT_S = 20.0  #: each process must be up within this (seconds)
JS_HEAP_MB = 512  #: Chromium's JavaScript heap limit (megabytes)
#: Wait between the browser's start and the encoder's (seconds): an ffmpeg that joins the sound server
#: while Chromium is still starting got its screen grabs in bursts (2-9 frames per second instead of 30,
#: measured) and never caught up; three seconds later it gets all 30.
SETTLE_S = 3.0
FIRST_DISPLAY = 100  #: X displays tried from here (a process starts at its own offset)
SINK = "vidlake"  #: the null sink Chromium plays into; ffmpeg records ``vidlake.monitor``


class BrowserError(RuntimeError):
    """A process of the web input did not start or stopped; the message names it."""


@dataclass(frozen=True)
class BrowserConfig:
    """How one web input runs: ``width`` x ``height`` pixels, ``video_bitrate`` bits per second,
    ``max_seconds`` the ffmpeg time limit (seconds)."""

    url: str
    rtmp_url: str
    width: int
    height: int
    video_bitrate: int
    work_dir: Path
    proxy_url: str
    max_seconds: float
    chromium: str = "/usr/bin/chromium"
    ffmpeg: str | None = None


def find_chromium(configured: str | None) -> str | None:
    """The Chromium binary: ``configured`` (settings), else Debian's ``chromium`` on the PATH."""
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_tools(chromium: str | None) -> list[str]:
    """What a web input needs and this machine lacks (``make run`` installs them: Debian's xvfb,
    pulseaudio, chromium)."""
    missing = [name for name in ("Xvfb", "pulseaudio") if shutil.which(name) is None]
    if find_chromium(chromium) is None:
        missing.append("chromium")
    return missing


def proxy_flags(proxy_url: str) -> list[str]:
    """Chromium flags sending every request of the page through the guard proxy at ``proxy_url``:
    loopback too (Chromium bypasses the proxy for it unless told ``<-loopback>``), and no WebRTC UDP
    around it."""
    return [f"--proxy-server={proxy_url}", "--proxy-bypass-list=<-loopback>",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]


@dataclass
class WebInputBrowser:
    """The running processes of one web input (start with :meth:`start`, stop with :meth:`stop`)."""

    config: BrowserConfig
    display: int | None = None
    children: dict[str, Child] = field(default_factory=dict)
    devtools_port: int | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    def start(self) -> None:
        """Start display, sound, browser and encoder; raises :class:`BrowserError` (everything started is
        stopped again)."""
        cfg = self.config
        cfg.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_display()
            self._start_sound()
            self._start_browser()
            time.sleep(SETTLE_S)
            self._start_encoder()
        except BaseException:
            self.stop()
            raise

    def dead(self) -> str | None:
        """The name of a process that has exited (``None``: all run)."""
        for name, child in self.children.items():
            if child.poll() is not None:
                return f"{name} exited with status {child.returncode}"
        return None

    def reload(self) -> None:
        """Reload the page (DevTools ``Page.reload``, cache bypassed); raises :class:`BrowserError`."""
        from websockets.sync.client import connect

        if self.devtools_port is None:
            raise BrowserError("the browser has no DevTools port")
        try:
            targets = httpx.get(f"http://127.0.0.1:{self.devtools_port}/json/list", timeout=5).json()
            page = next(t for t in targets if t.get("type") == "page")
            with connect(page["webSocketDebuggerUrl"], open_timeout=5, max_size=2**22) as ws:
                ws.send(json.dumps({"id": 1, "method": "Page.reload", "params": {"ignoreCache": True}}))
                while json.loads(ws.recv(timeout=10)).get("id") != 1:
                    pass
        except (OSError, StopIteration, ValueError, KeyError, TimeoutError) as exc:
            raise BrowserError(f"reload failed: {exc}") from exc

    def stop(self) -> None:
        """Stop every process (encoder first, so the live stream sees the publisher leave) and close logs."""
        for name in ("ffmpeg", "chromium", "pulseaudio", "xvfb"):
            child = self.children.pop(name, None)
            if child is not None:
                kill_popen(child)
        if self.display is not None:  # a killed Xvfb leaves its lock and socket behind
            for stale in (Path(f"/tmp/.X{self.display}-lock"), Path(f"/tmp/.X11-unix/X{self.display}")):
                with contextlib.suppress(OSError):
                    stale.unlink()
            self.display = None
        for f in self._logs:
            with contextlib.suppress(OSError):
                f.close()
        self._logs.clear()

    # ------------------------------------------------------------------ the processes

    def _log(self, name: str) -> IO[bytes]:
        f = open(self.config.work_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(f)
        return f

    def _env(self) -> dict[str, str]:
        work = str(self.config.work_dir)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "XDG_RUNTIME_DIR": work,
                "DISPLAY": f":{self.display}", "PULSE_SERVER": f"unix:{self.config.work_dir / 'pulse.sock'}",
                "PULSE_RUNTIME_PATH": str(self.config.work_dir / "pulse"), "LANG": "C.UTF-8"}

    def _start_display(self) -> None:
        """Xvfb on the first free display from ``FIRST_DISPLAY`` (no lock file, no socket); a display
        taken meanwhile makes Xvfb exit, and the next one is tried."""
        cfg = self.config
        for number in range(FIRST_DISPLAY + os.getpid() % 100 * 10, FIRST_DISPLAY + 2000):
            lock, sock = Path(f"/tmp/.X{number}-lock"), Path(f"/tmp/.X11-unix/X{number}")
            if lock.exists() or sock.exists():
                continue
            child = popen(["Xvfb", f":{number}", "-screen", "0", f"{cfg.width}x{cfg.height}x24", "-nolisten", "tcp",
                           "-noreset"], stderr=self._log("xvfb"))
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and child.poll() is None and not sock.exists():
                time.sleep(0.02)
            if child.poll() is None and sock.exists():
                self.children["xvfb"] = child
                self.display = number
                return
            kill_popen(child)
        raise BrowserError(f"Xvfb did not start (see {cfg.work_dir / 'xvfb.log'})")

    def _start_sound(self) -> None:
        cfg = self.config
        sock = cfg.work_dir / "pulse.sock"
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        (cfg.work_dir / "pulse").mkdir(exist_ok=True)
        self.children["pulseaudio"] = popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes",
             "--use-pid-file=no", "--system=false", "--log-target=stderr",
             "-L", f"module-null-sink sink_name={SINK} rate=48000 channels=2",
             "-L", f"module-native-protocol-unix socket={sock} auth-anonymous=1",
             "-L", "module-always-sink"], env=self._env(), stderr=self._log("pulseaudio"))
        self._wait(lambda: sock.exists(), "pulseaudio", "pulseaudio")

    def _start_browser(self) -> None:
        cfg = self.config
        profile = cfg.work_dir / "profile"
        shutil.rmtree(profile, ignore_errors=True)
        argv = [cfg.chromium, f"--user-data-dir={profile}", "--kiosk", "--start-fullscreen",
                "--window-position=0,0", f"--window-size={cfg.width},{cfg.height}", "--no-first-run",
                "--no-default-browser-check", "--noerrdialogs", "--disable-infobars", "--hide-scrollbars",
                "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage", "--disable-gpu",
                "--disable-features=Translate,MediaRouter,DialMediaRouteProvider", "--password-store=basic",
                "--disable-background-networking", "--disable-sync",
                f"--js-flags=--max-old-space-size={JS_HEAP_MB}", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", *proxy_flags(cfg.proxy_url), "--disable-renderer-backgrounding",
                "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
        if os.geteuid() == 0:
            argv.append("--no-sandbox")  # Chromium refuses to sandbox as root
        self.children["chromium"] = popen([*argv, cfg.url], env=self._env(), stderr=self._log("chromium"),
                                          memory_limit_bytes=NO_ADDRESS_LIMIT)
        port_file = profile / "DevToolsActivePort"
        self._wait(lambda: port_file.exists() and port_file.read_text().strip() != "", "chromium", "chromium")
        self.devtools_port = int(port_file.read_text().split()[0])

    def _start_encoder(self) -> None:
        cfg = self.config
        cmd = FFmpegCommand(loglevel="warning", overwrite=False)
        cmd.add_input(MediaInput.capture("x11grab", f":{self.display}", "-thread_queue_size", "1024",
                                         "-framerate", str(FPS), "-video_size", f"{cfg.width}x{cfg.height}",
                                         "-draw_mouse", "0"))
        cmd.add_input(MediaInput.capture("pulse", f"{SINK}.monitor", "-thread_queue_size", "1024"))
        rate = cfg.video_bitrate
        cmd.add_output(cfg.rtmp_url, [
            "-map", "0:v", "-map", "1:a", "-t", f"{cfg.max_seconds:g}",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(FPS * GOP_S), "-keyint_min", str(FPS * GOP_S), "-sc_threshold", "0",
            "-b:v", str(rate), "-maxrate", str(rate), "-bufsize", str(rate * 2),
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-f", "flv"])
        self.children["ffmpeg"] = popen([cfg.ffmpeg or ffmpeg_exe(), *cmd.argv()], env=self._env(),
                                        stderr=self._log("ffmpeg"))

    def _wait(self, ready: Callable[[], bool], name: str, child: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if ready():
                return
            proc = self.children.get(child)
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        raise BrowserError(f"{name} did not start (see {self.config.work_dir / (child + '.log')})")
