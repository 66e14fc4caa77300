"""Log lines without personal data, as text or as JSON (LOG_FORMAT, settings.py).

`MaskPersonalDataFilter` runs on the handler, before any formatter: it masks resident ID
numbers, mobile numbers and number plates in the message and in every string given as an
extra field (`log.info("...", extra={...})`), so the JSON formatter only ever sees masked
values."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from trafficdesk.core.logmask import PLATE_RE
from trafficdesk.core.validators import mask_personal_data_in_text

#: The attributes every LogRecord has; anything else on a record is an extra field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _mask_plate(match: re.Match[str]) -> str:
    return match.group(0)[:2] + "***"


def mask(text: str) -> str:
    """ID numbers and mobiles partly masked (1101**********002X, 139****5678); plates to
    their province and issuing office (贵A***)."""
    return PLATE_RE.sub(_mask_plate, mask_personal_data_in_text(text))


class MaskPersonalDataFilter(logging.Filter):
    """Masks resident ID numbers, mobile numbers and plates in every log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        for key, value in record.__dict__.items():
            if key not in _STANDARD and isinstance(value, str):
                record.__dict__[key] = mask(value)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time (ISO 8601), level, logger, message, process, and the
    record's extra fields (python-json-logger)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["asctime", "levelname", "name", "message", "process"])
        kwargs.setdefault(
            "rename_fields",
            {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        )
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """ISO 8601 with milliseconds and the offset, as log collectors read it."""
        return (
            datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        )
