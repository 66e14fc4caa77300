"""The public "what is open near me" page (/open/) in a real browser, without logging in.

A citizen chooses a county, a business and who they are; htmx swaps the answer into
#results and pushes the query into the address bar. Every expectation about which points
are open or closed, and why, is computed here with `policy.services.open_services` (the
same engine the page uses) and `policy.citizen` (the plain sentences) rather than
hard-coded; the tests only pin the demo facts the scenario depends on (观山湖区 is LOW with
GY-HALL-01, 南明区 is MEDIUM with GY-QC-NM, 乌当区 has no office, 遵义 is 100+ km away).
Citizens read one plain sentence of why; the engine's precise rules are shown to staff only.

Labels come from Django's translation machinery (zh-hans / en), as in test_role_navigation."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from trafficdesk.catalog.models import Business
from trafficdesk.policy import citizen
from trafficdesk.policy.services import OpenServices, PointAnswer, open_services
from trafficdesk.regions.models import Region

pytestmark = pytest.mark.browser

GUANSHANHU = "520115"  # 观山湖区, LOW, GY-HALL-01 (vehicle administration hall)
NANMING = "520102"  # 南明区, MEDIUM, GY-QC-NM (accident quick-claim centre)
HALL = "GY-HALL-01"
QUICK_CLAIM = "GY-QC-NM"
NEW_CAR_PLATES = "P01"  # 新车注册登记并核发号牌: on site only
QUICK_CLAIM_BUSINESS = "A01"  # 交通事故快处快赔定责理赔
# 补领机动车号牌: online, and also served at GY-HALL-01's windows. The form's business list
# offers only on-site businesses (none is both online and on-site in the catalogue), so this
# one is reached by its URL, as a link or a bookmark would.
LOST_PLATE_ONLINE = "V01"

PHONE = {"width": 390, "height": 844}
NOT_A_COUNTY = "999999"
WUDANG = "520112"  # 乌当区: no office of its own, Guiyang's offices within 50 km
HUICHUAN = "520303"  # 遵义市汇川区: Guiyang's offices are 100+ km away
JARGON = re.compile(r"第\s*\d\s*阶段|phase \d|R\d+\.")
STAFF_HINT_RULE = "R12.MORE_WINDOWS"


def plain(answer: PointAnswer, language: str = "zh-hans") -> str:
    with translation.override(language):
        return citizen.plain_reason(
            answer.decision, answer.point.kind, open_windows=answer.open_windows
        )


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def en(message: str) -> str:
    with translation.override("en"):
        return gettext(message)


def expected(county: str, business: str, applicant_class: str = "GENERAL") -> OpenServices:
    """What the engine answers for this question, computed in the test process."""
    region = Region.objects.select_related("parent").get(code=county)
    found = Business.objects.select_related("category").get(code=business)
    return open_services(region, found, applicant_class)


def answer_for(answers: list[PointAnswer], code: str) -> PointAnswer:
    by_code = {a.point.code: a for a in answers}
    assert code in by_code, f"{code} not in {sorted(by_code)}"
    return by_code[code]


def open_url(county: str, business: str, applicant_class: str = "GENERAL") -> str:
    query = urlencode({"county": county, "business": business, "class": applicant_class})
    return f"{reverse('policy:open')}?{query}"


def codes(section: Any) -> list[str]:
    articles = section.locator("article[data-code]")
    return [articles.nth(i).get_attribute("data-code") for i in range(articles.count())]


def shown_reasons(article: Any) -> list[tuple[str, str]]:
    items = article.locator("li[data-rule]")
    return [
        (items.nth(i).get_attribute("data-rule"), items.nth(i).inner_text().strip())
        for i in range(items.count())
    ]


def assert_assets_load(page: Any) -> None:
    """The stylesheet and htmx answer 200; without htmx the form falls back to a full page
    load, and without the stylesheet the phone layout means nothing."""
    sources = page.evaluate(
        """() => [...document.querySelectorAll('link[rel=stylesheet][href], script[src]')]
                 .map(e => e.getAttribute('href') || e.getAttribute('src'))"""
    )
    assert any("htmx" in s for s in sources), sources
    broken = {s: status for s in sources if (status := page.request.get(s).status) != 200}
    assert not broken, f"static assets do not load: {broken}"
    assert page.evaluate("() => typeof window.htmx") == "object", "htmx did not start"


def ask_with_htmx(page: Any, county: str, business: str, applicant_class: str = "GENERAL") -> Any:
    """Fill the form and submit it; htmx answers in place. Checks that it was an htmx request,
    that the page was not reloaded and that the query was pushed to the address bar; returns
    the #results locator."""
    script = page.locator("script[src*=htmx]").get_attribute("src")
    assert page.evaluate("() => typeof window.htmx") == "object", (
        f"htmx is not running: {script} answered {page.request.get(script).status}"
    )
    form = page.get_by_test_id("open-form")
    form.locator("#county").select_option(county)
    form.locator("#business").select_option(business)
    form.locator("#class").select_option(applicant_class)
    # A marker on window survives an htmx swap but not a page load.
    page.evaluate("() => { window.__sameDocument = true; }")
    path = reverse("policy:open")
    with page.expect_response(
        lambda r: urlsplit(r.url).path == path and r.request.headers.get("hx-request") == "true"
    ) as info:
        form.locator("button[type=submit]").click()
    response = info.value
    assert response.status == 200, response.status
    pushed = {"county": [county], "business": [business], "class": [applicant_class]}
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query) == pushed)
    assert urlsplit(page.url).path == path
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    results = page.locator("#results")
    results.get_by_test_id("online").wait_for()
    return results


