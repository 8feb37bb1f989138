"""The Explorer's tabs through AppTest against the small catalog (24 images, one per class): clickable
heatmaps, coarse groups where labels cannot repeat, a reported channel fallback, how many thumbnails a
selection shows, one legend for compared layers, and export file names."""
from __future__ import annotations

from html import escape

from streamlit.testing.v1 import AppTest

from app.view import View
from tests.apptest_tools import chart_spec, rerun

EXPLORER = "pages/1_Explorer.py"


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
    assert set(_clickable(heatmap)["x"]) == columns and heatmap["layout"]["clickmode"] == "event+select"
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
