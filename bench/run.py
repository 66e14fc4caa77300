#!/usr/bin/env python3
"""Run the benchmarks: `make bench` runs all, `make bench NAME=x` runs bench/x.py.

Each benchmark module defines `run() -> dict` returning its figures; this runner adds the
common fields (name, command, machine, when) and writes bench/results/<name>.json.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    cpus = os.cpu_count() or 0
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown memory"
    return f"{cpus} cores, {memory}, {platform.machine()}, Python {platform.python_version()}"


def available() -> list[str]:
    return sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.stem not in {"run", "__init__"} and not p.stem.startswith("_")
    )


def run_one(name: str) -> dict[str, object]:
    module = importlib.import_module(f"bench.{name}")
    figures = module.run()
    result = {
        "name": name,
        "command": f"make bench NAME={name}",
        "machine": machine(),
        "when": datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds"),
        **figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return result


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    names = [argv[0]] if argv and argv[0] else available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; available: {', '.join(available()) or 'none'}")
        return 2
    if not names:
        print("no benchmarks yet")
        return 0
    for name in names:
        run_one(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
