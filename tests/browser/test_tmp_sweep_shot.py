from typing import Any
import pytest
from tests.browser.helpers import staff_login
pytestmark = pytest.mark.browser
def test_shot(phone: Any, demo: Any) -> None:
    phone.goto("/")
    phone.screenshot(path="/tmp/sweep/home.png", full_page=True)
def test_shot_clerk(browser: Any, live_server: Any, demo: Any) -> None:
    ctx = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    staff_login(page, "auditor")
    page.goto("/audit/")
    page.screenshot(path="/tmp/sweep/audit.png")
    ctx.close()
