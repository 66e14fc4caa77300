"""The product's ASGI application (trafficdesk.asgi) served by uvicorn in a thread of the
test process, on the test database: what the browser tests talk to, as production serves it
(pytest-django's live_server is a WSGI server, which cannot serve async event streams).

It replaces the `live_server` fixture (tests/conftest.py), so a test that asks for
`live_server` gets this, with transactional database access as before."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from django.test.utils import modify_settings


class AsgiLiveServer:
    def __init__(self) -> None:
        import uvicorn
        from django.conf import settings

        from trafficdesk.asgi import TrafficDeskASGIHandler

        self.handler = TrafficDeskASGIHandler(settings.ASGI_SYNC_THREADS)
        self.in_flight = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="asgi-live-server", daemon=True)
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI test server did not start")
            time.sleep(0.01)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.in_flight += 1
        try:
            await self.handler(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def wait_idle(self, timeout: float = 3.0) -> None:
        """Let requests still being answered (a panel's refresh, a stream's last read) finish
        before the test's database is flushed."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        # Close the database connections of the server's threads, so the test database can
        # be dropped.
        from django.db import connections

        from trafficdesk.core import live

        for executor in [*self.handler.pool.executors, live._HUB_THREAD]:
            executor.submit(connections.close_all).result(5)

    def __str__(self) -> str:
        return self.url
