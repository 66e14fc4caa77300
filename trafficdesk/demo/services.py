"""Demo data: Guizhou's divisions and risk levels, Guiyang's halls, Guiyang North toll station,
and one login per role. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from trafficdesk.accounts.access import SYSTEM
from trafficdesk.accounts.models import Role, User
from trafficdesk.accounts.services import citizen_for, create_staff_user
from trafficdesk.booking.models import Slot
from trafficdesk.booking.services import generate_slots
from trafficdesk.catalog.models import Business
from trafficdesk.catalog.services import load_catalogue
from trafficdesk.checkpoint.models import Checkpoint, CheckpointKind
from trafficdesk.checkpoint.services import save_checkpoint
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import id_check_char, mask_resident_id, uscc_check_char
from trafficdesk.core.vocabulary import (
    ApplicantClass,
    RiskLevel,
    ServicePointKind,
    VehicleUse,
    WindowKind,
)
from trafficdesk.deferral.models import DeferralWindow, DriverRecord, VehicleRecord
from trafficdesk.deferral.services import open_window
from trafficdesk.enterprises import services as enterprises
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.hallqueue.models import KioskDevice
from trafficdesk.hallqueue.services import register_kiosk
from trafficdesk.policy.models import PhaseSetting
from trafficdesk.policy.services import set_phase
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import load_country, set_risk_level
from trafficdesk.sites.models import ServicePoint, Window, Zone
from trafficdesk.sites.services import save_service_point, save_window, save_zone

DEMO_PASSWORD = "TrafficDesk-demo-2026"  # noqa: S105 - printed for the local demo only
DEMO_CITIZEN_MOBILE = "13800138000"
#: A made-up resident ID number (Guanshanhu district, born 1990-01-01) that passes every
#: check, for trying the booking as the demo citizen: the first booking binds it to the
#: account (real-name booking, accounts.realname).
DEMO_CITIZEN_ID_NUMBER = "52011519900101123" + id_check_char("52011519900101123")
#: The agent of the demo enterprise (a verified freight company holding RESUMPTION).
DEMO_AGENT_MOBILE = "13800138001"
DEMO_ENTERPRISE_USCC = "91520115MA6DXM001" + uscc_check_char("91520115MA6DXM001")
_DEMO_LICENCE = b"\x89PNG\r\n\x1a\n" + b"\0" * 64  # a placeholder image of the licence

HIGH_COUNTIES = {
    "520302": "红花岗区出现聚集性疫情",
    "522301": "兴义市累计超过50例且14天内有聚集性疫情",
}
MEDIUM_COUNTIES = {
    "520102": "14天内有新增确诊病例",
    "520103": "14天内有新增确诊病例",
    "520203": "14天内有新增确诊病例",
    "520402": "14天内有新增确诊病例",
    "520502": "14天内有新增确诊病例",
    "520602": "14天内有新增确诊病例",
    "522601": "14天内有新增确诊病例",
    "522701": "14天内有新增确诊病例",
}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    region: str


@dataclass(frozen=True)
class PointSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str
    county: str
    address: str
    ppe: bool
    area: int
    diversion: int
    designated: bool
    zones: tuple[tuple[str, str, int], ...]
    windows: tuple[
        tuple[int, str, int, tuple[str, ...], bool], ...
    ]  # number, kind, zone, businesses, open
    latitude: float | None = None  # approximate real location (WGS 84)
    longitude: float | None = None
    phone: str = ""


PLATES = ("P01", "P02", "P03", "V01", "V02", "V03", "V04", "V07")
REGISTRATION = ("R01", "R02", "R03", "R04")
LICENCE = ("L01", "L02", "L03", "L04", "D01", "D02", "D03")

POINTS = (
    PointSpec(
        "GY-HALL-01",
        "贵阳市公安交通管理局车辆管理所",
        "Guiyang Vehicle Administration Office",
        ServicePointKind.HALL,
        "520115",
        "贵阳市观山湖区金阳南路 66 号",
        True,
        3200,
        5,
        True,
        (
            ("一楼等候区", "Ground-floor waiting area", 60),
            ("二楼办事区", "First-floor service area", 40),
        ),
        (
            (1, WindowKind.EMERGENCY, 0, PLATES + REGISTRATION + LICENCE, True),
            (2, WindowKind.GREEN, 0, PLATES + REGISTRATION, True),
            (3, WindowKind.NORMAL, 0, PLATES, True),
            (4, WindowKind.NORMAL, 0, PLATES, True),
            (5, WindowKind.NORMAL, 0, REGISTRATION, True),
            (6, WindowKind.NORMAL, 0, REGISTRATION, False),
            (7, WindowKind.NORMAL, 1, LICENCE, True),
            (8, WindowKind.NORMAL, 1, LICENCE, False),
            (9, WindowKind.NORMAL, 1, ("W01",), True),
            (10, WindowKind.NORMAL, 1, ("W01",), False),
        ),
        latitude=26.607,
        longitude=106.629,
        phone="0851-85361122",
    ),
    PointSpec(
        "GY-BR-HX",
        "花溪车管分所",
        "Huaxi Vehicle Administration Branch",
        ServicePointKind.BRANCH,
        "520111",
        "贵阳市花溪区田园南路 18 号",
        True,
        900,
        3,
        False,
        (("办事大厅", "Service hall", 30),),
        (
            (1, WindowKind.EMERGENCY, 0, PLATES + LICENCE, True),
            (2, WindowKind.NORMAL, 0, PLATES + REGISTRATION, True),
            (3, WindowKind.NORMAL, 0, LICENCE, True),
            (4, WindowKind.NORMAL, 0, LICENCE, False),
        ),
        latitude=26.4105,
        longitude=106.67,
        phone="0851-83851234",
    ),
    PointSpec(
        "GY-EXAM-01",
        "贵阳市机动车驾驶人考试中心",
        "Guiyang Driving Exam Centre",
        ServicePointKind.EXAM_CENTRE,
        "520113",
        "贵阳市白云区云环东路 200 号",
        True,
        5000,
        4,
        False,
        (("候考区", "Candidate waiting area", 80), ("理论考场", "Theory test room", 50)),
        (
            (1, WindowKind.NORMAL, 0, ("E01", "E02", "E03", "E04"), True),
            (2, WindowKind.NORMAL, 0, ("E01", "E02", "E03", "E04"), True),
            (3, WindowKind.NORMAL, 1, ("E01", "E04"), True),
        ),
        latitude=26.683,
        longitude=106.646,
        phone="0851-84601234",
    ),
    PointSpec(
        "GY-QC-NM",
        "南明区交通事故快处快赔中心",
        "Nanming Accident Quick-Claim Centre",
        ServicePointKind.QUICK_CLAIM,
        "520102",
        "贵阳市南明区花果园大街 3 号",
        False,
        400,
        2,
        False,
        (("理赔大厅", "Claims hall", 20),),
        (
            (1, WindowKind.NORMAL, 0, ("A01", "A02"), True),
            (2, WindowKind.NORMAL, 0, ("A01",), False),
        ),
        latitude=26.564,
        longitude=106.69,
        phone="0851-85561234",
    ),
    PointSpec(
        "GY-SS-YY",
        "云岩区交管社会服务站",
        "Yunyan Traffic Service Station",
        ServicePointKind.SERVICE_STATION,
        "520103",
        "贵阳市云岩区北京路 9 号",
        False,
        150,
        2,
        False,
        (("服务区", "Service area", 10),),
        ((1, WindowKind.NORMAL, 0, ("W01", "V03", "V04"), True),),
        latitude=26.603,
        longitude=106.715,
        phone="0851-86761234",
    ),
    PointSpec(
        "GY-BR-QZ",
        "清镇车管分所",
        "Qingzhen Vehicle Administration Branch",
        ServicePointKind.BRANCH,
        "520181",
        "贵阳市清镇市云岭东路 52 号",
        True,
        700,
        4,
        False,
        (("办事大厅", "Service hall", 25),),
        (
            (1, WindowKind.EMERGENCY, 0, PLATES, True),
            (2, WindowKind.GREEN, 0, PLATES, True),
            (3, WindowKind.NORMAL, 0, REGISTRATION + LICENCE, True),
        ),
        latitude=26.556,
        longitude=106.48,
        phone="0851-82521234",
    ),
)

STAFF = (
    (Role.REGIONAL_ADMIN, "gz_admin", "520000", "", "省级 管理员"),
    (Role.REGIONAL_ADMIN, "nanming_admin", "520102", "", "南明区 管理员"),
    (Role.CLERK, "clerk", "520115", "GY-HALL-01", "窗口 民警"),
    (Role.HALL_MANAGER, "manager", "520115", "GY-HALL-01", "大厅 负责人"),
    (Role.CHECKPOINT_OFFICER, "officer", "520100", "", "卡口 执勤"),
    (Role.AUDITOR, "auditor", "520000", "", "审计 员"),
)


def _load_points() -> None:
    """Through the sites services, as an administrator would (the system actor)."""
    businesses = {b.code: b for b in Business.objects.all()}
    for spec in POINTS:
        point = ServicePoint.objects.filter(code=spec.code).first() or ServicePoint(code=spec.code)
        point.name_zh, point.name_en, point.kind = spec.name_zh, spec.name_en, spec.kind
        point.region = Region.objects.get(code=spec.county)
        point.address, point.ppe_complete = spec.address, spec.ppe
        point.service_area_m2, point.diversion_ease = spec.area, spec.diversion
        point.designated_emergency = spec.designated
        point.latitude, point.longitude, point.phone = spec.latitude, spec.longitude, spec.phone
        save_service_point(SYSTEM, point)
        zones = []
        for zh, en, cap in spec.zones:
            zone = Zone.objects.filter(service_point=point, name_zh=zh).first() or Zone(
                service_point=point, name_zh=zh
            )
            zone.name_en, zone.occupancy_cap = en, cap
            zones.append(save_zone(SYSTEM, zone))
        for number, kind, zone_index, codes, is_open in spec.windows:
            window = Window.objects.filter(service_point=point, number=number).first() or Window(
                service_point=point, number=number
            )
            window.kind, window.zone, window.is_open = kind, zones[zone_index], is_open
            save_window(SYSTEM, window, [businesses[c] for c in codes])


def _load_staff() -> list[DemoLogin]:
    logins = []
    for role, username, region_code, point_code, full_name in STAFF:
        region = Region.objects.get(code=region_code)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = create_staff_user(username, DEMO_PASSWORD, role, region, full_name=full_name)
        if point_code:
            user.service_point = ServicePoint.objects.get(code=point_code)
            user.save(update_fields=["service_point"])
        logins.append(DemoLogin(role, username, DEMO_PASSWORD, region_code))
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser(
            "admin",
            password=DEMO_PASSWORD,
            role=Role.REGIONAL_ADMIN,
            region=Region.objects.get(code="520000"),
        )
    logins.append(DemoLogin("superuser", "admin", DEMO_PASSWORD, "520000"))
    return logins


def _load_risk_levels() -> None:
    author = User.objects.get(username="gz_admin")
    start = timezone.now() - timedelta(days=1)
    for county in Region.objects.filter(level=RegionLevel.COUNTY, code__startswith="52"):
        if county.risk_assessments.exists():
            continue
        if county.code in HIGH_COUNTIES:
            level, reason = RiskLevel.HIGH, HIGH_COUNTIES[county.code]
        elif county.code in MEDIUM_COUNTIES:
            level, reason = RiskLevel.MEDIUM, MEDIUM_COUNTIES[county.code]
        else:
            level, reason = RiskLevel.LOW, "连续14天无新增确诊病例"
        set_risk_level(author, county, level, reason=reason, effective_from=start)


def _load_phases() -> None:
    if PhaseSetting.objects.exists():
        return
    author = User.objects.get(username="gz_admin")
    start = timezone.now() - timedelta(days=1)
    set_phase(
        author,
        Region.objects.get(code="520000"),
        2,
        reason="全省恢复考试、登记检验和违法处理业务",
        effective_from=start,
    )
    set_phase(
        author,
        Region.objects.get(code="520100"),
        3,
        reason="贵阳市恢复分所、快处快赔中心和服务站点",
        effective_from=start,
    )


def _load_slots(days: int = 7) -> None:
    today = timezone.localdate()
    if Slot.objects.filter(starts_at__date__gte=today).exists():
        return
    for point in ServicePoint.objects.select_related("region"):
        for offset in range(days):
            generate_slots(point, today + timedelta(days=offset))


DEMO_DRIVERS = (  # (ID number, masked name, mobile, classes, renewal due offset, review due offset)
    ("520102198503127816", "张*", "13800138001", "C1", -40, None),
    ("520103199106234527", "李**", "13800138002", "A2D", -10, -20),
    ("520115197812301238", "王*", "13800138003", "B2", 200, None),
)
DEMO_VEHICLES = (
    ("贵A12345", "520102198503127816", -25),
    ("贵AD23456", "520103199106234527", 90),
    ("贵A8K3M2", "520115197812301238", -5),
)


def _load_deferral() -> None:
    """The deferral window through its service; the driver and vehicle records stand for the
    national registry's data, which TrafficDesk only reads."""
    today = timezone.localdate()
    if not DeferralWindow.objects.exists():
        open_window(
            SYSTEM,
            Region.objects.get(code="520000"),
            name="疫情防控期间延期办",
            starts_on=today - timedelta(days=60),
            ends_on=None,
            grace_days=30,
        )
    for number, name, mobile, classes, renewal, review in DEMO_DRIVERS:
        number = number[:17] + id_check_char(number[:17])
        DriverRecord.objects.get_or_create(
            id_digest=id_digest(number),
            defaults={
                "id_masked": mask_resident_id(number),
                "name_masked": name,
                "mobile": mobile,
                "licence_classes": classes,
                "renewal_due": today + timedelta(days=renewal),
                "review_due": today + timedelta(days=review) if review is not None else None,
                "region": Region.objects.filter(code=number[:6]).first(),
            },
        )
    for plate, owner, due in DEMO_VEHICLES:
        owner = owner[:17] + id_check_char(owner[:17])
        VehicleRecord.objects.get_or_create(
            plate=plate,
            defaults={
                "owner_digest": id_digest(owner),
                "inspection_due": today + timedelta(days=due),
                "region": Region.objects.filter(code=owner[:6]).first(),
            },
        )


