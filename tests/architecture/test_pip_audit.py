"""`make lint`'s audit (scripts/pip_audit.py) never calls nothing-audited a clean result. The
sample is pip-audit's JSON captured on a machine with no advisory source reachable."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).with_name("data") / "pip_audit_offline.json"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pip_audit_script", ROOT / "scripts/pip_audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nothing_audited_is_reported_as_skipped_not_clean() -> None:
    report = json.loads(SAMPLE.read_text())
    total = len(report["dependencies"])
    assert total > 0 and all("skip_reason" in d for d in report["dependencies"])
    status, message = _script().verdict(report)
    assert status == 0
    assert message.startswith(
        f"pip-audit: SKIPPED — no advisory source reachable (audited 0 of {total})"
    )
    assert "no known vulnerabilities" not in message.lower()
    assert _script().verdict(report, required=True)[0] == 1


def test_partial_clean_and_vulnerable_results() -> None:
    verdict = _script().verdict
    ok = {"name": "a", "version": "1", "vulns": []}
    skipped = {"name": "b", "skip_reason": "not found"}
    status, message = verdict({"dependencies": [ok, skipped]})
    assert status == 0 and "PARTIAL" in message and "audited 1 of 2" in message
    assert verdict({"dependencies": [ok, skipped]}, required=True)[0] == 1
    assert verdict({"dependencies": [ok]}) == (
        0,
        "pip-audit: no known vulnerabilities in 1 of 1 dependencies",
    )
    bad = {"name": "c", "version": "2", "vulns": [{"id": "PYSEC-1"}]}
    status, message = verdict({"dependencies": [ok, bad, skipped]})
    assert status == 1 and "PYSEC-1" in message
