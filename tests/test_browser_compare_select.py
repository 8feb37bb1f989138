"""Linked selections on two maps side by side, in headless Chromium: a lasso on one map of Compare layers,
and a box on one map of Compare models, ring the same samples on both maps and say how many; drawing
exactly the ringed samples again leaves no selection outline behind; a double click clears the selection.
Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

import catalog
from harness.browser import box_path, drag
from tests.test_browser_depth import CELL

pytestmark = pytest.mark.browser

# the plot of one map: `prefix` is the page's ('compare' or 'models'), `side` the map's
PLOT = "(prefix, side) => document.querySelector(`.st-key-${prefix}_${side}_box .js-plotly-plot`)"

# the ids (customdata's first value) of a map's points inside the middle of its plot area (30% to 70% of
# each axis), and that square in page coordinates
MIDDLE_IDS = f"""([prefix, side]) => {{
  const gd = ({PLOT})(prefix, side);
  const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, rect = gd.getBoundingClientRect();
  const box = [rect.left + xa._offset + xa._length * 0.3, rect.top + ya._offset + ya._length * 0.3,
               rect.left + xa._offset + xa._length * 0.7, rect.top + ya._offset + ya._length * 0.7];
  const ids = new Set();
  gd._fullData.forEach(tr => {{ if (!tr.customdata || tr.name === 'highlighted') return;
    for (let i = 0; i < tr.x.length; i++) {{
      const px = rect.left + xa._offset + xa.l2p(tr.x[i]), py = rect.top + ya._offset + ya.l2p(tr.y[i]);
      if (px > box[0] && px < box[2] && py > box[1] && py < box[3]) ids.add(Number(tr.customdata[i][0]));
    }} }});
  return [box, Array.from(ids).sort((a, b) => a - b)];
}}"""

# the ids a map rings (its 'highlighted' trace, as drawn)
RINGED = f"""([prefix, side]) => {{ const gd = ({PLOT})(prefix, side);
  const t = gd && gd._fullData && gd._fullData.find(t => t.name === 'highlighted');
  return t ? Array.from(t.customdata, c => Number(c[0])).sort((a, b) => a - b) : []; }}"""

# plotly's own selection left on a map: the outline of a box or lasso (drawn while dragged, then kept in
# its layout's selections and drawn in its selection layer) or its points' dimming
OUTLINE = f"""([prefix, side]) => {{ const gd = ({PLOT})(prefix, side);
  return gd.querySelectorAll('.select-outline, .selectionlayer path').length > 0 || (gd._fullLayout.selections || []).length > 0
         || gd._fullData.some(t => Array.isArray(t.selectedpoints) || ArrayBuffer.isView(t.selectedpoints)); }}"""


def _wait_ringed(page, prefix: str, sides: tuple[str, str], ids: list[int]) -> None:
    """Wait until both maps ring exactly `ids`."""
    page.wait_for_function(
        f"""ids => {list(sides)!r}.every(side => ({PLOT})('{prefix}', side)
                                         && ({RINGED})(['{prefix}', side]).join() === ids.join())""",
        arg=ids, timeout=30000)


def _tool(page, prefix: str, side: str, tool: str) -> None:
    """Pick the mode bar's 'select' (box) or 'lasso' tool of a map."""
    page.hover(f".st-key-{prefix}_{side}_box .js-plotly-plot")
    page.locator(f".st-key-{prefix}_{side}_box .modebar-btn[data-val='{tool}']").click()
    page.wait_for_function(f"() => ({PLOT})('{prefix}', '{side}')._fullLayout.dragmode === '{tool}'")


def _lasso(box: list[float]) -> list[tuple[float, float]]:
    left, top, right, bottom = box
    return [(left, top), (right, top), (right, bottom), (left, bottom), (left, top + 1)]


def _caption_count(page, noun: str) -> str:
    return page.locator(f"text=/\\d+ linked {noun}\\./").first.inner_text()


def _double_click_clears(page, prefix: str, sides: tuple[str, str], side: str, noun: str) -> None:
    """Double click the middle of map `side` and wait until neither map rings anything; the caption then
    counts 0 linked `noun`."""
    (left, top, right, bottom), _ = page.evaluate(MIDDLE_IDS, [prefix, side])
    page.mouse.dblclick((left + right) / 2, (top + bottom) / 2)
    _wait_ringed(page, prefix, sides, [])
    assert f"0 linked {noun}" in _caption_count(page, noun)