DEMO_KIOSK_HALL = "GY-HALL-01"
DEMO_KIOSK_NAME = "一楼取号机"


@transaction.atomic
def load_demo_kiosk() -> str | None:
    """The demo hall's kiosk: the path of a fresh one-time pairing link to open on the kiosk
    screen, or None when a screen is paired already (its cookie keeps working; register
    another on the hall's Kiosks page). An unused pairing code of an earlier run is dropped."""
    point = ServicePoint.objects.get(code=DEMO_KIOSK_HALL)
    kiosks = KioskDevice.objects.filter(
        service_point=point, name=DEMO_KIOSK_NAME, revoked_at__isnull=True
    )
    if kiosks.filter(paired_at__isnull=False).exists():
        return None
    kiosks.delete()
    _device, code = register_kiosk(SYSTEM, point, DEMO_KIOSK_NAME)
    pair = reverse("hallqueue:kiosk-pair", args=[point.code])
    return f"{pair}?{urlencode({'code': code})}"


@transaction.atomic
def load_demo() -> list[DemoLogin]:
    load_country()
    load_catalogue()
    _load_points()
    logins = _load_staff()
    _load_risk_levels()
    _load_phases()
    _load_slots()
    _load_deferral()
    toll = Checkpoint.objects.filter(code="GY-N-TOLL").first() or Checkpoint(code="GY-N-TOLL")
    toll.name_zh, toll.name_en = "贵阳北收费站", "Guiyang North toll station"
    toll.kind, toll.region = CheckpointKind.TOLL_STATION, Region.objects.get(code="520113")
    toll.road = "G75 兰海高速"
    save_checkpoint(SYSTEM, toll)
    _load_enterprise()
    return logins


