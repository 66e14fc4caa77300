from urllib.parse import urlsplit
from django.urls import reverse
import pytest
pytestmark = pytest.mark.browser
def test_dbg(page, demo, transactional_db):
    reqs = []
    page.on("request", lambda r: reqs.append((r.url, r.resource_type, r.headers)))
    page.on("console", lambda m: print("CONSOLE", m.type, m.text))
    page.goto(reverse("policy:open"))
    print("htmx?", page.evaluate("() => typeof window.htmx"))
    page.locator("#county").select_option("520115")
    page.locator("#business").select_option("P01")
    page.locator("[data-testid=open-form] button[type=submit]").click()
    page.wait_for_timeout(2000)
    for u, t, h in reqs: print(u, t, {k:v for k,v in h.items() if k.startswith("hx")})
    print(page.url)
    print(page.locator("#results").inner_html()[:500])
