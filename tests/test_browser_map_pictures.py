"""Pictures on the data map in headless Chromium: the small catalog's whole map shows each point as its
picture, a click anywhere on a picture pins that sample, and the switch puts the dots back; after a zoom, a
switch of method, perplexity or layer pictures the new map's points in view; on a generated catalog of 3000
samples the map starts as dots and a zoom brings the pictures of the points in view.
Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

import catalog

from harness.browser import (
    PICTURES_SHOWN_JS,
    PINNED_JS,
    POINT_COLOURS_JS,
    layer_ids,
    open_explorer,
    picture_boxes,
    picture_frames,
    switch_layer,
    wait_pictures,
    wheel_zoom,
)

pytestmark = pytest.mark.browser

PLOT_AREA_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl.xaxis._offset, box.top + fl.yaxis._offset, fl.xaxis._length, fl.yaxis._length]; }"""


# How far the data map's plot lies below the top of its container, and how much taller the container is
# than the plot: the pictures' element draws nothing, so it must take no room (a zero-height block plus the
# column's gap once pushed the map 16 px down).
MAP_OFFSET_JS = """() => { const box = document.querySelector('.st-key-datamap').getBoundingClientRect();
    const plot = document.querySelector('.st-key-datamap .js-plotly-plot').getBoundingClientRect();
    return [plot.top - box.top, box.height - plot.height]; }"""


def _map_at_its_containers_top(page) -> None:
    """Wait (the page's styles settling) until the map lies at its container's top, taking all of it."""
    try:
        page.wait_for_function(f"() => ({MAP_OFFSET_JS})().every(v => Math.abs(v) < 1)", timeout=10000)
    except Exception:
        raise AssertionError(f"the map lies off its container's top: {page.evaluate(MAP_OFFSET_JS)}") from None


# Every size a picture is drawn at, from the first frame on (a picture gets its size before it joins the page,
# so the observer notes it as it is added, then at each change of its height).
DRAWN_SIZES_JS = """(() => { window.__lsDrawnSizes = [];
    const note = e => { if (e.tagName === 'image') window.__lsDrawnSizes.push(
        [Number(e.getAttribute('width')), Number(e.getAttribute('height'))]); };
    new MutationObserver(changes => changes.forEach(c => c.type === 'attributes' ? note(c.target)
        : c.addedNodes.forEach(note)))
      .observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['height']}); })();"""


def _apart(boxes: list[dict]) -> list[dict]:
    """The pictures that no other picture overlaps (so a click on one lands on it alone)."""
    def overlap(a, b):
        return not (a["left"] + a["width"] <= b["left"] or b["left"] + b["width"] <= a["left"] or
                    a["top"] + a["height"] <= b["top"] or b["top"] + b["height"] <= a["top"])
    return [a for a in boxes if not any(a is not b and overlap(a, b) for b in boxes)]


def _framed_in_their_points_colours(page, boxes: list[dict]) -> None:
    """Each picture lies on a square of its point's colour, a little larger on every side: its frame."""
    colours, frames = page.evaluate(POINT_COLOURS_JS), picture_frames(page)
    for b in boxes:
        cx, cy = b["left"] + b["width"] / 2, b["top"] + b["height"] / 2
        assert any(abs(f["left"] + f["width"] / 2 - cx) < 1 and abs(f["top"] + f["height"] / 2 - cy) < 1 and
                   f["width"] >= b["width"] + 3 and f["height"] >= b["height"] + 3 and
                   f["colour"] == colours[str(b["id"])] for f in frames), f"picture {b['id']} has no frame"
    assert len(frames) == len(boxes)


