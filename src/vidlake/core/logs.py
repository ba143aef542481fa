"""Logging setup: plain text or one JSON object per line (``VIDLAKE_LOG_FORMAT``)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

#: Query parameters whose values are credentials (signed playback tokens): never written to a log.
SECRET_PARAMS = ("token", "thumbnail_token", "storyboard_token")
_SECRET_QUERY = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#\s\"']*")


def redact(text: str) -> str:
    """``text`` with the value of every ``token=`` (and ``thumbnail_token``/``storyboard_token``) query
    parameter replaced by ``REDACTED``."""
    return _SECRET_QUERY.sub(r"\1REDACTED", text) if "token=" in text else text


class RedactSecrets(logging.Filter):
    """Rewrites each record's message through :func:`redact` (uvicorn's access log writes the path
    with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (Unix seconds), level, logger, msg, and exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for this process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
