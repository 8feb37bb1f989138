"""Whatever a visitor's browser sends (component events, chart selections, the URL), the Explorer keeps
only what the catalog holds, never more ids than it has, and no run raises."""
from __future__ import annotations

import time

import pytest

from app.browser_values import as_int, channel_in, int_list, known_ids, known_int, plot_points
from tests.apptest_tools import chart_spec, check, click_plotly_points, rerun, select_plotly_ids, send_component

EXPLORER = "pages/1_Explorer.py"
JUNK = ["seven", None, {"id": 3}, [4], 2.5, True, "9" * 5000, float("nan")]


def test_only_integers_pass():
    assert [as_int(v) for v in (7, 7.0, "7", " 7 ")] == [7, 7, 7, 7]
    assert [as_int(v) for v in JUNK] == [None] * len(JUNK)
    assert known_int(5, range(24)) == 5 and known_int(24, range(24)) is None and known_int("x", range(24)) is None
    assert channel_in(3, 4) == 3 and channel_in(4, 4) is None and channel_in(-1, 4) is None


def test_a_selection_keeps_the_known_ids_and_looks_at_no_more_than_the_catalog_has():
    allowed = frozenset(range(100, 124))
    assert known_ids([123, 100, 100, 5, "101", *JUNK], allowed) == [100, 101, 123]
    assert known_ids("100", allowed) is None and known_ids({"ids": [100]}, allowed) is None
    huge = list(range(2_000_000))
    start = time.perf_counter()
    assert known_ids(huge, allowed) == []  # its first 24 entries name no sample of this catalog
    assert time.perf_counter() - start < 0.05


def test_a_charts_selected_ids_are_its_ints_once_each_and_no_more_than_it_may_send():
    assert int_list([9, "3", 9, 2**70, *JUNK], most=100) == [3, 9, 2**70]  # the catalog's: known_ids
    assert int_list(list(range(10, 0, -1)), most=4) == [7, 8, 9, 10]  # the first 4 looked at
    assert int_list("9", most=100) is None and int_list({"ids": [9]}, most=100) is None
    assert int_list([], most=100) == []


def test_a_clicked_point_keeps_only_short_json_values():
    sent = [{"curveNumber": 0, "pointNumber": 3, "customdata": [5, "conv", 0.5], "x": 3, "y": 0.25},
            {"curveNumber": 1, "pointNumber": [2, 7], "customdata": {"0": 5}, "x": "x" * 5000, "y": [1]},
            {"curveNumber": "zero", "pointNumber": 1}, "a point", None]
    assert plot_points(sent) == [
        {"curve_number": 0, "point_number": 3, "point_index": 3, "customdata": [5, "conv", 0.5], "x": 3, "y": 0.25},
        {"curve_number": 1, "point_number": 7, "point_index": 7, "customdata": None, "x": None, "y": None}]
    assert plot_points({"curveNumber": 0}) == [] and plot_points("click") == []
    assert len(plot_points([{"curveNumber": 0}] * 100_000)) == 8  # a click names a few points, not thousands
    custom = plot_points([{"curveNumber": 0, "customdata": [float("nan"), True, 10**40, "y" * 201]}])
    assert custom[0]["customdata"] == [None, None, None, None]
    assert plot_points([{"curveNumber": 0, "customdata": list(range(9))}])[0]["customdata"] is None


@pytest.mark.parametrize("key", ["separability_chart", "depth_strip_chart"])
def test_a_crafted_click_on_a_layer_chart_is_ignored(app_test, key):
    at = app_test(EXPLORER)
    layer_id = at.session_state.layer_id
    other = next(row[0] for row in chart_spec(at, "separability_chart")["data"][0]["customdata"] if row[0] != layer_id)
    crafted = [None, "all", {"curveNumber": 0}, [{"curveNumber": 0, "customdata": [10**9, "x"]}],
               [{"curveNumber": 0, "customdata": [v, "x"]} for v in JUNK], [{"customdata": [other]}],
               [{"curveNumber": 0, "customdata": {"0": other}}], [{"curveNumber": 0, "customdata": [[other]]}]]
    for value in crafted:
        send_component(at, key, event="click", value=value)
        assert at.session_state.layer_id == layer_id
    send_component(at, key, event="click", value=[{"curveNumber": 0, "pointNumber": 1, "customdata": [other, "x"]}])
    assert at.session_state.layer_id == other  # a real click still selects that layer