def test_the_small_map_shows_pictures_and_a_click_on_one_pins_it(shared_streamlit_server, browser_page,
                                                                    page_errors, screenshot):
    page = browser_page
    page.add_init_script(DRAWN_SIZES_JS)
    open_explorer(page, shared_streamlit_server.url)
    shown = wait_pictures(page)
    assert shown["pictured"] == shown["inView"] == shared_streamlit_server.manifest["n_samples"]
    # square from the first frame, the one drawn before the browser has told the server the plot's size
    drawn = page.evaluate("window.__lsDrawnSizes")
    assert drawn and all(abs(w - h) < 0.15 for w, h in drawn), drawn
    _map_at_its_containers_top(page)
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-1-small-map")
    boxes = picture_boxes(page)
    assert all(b["width"] >= 20 and abs(b["width"] - b["height"]) < 1.5 for b in boxes)  # squares, legible
    _framed_in_their_points_colours(page, boxes)
    pinned = page.evaluate("() => Number(document.querySelector('.ls-inspector-head').dataset.sampleId)")
    target = next(b for b in _apart(boxes) if b["id"] != pinned)
    # near a corner of the picture, well away from its dot in the middle
    x, y = target["left"] + target["width"] * 0.2, target["top"] + target["height"] * 0.8
    page.mouse.move(x, y)
    page.wait_for_function("id => document.querySelector('.ls-inspector-head').dataset.sampleId === String(id)",
                           arg=target["id"], timeout=15000)
    page.mouse.click(x, y)
    page.wait_for_function(PINNED_JS, arg=target["id"], timeout=15000)
    assert f"#{target['id']}" in page.inner_text(".ls-inspector-head")
    wait_pictures(page)  # the pin redraws the map with its pictures
    screenshot("pictures-2-pinned")
    # the switch puts the dots back
    page.locator(".st-key-map_pictures label").click()
    page.wait_for_function("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        return gd && gd._fullLayout && !gd.querySelector('.ls-pictures image'); }""", timeout=30000)
    page.wait_for_url("**pics=0**", timeout=30000)  # the link to this view says so
    _map_at_its_containers_top(page)
    assert f"pinned={target['id']}" in page.url
    screenshot("pictures-3-switched-off")
    assert not page_errors, page_errors


def test_a_zoom_into_a_big_map_brings_the_pictures_in_view(generated_catalog_server, browser_page, page_errors,
                                                           screenshot):
    page = browser_page
    open_explorer(page, generated_catalog_server.url)
    shown = wait_pictures(page)
    assert shown == {"pictured": 0, "inView": 3000}  # too many to tell apart: dots
    left, top, width, height = page.evaluate(PLOT_AREA_JS)
    wheel_zoom(page, left + width * 0.4, top + height * 0.5, steps=18)  # about a fortieth of the map
    shown = wait_pictures(page)
    assert 0 < shown["pictured"] == shown["inView"] <= 400
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-4-big-map-zoomed")
    # a pan brings the pictures of the points that came into view
    before = {b["id"] for b in picture_boxes(page)}
    page.mouse.move(left + width * 0.5, top + height * 0.5)
    page.mouse.down()
    page.mouse.move(left + width * 0.1, top + height * 0.5, steps=6)
    page.mouse.up()
    for _ in range(150):  # until the pictures are those of the points now in view, some of them new
        shown = page.evaluate(PICTURES_SHOWN_JS, 400)
        if shown and {b["id"] for b in picture_boxes(page)} - before:
            break
        page.wait_for_timeout(200)
    assert shown and 0 < shown["pictured"] == shown["inView"] <= 400
    assert {b["id"] for b in picture_boxes(page)} - before
    _framed_in_their_points_colours(page, picture_boxes(page))  # the frames came along
    # a double click returns to the whole map: dots again
    page.mouse.dblclick(left + 3, top + 3)
    assert wait_pictures(page) == {"pictured": 0, "inView": 3000}
    assert not page_errors, page_errors


def _zoom_in_on_a_picture(page, everyone: int) -> dict:
    """Zoom in on a picture until only some of the map's points are in view, each pictured."""
    box = picture_boxes(page)[0]
    wheel_zoom(page, box["left"] + box["width"] / 2, box["top"] + box["height"] / 2, steps=12)
    page.wait_for_function(f"n => {{ const r = ({PICTURES_SHOWN_JS})(400); return r && 0 < r.inView && r.inView < n; }}",
                           arg=everyone, timeout=30000, polling="raf")
    return wait_pictures(page)


def _whole_map_pictured(page, everyone: int, title: str) -> list[dict]:
    """Once the map titled `title` is drawn, wait until its pictures are exactly its points in view, each at
    its point: all of them (a switch shows the new map whole), each framed, sized for this view (as wide
    as a picture may be, 28 to 64 px: a view sized for the zoom before would make them tiny or huge)."""
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.includes(t))", arg=title, timeout=60000)
    assert wait_pictures(page) == {"pictured": everyone, "inView": everyone}
    boxes = picture_boxes(page)
    sides = {round(b["width"]) for b in boxes} | {round(b["height"]) for b in boxes}
    assert len(sides) <= 2 and all(27 <= side <= 65 for side in sides), sides
    _framed_in_their_points_colours(page, boxes)
    return boxes


def _lower_perplexity(page) -> None:
    """Move the perplexity slider one step down from the middle option, where the page starts."""
    slider = page.locator("[data-testid=stSlider] input[type=range]").first
    assert int(slider.input_value()) > int(slider.get_attribute("min"))
    slider.focus()
    page.keyboard.press("ArrowLeft")


