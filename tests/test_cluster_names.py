"""Cluster names on the data map: the largest clusters are named with their majority label and purity,
no name covers the pinned sample's ring (at the narrowest plot and wider, and zoomed in), names do not
overlap one another, and the switch and the URL turn them off."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app import cluster_names, datamap
from app.cluster_names import PLOT_MIN_WIDTH, half_size_px
from app.urlstate import from_params, to_params
from app.view import View

RING_RADIUS_PX = 8  # app/datamap.py pinned_ring


def _clusters(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = ["dogs", "birds", "household objects", "instruments & devices", "fish", "vehicles"]
    return pd.DataFrame({"cluster": np.arange(n), "label": [labels[i % len(labels)] for i in range(n)],
                         "purity": rng.uniform(0.1, 1.0, n), "size": rng.integers(5, 300, n),
                         "x": rng.uniform(-30, 30, n), "y": rng.uniform(-30, 30, n)})


def _box_px(place: dict, x_range, y_range, width_px: float, height_px: float, zoom: float = 1.0):
    """A name's box in pixels (left, right, bottom, top) on a plot of that size, zoomed in `zoom` times
    around the frame's centre."""
    sx = (x_range[1] - x_range[0]) / width_px / zoom
    sy = (y_range[1] - y_range[0]) / height_px / zoom
    w, h = half_size_px(place["text"])
    cx, cy = place["x"] / sx, place["y"] / sy
    return cx - w, cx + w, cy - h, cy + h


def _ring_hits_box(pinned, box, x_range, y_range, width_px, height_px, zoom=1.0) -> bool:
    sx = (x_range[1] - x_range[0]) / width_px / zoom
    sy = (y_range[1] - y_range[0]) / height_px / zoom
    px, py = pinned[0] / sx, pinned[1] / sy
    left, right, bottom, top = box
    nearest_x, nearest_y = min(max(px, left), right), min(max(py, bottom), top)
    return np.hypot(px - nearest_x, py - nearest_y) <= RING_RADIUS_PX


@pytest.mark.parametrize("seed", range(6))
def test_no_name_covers_the_pinned_ring(seed):
    clusters = _clusters(8, seed)
    x_range, y_range, height = [-34.0, 34.0], [-34.0, 34.0], 420
    rng = np.random.default_rng(100 + seed)
    # pinned on each cluster's own point (where its name would go), beside it, and anywhere
    pins = [(float(r.x), float(r.y)) for r in clusters.itertuples()]
    pins += [(float(r.x) + 1.5, float(r.y) - 0.8) for r in clusters.itertuples()]
    pins += [tuple(rng.uniform(-33, 33, 2)) for _ in range(20)]
    for pinned in pins:
        places = cluster_names.placements(clusters, x_range, y_range, height, pinned)
        assert places
        for width in (PLOT_MIN_WIDTH, 320, 560, 900):
            for zoom in (1.0, 2.0, 5.0):
                for place in places:
                    box = _box_px(place, x_range, y_range, width, height, zoom)
                    assert not _ring_hits_box(pinned, box, x_range, y_range, width, height, zoom), \
                        (pinned, place, width, zoom)


def test_a_name_moved_off_the_pinned_point_stays_by_its_cluster():
    clusters = _clusters(1).assign(x=3.0, y=-5.0)  # away from the frame's edges
    place = cluster_names.placements(clusters, [-34, 34], [-34, 34], 420, (clusters.x[0], clusters.y[0]))[0]
    assert place["x"] == pytest.approx(clusters.x[0])
    assert 0 < abs(place["y"] - clusters.y[0]) < 68 * 0.1  # just above or below: within a tenth of the frame


def test_the_largest_clusters_are_named_up_to_the_limit_without_overlapping():
    clusters = _clusters(40, seed=3)
    x_range, y_range, height = [-34.0, 34.0], [-34.0, 34.0], 420
    places = cluster_names.placements(clusters, x_range, y_range, height)
    assert 1 <= len(places) <= cluster_names.MAX_NAMES
    named = {p["cluster"] for p in places}
    largest = clusters.sort_values("size", ascending=False).cluster.tolist()
    for place in places:
        row = clusters.set_index("cluster").loc[place["cluster"]]
        assert place["text"] == f"{row.label} {row.purity:.0%}"
    boxes = [_box_px(p, x_range, y_range, PLOT_MIN_WIDTH, height) for p in places]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2], (a, b)
    assert largest[0] in named


def test_few_well_apart_clusters_are_all_named():
    clusters = pd.DataFrame({"cluster": [0, 1, 2], "label": ["dogs", "fish", "birds"], "purity": [0.87, 1.0, 0.5],
                             "size": [40, 30, 20], "x": [-20.0, 0.0, 20.0], "y": [-20.0, 20.0, -20.0]})
    places = cluster_names.placements(clusters, [-30, 30], [-30, 30], 420)
    assert [p["text"] for p in places] == ["dogs 87%", "fish 100%", "birds 50%"]


def _points(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"sample_id": np.arange(n), "key": [f"{i}.jpg" for i in range(n)],
                         "x": rng.normal(size=n), "y": rng.normal(size=n), "label_name": ["a & b"] * n,
                         "pred_name": ["a & b"] * n, "group_name": ["dogs"] * n, "confidence": rng.random(n),
                         "correct": np.ones(n, dtype=bool)})


def test_names_are_annotations_on_the_dark_map_with_an_escaped_text_and_an_outlined_box():
    points = _points()
    spec = datamap.figure_dict(points, "class", "layer · PCA", pinned=0)
    clusters = pd.DataFrame({"cluster": [0], "label": ["a & b"], "purity": [0.87], "size": [60],
                             "x": [float(points.x[5])], "y": [float(points.y[5])]})
    named = cluster_names.with_names(spec, clusters)
    assert named["data"] is spec["data"]  # the points are untouched: a name is layout only
    (note,) = named["layout"]["annotations"]
    assert note["text"] == "a &amp; b 87%" and note["xref"] == "x" and note["showarrow"] is False
    assert note["bgcolor"].startswith("rgba(14,17,23") and note["borderwidth"] >= 1
    assert cluster_names.with_names(spec, clusters.iloc[:0]) is spec


@pytest.mark.parametrize("names", [True, False])
def test_the_switch_survives_the_url(names):
    view = View(catalog="/c/demo", layer_id=3, method="pca", pinned=2, cluster_names=names)
    params = to_params(view)
    assert ("labels" in params) == (not names) and params.get("labels", "0") == "0"
    fallback = View(catalog="/c/demo", layer_id=1, method="pca", cluster_names=not names)
    assert from_params(params, fallback, range(5), range(5), []) == view
