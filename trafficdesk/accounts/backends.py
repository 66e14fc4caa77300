"""How a request finds its signed-in user: Django's ModelBackend, with the user (and the
region and service point the access rules read) fetched at most once per
LOCAL_CACHE_SECONDS per process, and a fresh instance built for each request. A change
saved in this process is seen at once; one saved in another process within
LOCAL_CACHE_SECONDS, as for every per-process cache (core.localcache)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from trafficdesk.accounts.models import User
from trafficdesk.core import localcache

_local_users = localcache.ttl_cache(maxsize=20_000)
# The related models, taken from the fields (accounts sits below the apps that define them).
Region: type[Model] = User._meta.get_field("region").related_model  # type: ignore[assignment]
ServicePoint: type[Model] = User._meta.get_field("service_point").related_model  # type: ignore[assignment]


def _columns(model: type[Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@cache
def _statement() -> str:
    """The user with the region and service point the access rules read, in one plain
    statement (the ORM's compilation of it cost more than the rest of a refused booking)."""
    selected = [
        *(f"u.{c}" for c in _columns(User)),
        *(f"r.{c}" for c in _columns(Region)),
        *(f"p.{c}" for c in _columns(ServicePoint)),
    ]
    return (
        f"SELECT {', '.join(selected)} FROM {User._meta.db_table} u"  # noqa: S608 - names only; the id is bound # nosec B608
        f" LEFT JOIN {Region._meta.db_table} r ON r.id = u.region_id"
        f" LEFT JOIN {ServicePoint._meta.db_table} p ON p.id = u.service_point_id"
        " WHERE u.id = %s"
    )


def _read(user_id: int) -> tuple[list[Any], Any, Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    n_user, n_region = len(_attnames(User)), len(_attnames(Region))
    values = list(row[:n_user])
    region_values = row[n_user : n_user + n_region]
    point_values = row[n_user + n_region :]
    region = (
        Region.from_db("default", _attnames(Region), region_values) if region_values[0] else None
    )
    point = (
        ServicePoint.from_db("default", _attnames(ServicePoint), point_values)
        if point_values[0]
        else None
    )
    return values, region, point


class AccountBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            return None
        row = localcache.get_or_set(_local_users, key, lambda: _read(key))
        if row is None:
            return None
        values, region, point = row
        user = User.from_db("default", _attnames(User), values)
        user._state.fields_cache["region"] = region
        user._state.fields_cache["service_point"] = point
        return user if self.user_can_authenticate(user) else None


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _forget(sender: type[User], instance: User, **kwargs: Any) -> None:
    _local_users.pop(instance.pk, None)
