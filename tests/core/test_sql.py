"""core.sql builds the INSERT the ORM would: the same columns and the same bound values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from trafficdesk.booking.models import Booking, BookingEvent, BookingItem
from trafficdesk.core.sql import insert_statement
from trafficdesk.notify.models import SmsMessage

NOW = timezone.now()


def orm_values(instance: Model) -> list[Any]:
    fields = [f for f in instance._meta.concrete_fields if not f.primary_key]
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def instances() -> list[Model]:
    now = timezone.now()
    return [
        Booking(
            token="t" * 43,
            holder_id=7,
            slot_id=3,
            id_digest="d" * 64,
            id_masked="520115********0010",
            applicant_class="GENERAL",
            minutes=20,
            general_minutes=20,
            status="active",
        ),
        BookingItem(booking_id=5, business_id=2, id_digest="d" * 64, active=True),
        SmsMessage(
            kind="booking.booked",
            recipient="13800000000",
            recipient_masked="138****0000",
            text="预约成功",
            body="预约成功",
            status="queued",
            claimed_at=now - timedelta(seconds=1),
        ),
        BookingEvent(booking_id=5, kind="booked", notice_id=None),
    ]


@pytest.mark.parametrize("index", range(4))
def test_values_are_the_orms(index: int) -> None:
    instance = instances()[index]
    with patch("django.utils.timezone.now", return_value=NOW):  # auto_now_add reads the clock
        sql, params = insert_statement(instance)
        expected = orm_values(instance)
    assert [(type(v), v) for v in params] == [(type(v), v) for v in expected]
    table = instance._meta.db_table
    assert sql.startswith(f"INSERT INTO {table} (") and sql.count("%s") == len(params)


def test_an_expression_takes_the_place_of_a_value() -> None:
    item = BookingItem(booking_id=None, business_id=2, id_digest="d" * 64, active=True)
    sql, params = insert_statement(
        item, select_from="b", expressions={"booking_id": "b.id"}, returning=False
    )
    columns = sql.split("(", 1)[1].split(")", 1)[0].split(", ")
    values = sql.split(" SELECT ", 1)[1].removesuffix(" FROM b").split(", ")
    assert dict(zip(columns, values, strict=True))["booking_id"] == "b.id"
    assert values.count("%s") == len(params) and "RETURNING" not in sql
    assert params == [
        v for c, v in zip(columns, orm_values(item), strict=True) if c != "booking_id"
    ]
    plain, plain_params = insert_statement(item, returning=False)
    assert plain.count("%s") == len(plain_params) == len(params) + 1


@pytest.mark.django_db
def test_fetch_one_builds_the_row_as_the_orm_does(demo: Any) -> None:
    """Every field equal to the ORM's reading, converters included (a datetime is text on
    SQLite until converted), and None for no row."""
    from trafficdesk.accounts.models import Identity, User
    from trafficdesk.core.sql import fetch_one

    holder = User.objects.create(username="fetch-one", mobile="13700000999", role="citizen")
    made = Identity.objects.create(
        user=holder, id_digest="d" * 64, id_masked="520115********0010", verified_at=NOW
    )
    read = fetch_one(Identity, "user_id", holder.pk)
    orm = Identity.objects.get(pk=made.pk)
    assert read is not None and type(read) is Identity and not read._state.adding
    for field in Identity._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert isinstance(read.verified_at, type(NOW)) and read.verified_at == NOW
    assert fetch_one(Identity, "user_id", -1) is None
