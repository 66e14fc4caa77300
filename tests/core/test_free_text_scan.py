"""FreeTextMiddleware scans a JSON body's raw bytes before it parses it: only a body that may
hold a refused character is parsed (to name the field). The scan must miss none of them, in
any way JSON can carry them, and must let an ordinary body through unparsed."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from django.test import Client

from trafficdesk.core import middleware
from trafficdesk.core.middleware import may_hold_forbidden_text
from trafficdesk.core.validators import FORBIDDEN_TEXT_CHARS_RE

FORBIDDEN = [chr(c) for c in range(0x110000) if FORBIDDEN_TEXT_CHARS_RE.match(chr(c))]
TRAVELLER = {
    "name": "张三丰",
    "id_number": "11010519491231002X",
    "mobile": "13912345678",
    "plate": "贵A12345",
    "origin": "520115",
    "destination": "贵阳市南明区",
    "passengers": "2",
}
URL = "/api/v1/checkpoints/GY-N-TOLL/registrations"


def encodings(document: Any) -> dict[str, bytes]:
    """Every way a client may send the document that json.loads reads."""
    text = json.dumps(document, ensure_ascii=False)
    return {
        "utf-8": text.encode(),
        "escaped": json.dumps(document).encode(),
        "utf-16": text.encode("utf-16"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-32": text.encode("utf-32"),
    }


def test_the_forbidden_set_is_what_the_scan_was_written_for() -> None:
    assert len(FORBIDDEN) == 9 + 2 + 18 + 1 + 32 + 5 + 4


@pytest.mark.parametrize("char", FORBIDDEN, ids=[f"U+{ord(c):04X}" for c in FORBIDDEN])
def test_the_scan_misses_no_forbidden_character_in_any_encoding(char: str) -> None:
    for name, body in encodings({"rows": [{"note": f"a{char}b"}]}).items():
        assert may_hold_forbidden_text(body), (name, body)
        assert json.loads(body)["rows"][0]["note"] == f"a{char}b"  # json.loads reads it


def test_an_ordinary_body_is_not_parsed_by_the_middleware(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The negative control of the saving: the middleware's own parse is skipped for a plain
    UTF-8 body (with tabs and line breaks, which are allowed) and the registration goes on."""
    parsed: list[bytes] = []
    real = middleware.json.loads

    def counting(body: Any, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_filename == middleware.__file__:  # the middleware's own
            parsed.append(body)
        return real(body, *args, **kwargs)

    monkeypatch.setattr(middleware.json, "loads", counting)
    body = dict(TRAVELLER, destination="贵阳市\t南明区\r\n花果园")
    assert not may_hold_forbidden_text(encodings(body)["utf-8"])
    answer = Client().post(URL, encodings(body)["utf-8"], content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert parsed == []
    hostile = encodings(dict(TRAVELLER, name="张\u202e三"))["utf-8"]
    refused = Client().post(URL, hostile, content_type="application/json")
    assert refused.status_code == 422 and parsed == [hostile]


@pytest.mark.parametrize("encoding", ["utf-8", "escaped", "utf-16", "utf-32"])
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\u202e", "\u2066", "\x08", "\x0c"])
def test_a_raw_or_escaped_control_character_is_refused_through_the_api(
    demo: Any, encoding: str, char: str
) -> None:
    from trafficdesk.checkpoint.models import Registration

    body = encodings(dict(TRAVELLER, destination=f"贵阳{char}南明"))[encoding]
    answer = Client(HTTP_ACCEPT_LANGUAGE="en").post(URL, body, content_type="application/json")
    assert answer.status_code == 422, answer.content
    problem = answer.json()
    assert problem["code"] == "text.control" and problem["field"] == "destination"
    assert problem["error_codes"] == {"destination": "text.control"}
    assert "invisible control character" in problem["errors"]["destination"]
    assert not Registration.objects.exists()
