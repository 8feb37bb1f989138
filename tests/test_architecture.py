"""Imports between the top-level packages go one way (docs/ARCHITECTURE.md draws the order)."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Lower layers first: a module may import only packages of a lower rank than its own.
RANK = {"core": 0, "catalog": 1, "builder": 2, "app": 3, "scripts": 3, "pages": 4, "Home": 4, "benchmarks": 5}


def top_level_imports(path: Path) -> set[str]:
    """The first name of every absolute import in a file, wherever it stands (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def owner_of(path: Path) -> str:
    relative = path.relative_to(REPO)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def violations() -> list[str]:
    found = []
    for path in sorted(REPO.rglob("*.py")):
        owner = owner_of(path)
        if owner not in RANK:
            continue
        for imported in top_level_imports(path) & (set(RANK) - {owner}):
            if RANK[imported] >= RANK[owner]:
                found.append(f"{path.relative_to(REPO)} imports {imported}")
    return found


def test_no_package_imports_one_at_or_above_its_own_layer():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule is not vacuous: core importing catalog is caught, catalog importing core is not."""
    (tmp_path / "core").mkdir()
    (tmp_path / "catalog").mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from catalog.writer import CatalogWriter\n")
    (tmp_path / "catalog" / "fine.py").write_text("import core.errors\n")
    monkeypatch.setitem(globals(), "REPO", tmp_path)
    assert violations() == ["core/bad.py imports catalog"]


def test_core_and_catalog_never_import_streamlit():
    for package in ("core", "catalog", "builder"):
        for path in (REPO / package).rglob("*.py"):
            assert "streamlit" not in top_level_imports(path), path