def test_after_a_zoom_a_switch_of_map_pictures_the_new_maps_points(shared_streamlit_server, browser_page,
                                                                   page_errors, screenshot):
    """A zoom shows some of the map's points as pictures; a switch of method, perplexity or layer then
    shows another map (its own ranges: the zoom of the last one does not apply to it), pictured whole,
    each picture at its point and sized for the view, at once: not only after the next zoom."""
    page, everyone = browser_page, shared_streamlit_server.manifest["n_samples"]
    open_explorer(page, shared_streamlit_server.url)
    wait_pictures(page)
    first_layer = page.evaluate("() => document.querySelector('.st-key-datamap .gtitle').textContent").split(" · ")[0]
    switches = [
        ("perplexity", "perplexity 3", lambda: _lower_perplexity(page)),
        ("PCA", "· PCA", lambda: page.locator(".st-key-method label", has_text="PCA").click()),
        ("t-SNE", "· t-SNE", lambda: page.locator(".st-key-method label", has_text="t-SNE").click()),
        ("layer", None, None),
    ]
    for number, (what, title, switch) in enumerate(switches, start=1):
        zoomed = _zoom_in_on_a_picture(page, everyone)
        assert 0 < zoomed["pictured"] == zoomed["inView"] < everyone
        if what == "layer":
            target = next(i for i in layer_ids(page)[1:] if page.locator(f'[data-layer-id="{i}"]')
                          .get_attribute("data-name") != first_layer)
            title, _ = switch_layer(page, target)
        else:
            switch()
        _whole_map_pictured(page, everyone, title)
        page.locator(".st-key-datamap").scroll_into_view_if_needed()
        screenshot(f"pictures-7-{number}-after-{what}-switch")
    assert not page_errors, page_errors


SLIDER_JS = """() => { const s = document.querySelector('[data-testid=stSlider]');
    return s && {shown: s.querySelector('[data-testid=stSliderThumbValue]').textContent,
                 index: s.querySelector('input[type=range]').value}; }"""


def _switch_method(page, label: str) -> None:
    """Choose t-SNE or PCA; wait until the map says it shows that method."""
    page.locator(".st-key-method label", has_text=label).click()
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.includes(t))", arg=f"· {label}", timeout=60000)


def _slider_settled(page) -> dict:
    """What the perplexity slider shows once the page's runs are over (a late one would redraw it)."""
    page.wait_for_function(f"() => ({SLIDER_JS})() !== null", timeout=30000)
    page.wait_for_timeout(2000)
    return page.evaluate(SLIDER_JS)


def test_the_perplexity_slider_comes_back_from_pca_at_the_maps_perplexity(shared_streamlit_server, browser_page,
                                                                           page_errors, screenshot):
    """Zoomed in, t-SNE to PCA and back: the slider shows the perplexity the map is drawn at (30, used at
    7 for 24 samples), not its first option, and one ArrowLeft moves both to 3; the next round trip
    keeps 3."""
    page, everyone = browser_page, shared_streamlit_server.manifest["n_samples"]
    open_explorer(page, shared_streamlit_server.url)
    wait_pictures(page)
    assert _slider_settled(page) == {"shown": "30→7", "index": "1"}
    for perplexity, shown, index in (("7", "30→7", "1"), ("3", "3", "0")):
        _zoom_in_on_a_picture(page, everyone)
        _switch_method(page, "PCA")
        _zoom_in_on_a_picture(page, everyone)
        _switch_method(page, "t-SNE")
        assert _slider_settled(page) == {"shown": shown, "index": index}
        assert f"perplexity {perplexity}" in page.locator(".st-key-datamap .gtitle").first.text_content()
        assert f"Perplexity used: {perplexity}" in page.locator("[data-testid=stSidebar]").inner_text()
        if perplexity == "7":
            screenshot("perplexity-back-from-pca")
            page.locator("[data-testid=stSlider] input[type=range]").first.focus()
            page.keyboard.press("ArrowLeft")
            page.wait_for_function("() => document.querySelector('.st-key-datamap .gtitle')"
                                   ".textContent.includes('perplexity 3')", timeout=60000)
            assert _slider_settled(page) == {"shown": "3", "index": "0"}
    assert not page_errors, page_errors


