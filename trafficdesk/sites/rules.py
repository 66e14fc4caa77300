"""Pure rules about where service points are: distances, the point a county is measured
from, what counts as "near", and the lunch break.

Distances are great-circle distances on a sphere of the Earth's mean radius (haversine),
in kilometres, from WGS 84 coordinates. Roads are longer; the pages say "about N km".

The point a county is measured from (`county_point`) is honest about what it is:

1. the county's seat (政府驻地), from `SEATS` — approximate coordinates of Guiyang's
   districts and counties, of 遵义's central districts and of the seat of every city
   (地级行政区) of Guizhou, rounded to about a kilometre;
2. else the mean position of the county's own service points, when they have coordinates;
3. else the seat of its city, from `SEATS` (for a county of Guizhou that has no entry);
4. else nothing: the distance is then unknown and no place is called "near".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from django.utils.translation import gettext as _

EARTH_RADIUS_KM = 6371.0088
NEARBY_RADIUS_KM = 50.0
"""A place further away than this is not offered as "nearby"."""

Point = tuple[float, float]

SEATS: dict[str, Point] = {
    # 贵阳市 and its districts and counties
    "520100": (26.6470, 106.6302),
    "520102": (26.5681, 106.7146),  # 南明区
    "520103": (26.6049, 106.7134),  # 云岩区
    "520111": (26.4100, 106.6700),  # 花溪区
    "520112": (26.6300, 106.7520),  # 乌当区
    "520113": (26.6780, 106.6230),  # 白云区
    "520115": (26.6010, 106.6260),  # 观山湖区
    "520121": (27.0570, 106.9650),  # 开阳县
    "520122": (27.0900, 106.7400),  # 息烽县
    "520123": (26.8380, 106.5920),  # 修文县
    "520181": (26.5560, 106.4700),  # 清镇市
    # 遵义市
    "520300": (27.7254, 106.9272),
    "520302": (27.6940, 106.8940),  # 红花岗区
    "520303": (27.7060, 106.9340),  # 汇川区
    "520304": (27.5360, 106.8300),  # 播州区
    # the seats of the other cities of Guizhou
    "520200": (26.5930, 104.8300),  # 六盘水市（钟山区）
    "520400": (26.2530, 105.9470),  # 安顺市（西秀区）
    "520500": (27.3020, 105.2850),  # 毕节市（七星关区）
    "520600": (27.7180, 109.1910),  # 铜仁市（碧江区）
    "522300": (25.0920, 104.8950),  # 黔西南州（兴义市）
    "522301": (25.0920, 104.8950),  # 兴义市
    "522600": (26.5830, 107.9820),  # 黔东南州（凯里市）
    "522700": (26.2590, 107.5180),  # 黔南州（都匀市）
}


def distance_km(a: Point, b: Point) -> float:
    """The great-circle distance between two (latitude, longitude) points, in km."""
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def county_point(
    county_code: str, city_code: str | None, own_points: Iterable[Point | None] = ()
) -> Point | None:
    """Where distances from a county are measured from (see the module's docstring)."""
    if county_code in SEATS:
        return SEATS[county_code]
    known = [p for p in own_points if p is not None]
    if known:
        return (sum(p[0] for p in known) / len(known), sum(p[1] for p in known) / len(known))
    if city_code and city_code in SEATS:
        return SEATS[city_code]
    return None


def is_near(km: float | None, radius_km: float = NEARBY_RADIUS_KM) -> bool:
    """Whether a place this far away may be offered as "nearby" (unknown is not near)."""
    return km is not None and km <= radius_km


def lunch_problem(
    opens_at: time | None,
    closes_at: time | None,
    lunch_starts_at: time | None,
    lunch_ends_at: time | None,
) -> str | None:
    """Why these opening hours and lunch break do not fit together, or None."""
    if lunch_starts_at is None and lunch_ends_at is None:
        return None
    if lunch_starts_at is None or lunch_ends_at is None:
        return _("Give both the start and the end of the lunch break, or neither.")
    if lunch_ends_at <= lunch_starts_at:
        return _("The lunch break ends after it starts.")
    if (
        opens_at is not None
        and closes_at is not None
        and not (opens_at <= lunch_starts_at and lunch_ends_at <= closes_at)
    ):
        return _("The lunch break lies within the opening hours.")
    return None


# --- when a hall issues walk-in tickets ----------------------------------------------------------

#: Why a hall issues no walk-in ticket at a moment (walk_in_closed).
BEFORE_OPENING, LUNCH, AFTER_CLOSING, CLOSED_DAY = "before", "lunch", "after", "closed_day"


def walk_in_closed(
    local: datetime,
    opens_at: time,
    closes_at: time,
    lunch: tuple[time, time] | None = None,
    open_day: Callable[[date], bool] = lambda _day: True,
    *,
    look_ahead_days: int = 31,
) -> tuple[str, datetime | None] | None:
    """None when a walk-in ticket may be issued at `local` (a local, aware or naive moment):
    on an open day, from `opens_at` up to (not at) `closes_at`, outside the lunch break
    [start, end). Else (why, the next moment tickets are issued again, or None when no open
    day comes within `look_ahead_days`)."""
    day, now = local.date(), local.time()
    lunch_from, lunch_to = lunch if lunch is not None and lunch[0] < lunch[1] else (None, None)

    def at(d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=local.tzinfo)

    def next_open_day(after: date) -> datetime | None:
        for offset in range(1, look_ahead_days + 1):
            candidate = after + timedelta(days=offset)
            if open_day(candidate):
                return at(candidate, opens_at)
        return None

    if opens_at >= closes_at:
        return (CLOSED_DAY, None)
    if not open_day(day):
        return (CLOSED_DAY, next_open_day(day))
    if now < opens_at:
        return (BEFORE_OPENING, at(day, opens_at))
    if now >= closes_at:
        return (AFTER_CLOSING, next_open_day(day))
    if lunch_from is not None and lunch_to is not None and lunch_from <= now < lunch_to:
        return (LUNCH, at(day, lunch_to) if lunch_to < closes_at else next_open_day(day))
    return None
