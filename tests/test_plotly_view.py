"""The mounted chart (app/plotly_view.py): figures travel as plotly.js reads them, plotly.js is served from
the app's static folder under its version's name, and where it cannot be served the data map and the
charts beside it still draw (Streamlit's own chart), a click on a point selecting its layer either way."""
from __future__ import annotations

import json

import numpy as np
import plotly
import pytest

from app import plotly_view
from tests.apptest_tools import chart_json, chart_spec, click_plotly_points, decode_typed_arrays


def test_numeric_arrays_travel_as_typed_arrays_and_decode_to_the_same_values():
    ids = np.array([[3], [1 << 20], [7]], dtype=np.int64)  # plotly.js has no int64 arrays: sent as int32
    x = np.array([0.5, -2.25, 1e-3], dtype=np.float32)
    text = json.loads(plotly_view.to_json({"data": [{"x": x, "customdata": ids, "name": np.str_("a"),
                                                     "size": np.int64(4)}]}))
    trace = text["data"][0]
    assert trace["x"]["dtype"] == "f4" and trace["customdata"]["dtype"] == "i4"
    assert trace["customdata"]["shape"] == "3, 1" and "shape" not in trace["x"]
    assert trace["name"] == "a" and trace["size"] == 4
    decoded = decode_typed_arrays(text)["data"][0]
    assert decoded["x"] == x.tolist() and decoded["customdata"] == ids.tolist()
    strings = json.loads(plotly_view.to_json({"text": np.array(["p", "q"])}))
    assert strings["text"] == ["p", "q"]  # no typed array for strings: a list


def test_plotly_js_is_copied_once_under_its_version(tmp_path, monkeypatch):
    monkeypatch.setattr(plotly_view, "static_folder", lambda: tmp_path / "static")
    url = plotly_view.asset_url()
    name = f"plotly-{plotly.__version__}.min.js"
    assert url == f"app/static/{name}"
    served = tmp_path / "static" / name
    assert served.read_bytes() == plotly_view.SOURCE.read_bytes()
    assert [p.name for p in served.parent.iterdir()] == [name]  # no temporary file left behind
    served.write_text("kept")  # present: not copied again
    assert plotly_view.asset_url() == url and served.read_text() == "kept"


def test_the_static_folder_is_beside_the_main_script():
    """Streamlit serves static/ beside the script it runs: Home.py here, deploy/streamlit_app.py on Cloud."""
    from tests.paths import REPO
    assert plotly_view.static_folder() == REPO / "static"  # no script running: the repository's Home.py


def test_no_asset_where_static_serving_is_off_or_the_folder_is_read_only(tmp_path, monkeypatch):
    import streamlit as st
    monkeypatch.setattr(plotly_view, "static_folder", lambda: tmp_path / "static")
    monkeypatch.setattr(st, "get_option", lambda name: False)
    assert plotly_view.asset_url() is None
    monkeypatch.undo()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(plotly_view, "static_folder", lambda: blocked / "static")
    assert plotly_view.asset_url() is None


@pytest.mark.parametrize("served", [True, False])
def test_the_explorer_draws_its_map_whether_or_not_plotly_js_can_be_served(app_env, app_test, monkeypatch, served):
    if not served:
        monkeypatch.setattr(plotly_view, "asset_url", lambda: None)
    at = app_test("pages/1_Explorer.py")
    mounted = [e for e in at.get("bidi_component") if e.proto.id.endswith("datamap_chart")]
    streamlit_charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith("datamap_chart")]
    assert (len(mounted), len(streamlit_charts)) == ((1, 0) if served else (0, 1))
    figure = chart_json(at, "datamap_chart")
    assert sum(len(decode_typed_arrays(t["x"])) for t in figure["data"] if t.get("customdata")) == \
        app_env.manifest["n_samples"]


@pytest.mark.parametrize("served", [True, False])
def test_the_layer_charts_draw_and_select_layers_whether_or_not_plotly_js_can_be_served(app_test, monkeypatch,
                                                                                         served):
    if not served:
        monkeypatch.setattr(plotly_view, "asset_url", lambda: None)
    at = app_test("pages/1_Explorer.py")
    for key in ("separability_chart", "depth_strip_chart"):
        mounted = [e for e in at.get("bidi_component") if e.proto.id.endswith(key)]
        streamlit_charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
        assert (len(mounted), len(streamlit_charts)) == ((1, 0) if served else (0, 1))
    line = chart_spec(at, "separability_chart")["data"][0]
    index = next(i for i, row in enumerate(line["customdata"]) if row[0] != at.session_state.layer_id)
    click_plotly_points(at, "separability_chart", [{"curve_number": 0, "point_number": index, "point_index": index,
                                                    "customdata": line["customdata"][index]}])
    assert at.session_state.layer_id == line["customdata"][index][0]
    ring = next(t for t in chart_spec(at, "separability_chart")["data"] if t["name"] == "selected layer")
    assert ring["x"] == [line["x"][index]]


def test_a_mounted_chart_has_the_apps_look_and_no_white_default_template(monkeypatch):
    """plotly.py's default template (white grid) is Streamlit's chart's to replace; the mounted chart
    draws a figure as it is sent, so it goes without it, with the app's font and dark axes."""
    import plotly.graph_objects as go
    sent = []
    monkeypatch.setattr(plotly_view, "chart", lambda figure, **kw: sent.append(figure) or True)
    plotly_view.draw(go.Figure(go.Heatmap(z=[[1, 2]]), layout={"height": 300, "xaxis": {"title": "channel"}}),
                     key="k", on_click=lambda: None)
    layout = sent[0]["layout"]
    assert "template" not in layout and layout["font"]["family"] == plotly_view.FONT
    assert layout["xaxis"]["gridcolor"] == plotly_view.LOOK["xaxis"]["gridcolor"]
    assert layout["xaxis"]["title"]["text"] == "channel" and layout["clickmode"] == "event"
    plotly_view.draw(go.Figure(layout={"template": "plotly_dark", "height": 300}), key="k")
    assert sent[1]["layout"]["template"]["layout"]["paper_bgcolor"] != "white"  # a chosen template stays
