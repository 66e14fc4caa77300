"""Real-name booking (实名, issue 17 item 1), through the API and the pages.

The finding: one citizen account booked all 20 places of a slot with 20 made-up,
checksum-valid ID numbers; nothing tied the ID number to the account holder or capped the
bookings of an account. Now an account books with its own bound ID, a verified family
member's, or (an enterprise agent's fleet claim) a driver's; active bookings are capped per
account and per ID; the identity verifier is pluggable (the population service's HTTP one is
tested against a loopback server speaking its protocol)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.booking.conftest import make_id
from tests.enterprises.test_enterprise_journey import verified  # noqa: F401 - fixture
from trafficdesk.accounts.models import FamilyMember, Identity
from trafficdesk.accounts.verifiers import PopulationServiceVerifier, Verdict
from trafficdesk.audit.models import AuditEntry
from trafficdesk.booking.models import Booking


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def book(client: Client, slot: int, **whom: Any) -> Any:
    return post(client, "/api/v1/bookings", {"slot": slot, "businesses": ["P01"], **whom})


def cancel(client: Client, booked: Any) -> None:
    token = booked.json()["token"]
    assert client.post(f"/api/v1/bookings/{token}/cancel").status_code == 200


@pytest.fixture
def logged_in(make_citizen: Any) -> Any:
    def make() -> tuple[Client, Any]:
        user = make_citizen()
        client = Client()
        # The API answers in the site's language (Chinese) unless asked otherwise; the
        # refusal texts are checked in English here.
        client.cookies["django_language"] = "en"
        client.force_login(user)
        return client, user

    return make


# --- the finding ---------------------------------------------------------------------------------


def test_one_account_cannot_hoard_a_slot_with_made_up_id_numbers(
    logged_in: Any, make_slot: Any
) -> None:
    client, user = logged_in()
    slot = make_slot(people=20)
    answers = [book(client, slot.pk, id_number=make_id(90_000 + i)) for i in range(20)]
    assert answers[0].status_code == 201, answers[0].content
    refused = answers[1:]
    assert {a.status_code for a in refused} == {409}
    body = refused[0].json()
    assert body["code"] == "realname.other_person" and body["field"] == "id_number"
    assert "family member" in body["detail"] and "own account" in body["detail"]
    assert any(a["url"] == "/accounts/realname/" for a in body["alternatives"])
    assert Booking.objects.filter(slot=slot).count() == 1
    assert Identity.objects.get(user=user).id_masked == Booking.objects.get(slot=slot).id_masked


def test_the_first_booking_binds_the_id_then_no_id_is_needed(
    logged_in: Any, make_slot: Any
) -> None:
    client, user = logged_in()
    assert client.get("/api/v1/accounts/identity").json()["bound"] is False
    number = make_id()
    first = book(client, make_slot().pk, id_number=number)
    assert first.status_code == 201
    state = client.get("/api/v1/accounts/identity").json()
    assert state["bound"] and state["id_masked"] == number[:4] + "*" * 10 + number[-4:]
    cancel(client, first)  # one active booking per business and ID
    again = book(client, make_slot().pk)  # no ID typed: the bound one
    assert again.status_code == 201 and again.json()["id_masked"] == state["id_masked"]
    assert AuditEntry.objects.filter(action="realname.bind", actor=user).count() == 1
    # never the number itself
    assert number not in json.dumps(list(Identity.objects.values()), default=str)


def test_an_id_bound_to_another_account_is_refused(logged_in: Any, make_slot: Any) -> None:
    first, _ = logged_in()
    second, _ = logged_in()
    number = make_id()
    bound = post(first, "/api/v1/accounts/identity", {"id_number": number})
    assert bound.status_code == 200 and bound.json()["bound"]
    taken = post(second, "/api/v1/accounts/identity", {"id_number": number})
    assert taken.status_code == 409 and taken.json()["code"] == "realname.taken"
    refused = book(second, make_slot().pk, id_number=number)
    assert refused.status_code == 409 and refused.json()["code"] == "realname.taken"
    other = post(first, "/api/v1/accounts/identity", {"id_number": make_id()})
    assert other.status_code == 409 and other.json()["code"] == "realname.bound"
    bad = post(first, "/api/v1/accounts/identity", {"id_number": "520115199003011234"})
    assert bad.status_code == 422


def test_family_members_are_declared_booked_for_and_removed(logged_in: Any, make_slot: Any) -> None:
    client, user = logged_in()
    child = make_id()
    early = post(
        client, "/api/v1/accounts/family", {"id_number": child, "name": "张小", "relation": "child"}
    )
    assert early.status_code == 409 and early.json()["code"] == "realname.unbound"
    post(client, "/api/v1/accounts/identity", {"id_number": make_id(), "name": "张三"})
    declared = post(
        client, "/api/v1/accounts/family", {"id_number": child, "name": "张小", "relation": "child"}
    )
    assert declared.status_code == 201, declared.content
    member = declared.json()
    assert member["name_masked"] == "张*" and member["relation"] == "child"
    assert client.get("/api/v1/accounts/family").json() == [member]
    for_child = book(client, make_slot().pk, id_number=child)
    assert for_child.status_code == 201
    cancel(client, for_child)
    by_member = book(client, make_slot().pk, family_member=member["id"])
    assert by_member.status_code == 201 and by_member.json()["id_masked"] == member["id_masked"]
    assert AuditEntry.objects.filter(action="realname.family_add", actor=user).exists()
    gone = client.delete(f"/api/v1/accounts/family/{member['id']}")
    assert gone.status_code == 204
    assert AuditEntry.objects.filter(action="realname.family_remove", actor=user).exists()
    refused = book(client, make_slot().pk, id_number=child)
    assert refused.status_code == 409 and refused.json()["code"] == "realname.other_person"
    assert client.delete(f"/api/v1/accounts/family/{member['id']}").status_code == 404


@override_settings(FAMILY_MEMBERS_MAX=1)
def test_the_family_is_capped(logged_in: Any) -> None:
    client, _ = logged_in()
    post(client, "/api/v1/accounts/identity", {"id_number": make_id()})
    body = {"id_number": make_id(), "relation": "parent"}
    assert post(client, "/api/v1/accounts/family", body).status_code == 201
    full = post(client, "/api/v1/accounts/family", {"id_number": make_id(), "relation": "parent"})
    assert full.status_code == 409 and full.json()["code"] == "realname.family_full"
    bad = post(client, "/api/v1/accounts/family", {"id_number": make_id(), "relation": "boss"})
    assert bad.status_code == 422


def test_the_pages_bind_declare_and_book_for_a_family_member(
    logged_in: Any, make_slot: Any
) -> None:
    client, user = logged_in()
    page = client.get("/accounts/realname/")
    assert page.status_code == 200 and 'data-testid="bind-form"' in page.content.decode()
    own, spouse = make_id(), make_id()
    assert (
        client.post(
            "/accounts/realname/", {"what": "bind", "id_number": own, "name": "李四"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/accounts/realname/",
            {"what": "family", "id_number": own, "name": "李四", "relation": "spouse"},
        ).status_code
        == 409
    )  # one's own number is not a family member
    assert (
        client.post(
            "/accounts/realname/",
            {"what": "family", "id_number": spouse, "name": "王五", "relation": "spouse"},
        ).status_code
        == 302
    )
    shown = client.get("/accounts/realname/").content.decode()
    assert own not in shown and spouse not in shown and own[:4] + "*" * 10 in shown
    member = FamilyMember.objects.get(account=user)
    slot = make_slot()
    form = client.get(f"/booking/slot/{slot.pk}/?business=P01").content.decode()
    assert f'value="family-{member.pk}"' in form and 'value="self"' in form
    booked = client.post(
        f"/booking/slot/{slot.pk}/",
        {"business": "P01", "class": "GENERAL", "whom": f"family-{member.pk}", "id_number": ""},
    )
    assert booked.status_code == 302, booked.content.decode()[:2000]
    assert Booking.objects.get(slot=slot).id_masked == member.id_masked
    other = client.post(
        f"/booking/slot/{make_slot().pk}/",
        {"business": "P01", "class": "GENERAL", "whom": "self", "id_number": make_id()},
    )
    assert 'data-code="realname.other_person"' in other.content.decode()
    removed = client.post(f"/accounts/realname/family/{member.pk}/remove/", follow=True)
    assert removed.status_code == 200 and not FamilyMember.objects.filter(pk=member.pk).exists()
    assert client.post(f"/accounts/realname/family/{member.pk}/remove/").status_code == 404


def test_an_agent_still_books_for_its_fleet_drivers(
    verified: dict[str, Any],  # noqa: F811
    make_slot: Any,
) -> None:
    agent = verified["agent"]
    post(agent, "/api/v1/accounts/identity", {"id_number": make_id()})
    slot = make_slot(people=5)
    driver = make_id()  # not the agent's own, not a family member: a fleet driver
    answer = book(
        agent,
        slot.pk,
        id_number=driver,
        applicant_class="RESUMPTION",
        vehicle=verified["lorries"][0],
    )
    assert answer.status_code == 201, answer.content
    general = book(agent, make_slot().pk, id_number=make_id())
    assert general.status_code == 409 and general.json()["code"] == "realname.other_person"


# --- the caps ------------------------------------------------------------------------------------


@override_settings(BOOKING_MAX_ACTIVE_PER_ACCOUNT=2)
def test_active_bookings_are_capped_per_account(logged_in: Any, make_slot: Any) -> None:
    client, _ = logged_in()
    post(client, "/api/v1/accounts/identity", {"id_number": make_id()})
    members = [
        post(
            client, "/api/v1/accounts/family", {"id_number": make_id(), "relation": "child"}
        ).json()["id"]
        for _ in range(2)
    ]
    first = book(client, make_slot().pk)
    assert first.status_code == 201
    assert book(client, make_slot().pk, family_member=members[0]).status_code == 201
    third = book(client, make_slot().pk, family_member=members[1])
    assert third.status_code == 409 and third.json()["code"] == "holder.account_cap"
    assert "2" in third.json()["detail"] and "Cancel" in third.json()["detail"]
    cancel(client, first)
    assert book(client, make_slot().pk, family_member=members[1]).status_code == 201


@override_settings(BOOKING_MAX_ACTIVE_PER_ID=1)
def test_active_bookings_are_capped_per_id_across_accounts(logged_in: Any, make_slot: Any) -> None:
    mother, _ = logged_in()
    father, _ = logged_in()
    child = make_id()
    for parent in (mother, father):
        post(parent, "/api/v1/accounts/identity", {"id_number": make_id()})
        body = {"id_number": child, "relation": "child"}
        assert post(parent, "/api/v1/accounts/family", body).status_code == 201
    assert book(mother, make_slot().pk, id_number=child).status_code == 201
    second = book(father, make_slot().pk, id_number=child)
    assert second.status_code == 409 and second.json()["code"] == "holder.id_cap"
    assert book(father, make_slot().pk).status_code == 201  # his own ID is not capped


# --- the population service verifier ------------------------------------------------------------

KEY = "population-test-key"
REGISTER = {make_id(1): "张三"}


class _PopulationService(BaseHTTPRequestHandler):
    """The protocol of accounts.verifiers' docstring: signed JSON, match / no_match."""

    unavailable = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers.get("X-Timestamp", "")
        expected = hmac.new(KEY.encode(), stamp.encode() + b"\n" + body, hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), self.headers.get("X-Signature", "")):
            self.send_response(401)
            self.end_headers()
            return
        if type(self).unavailable:
            self.send_response(500)
            self.end_headers()
            return
        asked = json.loads(body)
        result = "match" if REGISTER.get(asked["id_number"]) == asked["name"] else "no_match"
        answer = json.dumps({"result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def population_service() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _PopulationService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _PopulationService.unavailable = False
    try:
        yield f"http://127.0.0.1:{server.server_port}/verify"
    finally:
        server.shutdown()
        server.server_close()


def test_the_population_service_verifier_speaks_its_protocol(population_service: str) -> None:
    verifier = PopulationServiceVerifier(population_service, KEY, timeout=2)
    assert verifier.verify(make_id(1), "张三") is Verdict.MATCH
    assert verifier.verify(make_id(1), "李四") is Verdict.NO_MATCH
    assert verifier.verify(make_id(2), "张三") is Verdict.NO_MATCH
    bad_key = PopulationServiceVerifier(population_service, "wrong-key", timeout=2)
    assert bad_key.verify(make_id(1), "张三") is Verdict.UNAVAILABLE
    _PopulationService.unavailable = True
    assert verifier.verify(make_id(1), "张三") is Verdict.UNAVAILABLE
    nobody = PopulationServiceVerifier("http://127.0.0.1:9/verify", KEY, timeout=1)
    assert nobody.verify(make_id(1), "张三") is Verdict.UNAVAILABLE


def test_binding_through_the_population_service(
    population_service: str, logged_in: Any, make_slot: Any
) -> None:
    client, _ = logged_in()
    with override_settings(
        IDENTITY_VERIFIER="trafficdesk.accounts.verifiers.PopulationServiceVerifier",
        POPULATION_SERVICE_URL=population_service,
        POPULATION_SERVICE_KEY=KEY,
    ):
        assert client.get("/api/v1/accounts/identity").json()["name_required"] is True
        first_booking = book(client, make_slot().pk, id_number=make_id(1))
        assert first_booking.status_code == 409  # the name is needed: bind on the page first
        assert first_booking.json()["code"] == "realname.unbound"
        no_name = post(client, "/api/v1/accounts/identity", {"id_number": make_id(1)})
        assert no_name.status_code == 422 and no_name.json()["field"] == "name"
        wrong = post(client, "/api/v1/accounts/identity", {"id_number": make_id(1), "name": "李四"})
        assert wrong.status_code == 422 and wrong.json()["code"] == "realname.no_match"
        _PopulationService.unavailable = True
        down = post(client, "/api/v1/accounts/identity", {"id_number": make_id(1), "name": "张三"})
        assert down.status_code == 503 and down.json()["code"] == "realname.unavailable"
        _PopulationService.unavailable = False
        with override_settings(POPULATION_SERVICE_KEY="wrong-key"):
            unsigned = post(
                client, "/api/v1/accounts/identity", {"id_number": make_id(1), "name": "张三"}
            )
        assert unsigned.status_code == 503
        _PopulationService.unavailable = True
        page_down = client.post(
            "/accounts/realname/", {"what": "bind", "id_number": make_id(1), "name": "张三"}
        )
        assert page_down.status_code == 503  # the page says "try again later" too
        _PopulationService.unavailable = False
        ok = post(client, "/api/v1/accounts/identity", {"id_number": make_id(1), "name": "张三"})
        assert ok.status_code == 200 and ok.json()["name_masked"] == "张*"
        assert book(client, make_slot().pk).status_code == 201
