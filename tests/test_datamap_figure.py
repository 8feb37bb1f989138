"""The data map's figure: a map keeps its colours and frame whatever is shown, its group colours can be
told apart on the dark background, and its axes and title say what the reader is looking at."""
from __future__ import annotations

import itertools
from html import escape  # plotly renders a hover label's entities: `&` travels as `&amp;`

import numpy as np
import pandas as pd
import pytest

from app import datamap, palette
from core import imagenet
from tests.apptest_tools import decode_typed_arrays

BACKGROUND = "#0e1117"  # the theme's background (.streamlit/config.toml)
MIN_DELTA_E = 20.0  # CIE76: about where two small dots stop being mistaken for each other
MIN_CONTRAST = 3.0  # WCAG 2.1 non-text contrast


def _points(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A map over every coarse group and a few classes, with the wrong predictions at its edges."""
    rng = np.random.default_rng(seed)
    groups = [imagenet.GROUPS[i % len(imagenet.GROUPS)] for i in range(n)]
    labels = [f"class {i % 7}" for i in range(n)]
    correct = rng.random(n) < 0.7
    x, y = rng.normal(size=n), rng.normal(size=n)
    x[~correct] *= 4  # the wrong ones alone span a different box than the right ones
    return pd.DataFrame({
        "sample_id": np.arange(n), "key": [f"img{i}.jpg" for i in range(n)], "x": x, "y": y,
        "label_name": labels, "pred_name": [lab if ok else "class 9" for lab, ok in zip(labels, correct)],
        "group_name": groups, "confidence": rng.random(n), "correct": correct})


def _colours(spec: dict) -> dict[str, str]:
    return {t["name"]: t["marker"]["color"] for t in spec["data"] if t["name"] not in ("pinned", "highlighted")}


def _ranges(spec: dict) -> tuple[list[float], list[float]]:
    return spec["layout"]["xaxis"]["range"], spec["layout"]["yaxis"]["range"]


def _drawn_ids(spec: dict) -> set[int]:
    return {int(c[0]) for t in spec["data"] if t["name"] not in ("pinned", "highlighted")
            for c in (t["customdata"] if t.get("customdata") is not None else [])}


@pytest.mark.parametrize("colour_by", ["class", "coarse group", "predicted class", "correct or not"])
@pytest.mark.parametrize("show", ["correct", "incorrect"])
def test_filtering_keeps_each_categorys_colour_and_the_axis_ranges(colour_by, show):
    points = _points()
    everything = datamap.figure_dict(points, colour_by, "layer · PCA", pinned=0)
    shown = datamap.figure_dict(points, colour_by, "layer · PCA", pinned=0, show=show)
    wanted = datamap.SHOWN[show]
    assert _drawn_ids(shown) == set(points.sample_id[points.correct == wanted])
    assert [t["name"] for t in shown["data"]] == [t["name"] for t in everything["data"]]  # the same legend
    assert _colours(shown) == _colours(everything)
    assert _ranges(shown) == _ranges(everything)
    # the frame holds every point of the map, not just the shown ones
    (x0, x1), (y0, y1) = _ranges(everything)
    assert x0 < points.x.min() and x1 > points.x.max() and y0 < points.y.min() and y1 > points.y.max()


def test_the_figure_filters_a_whole_map_spec_the_same_way():
    points = _points()
    everything = datamap.figure_dict(points, "coarse group", "layer · PCA", pinned=None)
    figure = decode_typed_arrays(datamap.figure(everything, show="incorrect").to_dict())
    drawn = sum(x is not None for t in figure["data"] for x in t["x"])
    assert drawn == int((~points.correct).sum())
    assert list(figure["layout"]["xaxis"]["range"]) == everything["layout"]["xaxis"]["range"]


def test_a_group_has_one_colour_in_every_catalog():
    """The same group gets the same colour whichever other groups a catalog happens to hold."""
    points = _points()
    dogs_and_birds = points[points.group_name.isin([imagenet.DOGS, imagenet.BIRDS])]
    few = _colours(datamap.figure_dict(dogs_and_birds, "coarse group", "t", pinned=None))
    many = _colours(datamap.figure_dict(points, "coarse group", "t", pinned=None))
    assert few == {g: many[g] for g in few}


def _lab(hex_colour: str) -> np.ndarray:
    """sRGB hex to CIELAB (D65)."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _luminance(hex_colour: str) -> float:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def test_every_coarse_group_has_its_own_colour():
    assert set(palette.GROUP_COLOURS) == set(imagenet.GROUPS)
    assert len(set(map(str.lower, palette.GROUP_COLOURS.values()))) == len(imagenet.GROUPS)


def test_group_colours_are_far_apart():
    close = [(a, b, round(float(np.linalg.norm(_lab(ca) - _lab(cb))), 1))
             for (a, ca), (b, cb) in itertools.combinations(palette.GROUP_COLOURS.items(), 2)
             if np.linalg.norm(_lab(ca) - _lab(cb)) < MIN_DELTA_E]
    assert not close, close


def test_group_colours_stand_out_on_the_background():
    background = _luminance(BACKGROUND)
    dim = {group: round((_luminance(colour) + 0.05) / (background + 0.05), 2)
           for group, colour in palette.GROUP_COLOURS.items()
           if (_luminance(colour) + 0.05) / (background + 0.05) < MIN_CONTRAST}
    assert not dim, dim


def test_pca_axes_name_the_components_and_their_share_of_the_variance():
    assert datamap.axis_titles("pca", np.array([0.314, 0.127, 0.05])) == ("PC1 (31% of variance)", "PC2 (13%)")
    spec = datamap.figure_dict(_points(), "class", "layer · PCA", pinned=None,
                               axes=datamap.axis_titles("pca", [0.5, 0.2]))
    assert spec["layout"]["xaxis"]["title"]["text"] == "PC1 (50% of variance)"
    assert spec["layout"]["yaxis"]["title"]["text"] == "PC2 (20%)"


def test_tsne_axes_are_named_without_numbers():
    x_title, y_title = datamap.axis_titles("tsne")
    assert (x_title, y_title) == ("t-SNE 1", "t-SNE 2")
    layout = datamap.figure(datamap.figure_dict(_points(), "class", "t", None),
                            axes=(x_title, y_title)).to_dict()["layout"]
    assert layout["xaxis"]["showticklabels"] is False and layout["xaxis"]["title"]["text"] == "t-SNE 1"


def test_the_output_layers_title_says_why_its_map_collapses():
    assert "corners of the simplex" in datamap.method_title("output", "pca", None, None, kind="output")
    assert "simplex" not in datamap.method_title("features.3", "pca", None, None, kind="conv")


def test_the_pinned_ring_is_a_layout_shape_at_the_pinned_point_and_follows_the_filter():
    """Pinning changes the layout only (a shape), never the point traces, so the browser redraws a ring,
    not the map; a point the filter hides has no ring either."""
    points = _points()
    pinned = int(points.sample_id.iloc[3])
    row = points[points.sample_id == pinned].iloc[0]
    unpinned = datamap.figure_dict(points, "class", "layer · PCA", pinned=None)
    spec = datamap.figure_dict(points, "class", "layer · PCA", pinned=pinned)
    assert [t["name"] for t in spec["data"]] == [t["name"] for t in unpinned["data"]]
    (ring,) = [s for s in spec["layout"]["shapes"] if s["name"] == "pinned"]
    assert (ring["xanchor"], ring["yanchor"]) == (pytest.approx(row.x, abs=1e-3), pytest.approx(row.y, abs=1e-3))
    assert ring["xsizemode"] == ring["ysizemode"] == "pixel"
    hiding = "incorrect" if bool(row.correct) else "correct"
    assert datamap.figure_dict(points, "class", "t", pinned=pinned, show=hiding)["layout"]["shapes"] == []
    assert unpinned["layout"]["shapes"] == []


@pytest.mark.parametrize("colour_by", ["coarse group", "class", "confidence"])
def test_a_hovered_point_names_its_class_group_and_prediction(colour_by):
    """The hover label says what the point is (not only `#65 · dogs`), also once the filter hides points;
    a map of more than HOVER_TEXT_UP_TO points keeps the short label (a string per point is costly)."""
    points = _points()
    for show in ("all", "incorrect"):
        spec = datamap.figure_dict(points, colour_by, "t", pinned=None, show=show)
        seen = 0
        for trace in spec["data"]:
            for (sample_id,), text in zip(trace["customdata"], trace["text"]):
                row = points.iloc[int(sample_id)]
                assert text == (f"{row.label_name} ({escape(row.group_name)})<br>predicted {row.pred_name}, "
                                f"{row.confidence:.0%} · {'correct' if row.correct else 'wrong'}")
                seen += 1
            assert "%{text}" in trace["hovertemplate"]
        assert seen == (len(points) if show == "all" else int((~points.correct).sum()))
    big = _points(datamap.HOVER_TEXT_UP_TO + 1)
    assert all("text" not in t for t in datamap.figure_dict(big, colour_by, "t", pinned=None)["data"])


def test_the_uploaded_images_star_is_a_shape_above_the_maps_pictures():
    spec = datamap.figure_dict(_points(), "class", "t", pinned=None, marker=(900.0, -900.0, "your image"))
    (star,) = [s for s in spec["layout"]["shapes"] if s["name"] == "your image"]
    assert star["layer"] == "above" and star["xsizemode"] == star["ysizemode"] == "pixel"
    assert (star["xanchor"], star["yanchor"]) == (900.0, -900.0)
    (label,) = [a for a in spec["layout"]["annotations"] if a["name"] == "your image"]
    assert label["text"] == "your image" and (label["x"], label["y"]) == (900.0, -900.0)
    (hover,) = [t for t in spec["data"] if t["name"] == "your image"]  # its hover, where the star is
    assert (hover["x"], hover["y"]) == ([900.0], [-900.0])
    x_range, y_range = _ranges(spec)
    assert x_range[0] < 900 < x_range[1] and y_range[0] < -900 < y_range[1]  # the map makes room for it
