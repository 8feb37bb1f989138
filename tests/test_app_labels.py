"""What the Explorer's smaller views say and how they scale: every row of the Channel tab's heatmap
labelled, the channel dialog on its gallery tile's colours, counts in the right number, a layer's kind
not repeated as its name, the Export tab naming the filter it does not apply, a hint where an uploaded
image's neighbours mean little yet, and each gallery tile its own channel's colours."""
from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from tests.apptest_tools import page_text, rerun

EXPLORER = "pages/1_Explorer.py"


def test_the_channel_heatmap_labels_every_row_of_thirteen_groups():
    from app.tabs.channel import heatmap_figure
    groups = [f"group {i}" for i in range(13)]
    means = pd.DataFrame(np.random.default_rng(0).random((13, 32)), index=groups, columns=range(32))
    layout = heatmap_figure(means, channel=3, by="coarse group").layout
    assert layout.yaxis.tickmode == "linear" and layout.yaxis.dtick == 1  # one label per row
    plot_height = layout.height - layout.margin.t - layout.margin.b - 60  # the title and the channel axis
    assert plot_height / len(groups) >= 16, layout.height  # each row tall enough for its 12 px label


def test_the_channel_dialog_uses_its_tiles_scale_and_ends_at_the_maps_edges():
    from app.gallery import channel_figure, value_range
    maps = np.random.default_rng(1).normal(size=(8, 7, 5)).astype(np.float32)
    maps[2, 0, 0] = 40.0  # one outlier: the tile's percentile scale ignores it, a min-max scale would not
    lo, hi = value_range(maps)
    figure = channel_figure(maps[2], "title", lo, hi)
    heatmap = figure.data[0]
    assert (heatmap.zmin, heatmap.zmax) == (lo, hi) and hi < 40
    assert list(figure.layout.xaxis.range) == [-0.5, 4.5]
    assert sorted(figure.layout.yaxis.range) == [-0.5, 6.5] and figure.layout.yaxis.range[0] > 0  # row 0 on top


def test_counts_take_the_right_number():
    from app.markup import counted
    assert counted(1, "row") == "1 row" and counted(0, "row") == "0 rows" and counted(1234, "row") == "1,234 rows"
    assert counted(1, "class", "classes") == "1 class" and counted(3, "class", "classes") == "3 classes"


def test_a_layers_kind_is_not_repeated_when_it_is_its_name():
    from app.layer_map import kind_and_shape
    output = pd.Series({"name": "output", "kind": "output", "channels": 1000, "height": 1, "width": 1})
    bn2 = pd.Series({"name": "bn2", "kind": "norm", "channels": 1280, "height": 7, "width": 7})
    assert kind_and_shape(output) == "1000"
    assert kind_and_shape(bn2) == "norm, 1280×7×7"


def test_the_header_and_the_gallery_describe_the_output_layer_alike(app_env, app_test):
    import catalog
    at = app_test(EXPLORER)
    con = catalog.open(app_env.path)
    output = int(con.execute("SELECT layer_id FROM layers WHERE name = 'output'").fetchone()[0])
    at.session_state["layer_select"] = output
    at.session_state["layer_id"] = output
    text = page_text(rerun(at))
    assert "layer <b>output</b> (1000)" in text
    assert "(output, 1000)" not in text and "1000×1×1" not in text


def test_export_says_the_correct_wrong_filter_does_not_apply(app_env, app_test):
    at = app_test(EXPLORER, tab="Export")
    assert "export holds all" not in page_text(at)
    at.session_state["map_filter"] = "correct"
    text = "\n".join([page_text(rerun(at))] + [i.value for i in at.info])
    assert "shows only the correctly predicted samples; the export holds all 24 points" in text


def test_a_shallow_layer_says_where_neighbours_mean_similar():
    from app.separability_chart import depth_hint
    frame = pd.DataFrame({"layer_id": [0, 1, 2, 3], "name": ["input", "stem", "blocks.6", "output"],
                          "position": [0, 1, 2, 3], "accuracy": [0.12, 0.2, 0.64, 0.6]})
    hint = depth_hint(frame, "coarse group", 1)
    assert hint is not None and "20%" in hint and "**blocks.6** 64%" in hint
    assert depth_hint(frame, "coarse group", 3) is None  # 60% of a best 64%: its neighbours already mean something
    assert depth_hint(frame, "coarse group", 2) is None


@pytest.mark.parametrize("shape", [(40, 7, 7), (3, 130, 100)])
def test_each_gallery_tile_shows_its_own_channel_on_the_layers_scale(shape):
    """Each tile is its own channel's map in viridis on the layer's scale (maps wider than a tile are
    shrunk to one), whatever the number of channels."""
    import cv2

    from app.gallery import THUMB_MAX, thumbnails, value_range
    maps = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    lo, hi = value_range(maps)
    urls = thumbnails(maps, lo, hi)
    assert len(urls) == len(maps)
    for channel, url in zip(maps, urls):
        png = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
        tile = cv2.imdecode(png, cv2.IMREAD_COLOR)
        u8 = np.uint8(np.round(np.clip((channel - lo) / (hi - lo), 0, 1) * 255))
        if max(u8.shape) > THUMB_MAX:
            u8 = cv2.resize(u8, (THUMB_MAX, THUMB_MAX), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(tile, cv2.applyColorMap(u8, cv2.COLORMAP_VIRIDIS))
