"""A public deployment: it serves published catalogs, builds nothing, and browsing never imports torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from catalog.publish import publish

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def published_root(small_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    publish(small_catalog[0], name="lite0-demo", root=root, max_file_bytes=200_000)  # tables in parts
    return root


@pytest.fixture
def public_env(published_root, monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "1")
    monkeypatch.setenv("LAYERSCOPE_PUBLISHED_DIR", str(published_root))
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(tmp_path / "owner-catalogs"))  # must not be read
    monkeypatch.setenv("LAYERSCOPE_CACHE", str(tmp_path / "cache"))
    return published_root


def test_home_says_what_the_deployment_holds_and_links_explorer_and_sql(public_env, small_catalog):
    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=120).run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    manifest = small_catalog[1]
    assert "lite0-demo" in text and f"N = {manifest['n_samples']} images" in text
    assert f"top-1 accuracy {manifest['top1_accuracy']:.1%}" in text
    assert [link.proto.page for link in at.get("page_link")] == ["Explorer", "SQL"]
    assert not at.button  # no build button in public mode
    assert str(public_env) not in text  # no server paths shown


def test_the_cloud_entrypoint_turns_public_mode_on_and_serves_every_page(public_env, monkeypatch):
    """Cloud has no shell: deploy/streamlit_app.py itself switches public mode on, and links still resolve."""
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "unset below; restored after the test")
    monkeypatch.delenv("LAYERSCOPE_PUBLIC")
    at = AppTest.from_file(str(REPO / "deploy" / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert os.environ["LAYERSCOPE_PUBLIC"] == "1"
    assert "This deployment holds" in "\n".join(m.value for m in at.markdown)
    assert [link.proto.page for link in at.get("page_link")] == ["Explorer", "SQL"]
    assert not at.button


def test_the_cloud_entrypoint_hides_error_details_in_owner_mode_too(public_env, monkeypatch):
    """Cloud forces client.showErrorDetails = false, which Streamlit reads as "stacktrace": the entrypoint
    sets "none" itself, also with LAYERSCOPE_PUBLIC=0."""
    from streamlit import config
    from streamlit.elements.exception import _error_detail_visibility
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "0")
    previous = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", False)  # as Community Cloud starts the server
    try:
        assert _error_detail_visibility(True).show_trace  # an uncaught error would show its traceback
        at = AppTest.from_file(str(REPO / "deploy" / "streamlit_app.py"), default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        assert config.get_option("client.showErrorDetails") == "none"
        shown = _error_detail_visibility(True)
        assert not (shown.show_message or shown.show_trace or shown.show_type)
    finally:
        config.set_option("client.showErrorDetails", previous)


def test_public_mode_never_lists_the_owners_catalogs(public_env, small_catalog, monkeypatch):
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(small_catalog[0].parent))
    from app import catalogs
    assert [p.name for p, _ in catalogs.list_catalogs()] == ["lite0-demo"]
    monkeypatch.delenv("LAYERSCOPE_PUBLIC")
    assert [p.name for p, _ in catalogs.list_catalogs()] == [small_catalog[0].name]


def test_browsing_a_published_catalog_never_imports_torch(public_env, tmp_path):
    """Home, the Explorer (pinned sample, neighbours, selection, compare, export, failures, layer
    similarity, another layer, cluster names and a picked cluster), Compare models and SQL."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "tests" / "browse_without_torch.py")], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["modules"] == [], result["steps"]
    assert all(not imported for _, imported in result["steps"])
    assert result["sql_ok"] and "lite0-demo" in result["home"]
    # the map names its clusters and the Selection tab selects one, from the published tables
    assert result["cluster_names"] > 0
    assert result["cluster_picked"][0] == result["cluster_picked"][1] > 0


def test_start_in_public_mode_runs_the_cloud_entrypoint_and_builds_nothing(monkeypatch):
    from scripts import start
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "1")
    monkeypatch.setattr(start, "ensure_sample_catalog", lambda: pytest.fail("public mode must not build"))
    monkeypatch.setattr(sys, "argv", ["start"])
    ran = []
    monkeypatch.setattr(start.os, "execv", lambda exe, command: ran.append(command))
    start.main()
    assert ran and ran[0][-1].endswith("deploy/streamlit_app.py")
