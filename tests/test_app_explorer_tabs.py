"""The Explorer's tabs through AppTest against the small catalog (24 images, one per class): the
separability line, neighbours, the channel view, selection, compare, export and shared URLs; clickable
heatmaps, coarse groups where labels cannot repeat, a reported channel fallback, how many thumbnails a
selection shows, one legend for compared layers, export file names; and the upload pipeline the "Your
image" tab uses."""
from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import catalog
from app.view import View
from core.errors import BadImage
from tests.apptest_tools import (chart_spec, click_plotly_points, component_html, page_text, rerun,
                                 select_plotly_ids, send_component)
from tests.pictures import malformed_pngs, photocd_behind, png_claiming_size

EXPLORER = "pages/1_Explorer.py"


def _html(at) -> str:
    return page_text(at)


def test_separability_line_shows_the_group_figure_and_selects_layers(app_env, app_test):
    manifest = app_env.manifest
    at = app_test(EXPLORER)
    spec = chart_spec(at, "separability_chart")
    line = spec["data"][0]
    assert len(line["x"]) == manifest["n_layers"]
    assert "coarse group" in spec["layout"]["title"]["text"]  # one image per class in the sample
    assert any("coarse group" in c.value for c in at.caption)
    # clicking a point of the line selects its layer: the data map, the layer picker and the ring follow
    index = 3
    layer_id, name = line["customdata"][index]
    assert layer_id != at.session_state.layer_id
    click_plotly_points(at, "separability_chart", [{"curve_number": 0, "point_number": index, "point_index": index,
                                                    "x": line["x"][index], "y": line["y"][index],
                                                    "customdata": line["customdata"][index]}])
    assert at.session_state.layer_id == layer_id
    assert chart_spec(at)["layout"]["title"]["text"].startswith(f"{name} · ")
    assert at.selectbox(key="layer_select").value == layer_id
    ring = [t for t in chart_spec(at, "separability_chart")["data"] if t["name"] == "selected layer"]
    assert ring[0]["x"] == [line["x"][index]]


def test_neighbours_of_the_pinned_sample(app_test):
    at = app_test(EXPLORER, tab="Neighbours")
    html = _html(at)
    # 8 thumbnails, those that share the pinned sample's label (or group) framed: class "ls-thumb ls-same-label"
    assert html.count('<figure class="ls-thumb') == 8 and 'data-testid="neighbour-thumbs"' in html
    assert "share its" in html  # its label, or its coarse group where every class has one image


def test_a_click_on_a_neighbour_pins_it(app_test):
    at = app_test(EXPLORER, tab="Neighbours")
    html = next(h for h in component_html(at) if "neighbour-thumbs" in h)
    first = int(html.split('data-sample-id="')[1].split('"')[0])
    assert first != at.session_state["pinned"]
    send_component(at, "neighbour_thumbs", event="pin", value=first)
    assert at.session_state["pinned"] == first
    assert f"of <b>#{first}</b>" in page_text(at)  # the tab now lists the new pin's neighbours


def test_channel_view_top_nine_and_heatmap(app_test):
    at = app_test(EXPLORER, tab="Channel")
    html = _html(at)
    assert 'data-testid="channel-top"' in html and html.count('class="ls-thumb"') == 9
    heatmap = chart_spec(at, "class_channel_heatmap")
    assert heatmap["data"][0]["type"] == "heatmap"
    rerun(at.number_input(key="channel").set_value(3))
    assert at.query_params["channel"] == ["3"] or at.query_params["channel"] == "3"


@pytest.mark.parametrize("server", ["drops", "keeps"])
def test_the_channel_input_comes_back_with_its_tab_at_the_chosen_channel(app_test, monkeypatch, server):
    """Channel 5, another tab, the Channel tab again: the input shows 5 (the browser kept no value for
    it, so the run must send it). "keeps": the server keeps the input's value while the browser drops it,
    as after a fragment rerun the browser asked for during the run that closed the tab (here: that run's
    cleanup left out, to the same state)."""
    from streamlit.runtime.state.session_state import SessionState

    at = app_test(EXPLORER, tab="Channel")
    rerun(at.number_input(key="channel").set_value(5))
    with monkeypatch.context() as patch:
        if server == "keeps":  # internals: AppTest cannot run a fragment; a browser needs a race
            patch.setattr(SessionState, "_remove_stale_widgets", lambda self, active: None)
        at.session_state["explorer_tab"] = "Neighbours"
        rerun(at)
    assert "channel" not in {box.key for box in at.number_input}  # the tab is closed
    at.session_state["explorer_tab"] = "Channel"
    rerun(at)
    proto = at.number_input(key="channel").proto
    assert (proto.value if proto.set_value else proto.default) == 5
    assert "activate channel 5 of" in page_text(at)


