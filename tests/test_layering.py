"""The layering of DESIGN.md: console → audit → patches, and one implementation per contract."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Which top-level packages each app may import from the project (libraries are not listed).
ALLOWED = {
    "patches": {"patches"},
    "audit": {"audit", "patches"},
    "console": {"console", "audit", "patches"},
}
PROJECT = {"patches", "audit", "console", "bench", "tests"}


def _sources(*apps: str) -> list[Path]:
    return sorted(path for app in apps for path in (ROOT / app).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & PROJECT


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_itself_and_the_layers_below_it(app):
    reaching_up = {
        str(path.relative_to(ROOT)): sorted(_imported(path) - ALLOWED[app])
        for path in _sources(app)
        if _imported(path) - ALLOWED[app]
    }
    assert not reaching_up, f"{app} imports a layer above it: {reaching_up}"


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
    }
    return names


def test_the_agent_client_imports_nothing_of_the_project_outside_itself():
    outside = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _modules(path)
            if name.split(".")[0] in PROJECT and not name.startswith("patches.client")
        )
        for path in (ROOT / "patches" / "client").rglob("*.py")
    }
    assert not any(outside.values()), f"the client must install alone: {outside}"


# Spelled in pieces so that this file does not match itself.
SECOND_PATHS = {
    "a Redis push beside Celery's publish": re.compile(r"\bl" + r"push\b", re.IGNORECASE),
    "Celery's message format built by hand": re.compile(r"as_task" + r"_v2"),
    "SQL that inserts the rows the models describe": re.compile(
        r"INSERT\s+INTO\s+\"?(patches_|audit_event|audit_checkpoint|audit_review|audit_finding)",
        re.IGNORECASE,
    ),
    "a hash computed in SQL": re.compile(r"encode\(\s*sha" + r"256\(", re.IGNORECASE),
}


@pytest.mark.parametrize("what", sorted(SECOND_PATHS))
def test_no_second_implementation_of_a_contract_is_left(what):
    pattern = SECOND_PATHS[what]
    found = [
        str(path.relative_to(ROOT))
        for path in _sources("patches", "audit", "console", "bench")
        if pattern.search(path.read_text())
    ]
    assert not found, f"{what}: {found}"


def test_the_only_plpgsql_is_the_append_only_trigger_function():
    # Triggers need a procedural language; DESIGN.md asks for append-only triggers on both
    # backends. Nothing else may be written in PL/pgSQL.
    found = [
        str(path.relative_to(ROOT))
        for path in _sources("patches", "audit", "console", "bench")
        if re.search(r"plpg" + r"sql", path.read_text(), re.IGNORECASE)
    ]
    # 0005 redefines the same function without the test suite's purge permit.
    assert found == [
        "audit/migrations/0002_event_append_only.py",
        "audit/migrations/0005_no_purge_permit.py",
    ]


def test_no_module_but_the_registry_names_a_patch_type_to_branch_on():
    branching = re.compile(r"(==|!=)\s*(PatchType\.PROMPT|\"Prompt\"|'Prompt')")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _sources("patches", "audit", "console")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if not line.lstrip().startswith("#") and branching.search(line)
    ]
    assert not found, f"branch on the registry's content_kind instead: {found}"
