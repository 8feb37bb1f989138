"""Imports between the top-level packages go one way (docs/ARCHITECTURE.md draws the order)."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Lower layers first: a module may import only packages of a lower rank than its own. `harness` (the
# server, browser and samplers the browser tests and benchmarks share) sits above the app it drives.
RANK = {"core": 0, "catalog": 1, "builder": 2, "app": 3, "scripts": 3, "pages": 4, "Home": 4, "harness": 5,
        "benchmarks": 6}


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


def test_only_tests_and_benchmarks_import_the_harness():
    """The harness is tooling, not part of the app: nothing the app, its scripts or Cloud's entrypoint
    runs may import it."""
    importers = {path.relative_to(REPO).parts[0] for path in REPO.rglob("*.py")
                 if "harness" in top_level_imports(path) and ".git" not in path.parts}
    assert importers <= {"tests", "benchmarks", "harness"}
    assert {"tests", "benchmarks"} <= importers


def test_core_and_catalog_never_import_streamlit():
    for package in ("core", "catalog", "builder"):
        for path in (REPO / package).rglob("*.py"):
            assert "streamlit" not in top_level_imports(path), path


def module_level_imports(path: Path) -> set[str]:
    """The full names imported by a file's top-level statements (not those inside functions)."""
    found = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_only_the_ray_engine_imports_ray_and_only_when_a_build_asks_for_it():
    """Ray is optional (requirements-ray.txt): the app and the local engine run without it."""
    engine = REPO / "builder" / "ray_engine.py"
    importers = [path.relative_to(REPO).as_posix() for path in sorted(REPO.rglob("*.py"))
                 if owner_of(path) in RANK and "ray" in top_level_imports(path)]
    assert importers == ["builder/ray_engine.py"]
    assert not {name for name in module_level_imports(engine) if name.split(".")[0] == "ray"}
    loaders = [path.relative_to(REPO).as_posix() for path in sorted(REPO.rglob("*.py"))
               if owner_of(path) in RANK and "builder.ray_engine" in module_level_imports(path)]
    assert loaders == []  # builder/build.py imports it inside the function that picks the engine


@pytest.mark.slow
def test_importing_the_app_and_the_builder_loads_no_ray():
    import subprocess
    import sys
    modules = ["builder", "scripts.build_catalog", "catalog"] + [
        f"app.{p.stem}" for p in sorted((REPO / "app").glob("*.py")) if p.stem != "__init__"]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
