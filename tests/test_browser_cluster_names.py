"""Cluster names in headless Chromium: the data map shows each named cluster's name, inside the frame,
clear of the pinned sample's ring (pinned on the very point a name is drawn at) and letting the pointer
through to the points beneath; the switch hides them and the
address says so; picking a cluster in the Selection tab rings its points and counts them. Screenshots go
to test-artifacts/."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

import catalog
from app.cluster_names import name_text
from catalog import pictures, queries
from harness.browser import ringed
from tests.test_app_cluster_names import clustered_map_params

pytestmark = pytest.mark.browser

NAMES_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    if (!gd || !gd._fullLayout) return null;
    const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
    const ring = (fl.shapes || []).find(s => s.name === 'pinned');
    const names = [...gd.querySelectorAll('.annotation')].map(a => { const r = a.getBoundingClientRect();
        // what a pointer on the name's middle reaches: the plot beneath (its drag layer), for hover and click
        const under = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
        return {text: a.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                through: !!under && under.classList.contains('nsewdrag')}; });
    return {names, plot: [box.left + xa._offset, box.top + ya._offset, xa._length, ya._length],
            ring: ring ? [box.left + xa._offset + xa.l2p(ring.xanchor), box.top + ya._offset + ya.l2p(ring.yanchor)] : null};
}"""
RING_RADIUS_PX = 8


def _hits(ring, name) -> bool:
    """Whether the pinned ring (a circle) and a name's box overlap."""
    x = min(max(ring[0], name["left"]), name["right"])
    y = min(max(ring[1], name["top"]), name["bottom"])
    return (ring[0] - x) ** 2 + (ring[1] - y) ** 2 <= RING_RADIUS_PX ** 2


def _pick(page, starting: str, tries: int = 4) -> None:
    """Choose the cluster picker's option that starts with `starting`; a rerun landing meanwhile may
    close the list, so it is opened again."""
    option = page.locator("[role=option]", has_text=starting).first
    for _ in range(tries):
        page.locator(".st-key-cluster_pick").get_by_role("combobox").click()
        try:
            option.click(timeout=5000)
            return
        except Exception:  # the list closed before the click: open it again
            page.keyboard.press("Escape")
    raise AssertionError(f"no option {starting!r} in the cluster picker")


def test_names_on_the_map_stay_off_the_pinned_ring_and_a_picked_cluster_is_ringed(
        streamlit_server, browser_page, page_errors, screenshot):
    page, path = browser_page, streamlit_server.path
    params = clustered_map_params(path)
    con = catalog.open(path)
    layer_id, method = int(params["layer"]), params["method"]
    requested = float(params["perplexity"]) if "perplexity" in params else None
    clusters = pictures.clusters(con, layer_id, method, requested)
    largest = clusters.iloc[0]
    points = queries.embedding(con, layer_id, method, requested)
    medoid = int(points[(abs(points.x - largest.x) < 1e-4) & (abs(points.y - largest.y) < 1e-4)].sample_id.iloc[0])

    # pinned on the point the largest cluster's name is drawn at
    page.goto(f"{streamlit_server.url}/Explorer?{urlencode({**params, 'pinned': medoid})}")
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .annotation", timeout=90000)
    page.wait_for_function("id => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.dataset.sampleId === String(id); }", arg=medoid, timeout=60000)
    page.wait_for_timeout(800)
    shown = page.evaluate(NAMES_JS)
    screenshot("clusters-1-named-map")
    expected = {name_text(r.label, r.purity) for r in clusters.itertuples()}
    texts = [n["text"] for n in shown["names"]]
    assert texts and set(texts) <= expected and name_text(largest.label, largest.purity) in texts
    assert shown["ring"] is not None
    left, top, width, height = shown["plot"]
    for name in shown["names"]:
        assert not _hits(shown["ring"], name), (name, shown["ring"])
        assert name["through"], name  # a name never keeps the pointer from the points beneath it
        assert left - 1 <= name["left"] and name["right"] <= left + width + 1  # inside the frame, not cut off
        assert top - 1 <= name["top"] and name["bottom"] <= top + height + 1

    # the switch hides them, and the address says so
    page.locator(".st-key-cluster_names label").click()
    page.wait_for_function("() => !document.querySelector('.st-key-datamap .annotation')", timeout=30000)
    page.wait_for_function("() => new URLSearchParams(location.search).get('labels') === '0'", timeout=30000)
    page.locator(".st-key-cluster_names label").click()
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .annotation", timeout=30000)

    # a whole cluster picked in the Selection tab: the map rings its points, the tab counts them
    page.get_by_role("tab", name="Selection").click()
    page.wait_for_selector(".st-key-confusion_box .js-plotly-plot", timeout=60000)  # the tab has drawn
    page.wait_for_timeout(500)
    _pick(page, f"#{int(largest.cluster)} ")
    size = int(largest["size"])
    page.wait_for_function(
        """n => { const e = document.querySelector("[data-testid='selection-summary'] b");
                  return e && Number(e.textContent) === n; }""", arg=size, timeout=60000)
    page.wait_for_function("""n => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'highlighted') : null;
        return !!t && t.x.length === n; }""", arg=size, timeout=30000)
    assert ringed(page) == size
    assert f"cluster #{int(largest.cluster)}" in page.inner_text("[data-testid='selection-summary']")
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("clusters-2-picked-cluster-ringed")
    assert "Traceback" not in page.inner_text("body")
    assert not page_errors, page_errors