def check_guanshanhu_new_car(page: Any) -> Any:
    """Case 1: 观山湖区 + P01 as GENERAL lists GY-HALL-01 as open, walk-ins welcome."""
    answer = expected(GUANSHANHU, NEW_CAR_PLATES)
    hall = answer_for(answer.open, HALL)
    # The demo facts this scenario rests on.
    assert hall.decision.risk_level == "LOW"
    assert not hall.decision.appointment_required
    rules = [r.rule for r in hall.decision.reasons]
    assert "R1.LOW.OPEN" in rules

    page.goto(reverse("policy:open"))
    assert_assets_load(page)
    assert page.get_by_test_id("open-points").count() == 0
    results = ask_with_htmx(page, GUANSHANHU, NEW_CAR_PLATES)

    open_points = results.get_by_test_id("open-points")
    assert codes(open_points) == [a.point.code for a in answer.open]
    article = open_points.locator(f"article[data-code='{HALL}']")
    text = article.inner_text()
    assert zh("Walk-ins welcome.") in text
    assert zh("By appointment only.") not in text
    assert f"{zh('Open windows for this business')}: {hall.open_windows}" in text
    # Citizens see how the place serves them, not the rules, and never the staff hint.
    assert shown_reasons(article) == []
    assert "建议根据需求增开窗口" not in results.inner_text()
    assert article.get_by_test_id("distance").inner_text().startswith("约 ")
    assert "0851-" in text
    assert results.get_by_test_id("none-open").count() == 0
    closed = results.get_by_test_id("closed-points")
    assert codes(closed) == [a.point.code for a in answer.closed]
    assert HALL not in codes(closed)
    assert results.get_by_test_id("online").inner_text().strip() == zh(
        "This business needs you on site."
    )
    return results


def test_open_point_with_walk_ins_in_a_low_risk_county(page: Any, demo: Any) -> None:
    check_guanshanhu_new_car(page)


