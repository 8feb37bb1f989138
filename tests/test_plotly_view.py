"""The mounted chart (app/plotly_view.py): figures travel as plotly.js reads them, plotly.js is served from
the app's static folder under its version's name, and where it cannot be served the data map and the
charts beside it still draw (Streamlit's own chart), a click on a point selecting its layer either way. The
plotly.js served is our bundle (app/vendor/) of the version plotly.py ships, with every trace type the app
draws."""
from __future__ import annotations

import json
import re

import numpy as np
import plotly
import plotly.graph_objects as go
import pytest

from app import plotly_view
from tests.apptest_tools import (chart_json, chart_spec, click_plotly_points, component_data,
                                 decode_typed_arrays, rerun, select_plotly_ids, send_component)


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


def test_plotly_js_is_copied_once_under_a_name_of_its_contents(tmp_path, monkeypatch):
    monkeypatch.setattr(plotly_view, "static_folder", lambda: tmp_path / "static")
    url = plotly_view.asset_url()
    name = plotly_view.SERVED_NAME
    assert url == f"app/static/{name}"
    assert re.fullmatch(rf"plotly-{plotly_view.js_version(plotly_view.FULL)}-layerscope-[0-9a-f]{{12}}\.min\.js", name)
    served = tmp_path / "static" / name
    assert served.read_bytes() == plotly_view.SOURCE.read_bytes()
    assert [p.name for p in served.parent.iterdir()] == [name]  # no temporary file left behind
    served.write_text("kept")  # present: not copied again
    assert plotly_view.asset_url() == url and served.read_text() == "kept"


def test_the_vendored_bundle_is_of_the_plotly_js_that_plotly_py_ships():
    """An upgrade of plotly ships another plotly.js: this fails until the bundle is rebuilt for it."""
    shipped = plotly_view.js_version(plotly_view.FULL)
    vendored = {p.name: plotly_view.js_version(p) for p in plotly_view.VENDOR.glob("plotly-*-layerscope.min.js")}
    assert vendored == {f"plotly-{shipped}-layerscope.min.js": shipped}, (
        f"plotly {plotly.__version__} ships plotly.js {shipped}, app/vendor holds {vendored}: rebuild the bundle "
        "(tools/plotly_bundle/README.md)")
    assert plotly_view.SOURCE.parent == plotly_view.VENDOR


def test_without_a_bundle_of_the_shipped_version_plotly_pys_full_plotly_js_is_served(tmp_path, monkeypatch):
    monkeypatch.setattr(plotly_view, "VENDOR", tmp_path)
    assert plotly_view._source() == plotly_view.FULL  # none at all
    shipped = plotly_view.js_version(plotly_view.FULL)
    stale = tmp_path / f"plotly-{shipped}-layerscope.min.js"
    stale.write_text("/**\n* plotly.js (layerscope: scatter - minified) v0.0.1\n*/\n")
    assert plotly_view._source() == plotly_view.FULL  # named for this version, built from another
    stale.write_text(f"/**\n* plotly.js (layerscope: scatter - minified) v{shipped}\n*/\n")
    assert plotly_view._source() == stale


