"""Refresh the zh-Hans catalogue and fill it from translation files (a developer's tool).

    .venv/bin/python scripts/translate.py [FILE.json ...]

Runs ``makemessages`` for zh_Hans (templates and Python under ``trafficdesk/``), then applies
every ``{"msgid": "译文"}`` pair from the JSON files given (by default every ``*.json`` in
``$TRAFFICDESK_I18N_DIR``, else ``/tmp/i18n``), clears fuzzy marks where a translation was given,
and compiles the catalogue. A plural entry takes a list ``["单数", "复数"]``. Several people can
run it at once: an exclusive lock on ``/tmp/i18n.lock`` makes them take turns. It prints the
msgids that are still untranslated or fuzzy.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "trafficdesk" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENV = dict(os.environ, DEBUG="true", SECRET_KEY=os.environ.get("SECRET_KEY", "x" * 50))
ENV.pop("DATABASE_URL", None)


def manage(*args: str) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=ENV, check=True
    )


def translation_files(argv: list[str]) -> list[Path]:
    if argv:
        return [Path(a) for a in argv]
    folder = Path(os.environ.get("TRAFFICDESK_I18N_DIR") or Path(tempfile.gettempdir()) / "i18n")
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def apply(po: polib.POFile, pairs: dict[str, str | list[str]]) -> int:
    applied = 0
    for entry in po:
        # A msgid with a context (pgettext) may be given as "context\u0004msgid".
        given = pairs.get(f"{entry.msgctxt}\x04{entry.msgid}") if entry.msgctxt else None
        given = given if given is not None else pairs.get(entry.msgid)
        if given is None:
            continue
        if entry.msgid_plural:
            forms = given if isinstance(given, list) else [given, given]
            entry.msgstr_plural = {0: forms[-1]}
        else:
            entry.msgstr = given if isinstance(given, str) else given[0]
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        entry.previous_msgid_plural = None
        entry.previous_msgctxt = None
        applied += 1
    return applied


def main(argv: list[str]) -> int:
    with open(Path(tempfile.gettempdir()) / "i18n.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manage(
            "makemessages",
            "-l",
            "zh_Hans",
            "-v0",
            "--ignore=.venv",
            "--ignore=tests",
            "--ignore=bench",
            "--ignore=var",
        )
        po = polib.pofile(str(PO))
        pairs: dict[str, str | list[str]] = {}
        for path in translation_files(argv):
            pairs.update(json.loads(path.read_text(encoding="utf-8")))
        applied = apply(po, pairs)
        po.save()
        manage("compilemessages", "-l", "zh_Hans", "-v0", "--ignore=.venv")
        missing = [
            e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)
        ]
    print(f"{applied} translations applied; {len(missing)} msgids untranslated or fuzzy")
    for msgid in missing:
        print("  ", json.dumps(msgid, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
