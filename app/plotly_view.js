// The mounted plotly chart, drawn by app/plotly_view.py (components v2; data: traces, layout, src, height, config,
// clicks: whether a click on a point is sent to the server, as the trigger 'click'; selects: whether a box or
// lasso selection is, as the trigger 'select'; lead / afterLead: the page's main chart, and the charts that
// draw their first figure after it).
// plotly.js is loaded once per page (a script tag, window.Plotly) and shared by every such chart, by the one
// loader that the page's preload tag defines and starts among its first elements (plotly_preload.js,
// window.__lsLoadPlotly). Its script is an st.html element's, so a chart mounted first waits a moment for it;
// a page that never emitted it (app/plotly_view.py `preload`) shows why in the chart's place.
const LOADER_WAIT_MS = 10000;
const NO_PRELOAD = 'plotly.js is not loaded: plotly_view.preload() was not called on this page';
const loadPlotly = (src) => {
  if (window.__lsLoadPlotly) return window.__lsLoadPlotly(src);
  return new Promise((resolve, reject) => {
    const defined = () => { clearTimeout(timer); resolve(window.__lsLoadPlotly(src)); };
    const timer = setTimeout(() => {
      window.removeEventListener('ls-plotly-loader', defined);
      reject(new Error(NO_PRELOAD));
    }, LOADER_WAIT_MS);
    window.addEventListener('ls-plotly-loader', defined, {once: true});
  });
};

// A double click (config doubleClick 'reset') and the modebar's home return to the ranges plotly saved
// when it first drew the plot; an updated plot keeps those, so after a layer switch they would be another
// map's. A figure that declares new axis ranges makes them the ones to return to.
const keepRangesAsInitial = (gd, layout) => {
  const declared = Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k) && Array.isArray(layout[k].range));
  const ranges = JSON.stringify(declared.map((k) => [k, layout[k].range]));
  if (!gd._fullLayout || gd.__lsRanges === ranges) return;  // the same ranges: a zoom survives a pin
  gd.__lsRanges = ranges;
  declared.forEach((k) => {
    const axis = gd._fullLayout[k];
    if (!axis) return;
    [axis._rangeInitial0, axis._rangeInitial1] = layout[k].range;
    axis._autorangeInitial = false;
  });
};

