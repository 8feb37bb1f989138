"""Pictures on the data map, on the server's side: which points are in the view the browser reports, a
picture (framed in its point's colour) for each of them up to the cap and none beyond, and only checked
values from the browser used. (The thumbnails themselves, and what crosses to the browser: the AppTest
and browser tests.)"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from app import map_pictures
from app.browser_values import finite_range, int_between
from app.datamap import figure_dict
from app.map_pictures import MapView, in_view, picture_layout, reported_view, shown_points


def _points(n: int = 30) -> pd.DataFrame:
    """n made-up samples on a 6-wide grid, two groups, every third one wrong."""
    ids = np.arange(100, 100 + n)
    return pd.DataFrame({"sample_id": ids, "x": (ids % 6).astype(float), "y": (ids // 6).astype(float),
                         "label_name": [f"class {i % 5}" for i in ids], "group_name": ["fish", "birds"] * (n // 2),
                         "pred_name": "class 0", "confidence": np.linspace(0, 1, n), "correct": ids % 3 != 0})


def _pictured(layout: dict) -> list[int]:
    """The sample ids drawn as pictures."""
    return sorted(p[0] for p in layout["pictures"])


def test_the_browsers_ranges_are_checked():
    assert finite_range([2, -1.5]) == (-1.5, 2.0)  # either order
    for junk in ([1, 1], [0, float("nan")], [0, float("inf")], [0, 1e300], ["0", "1"], [True, 2], [0, 1, 2],
                 "0,1", None, {"0": 1}):
        assert finite_range(junk) is None, junk
    assert int_between(640, 1, 20000) == 640 and int_between(0, 1, 20000) is None and int_between("x", 1, 9) is None


def test_a_report_counts_only_for_its_own_map():
    sent = {"map": "m1", "x": [0, 4], "y": [1, 3], "width": 500, "height": 400}
    assert reported_view(sent, "m1") == MapView((0.0, 4.0), (1.0, 3.0), 500, 400)
    assert reported_view(sent, "m2") is None  # seen on another map (a layer switched meanwhile)
    assert reported_view({**sent, "x": [0, math.nan]}, "m1") is None
    assert reported_view({**sent, "width": -5}, "m1").width == map_pictures.PLOT_PX[0]  # a bad size: the guess
    assert reported_view("m1", "m1") is None and reported_view(None, "m1") is None


def test_the_points_in_view_keep_their_ids_and_colours():
    spec = figure_dict(_points(), "coarse group", "layer · t-SNE", pinned=None)
    points = shown_points(spec)
    assert sorted(points.ids.tolist()) == list(range(100, 130))
    inside = in_view(points, MapView((1.5, 3.5), (17.5, 18.5)))
    assert sorted(points.ids[inside].tolist()) == [110, 111]  # x in 2..3 on the row y = 18
    # each point's frame has its dot's colour
    by_trace = {t["name"]: t["marker"]["color"] for t in spec["data"]}
    group_of = dict(zip(_points().sample_id, _points().group_name))
    assert all(c == by_trace[group_of[i]] for i, c in zip(points.ids, points.colours_at(range(len(points.ids)))))


def test_the_show_filter_and_the_selection_rings_are_not_pictured_twice():
    spec = figure_dict(_points(), "class", "layer · t-SNE", pinned=None, highlight=(101, 104), show="correct")
    layout = picture_layout(spec, MapView((-1, 6), (15, 22)), pinned=110)
    wrong = {i for i in range(100, 130) if i % 3 == 0}
    assert _pictured(layout) == sorted(set(range(100, 130)) - wrong)
    # each picture is framed in its dot's colour; a selected one is marked (a white frame, wider); the
    # selected and the pinned pictures lie above the others
    colour_of = {t["name"]: t["marker"]["color"] for t in spec["data"] if t["name"] != "highlighted"}
    label_of = dict(zip(_points().sample_id, _points().label_name))
    assert all(layout["colours"][colour] == colour_of[label_of[i]] for i, _, _, colour, _ in layout["pictures"])
    assert [(p[0], p[4]) for p in layout["pictures"]][-3:] == [(101, 1), (104, 1), (110, 0)]
    assert sum(p[4] for p in layout["pictures"]) == 2


def test_a_zoom_pictures_the_points_in_view_up_to_the_cap(monkeypatch):
    spec = figure_dict(_points(), "confidence", "layer · t-SNE", pinned=None)
    whole = MapView(*[tuple(spec["layout"][axis]["range"]) for axis in ("xaxis", "yaxis")])
    assert _pictured(picture_layout(spec, whole)) == list(range(100, 130))
    monkeypatch.setattr(map_pictures, "PICTURES_UP_TO", 10)
    beyond = picture_layout(spec, whole)
    assert beyond["pictures"] == [] and beyond["count"] == 30
    zoomed = picture_layout(spec, MapView((-0.5, 5.5), (16.5, 17.5)))  # one row of six
    assert _pictured(zoomed) == list(range(102, 108)) and zoomed["count"] == 6
    # pictures are squares in data units for the reported plot size, and the hover reaches across one
    px_x = zoomed["size"][0] / 6.0 * map_pictures.PLOT_PX[0]
    px_y = zoomed["size"][1] / 1.0 * map_pictures.PLOT_PX[1]
    assert px_x == pytest.approx(px_y) and map_pictures.PICTURE_PX[0] <= px_x <= map_pictures.PICTURE_PX[1]
    assert zoomed["hoverdistance"] >= px_x / 2
    # a colour scale's frames: the scale's colour of each point's value (six values, six colours)
    assert len(zoomed["colours"]) == 6 and all(c.startswith("rgb(") for c in zoomed["colours"])
    assert picture_layout(spec, MapView((50, 60), (50, 60)))["pictures"] == []  # nothing in view


def test_the_traces_the_legend_hid_are_neither_pictured_nor_counted(monkeypatch):
    spec = figure_dict(_points(), "coarse group", "layer · t-SNE", pinned=None)
    whole = [tuple(spec["layout"][axis]["range"]) for axis in ("xaxis", "yaxis")]
    sent = {"map": "m1", "x": list(whole[0]), "y": list(whole[1]), "width": 500, "height": 400, "hidden": ["fish"]}
    seen = reported_view(sent, "m1")
    assert seen.hidden == {"fish"}
    layout = picture_layout(spec, seen)
    fish = {i for i in range(100, 130) if i % 2 == 0}
    assert _pictured(layout) == sorted(set(range(100, 130)) - fish) and layout["count"] == 15
    monkeypatch.setattr(map_pictures, "PICTURES_UP_TO", 20)  # 30 points in view, 15 of them shown
    assert len(picture_layout(spec, seen)["pictures"]) == 15
    assert picture_layout(spec, reported_view({**sent, "hidden": []}, "m1"))["pictures"] == []
    # anything but a list of short names hides nothing
    for junk in ("fish", [["fish"]], [7], ["x" * 201], None):
        assert reported_view({**sent, "hidden": junk}, "m1").hidden == frozenset(), junk