LEGEND_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    return gd._fullData.filter(t => t.showlegend !== false && t.customdata && t.customdata.length)
      .map(t => ({name: t.name, visible: t.visible, ids: Array.from(t.customdata, r => Number(r[0]))})); }"""


def test_a_category_hidden_by_the_legend_shows_no_pictures(shared_streamlit_server, browser_page, page_errors,
                                                           screenshot):
    page = browser_page
    open_explorer(page, shared_streamlit_server.url)
    everyone = wait_pictures(page)["pictured"]
    traces = page.evaluate(LEGEND_JS)
    hidden = max(traces, key=lambda t: len(t["ids"]))  # the category with the most points
    position = [t["name"] for t in traces].index(hidden["name"])
    page.locator(".st-key-datamap .legend .traces").nth(position).click()
    page.wait_for_function("name => document.querySelector('.st-key-datamap .js-plotly-plot')._fullData"
                           ".some(t => t.name === name && t.visible === 'legendonly')", arg=hidden["name"])
    shown = wait_pictures(page)  # the points in view are those of the traces still shown
    assert shown["pictured"] == everyone - len(hidden["ids"])
    assert not {b["id"] for b in picture_boxes(page)} & set(hidden["ids"])
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-5-category-hidden")
    # shown again, its pictures come back
    page.locator(".st-key-datamap .legend .traces").nth(position).click()
    page.wait_for_function("""([n, name]) => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        return gd._fullData.some(t => t.name === name && t.visible === true) &&
               gd.querySelectorAll('.ls-pictures image').length === n; }""",
                           arg=[everyone, hidden["name"]], timeout=30000)
    assert set(hidden["ids"]) <= {b["id"] for b in picture_boxes(page)}
    assert not page_errors, page_errors


# The page's pixel place of a data point of the map (x, y), and of the uploaded image's star and the pinned
# ring (their layout shapes' anchors).
SHAPE_PLACES_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    const fl = gd._fullLayout, box = gd.getBoundingClientRect(), places = {};
    (fl.shapes || []).forEach(s => { places[s.name] = [box.left + fl.xaxis._offset + fl.xaxis.l2p(s.xanchor),
                                                       box.top + fl.yaxis._offset + fl.yaxis.l2p(s.yanchor)]; });
    return places; }"""


def _pixels(page, centre: tuple[float, float], half: int):
    """The screen's pixels (RGB) in the square of side 2 * half around `centre`."""
    import io

    from PIL import Image
    png = page.screenshot(clip={"x": centre[0] - half, "y": centre[1] - half, "width": 2 * half, "height": 2 * half})
    return Image.open(io.BytesIO(png)).convert("RGB")


def _near(rgb, target, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, target))


def test_the_uploaded_images_star_and_the_pinned_ring_lie_above_the_pictures(shared_streamlit_server, browser_page,
                                                                             page_errors, screenshot):
    page = browser_page
    open_explorer(page, shared_streamlit_server.url)
    page.locator(".st-key-method label", has_text="PCA").click()  # a copy of a sample lies on its point
    page.wait_for_function("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.endsWith('· PCA'))", timeout=30000)
    page.get_by_role("tab", name="Your image").click()
    key = catalog.open(shared_streamlit_server.path).execute(
        "SELECT key FROM samples WHERE sample_id = 5").fetchone()[0]  # (the map has sample 0 pinned)
    page.locator(".st-key-upload_pick").get_by_role("combobox").click()
    page.keyboard.type(key)
    page.get_by_role("option", name=key).click()
    page.wait_for_selector("[data-testid='upload-result']", timeout=120000)
    page.wait_for_function("() => (document.querySelector('.st-key-datamap .js-plotly-plot')._fullLayout.shapes"
                           " || []).some(s => s.name === 'your image')", timeout=60000)
    wait_pictures(page)
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    page.mouse.move(5, 5)  # no hover label over the map
    page.wait_for_timeout(500)
    places = page.evaluate(SHAPE_PLACES_JS)
    star, ring = places["your image"], places["pinned"]
    boxes = picture_boxes(page)

    def covered(at):
        return any(b["left"] < at[0] < b["left"] + b["width"] and b["top"] < at[1] < b["top"] + b["height"]
                   for b in boxes)
    assert covered(star) and covered(ring)  # each lies where a picture is drawn
    screenshot("pictures-6-star-and-ring-above")
    # the star's yellow at its centre, the ring's red around its own centre: drawn over the pictures
    assert _near(_pixels(page, star, 2).getpixel((2, 2)), (0xff, 0xd1, 0x66))
    around = _pixels(page, ring, 12)
    red = sum(_near(around.getpixel((i, j)), (0xff, 0x4b, 0x4b), 50) for i in range(24) for j in range(24))
    assert red >= 20, red
    assert "your image" in page.inner_text(".st-key-datamap")  # its label too
    assert not page_errors, page_errors
