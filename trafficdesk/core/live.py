"""Live screens: events written with the change that causes them, pushed to every open stream.

A service that changes something a screen shows calls `publish(channel, kind, data)` inside
its transaction. That writes one LiveEvent row (so a screen that reconnects catches up from
its Last-Event-ID) and, on PostgreSQL, a NOTIFY in the same statement, delivered at commit
and never for a rolled-back change.

Each server process has one `Hub` on its event loop, with one listener for every stream the
process serves:

* PostgreSQL: one connection that LISTENs (the NOTIFY carries the event, so a thousand
  boards cost no query per event);
* Redis, when REDIS_URL is set: one pub/sub subscription (published after commit);
* SQLite: one poll of the event table every LIVE_POLL_SECONDS, whatever the number of
  screens (writers are serialised there, so ids appear in order).

A stream (`sse_stream`) holds no thread and no database connection: it waits on its queue in
the hub. It subscribes before it reads the catch-up from the table, so an event committed in
between arrives by the listener and is not lost (the catch-up may repeat it; ids dedupe).
When the listener reconnects, or a slow screen's queue overflows, the stream reads the table
again from its last id. Streams end after LIVE_STREAM_SECONDS and the browser reconnects
with Last-Event-ID, which lets servers restart without losing anything.

Counters that change with every write (a rush's applications) are not events: `watch()`
samples them once per interval per process, for all the screens that show them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import psycopg
import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from trafficdesk.core.models import LiveEvent

log = logging.getLogger(__name__)

PG_CHANNEL = "trafficdesk_live"
REDIS_CHANNEL = "trafficdesk:live"
#: Events a stream reads from the table at once when it catches up.
CATCH_UP_LIMIT = 500
#: Events waiting for one slow screen before it is told to catch up from the table instead.
QUEUE_SIZE = 256
#: Prune old events every this many events (one DELETE on an indexed column).
PRUNE_EVERY = 500


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    channel: str
    kind: str
    data: dict[str, Any]

    def as_sse(self) -> str:
        """The event as a server-sent event, encoded once per process however many screens
        get it."""
        found = _encoded.get(self.id)
        if found is None or found[0] is not self:
            body = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
            found = (self, f"id: {self.id}\nevent: {self.kind}\ndata: {body}\n\n")
            _encoded[self.id] = found
            if len(_encoded) > 512:
                with contextlib.suppress(RuntimeError, KeyError, StopIteration):
                    del _encoded[next(iter(_encoded))]  # the oldest (another loop may race)
        return found[1]


#: The last few events' encodings, by id (an event dispatched to a thousand boards is encoded
#: once); keyed with the event itself, so an equal id from another source is never mixed up.
_encoded: dict[int, tuple[Event, str]] = {}


def backend() -> str:
    """Which listener this deployment uses: settings.LIVE_BACKEND, else Redis when
    configured, else the database's own (LISTEN on PostgreSQL, a poll on SQLite)."""
    chosen = str(getattr(settings, "LIVE_BACKEND", "") or "")
    if chosen:
        return chosen
    if settings.REDIS_URL:
        return "redis"
    return "postgres" if connection.vendor == "postgresql" else "poll"


# --- writing events (sync, inside the transaction that causes them) -------------------------


