"""Tests for trafficdesk.core.validators (pure Python, no database or settings)."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trafficdesk.core.validators import (
    LICENCE_CLASSES,
    PLATE_PROVINCES,
    PROVINCE_CODES,
    USCC_CHARS,
    InvalidValue,
    id_check_char,
    is_valid_licence_class,
    is_valid_mobile,
    is_valid_plate,
    is_valid_resident_id,
    known_region_codes,
    mask_mobile,
    mask_name,
    mask_personal_data_in_text,
    mask_plate,
    mask_resident_id,
    normalise_mobile,
    parse_licence_classes,
    parse_plate,
    parse_resident_id,
    parse_uscc,
    uscc_check_char,
)

TODAY = date.today()
DIGITS = "0123456789"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
PLATE_ALNUM = DIGITS + PLATE_LETTERS


def make_id(first17: str) -> str:
    return first17 + id_check_char(first17)


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    # a real (current or abolished) GB/T 2260 code: any other six digits are refused
    region = draw(st.sampled_from(sorted(known_region_codes())))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.text(alphabet=DIGITS, min_size=3, max_size=3))
    return make_id(f"{region}{birth:%Y%m%d}{seq}")


def _chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


provinces = st.sampled_from(sorted(PLATE_PROVINCES))
issuers = st.sampled_from(PLATE_LETTERS)

ordinary_plates = st.builds(lambda p, i, s: p + i + s, provinces, issuers, _chars(PLATE_ALNUM, 5))
small_ne_plates = st.builds(
    lambda p, i, df, a, d: p + i + df + a + d,
    provinces,
    issuers,
    st.sampled_from("DF"),
    st.sampled_from(PLATE_ALNUM),
    _chars(DIGITS, 4),
)
large_ne_plates = st.builds(
    lambda p, i, d, df: p + i + d + df,
    provinces,
    issuers,
    _chars(DIGITS, 5),
    st.sampled_from("DF"),
)
new_energy_plates = st.one_of(small_ne_plates, large_ne_plates)

mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    _chars(DIGITS, 9),
)

# Free text that contains no ASCII digits (so inserted numbers are never part
# of a longer digit run).  Non-ASCII digits such as "٣" are still allowed.
non_digit_text = st.text(alphabet=st.characters(exclude_characters=DIGITS))


# ---------------------------------------------------------------------------
# InvalidValue
# ---------------------------------------------------------------------------


def test_invalid_value_is_value_error_and_copyable() -> None:
    exc = InvalidValue("id.checksum", "校验位错误", "bad check char")
    assert isinstance(exc, ValueError)
    assert exc.code == "id.checksum"
    assert exc.message("en-us") == "bad check char"
    assert exc.message("zh-hans") == "校验位错误"
    assert exc.message(None) == "校验位错误"
    # str() is what a page shows: the message in the active language, never the code.
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(exc) == "校验位错误"
    with translation.override("en"):
        assert str(exc) == "bad check char"
    clone = copy.deepcopy(exc)  # exercises __reduce__, as pickling does
    assert (clone.code, clone.message_zh, clone.message_en) == (
        exc.code,
        exc.message_zh,
        exc.message_en,
    )


# ---------------------------------------------------------------------------
# Resident IDs
# ---------------------------------------------------------------------------


def test_known_example_id_is_valid() -> None:
    rid = parse_resident_id("11010519491231002X")
    assert rid.number == "11010519491231002X"
    assert rid.region_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex == "F"
    assert id_check_char("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("first17", "sex"),
    [
        ("52010219900307123", "M"),
        ("44030419851012002", "F"),
        ("81000019700101001", "M"),
        ("65010120000229456", "F"),
    ],
)
def test_built_ids_are_valid(first17: str, sex: str) -> None:
    number = make_id(first17)
    rid = parse_resident_id(number)
    assert rid.number == number
    assert rid.sex == sex


def test_lowercase_x_and_whitespace_normalised() -> None:
    rid = parse_resident_id("  11010519491231002x ")
    assert rid.number == "11010519491231002X"
    assert is_valid_resident_id("11010519491231002x")


def test_fullwidth_digits_accepted() -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002X")
    assert parse_resident_id(fullwidth).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "id.length"),
        ("11010519491231002", "id.length"),
        ("11010519491231002XX", "id.length"),
        ("1101051949123100AX", "id.format"),
        ("X1010519491231002X", "id.format"),
        ("١١010519491231002X", "id.format"),  # Arabic-Indic digits are not ASCII
        (make_id("99010519491231002"), "id.region"),
        (make_id("00010519491231002"), "id.region"),
        (make_id("11010519490230002"), "id.birth_date"),  # 30 February
        (make_id("11010519491301002"), "id.birth_date"),  # month 13
        (make_id("11010518991231002"), "id.birth_date"),  # before 1900
        (make_id("11010530000101002"), "id.birth_date"),  # future
        ("110105194912310021", "id.checksum"),
    ],
)
def test_invalid_ids(value: str, code: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_resident_id(value)
    assert info.value.code == code
    assert not is_valid_resident_id(value)


def test_today_parameter() -> None:
    number = make_id("11010520240615001")
    assert parse_resident_id(number, today=date(2024, 6, 15)).birth_date == date(2024, 6, 15)
    with pytest.raises(InvalidValue) as info:
        parse_resident_id(number, today=date(2024, 6, 14))
    assert info.value.code == "id.birth_date"


def test_id_check_char_rejects_bad_input() -> None:
    with pytest.raises(InvalidValue):
        id_check_char("1234")
    with pytest.raises(InvalidValue):
        id_check_char("1101051949123100A")


@given(resident_ids())
def test_generated_ids_parse_and_round_trip(number: str) -> None:
    rid = parse_resident_id(number)
    assert rid.number == number
    assert rid.region_code == number[:6]
    assert f"{rid.birth_date:%Y%m%d}" == number[6:14]
    assert rid.sex == ("M" if int(number[16]) % 2 else "F")
    assert parse_resident_id(number.lower()) == rid


@given(resident_ids(), st.integers(min_value=0, max_value=16), st.sampled_from(DIGITS))
def test_single_digit_mutation_rejected(number: str, pos: int, digit: str) -> None:
    assume(number[pos] != digit)
    mutated = number[:pos] + digit + number[pos + 1 :]
    assert not is_valid_resident_id(mutated)


@given(resident_ids())
def test_wrong_check_char_rejected(number: str) -> None:
    for ch in "0123456789X":
        if ch != number[17]:
            with pytest.raises(InvalidValue) as info:
                parse_resident_id(number[:17] + ch)
            assert info.value.code == "id.checksum"


@given(st.text())
def test_parse_resident_id_only_raises_invalid_value(value: str) -> None:
    try:
        parse_resident_id(value)
    except InvalidValue:
        pass


@given(resident_ids())
def test_mask_resident_id_reveals_at_most_eight(number: str) -> None:
    masked = mask_resident_id(number)
    assert len(masked) == len(number)
    revealed = sum(1 for a, b in zip(masked, number, strict=True) if a == b and a != "*")
    assert revealed <= 8
    assert masked[:4] == number[:4]
    assert masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10


def test_mask_resident_id_example() -> None:
    assert mask_resident_id("52010219900307123X") == "5201**********123X"


# ---------------------------------------------------------------------------
# Plates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number", "kind"),
    [
        ("贵A12345", "贵A12345", "ordinary"),
        ("京A·Z9876", "京AZ9876", "ordinary"),
        ("粤b 12c45", "粤B12C45", "ordinary"),
        ("贵AD12345", "贵AD12345", "new_energy"),
        ("贵AFA1234", "贵AFA1234", "new_energy"),
        ("贵A12345D", "贵A12345D", "new_energy"),
        ("贵A1234学", "贵A1234学", "coach"),
        ("贵A1234挂", "贵A1234挂", "trailer"),
        ("贵A1234警", "贵A1234警", "police"),
        ("临贵A1234", "临贵A1234", "temporary"),
        ("临贵A12345", "临贵A12345", "temporary"),
        ("贵A12345临", "贵A12345临", "temporary"),
        ("沪-Ｃ１２３４５", "沪C12345", "ordinary"),
    ],
)
def test_valid_plates(value: str, number: str, kind: str) -> None:
    plate = parse_plate(value)
    assert plate.number == number
    assert plate.kind == kind
    assert is_valid_plate(value)


def test_plate_fields() -> None:
    plate = parse_plate("贵A12345")
    assert plate.province_abbr == "贵"
    assert plate.province_code == "52"
    assert plate.issuer_letter == "A"
    assert parse_plate("京B12345").province_code == "11"
    assert parse_plate("临琼C1234").province_code == "46"


def test_province_mapping_complete() -> None:
    assert set(PLATE_PROVINCES) == set(
        "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
    )
    assert set(PLATE_PROVINCES.values()) <= PROVINCE_CODES
    assert len(set(PLATE_PROVINCES.values())) == 31


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "plate.format"),
        ("   ", "plate.format"),
        ("台A12345", "plate.province"),
        ("AA12345", "plate.province"),
        ("临A12345", "plate.province"),
        ("贵I12345", "plate.format"),
        ("贵A1234O", "plate.format"),
        ("贵A1234", "plate.format"),
        ("贵A1234567", "plate.format"),
        ("贵AF1A234", "plate.format"),
        ("贵A12345学", "plate.format"),
        ("临贵A123", "plate.format"),
        ("贵A1234临", "plate.format"),
        ("贵A1２3٣5", "plate.format"),
    ],
)
def test_invalid_plates(value: str, code: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_plate(value)
    assert info.value.code == code
    assert not is_valid_plate(value)


@given(ordinary_plates)
def test_generated_ordinary_plates(value: str) -> None:
    plate = parse_plate(value)
    assert plate.kind == "ordinary"
    assert plate.number == value
    assert plate.province_code == PLATE_PROVINCES[value[0]]
    assert plate.issuer_letter == value[1]


@given(new_energy_plates)
def test_generated_new_energy_plates(value: str) -> None:
    plate = parse_plate(value)
    assert plate.kind == "new_energy"
    assert plate.number == value


@given(ordinary_plates)
def test_plate_normalisation(value: str) -> None:
    messy = f" {value[:2]}·{value[2:].lower()} "
    assert parse_plate(messy) == parse_plate(value)


@given(st.one_of(ordinary_plates, new_energy_plates))
def test_mask_plate_keeps_length_and_ends(value: str) -> None:
    masked = mask_plate(value)
    assert len(masked) == len(value)
    assert masked[:2] == value[:2]
    assert masked[-2:] == value[-2:]
    assert set(masked[2:-2]) == {"*"}


def test_mask_plate_example() -> None:
    assert mask_plate("贵A12345") == "贵A***45"


@given(st.text())
def test_parse_plate_only_raises_invalid_value(value: str) -> None:
    try:
        plate = parse_plate(value)
    except InvalidValue as exc:
        assert exc.code in {"plate.format", "plate.province"}
    else:
        assert parse_plate(plate.number) == plate


# ---------------------------------------------------------------------------
# Licence classes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C1", ("C1",)),
        ("A2D", ("A2", "D")),
        ("C1E", ("C1", "E")),
        ("B2 E", ("B2", "E")),
        ("e,c1", ("C1", "E")),
        ("D、A1，F", ("A1", "D", "F")),
        ("P N M F E D C6 C5 C4 C3 C2 C1 B2 B1 A3 A2 A1", LICENCE_CLASSES),
    ],
)
def test_licence_classes(value: str, expected: tuple[str, ...]) -> None:
    assert parse_licence_classes(value) == expected
    assert is_valid_licence_class(value)


@pytest.mark.parametrize(
    "value", ["", " ", "C", "C7", "A4", "C1C1", "C1 c1", "G", "C 1", "B3", "X"]
)
def test_invalid_licence_classes(value: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_licence_classes(value)
    assert info.value.code == "licence.class"
    assert not is_valid_licence_class(value)


@given(
    st.lists(st.sampled_from(LICENCE_CLASSES), min_size=1, unique=True),
    st.sampled_from(["", " ", ",", ", ", "，", "、"]),
    st.booleans(),
)
def test_licence_round_trip(classes: list[str], sep: str, lower: bool) -> None:
    text = sep.join(classes)
    if lower:
        text = text.lower()
    parsed = parse_licence_classes(text)
    assert parsed == tuple(c for c in LICENCE_CLASSES if c in classes)
    assert parse_licence_classes("".join(parsed)) == parsed


@given(st.lists(st.sampled_from(LICENCE_CLASSES), min_size=1), st.data())
def test_licence_duplicates_rejected(classes: list[str], data: st.DataObject) -> None:
    dup = data.draw(st.sampled_from(classes))
    with pytest.raises(InvalidValue):
        parse_licence_classes(" ".join([*classes, dup]))


@given(st.text())
def test_parse_licence_only_raises_invalid_value(value: str) -> None:
    try:
        parse_licence_classes(value)
    except InvalidValue:
        pass


# ---------------------------------------------------------------------------
# Mobiles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "86 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_valid_mobiles(value: str) -> None:
    assert normalise_mobile(value) == "13812345678"
    assert is_valid_mobile(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1381234567",
        "138123456789",
        "12812345678",
        "23812345678",
        "+8712812345678",
        "1381234567a",
    ],
)
def test_invalid_mobiles(value: str) -> None:
    with pytest.raises(InvalidValue) as info:
        normalise_mobile(value)
    assert info.value.code == "mobile.format"
    assert not is_valid_mobile(value)


@given(
    mobiles,
    st.sampled_from(["", "+86", "86", "0086", "+86 ", "0086-"]),
    st.sampled_from(["", " ", "-"]),
)
def test_formatted_mobiles_normalise(number: str, prefix: str, sep: str) -> None:
    formatted = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert normalise_mobile(formatted) == number


@given(st.one_of(st.text(), mobiles))
def test_normalise_mobile_idempotent(value: str) -> None:
    try:
        once = normalise_mobile(value)
    except InvalidValue:
        return
    assert normalise_mobile(once) == once
    assert len(once) == 11


@given(mobiles)
def test_mask_mobile(number: str) -> None:
    masked = mask_mobile(number)
    assert masked == number[:3] + "****" + number[7:]


def test_mask_mobile_example() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138-1234-5678") == "138****5678"


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("张三丰", "张**"), ("张三", "张*"), ("张", "*"), ("", ""), ("欧阳娜娜", "欧***")],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


@given(st.text(min_size=2).map(str.strip).filter(lambda s: len(s) >= 2))
def test_mask_name_property(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert masked[1:] == "*" * (len(name) - 1)


# ---------------------------------------------------------------------------
# Free-text masking
# ---------------------------------------------------------------------------


def test_mask_text_examples() -> None:
    text = "身份证11010519491231002X，电话13812345678；+86 13912345678"
    masked = mask_personal_data_in_text(text)
    assert masked == "身份证1101**********002X，电话138****5678；+86 139****5678"


def test_mask_text_leaves_longer_digit_runs() -> None:
    text = "order 1381234567890 and 1234567890123456789"
    assert mask_personal_data_in_text(text) == text


@given(
    st.lists(st.one_of(resident_ids(), mobiles), min_size=1, max_size=5),
    st.lists(non_digit_text.filter(bool), min_size=6, max_size=6),
    st.booleans(),
)
def test_mask_text_removes_every_inserted_number(
    items: list[str], fillers: list[str], lower: bool
) -> None:
    if lower:
        items = [i.lower() for i in items]
    parts = [fillers[0]]
    for i, item in enumerate(items):
        parts += [item, fillers[i + 1]]
    text = "".join(parts)
    masked = mask_personal_data_in_text(text)
    assert len(masked) == len(text)
    for item in items:
        assert item not in masked
        assert item[:3] in masked  # the visible head survives


@given(non_digit_text)
def test_mask_text_without_digits_unchanged(text: str) -> None:
    assert mask_personal_data_in_text(text) == text


# --- unified social credit codes (GB 32100-2015) ---------------------------------------------

USCC_VALID = [
    ("91350100M000100Y43", "91350100M000100Y43"),  # the standard's own example
    ("91110000802100433B", "91110000802100433B"),  # a bank, Beijing
    ("91440300708461136T", "91440300708461136T"),  # an insurer, Shenzhen
    ("914403001922038216", "914403001922038216"),  # a manufacturer, Shenzhen
    ("91440300708461136t", "91440300708461136T"),  # lower case
    ("９１４４０３００７０８４６１１３６Ｔ", "91440300708461136T"),  # full width
    (" 9144 0300 7084 6113 6T ", "91440300708461136T"),  # spaces
]
USCC_INVALID = [
    ("91350100M000100Y44", "uscc.checksum"),  # check character off by one
    ("91350100M000100Y4", "uscc.format"),  # 17 characters
    ("91350100M000100Y430", "uscc.format"),  # 19
    ("91350100M0001OOY43", "uscc.format"),  # O is not a code character
    ("9135010IM000100Y43", "uscc.format"),  # I in the division code
    ("91A50100M000100Y43", "uscc.format"),  # a letter in the division code
    ("91350100M00010SY43", "uscc.format"),  # S is not a code character
    ("", "uscc.format"),
    (91350100, "uscc.format"),  # not text
]


@pytest.mark.parametrize(("raw", "normalised"), USCC_VALID)
def test_valid_credit_codes(raw: str, normalised: str) -> None:
    assert parse_uscc(raw) == normalised


@pytest.mark.parametrize(("raw", "code"), USCC_INVALID)
def test_invalid_credit_codes(raw: object, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_uscc(raw)
    assert caught.value.code == code
    assert caught.value.message_zh and caught.value.message_en


@given(st.text(alphabet=USCC_CHARS, min_size=2, max_size=2), st.text("0123456789", min_size=6,
       max_size=6), st.text(alphabet=USCC_CHARS, min_size=9, max_size=9))  # fmt: skip
def test_exactly_one_check_character_makes_a_code_valid(head: str, region: str, org: str) -> None:
    first17 = head + region + org
    valid = [c for c in USCC_CHARS if is_valid_uscc(first17 + c)]
    assert valid == [uscc_check_char(first17)]


def is_valid_uscc(value: str) -> bool:
    try:
        parse_uscc(value)
    except InvalidValue:
        return False
    return True