// What a click sends: the clicked points' curve and point numbers, customdata and x / y, as plain JSON (a
// typed-array row becomes a list), a few points at most.
const MAX_POINTS = 8;
const plain = (v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
const clickedPoints = (ev) => Array.from((ev && ev.points) || []).slice(0, MAX_POINTS).map((p) => ({
  curveNumber: p.curveNumber, pointNumber: plain(p.pointNumber),
  customdata: p.customdata === undefined ? null : plain(p.customdata),
  x: p.x === undefined ? null : p.x, y: p.y === undefined ? null : p.y}));

// The click handler is bound once per plot (once per event emitter: a full redraw by plotly gives the plot
// a new one); it sends through the newest run's setTriggerValue, kept on the plot, since this script runs
// again on every rerun while the plot survives (one handler per run would send one click many times).
const bindClicks = (gd) => {
  if (!gd.__lsClicks || !gd._ev || typeof gd.on !== 'function' || gd.__lsClickEmitter === gd._ev) return;
  gd.__lsClickEmitter = gd._ev;
  gd.on('plotly_click', (ev) => {
    const points = clickedPoints(ev);
    if (points.length && gd.__lsClicks && gd.__lsSend) gd.__lsSend('click', points);
  });
};

// What a box or lasso selection sends: the selected points' ids (each point's customdata, or its first value:
// the data map's sample id), sorted, once each, and no per-point object: a map holds up to 50,000 points.
const MAX_SELECTED = 100000;
const idOf = (p) => {
  const c = p.customdata;
  const id = Number(c !== null && typeof c === 'object' ? c[0] : c);
  return c === undefined || c === null || !Number.isFinite(id) ? null : id;
};
const selectedIds = (ev) => {
  const ids = new Set();
  for (const p of (ev && ev.points) || []) {
    const id = idOf(p);
    if (id !== null) ids.add(id);
    if (ids.size >= MAX_SELECTED) break;
  }
  return Array.from(ids).sort((a, b) => a - b);
};

// A person's selection only: plotly also reports one when an updated plot re-applies, or drops, the last
// box (Plotly.react), and that must not replace the selection the page holds. A person's is drawn first
// (plotly_selecting); a person's "no selection" is a double click (plotly_deselect in select and lasso
// mode, plotly_doubleclick in pan or zoom), on either linked map, as Streamlit's chart resets its selection
// on one. A click on empty space selects nothing and sends nothing (plotly_selected without points), as there.
// A double click is known by its second press (a mousedown of detail 2): plotly reports the deselect on
// that press's mouseup, before the browser's dblclick event.
if (!window.__lsDoubleClickAt) {
  window.__lsDoubleClickAt = -1e9;
  document.addEventListener('mousedown', (e) => {
    if (e.detail >= 2) window.__lsDoubleClickAt = performance.now();
  }, true);
}
const bindSelects = (gd) => {
  if (!gd.__lsSelects || !gd._ev || typeof gd.on !== 'function' || gd.__lsSelectEmitter === gd._ev) return;
  gd.__lsSelectEmitter = gd._ev;
  const send = (ids) => { if (gd.__lsSelects && gd.__lsSend) gd.__lsSend('select', ids); };
  gd.on('plotly_selecting', () => { gd.__lsDrawing = true; });
  gd.on('plotly_selected', (ev) => {
    if (!gd.__lsDrawing) return;  // plotly's own, after an update
    gd.__lsDrawing = false;
    if (ev && ev.points) send(selectedIds(ev));
  });
  // one double click may report both (plotly_deselect, then plotly_doubleclick): one [] goes
  const cleared = () => {
    gd.__lsDrawing = false;
    const at = window.__lsDoubleClickAt;
    if (performance.now() - at < 1000 && gd.__lsClearedBy !== at) { gd.__lsClearedBy = at; send([]); }
  };
  gd.on('plotly_deselect', cleared);
  gd.on('plotly_doubleclick', cleared);
};

// A page's lead chart (data.lead: the data map) comes first at a first look: a chart beside it
// (data.afterLead) draws its first figure once the lead's is drawn and painted, or after LEAD_WAIT_MS,
// so that the browser shows the map without first drawing every chart in the same go.
const LEAD_WAIT_MS = 2000;
const leadDrawn = () => new Promise((resolve) => {
  if (window.__lsLeadDrawn) { resolve(); return; }
  const timer = setTimeout(resolve, LEAD_WAIT_MS);
  window.addEventListener('ls-lead-drawn', () => {
    clearTimeout(timer);
    requestAnimationFrame(() => setTimeout(resolve, 0));  // after the frame that paints the lead
  }, {once: true});
});
const leadIsDrawn = () => {
  if (window.__lsLeadDrawn) return;
  window.__lsLeadDrawn = true;
  window.dispatchEvent(new Event('ls-lead-drawn'));
};

export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  // This script runs on every rerun of the page; the div, and with it the plot, outlive the runs.
  let gd = parentElement.querySelector(':scope > .ls-plotly');
  if (!gd) {
    gd = document.createElement('div');
    gd.className = 'ls-plotly';
    gd.style.width = '100%';
    gd.style.minHeight = data.height + 'px';
    parentElement.appendChild(gd);
  }
  // plotly's `responsive` follows the window only; the column also changes width by itself (the sidebar
  // folding, the page's layout settling): the plot follows its own div, once per plot.
  if (!gd.__lsResize && window.ResizeObserver) {
    let frame = null;
    gd.__lsResize = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        // a hidden plot (its page being replaced, a tab not shown) has no width to follow
        const drawn = gd._fullLayout && gd._fullLayout.width, shown = gd.isConnected && gd.offsetParent !== null;
        if (window.Plotly && drawn && shown && gd.clientWidth > 0 && Math.abs(gd.clientWidth - drawn) > 1)
          window.Plotly.Plots.resize(gd).catch(() => {});
      });
    });
    gd.__lsResize.observe(gd);
  }
  gd.__lsSend = data.clicks || data.selects ? setTriggerValue : null;
  gd.__lsClicks = !!data.clicks;
  gd.__lsSelects = !!data.selects;
  const drawn = gd.__lsDrawn || {};
  if (drawn.traces === data.traces && drawn.layout === data.layout) return;  // as drawn: nothing to do
  // Traces as drawn are handed back as the same objects: plotly then sees only the layout change (a
  // pinned ring is a layout shape) and redraws that, not every point.
  const traces = drawn.traces === data.traces ? drawn.parsed : JSON.parse(data.traces);
  gd.__lsDrawn = {traces: data.traces, layout: data.layout, parsed: traces};
  const waitForLead = !!data.afterLead && !gd._fullLayout && !window.__lsLeadDrawn;
  loadPlotly(data.src).then((Plotly) => (waitForLead ? leadDrawn().then(() => Plotly) : Plotly)).then((Plotly) => {
    if (gd.__lsDrawn.parsed !== traces || gd.__lsDrawn.layout !== data.layout) return;  // a newer one came
    const layout = JSON.parse(data.layout);
    // the map's pictures (app/map_pictures.js, drawn by it over the plot) set the hover distance of every
    // redraw of the map they were made for, but not of its first draw: the points show first, and the
    // pictures' own tick draws them over the drawn plot a moment later
    const pictures = window.__lsMapPictures, firstDraw = !gd._fullLayout;
    const withPictures = !firstDraw && !!pictures && !!layout.meta && pictures.map === layout.meta.map;
    if (withPictures) Object.assign(layout, pictures.layout(gd));
    gd.__lsPicturesShown = withPictures ? pictures.key(gd) : null;
    // plotly writes a selection's points into the traces it was given (selectedpoints: the others dimmed),
    // which may be handed back as they are; a new selectionrevision says to drop the selection
    if (gd.layout && gd.layout.selectionrevision !== layout.selectionrevision)
      traces.forEach((trace) => { delete trace.selectedpoints; });
    return Plotly.react(gd, traces, layout, data.config).then(() => {
      keepRangesAsInitial(gd, layout);
      bindClicks(gd);
      bindSelects(gd);
      if (data.lead) leadIsDrawn();
    });
  }).catch((error) => {
    gd.textContent = String(error && error.message || error);
    gd.__lsDrawn = null;
  });
}