def test_selection_summary_confusion_matrix_and_filter(app_env, app_test):
    manifest = app_env.manifest
    at = app_test(EXPLORER, tab="Selection")
    assert chart_spec(at, "confusion_chart")["data"][0]["type"] == "heatmap"
    # "Drag to: box", then a box over four points of the data map: they are summarised and ringed
    rerun(at.segmented_control(key="drag_mode").set_value("box"))
    traces = [t for t in chart_spec(at)["data"] if t.get("customdata") and t["name"] != "pinned"][:4]
    points = [{"curve_number": n, "point_number": 0, "point_index": 0, "x": t["x"][0], "y": t["y"][0],
               "customdata": t["customdata"][0]} for n, t in enumerate(traces)]
    chosen = sorted(int(p["customdata"][0]) for p in points)
    assert len(chosen) == 4
    # a box on the map reaches the page through the plot bridge (its ids only), which sets selection_ids
    # and reruns; the browser tests drag a real box
    at.session_state["selection_ids"] = chosen
    rerun(at)
    assert "<b>4</b> samples selected" in _html(at)
    assert _ringed(chart_spec(at)) == chosen
    for show in ("correct", "incorrect"):
        rerun(at.segmented_control(key="map_filter").set_value(show))
        # a hidden category keeps its legend entry with one gap (None) point
        points = sum(x is not None for t in chart_spec(at, "datamap_chart")["data"]
                     if t["name"] not in ("pinned", "highlighted") for x in t["x"])
        expected = round(manifest["n_samples"] * (manifest["top1_accuracy"] if show == "correct"
                                                  else 1 - manifest["top1_accuracy"]))
        assert points == expected, show


def _ringed(spec: dict) -> list[int]:
    return sorted(int(c[0]) for t in spec["data"] if t["name"] == "highlighted" for c in t["customdata"])


def test_compare_links_a_selection_across_both_maps_and_export_has_the_map(app_env, app_test):
    at = app_test(EXPLORER, tab="Compare layers")
    left, right = chart_spec(at, "compare_left_chart"), chart_spec(at, "compare_right_chart")
    assert left["layout"]["title"]["text"] != right["layout"]["title"]["text"]  # two different layers
    assert _ringed(left) == _ringed(right) == []
    # a box selection on the left map rings the same samples on both maps
    chosen = sorted(int(trace["customdata"][0][0]) for trace in left["data"][:3])
    assert len(chosen) == 3
    select_plotly_ids(at, "compare_left_chart", chosen)
    assert _ringed(chart_spec(at, "compare_left_chart")) == _ringed(chart_spec(at, "compare_right_chart")) == chosen
    assert "3 linked samples" in _text(at)
    # a double click clears it: no sample ringed
    select_plotly_ids(at, "compare_right_chart", [])
    assert _ringed(chart_spec(at, "compare_left_chart")) == _ringed(chart_spec(at, "compare_right_chart")) == []
    # the export tab offers the current map: every sample with its coordinates and labels
    at.session_state["explorer_tab"] = "Export"
    rerun(at)
    assert {b.key for b in at.get("download_button")} == {"export_csv", "export_parquet"}
    preview = at.dataframe[0].value
    assert {"sample_id", "x", "y", "label_name"} <= set(preview.columns)
    assert f"**{app_env.manifest['n_samples']}** points" in "\n".join(m.value for m in at.markdown)