def test_a_crafted_selection_of_two_million_ids_stores_only_the_catalogs(app_env, app_test):
    n = app_env.manifest["n_samples"]
    at = app_test(EXPLORER, tab="Selection")
    send_component(at, "plot_bridge", event="select", value=list(range(2_000_000)))
    assert at.session_state.selection_ids == list(range(n))
    send_component(at, "plot_bridge", event="select", value=[3, 10**9, -1, *JUNK, 3, 5.0])
    assert at.session_state.selection_ids == [3, 5]
    send_component(at, "plot_bridge", event="select", value="all of them")  # no list: ignored
    assert at.session_state.selection_ids == [3, 5]


def test_crafted_clicks_and_hovers_leave_the_session_working(app_env, app_test):
    at = app_test(EXPLORER)
    pinned = at.session_state.pinned
    for value in (10**9, -1, *JUNK):
        send_component(at, "plot_bridge", event="click", value=value)
        send_component(at, "plot_bridge", event="hover", value=value)
        assert at.session_state.pinned == pinned and at.session_state.hovered is None, value
    send_component(at, "plot_bridge", event="click", value=7)  # a real click still pins
    assert at.session_state.pinned == 7


@pytest.mark.parametrize("value", [9999, -3, "conv", None, [1], 2.5])
def test_a_crafted_layer_from_the_layer_map_is_ignored(app_test, value):
    at = app_test(EXPLORER)
    layer_id = at.session_state.layer_id
    send_component(at, "layer_map", state={"selected": value, "choice": 1})
    rerun(at)  # the value stays in the component's state: the next runs must work too
    assert at.session_state.layer_id == layer_id
    send_component(at, "layer_map", state={"selected": 3, "choice": 2})  # a real click still selects
    assert at.session_state.layer_id == 3


def test_crafted_chart_clicks_are_ignored(app_test):
    at = app_test(EXPLORER, tab="Channel")
    layer_id = at.session_state.layer_id
    click_plotly_points(at, "separability_chart", [{"customdata": ["conv"]}, {"customdata": 3}])
    click_plotly_points(at, "separability_chart", [{"point_index": 0, "customdata": [10**9]}])
    assert at.session_state.layer_id == layer_id
    channel = at.session_state.channel
    click_plotly_points(at, "class_channel_heatmap", [{"point_index": 0, "x": "first"}])
    assert at.session_state.channel == channel


def test_a_crafted_compare_selection_keeps_only_known_ids(app_test):
    at = app_test(EXPLORER, tab="Compare layers")
    select_plotly_ids(at, "compare_left_chart", [2, 10**9, 4, *JUNK])
    assert at.session_state.compare_ids == [2, 4]
    # millions of ids: only the first the chart may send are looked at, only the catalog's kept
    select_plotly_ids(at, "compare_right_chart", [5, 6] + list(range(10**6, 10**6 + 200_000)))
    assert at.session_state.compare_ids == [5, 6]
    select_plotly_ids(at, "compare_left_chart", {"ids": [1]})  # no list: nothing selected
    assert at.session_state.compare_ids == []


def test_crafted_url_values_fall_back_to_the_default_view(app_test):
    params = {"catalog": "../../etc", "layer": "1e999", "method": "<script>", "perplexity": "nan",
              "pinned": "9" * 5000, "channel": "99999999999999999999", "colour": "{}", "show": "everything"}
    at = app_test(EXPLORER, params=params, tab="Channel")
    assert at.session_state.method in ("tsne", "pca") and at.session_state.pinned == 0
    assert at.session_state.map_filter == "all"


def test_a_crafted_gallery_channel_opens_nothing(app_test):
    at = app_test(EXPLORER)
    rerun(at.button(key="compute_activations").click())
    for value in (10**6, -1, "first", [0]):  # no tile of this grid
        send_component(at, "gallery_grid", event="channel", value=value)
        assert not _channel_dialog_shown(at)
    send_component(at, "gallery_grid", event="channel", value=2)  # a real tile opens its channel
    assert at.session_state.channel == 2
    assert _channel_dialog_shown(at)


def _channel_dialog_shown(at) -> bool:
    """Whether the gallery's channel dialog draws its heatmap (key channel_heatmap, either chart)."""
    return any(e.proto.id.endswith("-channel_heatmap") for kind in ("plotly_chart", "bidi_component")
               for e in at.get(kind))


def test_a_crafted_layer_picker_option_is_ignored(app_test):
    """Streamlit hands a selectbox option that is not among its options to the page as the text sent."""
    at = app_test(EXPLORER)
    layer_id = at.session_state.layer_id
    picker = at.selectbox(key="layer_select")
    states = at._tree.get_widget_states()
    for widget in states.widgets:
        if widget.id == picker.id:
            widget.string_value = "9999: conv"
    check(at._run(states))
    assert at.session_state.layer_id == layer_id
    rerun(at.selectbox(key="layer_select").select(picker.options[3]))  # a real choice still selects
    assert at.session_state.layer_id != layer_id
