"""Regenerate ``trafficdesk/regions/data/historical_divisions.csv``: every GB/T 2260 code ever
issued (current and abolished), used to check the first six digits of resident ID numbers.

Usage::

    python scripts/make_historical_divisions.py PATH/TO/stdnum/cn/loc.dat [-o OUTPUT.csv]

``loc.dat`` comes from the python-stdnum wheel (see
``trafficdesk/regions/data/HISTORICAL_DIVISIONS.md`` for the version, checksum and licence).
Codes in the current ``divisions.csv`` that ``loc.dat`` does not know yet (divisions created
after its snapshot) are added with source ``current``. Only the standard library is used.

Output columns: ``code,level,names,first_year,last_year,current,source``

- ``level``: ``province`` (xx0000), ``prefecture`` (xxxx00) or ``county``.
- ``names``: every name the code carried, ``;``-separated, in ``loc.dat`` order.
- ``first_year`` / ``last_year``: the earliest year the code was in use and the last one
  (empty: in use before the data begins / still in use).
- ``current``: ``1`` when the code is in ``divisions.csv`` (in force now), else ``0``.
- ``source``: ``stdnum``, ``current`` or ``stdnum+current``.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "trafficdesk" / "regions" / "data"
DEFAULT_OUTPUT = DATA / "historical_divisions.csv"
CURRENT = DATA / "divisions.csv"
HEADER = ("code", "level", "names", "first_year", "last_year", "current", "source")

_PROVINCE_RE = re.compile(r'^(\d{2}) province="[^"]*"$')
_COUNTY_RE = re.compile(r'^  (\d{4}) county="(?:\[(\d{4})?-(\d{4})?\])?([^"]*)"$')


@dataclass
class Code:
    code: str
    names: list[str] = field(default_factory=list)
    first: list[int | None] = field(default_factory=list)
    last: list[int | None] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def read_loc_dat(path: Path) -> dict[str, Code]:
    codes: dict[str, Code] = {}
    province = ""
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE_RE.match(line):
            province = match.group(1)
            continue
        match = _COUNTY_RE.match(line)
        if match is None or not province:
            raise SystemExit(f"{path}:{lineno}: unexpected line {line!r}")
        code = province + match.group(1)
        entry = codes.setdefault(code, Code(code))
        entry.names.append(match.group(4))
        entry.first.append(int(match.group(2)) if match.group(2) else None)
        entry.last.append(int(match.group(3)) if match.group(3) else None)
        entry.sources.add("stdnum")
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("loc_dat", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    codes = read_loc_dat(args.loc_dat)
    with CURRENT.open(encoding="utf-8", newline="") as handle:
        current = {row["code"]: row["name"] for row in csv.DictReader(handle)}
    for code, name in current.items():
        entry = codes.setdefault(code, Code(code))
        if "stdnum" not in entry.sources:
            entry.names.append(name)
            entry.first.append(None)
            entry.last.append(None)
        entry.sources.add("current")

    with args.output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for code in sorted(codes):
            entry = codes[code]
            firsts = [y for y in entry.first if y is not None]
            first = "" if None in entry.first or not firsts else str(min(firsts))
            lasts = [y for y in entry.last if y is not None]
            still = None in entry.last or code in current
            last = "" if still or not lasts else str(max(lasts))
            source = "+".join(s for s in ("stdnum", "current") if s in entry.sources)
            writer.writerow(
                (
                    code,
                    level_of(code),
                    ";".join(dict.fromkeys(entry.names)),
                    first,
                    last,
                    "1" if code in current else "0",
                    source,
                )
            )
    levels: dict[str, int] = {}
    for code in codes:
        levels[level_of(code)] = levels.get(level_of(code), 0) + 1
    abolished = sum(1 for c in codes if c not in current)
    print(
        f"{len(codes)} codes ({levels}); {abolished} not in force now; "
        f"{sum(1 for c in codes.values() if c.sources == {'current'})} only in divisions.csv",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
