"""Every page of the site, as each role sees it on a 390 px phone in zh-Hans: no visible English
(outside a short allow-list of codes and units), no serious or critical axe-core violation, no
sideways scroll (in zh-Hans and in en), and every citizen page under 200 KB compressed on its
first load.

PAGES names every page explicitly, with the demo objects' codes; objects the demo does not have
(a booking, an online application, a registration at the toll station, a draw) are made first
through the services, and their keys fill the {placeholders}. `test_every_page_is_crawled`
fails when the URL conf gains a page that PAGES does not visit.

The offenders are printed with their page, and written to test-results/every_page.json. Set
EVERY_PAGE_ROLES=citizen,clerk to crawl only some roles while fixing pages."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from tests.browser.helpers import is_offsite, wait_for_server_requests
from trafficdesk.demo.services import DEMO_AGENT_MOBILE, DEMO_CITIZEN_MOBILE, DEMO_PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REPORT = ROOT / "test-results" / "every_page.json"
PHONE_WIDTH = 390
CITIZEN_PAGE_LIMIT = 200 * 1024
SMS_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Visit:
    """One page as one role sees it: a URL name, its arguments (a "{placeholder}" is filled
    with the key of an object made for the crawl), and a query string."""

    role: str
    name: str
    args: tuple[str, ...] = ()
    query: str = ""

    def url(self, keys: dict[str, str]) -> str:
        path = reverse(self.name, args=[a.format(**keys) for a in self.args])
        return path + (f"?{self.query.format(**keys)}" if self.query else "")


#: Who logs in how: SMS code for citizens (a mobile), the staff form for the others.
ROLES: dict[str, str] = {
    "visitor": "",
    "citizen": DEMO_CITIZEN_MOBILE,
    "agent": DEMO_AGENT_MOBILE,
    "clerk": "clerk",
    "manager": "manager",
    "gz_admin": "gz_admin",
    "officer": "officer",
    "auditor": "auditor",
}
CITIZEN_ROLES = {"visitor", "citizen", "agent"}

HALL, TOLL, NANMING, GUANSHANHU = "GY-HALL-01", "GY-N-TOLL", "520102", "520115"

PAGES: tuple[Visit, ...] = (
    # Anyone, not logged in.
    Visit("visitor", "dashboard:home"),
    Visit("visitor", "policy:open"),
    Visit("visitor", "policy:open", query=f"county={NANMING}&business=P01"),
    Visit("visitor", "policy:open", query="county=520302&business=X03"),
    Visit("visitor", "sites:list"),
    Visit("visitor", "catalog:list"),
    Visit("visitor", "accounts:staff-login"),
    Visit("visitor", "accounts:citizen-login"),
    Visit("visitor", "register", (TOLL,)),
    Visit("visitor", "receipt", (TOLL, "{registration}")),
    Visit("visitor", "hallqueue:board", (HALL,)),
    # The kiosk issues tickets only when registered (or to the hall's staff): see below.
    Visit("visitor", "hallqueue:kiosk-pair", (HALL,), query="code=not-a-real-code"),
    Visit("visitor", "booking:rush-list"),
    Visit("visitor", "booking:rush", ("{rush}",)),
    # A citizen, logged in by SMS code.
    Visit("citizen", "dashboard:home"),
    Visit("citizen", "accounts:me"),
    Visit("citizen", "accounts:realname"),
    Visit("citizen", "booking:choose"),
    Visit("citizen", "booking:choose", query=f"business=P01&county={GUANSHANHU}"),
    Visit("citizen", "booking:choose", query=f"business=P01&county={NANMING}"),
    Visit("citizen", "booking:places", query=f"business=P01&county={GUANSHANHU}&class=GENERAL"),
    Visit("citizen", "booking:places", query="business=P01&county=520303&class=GENERAL"),
    Visit("citizen", "booking:point", (HALL,), query=f"business=P01&county={GUANSHANHU}"),
    Visit("citizen", "booking:point", ("GY-QC-NM",), query=f"business=A01&county={NANMING}"),
    Visit("citizen", "booking:places", query=f"business=P01&county={GUANSHANHU}"),
    Visit("citizen", "booking:places", query=f"business=P01&county={NANMING}"),
    Visit("citizen", "booking:book", ("{slot}",), query="business=P01"),
    Visit("citizen", "booking:mine"),
    Visit("citizen", "booking:detail", ("{booking}",)),
    Visit("citizen", "booking:reschedule", ("{booking}",)),
    Visit("citizen", "booking:cancel", ("{booking}",)),
    Visit("citizen", "online:catalogue"),
    Visit("citizen", "online:apply", ("D01",)),
    Visit("citizen", "online:mine"),
    Visit("citizen", "online:detail", ("{application}",)),
    Visit("citizen", "online:withdraw", ("{application}",)),
    Visit("citizen", "enterprises:mine"),
    Visit("citizen", "booking:rush", ("{rush}",)),
    Visit("citizen", "policy:open", query=f"county={NANMING}&business=L03"),
    # The agent of the demo enterprise.
    Visit("agent", "enterprises:mine"),
    Visit("agent", "enterprises:detail", ("{enterprise}",)),
    Visit("agent", "booking:fleet", ("{enterprise}",)),
    Visit("agent", "online:fleet", ("{enterprise}",)),
    # A window clerk of the Guiyang hall.
    Visit("clerk", "dashboard:home"),
    Visit("clerk", "hallqueue:console"),
    Visit("clerk", "hallqueue:kiosk", (HALL,)),
    Visit("clerk", "deferral:lookup"),
    Visit("clerk", "online:queue"),
    Visit("clerk", "online:detail", ("{application}",)),
    Visit("clerk", "online:phone", ("D01",)),
    Visit("clerk", "booking:claims"),
    Visit("clerk", "enterprises:review"),
    Visit("clerk", "sites:mine"),
    Visit("clerk", "booking:calendar"),
    Visit("clerk", "booking:detail", ("{booking}",)),
    Visit("clerk", "accounts:me"),
    # The hall manager.
    Visit("manager", "dashboard:home"),
    Visit("manager", "hallqueue:my-hall"),
    Visit("manager", "hallqueue:manager", (HALL,)),
    Visit("manager", "hallqueue:kiosks", (HALL,)),
    Visit("manager", "planner"),
    Visit("manager", "booking:calendar", query=f"point={HALL}"),
    # The provincial administrator.
    Visit("gz_admin", "dashboard:home"),
    Visit("gz_admin", "dashboard:regional"),
    Visit("gz_admin", "national:dashboard"),
    Visit("gz_admin", "regions:risk"),
    Visit("gz_admin", "regions:risk-import"),
    Visit("gz_admin", "regions:risk-change", (NANMING,)),
    Visit("gz_admin", "policy:overview"),
    Visit("gz_admin", "deferral:report"),
    Visit("gz_admin", "enterprises:review"),
    Visit("gz_admin", "booking:claims"),
    Visit("gz_admin", "planner"),
    Visit("gz_admin", "booking:calendar", query="point=GY-EXAM-01"),
    Visit("gz_admin", "booking:rush-list"),
    Visit("gz_admin", "booking:rush", ("{rush}",)),
    Visit("gz_admin", "staff:list"),
    Visit("gz_admin", "staff:list", query="role=clerk&status=active"),
    Visit("gz_admin", "staff:new"),
    Visit("gz_admin", "staff:edit", ("clerk",)),
    Visit("gz_admin", "staff:password-change"),
    # The checkpoint officer.
    Visit("officer", "dashboard:home"),
    Visit("officer", "checkpoint:list"),
    Visit("officer", "checkpoint:console", (TOLL,)),
    # The auditor.
    Visit("auditor", "dashboard:home"),
    Visit("auditor", "audit:log"),
    Visit("auditor", "accounts:me"),
)

#: URL names that are not pages, and why.
NOT_PAGES: dict[str, str] = {
    "accounts:logout": "a POST that redirects",
    "accounts:realname-remove": "a POST from the real-name page "
    "(tests/booking/test_realname.py::test_the_pages_bind_declare_and_book_for_a_family_member)",
    "booking:make-slots": "a POST from the service point page",
    "notify:receipt-aliyun": "the SMS provider's delivery receipts (a POST)",
    "notify:receipt-tencent": "the SMS provider's delivery receipts (a POST)",
    "accounts:citizen-verify": "a POST; its code page is checked during the SMS login",
    "staff:active": "a POST from the staff account page",
    "staff:reset-password": "a POST from the staff account page; its answer shows "
    "the temporary password (tests/browser/test_staff_management.py)",
    "staff:unlock": "a POST from the staff account page",
    "booking:ics": "the booking's calendar file (tests/browser/test_booking_visit.py)",
    "booking:no-show": "a POST from the booking page",
    "booking:rush-open": "a POST from the calendar",
    "booking:rush-change": "a POST from the draw page",
    "booking:rush-offer": "a POST from the draw page",
    "booking:rush-record": "the draw's JSON record, a file",
    "booking:claim-evidence": "a claim's permit, a file",
    "booking:rush-events": "an event stream",
    "checkpoint:console-events": "an event stream",
    "checkpoint:export": "a file export",
    "checkpoint:qr": "an image",
    "checkpoint:origin": "an htmx fragment of the registration page, checked there",
    "hallqueue:board-events": "an event stream",
    "hallqueue:board-state": "a fragment of the call display, checked there",
    "hallqueue:hall-events": "an event stream",
    "hallqueue:console-action": "a POST from the console",
    "online:act": "a POST from the application page",
    "healthz": "the load balancer's liveness check, JSON (tests/core/test_health_and_metrics.py)",
    "readyz": "the load balancer's readiness check, JSON (tests/core/test_health_and_metrics.py)",
    "metrics": "Prometheus's scrape, text (tests/core/test_health_and_metrics.py)",
}
SKIPPED_PREFIXES = ("api/", "admin/", "i18n/", "static/", "media/")

# --- What may be Latin on a Chinese page -------------------------------------------------
ALLOWED_WORDS = {
    "QR",
    "API",
    "ID",
    "SMS",
    "PDF",
    "Excel",
    "CSV",
    "XLSX",
    "ICS",
    "PNG",
    "JPG",
    "JPEG",
    "SVG",
    "km",
    "m",
    "KB",
    "MB",
    "GB",
    "T",  # GB/T 2260
    "English",  # the language switch names each language in itself
    "TrafficDesk",  # the product's name
    "EMS",
    "SHA",
    "SHA-256",
    "VIN",
}
ALLOWED_PATTERNS = (  # in this order: a longer code first, before its digits look like an ID
    re.compile(r"\b[0-9a-f]{16,64}\b"),  # hashes (the draw's published seed)
    # Reference numbers and registration codes (WS2026…, a USCC): letters and digits, long.
    re.compile(r"(?<![A-Za-z0-9])(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{10,20}(?![A-Za-z0-9])"),
    # Short booking numbers, as printed and spoken: 7KQ4 M2XP.
    re.compile(r"(?<![A-Za-z0-9])[0-9A-Z]{4} [0-9A-Z]{4}(?![A-Za-z0-9])"),
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail
    re.compile(r"https?://\S+|\b[\w-]+(\.[\w-]+)+/\S*"),  # URL
    re.compile(
        r"[\u4e00-\u9fff][A-Z][A-Z0-9*·•]{4,6}"
    ),  # plates, masked or not: 贵A88001, 贵A***01
    re.compile(r"[0-9*]{6,17}[0-9Xx*]"),  # ID numbers, masked or not
    re.compile(r"(?<![A-Za-z])(?:[ABC][1-6]|[DEFMNP])(?![A-Za-z0-9])"),  # licence classes
    re.compile(r"(?<![A-Za-z])[A-Z]\d{2,4}(?![A-Za-z0-9])"),  # queue tickets: A012
    re.compile(
        r"(?<![A-Za-z0-9])[A-Z](?=[A-Z0-9]*\d{3})[A-Z0-9]{5}(?![A-Za-z0-9])"
    ),  # a plate's tail: A12345
    # Key caps of keyboard shortcuts, as printed on the keys (the window console: F1, R, Esc).
    re.compile(r"(?<![A-Za-z0-9])(?:F[1-9]|Esc|[NR])(?![A-Za-z0-9])"),
)
# A business code (L03) looks like a ticket; one in a sentence about businesses is caught by
# the raw-code check below.
BUSINESS_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Z]\d{2}(?![A-Za-z0-9])")
LATIN = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class Vocabulary:
    """What the database says may look Latin: business codes (never shown) and the staff's
    login names (shown as who did what)."""

    codes: frozenset[str]
    usernames: re.Pattern[str] | None = None


def vocabulary() -> Vocabulary:
    from trafficdesk.accounts.models import Role, User
    from trafficdesk.catalog.models import Business

    names = User.objects.exclude(role=Role.CITIZEN).values_list("username", flat=True)
    pattern = "|".join(sorted((re.escape(n) for n in names if n), key=len, reverse=True))
    return Vocabulary(
        frozenset(Business.objects.values_list("code", flat=True)),
        re.compile(rf"(?<![\w])(?:{pattern})(?![\w])") if pattern else None,
    )


def latin_offenders(text: str, known: Vocabulary) -> list[str]:
    """The lines of `text` that show Latin words outside the allow-list, or business codes."""
    found = []
    for line in {part.strip() for part in text.splitlines()}:
        if not line:
            continue
        if any(code in known.codes for code in BUSINESS_CODE.findall(line)):
            found.append(line)
            continue
        cleaned = known.usernames.sub(" ", line) if known.usernames else line
        for pattern in ALLOWED_PATTERNS:
            cleaned = pattern.sub(" ", cleaned)
        words = [w.strip("'’-") for w in LATIN.findall(cleaned)]
        if any(w and w not in ALLOWED_WORDS for w in words):
            found.append(line)
    return sorted(found)


VISIBLE_TEXT_JS = """() => {
  const out = [document.title, document.body ? document.body.innerText : ''];
  const attrs = ['placeholder', 'title', 'aria-label', 'alt'];
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label],[alt]')) {
    for (const a of attrs) { const v = el.getAttribute(a); if (v) out.push(v); }
  }
  for (const o of document.querySelectorAll('option')) out.push(o.textContent);
  for (const b of document.querySelectorAll('input[type=submit],input[type=button]')) out.push(b.value);
  return out.join('\\n');
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3)
      .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160))
      .join(' | '));
}"""

#: The site's stylesheet sets the body's margin to 0: a page without it is not judged on layout.
STYLED_JS = "() => getComputedStyle(document.body).marginTop === '0px'"

RESOURCES_JS = """() => performance.getEntriesByType('resource')
  .filter(e => !e.name.includes('/events'))
  .map(e => e.name)"""


@dataclass
class Findings:
    english: dict[str, list[str]] = field(default_factory=dict)
    axe: dict[str, list[str]] = field(default_factory=dict)
    scroll: dict[str, str] = field(default_factory=dict)
    weight: dict[str, int] = field(default_factory=dict)
    heavy: dict[str, int] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    offsite: dict[str, list[str]] = field(default_factory=dict)
    """Requests the browser made to a host other than the live server's (a CDN, a font or
    map service): on a closed network the page would break."""
    csp: dict[str, list[str]] = field(default_factory=dict)
    """Content-Security-Policy violations the page reported (securitypolicyviolation events):
    an inline script, handler or style element the policy blocks, so the page is broken."""
    axe_skipped: str = ""

    def distinct_english(self) -> set[str]:
        return {line for lines in self.english.values() for line in lines}

    def distinct_words(self) -> set[str]:
        """The offending Latin words and codes themselves, each once."""
        return {
            word
            for line in self.distinct_english()
            for word in re.findall(r"[A-Za-z][A-Za-z0-9_.'’-]*", line)
        }

    def write(self) -> None:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(
            json.dumps(
                {
                    "distinct_english": len(self.distinct_english()),
                    "distinct_words": len(self.distinct_words()),
                    "english": self.english,
                    "axe": self.axe,
                    "scroll": self.scroll,
                    "heavy": self.heavy,
                    "weight": self.weight,
                    "broken": self.broken,
                    "offsite": self.offsite,
                    "csp": self.csp,
                    "axe_skipped": self.axe_skipped,
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )


# --- The objects the demo does not have ----------------------------------------------------
def _future_slot(business_code: str, point_code: str) -> Any:
    from trafficdesk.booking.models import Slot
    from trafficdesk.catalog.models import Business

    business = Business.objects.get(code=business_code)
    return (
        Slot.objects.filter(
            service_point__code=point_code,
            category=business.category,
            starts_at__gt=timezone.now() + timedelta(hours=3),
        )
        .order_by("starts_at")
        .first()
    )


def _make_rush(admin: Any) -> Any:
    from trafficdesk.booking import rush
    from trafficdesk.booking.models import Slot
    from trafficdesk.catalog.models import Business
    from trafficdesk.sites.models import ServicePoint

    business = Business.objects.get(code="E02")
    point = ServicePoint.objects.get(code="GY-EXAM-01")
    start = (timezone.localtime() + timedelta(days=20)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    slot = Slot.objects.create(
        service_point=point,
        category=business.category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=4 * business.service_minutes,
        capacity_people=4,
        priority_release_at=start - timedelta(days=1),
    )
    now = timezone.now()
    return rush.open_rush(
        admin,
        service_point=point,
        business=business,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=2),
        slots=[slot],
    )


def _first_reason(code: str) -> str:
    """The first reason the business's form offers (a picker's value)."""
    from trafficdesk.online import rules

    reasons = getattr(rules, "reasons_for", None)
    return str(reasons(code)[0].value) if reasons else "遗失"


def make_objects() -> dict[str, str]:
    """A booking and an online application of the demo citizen, a registration at the toll
    station, an open draw; the keys the pages are reached by."""
    from tests.booking.conftest import make_id
    from trafficdesk.accounts.models import User
    from trafficdesk.accounts.services import citizen_for
    from trafficdesk.booking import services as booking
    from trafficdesk.catalog.models import Business
    from trafficdesk.checkpoint import services as checkpoint
    from trafficdesk.checkpoint.models import Checkpoint
    from trafficdesk.enterprises.models import Enterprise
    from trafficdesk.online import services as online

    citizen = citizen_for(DEMO_CITIZEN_MOBILE)
    slot = _future_slot("P01", HALL)
    assert slot is not None, "the demo has no future slot for P01 at the Guiyang hall"
    booked = booking.book(citizen, slot.pk, ["P01"], make_id(97_001))
    spare = _future_slot("P02", "GY-BR-QZ") or slot
    application = online.submit(
        citizen,
        Business.objects.get(code="D01"),
        {"driver_id": make_id(97_002), "classes": "C1", "reason": _first_reason("D01")},
        delivery_address="贵阳市南明区花果园大街1号",
        delivery_mobile=DEMO_CITIZEN_MOBILE,
    )
    registration = checkpoint.register(
        Checkpoint.objects.get(code=TOLL),
        {
            "name": "张三丰",
            "id_number": "11010519491231002X",
            "mobile": "13912345678",
            "plate": "京A12345",
            "origin": NANMING,
            "destination": "贵阳市观山湖区",
            "passengers": "2",
        },
    )
    draw = _make_rush(User.objects.get(username="gz_admin"))
    return {
        "booking": booked.token,
        "slot": str(spare.pk),
        "application": application.reference,
        "registration": registration.token,
        "rush": str(draw.pk),
        "enterprise": str(Enterprise.objects.get(contact_mobile=DEMO_AGENT_MOBILE).pk),
    }


# --- Logging in -----------------------------------------------------------------------------
def log_in(page: Any, role: str, sms_outbox: Any, findings: Findings, codes: Vocabulary) -> None:
    who = ROLES[role]
    if not who:
        return
    if role in CITIZEN_ROLES:
        page.goto(reverse("accounts:citizen-login"))
        page.locator("#id_mobile").fill(who)
        with page.expect_navigation():
            page.locator("form:has(#id_mobile) button[type=submit]").click()
        page.locator("#id_code").wait_for()
        # The code page (accounts:citizen-verify) is only reached by this POST.
        check_text(page, f"{role} accounts:citizen-verify (code page)", findings, codes)
        sent = [text for number, text in sms_outbox if number == who]
        assert sent, f"no SMS code to {who}"
        check_text_value(sent[-1], f"SMS to {role}", findings, codes)
        match = SMS_CODE.search(sent[-1])
        assert match, sent[-1]
        page.locator("#id_code").fill(match.group(1))
        with page.expect_navigation():
            page.locator("form:has(#id_code) button[type=submit]").click()
    else:
        page.goto(reverse("accounts:staff-login"))
        page.locator("#id_username").fill(who)
        page.locator("#id_password").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("form:has(#id_password) button[type=submit]").click()
    page.get_by_test_id("who").wait_for()


# --- The checks -----------------------------------------------------------------------------
def check_text_value(text: str, label: str, findings: Findings, codes: Vocabulary) -> None:
    offenders = latin_offenders(text, codes)
    if offenders:
        findings.english[label] = offenders


def check_text(page: Any, label: str, findings: Findings, codes: Vocabulary) -> None:
    check_text_value(page.evaluate(VISIBLE_TEXT_JS), label, findings, codes)


#: Records every securitypolicyviolation the page reports, from before its first script.
CSP_INIT_JS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
}, true);
"""


