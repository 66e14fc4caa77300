"""Shared fixtures. Database tests run on SQLite and, in a second pass, on PostgreSQL
(scripts/run_tests.py); that pass sets TRAFFICDESK_DB_TESTS_ONLY and we keep only them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup", "client", "admin_client"}


def _uses_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db")) or bool(names & DB_FIXTURES)


def _flushes_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    return bool(names & {"transactional_db", "live_server"}) or bool(
        marker and marker.kwargs.get("transaction")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that flush the database run last (as Django's runner does), so that the demo
    data loaded once per session serves every test before them."""
    if os.environ.get("TRAFFICDESK_DB_TESTS_ONLY") == "1":
        dropped = [item for item in items if not _uses_database(item)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if _uses_database(item)]
    items.sort(key=_flushes_database)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Load the demo data once into the fresh test database; each test rolls back on top.
    Its rows are kept (tests/demo_snapshot.py) to put back after a test flushes them; the
    snapshot goes with the test database at the end of the session."""
    from tests import demo_snapshot
    from trafficdesk.demo.services import load_demo

    with django_db_blocker.unblock():
        load_demo()
        demo_snapshot.take()
    yield
    demo_snapshot.discard()


@pytest.fixture(scope="session")
def live_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """The product's ASGI application under uvicorn, as production serves it (tests/asgi_server);
    pytest-django still gives every test that uses it transactional database access."""
    from tests.asgi_server import AsgiLiveServer

    with django_db_blocker.unblock():
        server = AsgiLiveServer()
        yield server
        server.stop()


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with a flush (DELETE on SQLite), which the append-only triggers
    refuse; lift them for the flush only and put them back for the next test."""
    if not ({"transactional_db", "live_server"} & set(request.fixturenames)):
        yield
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    from trafficdesk.audit import triggers

    triggers.install(connection)
    yield
    triggers.remove(connection)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hall_hours: the hall's walk-in opening hours apply (else every test may take a walk-in"
        " ticket at whatever hour the suite runs)",
    )


@pytest.fixture(autouse=True)
def _walk_ins_at_any_hour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests take walk-in tickets at the hour the suite happens to run (CI runs at random
    times); only tests marked `hall_hours` meet the opening hours, at the moments they give."""
    if request.node.get_closest_marker("hall_hours") is None:
        from trafficdesk.hallqueue import services as hall

        monkeypatch.setattr(hall, "walk_in_hours_refusal", lambda point, moment: None)


@pytest.fixture(autouse=True)
def _suite_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """TRAFFICDESK_TEST_CLOCK=21:31 runs the suite as if it were that local time today (the
    clock still moves): a check that no test depends on the hour it runs at."""
    wanted = os.environ.get("TRAFFICDESK_TEST_CLOCK")
    if not wanted:
        return
    from datetime import datetime, time

    from django.utils import timezone

    real_now = timezone.now
    start = real_now()
    hours, minutes = (int(part) for part in wanted.split(":"))
    shifted = timezone.make_aware(datetime.combine(timezone.localdate(start), time(hours, minutes)))
    offset = shifted - start
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


@pytest.fixture(autouse=True)
def _fresh_local_caches() -> Iterator[None]:
    """Process-local caches (and the rate-limit counters kept in memory without Redis)
    outlive a test's rolled-back transaction; start each test clean."""
    from django.conf import settings
    from django.core.cache import caches

    from trafficdesk.core.localcache import clear_all

    def clean() -> None:
        clear_all()
        if "ratelimit" in settings.CACHES:
            caches["ratelimit"].clear()

    clean()
    yield
    clean()


@pytest.fixture
def demo(db: Any) -> Any:
    """The demo data (already loaded for the session unless a flushing test removed it: then
    the session's rows are put back, as loaded)."""
    from tests import demo_snapshot
    from trafficdesk.accounts.models import User
    from trafficdesk.demo.services import load_demo

    if not User.objects.filter(username="gz_admin").exists():
        if demo_snapshot.taken():
            demo_snapshot.restore()
        else:
            load_demo()


@pytest.fixture
def users(demo: Any) -> dict[str, Any]:
    from trafficdesk.accounts.models import User

    return {u.username: u for u in User.objects.select_related("region")}


class DeliveredSms:
    """The SMS the in-memory backend has sent. Notices are written to the outbox and sent by
    the background worker after the commit; every read here first does the worker's job
    (notify.delivery.deliver_pending), so a test sees what a citizen would have received."""

    def __init__(self, sent: list[tuple[str, str]]) -> None:
        self._sent = sent

    def _delivered(self) -> list[tuple[str, str]]:
        from trafficdesk.notify.delivery import deliver_pending

        deliver_pending()
        return list(self._sent)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._delivered())

    def __len__(self) -> int:
        return len(self._delivered())

    def __getitem__(self, index: int) -> tuple[str, str]:
        return self._delivered()[index]

    def __eq__(self, other: object) -> bool:
        return self._delivered() == list(other)  # type: ignore[call-overload]

    def __repr__(self) -> str:
        return repr(self._delivered())

    def clear(self) -> None:
        self._delivered()
        self._sent.clear()


@pytest.fixture
def sms_outbox() -> Iterator[DeliveredSms]:
    from trafficdesk.notify.backends import sent_messages

    sent_messages.clear()
    yield DeliveredSms(sent_messages)
    sent_messages.clear()
