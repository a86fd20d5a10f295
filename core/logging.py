from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core import context

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    """Stamps every record with the request id, user id and workspace id in force."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        for key in ("request_id", "user_id", "workspace_id"):
            if not hasattr(record, key):
                setattr(record, key, getattr(ctx, key))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any `extra=` fields kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