def publish(channel: str, kind: str, data: dict[str, Any]) -> int:
    """Record an event for the screens on `channel`; they get it when the transaction
    commits. One statement on every backend."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    chosen = backend()
    with connection.cursor() as cursor:
        if chosen == "postgres":
            cursor.execute(
                "WITH e AS (INSERT INTO core_liveevent (channel, kind, data, at)"
                " VALUES (%s, %s, %s::jsonb, %s) RETURNING id)"
                " SELECT e.id, pg_notify(%s, json_build_object("
                "'id', e.id, 'channel', %s::text, 'kind', %s::text, 'data', %s::json)::text)"
                " FROM e",
                [channel, kind, body, at, PG_CHANNEL, channel, kind, body],
            )
        else:
            cursor.execute(
                "INSERT INTO core_liveevent (channel, kind, data, at) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                [channel, kind, body, at],
            )
        event_id = int(cursor.fetchone()[0])
    published(event_id, channel, kind, data)
    return event_id


def published(event_id: int, channel: str, kind: str, data: dict[str, Any]) -> None:
    """After an event's row is written (by publish, or by a statement that wrote it with
    event_part): on Redis, publish it at commit; now and then, prune old events."""
    if backend() == "redis":
        event = Event(event_id, channel, kind, data)
        transaction.on_commit(lambda: _redis_publish(event))
    if event_id % PRUNE_EVERY == 0:
        prune()


def event_part(
    channel: str, kind: str, data_sql: str, params: list[Any], source: str
) -> tuple[str, list[Any]]:
    """PostgreSQL: a data-modifying WITH part that records the event for every row of
    `source`, its data made in SQL (`data_sql`, a json expression over `source`), returning
    id and data. The statement's final SELECT must add notify_sql() for the alias given to it,
    and the caller must call published() with the id and data it returns."""
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    return (
        "INSERT INTO core_liveevent (channel, kind, data, at)"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        f" SELECT %s, %s, ({data_sql})::jsonb, %s FROM {source} RETURNING id, data",
        [channel, kind, *params, at],
    )


def notify_sql(alias: str, channel: str, kind: str) -> tuple[str, list[Any]]:
    """The final SELECT's expression that tells the listeners of an event_part's row (none
    when the part wrote no row, and nothing to tell unless the backend is PostgreSQL)."""
    if backend() != "postgres":
        return "NULL", []
    return (
        f"CASE WHEN {alias}.id IS NULL THEN NULL ELSE pg_notify(%s, json_build_object("
        f"'id', {alias}.id, 'channel', %s::text, 'kind', %s::text, 'data', {alias}.data)::text)"
        " END",
        [PG_CHANNEL, channel, kind],
    )


def _redis_publish(event: Event) -> None:
    try:
        _redis_client(settings.REDIS_URL).publish(REDIS_CHANNEL, _wire(event))
    except Exception:  # the event is in the table: screens get it when they catch up
        log.warning("live event %s not published to Redis", event.id, exc_info=True)


@functools.cache
def _redis_client(url: str) -> Any:
    return redis.Redis.from_url(url)


def _wire(event: Event) -> str:
    return json.dumps(
        {"id": event.id, "channel": event.channel, "kind": event.kind, "data": event.data},
        ensure_ascii=False,
    )


def _from_wire(text: str | bytes) -> Event:
    raw = json.loads(text)
    return Event(int(raw["id"]), str(raw["channel"]), str(raw["kind"]), dict(raw["data"]))


def prune(now: Any = None) -> int:
    """Forget events older than LIVE_EVENT_RETENTION_SECONDS (screens reconnect in seconds)."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(seconds=settings.LIVE_EVENT_RETENTION_SECONDS)
    deleted, _kinds = LiveEvent.objects.filter(at__lt=cutoff).delete()
    return deleted


def events_after(channel: str, after_id: int, limit: int = CATCH_UP_LIMIT) -> list[Event]:
    """What a screen missed: the channel's events after `after_id`, oldest first."""
    rows = (
        LiveEvent.objects.filter(channel=channel, id__gt=after_id)
        .order_by("id")
        .values_list("id", "kind", "data")[:limit]
    )
    return [Event(i, channel, kind, data) for i, kind, data in rows]


def latest_id(channel: str) -> int:
    """The id a page gives its stream, so that it gets everything after the page was read."""
    found = LiveEvent.objects.filter(channel=channel).order_by("-id").values_list("id", flat=True)
    return next(iter(found[:1]), 0)


# --- the hub (async, one per process and event loop) ----------------------------------------


