"""The live hub and one stream, driven directly (the real server: tests/hallqueue/
test_live_streams.py): catch-up then live events, each once; a slow screen or a listener
that was away catches up from the table; kinds filter; publish writes one event a commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.db import transaction

from trafficdesk.core import live
from trafficdesk.core.live import Event, Hub, Subscription


class FakeListener:
    async def run(self, hub: Hub, ready: asyncio.Event) -> None:
        ready.set()
        await asyncio.Event().wait()


class Table:
    """Stands in for the event table: what `events_after` reads."""

    def __init__(self) -> None:
        self.rows: list[Event] = []

    def add(self, kind: str = "call", channel: str = "hall:1") -> Event:
        event = Event(len(self.rows) + 1, channel, kind, {"n": len(self.rows) + 1})
        self.rows.append(event)
        return event

    def after(self, channel: str, after_id: int, limit: int = live.CATCH_UP_LIMIT) -> list[Event]:
        return [e for e in self.rows if e.channel == channel and e.id > after_id][:limit]


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Table:
    found = Table()
    monkeypatch.setattr(live, "events_after", found.after)
    settings.LIVE_STREAM_SECONDS = 2
    settings.LIVE_KEEPALIVE_SECONDS = 1
    return found


async def take(stream: AsyncIterator[str], count: int) -> list[str]:
    """The next `count` events of a stream (comments and the retry line skipped)."""
    got: list[str] = []
    while len(got) < count:
        chunk = await asyncio.wait_for(anext(stream), 3)
        if chunk.startswith("id:"):
            got.append(chunk.split("\n", 1)[0].removeprefix("id: "))
    return got


async def a_hub() -> Hub:
    found = live._hubs[asyncio.get_running_loop()] = Hub(FakeListener())
    return found


def test_catch_up_then_live_each_event_once(table: Table) -> None:
    async def scenario() -> list[str]:
        hub = await a_hub()
        table.add()
        table.add()
        stream = live.sse_stream("hall:1", 0)
        first = await take(stream, 2)
        # An event committed while the stream read the table arrives both ways: once only.
        repeated = table.rows[1]
        hub.dispatch(repeated)
        third = table.add()
        hub.dispatch(third)
        hub.dispatch(table.add(channel="hall:2"))  # another hall's
        rest = await take(stream, 1)
        await stream.aclose()
        assert hub.streams == 0
        return first + rest

    assert asyncio.run(scenario()) == ["1", "2", "3"]


def test_kinds_filter_and_the_last_event_id(table: Table) -> None:
    async def scenario() -> list[str]:
        await a_hub()
        table.add("queue")
        table.add("call")
        table.add("call")
        stream = live.sse_stream("hall:1", 2, kinds=("call",))
        got = await take(stream, 1)
        await stream.aclose()
        return got

    assert asyncio.run(scenario()) == ["3"]


def test_a_slow_screen_or_a_lost_listener_catches_up_from_the_table(table: Table) -> None:
    async def scenario() -> list[str]:
        hub = await a_hub()
        stream = live.sse_stream("hall:1", 0)
        assert (
            await asyncio.wait_for(anext(stream), 3) == f"retry: {live.settings.LIVE_RETRY_MS}\n\n"
        )
        # Subscribed; now more events than its queue holds pass by before it reads any.
        events = [table.add() for _ in range(live.QUEUE_SIZE + 5)]
        for event in events:
            hub.dispatch(event)
        got = await take(stream, len(events))
        # The listener was away: events reached the table only; resync reads them.
        missed = table.add()
        hub.resync()
        got += await take(stream, 1)
        await stream.aclose()
        assert got[-1] == str(missed.id)
        return got

    got = asyncio.run(scenario())
    assert got == [str(i) for i in range(1, live.QUEUE_SIZE + 7)]


def test_a_full_queue_keeps_only_the_catch_up_marker() -> None:
    async def scenario() -> list[Any]:
        sub = Subscription("hall:1")
        for i in range(live.QUEUE_SIZE + 1):
            sub.put(Event(i + 1, "hall:1", "call", {}))
        return [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]

    assert asyncio.run(scenario()) == [None]


def test_the_stream_ends_after_its_lifetime(table: Table, settings: Any) -> None:
    settings.LIVE_STREAM_SECONDS = 0.3

    async def scenario() -> list[str]:
        await a_hub()
        return [chunk async for chunk in live.sse_stream("hall:1", 0)]

    chunks = asyncio.run(scenario())
    assert chunks[0].startswith("retry:") and len(chunks) <= 2


def test_publish_writes_one_event_and_none_on_rollback(db: Any) -> None:
    channel = "hall:999"
    with transaction.atomic():
        first = live.publish(channel, "call", {"label": "A001"})
    try:
        with transaction.atomic():
            live.publish(channel, "call", {"label": "A002"})
            raise RuntimeError
    except RuntimeError:
        pass
    events = live.events_after(channel, 0)
    assert [(e.id, e.kind, e.data) for e in events] == [(first, "call", {"label": "A001"})]
    assert live.latest_id(channel) == first
