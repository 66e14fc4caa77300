"""`make lint`'s dependency audit, honest about what it audited.

    .venv/bin/python scripts/pip_audit.py

Runs pip-audit with JSON output and counts the dependencies it could actually check. pip-audit
alone prints "No known vulnerabilities found" even when no advisory source answered and every
dependency was skipped; this prints

    pip-audit: SKIPPED — no advisory source reachable (audited 0 of N)

instead, and "PARTIAL" when only some could be checked. Exit status: 1 when a vulnerability is
found or pip-audit did not run; a skipped or partial audit exits 0 (a machine without network
can still lint) unless PIP_AUDIT_REQUIRED=true, where it exits 1 (a release gate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PIP_AUDIT = str(Path(sys.executable).with_name("pip-audit"))


def verdict(report: dict[str, Any], *, required: bool = False) -> tuple[int, str]:
    """(exit status, message) for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    total = len(deps)
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d.get('version', '')}: "
            + ", ".join(v.get("id", "?") for v in d["vulns"])
            for d in vulnerable
        ]
        return 1, (
            f"pip-audit: {len(vulnerable)} vulnerable of {len(audited)} audited "
            f"(of {total})\n" + "\n".join(lines)
        )
    if not audited:
        return (1 if required else 0), (
            f"pip-audit: SKIPPED — no advisory source reachable (audited 0 of {total}); "
            "this is not a clean result"
        )
    if len(audited) < total:
        skipped = sorted(d["name"] for d in deps if "skip_reason" in d)
        return (1 if required else 0), (
            f"pip-audit: PARTIAL — audited {len(audited)} of {total}, no known vulnerabilities "
            f"among those; not audited: {', '.join(skipped)}"
        )
    return 0, f"pip-audit: no known vulnerabilities in {total} of {total} dependencies"


def main() -> int:
    required = os.environ.get("PIP_AUDIT_REQUIRED", "").lower() in {"1", "true", "yes"}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        run = subprocess.run(  # noqa: S603 - our own venv's pip-audit, fixed arguments
            [
                PIP_AUDIT,
                "--skip-editable",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if not out.exists() or not out.read_text().strip():
            print(f"pip-audit: FAILED to run (exit {run.returncode})\n{run.stderr}", end="")
            return 1
        status, message = verdict(json.loads(out.read_text()), required=required)
    print(message)
    return status


if __name__ == "__main__":
    sys.exit(main())