def check_csp(page: Any, label: str, findings: Findings) -> None:
    page.wait_for_timeout(50)  # the events are dispatched in a task of their own
    violations = page.evaluate("() => window.__cspViolations || []")
    if violations:
        findings.csp.setdefault(label, []).extend(violations)


def inject_axe(page: Any) -> None:
    """axe-core through the DevTools protocol, which the page's CSP does not govern (a
    <script> tag with its text would be an inline script the policy blocks)."""
    page.evaluate(AXE.read_text() + "\n;undefined")


def check_axe(page: Any, label: str, findings: Findings) -> None:
    if not AXE.exists():
        return
    inject_axe(page)
    violations = page.evaluate(AXE_JS)
    if violations:
        findings.axe[label] = violations


def check_scroll(page: Any, label: str, findings: Findings) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    inner = page.evaluate("() => window.innerWidth")
    if width > min(inner, PHONE_WIDTH) + 1:
        findings.scroll[label] = f"{width}px wide in a {PHONE_WIDTH}px viewport"


class Weigher:
    """The compressed size of every response, as a server that gzips would send it (WhiteNoise
    serves the .gz of static files; HTML is counted gzipped too). A page's first load is its
    HTML and every resource it used, whether the browser had it cached or not."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}

    def record(self, response: Any) -> None:
        if response.request.resource_type not in {
            "document",
            "stylesheet",
            "script",
            "image",
            "font",
        }:
            return
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - a redirect or an aborted request has no body
            return
        self.sizes[response.url] = min(len(body), len(gzip.compress(body, 6)))

    def first_load(self, page: Any, document_url: str) -> int:
        total = self.sizes.get(document_url, 0)
        for url in set(page.evaluate(RESOURCES_JS)):
            if url not in self.sizes:
                if urlsplit(url).netloc != urlsplit(document_url).netloc:
                    continue
                response = page.request.get(url)
                body = response.body()
                self.sizes[url] = min(len(body), len(gzip.compress(body, 6)))
            total += self.sizes[url]
        return total


class OffsiteRequests:
    """Every request the browser makes to a host other than the live server's, by the page
    that made it (`label`, moved on as the crawl goes)."""

    def __init__(self, base_url: str, findings: Findings, label: str) -> None:
        self.base_url = base_url
        self.findings = findings
        self.label = label

    def record(self, request: Any) -> None:
        if is_offsite(request.url, self.base_url):
            self.findings.offsite.setdefault(self.label, []).append(request.url)


def crawl_role(
    browser: Any,
    base_url: str,
    role: str,
    visits: list[Visit],
    keys: dict[str, str],
    sms_outbox: Any,
    findings: Findings,
    codes: Vocabulary,
) -> None:
    context = browser.new_context(
        locale="zh-CN",
        base_url=base_url,
        viewport={"width": PHONE_WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.add_init_script(CSP_INIT_JS)
    weigher = Weigher()
    context.on("response", weigher.record)
    offsite = OffsiteRequests(base_url, findings, f"{role} (logging in)")
    context.on("request", offsite.record)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, role, sms_outbox, findings, codes)
        for language in ("zh-hans", "en"):
            context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
            for visit in visits:
                try:
                    url = visit.url(keys)
                except NoReverseMatch as missing:
                    findings.broken[f"{role} {visit.name}"] = f"not in the URL conf: {missing}"
                    continue
                label = f"{role} {url}"
                offsite.label = f"{label} [{language}]"
                try:
                    response = page.goto(url, wait_until="load")
                except PlaywrightError as failed:  # e.g. a 405 with no body
                    findings.broken[label] = str(failed).splitlines()[0]
                    page.close()  # its error page may still be loading: go on in a new tab
                    page = context.new_page()
                    page.set_default_timeout(10_000)
                    continue
                status = response.status if response else 0
                if status >= 400 or urlsplit(page.url).path != urlsplit(url).path:
                    findings.broken[label] = f"{status} at {page.url}"
                    continue
                if not page.evaluate(STYLED_JS):
                    findings.broken[label] = "the site's stylesheet did not load"
                    continue
                check_csp(page, f"{label} [{language}]", findings)
                check_scroll(page, f"{label} [{language}]", findings)
                if language != "zh-hans":
                    continue
                check_text(page, label, findings, codes)
                check_axe(page, label, findings)
                if role in CITIZEN_ROLES:
                    size = weigher.first_load(page, response.url)
                    findings.weight[label] = size
                    if size > CITIZEN_PAGE_LIMIT:
                        findings.heavy[label] = size
    finally:
        context.close()


def report(findings: Findings) -> str:
    lines = []
    for title, section in (
        ("visible English", findings.english),
        ("axe serious/critical", findings.axe),
        ("sideways scroll", findings.scroll),
        ("over 200 KB", findings.heavy),
        ("not reached", findings.broken),
        ("requests to other hosts", findings.offsite),
        ("Content-Security-Policy violations", findings.csp),
    ):
        if section:
            lines.append(f"== {title}: {len(section)} pages")
            for page, what in section.items():
                lines.append(f"  {page}")
                for item in what if isinstance(what, list) else [what]:
                    lines.append(f"      {item}")
    lines.append(f"distinct visible English strings: {len(findings.distinct_english())}")
    lines.append(f"distinct Latin words and codes in them: {len(findings.distinct_words())}")
    return "\n".join(lines)


@pytest.fixture
def axe_or_skip() -> None:
    if AXE.exists():
        return
    message = f"{AXE} is missing: run `npm ci` (make test does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def chosen_roles() -> list[str]:
    wanted = os.environ.get("EVERY_PAGE_ROLES", "")
    return [r for r in ROLES if not wanted or r in wanted.split(",")]


@pytest.mark.skipif(
    os.environ.get("TRAFFICDESK_DB_TESTS_ONLY") == "1",
    reason="the crawl checks words, accessibility, width and weight, which the database does "
    "not change: it runs once, in the SQLite pass (the journeys' browser tests run in both)",
)
def test_every_page_in_chinese_is_accessible_fits_and_is_light(
    browser: Any, live_server: Any, demo: Any, sms_outbox: Any, axe_or_skip: None
) -> None:
    keys = make_objects()
    codes = vocabulary()
    findings = Findings()
    for role in chosen_roles():
        visits = [v for v in PAGES if v.role == role]
        crawl_role(browser, live_server.url, role, visits, keys, sms_outbox, findings, codes)
    wait_for_server_requests(live_server)
    findings.write()
    summary = report(findings)
    print(summary)
    assert findings.weight, "no citizen page was weighed"
    problems = [
        findings.english,
        findings.axe,
        findings.scroll,
        findings.heavy,
        findings.broken,
        findings.offsite,
        findings.csp,
    ]
    assert not any(problems), summary


def _patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            space = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, route, space)
        elif isinstance(entry, URLPattern) and entry.name:
            yield route, namespace + entry.name


def test_every_page_is_crawled() -> None:
    """A page added to the URL conf is added to PAGES (or to NOT_PAGES, with the reason)."""
    names = {
        name for route, name in _patterns(get_resolver()) if not route.startswith(SKIPPED_PREFIXES)
    }
    assert len(names) > 40, names
    crawled = {visit.name for visit in PAGES}
    missing = sorted(names - crawled - set(NOT_PAGES))
    assert not missing, f"pages not crawled by tests/browser/test_every_page.py: {missing}"
    gone = sorted((crawled | set(NOT_PAGES)) - names)
    assert not gone, f"names in PAGES or NOT_PAGES that the URL conf no longer has: {gone}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("车牌 贵A88001，身份证 5201**********001X", []),
        ("准驾车型 C1，业务 L03", ["准驾车型 C1，业务 L03"]),
        ("状态: submitted", ["状态: submitted"]),
        ("QR 码 2.5 km 10 KB", []),
        ("id.length: 身份证号码应为18位", ["id.length: 身份证号码应为18位"]),
        ("EMERGENCY", ["EMERGENCY"]),
        ("请联系 help@example.cn", []),
        ("申请编号 WS20261202850E8CCD · 预约号 ZS2R S4FZ", []),
        ("统一社会信用代码: 91520115MA6DXM001F", []),
        ("种子 f15773ff7c6d9937053b2f4b9ba5262cc39b06ef88b43021ff3830aff47e7d87", []),
    ],
)
def test_the_latin_filter(text: str, expected: list[str]) -> None:
    assert latin_offenders(text, Vocabulary(frozenset({"L03"}))) == expected


def test_a_request_to_another_host_is_caught(browser: Any, live_server: Any) -> None:
    """The negative control of the off-site check: a page that asks another host is an
    offender, named with its page (the request is aborted, so no network is needed)."""
    findings = Findings()
    # The CSP (connect-src 'self') would stop the fetch before it is a request: bypass it here.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.route("http://192.0.2.1/**", lambda route: route.abort())
    offsite = OffsiteRequests(live_server.url, findings, "staff login")
    context.on("request", offsite.record)
    page = context.new_page()
    page.goto(reverse("accounts:staff-login"))
    page.evaluate("() => fetch('http://192.0.2.1/cdn/lib.js').catch(() => null)")
    page.wait_for_timeout(200)
    context.close()
    assert findings.offsite == {"staff login": ["http://192.0.2.1/cdn/lib.js"]}
    assert not is_offsite(live_server.url + "/static/x.js", live_server.url)
    assert not is_offsite("data:image/png;base64,AAAA", live_server.url)


def test_an_inline_script_is_reported_as_a_csp_violation(browser: Any, live_server: Any) -> None:
    """The negative control of the CSP check: an inline script put into a page is blocked
    and reported, named with its page; the site's own scripts are not."""
    findings = Findings()
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(CSP_INIT_JS)
    page = context.new_page()
    page.goto(reverse("accounts:staff-login"))
    check_csp(page, "staff login (clean)", findings)
    page.evaluate(
        """() => { const s = document.createElement("script");
        s.textContent = "window.__injected = 1"; document.body.append(s); }"""
    )
    check_csp(page, "staff login", findings)
    injected = page.evaluate("() => window.__injected")
    context.close()
    assert injected is None
    assert list(findings.csp) == ["staff login"]
    assert findings.csp["staff login"][0].startswith("script-src-elem blocked inline")