def test_phone_sized_screen_needs_no_horizontal_scrolling(
    browser: Any, live_server: Any, demo: Any
) -> None:
    context = browser.new_context(
        locale="zh-CN",
        base_url=live_server.url,
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        results = check_guanshanhu_new_car(page)
        assert page.evaluate("() => window.innerWidth") == PHONE["width"]
        assert page.get_by_test_id("open-form").is_visible()
        assert results.get_by_test_id("open-points").is_visible()
        scroll_width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert scroll_width <= PHONE["width"] + 1, f"page is {scroll_width}px wide"
        for testid in ("open-form", "open-points", "online"):
            box = page.get_by_test_id(testid).bounding_box()
            assert box is not None and box["x"] >= 0, testid
            assert box["x"] + box["width"] <= PHONE["width"] + 1, f"{testid}: {box}"
    finally:
        context.close()


def test_quick_claim_centre_closed_until_phase_3_in_a_medium_risk_county(
    page: Any, demo: Any
) -> None:
    answer = expected(NANMING, QUICK_CLAIM_BUSINESS)
    centre = answer_for(answer.closed, QUICK_CLAIM)
    assert not centre.decision.open
    # MEDIUM caps Guiyang's phase 3 at 2; quick-claim centres reopen in phase 3.
    assert centre.decision.risk_level == "MEDIUM"
    assert centre.decision.effective_phase == 2
    assert "R3.POINT_KIND_NOT_YET" in [r.rule for r in centre.decision.reasons]

    page.goto(reverse("policy:open"))
    results = ask_with_htmx(page, NANMING, QUICK_CLAIM_BUSINESS)

    closed = results.get_by_test_id("closed-points")
    assert codes(closed) == [a.point.code for a in answer.closed]
    article = closed.locator(f"article[data-code='{QUICK_CLAIM}']")
    why = article.get_by_test_id("why").inner_text().strip()
    assert (
        why == plain(centre) == "该地区为中风险地区，此类场所（快处快赔中心）将在后续阶段恢复开放。"
    )
    assert not JARGON.search(article.inner_text()), article.inner_text()
    assert shown_reasons(article) == []
    assert "0851-" in article.inner_text()

    open_points = results.get_by_test_id("open-points")
    assert codes(open_points) == [a.point.code for a in answer.open]
    nearby = results.get_by_test_id("nearby")
    if answer.open:
        assert results.get_by_test_id("none-open").count() == 0
    else:
        assert results.get_by_test_id("none-open").inner_text().strip() == zh(
            "No service point in this county offers this business to you today."
        )
    if answer.nearby:
        shown = codes(nearby)
        assert shown == [a.point.code for a in answer.nearby]
        assert QUICK_CLAIM not in shown
    else:
        # Nothing open within 50 km: no empty "open nearby" section, but a plain statement.
        assert nearby.count() == 0
        assert results.get_by_test_id("none-near").is_visible()


def test_nearby_places_are_within_50_km_with_their_distance(page: Any, demo: Any) -> None:
    answer = expected(WUDANG, NEW_CAR_PLATES)
    assert not answer.open and answer.nearby
    page.goto(open_url(county=WUDANG, business=NEW_CAR_PLATES))
    nearby = page.get_by_test_id("nearby")
    assert codes(nearby) == [a.point.code for a in answer.nearby]
    distances = nearby.get_by_test_id("distance").all_inner_texts()
    kms = [int(re.search(r"约 (\d+) 公里", d).group(1)) for d in distances]  # type: ignore[union-attr]
    assert kms == [max(1, round(a.km)) for a in answer.nearby if a.km is not None]
    assert kms == sorted(kms) and all(k <= 50 for k in kms)
    assert zh("Open within %(radius_km)s km") % {"radius_km": 50} in nearby.inner_text()


def test_zunyi_is_not_offered_guiyang_as_nearby(page: Any, demo: Any) -> None:
    answer = expected(HUICHUAN, NEW_CAR_PLATES)
    assert answer.nearby == []
    page.goto(open_url(county=HUICHUAN, business=NEW_CAR_PLATES))
    assert page.get_by_test_id("nearby").count() == 0
    assert page.get_by_test_id("none-near").inner_text().strip() == zh(
        "No open place for this business within %(km)s km."
    ) % {"km": 50}
    assert "GY-" not in (page.locator("#results").inner_html() or "")


def test_staff_see_the_precise_rules_without_the_staff_hint_for_citizens(
    page: Any, demo: Any
) -> None:
    from tests.browser.helpers import staff_login

    low = answer_for(expected(GUANSHANHU, NEW_CAR_PLATES).open, HALL)
    assert STAFF_HINT_RULE in [r.rule for r in low.decision.reasons]
    staff_login(page, "gz_admin")
    page.goto(open_url(county=GUANSHANHU, business=NEW_CAR_PLATES))
    hall = page.locator(f"#results [data-testid=open-points] article[data-code='{HALL}']")
    hall.get_by_test_id("rules").locator("summary").click()
    assert shown_reasons(hall) == [
        (r.rule, r.zh) for r in low.decision.reasons if r.rule != STAFF_HINT_RULE
    ]


def test_online_alternative_is_shown(page: Any, demo: Any) -> None:
    answer = expected(GUANSHANHU, LOST_PLATE_ONLINE)
    assert answer.online
    # A window also serves it, so the page offers both the hall and the online route.
    assert HALL in [a.point.code for a in answer.open]

    response = page.goto(open_url(county=GUANSHANHU, business=LOST_PLATE_ONLINE))
    assert response is not None and response.status == 200
    results = page.locator("#results")
    assert codes(results.get_by_test_id("open-points")) == [a.point.code for a in answer.open]
    online = results.get_by_test_id("online")
    assert online.locator("strong").inner_text().strip() == zh(
        "This business can also be done online, at every risk level."
    )
    link = online.get_by_test_id("online-link")
    assert link.get_attribute("href") == reverse("online:apply", args=[LOST_PLATE_ONLINE])

    # An on-site-only business, asked through the form, turns the online note off.
    ask_with_htmx(page, GUANSHANHU, NEW_CAR_PLATES)
    assert online.inner_text().strip() == zh("This business needs you on site.")


def test_a_high_risk_county_far_from_any_office_is_offered_the_online_version(
    page: Any, demo: Any
) -> None:
    honghuagang = "520302"  # 遵义市红花岗区: HIGH in the demo, no office within 50 km
    answer = expected(honghuagang, LOST_PLATE_ONLINE)
    assert not answer.open and not answer.nearby
    page.goto(open_url(county=honghuagang, business=LOST_PLATE_ONLINE))
    results = page.locator("#results")
    assert results.get_by_test_id("none-open").is_visible()
    assert results.get_by_test_id("none-near").is_visible()
    assert results.get_by_test_id("online-link").get_attribute("href") == reverse(
        "online:apply", args=[LOST_PLATE_ONLINE]
    )
    assert not JARGON.search(results.inner_text())


def test_reasons_in_english(page: Any, demo: Any) -> None:
    medium = answer_for(expected(NANMING, QUICK_CLAIM_BUSINESS).closed, QUICK_CLAIM)

    page.goto(open_url(county=GUANSHANHU, business=NEW_CAR_PLATES))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    hall = page.locator(f"#results [data-testid=open-points] article[data-code='{HALL}']")
    assert zh("Walk-ins welcome.") in hall.inner_text()

    select = page.locator("form.lang select[name=language]")
    with page.expect_navigation():
        select.select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"
    # The switch comes back to the same question, now answered in English.
    assert parse_qs(urlsplit(page.url).query)["county"] == [GUANSHANHU]
    assert page.locator("main h1").inner_text().strip() == en("What is open near me")
    assert en("Walk-ins welcome.") in hall.inner_text()
    assert re.search(r"about \d+ km", hall.get_by_test_id("distance").inner_text())

    # The htmx fragment is in English too: one plain sentence, no phase numbers.
    results = ask_with_htmx(page, NANMING, QUICK_CLAIM_BUSINESS)
    centre = results.locator(f"[data-testid=closed-points] article[data-code='{QUICK_CLAIM}']")
    why = centre.get_by_test_id("why").inner_text().strip()
    assert (
        why
        == plain(medium, "en")
        == (
            "This area is at medium risk, and this kind of office (accident quick-claim centre)"
            " reopens in a later phase."
        )
    )
    assert shown_reasons(centre) == []


def test_unknown_county_is_a_clear_422(page: Any, demo: Any) -> None:
    response = page.goto(open_url(county=NOT_A_COUNTY, business=NEW_CAR_PLATES))
    assert response is not None
    assert response.status == 422, response.status
    alert = page.get_by_role("alert")
    assert alert.inner_text().strip() == zh("Choose a county.")
    assert page.locator("main h1").inner_text().strip() == zh("What is open near me")
    # The form is still there to correct the choice; no answer is given.
    assert page.get_by_test_id("open-form").is_visible()
    for testid in ("open-points", "closed-points", "nearby", "online", "none-open"):
        assert page.get_by_test_id(testid).count() == 0, testid
