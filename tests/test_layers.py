"""The layers docs/architecture.md describes, checked against the imports (scripts/import_layers.py)."""

from __future__ import annotations

import importlib.util

import pytest

from tracker.settings import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("import_layers", PROJECT_ROOT / "scripts" / "import_layers.py")
assert _spec and _spec.loader
layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layers)


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    return layers.graph(by_module=True)


def _importers(imports: dict[str, set[str]], prefix: str) -> set[str]:
    return {
        source
        for source, targets in imports.items()
        if not source.startswith(prefix) and any(t == prefix or t.startswith(prefix + ".") for t in targets)
    }


def test_nothing_imports_the_board_and_only_entrypoints_import_the_commands(imports) -> None:  # type: ignore[no-untyped-def]
    assert _importers(imports, "dashboard") == set()
    assert _importers(imports, "tracker.commands") <= {"tracker.cli", "claims.cli"}


def test_the_rules_import_only_the_vocabulary_and_their_settings(imports) -> None:  # type: ignore[no-untyped-def]
    for module, targets in imports.items():
        if module.startswith("tracker.rules"):
            outside = {t for t in targets if not t.startswith("tracker.rules")}
            # tmall: its config schema; labels: the words a person reads (a next action's hours in days and hours);
            # regions: how a province or city a setting names matches a parcel's (pure)
            allowed = {"tracker.status", "tracker.settings", "tracker.tmall", "tracker.labels", "tracker.regions"}
            assert outside <= allowed, module


def test_the_claims_engine_and_the_parsers_do_no_io(imports) -> None:  # type: ignore[no-untyped-def]
    # formula: pure parts; status: the vocabulary (CENT)
    assert imports["claims.engine"] <= {"claims.tables", "claims.formula", "tracker.status"}
    parsers = [m for m in imports if m.startswith("tracker.providers.") and m.endswith(".parse")]
    assert len(parsers) >= 4
    for module in parsers:
        io = {
            t for t in imports[module] if t.startswith(("tracker.storage", "tracker.providers.http", "tracker.ingest"))
        }
        assert io == set(), module


def test_no_provider_module_imports_storage(imports) -> None:  # type: ignore[no-untyped-def]
    providers = [m for m in imports if m.startswith("tracker.providers")]
    assert len(providers) >= 10
    for module in providers:
        assert {t for t in imports[module] if t.startswith("tracker.storage")} == set(), module
