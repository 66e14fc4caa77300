"""The documents stay true: every test they name exists, and the table of each app's
modules in docs/architecture.md is the list of files on disk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
TEST_REFERENCE = re.compile(r"tests/[\w/]+\.py(?:::\w+)?")


def references() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for match in TEST_REFERENCE.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, match.group(0)))
    return found


def test_the_docs_name_tests() -> None:
    assert len({ref for _doc, ref in references()}) >= 40


@pytest.mark.parametrize(("doc", "reference"), sorted(set(references())))
def test_every_test_named_in_the_docs_exists(doc: str, reference: str) -> None:
    path, _sep, name = reference.partition("::")
    source = REPO / path
    assert source.is_file(), f"{doc} names {path}, which does not exist"
    if name:
        assert re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.M), (
            f"{doc} names {reference}, which does not exist"
        )


def module_table() -> dict[str, set[str]]:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## What each app holds", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0] != "`app`":
            table[cells[0].strip("`")] = {m.strip() for m in cells[1].split(",")}
    return table


def test_the_module_table_matches_the_files() -> None:
    table = module_table()
    on_disk = {
        app.name: {p.stem for p in app.glob("*.py") if p.stem not in {"__init__", "apps"}}
        for app in (REPO / "trafficdesk").iterdir()
        if (app / "apps.py").exists()
    }
    assert set(table) == set(on_disk), set(table) ^ set(on_disk)
    wrong = {app: table[app] ^ on_disk[app] for app in table if table[app] != on_disk[app]}
    assert not wrong, f"docs/architecture.md lists other modules than the files: {wrong}"
