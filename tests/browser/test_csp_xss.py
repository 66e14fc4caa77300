"""The stored-XSS reproduction of issue 17 item 3 no longer runs: a service point named
`</script><script>…` reaches the province administrator's dashboard only as JSON text
(json_script), its charts still draw, and the page reports no CSP violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.browser.helpers import staff_login, wait_for_server_requests
from tests.browser.test_every_page import CSP_INIT_JS
from trafficdesk.sites.models import ServicePoint

pytestmark = pytest.mark.browser

XSS = "</script><script>window.__xss=1</script>"


def test_a_hostile_service_point_name_does_not_run_on_the_dashboard(
    browser: Any, live_server: Any, demo: Any
) -> None:
    ServicePoint.objects.filter(code="GY-HALL-01").update(name_zh=XSS, name_en=XSS)
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_INIT_JS)
    page = context.new_page()
    try:
        staff_login(page, "gz_admin")
        response = page.goto(reverse("dashboard:regional") + "?region=520100")
        assert response is not None and response.status == 200
        assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.querySelector('#chart-points'))"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss") is None
        data = page.evaluate(
            "() => JSON.parse(document.getElementById('dashboard-data').textContent)"
        )
        assert XSS in [p["name"] for p in data["points"]]
        assert page.evaluate("() => window.__cspViolations") == []
    finally:
        context.close()
        wait_for_server_requests(live_server)
