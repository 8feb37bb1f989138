"""Headless Chromium on the Explorer: launching Debian's chromium with Playwright, and the page actions
and probes (open, switch a layer, hover, pin, box-select) that the browser tests and benchmarks share."""
from __future__ import annotations

import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_explorer(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Explorer").first.click()
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=60000)
    page.wait_for_selector("[data-layer-id]", timeout=60000)
    page.wait_for_selector(".ls-inspector-head", timeout=60000)


def map_title(page) -> str:
    return page.evaluate("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                         ".map(e => e.textContent).join(' | ')")


def wait_map_settled(page, layer_name: str, timeout: float = 30000) -> None:
    page.wait_for_function(
        """name => { const t = [...document.querySelectorAll('.st-key-datamap .gtitle')];
                     return t.length === 1 && t[0].textContent.startsWith(name + ' ·'); }""",
        arg=layer_name, timeout=timeout)


def layer_ids(page) -> list[int]:
    """The layer map's layer ids, in drawing order (input first)."""
    return [int(v) for v in page.eval_on_selector_all("[data-layer-id]", "els => els.map(e => e.dataset.layerId)")]


def switch_layer(page, layer_id: int) -> tuple[str, float]:
    """Click a layer in the map; seconds until the data map shows it."""
    target = page.locator(f'[data-layer-id="{layer_id}"]')
    name = target.get_attribute("data-name")
    start = time.perf_counter()
    target.locator(".hit").click()
    wait_map_settled(page, name)
    return name, time.perf_counter() - start


def point_positions(page, count: int = 40) -> list[tuple[float, float, int]]:
    """Page coordinates and sample ids of up to `count` points of the data map, spread over traces."""
    return page.evaluate(
        """count => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
            const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
            const pts = [];
            gd._fullData.forEach(tr => { if (!tr.customdata || tr.name === 'highlighted') return;
              // a filtered-out trace keeps one gap (x null) and no customdata
              for (let i = 0; i < tr.x.length; i++) if (tr.x[i] != null && tr.customdata[i]) pts.push([box.left + xa._offset + xa.l2p(tr.x[i]),
                                                               box.top + ya._offset + ya.l2p(tr.y[i]),
                                                               Number(tr.customdata[i][0])]); });
            // keep points far from every other one, so the hover lands on the intended point
            const far = pts.filter(p => pts.every(q => q === p || Math.hypot(p[0]-q[0], p[1]-q[1]) > 9));
            const step = Math.max(1, Math.floor(far.length / count));
            return far.filter((_, i) => i % step === 0).slice(0, count); }""", count)


def inspector_id(page) -> int | None:
    value = page.evaluate("() => { const e = document.querySelector('.ls-inspector-head');"
                          " return e ? e.dataset.sampleId : null; }")
    return None if value is None else int(value)


def hover_point(page, x: float, y: float, sample_id: int, timeout: float = 15000) -> float:
    """Move onto a point; seconds until the inspector shows that sample (its image loaded)."""
    start = time.perf_counter()
    page.mouse.move(x, y)
    page.wait_for_function(
        """id => { const e = document.querySelector('.ls-inspector-head');
                   if (!e || e.dataset.sampleId !== String(id)) return false;
                   const img = document.querySelector('.st-key-inspector img');
                   return !img || img.complete; }""", arg=sample_id, timeout=timeout, polling="raf")
    return time.perf_counter() - start


def box_over(page, count: int, offset: int = 0) -> tuple[list[float], int]:
    """A box (page coordinates: left, top, right, bottom) over the full height of the data map's plot
    area that holds about `count` of its points, the `offset`-th such box from the left edge (boxes
    overlap); returns it with how many points lie inside."""
    return page.evaluate(
        """([count, offset]) => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
            const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
            const top = box.top + ya._offset + 2, bottom = box.top + ya._offset + ya._length - 2;
            const xs = [];
            gd._fullData.forEach(tr => { if (!tr.customdata || tr.name === 'highlighted' || tr.name === 'pinned') return;
              for (let i = 0; i < tr.x.length; i++) { if (tr.x[i] === null) continue;
                const py = box.top + ya._offset + ya.l2p(tr.y[i]);
                if (py > top && py < bottom) xs.push(box.left + xa._offset + xa.l2p(tr.x[i])); } });
            xs.sort((a, b) => a - b);
            const first = Math.min(xs.length - 1, Math.floor(offset * count / 4));
            const last = Math.min(xs.length - 1, first + count - 1);
            const left = first === 0 ? box.left + xa._offset + 2 : (xs[first - 1] + xs[first]) / 2;
            const right = last === xs.length - 1 ? box.left + xa._offset + xa._length - 2 : (xs[last] + xs[last + 1]) / 2;
            const inside = xs.filter(x => x > left && x < right).length;
            return [[left, top, right, bottom], inside]; }""", [count, offset])


def ringed(page) -> int:
    """How many points the data map rings as selected (its 'highlighted' trace)."""
    return page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'highlighted') : null;
        return t ? t.x.length : 0; }""")


def drag(page, corners: list[tuple[float, float]], steps: int = 4) -> float:
    """Press at the first of `corners` (page coordinates), move through the others and release: a box
    (two corners, or through the middle) or a lasso (plotly closes it). Each move goes in `steps` mouse
    moves, as a hand's would: plotly draws the box or lasso from the moves it is sent. Returns
    time.perf_counter() just before the release, to time what answers it."""
    page.mouse.move(*corners[0])
    page.mouse.down()
    for x, y in corners[1:]:
        page.mouse.move(x, y, steps=steps)
    released = time.perf_counter()
    page.mouse.up()
    return released


def box_path(box: list[float]) -> list[tuple[float, float]]:
    """The corners `drag` takes for a box (left, top, right, bottom): top left, the middle, bottom right."""
    left, top, right, bottom = box
    return [(left, top), ((left + right) / 2, (top + bottom) / 2), (right, bottom)]


def select_box(page, count: int, offset: int = 0, timeout: float = 30000) -> tuple[int, float]:
    """Drag a box over about `count` points ("Drag to: box" chosen, the Selection tab open); returns how
    many the app selected and the seconds from the mouse's release until the Selection tab's summary
    counts them and the map rings exactly that many (a single map on the page)."""
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    box, _ = box_over(page, count, offset)
    before = page.evaluate(SUMMARY_JS)
    start = drag(page, box_path(box))
    handle = page.wait_for_function(
        """before => { const e = document.querySelector("[data-testid='selection-summary'] b");
                  if (!e || e.textContent === before) return false;
                  const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
                  const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'highlighted') : null;
                  const n = Number(e.textContent);
                  return !!t && t.x.length === n && document.querySelectorAll('.st-key-datamap .gtitle').length === 1 && n; }""",
        arg=before, timeout=timeout, polling="raf")
    seconds = time.perf_counter() - start
    return int(handle.json_value()), seconds


SUMMARY_JS = """() => { const e = document.querySelector("[data-testid='selection-summary'] b");
                        return e ? e.textContent : null; }"""


def clear_selection(page) -> None:
    """Press "Clear the selection" and wait until the summary is gone (so the next one is news)."""
    page.locator(".st-key-clear_selection button").click()
    page.wait_for_selector("[data-testid='selection-summary']", state="detached", timeout=30000)


def open_selection(page) -> None:
    """Choose "Drag to: box" and open the Selection tab."""
    page.locator(".st-key-drag_mode button", has_text="box").click()
    page.wait_for_function("() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');"
                           " return gd && gd._fullLayout && gd._fullLayout.dragmode === 'select'; }", timeout=30000)
    page.get_by_role("tab", name="Selection").click()
    page.wait_for_selector(".st-key-confusion_box .js-plotly-plot", timeout=60000)
    page.wait_for_timeout(500)


# points far from every other point, and from the "your image" star (a trace without sample ids, 20 px
# across, which plotly hovers instead of a point beneath it), so that the hover lands on the intended one
POINTS_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    if (!gd || !gd._fullLayout) return [];
    const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect(), pts = [], others = [];
    gd._fullData.forEach(tr => {
      for (let i = 0; i < tr.x.length; i++) {
        const at = [box.left + xa._offset + xa.l2p(tr.x[i]), box.top + ya._offset + ya.l2p(tr.y[i])];
        if (tr.customdata) pts.push([...at, Number(tr.customdata[i][0])]); else others.push(at); } });
    return pts.filter(p => pts.every(q => q === p || Math.hypot(p[0]-q[0], p[1]-q[1]) > 9) &&
                           others.every(q => Math.hypot(p[0]-q[0], p[1]-q[1]) > 16)).slice(0, 400); }"""
