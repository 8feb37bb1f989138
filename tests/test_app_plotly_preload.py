"""A mounted chart loads plotly.js only through the loader that its page's preload tag defines
(app/plotly_preload.js, emitted by `plotly_view.preload()`): every page, tab and dialog that draws one
has that tag before its first chart, or the chart shows an error in its place."""
from __future__ import annotations

import pytest

from app.plotly_view import _PRELOAD_JS
from tests.apptest_tools import chart_spec, click_plotly_points, rerun, send_component
from tests.conftest import REPO

EXPLORER = "pages/1_Explorer.py"
MODELS = "pages/4_Compare_models.py"
PAGES = ["Home.py", *sorted(str(p.relative_to(REPO)) for p in (REPO / "pages").glob("*.py"))]


def _walk(node):
    """The page's elements in the order the browser gets them (main, sidebar, dialogs, bottom)."""
    yield node
    for _, child in sorted(getattr(node, "children", {}).items()):
        yield from _walk(child)


def _charts(at) -> tuple[list[str], list[str]]:
    """The keys of the page's mounted charts: those after its plotly.js preload tag, and those before
    it (or on a page without one)."""
    after, before, preloaded = [], [], False
    for node in _walk(at._tree):
        if node.type == "html" and _PRELOAD_JS in node.proto.body:
            preloaded = True
        elif node.type == "bidi_component" and node.proto.component_name == "layerscope.plotly_view":
            (after if preloaded else before).append(node.proto.id.rsplit("-", 1)[-1])
    return after, before


def _assert_preloaded(at, *expected: str) -> list[str]:
    """The page's charts, once asserted to be drawn after its preload tag, with those `expected`."""
    after, before = _charts(at)
    assert not before, f"charts drawn without plotly_view.preload() before them: {before}"
    assert set(expected) <= set(after), (expected, after)
    return after


@pytest.mark.parametrize("page", PAGES)
def test_every_page_preloads_plotly_before_its_first_chart(app_test, page):
    _assert_preloaded(app_test(page))


def test_every_explorer_tab_and_the_gallery_dialog_draw_after_the_preload(app_test):
    at = app_test(EXPLORER)
    _assert_preloaded(at, "separability_chart", "datamap_chart", "depth_strip_chart")
    tabs = [t.label for t in at.tabs]
    assert "Channel" in tabs and "Layer similarity" in tabs
    in_tabs = set()
    for tab in tabs:
        at.session_state["explorer_tab"] = tab
        in_tabs.update(_assert_preloaded(rerun(at)))
    assert {"class_channel_heatmap", "confusion_chart", "compare_left_chart", "compare_right_chart",
            "failures_pair_chart", "similarity_chart"} <= in_tabs
    rerun(at.button(key="compute_activations").click())
    _assert_preloaded(send_component(at, "gallery_grid", event="channel", value=2), "channel_heatmap")
    dense = [o for o in at.selectbox(key="layer_select").options if "classifier" in o or "output" in o][0]
    _assert_preloaded(rerun(at.selectbox(key="layer_select").select(dense)), "vector_heatmap")


def test_compare_models_draws_its_heatmap_and_maps_after_the_preload(app_test):
    at = app_test(MODELS)
    _assert_preloaded(at, "models_chart")
    cells = chart_spec(at, "models_chart")["data"][1]["customdata"]
    at = click_plotly_points(at, "models_chart", [{"point_index": 0, "customdata": cells[0]}])
    _assert_preloaded(at, "models_a_chart", "models_b_chart")
