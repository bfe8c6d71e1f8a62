"""Print the import graph between the project's parts, to check docs/architecture.md against the code.

    python scripts/import_layers.py           edges between parts ("tracker.rules -> tracker.status")
    python scripts/import_layers.py --module  edges between modules

A part is a package below the top level (tracker.rules, tracker.storage, claims, dashboard...) or a
top-level module of tracker (tracker.poller). Imports inside `if TYPE_CHECKING:` are left out: they do
not run. Reads the source with ast; imports nothing of the project.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tracker", "claims", "dashboard", "spiders")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part(module: str) -> str:
    bits = module.split(".")
    if bits[0] != "tracker":
        return bits[0]
    if len(bits) >= 2 and bits[1] in {"providers", "storage", "rules", "flags", "alerts", "commands", "sandbox"}:
        return ".".join(bits[:2])
    return ".".join(bits[:2]) if len(bits) >= 2 else "tracker"


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, base] if base else up)
                found.add(base)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])
                elif hasattr(child, "body") and isinstance(getattr(child, "body", None), list):
                    visit(child.body)

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def graph(by_module: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = module_name(path)
            for target in imports(path, module):
                a, b = (module, target) if by_module else (part(module), part(target))
                if a != b:
                    edges[a].add(b)
    return edges


def main(argv: list[str]) -> int:
    for source, targets in sorted(graph("--module" in argv).items()):
        print(f"{source} -> {', '.join(sorted(targets))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
