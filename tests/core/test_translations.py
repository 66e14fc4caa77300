"""The Chinese catalogue is complete and compiled: no msgid of zh_Hans is untranslated or fuzzy,
and the .mo the server reads says exactly what the .po says."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

LC_MESSAGES = (
    Path(__file__).resolve().parents[2] / "trafficdesk" / "locale" / "zh_Hans" / "LC_MESSAGES"
)
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"


@pytest.fixture(scope="module")
def po() -> polib.POFile:
    return polib.pofile(str(PO))


def _key(entry: polib.POEntry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def test_the_catalogue_has_messages(po: polib.POFile) -> None:
    assert len([e for e in po if not e.obsolete]) > 100, f"{PO} is nearly empty"


def untranslated_and_fuzzy(po: polib.POFile) -> tuple[list[str], list[str]]:
    live = [e for e in po if not e.obsolete]
    untranslated = [e.msgid for e in live if not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [e.msgid for e in live if "fuzzy" in e.flags]
    return untranslated, fuzzy


def test_no_msgid_is_untranslated_or_fuzzy(po: polib.POFile) -> None:
    untranslated, fuzzy = untranslated_and_fuzzy(po)
    assert not untranslated, f"{len(untranslated)} msgids without Chinese: {untranslated}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy msgids: {fuzzy}"


def test_the_check_sees_an_untranslated_and_a_fuzzy_msgid() -> None:
    """Negative control: the check above finds what it looks for."""
    sample = polib.POFile()
    sample.append(polib.POEntry(msgid="Home", msgstr="首页"))
    sample.append(polib.POEntry(msgid="Apply", msgstr=""))
    sample.append(polib.POEntry(msgid="Online", msgstr="网上", flags=["fuzzy"]))
    assert untranslated_and_fuzzy(sample) == (["Apply"], ["Online"])


def test_plural_entries_have_every_form(po: polib.POFile) -> None:
    incomplete = [
        e.msgid
        for e in po
        if not e.obsolete and e.msgid_plural and not all(e.msgstr_plural.values())
    ]
    assert not incomplete, incomplete


def mo_differences(po: polib.POFile, mo: polib.MOFile) -> list[str]:
    compiled = {_key(e): e for e in mo}
    differ = []
    for entry in po:
        if entry.obsolete or not entry.translated() or "fuzzy" in entry.flags:
            continue
        found = compiled.get(_key(entry))
        if found is None:
            differ.append(f"{entry.msgid!r}: not in the .mo")
        elif entry.msgid_plural:
            if found.msgstr_plural != entry.msgstr_plural:
                differ.append(f"{entry.msgid!r}: plural forms differ")
        elif found.msgstr != entry.msgstr:
            differ.append(f"{entry.msgid!r}: .mo says {found.msgstr!r}, .po {entry.msgstr!r}")
    return differ


def test_the_compiled_catalogue_matches_the_po(po: polib.POFile) -> None:
    assert MO.exists(), f"{MO} is missing: run compilemessages"
    differ = mo_differences(po, polib.mofile(str(MO)))
    assert not differ, f"{MO} is out of date (compilemessages): {differ[:20]}"


def test_the_check_sees_a_stale_mo(tmp_path: Path) -> None:
    """Negative control: a .mo compiled before a translation changed is caught."""
    old = polib.POFile()
    old.append(polib.POEntry(msgid="Home", msgstr="主页"))
    old.save_as_mofile(str(tmp_path / "old.mo"))
    new = polib.POFile()
    new.append(polib.POEntry(msgid="Home", msgstr="首页"))
    new.append(polib.POEntry(msgid="Apply", msgstr="申请"))
    differ = mo_differences(new, polib.mofile(str(tmp_path / "old.mo")))
    assert len(differ) == 2 and "not in the .mo" in differ[1]


def test_django_serves_the_compiled_chinese() -> None:
    """The server's own gettext, not only the files, answers in Chinese."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("zh-hans"):
        assert gettext("Home") != "Home"
