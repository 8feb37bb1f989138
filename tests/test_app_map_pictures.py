"""Pictures on the data map through AppTest: the small catalog's whole map is pictured at once, a zoom
the browser reports pictures only the points in view, the switch turns them off and travels in the URL
and the Export tab's link, and whatever the browser reports instead of a view changes nothing."""
from __future__ import annotations

import json
import math

from app import map_pictures
from tests.apptest_tools import chart_json, decode_typed_arrays, rerun, send_component

EXPLORER = "pages/1_Explorer.py"


def _sent(at) -> dict:
    """What the pictures element sent the browser: the map's name, the pictures, the new thumbnails."""
    element = next(e for e in at.get("bidi_component") if e.proto.id.endswith(map_pictures.ELEMENT))
    data = json.loads(element.proto.json)
    return {**data, "layout": json.loads(data["layout"])}


def _pictured(at) -> list[int]:
    return sorted(p[0] for p in _sent(at)["layout"]["pictures"])


def _map_points(at) -> dict[int, tuple[float, float]]:
    figure = decode_typed_arrays(chart_json(at))
    return {int(c[0]): (x, y) for t in figure["data"] if t.get("customdata") and t["name"] != "highlighted"
            for c, x, y in zip(t["customdata"], t["x"], t["y"])}


def test_the_small_map_is_pictured_whole_and_a_zoom_pictures_what_is_in_view(app_env, app_test, monkeypatch):
    at = app_test(EXPLORER)
    points = _map_points(at)
    sent = _sent(at)
    assert sent["map"] == chart_json(at)["layout"]["meta"]["map"]  # the pictures name the map they are for
    assert _pictured(at) == sorted(points) and len(points) == app_env.manifest["n_samples"]
    assert sorted(int(i) for i in sent["thumbs"]) == sorted(points)  # each thumbnail, once
    # the browser reports a zoom onto the left third of the map: only those points are pictured
    xs = sorted(x for x, _ in points.values())
    x_range = [xs[0] - 0.01, xs[len(xs) // 3]]
    y_range = chart_json(at)["layout"]["yaxis"]["range"]
    view = {"map": sent["map"], "x": x_range, "y": y_range, "width": 500, "height": 400}
    send_component(at, map_pictures.ELEMENT, event="view", value=view)
    inside = sorted(i for i, (x, _) in points.items() if x_range[0] <= x <= x_range[1])
    assert _pictured(at) == inside and 0 < len(inside) < len(points)
    assert _sent(at)["size"] == [500, 400]  # sized for the plot the browser reported
    assert _sent(at)["thumbs"] == {}  # the browser has them all
    # a page that lacks some (an update it never drew) asks for them again; junk asks for nothing
    send_component(at, map_pictures.ELEMENT, event="missing", value=[inside[0], 10**9, "x", None])
    assert list(_sent(at)["thumbs"]) == [str(inside[0])]
    send_component(at, map_pictures.ELEMENT, event="missing", value="all")
    assert _sent(at)["thumbs"] == {}
    # beyond the cap, no pictures; a zoom with fewer points in view than the cap brings them back
    monkeypatch.setattr(map_pictures, "PICTURES_UP_TO", len(inside) - 1)
    send_component(at, map_pictures.ELEMENT, event="view", value={**view, "x": [xs[0] - 1, xs[-1] + 1]})
    assert _pictured(at) == []
    send_component(at, map_pictures.ELEMENT, event="view", value={**view, "x": [xs[0] - 0.01, xs[2]]})
    assert _pictured(at) == sorted(i for i, (x, _) in points.items() if x <= xs[2])
    # a pin keeps the zoom, and the pictures of the points in it
    send_component(at, "plot_bridge", event="click", value=max(points))
    assert _pictured(at) == sorted(i for i, (x, _) in points.items() if x <= xs[2])
    # another layer's map, then this one again: drawn whole (a new map starts unzoomed), all pictured
    monkeypatch.setattr(map_pictures, "PICTURES_UP_TO", len(points))
    layers = at.selectbox(key="layer_select")
    zoomed_on = layers.value
    rerun(layers.select(next(o for o in layers.options if o != zoomed_on)))
    assert _sent(at)["map"] != sent["map"] and len(_pictured(at)) == len(points)
    rerun(at.selectbox(key="layer_select").select(zoomed_on))
    assert _sent(at)["map"] == sent["map"] and _pictured(at) == sorted(points)


def test_a_report_that_is_no_view_changes_nothing(app_test):
    at = app_test(EXPLORER)
    before = _pictured(at)
    current = _sent(at)["map"]
    for junk in ({"map": current, "x": [0, math.nan], "y": [0, 1]}, {"map": current, "x": "all", "y": [0, 1]},
                 {"map": current, "x": [1e300, 2e300], "y": [0, 1]}, {"map": "another map", "x": [0, 0.1], "y": [0, 0.1]},
                 list(range(100_000)), "zoom", None, 7):
        send_component(at, map_pictures.ELEMENT, event="view", value=junk)
        assert _pictured(at) == before, junk
    rerun(at)  # and later runs of the page too
    assert _pictured(at) == before


def test_the_switch_turns_the_pictures_off_and_travels_in_the_url(app_env, app_test):
    at = app_test(EXPLORER)
    assert at.toggle(key=map_pictures.SWITCH).value is True and "pics" not in at.query_params
    at.toggle(key=map_pictures.SWITCH).set_value(False)
    rerun(at)
    assert _pictured(at) == [] and at.query_params["pics"] in ("0", ["0"])
    at.session_state["explorer_tab"] = "Export"
    rerun(at)
    assert "pics=0" in "\n".join(c.value for c in at.code)
    # a link with pics=0 opens the map without pictures, and its switch off
    opened = app_test(EXPLORER, params={"catalog": app_env.path.name, "pics": "0"})
    assert opened.toggle(key=map_pictures.SWITCH).value is False and _pictured(opened) == []
    opened.toggle(key=map_pictures.SWITCH).set_value(True)
    rerun(opened)
    assert len(_pictured(opened)) == app_env.manifest["n_samples"] and "pics" not in opened.query_params