@dataclass(eq=False)
class Subscription:
    channel: str
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )

    def put(self, event: Event | None) -> None:
        """Deliver an event, or None: "read the table again". A screen too slow to keep up
        loses its queue and catches up from the table."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Listener(Protocol):
    async def run(self, hub: Hub, ready: asyncio.Event) -> None: ...


class Hub:
    """The streams of one process: one listener, fanning events out to subscribers."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.subscribers: dict[str, set[Subscription]] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def subscribe(self, channel: str) -> Subscription:
        """A subscription that gets every event committed from now on."""
        if self.task is None or self.task.done():
            self.ready.clear()
            self.task = asyncio.create_task(self.listener.run(self, self.ready))
        sub = Subscription(channel)
        self.subscribers.setdefault(channel, set()).add(sub)
        await self.ready.wait()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self.subscribers.get(sub.channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subscribers[sub.channel]

    def dispatch(self, event: Event) -> None:
        for sub in self.subscribers.get(event.channel, ()):
            sub.put(event)

    def resync(self) -> None:
        """The listener may have missed events: every stream reads the table again."""
        for subs in self.subscribers.values():
            for sub in subs:
                sub.put(None)

    @property
    def streams(self) -> int:
        return sum(len(s) for s in self.subscribers.values())


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(min(5.0, 0.2 * 2**attempt))


class _PushListener:
    """A listener the server pushes events to. It reconnects after a loss, and then every
    stream reads the table again, since events may have passed while it was away."""

    source = ""

    async def listen(self, hub: Hub, connected: Callable[[], None]) -> None:
        raise NotImplementedError

    async def run(self, hub: Hub, ready: asyncio.Event) -> None:
        attempt = 0

        def connected() -> None:
            nonlocal attempt
            if attempt:
                hub.resync()
            attempt = 0
            ready.set()

        while True:
            try:
                await self.listen(hub, connected)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live listener lost its %s connection", self.source, exc_info=True)
            attempt += 1
            await _backoff(attempt)


class PostgresListener(_PushListener):
    """One LISTEN connection per process."""

    source = "PostgreSQL"

    async def listen(self, hub: Hub, connected: Callable[[], None]) -> None:
        async with await psycopg.AsyncConnection.connect(**_pg_params(), autocommit=True) as conn:
            await conn.execute(f"LISTEN {PG_CHANNEL}")
            connected()
            async for notice in conn.notifies():
                hub.dispatch(_from_wire(notice.payload))


def _pg_params() -> dict[str, Any]:
    """The LISTEN connection's parameters: the default connection's, or LIVE_DATABASE_URL's
    (direct to PostgreSQL, when the default goes through PgBouncer, where LISTEN is lost)."""
    params: dict[str, Any] = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    direct = str(getattr(settings, "LIVE_DATABASE_URL", "") or "")
    if direct:
        parts = urlsplit(direct)
        params.update(
            {
                key: value
                for key, value in {
                    "host": parts.hostname,
                    "port": parts.port,
                    "user": unquote(parts.username or "") or None,
                    "password": unquote(parts.password or "") or None,
                    "dbname": unquote(parts.path.lstrip("/")) or None,
                }.items()
                if value is not None
            }
        )
    return params


class RedisListener(_PushListener):
    """One pub/sub subscription per process."""

    source = "Redis"

    async def listen(self, hub: Hub, connected: Callable[[], None]) -> None:
        client = redis.asyncio.from_url(settings.REDIS_URL)
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(REDIS_CHANNEL)
            connected()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    hub.dispatch(_from_wire(message["data"]))


#: The hub's own database work (polls, samples) runs on one thread per process, with its own
#: connection, so that it never waits behind requests.
_HUB_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live")


async def _in_hub_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_HUB_THREAD, function, *args)


class PollListener:
    """One query of the event table every LIVE_POLL_SECONDS, on the hub's thread."""

    async def run(self, hub: Hub, ready: asyncio.Event) -> None:
        last: int | None = None
        while True:
            try:
                if last is None:
                    last = await _in_hub_thread(_max_event_id)
                    ready.set()
                rows = await _in_hub_thread(_events_since, last)
                for event in rows:
                    last = event.id
                    hub.dispatch(event)
                if len(rows) == CATCH_UP_LIMIT:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live poll failed", exc_info=True)
                await _in_hub_thread(_close_connection)
                if last is not None:
                    hub.resync()
            await asyncio.sleep(settings.LIVE_POLL_SECONDS)


def _close_connection() -> None:
    """Drop this thread's database connection (the next query opens a fresh one)."""
    connection.close()


def _max_event_id() -> int:
    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events_since(after_id: int) -> list[Event]:
    rows = (
        LiveEvent.objects.filter(id__gt=after_id)
        .order_by("id")
        .values_list("id", "channel", "kind", "data")[:CATCH_UP_LIMIT]
    )
    return [Event(*row) for row in rows]


def _listener() -> Listener:
    chosen = backend()
    if chosen == "postgres":
        return PostgresListener()
    if chosen == "redis":
        return RedisListener()
    return PollListener()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def hub() -> Hub:
    """This event loop's hub (one per server process)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(_listener())
    return found


# --- streams (async) --------------------------------------------------------------------------


def parse_last_id(header: str | None, query: str | None) -> int | None:
    """The id a stream resumes after: the browser's Last-Event-ID, else `?after=`."""
    for raw in (header, query):
        if raw is not None and raw.strip().isdigit():
            return int(raw.strip())
    return None