def test_url_restores_the_view(app_env, app_test):
    path = app_env.path
    con = catalog.open(path)
    layer = con.execute("SELECT min(layer_id) FROM layers WHERE height > 1 AND layer_id > 2").fetchone()[0]
    at = app_test(EXPLORER, params={"catalog": path.name, "layer": str(layer), "method": "pca", "pinned": "7", "channel": "2"})
    assert at.session_state.layer_id == layer and at.session_state.pinned == 7
    assert at.session_state.channel == 2 and at.radio(key="method").value == "pca"
    assert chart_spec(at, "datamap_chart")["layout"]["title"]["text"].endswith("· PCA")
    assert at.query_params["layer"] in (str(layer), [str(layer)])
    at2 = app_test(EXPLORER, params={"catalog": path.name, "method": "tsne", "perplexity": "30"})
    assert at2.session_state[f"perplexity::{path}"] == 30.0


def test_bad_uploads_get_a_clear_message():
    from app import upload
    for data, reason in ((b"", "empty file"), (b"hello, this is not a picture\n" * 50, "not an image"),
                         (png_claiming_size(30000, 30000), "too large")):
        with pytest.raises(BadImage) as caught:
            upload.check(data)
        assert reason in str(caught.value) and "JPEG, PNG or WebP" in str(caught.value)


def test_a_malformed_or_disguised_upload_is_refused_with_its_reason(app_test):
    at = app_test(EXPLORER, tab="Your image")
    files = [(f"{kind}.png", data, "corrupt image data") for kind, data in malformed_pngs().items()]
    files.append(("photo.png", photocd_behind(b"\x89PNG\r\n\x1a\n"), "not an image"))
    for name, data, reason in files:
        rerun(at.file_uploader(key="upload_file").upload(name, data, "image/png"))
        shown = [e.value for e in at.error]
        assert len(shown) == 1 and reason in shown[0] and "JPEG, PNG or WebP" in shown[0], (name, shown)
        assert "upload-result" not in _html(at)
        at.file_uploader(key="upload_file").clear()


def test_a_picked_catalog_image_is_explained_and_placed(app_test):
    at = app_test(EXPLORER, tab="Your image")
    key = at.selectbox(key="upload_pick").options[5]
    rerun(at.selectbox(key="upload_pick").select(key))
    html = _html(at)
    assert "upload-result" in html and html.count('class="ls-thumb"') >= 8
    pictures = next(h.proto.body for h in at.get("html") if "upload-pictures" in h.proto.body)
    assert pictures.count('<figure class="ls-pic"') == 4 and pictures.count("<img") == 4
    stars = [t for t in chart_spec(at, "datamap_chart")["data"] if t["name"] == "your image"]
    assert len(stars) == 1


def test_an_uploaded_copy_lands_near_its_own_point_on_the_last_conv_tsne(app_env):
    from app import upload
    path, manifest, _ = app_env
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



def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(parts + [h.proto.body for h in at.get("html")])


def _clickable(spec: dict) -> dict:
    """The trace of a heatmap chart whose points a click can select (heatmaps themselves cannot be)."""
    layers = [t for t in spec["data"] if t["type"] in ("scatter", "scattergl")]
    assert len(layers) == 1, [t["type"] for t in spec["data"]]
    return layers[0]


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_every_channel_column_and_confusion_cell_can_be_clicked(app_env, app_test):
    at = app_test(EXPLORER, tab="Channel")
    heatmap = chart_spec(at, "class_channel_heatmap")
    columns = set(heatmap["data"][0]["x"])
    assert set(_clickable(heatmap)["x"]) == columns and heatmap["layout"]["clickmode"] == "event"
    at.session_state["explorer_tab"] = "Selection"
    rerun(at)
    confusion = chart_spec(at, "confusion_chart")
    cells = confusion["data"][0]
    filled = {(x, y) for row, y in zip(cells["z"], cells["y"]) for count, x in zip(row, cells["x"]) if count}
    layer = _clickable(confusion)
    assert set(zip(layer["x"], layer["y"])) == filled
    assert sum(layer["customdata"]) == 24  # every sample in exactly one clickable cell
    # an empty cell is drawn in the dark plot's colour, not white
    assert _luminance(cells["colorscale"][0][1]) < 60


