"""Short-lived, per-process caches for hot read paths (booking, decisions).

Each cache is a cachetools.TTLCache. A change made in this process clears them at once;
a change made in another process is seen after at most LOCAL_CACHE_SECONDS. Bookings made
in that window against a just-closed service are caught by the rebooking task, which runs
after every risk, phase or policy change.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import TTLCache
from django.conf import settings

_caches: list[TTLCache[Any, Any]] = []
_lock = threading.Lock()


def ttl_cache(maxsize: int = 4096) -> TTLCache[Any, Any]:
    cache: TTLCache[Any, Any] = TTLCache(
        maxsize=maxsize, ttl=max(settings.LOCAL_CACHE_SECONDS, 0.001)
    )
    _caches.append(cache)
    return cache


def get_or_set(cache: TTLCache[Any, Any], key: Any, make: Any) -> Any:
    if settings.LOCAL_CACHE_SECONDS == 0:
        return make()
    try:
        return cache[key]
    except KeyError:
        value = make()
        with _lock:
            cache[key] = value
        return value


def clear_all(*args: Any, **kwargs: Any) -> None:
    with _lock:
        for cache in _caches:
            cache.clear()


def peek(cache: TTLCache[Any, Any], key: Any) -> Any:
    """The cached value, or None."""
    if settings.LOCAL_CACHE_SECONDS == 0:
        return None
    return cache.get(key)


def put(cache: TTLCache[Any, Any], key: Any, value: Any) -> None:
    if settings.LOCAL_CACHE_SECONDS == 0:
        return
    with _lock:
        cache[key] = value


def drop(cache: TTLCache[Any, Any], key: Any) -> None:
    with _lock:
        cache.pop(key, None)
