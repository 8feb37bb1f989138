"""Catalogs are found in every folder LAYERSCOPE_CATALOG_DIR lists, and each picker names dataset and N."""
from __future__ import annotations

import os
import shutil

import catalog
from catalog.paths import REPO_ROOT
from scripts.build_catalog import summary_lines


def test_the_catalog_folders_are_the_listed_ones_or_the_repositorys(catalog_dir_env, tmp_path, monkeypatch):
    monkeypatch.delenv("LAYERSCOPE_CATALOG_DIR", raising=False)
    assert catalog.catalog_roots() == [REPO_ROOT / "catalogs"]
    catalog_dir_env(f"{tmp_path / 'a'}{os.pathsep}{os.pathsep} {tmp_path / 'b'}")
    assert catalog.catalog_roots() == [tmp_path / "a", tmp_path / "b"]
    assert catalog.default_root() == tmp_path / "a"  # where a build goes without --out


def test_catalogs_of_several_folders_are_listed_and_a_repeated_name_is_skipped(small_catalog, tmp_path):
    path, _ = small_catalog
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(path, first / "bundled")
    shutil.copytree(path, second / "elsewhere")
    shutil.copytree(path, second / "bundled")
    found, unreadable = catalog.scan_catalogs([first, second, tmp_path / "missing"])
    assert sorted(p.name for p, _ in found) == ["bundled", "elsewhere"]
    assert [p for p, _ in found if p.name == "bundled"] == [first / "bundled"]
    assert [(p, "listed first" in reason) for p, reason in unreadable] == [(second / "bundled", True)]


def test_the_explorer_offers_catalogs_of_every_folder_with_dataset_and_size(app_test, catalog_dir_env,
                                                                             small_catalog, tmp_path):
    path, manifest = small_catalog
    other = tmp_path / "other"
    shutil.copytree(path, other / "built-elsewhere")
    catalog_dir_env(f"{path.parent}{os.pathsep}{other}")
    at = app_test("pages/1_Explorer.py")
    picker = at.sidebar.selectbox(key="catalog")
    shown = list(picker.options)  # as the picker shows them
    size = f"{manifest['dataset']['name']}, N={manifest['n_samples']}"
    assert sorted(shown) == sorted([f"{path.name} · {size}", f"built-elsewhere · {size}"])


def test_a_build_outside_the_catalog_folders_says_how_to_see_it(small_catalog, catalog_dir_env, tmp_path):
    path, manifest = small_catalog
    catalog_dir_env(tmp_path / "catalogs")
    hint = summary_lines(path, manifest)[-1]
    assert f"LAYERSCOPE_CATALOG_DIR={tmp_path / 'catalogs'}{os.pathsep}{path.parent}" in hint
    catalog_dir_env(path.parent)
    assert "LAYERSCOPE_CATALOG_DIR" not in "\n".join(summary_lines(path, manifest))