def test_one_image_per_class_colours_and_counts_coarse_groups(app_env, app_test):
    at = app_test(EXPLORER, tab="Neighbours")
    assert at.selectbox(key="colour_by").value == "coarse group"
    assert "one image" in _text(at)
    assert chart_spec(at, "datamap_chart")["layout"]["legend"]["title"]["text"] == "coarse group"
    summary = next(m.value for m in at.markdown if "neighbours-summary" in m.value)
    assert "share its coarse group" in summary and "share its label" not in summary


def test_classes_with_several_images_keep_the_class_figures(app_env, app_test, monkeypatch):
    from app import cached
    monkeypatch.setattr(cached, "one_image_per_class", lambda path: False)
    at = app_test(EXPLORER, tab="Neighbours")
    assert at.selectbox(key="colour_by").value == "class"
    summary = next(m.value for m in at.markdown if "neighbours-summary" in m.value)
    assert "share its label" in summary


def test_a_channel_the_layer_lacks_is_reported_not_silently_replaced(app_env, app_test):
    path = app_env.path
    at = app_test(EXPLORER, params={"catalog": path.name, "layer": str(_conv_layer(path)), "method": "pca", "channel": "9999"})
    warnings = [w.value for w in at.warning]
    assert any("Channel 9999 does not exist" in w for w in warnings), warnings
    shown = int(at.session_state.channel)
    assert f"showing channel {shown}" in " ".join(warnings)
    assert at.query_params["channel"] in (str(shown), [str(shown)])


def test_a_large_selection_says_how_many_thumbnails_it_shows(app_env, app_test, monkeypatch):
    from app.tabs import selection
    monkeypatch.setattr(selection, "SHOWN_THUMBS", 10)
    at = app_test(EXPLORER, tab="Selection")
    at.session_state["selection_ids"] = list(range(24))
    rerun(at)
    assert "Showing 10 of 24" in _text(at)
    thumbs = next(h.proto.body for h in at.get("html") if "selection-thumbs" in h.proto.body)
    assert thumbs.count('class="ls-thumb"') == 10


def test_compared_layers_share_one_legend(app_env, app_test):
    at = app_test(EXPLORER, tab="Compare layers")
    legends = [h.proto.body for h in at.get("html") if 'data-testid="class-legend"' in h.proto.body]
    assert len(legends) == 1 and "both maps" in legends[0]
    left = chart_spec(at, "compare_left_chart")
    colours = {t["name"] for t in left["data"] if t["name"] not in ("pinned", "highlighted")}
    assert colours and all(escape(name) in legends[0] for name in colours)


def test_export_file_names_carry_catalog_layer_method_and_perplexity():
    from app.tabs.export import file_stem
    tsne = View(catalog="/catalogs/lite0 sample:24", layer_id=3, method="tsne", perplexity_requested=30.0,
                perplexity_used=7.0)
    assert file_stem(tsne, "features.3/block") == "lite0_sample_24-features.3_block-tsne-p7"
    pca = View(catalog="/catalogs/imagenette-400", layer_id=3, method="pca")
    assert file_stem(pca, "features.3") == "imagenette-400-features.3-pca"


def _conv_layer(path) -> int:
    import catalog
    con = catalog.open(path)
    return int(con.execute("SELECT max(layer_id) FROM layers WHERE height > 1").fetchone()[0])


def test_the_channel_views_nine_maps_come_from_one_forward(app_env):
    """Opening the Channel view computes its nine samples' maps in one batched forward, not nine (each
    forward costs its own pass over the weights), and they are kept: a second look runs none."""
    from app import cached, state
    from app.tabs import channel

    path = str(app_env.path)
    traced = state.model_for(path)
    batch_sizes = []
    handle = traced.loaded.model.register_forward_pre_hook(lambda _m, inputs: batch_sizes.append(len(inputs[0])))
    try:
        layers = cached.layers(path)
        layer_id = int(layers[layers.height > 1].layer_id.iloc[-1])
        channel.channel_overlays.clear()
        items = channel.channel_overlays(path, layer_id, 0)
        assert len(items) == 9 and batch_sizes == [9]
        channel.channel_overlays.clear()
        assert [sample_id for sample_id, _, _ in channel.channel_overlays(path, layer_id, 0)] == \
            [sample_id for sample_id, _, _ in items]
        assert batch_sizes == [9]  # the maps came from the disk cache
    finally:
        handle.remove()
