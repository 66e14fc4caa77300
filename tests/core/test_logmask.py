"""The access-log mask (trafficdesk/core/logmask.py); the real server's log is checked in
tests/security/test_behind_proxy.py."""

from __future__ import annotations

import logging

from trafficdesk.core.logmask import AccessLogMask, mask_text

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"


def test_tokens_plates_and_numbers_are_masked_codes_are_not() -> None:
    assert mask_text(f"GET /booking/b/{TOKEN}/cancel/?x=1 HTTP/1.1") == (
        "GET /booking/b/***/cancel/?x=1 HTTP/1.1"
    )
    assert mask_text("/deferral/lookup/?query=%E8%B4%B5A12345&days=14") == (
        "/deferral/lookup/?query=***&days=14"
    )
    assert mask_text("/x/?id=520102199001011234&m=13912345678&plate=贵a·12345") == (
        "/x/?id=***&m=***&plate=***"
    )
    assert mask_text("/c/GY-HALL-01/r/0123456789abcdef0123456789abcdef/") == "/c/GY-HALL-01/r/***/"
    assert mask_text("/api/v1/regions/520102/risk") == "/api/v1/regions/520102/risk"
    assert mask_text(f"https://h.example/booking/b/{TOKEN}/") == "https://h.example/booking/b/***/"


def test_the_filter_masks_uvicorn_and_gunicorn_records() -> None:
    uvicorn = logging.LogRecord(
        "uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/booking/b/{TOKEN}/", "1.1", 200), None,
    )  # fmt: skip
    assert AccessLogMask().filter(uvicorn) and TOKEN not in uvicorn.getMessage()
    gunicorn = logging.LogRecord("gunicorn.access", 20, "", 0, "%(r)s %(f)s", None, None)
    gunicorn.args = {"r": f"GET /booking/b/{TOKEN}/ HTTP/1.1", "f": f"https://h/b/{TOKEN}/"}
    assert AccessLogMask().filter(gunicorn) and TOKEN not in gunicorn.getMessage()
