"""The committed demo (`published/efficientnet_lite0-sample`): what a fork deploys as is. It must stay
readable by the code beside it, small enough for git, and listed by the public app."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import catalog
from builder.demo import DEMO_COMMAND, DEMO_NAME, publish_demo
from catalog import compact
from catalog.layout import reference_layer_ids
from catalog.paths import PUBLISHED_ENV_VAR, published_root
from catalog.publish import MAX_FILE_BYTES
from catalog.reader import load_reference, load_reference_arrays
from core import heatmaps
from core.errors import CatalogError
from scripts import publish_demo as publish_demo_command

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "published" / DEMO_NAME
# 29.55 MB compact (explanations 7.9, references 9.0, channel statistics 8.1, images 3.8): a republish
# that grows it by more than 3 % (a new table, a compaction lost) fails here
DEMO_MAX_BYTES = 30_500_000


def test_the_committed_demo_has_the_catalog_schema_of_this_code():
    manifest = json.loads((DEMO / "manifest.json").read_text())
    assert manifest["schema_version"] == catalog.SCHEMA_VERSION, (
        f"published/{DEMO_NAME} has catalog schema {manifest['schema_version']}, the code writes and reads "
        f"{catalog.SCHEMA_VERSION}: re-make it with `{DEMO_COMMAND}` and commit it")


def test_the_committed_demo_is_the_bundled_sample_and_opens():
    manifest = json.loads((DEMO / "manifest.json").read_text())
    assert (manifest["model"]["name"], manifest["dataset"]["name"]) == ("efficientnet_lite0", "sample")
    con = catalog.open(DEMO)
    for table in catalog.TABLES:
        con.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == manifest["n_samples"] == 400
    assert con.execute("SELECT count(*) FROM explanations").fetchone()[0] == 400
    layers = reference_layer_ids(DEMO)
    assert len(layers) == manifest["n_layers"]
    assert load_reference(DEMO, layers[-1]).features.shape[0] == 400


def test_the_committed_demo_is_small_enough_for_git():
    sizes = {f.relative_to(DEMO).as_posix(): f.stat().st_size for f in DEMO.rglob("*") if f.is_file()}
    assert sum(sizes.values()) <= DEMO_MAX_BYTES, sizes
    assert max(sizes.values()) <= MAX_FILE_BYTES, sizes


def test_the_committed_demo_is_published_compact_as_its_manifest_says():
    """Views as WebP, Grad-CAM as its 7 x 7 grid, reference bases and features as float16: what keeps the
    demo under its cap (`catalog/compact.py`); a republish without --compact fails here, not only on size."""
    assert set(json.loads((DEMO / "manifest.json").read_text())["published"]["compact"]) == set(compact.DESCRIPTION)
    con = catalog.open(DEMO)
    views = [bytes(v) for (v,) in con.execute("SELECT image FROM images").fetchall()]
    assert len(views) == 400 and all(v[8:12] == b"WEBP" for v in views)
    cams = [bytes(c) for (c,) in con.execute("SELECT gradcam FROM explanations").fetchall()]
    assert {heatmaps.decode(c).shape for c in cams} == {(7, 7)}
    stored = load_reference_arrays(DEMO, reference_layer_ids(DEMO)[-1])
    assert {stored[key].dtype for key in compact.REFERENCE_HALF} == {np.dtype(np.float16)}


def test_the_public_app_lists_the_demo_from_the_default_published_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "1")
    monkeypatch.delenv(PUBLISHED_ENV_VAR, raising=False)
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(tmp_path / "owner-catalogs"))  # must not be read
    monkeypatch.setenv("LAYERSCOPE_CACHE", str(tmp_path / "cache"))
    assert published_root() == REPO / "published"
    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join(m.value for m in at.markdown)
    assert "holds no published catalog" not in text
    assert DEMO_NAME in text and "N = 400 images" in text


def test_a_catalog_other_than_the_bundled_sample_is_not_published_as_the_demo(small_catalog, tmp_path, capsys):
    with pytest.raises(CatalogError, match="not the demo"):
        publish_demo(small_catalog[0], root=tmp_path)  # 24 of the sample's images, not all of them
    assert publish_demo_command.main([str(small_catalog[0]), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not the demo" in err and "\n" not in err
    assert not any(tmp_path.iterdir())
