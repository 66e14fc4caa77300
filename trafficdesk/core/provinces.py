"""Provinces: which node serves a region, keyed by the GB/T 2260 province code.

Each province runs its own TrafficDesk node with its own database (PROVINCE_CODE); its
operational data (sites, slots, bookings, tickets, applications, registrations) lives only
there. The same table (PROVINCE_NODES) drives the balancer's map (`manage.py national_setup
--haproxy-map`) and the node's own refusal of another province's service points."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _


def province_of(region_code: str) -> str:
    """The 2-digit province prefix of a GB/T 2260 code ("520115" → "52")."""
    return region_code[:2]


def home_province() -> str:
    """This node's province code; "" when one node serves every province."""
    return str(getattr(settings, "PROVINCE_CODE", "") or "")


def nodes() -> dict[str, str]:
    return dict(getattr(settings, "PROVINCE_NODES", {}) or {})


def node_for(region_code: str) -> str | None:
    """The address of the node serving this region, if one is configured."""
    return nodes().get(province_of(region_code))


def is_local(region_code: str) -> bool:
    """Whether this node's database holds the region's operational data."""
    home = home_province()
    return not home or province_of(region_code) == home


def foreign_problem(region_code: str) -> str | None:
    """Why this node will not act on the region (another province's), with the way forward;
    None when it is this node's. The one guard the booking and sites services call."""
    if is_local(region_code):
        return None
    address = node_for(region_code)
    if address:
        return _(
            "This service point belongs to another province, whose own system handles it: "
            "go to %(address)s."
        ) % {"address": address}
    return _(
        "This service point belongs to another province, whose own system handles it: "
        "use that province's traffic police service."
    )


def haproxy_map() -> str:
    """A HAProxy map file: the path prefix /p/<code>/ and the host <code>.* → the backend
    `province_<code>` (use with `use_backend %[path,map_beg(/etc/haproxy/provinces.map)]`)."""
    lines = []
    for code in sorted(nodes()):
        lines.append(f"/p/{code}/ province_{code}")
        lines.append(f"{code}. province_{code}")
    return "\n".join(lines) + "\n"