def test_a_lasso_on_compare_layers_rings_both_maps_and_leaves_no_outline(
        shared_streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, shared_streamlit_server.url
    page.goto(f"{url}/Explorer")
    page.get_by_role("tab", name="Compare layers").click()
    for side in ("left", "right"):
        page.wait_for_selector(f".st-key-compare_{side}_box .ls-plotly.js-plotly-plot", timeout=90000)
    page.locator(".st-key-compare_right_box").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    assert "0 linked samples" in _caption_count(page, "samples")

    # a lasso round the middle of the right map (the maps' drag mode from the start)
    assert page.evaluate(f"() => ({PLOT})('compare', 'right')._fullLayout.dragmode") == "lasso"
    box, chosen = page.evaluate(MIDDLE_IDS, ["compare", "right"])
    assert chosen
    drag(page, _lasso(box), steps=6)
    _wait_ringed(page, "compare", ("left", "right"), chosen)
    assert f"{len(chosen)} linked samples" in _caption_count(page, "samples")
    page.wait_for_timeout(1500)  # the redrawn maps drop the lasso: that is no person's "no selection"
    assert page.evaluate(RINGED, ["compare", "left"]) == page.evaluate(RINGED, ["compare", "right"]) == chosen
    assert not page.evaluate(OUTLINE, ["compare", "right"])
    screenshot("compare-select-1-lasso")

    # the same lasso again: the same samples, the same maps, and the outline goes once the page has answered
    # (the page has moved: a button to clear the linked samples came above the maps)
    box, again = page.evaluate(MIDDLE_IDS, ["compare", "right"])
    assert again == chosen
    drag(page, _lasso(box), steps=6)
    assert page.evaluate(OUTLINE, ["compare", "right"])  # drawn, and the other points dimmed
    page.wait_for_function(f"() => !({OUTLINE})(['compare', 'right'])", timeout=30000)
    page.wait_for_timeout(1500)
    assert not page.evaluate(OUTLINE, ["compare", "right"])
    assert page.evaluate(RINGED, ["compare", "left"]) == page.evaluate(RINGED, ["compare", "right"]) == chosen
    assert f"{len(chosen)} linked samples" in _caption_count(page, "samples")
    screenshot("compare-select-2-same-lasso")

    # a double click on the left map clears the selection on both
    _double_click_clears(page, "compare", ("left", "right"), "left", "samples")
    screenshot("compare-select-3-cleared")
    assert not page_errors, page_errors


def test_a_box_on_compare_models_rings_the_same_images_on_both_maps(
        shared_streamlit_server, browser_page, page_errors, screenshot):
    page, url, path = browser_page, shared_streamlit_server.url, shared_streamlit_server.path
    layers = catalog.open(path).execute("SELECT layer_id, name FROM layers ORDER BY position").fetchall()
    page.goto(f"{url}/Compare_models")
    page.wait_for_selector(".st-key-models_box .js-plotly-plot", timeout=90000)
    # the one catalog compared with itself: a cell of two layers, and their maps side by side
    a, b = layers[6], layers[len(layers) - 4]
    point = page.evaluate(CELL, ["models_box", [a[0], b[0]]])
    page.mouse.move(point[0], point[1])
    page.wait_for_timeout(300)
    page.mouse.click(point[0], point[1])
    for side in ("a", "b"):
        page.wait_for_selector(f".st-key-models_{side}_box .ls-plotly.js-plotly-plot", timeout=60000)
    page.locator(".st-key-models_a_box").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    assert "0 linked images" in _caption_count(page, "images")

    # the mode bar's box select, then a drag over the middle of map A
    _tool(page, "models", "a", "select")
    box, chosen = page.evaluate(MIDDLE_IDS, ["models", "a"])
    assert chosen
    drag(page, box_path(box), steps=6)
    # the same images (one catalog: the same ids) ringed on both maps, the count above them
    _wait_ringed(page, "models", ("a", "b"), chosen)
    assert f"{len(chosen)} linked images" in _caption_count(page, "images")
    page.wait_for_timeout(1500)  # the redrawn maps drop the box: that is no person's "no selection"
    assert page.evaluate(RINGED, ["models", "a"]) == page.evaluate(RINGED, ["models", "b"]) == chosen
    assert not page.evaluate(OUTLINE, ["models", "a"])
    page.locator(".st-key-models_b_box").scroll_into_view_if_needed()
    screenshot("compare-select-4-models-box")

    # a double click on map B clears the selection on both
    _double_click_clears(page, "models", ("a", "b"), "b", "images")
    screenshot("compare-select-5-models-cleared")
    assert not page_errors, page_errors
