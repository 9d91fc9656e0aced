"""Few doors to PHI: only the patients service may reach the patient tables (STYLE.md, 4).

Anything else that imports ``carecall.patients.store`` would read PHI without the tenant,
purpose, BAA and audit checks the service performs in one unit of work.
"""

from __future__ import annotations

import ast
from pathlib import Path

import carecall

SRC = Path(carecall.__file__).parent
ALLOWED = {"patients/service.py", "patients/store.py"}


def importers_of(module: str) -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == module or n.startswith(module + ".") for n in names):
                found.add(path.relative_to(SRC).as_posix())
    return found


def test_only_the_service_reaches_the_patient_tables() -> None:
    assert importers_of("carecall.patients.store") <= ALLOWED


def test_the_check_sees_imports() -> None:
    assert "patients/service.py" in importers_of("carecall.patients.store")
