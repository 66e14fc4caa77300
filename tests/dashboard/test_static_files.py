"""Static files as production serves them: the production server (tests/real_server.py, on
the settings of trafficdesk/settings.py, after collectstatic as a deploy runs it) names
ECharts with a content hash in the dashboard page and sends it compressed (brotli, or gzip to a browser without it), cached for a year."""

from __future__ import annotations

import gzip
import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest

from tests.real_server import free_port, session_for, start_server, stop

ROOT = Path(__file__).resolve().parents[2]
ECHARTS = ROOT / "trafficdesk" / "static" / "vendor" / "echarts-5.6.0.min.js"
GEO = ROOT / "trafficdesk" / "static" / "vendor" / "geo" / "520000.json"
YEAR = 365 * 24 * 3600


@pytest.fixture
def server(transactional_db: Any, demo: Any) -> Iterator[int]:
    port = free_port()
    process = start_server(port, workers=1)
    yield port
    stop(process)


def get(port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def max_age(response: http.client.HTTPResponse) -> int:
    found = re.search(r"max-age=(\d+)", response.getheader("Cache-Control") or "")
    return int(found.group(1)) if found else 0


def test_dashboard_names_echarts_hashed_and_it_comes_compressed_and_cached(
    server: int, users: dict[str, Any]
) -> None:
    session, _csrf = session_for(users["gz_admin"])
    page = get(server, "/dashboard/", {"Cookie": f"sessionid={session}"})
    assert page.status == 200
    html = page.body.decode()  # type: ignore[attr-defined]
    found = re.findall(r'src="(/static/vendor/echarts-5\.6\.0\.min\.[0-9a-f]{12}\.js)"', html)
    assert len(found) == 1, "ECharts, by its hashed name, once"
    geo = re.search(r"/static/vendor/geo/520000\.[0-9a-f]{12}\.json", html)
    assert geo, "the map's boundaries by their hashed name"

    original = ECHARTS.read_bytes()
    for url, source in ((found[0], original), (geo.group(0), GEO.read_bytes())):
        response = get(server, url, {"Accept-Encoding": "gzip, deflate, br"})
        assert response.status == 200, url
        assert response.getheader("Content-Encoding") in {"gzip", "br"}, url
        assert "immutable" in (response.getheader("Cache-Control") or "")
        assert max_age(response) >= YEAR, response.getheader("Cache-Control")
        body: bytes = response.body  # type: ignore[attr-defined]
        assert response.getheader("Content-Encoding") == "br", "brotli, the smaller, is chosen"
        assert brotli.decompress(body) == source
        gzipped = get(server, url, {"Accept-Encoding": "gzip"})
        assert gzipped.getheader("Content-Encoding") == "gzip"
        assert gzip.decompress(gzipped.body) == source  # type: ignore[attr-defined]
        assert len(body) < len(source) / 2, (url, len(body), len(source))
        print(f"{url}: {len(source)} bytes, {len(body)} sent")  # noqa: T201

    plain = get(server, found[0], {})
    assert plain.getheader("Content-Encoding") is None
    assert plain.body == original  # type: ignore[attr-defined]