# the inspector shows the sample pinned, and the map rings that sample's own point (the ring is a layout
# shape named 'pinned'). Data coordinates, not pixels: two clicks within plotly's
# double-click delay reset the zoom, which moves every point on the screen.
PINNED_JS = """id => { const e = document.querySelector('.ls-inspector-head');
    if (!e || e.dataset.sampleId !== String(id) || !/pinned/.test(e.innerText)) return false;
    const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    if (!gd || !gd._fullLayout || !gd._fullData) return false;
    const shape = (gd.layout.shapes || []).find(s => s.name === 'pinned');
    if (!shape) return false;
    const at = [shape.xanchor, shape.yanchor];
    for (const t of gd._fullData) { if (!t.customdata) continue;
      for (let i = 0; i < t.x.length; i++) if (t.customdata[i] && Number(t.customdata[i][0]) === id)
        return Math.abs(t.x[i] - at[0]) < 1e-3 && Math.abs(t.y[i] - at[1]) < 1e-3; }
    return false; }"""


# The data map's pictures (app/map_pictures.py) show the points in view, each at its point: true (with
# how many) once the pictured sample ids are exactly those of the points in the plot's current ranges,
# each at its point's place, and the browser holds an <image> for each (a picture and its frame); with
# more points in view than `cap`, once there are none. The points of traces a legend click hid are not in
# view.
PICTURES_SHOWN_JS = """cap => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    if (!gd || !gd._fullLayout || !gd._fullData) return false;
    const fl = gd._fullLayout, [x0, x1] = fl.xaxis.range, [y0, y1] = fl.yaxis.range, inView = new Map();
    gd._fullData.forEach(t => { if (!t.customdata || t.name === 'highlighted' || t.visible !== true) return;
      for (let i = 0; i < t.x.length; i++) { const x = t.x[i], y = t.y[i];
        if (x != null && t.customdata[i] && x >= x0 && x <= x1 && y >= y0 && y <= y1)
          inView.set(Number(t.customdata[i][0]), [x, y]); } });
    const pictures = [...gd.querySelectorAll('.ls-pictures image')];
    if (pictures.length !== (inView.size <= cap ? inView.size : 0)) return false;
    // each picture centred on its point's place in the plot, as the axes stand now
    const placed = pictures.every(p => { const at = inView.get(Number(p.dataset.id));
      const cx = Number(p.getAttribute('x')) + Number(p.getAttribute('width')) / 2;
      const cy = Number(p.getAttribute('y')) + Number(p.getAttribute('height')) / 2;
      return at && Math.abs(fl.xaxis._offset + fl.xaxis.l2p(at[0]) - cx) < 0.5 &&
             Math.abs(fl.yaxis._offset + fl.yaxis.l2p(at[1]) - cy) < 0.5; });
    return placed && {pictured: pictures.length, inView: inView.size}; }"""