def test_the_bundle_has_every_trace_type_the_app_draws():
    """The trace types named in app/ and pages/ (`go.Heatmap(`, a "type" of a trace dict, a `kind` chosen
    for one) are among those the bundle was built with (its header, checked in a browser by
    test_browser_plotly_bundle.py); a new one needs a rebuild, or plotly.js draws it as a scatter."""
    from plotly.basedatatypes import BaseTraceType

    from tests.paths import REPO
    classes = [getattr(go, name) for name in dir(go)]  # dir: plotly.graph_objects imports them lazily
    trace_types = {cls().type for cls in classes
                   if isinstance(cls, type) and issubclass(cls, BaseTraceType) and cls is not BaseTraceType}
    used = set()
    for path in [*(REPO / "app").rglob("*.py"), *(REPO / "pages").glob("*.py"), REPO / "Home.py"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            used |= {name.lower() for name in re.findall(r"\bgo\.([A-Z][A-Za-z]*)\(", line)}
            if re.search(r"[\"']type[\"']:|\bkind = ", line):  # the value's literals: "scattergl" if ... else "scatter"
                used |= set(re.findall(r"[\"']([a-z0-9]+)[\"'](?!\s*:)", line))
    used &= trace_types
    header = plotly_view.SOURCE.read_text(encoding="utf-8")[:400]
    built = set(re.search(r"plotly\.js \(layerscope: ([a-z0-9, ]+) - minified\)", header).group(1).split(", "))
    assert {"scatter", "scattergl", "bar", "heatmap"} <= used  # what the app draws today: the scan finds it
    assert used <= built, f"rebuild the bundle with {sorted(used - built)} (tools/plotly_bundle/README.md)"


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


@pytest.mark.parametrize("served", [True, False])
def test_compare_layers_links_a_selection_whether_or_not_plotly_js_can_be_served(app_test, monkeypatch, served):
    if not served:
        monkeypatch.setattr(plotly_view, "asset_url", lambda: None)
    at = app_test("pages/1_Explorer.py", tab="Compare layers")
    for key in ("compare_left_chart", "compare_right_chart"):
        mounted = [e for e in at.get("bidi_component") if e.proto.id.endswith(key)]
        streamlit_charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
        assert (len(mounted), len(streamlit_charts)) == ((1, 0) if served else (0, 1))
    if served:  # the map's dark look and a double click back to its own ranges, with select and lasso tools
        sent = component_data(at, "compare_left_chart")
        assert sent["selects"] and not sent["clicks"] and sent["config"]["doubleClick"] == "reset"
        layout = json.loads(sent["layout"])
        assert layout["font"]["color"] == "#e6e6e6" and layout["dragmode"] == "lasso"
        assert "select2d" not in str(sent["config"].get("modeBarButtonsToRemove"))
    select_plotly_ids(at, "compare_left_chart", [4, 7])
    for key in ("compare_left_chart", "compare_right_chart"):
        ringed = next(t for t in chart_spec(at, key)["data"] if t["name"] == "highlighted")
        assert sorted(int(c[0]) for c in ringed["customdata"]) == [4, 7]


def test_every_answered_selection_is_a_new_figure_even_of_the_samples_already_ringed(app_test):
    """plotly drops its own selection (the outline, the dimming) only when the figure changes: a selection of
    exactly the ringed samples must change it too (the browser test: tests/test_browser_compare_select.py)."""
    at = app_test("pages/1_Explorer.py", tab="Compare layers")

    def revisions():
        return [json.loads(component_data(at, key)["layout"])["selectionrevision"]
                for key in ("compare_left_chart", "compare_right_chart")]

    select_plotly_ids(at, "compare_left_chart", [4, 7])
    first, first_traces = revisions(), component_data(at, "compare_left_chart")["traces"]
    select_plotly_ids(at, "compare_left_chart", [4, 7])
    second = revisions()
    assert component_data(at, "compare_left_chart")["traces"] == first_traces  # the same rings
    assert second[0] != first[0] and second[1] == first[1]  # the map selected on is a new figure
    rerun(at)  # a run that answers no selection keeps the figures as they are
    assert revisions() == second


def test_every_selection_through_the_plot_bridge_is_a_new_data_map_figure(app_test):
    """The Explorer's data map hears its box or lasso selections through the plot bridge, not `on_select`:
    each one the page answers, even of the samples already ringed, changes its figure all the same
    (the browser test: tests/test_browser_map_select_again.py)."""
    at = app_test("pages/1_Explorer.py")

    def revision():
        return json.loads(component_data(at, "datamap_chart")["layout"]).get("selectionrevision")

    send_component(at, "plot_bridge", event="select", value=[4, 7])
    first, first_traces = revision(), component_data(at, "datamap_chart")["traces"]
    send_component(at, "plot_bridge", event="select", value=[4, 7])
    assert component_data(at, "datamap_chart")["traces"] == first_traces  # the same rings
    assert revision() != first
    second = revision()
    rerun(at)  # a run that answers no selection keeps the figure as it is
    assert revision() == second


def test_a_mounted_chart_has_the_apps_look_and_no_white_default_template(monkeypatch):
    """plotly.py's default template (white grid) is Streamlit's chart's to replace; the mounted chart
    draws a figure as it is sent, so it goes without it, with the app's font and dark axes."""
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
