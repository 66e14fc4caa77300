"""The shape of the code, checked from its source (docs/architecture.md):

* `core` imports no domain app, and no two apps import each other, directly or round about;
* only the capacity ledger writes a slot's counters;
* an import inside a function says why, beside it;
* the applicant classes, risk levels, window kinds and service-point kinds are named only in
  the vocabulary (everything else refers to its members);
* every action has exactly one rule, and every menu leads only to what its role may do.

Each checker is run on a small bad example first (a negative control), so a checker that
finds nothing because it looks at nothing fails."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "trafficdesk"
COUNTERS = frozenset({"booked_minutes", "booked_people", "booked_general_minutes"})
LEDGER = ROOT / "booking" / "ledger.py"
VOCABULARY = ROOT / "core" / "vocabulary.py"
#: The composition root: settings, URLs and the API assemble the apps and are no app.
ROOT_MODULES = frozenset({"api", "urls", "settings", "wsgi", "asgi", "config"})


def sources() -> Iterator[tuple[Path, ast.Module, list[str]]]:
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        yield path, ast.parse(text), text.splitlines()


def app_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else None


def imported_modules(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Every trafficdesk module imported anywhere in the file (TYPE_CHECKING included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def imported_apps(tree: ast.Module) -> set[str]:
    apps = set()
    for module, _line in imported_modules(tree):
        parts = module.split(".")
        if parts[0] == "trafficdesk" and len(parts) > 1 and parts[1] not in ROOT_MODULES:
            apps.add(parts[1])
    return apps


# --- core is the ground floor; apps form no cycle -------------------------------------------


def test_core_imports_no_domain_app() -> None:
    offending = []
    for path, tree, _lines in sources():
        if app_of(path) == "core":
            offending += [
                f"{path.relative_to(ROOT)} imports {app}"
                for app in sorted(imported_apps(tree) - {"core"})
            ]
    assert not offending, offending


def app_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path, tree, _lines in sources():
        app = app_of(path)
        if app is not None:
            graph[app] |= imported_apps(tree) - {app}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """Negative control for the next test."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_apps() -> None:
    graph = app_graph()
    assert len(graph) >= 14, sorted(graph)
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


# --- only the ledger writes a slot's counters ---------------------------------------------


def counter_writes(tree: ast.Module) -> list[int]:
    """Lines that write a counter column: `x.booked_minutes = / +=`, a keyword argument
    `booked_minutes=` (update, create, a model constructor), `bulk_update(…, ["booked_…"])`,
    or SQL text that updates booking_slot."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in COUNTERS:
                    found.append(node.lineno)
        elif isinstance(node, ast.Call):
            if any(k.arg in COUNTERS for k in node.keywords):
                found.append(node.lineno)
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name == "bulk_update":
                strings = {
                    n.value
                    for n in ast.walk(node)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                }
                if strings & COUNTERS:
                    found.append(node.lineno)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if keys & COUNTERS:
                found.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.lower().split())
            if "update booking_slot" in text or 'update "booking_slot"' in text:
                found.append(node.lineno)
    return sorted(set(found))


BAD_WRITES = """
Slot.objects.filter(pk=1).update(booked_people=F("booked_people") + 1)
slot.booked_minutes += 20
Slot.objects.bulk_update(slots, ["booked_minutes"])
Slot(service_point=p, booked_people=3)
cursor.execute("UPDATE booking_slot SET booked_people = 0")
changes = {"booked_general_minutes": 0}
"""
GOOD_READS = """
Slot.objects.filter(booked_minutes__lte=F("capacity_minutes") - 20).values("booked_minutes")
free = slot.capacity_minutes - slot.booked_minutes
"""


def test_the_counter_checker_sees_every_kind_of_write() -> None:
    """Negative control: each line of BAD_WRITES is a write, GOOD_READS has none."""
    assert counter_writes(ast.parse(BAD_WRITES)) == [2, 3, 4, 5, 6, 7]
    assert counter_writes(ast.parse(GOOD_READS)) == []


def test_only_the_ledger_writes_slot_counters() -> None:
    writers = {
        str(path.relative_to(ROOT)): lines
        for path, tree, _text in sources()
        if path != LEDGER and (lines := counter_writes(tree))
    }
    assert not writers, f"slot counters written outside booking/ledger.py: {writers}"
    _path, ledger_tree, _lines = next(s for s in sources() if s[0] == LEDGER)
    assert counter_writes(ledger_tree), "the ledger itself must be where the writes are"


# --- imports inside functions say why --------------------------------------------------------


def unexplained_local_imports(tree: ast.Module, lines: list[str]) -> list[int]:
    """Imports inside a function without a `# local import: <reason>` comment on the line
    or in the comment block just above the group of imports."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            index = node.lineno - 1
            explained = "local import:" in lines[index]
            while not explained and index > 0:
                index -= 1
                above = lines[index].strip()
                if above.startswith("#"):
                    explained = "local import:" in above
                elif not (above.startswith(("from ", "import ", ")")) or above.endswith(",")):
                    break
            if not explained:
                found.append(node.lineno)
    return found