def wait_pictures(page, cap: int = 400, timeout: float = 30000) -> dict:
    """Wait until the data map pictures the points in view (PICTURES_SHOWN_JS); {pictured, inView}."""
    return page.wait_for_function(PICTURES_SHOWN_JS, arg=cap, timeout=timeout, polling="raf").json_value()


def picture_boxes(page) -> list[dict]:
    """The data map's pictures on the page: sample id and the picture's box (left, top, width, height)."""
    return page.evaluate("""() => [...document.querySelectorAll('.st-key-datamap .ls-pictures image')]
        .map(e => ({id: Number(e.dataset.id), box: e.getBoundingClientRect().toJSON()}))
        .map(p => ({id: p.id, left: p.box.left, top: p.box.top, width: p.box.width, height: p.box.height}))""")


def picture_frames(page) -> list[dict]:
    """The frames under the data map's pictures (app/map_pictures.js draws a square per picture, one SVG path
    per colour): each square's colour and box on the page."""
    return page.evaluate(r"""() => { const group = document.querySelector('.st-key-datamap .ls-frames');
        if (!group) return [];
        const svg = group.ownerSVGElement.getBoundingClientRect(), out = [];
        group.querySelectorAll('path').forEach(p => {
          for (const m of p.getAttribute('d').matchAll(/M([-\d.]+) ([-\d.]+)h([-\d.]+)v([-\d.]+)/g))
            out.push({colour: p.getAttribute('fill'), left: svg.left + Number(m[1]), top: svg.top + Number(m[2]),
                      width: Number(m[3]), height: Number(m[4])}); });
        return out; }""")


POINT_COLOURS_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot'), out = {};
    gd._fullData.forEach(t => { if (!t.customdata || t.name === 'highlighted' || typeof t.marker.color !== 'string') return;
      for (let i = 0; i < t.customdata.length; i++) if (t.customdata[i]) out[Number(t.customdata[i][0])] = t.marker.color; });
    return out; }"""


def wheel_zoom(page, x: float, y: float, steps: int = 10) -> None:
    """Zoom in on page point (x, y) with `steps` turns of the mouse wheel."""
    page.mouse.move(x, y)
    for _ in range(steps):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(30)