async def sse_stream(
    channel: str,
    after_id: int,
    kinds: Iterable[str] | None = None,
    render: Callable[[Event], str] = Event.as_sse,
) -> AsyncIterator[str]:
    """Server-sent events for one screen: what it missed after `after_id`, then each new event
    as it is committed; `kinds` limits which. Holds no thread and no connection while it
    waits."""
    wanted = frozenset(kinds) if kinds is not None else None
    the_hub = await hub()
    sub = await the_hub.subscribe(channel)
    try:
        yield f"retry: {settings.LIVE_RETRY_MS}\n\n"
        last = after_id
        caught: set[int] = set()
        ends = time.monotonic() + settings.LIVE_STREAM_SECONDS
        need_catch_up = True
        while True:
            if need_catch_up:
                need_catch_up = False
                backlog = await sync_to_async(events_after)(channel, last)
                caught = {e.id for e in backlog}
                for event in backlog:
                    last = event.id
                    if wanted is None or event.kind in wanted:
                        yield render(event)
                if len(backlog) == CATCH_UP_LIMIT:
                    need_catch_up = True
                    continue
            left = ends - time.monotonic()
            if left <= 0:
                return
            try:
                async with asyncio.timeout(min(left, settings.LIVE_KEEPALIVE_SECONDS)):
                    item = await sub.queue.get()
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is None:
                need_catch_up = True
            elif item.id not in caught and item.id > after_id:
                last = max(last, item.id)
                if wanted is None or item.kind in wanted:
                    yield render(item)
    finally:
        the_hub.unsubscribe(sub)


# --- sampled counters -------------------------------------------------------------------------


class Sampler:
    """One value read every `interval` seconds for all the screens that show it."""

    def __init__(self, key: str, fetch: Callable[[], Any], interval: float) -> None:
        self.key = key
        self.fetch = fetch
        self.interval = interval
        self.queues: set[asyncio.Queue[Any]] = set()
        self.value: Any = None
        self.task: asyncio.Task[None] | None = None

    def join(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
        self.queues.add(queue)
        if self.value is not None:
            _replace(queue, self.value)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())
        return queue

    def leave(self, queue: asyncio.Queue[Any]) -> None:
        self.queues.discard(queue)

    async def run(self) -> None:
        try:
            while self.queues:
                try:
                    value = await _in_hub_thread(self.fetch)
                except Exception:
                    log.warning("live sample %s failed", self.key, exc_info=True)
                    await _in_hub_thread(_close_connection)
                else:
                    if value != self.value:
                        self.value = value
                        for queue in self.queues:
                            _replace(queue, value)
                await asyncio.sleep(self.interval)
        finally:
            _samplers.get(asyncio.get_running_loop(), {}).pop(self.key, None)


def _replace(queue: asyncio.Queue[Any], value: Any) -> None:
    """Keep only the newest value for a screen."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(value)


_samplers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Sampler]] = (
    weakref.WeakKeyDictionary()
)


def _sampler(key: str, fetch: Callable[[], Any], interval: float | None) -> Sampler:
    samplers = _samplers.setdefault(asyncio.get_running_loop(), {})
    found = samplers.get(key)
    if found is None or found.task is not None and found.task.done():
        found = samplers[key] = Sampler(key, fetch, interval or settings.LIVE_SAMPLE_SECONDS)
    return found


async def sse_watch(
    key: str, fetch: Callable[[], Any], kind: str, interval: float | None = None
) -> AsyncIterator[str]:
    """Server-sent events of a sampled value: each change as one `kind` event. `fetch` runs
    once per interval in this process, however many screens watch `key`."""
    sampler = _sampler(key, fetch, interval)
    queue = sampler.join()
    try:
        yield f"retry: {settings.LIVE_RETRY_MS}\n\n"
        ends = time.monotonic() + settings.LIVE_STREAM_SECONDS
        while (left := ends - time.monotonic()) > 0:
            try:
                value = await asyncio.wait_for(
                    queue.get(), min(left, settings.LIVE_KEEPALIVE_SECONDS)
                )
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            yield f"event: {kind}\ndata: {body}\n\n"
    finally:
        sampler.leave(queue)


# --- channels ---------------------------------------------------------------------------------


def hall_channel(point_id: int) -> str:
    """A service point's hall: calls (for the board) and queue changes (consoles, manager)."""
    return f"hall:{point_id}"


def checkpoint_channel(checkpoint_id: int) -> str:
    """A checkpoint's arrivals (the officer's console)."""
    return f"checkpoint:{checkpoint_id}"


async def channel_response(
    request: HttpRequest, channel: str, kinds: Iterable[str] | None = None
) -> StreamingHttpResponse:
    """A view's answer: the channel's events after the browser's Last-Event-ID (or the
    page's `?after=`; else from now on), as server-sent events."""
    after = parse_last_id(request.headers.get("Last-Event-ID"), request.GET.get("after"))
    if after is None:
        after = await sync_to_async(latest_id)(channel)
    return sse_response(sse_stream(channel, after, kinds=kinds))


def sse_response(events: AsyncIterator[str]) -> StreamingHttpResponse:
    """An event-stream response that proxies pass through unbuffered."""
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response
