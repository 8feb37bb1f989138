"""The Explorer's tabs and separability chart through AppTest, and the upload pipeline the "Your image" view uses."""
from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import catalog
from core.errors import BadImage

REPO = Path(__file__).resolve().parent.parent
PAGE = str(REPO / "pages" / "1_Explorer.py")


@pytest.fixture
def app_env(small_catalog, monkeypatch, tmp_path):
    path, manifest = small_catalog
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(path.parent))
    monkeypatch.setenv("LAYERSCOPE_CACHE", str(tmp_path / "cache"))
    return path, manifest


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _open(tab: str | None = None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    _run(at)
    if tab:
        at.session_state["explorer_tab"] = tab
        _run(at)
    return at


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html")) + "\n".join(m.value for m in at.markdown)


def _chart(at: AppTest, key: str) -> dict:
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key):
            return json.loads(chart.proto.spec)
    raise AssertionError(key)


def _png_claiming_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_separability_line_shows_the_group_figure_and_selects_layers(app_env):
    path, manifest = app_env
    at = _open()
    spec = _chart(at, "separability_chart")
    assert len(spec["data"][0]["x"]) == manifest["n_layers"]
    assert "coarse group" in spec["layout"]["title"]["text"]  # one image per class in the sample
    assert any("coarse group" in c.value for c in at.caption)


def test_neighbours_of_the_pinned_sample(app_env):
    at = _open("Neighbours")
    html = _html(at)
    # 8 thumbnails, those that share the pinned sample's label (or group) framed: class "ls-thumb ls-same-label"
    assert html.count('<figure class="ls-thumb') == 8 and 'data-testid="neighbour-thumbs"' in html
    assert "share its" in html  # its label, or its coarse group where every class has one image


def test_channel_view_top_nine_and_heatmap(app_env):
    at = _open("Channel")
    html = _html(at)
    assert 'data-testid="channel-top"' in html and html.count('class="ls-thumb"') == 9
    heatmap = _chart(at, "class_channel_heatmap")
    assert heatmap["data"][0]["type"] == "heatmap"
    at.number_input(key="channel").set_value(3)
    _run(at)
    assert at.query_params["channel"] == ["3"] or at.query_params["channel"] == "3"


def test_selection_summary_confusion_matrix_and_filter(app_env):
    path, manifest = app_env
    at = _open("Selection")
    assert _chart(at, "confusion_chart")["data"][0]["type"] == "heatmap"
    at.session_state["selection_ids"] = [0, 1, 2, 3]
    _run(at)
    assert "<b>4</b> samples selected" in _html(at)
    rings = [t for t in _chart(at, "datamap_chart")["data"] if t["name"] == "highlighted"]
    assert rings and len(rings[0]["x"]) == 4
    for show in ("correct", "incorrect"):
        at.segmented_control(key="map_filter").set_value(show)
        _run(at)
        points = sum(len(t["x"]) for t in _chart(at, "datamap_chart")["data"]
                     if t["name"] not in ("pinned", "highlighted"))
        expected = round(manifest["n_samples"] * (manifest["top1_accuracy"] if show == "correct"
                                                  else 1 - manifest["top1_accuracy"]))
        assert points == expected, show


def test_compare_and_export(app_env):
    at = _open("Compare layers")
    assert _chart(at, "compare_left_chart") and _chart(at, "compare_right_chart")
    at.session_state["explorer_tab"] = "Export"
    _run(at)
    assert len(at.get("download_button")) == 2


def test_url_restores_the_view(app_env):
    path, manifest = app_env
    con = catalog.open(path)
    layer = con.execute("SELECT min(layer_id) FROM layers WHERE height > 1 AND layer_id > 2").fetchone()[0]
    at = _open(params={"catalog": path.name, "layer": str(layer), "method": "pca", "pinned": "7", "channel": "2"})
    assert at.session_state.layer_id == layer and at.session_state.pinned == 7
    assert at.session_state.channel == 2 and at.radio(key="method").value == "pca"
    assert _chart(at, "datamap_chart")["layout"]["title"]["text"].endswith("· PCA")
    assert at.query_params["layer"] in (str(layer), [str(layer)])
    at2 = _open(params={"catalog": path.name, "method": "tsne", "perplexity": "30"})
    assert at2.session_state[f"perplexity::{path}"] == 30.0


def test_bad_uploads_get_a_clear_message(app_env):
    from app import upload
    for data, reason in ((b"", "empty file"), (b"hello, this is not a picture\n" * 50, "not an image"),
                         (_png_claiming_size(30000, 30000), "too large")):
        with pytest.raises(BadImage) as caught:
            upload.check(data)
        assert reason in str(caught.value) and "JPEG or PNG" in str(caught.value)


def test_a_picked_catalog_image_is_explained_and_placed(app_env):
    path, manifest = app_env
    at = _open("Your image")
    key = at.selectbox(key="upload_pick").options[5]
    at.selectbox(key="upload_pick").select(key)
    _run(at)
    html = _html(at)
    assert "upload-result" in html and html.count('class="ls-thumb"') >= 8
    pictures = next(h.proto.body for h in at.get("html") if "upload-pictures" in h.proto.body)
    assert pictures.count('<figure class="ls-pic"') == 4 and pictures.count("<img") == 4
    stars = [t for t in _chart(at, "datamap_chart")["data"] if t["name"] == "your image"]
    assert len(stars) == 1


def test_an_uploaded_copy_lands_near_its_own_point_on_the_last_conv_tsne(app_env):
    from app import upload
    path, manifest = app_env
    con = catalog.open(path)
    layer_id = con.execute("SELECT max(layer_id) FROM layers WHERE kind IN ('conv', 'block')").fetchone()[0]
    sample_id = 5
    file = con.execute(f"SELECT path FROM samples WHERE sample_id = {sample_id}").fetchone()[0]
    analysis = upload.load(str(path), Path(file).read_bytes(), Path(file).name)
    for perplexity in manifest["perplexities"]["used"].values():
        placed = upload.placement(str(path), analysis.digest, layer_id, float(perplexity))
        coords = con.execute(f"""SELECT sample_id, x, y FROM embeddings WHERE layer_id = {layer_id}
                                 AND method = 'tsne' AND perplexity = {perplexity}""").df()
        own = coords[coords.sample_id == sample_id][["x", "y"]].to_numpy()[0]
        distances = np.linalg.norm(coords[["x", "y"]].to_numpy() - own, axis=1)
        tenth = np.sort(distances)[10]  # index 0 is the point itself
        assert np.linalg.norm(np.array(placed["tsne"]) - own) <= tenth, perplexity
        assert placed["neighbours"][0][0] == sample_id
