"""A catalog with a damaged manifest is named as unreadable and skipped; every page keeps serving the others."""
from __future__ import annotations

import json
import shutil

import pytest

import catalog
from app import settings
from catalog.schema import MANIFEST

# folder name -> what its manifest.json holds, given the good manifest
DAMAGES = {
    "created-at-number": lambda m: {**m, "created_at": 123},
    "manifest-is-a-list": lambda m: [m],
    "model-null": lambda m: {**m, "model": None},
    "dataset-name-missing": lambda m: {**m, "dataset": {"source": "nowhere"}},
    "n-samples-text": lambda m: {**m, "n_samples": "24"},
}


@pytest.fixture
def mixed_root(small_catalog, tmp_path):
    """A folder of catalogs: `good` (the small catalog) and one copy per damage, each newer than `good`."""
    path, manifest = small_catalog
    root = tmp_path / "catalogs"
    shutil.copytree(path, root / "good")
    for name, damage in DAMAGES.items():
        (root / name).mkdir(parents=True)
        newer = {**manifest, "created_at": "2999-01-01T00:00:00+00:00"}
        (root / name / MANIFEST).write_text(json.dumps(damage(newer)))
    (root / "not-json").mkdir()
    (root / "not-json" / MANIFEST).write_text('{"schema_version": ')
    return root


DAMAGED = sorted([*DAMAGES, "not-json"])


def test_a_damaged_manifest_is_reported_with_its_field_and_skipped(mixed_root):
    found, unreadable = catalog.scan_catalogs(mixed_root)
    assert [p.name for p, _ in found] == ["good"]
    reasons = {p.name: reason for p, reason in unreadable}
    assert sorted(reasons) == DAMAGED
    assert "created_at" in reasons["created-at-number"] and "a number, not text" in reasons["created-at-number"]
    assert "a list, not an object" in reasons["manifest-is-a-list"]
    assert "model" in reasons["model-null"] and "missing" in reasons["model-null"]
    assert "dataset.name" in reasons["dataset-name-missing"]
    assert "n_samples" in reasons["n-samples-text"]
    assert "not valid JSON" in reasons["not-json"]
    assert all(str(mixed_root) not in reason for reason in reasons.values())
    assert [p.name for p, _ in catalog.find_catalogs(mixed_root)] == ["good"]


def _warnings(elements) -> str:
    return "\n".join(w.value for w in elements)


def test_home_lists_the_good_catalog_and_names_the_damaged_ones(app_test, catalog_dir_env, mixed_root, monkeypatch):
    monkeypatch.delenv(settings.PUBLIC_ENV, raising=False)
    catalog_dir_env(mixed_root)
    at = app_test("Home.py")
    assert list(at.dataframe[0].value["catalog"]) == ["good"]
    warnings = _warnings(at.warning)
    for name in DAMAGED:
        assert f"The catalog {name} is unreadable" in warnings
    assert "created_at in manifest.json is a number" in warnings


def test_public_home_serves_the_good_catalog_and_only_names_the_damaged_ones(app_test, mixed_root, monkeypatch):
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    monkeypatch.setenv("LAYERSCOPE_PUBLISHED_DIR", str(mixed_root))
    at = app_test("Home.py")
    text = "\n".join(m.value for m in at.markdown)
    assert "This deployment holds this catalog:" in text and "`good`" in text
    warnings = _warnings(at.warning)
    for name in DAMAGED:
        assert f"The catalog {name} cannot be read" in warnings
    assert str(mixed_root) not in warnings and "manifest.json" not in warnings


def test_explorer_opens_the_good_catalog_beside_damaged_ones(app_test, catalog_dir_env, mixed_root):
    catalog_dir_env(mixed_root)
    at = app_test("pages/1_Explorer.py")
    assert [label.split(" ·")[0] for label in at.sidebar.selectbox(key="catalog").options] == ["good"]
    assert not at.error, [e.value for e in at.error]
    warnings = _warnings(at.sidebar.warning)
    assert all(f"The catalog {name} is unreadable" in warnings for name in DAMAGED)


def test_sql_page_queries_the_good_catalog_beside_damaged_ones(app_test, catalog_dir_env, mixed_root, small_catalog):
    catalog_dir_env(mixed_root)
    at = app_test("pages/2_SQL.py")
    assert [label.split(" ·")[0] for label in at.selectbox(key="sql_catalog").options] == ["good"]
    assert all(f"The catalog {name} is unreadable" in _warnings(at.warning) for name in DAMAGED)
    at.text_area(key="sql_query").input("SELECT count(*) AS n FROM samples").run()
    at.button(key="sql_run").click().run()
    assert not at.exception and not at.error
    assert at.dataframe[0].value.n.iloc[0] == small_catalog[1]["n_samples"]
