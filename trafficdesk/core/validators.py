"""Validators, parsers and maskers for Chinese traffic-police identifiers.

Everything above the "Django wrappers" section is pure Python and can be
imported without Django settings being configured.  The Django wrappers at the
bottom import Django lazily, inside the function bodies.

Covered identifiers:

* Resident identity card numbers (GB 11643-1999, 18 characters).
* Motor-vehicle number plates (GA 36), see :func:`parse_plate` for the exact
  accepted forms.
* Driving-licence permitted vehicle classes (准驾车型).
* Mainland mobile phone numbers.
* Unified social credit codes of enterprises and other organisations (GB 32100-2015).

All parsing failures raise :class:`InvalidValue`, a :class:`ValueError`
subclass carrying a machine-readable ``code`` plus Chinese and English
messages.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Final, Literal, NoReturn

__all__ = [
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "LICENCE_CLASSES",
    "EMBASSY_MARK",
    "PLATE_PROVINCES",
    "PROVINCE_CODES",
    "USCC_CHARS",
    "RESIDENCE_PERMIT_REGION_CODES",
    "InvalidValue",
    "Plate",
    "PlateKind",
    "ResidentId",
    "Sex",
    "id_check_char",
    "is_valid_licence_class",
    "is_valid_mobile",
    "is_valid_plate",
    "is_valid_resident_id",
    "mask_mobile",
    "mask_name",
    "mask_personal_data_in_text",
    "mask_plate",
    "mask_resident_id",
    "normalise_mobile",
    "parse_uscc",
    "uscc_check_char",
    "validate_uscc",
    "check_free_text",
    "validate_free_text",
    "parse_licence_classes",
    "parse_plate",
    "parse_resident_id",
    "validate_licence_classes",
    "validate_mobile",
    "validate_plate",
    "validate_resident_id",
]


class InvalidValue(ValueError):
    """A value failed validation.

    ``code`` is a stable machine-readable identifier such as ``"id.checksum"``
    or ``"plate.format"``; ``message_zh`` / ``message_en`` are user-facing
    messages in Simplified Chinese and English.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(code, message_zh, message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        """The message in the active language, without the code: str() of a refusal can reach
        a page (a message, a form error), and a code such as "id.length" is not for people."""
        try:
            from django.utils import translation  # local import: this module works without Django

            language = translation.get_language()
        except Exception:  # noqa: BLE001 - Django not configured: the default language
            language = None
        return self.message(language)

    def message(self, language: str | None = None) -> str:
        """Return the message for ``language`` (English if it starts with "en")."""
        if language is not None and language.lower().startswith("en"):
            return self.message_en
        return self.message_zh


# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space -> ASCII.
_FULLWIDTH_TABLE: Final[dict[int, int]] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH_TABLE[0x3000] = 0x20


def _fold_fullwidth(value: str) -> str:
    return value.translate(_FULLWIDTH_TABLE)


def _require_str(value: object, code: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(code, "必须为文本", "Value must be a string")
    return value


# ---------------------------------------------------------------------------
# Resident identity card numbers (GB 11643-1999)
# ---------------------------------------------------------------------------

#: ISO 7064 MOD 11-2 weights for the first 17 digits.
ID_WEIGHTS: Final[tuple[int, ...]] = (
    7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2,
)  # fmt: skip
#: Check character indexed by ``sum(weights * digits) % 11``.
ID_CHECK_CHARS: Final[str] = "10X98765432"

#: Valid two-digit province-level administrative division codes.
PROVINCE_CODES: Final[frozenset[str]] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

#: Region codes of residence permits for residents of Hong Kong (81), Macau (82) and
#: Taiwan (83); 830000 is not a GB/T 2260 division but is what the Taiwan permits carry.
RESIDENCE_PERMIT_REGION_CODES: Final[frozenset[str]] = frozenset({"810000", "820000", "830000"})

#: Every GB/T 2260 code ever issued, current and abolished (an ID keeps the code of the
#: county where it was first issued, even after that county is merged or renamed); made by
#: scripts/make_historical_divisions.py, source and licence in HISTORICAL_DIVISIONS.md.
HISTORICAL_DIVISIONS_CSV: Final[Path] = (
    Path(__file__).resolve().parent.parent / "regions" / "data" / "historical_divisions.csv"
)


@cache
def known_region_codes() -> frozenset[str]:
    """The six-digit codes an ID number may start with (read once, then kept)."""
    with HISTORICAL_DIVISIONS_CSV.open(encoding="utf-8", newline="") as handle:
        codes = frozenset(row["code"] for row in csv.DictReader(handle))
    return codes | RESIDENCE_PERMIT_REGION_CODES


_EARLIEST_BIRTH_DATE: Final[date] = date(1900, 1, 1)
_ID_FIRST17_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{17}")
_ID_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{17}[0-9X]")

Sex = Literal["M", "F"]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A parsed, valid 18-character resident identity number."""

    number: str
    region_code: str
    birth_date: date
    sex: Sex


def id_check_char(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for 17 ASCII digits."""
    first17 = _require_str(first17, "id.format")
    if not _ID_FIRST17_RE.fullmatch(first17):
        raise InvalidValue(
            "id.format",
            "身份证号码前17位必须为数字",
            "The first 17 characters of an ID number must be digits",
        )
    total = sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Parse and validate an 18-character resident identity number.

    Surrounding whitespace is ignored, full-width characters are folded to
    ASCII and a trailing lower-case ``x`` is normalised to ``X``.

    The first six digits must be a GB/T 2260 code that was ever issued
    (current or abolished, see :func:`known_region_codes`) or a residence
    permit's 810000 / 820000 / 830000.

    Raises :class:`InvalidValue` with one of the codes ``id.length``,
    ``id.format``, ``id.region``, ``id.birth_date`` or ``id.checksum``.
    """
    value = _require_str(value, "id.format")
    number = _fold_fullwidth(value).strip()
    if len(number) != 18:
        raise InvalidValue(
            "id.length",
            "身份证号码必须为18位",
            "An ID number must be 18 characters long",
        )
    if number[-1] == "x":
        number = number[:-1] + "X"
    if not _ID_RE.fullmatch(number):
        raise InvalidValue(
            "id.format",
            "身份证号码格式不正确：前17位须为数字，最后一位为数字或X",
            "Invalid ID number format: 17 digits followed by a digit or X",
        )
    region_code = number[:6]
    if region_code[:2] not in PROVINCE_CODES or region_code not in known_region_codes():
        raise InvalidValue(
            "id.region",
            "身份证号码前6位不是有效的地区代码，请核对号码",
            "The first 6 digits of the ID number are not a real region code. Check the number.",
        )
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue(
            "id.birth_date",
            "身份证号码中的出生日期无效",
            "The date of birth in the ID number is not a valid date",
        ) from None
    if today is None:
        today = date.today()
    if birth_date < _EARLIEST_BIRTH_DATE or birth_date > today:
        raise InvalidValue(
            "id.birth_date",
            "身份证号码中的出生日期超出有效范围",
            "The date of birth in the ID number is out of range",
        )
    if id_check_char(number[:17]) != number[17]:
        raise InvalidValue(
            "id.checksum",
            "身份证号码校验位错误",
            "The ID number check character is wrong",
        )
    sex: Sex = "M" if int(number[16]) % 2 == 1 else "F"
    return ResidentId(number=number, region_code=region_code, birth_date=birth_date, sex=sex)


def is_valid_resident_id(value: str, *, today: date | None = None) -> bool:
    """Return True if ``value`` is a valid resident identity number."""
    try:
        parse_resident_id(value, today=today)
    except InvalidValue:
        return False
    return True


# ---------------------------------------------------------------------------
# Number plates (GA 36)
# ---------------------------------------------------------------------------

#: Province abbreviation -> two-digit administrative division code.
PLATE_PROVINCES: Final[dict[str, str]] = {
    "京": "11",
    "津": "12",
    "冀": "13",
    "晋": "14",
    "蒙": "15",
    "辽": "21",
    "吉": "22",
    "黑": "23",
    "沪": "31",
    "苏": "32",
    "浙": "33",
    "皖": "34",
    "闽": "35",
    "赣": "36",
    "鲁": "37",
    "豫": "41",
    "鄂": "42",
    "湘": "43",
    "粤": "44",
    "桂": "45",
    "琼": "46",
    "渝": "50",
    "川": "51",
    "贵": "52",
    "云": "53",
    "藏": "54",
    "陕": "61",
    "甘": "62",
    "青": "63",
    "宁": "64",
    "新": "65",
}

PlateKind = Literal[
    "ordinary",
    "new_energy",
    "temporary",
    "coach",
    "trailer",
    "police",
    "test",
    "oversize",
    "embassy",
    "consulate",
    "hk_macau",
]

#: The mark that begins an embassy plate (使馆汽车号牌, GA 36-2018): 使 and six digits.
EMBASSY_MARK: Final[str] = "使"

_PROV = "[" + "".join(PLATE_PROVINCES) + "]"
# The issuing-authority letter (发牌机关代号) may be O (e.g. 京O, police vehicles); GA 36
# keeps I and O out of the serial only, where they would read as 1 and 0.
_LETTER = "[A-HJ-Z]"  # A-Z without I
_ALNUM = "[0-9A-HJ-NP-Z]"  # digits and letters without I and O

_PLATE_PATTERNS: Final[tuple[tuple[re.Pattern[str], PlateKind | None], ...]] = (
    # 贵A12345
    (re.compile(rf"(?P<prov>{_PROV})(?P<letter>{_LETTER}){_ALNUM}{{5}}"), "ordinary"),
    # 贵AD12345 / 贵AF1A234... (D|F + alnum + 4 digits) and 贵A12345D (5 digits + D|F)
    (
        re.compile(
            rf"(?P<prov>{_PROV})(?P<letter>{_LETTER})(?:[DF]{_ALNUM}[0-9]{{4}}|[0-9]{{5}}[DF])"
        ),
        "new_energy",
    ),
    # 贵A1234学 / 挂 / 警 / 试 / 超 / 领  (kind decided by the suffix)
    (
        re.compile(
            rf"(?P<prov>{_PROV})(?P<letter>{_LETTER}){_ALNUM}{{4}}(?P<suffix>[学挂警试超领])"
        ),
        None,
    ),
    # 粤Z1234港 / 粤Z1234澳: Hong Kong and Macau vehicles entering via Guangdong
    (re.compile(rf"(?P<prov>粤)(?P<letter>Z){_ALNUM}{{4}}(?P<suffix>[港澳])"), "hk_macau"),
    # 使014578: embassy plates carry no province
    (re.compile(rf"{EMBASSY_MARK}[0-9]{{6}}"), "embassy"),
    # 临贵A1234 / 临贵A12345
    (re.compile(rf"临(?P<prov>{_PROV})(?P<letter>{_LETTER}){_ALNUM}{{4,5}}"), "temporary"),
    # 贵A12345临
    (re.compile(rf"(?P<prov>{_PROV})(?P<letter>{_LETTER}){_ALNUM}{{5}}临"), "temporary"),
)

_SUFFIX_KINDS: Final[dict[str, PlateKind]] = {
    "学": "coach",
    "挂": "trailer",
    "警": "police",
    "试": "test",
    "超": "oversize",
    "领": "consulate",
}
_PLATE_SEPARATORS_RE: Final[re.Pattern[str]] = re.compile(r"[\s.\-·•・‧]+")


@dataclass(frozen=True, slots=True)
class Plate:
    """A parsed, valid number plate."""

    number: str
    province_abbr: str  #: "" for an embassy plate (使), which names no province
    province_code: str  #: "" for an embassy plate
    issuer_letter: str  #: "" for an embassy plate
    kind: PlateKind


def _normalise_plate_text(value: str) -> str:
    text = _fold_fullwidth(value)
    return _PLATE_SEPARATORS_RE.sub("", text).upper()


def parse_plate(value: str) -> Plate:
    """Parse and validate a motor-vehicle number plate.

    The input is normalised first: full-width characters are folded to ASCII,
    whitespace, dots, middle dots and hyphens are removed, and ASCII letters
    are upper-cased.  In the rules below ``P`` is one of the 31 province
    abbreviations in :data:`PLATE_PROVINCES`, ``L`` is an issuing-authority
    letter A-Z excluding I (O is allowed: 京O12345), and ``X`` is a digit or a
    letter excluding I and O (GA 36-2018 keeps those two out of the serial).

    * ordinary:   ``P L XXXXX``            e.g. 贵A12345
    * new_energy (small vehicles): ``P L [DF] X 9999`` - D or F, one
      alphanumeric, then four digits, e.g. 贵AD12345, 贵AFA1234
      (贵AF1A234 is rejected: the last four must be digits);
      new_energy (large vehicles): ``P L 99999 [DF]``, e.g. 贵A12345D
    * coach / trailer / police / test / oversize / consulate: ``P L XXXX`` +
      学 / 挂 / 警 / 试 / 超 / 领, e.g. 贵A1234学, 沪A1234领
    * hk_macau: ``粤 Z XXXX`` + 港 / 澳, e.g. 粤Z1234港
    * embassy: ``使 999999`` (使 and six digits, no province), e.g. 使014578
    * temporary: either the prefixed form ``临 P L XXXX`` / ``临 P L XXXXX``
      (e.g. 临贵A1234, 临贵A12345) or the suffixed form ``P L XXXXX 临``
      (e.g. 贵A12345临).  The normalised ``number`` keeps the 临 where it was
      written.

    Raises :class:`InvalidValue` with code ``plate.province`` when the
    province abbreviation is not recognised and ``plate.format`` otherwise.
    """
    value = _require_str(value, "plate.format")
    number = _normalise_plate_text(value)
    head = number[1:2] if number.startswith("临") else number[:1]
    if not head:
        raise InvalidValue("plate.format", "号牌号码不能为空", "The plate number is empty")
    if head != EMBASSY_MARK and head not in PLATE_PROVINCES:
        raise InvalidValue(
            "plate.province",
            "号牌号码的省份简称无效",
            "The province abbreviation of the plate number is not recognised",
        )
    for pattern, kind in _PLATE_PATTERNS:
        match = pattern.fullmatch(number)
        if match is None:
            continue
        if kind is None:
            kind = _SUFFIX_KINDS[match.group("suffix")]
        if kind == "embassy":
            return Plate(number, province_abbr="", province_code="", issuer_letter="", kind=kind)
        prov = match.group("prov")
        return Plate(
            number=number,
            province_abbr=prov,
            province_code=PLATE_PROVINCES[prov],
            issuer_letter=match.group("letter"),
            kind=kind,
        )
    raise InvalidValue(
        "plate.format",
        "号牌号码格式不正确",
        "The plate number format is invalid",
    )


def is_valid_plate(value: str) -> bool:
    """Return True if ``value`` is a valid number plate (see :func:`parse_plate`)."""
    try:
        parse_plate(value)
    except InvalidValue:
        return False
    return True


# ---------------------------------------------------------------------------
# Driving-licence classes (准驾车型)
# ---------------------------------------------------------------------------

#: All permitted-vehicle classes in canonical order.
LICENCE_CLASSES: Final[tuple[str, ...]] = (
    "A1", "A2", "A3", "B1", "B2",
    "C1", "C2", "C3", "C4", "C5", "C6",
    "D", "E", "F", "M", "N", "P",
)  # fmt: skip
_LICENCE_ORDER: Final[dict[str, int]] = {c: i for i, c in enumerate(LICENCE_CLASSES)}
_LICENCE_SEPARATORS_RE: Final[re.Pattern[str]] = re.compile(r"[\s,，、]+")


def parse_licence_classes(value: str) -> tuple[str, ...]:
    """Parse a licence-class string such as ``"C1"``, ``"A2D"`` or ``"B2, E"``.

    Classes may be concatenated or separated by whitespace, commas (ASCII or
    full-width) or 、.  Letters are case-insensitive.  The result is in the
    canonical order of :data:`LICENCE_CLASSES`.  Unknown, duplicate or
    missing classes raise ``InvalidValue("licence.class", ...)``.
    """
    value = _require_str(value, "licence.class")
    text = _fold_fullwidth(value).upper()
    found: list[str] = []
    for chunk in _LICENCE_SEPARATORS_RE.split(text):
        i = 0
        while i < len(chunk):
            if chunk[i : i + 2] in _LICENCE_ORDER:
                token = chunk[i : i + 2]
            elif chunk[i] in _LICENCE_ORDER:
                token = chunk[i]
            else:
                raise InvalidValue(
                    "licence.class",
                    "准驾车型无效",
                    "Unknown licence class",
                )
            if token in found:
                raise InvalidValue(
                    "licence.class",
                    f"准驾车型重复：{token}",
                    f"Duplicate licence class: {token}",
                )
            found.append(token)
            i += len(token)
    if not found:
        raise InvalidValue("licence.class", "请填写准驾车型", "No licence class given")
    return tuple(sorted(found, key=_LICENCE_ORDER.__getitem__))


def is_valid_licence_class(value: str) -> bool:
    """Return True if ``value`` parses with :func:`parse_licence_classes`."""
    try:
        parse_licence_classes(value)
    except InvalidValue:
        return False
    return True


# ---------------------------------------------------------------------------
# Mobile numbers
# ---------------------------------------------------------------------------

_MOBILE_RE: Final[re.Pattern[str]] = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_MOBILE_SEPARATORS_RE: Final[re.Pattern[str]] = re.compile(r"[\s\-]+")


def normalise_mobile(value: str) -> str:
    """Return the 11-digit mainland mobile number contained in ``value``.

    An optional ``+86``, ``0086`` or ``86`` prefix, whitespace and hyphens are
    accepted; full-width characters are folded to ASCII.  Raises
    ``InvalidValue("mobile.format", ...)`` otherwise.
    """
    value = _require_str(value, "mobile.format")
    text = _MOBILE_SEPARATORS_RE.sub("", _fold_fullwidth(value))
    match = _MOBILE_RE.fullmatch(text)
    if match is None:
        raise InvalidValue(
            "mobile.format",
            "手机号码格式不正确",
            "Invalid mobile phone number",
        )
    return match.group(1)


def is_valid_mobile(value: str) -> bool:
    """Return True if ``value`` is a valid mainland mobile number."""
    try:
        normalise_mobile(value)
    except InvalidValue:
        return False
    return True


# ---------------------------------------------------------------------------
# Masking (for display and logs)
# ---------------------------------------------------------------------------


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        # Too short to keep both ends without revealing everything.
        keep = min(keep_start, max(len(value) - 1, 0))
        return value[:keep] + "*" * (len(value) - keep)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]


def mask_resident_id(value: str) -> str:
    """Mask an ID number, keeping the first 4 and last 4 characters.

    ``"52010219900307123X"`` -> ``"5201**********123X"``.  The length is kept.
    """
    return _mask_middle(value.strip(), 4, 4)


def mask_mobile(value: str) -> str:
    """Mask a mobile number, keeping the first 3 and last 4 digits.

    ``"13812345678"`` -> ``"138****5678"``.  Valid numbers are normalised
    first (prefix and separators removed).
    """
    try:
        digits = normalise_mobile(value)
    except InvalidValue:
        digits = value.strip()
    return _mask_middle(digits, 3, 4)


def mask_plate(value: str) -> str:
    """Mask a plate, keeping the first 2 and last 2 characters.

    ``"贵A12345"`` -> ``"贵A***45"``.  Separators are removed first.
    """
    return _mask_middle(_normalise_plate_text(value), 2, 2)


def mask_name(value: str) -> str:
    """Mask a personal name: first character then one ``*`` per remaining one.

    ``"张三丰"`` -> ``"张**"``; a single-character name becomes ``"*"``.
    """
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


_TEXT_ID_RE: Final[re.Pattern[str]] = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_TEXT_MOBILE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![0-9])(?P<prefix>(?:\+86|0086|86)[ \-]?)?(?P<number>1[3-9][0-9]{9})(?![0-9])"
)


def _mask_text_mobile(match: re.Match[str]) -> str:
    return (match.group("prefix") or "") + _mask_middle(match.group("number"), 3, 4)


def mask_personal_data_in_text(text: str) -> str:
    """Mask 18-character ID numbers and mainland mobiles found in free text.

    Only ASCII digit runs are considered; a number embedded in a longer run
    of digits is left alone (except a mobile directly preceded by a
    ``+86`` / ``0086`` / ``86`` country prefix, which is masked).  ID numbers
    are masked whether or not their checksum is valid.
    """
    masked = _TEXT_ID_RE.sub(lambda m: _mask_middle(m.group(0), 4, 4), text)
    return _TEXT_MOBILE_RE.sub(_mask_text_mobile, masked)


# ---------------------------------------------------------------------------
# Django wrappers (Django is imported lazily)
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Unified social credit codes (统一社会信用代码, GB 32100-2015)
# ---------------------------------------------------------------------------

#: The 31 characters a code may use (no I, O, S, V, Z); a character's value is its index.
USCC_CHARS: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of the first 17 characters: 3**i mod 31.
USCC_WEIGHTS: Final[tuple[int, ...]] = tuple(pow(3, i, 31) for i in range(17))
_USCC_RE: Final[re.Pattern[str]] = re.compile(rf"[{USCC_CHARS}]{{2}}[0-9]{{6}}[{USCC_CHARS}]{{10}}")


def uscc_check_char(first17: str) -> str:
    """The check character (position 18) of a code's first 17 characters: 31 minus the
    weighted sum modulo 31, as a code character (31 becomes 0)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def parse_uscc(value: object) -> str:
    """The code, normalised (full-width folded, spaces removed, upper case), when it is a
    valid unified social credit code; else InvalidValue (uscc.format or uscc.checksum).
    Positions 3-8 are the registering region's division code (digits)."""
    text = _PLATE_SEPARATORS_RE.sub("", _fold_fullwidth(_require_str(value, "uscc.format")))
    code = text.upper()
    if len(code) != 18 or not _USCC_RE.fullmatch(code):
        raise InvalidValue(
            "uscc.format",
            "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）",
            "A unified social credit code is 18 digits or capital letters (no I, O, S, V, Z)",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidValue(
            "uscc.checksum",
            "统一社会信用代码校验码不正确，请核对",
            "The check character of this unified social credit code is wrong; check the code",
        )
    return code


def _raise_django_validation_error(exc: InvalidValue) -> NoReturn:
    # local import: everything above is pure Python, usable without Django settings
    from django.core.exceptions import ValidationError
    from django.utils.translation import get_language

    language = get_language() or ""
    raise ValidationError(exc.message(language), code=exc.code) from exc


def validate_resident_id(value: str) -> None:
    """Django validator for resident identity numbers."""
    try:
        parse_resident_id(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)


def validate_plate(value: str) -> None:
    """Django validator for number plates."""
    try:
        parse_plate(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)


def validate_mobile(value: str) -> None:
    """Django validator for mainland mobile numbers."""
    try:
        normalise_mobile(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)


def validate_licence_classes(value: str) -> None:
    """Django validator for licence-class strings."""
    try:
        parse_licence_classes(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)


def validate_uscc(value: str) -> None:
    """Django validator for unified social credit codes."""
    try:
        parse_uscc(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)


# ---------------------------------------------------------------------------
# Free text (names, reasons, notes, addresses, notice lines)
# ---------------------------------------------------------------------------

#: Control characters (Unicode category Cc) other than tab, line feed and carriage return,
#: and the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069),
#: which make stored text display other than it reads. NUL is refused by PostgreSQL too.
FORBIDDEN_TEXT_CHARS_RE: Final[re.Pattern[str]] = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def check_free_text(value: str) -> str:
    """Return ``value`` unchanged, or raise :class:`InvalidValue` (``text.control``) if it
    holds a control character or a bidirectional override."""
    value = _require_str(value, "text.control")
    found = FORBIDDEN_TEXT_CHARS_RE.search(value)
    if found is not None:
        code_point = f"U+{ord(found.group()):04X}"
        raise InvalidValue(
            "text.control",
            f"文本中含有不可见的控制字符（{code_point}，常见于复制粘贴），请删除后重新输入",
            f"The text contains an invisible control character ({code_point}, often from "
            "copy and paste). Remove it and type the text again.",
        )
    return value


def validate_free_text(value: str) -> None:
    """Django validator for free text (see :func:`check_free_text`)."""
    try:
        check_free_text(value)
    except InvalidValue as exc:
        _raise_django_validation_error(exc)
