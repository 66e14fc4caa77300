"""Number plates by GA 36-2018 category (《中华人民共和国机动车号牌》): valid and invalid
examples per category (issue 17, "Reference data"). Pure Python, no database.

GA 36-2018 notation used below: P = province abbreviation (省、自治区、直辖市简称),
L = issuing-authority letter (发牌机关代号), X = serial character (序号: digits and letters
except I and O, which read as 1 and 0; the exclusion applies to the serial only).
"""

from __future__ import annotations

import pytest

from trafficdesk.core.validators import InvalidValue, is_valid_plate, parse_plate

VALID: list[tuple[str, str, str]] = [
    # (plate, kind, GA 36-2018 category / clause it stands for)
    # 大型/小型汽车号牌 (large / small vehicles): P L XXXXX, 7 characters
    ("京A12345", "ordinary", "小型汽车号牌"),
    ("贵AB123C", "ordinary", "小型汽车号牌, letters in the serial"),
    ("粤B9Z8Y7", "ordinary", "大型汽车号牌"),
    # the issuing-authority letter may be O (京O, 沪O: public-security vehicles); only the
    # serial excludes I and O
    ("京O12345", "ordinary", "发牌机关代号 O"),
    ("沪O1234警", "police", "警用汽车号牌 with issuer O"),
    # 新能源汽车号牌 (new-energy), 8 characters: small D/F + X + 4 digits, large 5 digits + D/F
    ("京AD12345", "new_energy", "小型新能源汽车号牌 (纯电动 D)"),
    ("京AF12345", "new_energy", "小型新能源汽车号牌 (非纯电动 F)"),
    ("贵AFA1234", "new_energy", "小型新能源汽车号牌, letter in second serial place"),
    ("京A12345D", "new_energy", "大型新能源汽车号牌"),
    # 教练汽车号牌: P L XXXX 学
    ("贵A1234学", "coach", "教练汽车号牌"),
    # 警用汽车号牌: P L XXXX 警
    ("贵A0001警", "police", "警用汽车号牌"),
    # 挂车号牌: P L XXXX 挂
    ("贵A1234挂", "trailer", "挂车号牌"),
    # 试验汽车号牌: P L XXXX 试
    ("贵A1234试", "test", "试验汽车号牌"),
    # 特型机动车号牌 (超限): P L XXXX 超
    ("贵A1234超", "oversize", "特型机动车号牌 (超)"),
    # 使馆汽车号牌: 使 + 3-digit mission code + 3-digit serial, no province
    ("使014578", "embassy", "使馆汽车号牌"),
    ("使 014·578", "embassy", "使馆汽车号牌, written with separators"),
    # 领馆汽车号牌: P L XXXX 领
    ("沪A1234领", "consulate", "领馆汽车号牌"),
    ("粤A0012领", "consulate", "领馆汽车号牌"),
    # 港澳入出境车号牌: 粤 Z XXXX 港/澳
    ("粤Z1234港", "hk_macau", "港澳入出境车号牌 (港)"),
    ("粤ZF023港", "hk_macau", "港澳入出境车号牌 (港), letter in the serial"),
    ("粤Z1234澳", "hk_macau", "港澳入出境车号牌 (澳)"),
    # 临时行驶车号牌 (temporary), the forms already supported
    ("临贵A1234", "temporary", "临时行驶车号牌, prefixed"),
    ("临贵A12345", "temporary", "临时行驶车号牌, prefixed"),
    ("贵A12345临", "temporary", "临时行驶车号牌, suffixed"),
]

INVALID: list[tuple[str, str, str]] = [
    # (plate, error code, why)
    ("京I12345", "plate.format", "issuer letter I is not used"),
    ("京A1O345", "plate.format", "serial has O (GA 36: no I or O in the serial)"),
    ("京A12I45", "plate.format", "serial has I"),
    ("京A1234", "plate.format", "ordinary plate with a 4-character serial"),
    ("京A123456", "plate.format", "ordinary plate with a 6-character serial"),
    ("京AD1234A", "plate.format", "small new-energy: last four must be digits"),
    ("京A1234D5", "plate.format", "large new-energy: D/F comes last"),
    ("贵A12345学", "plate.format", "coach plate with a 5-character serial"),
    ("使01457", "plate.format", "embassy plate with five digits"),
    ("使0145789", "plate.format", "embassy plate with seven digits"),
    ("使A14578", "plate.format", "embassy plate with a letter"),
    ("使A1234领", "plate.format", "使 is not a province"),
    ("沪A12345领", "plate.format", "consulate plate with a 5-character serial"),
    ("粤A1234港", "plate.format", "港/澳 plates are issued under 粤Z only"),
    ("京Z1234港", "plate.format", "港/澳 plates are issued by 粤 only"),
    ("粤Z12345港", "plate.format", "港/澳 plate with a 5-character serial"),
    ("粤Z1O34澳", "plate.format", "港/澳 plate with O in the serial"),
    ("港A12345", "plate.province", "港 is not a province abbreviation"),
    ("领A12345", "plate.province", "领 only ends a plate"),
    ("台A12345", "plate.province", "no plates are issued under 台"),
    ("临贵A123", "plate.format", "temporary plate with a 3-character serial"),
]


@pytest.mark.parametrize(("value", "kind", "category"), VALID)
def test_valid_plates_per_ga36_category(value: str, kind: str, category: str) -> None:
    plate = parse_plate(value)
    assert plate.kind == kind, category
    assert is_valid_plate(value)


@pytest.mark.parametrize(("value", "code", "why"), INVALID)
def test_invalid_plates_per_ga36_category(value: str, code: str, why: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_plate(value)
    assert info.value.code == code, why
    assert not is_valid_plate(value)


def test_an_embassy_plate_names_no_province() -> None:
    plate = parse_plate("使014578")
    assert (plate.number, plate.province_abbr, plate.province_code) == ("使014578", "", "")


def test_a_consulate_and_a_hong_kong_plate_keep_their_province() -> None:
    assert parse_plate("沪A1234领").province_code == "31"
    assert parse_plate("粤Z1234港").province_code == "44"
    assert parse_plate("京O12345").issuer_letter == "O"
