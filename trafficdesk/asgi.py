"""The ASGI application that production and `make demo` serve (docs/adr/0001-asgi-server.md).

Live streams are async views: an open TV board holds no thread and no database connection.
The rest of the product is sync Django code; Django's own ASGI handler runs each request's
sync code in a thread made for that request, which means a new database connection per
request (CONN_MAX_AGE cannot persist it) and costs more than the WSGI server it replaces.
This handler runs sync code on a fixed set of long-lived threads instead (ASGI_SYNC_THREADS
per process), each keeping its persistent connection, and gives each request the least
busy one — the same shape as a threaded WSGI worker, with the event loop free for streams.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trafficdesk.settings")


class SyncThreadPool:
    """Single-thread executors, each with its own persistent database connection; a request
    takes the one with the fewest requests in its sync code."""

    def __init__(self, size: int) -> None:
        self.executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sync-{i}") for i in range(size)
        ]
        self.busy = [0] * size

    def acquire(self) -> int:
        index = min(range(len(self.busy)), key=self.busy.__getitem__)
        self.busy[index] += 1
        return index

    def release(self, index: int) -> None:
        self.busy[index] -= 1


class _Slot:
    """A request's place on a sync thread, given back once its sync work is over."""

    def __init__(self, pool: SyncThreadPool) -> None:
        self.pool = pool
        self.index: int | None = pool.acquire()

    def release(self) -> None:
        if self.index is not None:
            self.pool.release(self.index)
            self.index = None


_slot: contextvars.ContextVar[_Slot] = contextvars.ContextVar("trafficdesk_sync_slot")


class TrafficDeskASGIHandler(ASGIHandler):
    """Django's ASGI handler, with a request's sync work done in one trip to a sync thread:
    the request_started signal, the whole middleware chain (built sync, so no middleware
    hops between the event loop and a thread) and the view, and for an answer already in
    memory its close (request_finished). Django's own does three to five such trips for a
    sync view. An async view (a live stream) is started from the same chain; its body is
    then sent from the event loop, with no thread."""

    def __init__(self, sync_threads: int) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.pool = SyncThreadPool(sync_threads)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"TrafficDesk serves HTTP only, not {scope['type']}")
        slot = _Slot(self.pool)
        token = _slot.set(slot)
        try:
            assert slot.index is not None
            async with ThreadSensitiveContext(executor=self.pool.executors[slot.index]):
                await self.handle(scope, receive, send)
        finally:
            slot.release()
            _slot.reset(token)

    def respond(self, request: Any, scope: dict[str, Any]) -> tuple[Any, bool]:
        """Everything sync about one request, on its sync thread: the answer, and whether it
        is already closed."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if response.streaming:
            return response, False
        response.close()
        return response, True

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """As Django's ASGIHandler.handle, with the sync work in one trip (respond)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            assert error_response is not None
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request() -> None:
            response, closed = await sync_to_async(self.respond)(request, scope)
            if getattr(response, "is_async", False):
                # A live stream: it waits on the event loop from now on, so its thread is
                # free for other requests (its rare catch-up reads still run there).
                _slot.get().release()
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while it was being sent
            finally:
                if not closed:
                    await sync_to_async(response.close)()

        listener = asyncio.create_task(self.listen_for_disconnect(receive))
        answer = asyncio.create_task(process_request())
        await asyncio.wait([listener, answer], return_when=asyncio.FIRST_COMPLETED)
        for task in (listener, answer):
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except asyncio.CancelledError:
                    await signals.request_finished.asend(sender=self.__class__)
            else:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, RequestAborted):
                    pass
        body_file.close()


async def _lifespan(receive: Any, send: Any) -> None:
    """Start-up and shut-down: nothing to prepare, but answer so servers do not warn."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def get_application() -> TrafficDeskASGIHandler:
    django.setup(set_prefix=False)
    return TrafficDeskASGIHandler(settings.ASGI_SYNC_THREADS)


application = get_application()