def _load_enterprise() -> None:
    """A verified freight company of 观山湖区 with RESUMPTION for a year and two lorries; its
    agent logs in by SMS like any citizen. Through the enterprise services, once."""
    if Enterprise.objects.filter(uscc=DEMO_ENTERPRISE_USCC).exists():
        return
    agent = citizen_for(DEMO_AGENT_MOBILE)
    enterprise = enterprises.register(
        agent,
        uscc=DEMO_ENTERPRISE_USCC,
        name="贵阳复工物流有限公司（演示）",
        address="贵州省贵阳市观山湖区长岭北路 1 号",
        contact_name="张经办",
        contact_mobile=DEMO_AGENT_MOBILE,
        document_name="licence.png",
        document=_DEMO_LICENCE,
    )
    admin = User.objects.get(username="gz_admin")
    enterprises.verify(admin, enterprise, approve=True, note="演示数据")
    until = timezone.localdate() + timedelta(days=365)
    enterprises.grant(
        admin, enterprise, ApplicantClass.RESUMPTION, until, "复工复产货运企业（演示）"
    )
    for plate in ("贵A88001", "贵A88002"):
        enterprises.add_vehicle(
            agent, enterprise, plate=plate, vehicle_type="重型厢式货车", use=VehicleUse.FREIGHT
        )
