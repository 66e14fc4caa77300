"""Access-log lines without secrets or personal data: booking and receipt tokens, number
plates, ID numbers and mobile numbers in a request's path or query string are replaced by
"***" before the line is written (gunicornconf installs `AccessLogMask` on the server's
access loggers). Importable without Django settings (the server's master process)."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from trafficdesk.core.validators import PLATE_PROVINCES

MASK = "***"

#: A bearer token: a long run of URL-safe characters mixing letters and digits (booking
#: tokens are 43, receipt tokens 32 characters; codes such as GY-HALL-01 are shorter).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{16,}")
_ID_NUMBER_RE = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
#: Wider than the plate rules (core/validators, GA 36) on purpose: anything plate-like goes.
PLATE_RE = re.compile("[" + "".join(PLATE_PROVINCES) + r"][A-HJ-NP-Z][0-9A-HJ-NP-Z]{4,6}")
_SEPARATORS_RE = re.compile(r"[\s.\-·•・‧]+")


def sensitive(value: str) -> bool:
    """Does this path segment or query value hold a token, a plate or an ID/mobile number?"""
    text = unquote_plus(value)
    if _TOKEN_RE.fullmatch(text) and re.search(r"\d", text) and re.search(r"[A-Za-z]", text):
        return True
    if _ID_NUMBER_RE.search(text) or _MOBILE_RE.search(text):
        return True
    folded = _SEPARATORS_RE.sub("", text).upper()
    folded = folded.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})  # full-width
    return bool(PLATE_RE.search(folded))


def _mask_query(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq and value and sensitive(value):
            value = MASK
        elif not eq and sensitive(key):
            key = MASK
        parts.append(f"{key}{eq}{value}")
    return "&".join(parts)


def mask_url(url: str) -> str:
    """The path (and query string) with sensitive segments and values masked."""
    path, question, query = url.partition("?")
    path = "/".join(
        MASK if segment and sensitive(segment) else segment for segment in path.split("/")
    )
    return path + question + (_mask_query(query) if question else "")


_REQUEST_LINE_RE = re.compile(r"(\S+) (\S+)( HTTP/[\d.]+)?")


def mask_text(text: str) -> str:
    """A request line ("GET /path?q HTTP/1.1"), a URL or a referer, masked."""
    match = _REQUEST_LINE_RE.fullmatch(text)
    if match and match.group(2).startswith("/"):
        return f"{match.group(1)} {mask_url(match.group(2))}{match.group(3) or ''}"
    if "://" in text:
        scheme, _sep, rest = text.partition("://")
        host, slash, tail = rest.partition("/")
        return f"{scheme}://{host}{slash}{mask_url(tail) if slash else ''}"
    if text.startswith("/"):
        return mask_url(text)
    return text


class AccessLogMask(logging.Filter):
    """For uvicorn's access logger (args: client, method, path, version, status) and
    gunicorn's (args: a dict of atoms: r request line, U path, q query, f referer)."""

    _ATOMS = ("r", "U", "q", "f")

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple):
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            masked = dict(args)
            for key in self._ATOMS:
                value = masked.get(key)
                if isinstance(value, str):
                    masked[key] = _mask_query(value) if key == "q" else mask_text(value)
            record.args = masked
        elif isinstance(record.msg, str):
            record.msg = " ".join(mask_text(word) for word in record.msg.split(" "))
        return True


#: Paths asked by machines every second or so (the balancer's health checks, the scraper):
#: answered as any request, but kept out of the access log, where they would drown the rest.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _access_parts(record: logging.LogRecord) -> tuple[str, str, str, Any] | None:
    """(client, method, path, status) of an access-log record, uvicorn's or gunicorn's."""
    args: Any = record.args
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, _version, status = args
        return str(client), str(method), str(path), status
    if isinstance(args, dict) and "m" in args:
        return str(args.get("h", "")), str(args["m"]), str(args.get("U", "")), args.get("s")
    return None


class QuietProbes(logging.Filter):
    """Drops the access-log lines of health checks and scrapes (PROBE_PATHS)."""

    def filter(self, record: logging.LogRecord) -> bool:
        parts = _access_parts(record)
        return parts is None or parts[2].partition("?")[0] not in PROBE_PATHS


class AccessFields(logging.Filter):
    """Copies an access line's parts into fields of their own (client, method, path, status),
    for the JSON log (LOG_FORMAT=json); runs after AccessLogMask, so the path is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        parts = _access_parts(record)
        if parts is not None:
            record.client, record.method, record.path, record.status = parts
        return True