def test_the_local_import_checker_sees_an_unexplained_one() -> None:
    bad = "def f():\n    from x import y\n"
    good = "def f():\n    # local import: x imports this module\n    from x import y\n"
    assert unexplained_local_imports(ast.parse(bad), bad.splitlines()) == [2]
    assert unexplained_local_imports(ast.parse(good), good.splitlines()) == []


def test_imports_inside_functions_say_why() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path, tree, lines in sources()
        for line in unexplained_local_imports(tree, lines)
    }
    assert not found, f"an import inside a function needs '# local import: why': {sorted(found)}"


# --- one vocabulary ---------------------------------------------------------------------------


def vocabulary_words() -> set[str]:
    """The vocabularies whose words are distinctive enough to find as literals (region levels
    are also everyday words: "county" names a query parameter, a label)."""
    from trafficdesk.core.vocabulary import (
        ApplicantClass,
        RiskLevel,
        ServicePointKind,
        WindowKind,
    )

    return {
        str(member.value)
        for enum in (ApplicantClass, RiskLevel, WindowKind, ServicePointKind)
        for member in enum
    }


def spelled_out(tree: ast.Module, words: set[str]) -> list[int]:
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in words
    )


def test_the_vocabulary_checker_sees_a_spelled_out_class() -> None:
    assert spelled_out(ast.parse('if c == "GENERAL": pass'), vocabulary_words()) == [1]
    assert spelled_out(ast.parse("if c == ApplicantClass.GENERAL: pass"), vocabulary_words()) == []


def test_vocabularies_are_spelled_out_only_in_the_vocabulary() -> None:
    words = vocabulary_words()
    found = {
        str(path.relative_to(ROOT)): lines
        for path, tree, _text in sources()
        if path != VOCABULARY and (lines := spelled_out(tree, words))
    }
    assert not found, f"use trafficdesk.core.vocabulary instead of literals: {found}"


@pytest.mark.parametrize("template", sorted(ROOT.rglob("templates/**/*.html")), ids=str)
def test_templates_do_not_spell_out_applicant_classes(template: Path) -> None:
    from trafficdesk.core.vocabulary import ApplicantClass

    text = template.read_text(encoding="utf-8")
    assert not [c for c in ApplicantClass.values if f'"{c}"' in text or f"'{c}'" in text]


# --- access: one rule per action ------------------------------------------------------------


def test_every_action_has_one_rule_and_every_menu_is_allowed() -> None:
    from trafficdesk.accounts import access, roles
    from trafficdesk.accounts.models import Role
    from trafficdesk.core.actions import Action

    assert set(access.RULES) == set(Action), set(Action) ^ set(access.RULES)
    for action, rule in access.RULES.items():
        assert rule.roles <= set(Role.values), action
    for role in Role.values:
        assert roles.menu_is_allowed(role) == [], role


def test_no_module_decides_roles_outside_the_access_module() -> None:
    """Role checks (`.role in …`, `.role == …`, `Role.X` in a comparison) live in
    accounts/access.py; views, API, admin and services ask it."""
    allowed = {ROOT / "accounts" / "access.py", ROOT / "accounts" / "models.py"}
    found = []
    for path, tree, _lines in sources():
        if path in allowed:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                names = [n for n in ast.walk(node) if isinstance(n, ast.Attribute)]
                if any(n.attr == "role" for n in names) or any(
                    isinstance(n.value, ast.Name) and n.value.id == "Role" for n in names
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
