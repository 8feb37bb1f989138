// The data map's event bridge, mounted by app/plot_bridge.py (components v2; data.selector names the chart).
// A sweep of the pointer across many points sends one hover at a time: while the run that answers the
// last one is on its way, only the newest point waits, and it goes once the inspector shows the sample
// sent (ANSWER's data-sample-id) or after IN_FLIGHT_MS at most. So a sweep costs the server and the
// browser one or two inspector runs, not one per point crossed (each a rerun interrupting the last).
const IN_FLIGHT_MS = 1000;
// A hover the inspector has not shown after RESEND_MS, with the pointer still on that point, is sent once
// more: under load Streamlit can lose a fragment run's output, or the message itself.
const RESEND_MS = 1500;
// A click the inspector has not shown pinned after CLICK_RESEND_MS is sent once more, for the same reason.
const CLICK_RESEND_MS = 2500;
const ANSWER = '.ls-inspector-head';

export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  const selector = data.selector;
  // This script runs again on every rerun of the inspector (every hover), while the element and the
  // plot survive: what must outlive one run (the last id sent, the timers, the handlers bound to the
  // plot) lives on the element, and each run replaces the previous run's, so plotly calls one handler.
  const mine = parentElement.__lsBridge = parentElement.__lsBridge || {last: null, timer: null, unhover: null};
  const idOf = (ev) => {
    const p = ev && ev.points && ev.points[0];
    if (!p || p.customdata === undefined || p.customdata === null) return null;
    // the data map's customdata is a row (a typed array) whose first value is the sample id
    const id = Number(typeof p.customdata === 'object' ? p.customdata[0] : p.customdata);
    return Number.isFinite(id) ? id : null;
  };
  // the same point on another map (a new layer or method) is news again
  const mapOf = () => { const gd = document.querySelector(selector);
                        return gd && gd.layout && gd.layout.title ? String(gd.layout.title.text) : ''; };

  if (!('pending' in mine)) Object.assign(mine, {sentAt: 0, sentId: null, pending: null, flush: null});
  mine.trigger = setTriggerValue;  // the timers below outlive this run: they send through the newest run's
  const shows = (id) => { const shown = document.querySelector(ANSWER);
                          return !!shown && shown.dataset.sampleId === String(id); };
  const answered = () => !mine.sentAt || performance.now() - mine.sentAt > IN_FLIGHT_MS || shows(mine.sentId);
  const send = (id, again = false) => {
    mine.sentAt = performance.now();
    mine.sentId = id;
    window.__lsHoverAt = mine.sentAt;
    window.__lsHoverId = id;
    window.__lsHoversSent = (window.__lsHoversSent || 0) + 1;
    mine.trigger('hover', id);
    clearTimeout(mine.resend);
    if (!again) mine.resend = setTimeout(() => {
      const resting = mine.pending === null && mine.last !== null && mine.last.startsWith(id + ' @ ');
      if (mine.sentId === id && resting && !shows(id)) send(id, true);
    }, RESEND_MS);
  };
  const sendWhenAnswered = () => {
    clearInterval(mine.flush);
    mine.flush = setInterval(() => {
      if (mine.pending !== null && !answered()) return;
      clearInterval(mine.flush);
      if (mine.pending === null) return;
      const next = mine.pending;
      mine.pending = null;
      send(next);
    }, 30);
  };

  const onHover = (ev) => {
    const id = idOf(ev);
    clearTimeout(mine.unhover);
    if (id === null) return;
    const seen = id + ' @ ' + mapOf();
    if (seen === mine.last) return;
    mine.last = seen;
    if (!answered()) {  // a run is on its way: the newest point waits for it
      mine.pending = id;
      sendWhenAnswered();
      return;
    }
    mine.pending = null;
    send(id);
  };
  // leaving a point: report "no hover" unless the pointer lands on another point right away (moving
  // from one point to the next fires unhover then hover)
  const onUnhover = () => {
    clearTimeout(mine.unhover);
    mine.unhover = setTimeout(() => {
      mine.pending = null;
      if (mine.last === null) return;
      mine.last = null;
      mine.trigger('unhover', true);
    }, 150);
  };
  // A click reports the point plotly last hovered. Right after the plot is redrawn (a pin, a new layer),
  // or when the pointer jumps and clicks at once, plotly may not have hovered the point under the pointer
  // yet (its hover is throttled) and reports the previous one. So the click goes to the point under the
  // pointer: plotly's when it lies there, else the nearest drawn point within NEAR_PX, else none. Where the
  // points are drawn as pictures (app/map_pictures.py), the layout's hover distance covers a picture: a click
  // anywhere on one reaches its point.
  const NEAR_PX = 12;
  const reach = (gd) => (gd.querySelector('.ls-pictures image') ?
                         Math.max(NEAR_PX, Number(gd._fullLayout.hoverdistance) || 0) : NEAR_PX);
  const screenOf = (gd) => {
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    return [(x) => box.left + xa._offset + xa.l2p(x), (y) => box.top + ya._offset + ya.l2p(y)];
  };
  const pointUnder = (gd, cx, cy) => {
    const [sx, sy] = screenOf(gd);
    let best = null, bestD = reach(gd);
    gd._fullData.forEach((t) => {
      if (t.visible !== true || !t.customdata || !t.x || !t.y) return;
      for (let i = 0; i < t.x.length; i++) {
        const d = Math.hypot(sx(t.x[i]) - cx, sy(t.y[i]) - cy);
        if (d < bestD) { bestD = d; best = {customdata: t.customdata[i]}; }
      }
    });
    return best === null ? null : idOf({points: [best]});
  };
  const pinnedShown = (id) => { const how = shows(id) && document.querySelector(ANSWER + ' .ls-how');
                                return !!how && how.textContent === 'pinned'; };
  const sendClick = (id, again = false) => {
    mine.trigger('click', id);
    clearTimeout(mine.clickResend);
    if (!again) mine.clickResend = setTimeout(() => { if (!pinnedShown(id)) sendClick(id, true); }, CLICK_RESEND_MS);
  };
  const onClick = (ev) => {
    const id = idOf(ev), gd = document.querySelector(selector), p = ev && ev.points && ev.points[0];
    mine.plotlyClickAt = performance.now();
    if (id === null) return;
    if (!ev.event || !gd || !gd._fullLayout || !gd._fullData || typeof p.x !== 'number') {
      sendClick(id);
      return;
    }
    const [sx, sy] = screenOf(gd), cx = ev.event.clientX, cy = ev.event.clientY;
    const chosen = Math.hypot(sx(p.x) - cx, sy(p.y) - cy) < reach(gd) ? id : pointUnder(gd, cx, cy);
    if (chosen !== null) sendClick(chosen);
  };
  // plotly reports no click when it holds no hovered point as the button comes up: under load its hover,
  // deferred by its throttle, can end in an unhover while the button is down. A click that did not move,
  // inside the plot area, with no plotly_click, goes to the point under the pointer.
  const onDomDown = (e) => { mine.down = [e.clientX, e.clientY, performance.now()]; };
  const onDomClick = (e) => {
    const down = mine.down;
    mine.down = null;
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 3) return;  // a drag, not a click
    if ((mine.plotlyClickAt || 0) >= down[2]) return;  // plotly reported this one
    const gd = document.querySelector(selector);
    if (!gd || !gd._fullLayout || !gd._fullData || !gd._fullLayout.xaxis) return;
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    const x = e.clientX - box.left - xa._offset, y = e.clientY - box.top - ya._offset;
    if (x < 0 || y < 0 || x > xa._length || y > ya._length) return;  // the legend, the mode bar: no point
    const id = pointUnder(gd, e.clientX, e.clientY);
    if (id !== null) sendClick(id);
  };
  // A box or lasso selection: only the selected sample ids cross to the server (Streamlit's own on_select
  // would send every point's fields, megabytes for 10,000 points). Only a person's: plotly also reports
  // a selection when the mounted plot is updated (it re-applies, or drops, the last box), and that one
  // must not replace the selection the page holds. A person's is drawn first (plotly_selecting), and a
  // person's "no selection" is a double click.
  if (!window.__lsDoubleClick) {
    window.__lsDoubleClick = -1e9;
    document.addEventListener('dblclick', () => { window.__lsDoubleClick = performance.now(); }, true);
  }
  const onSelecting = () => { mine.drawing = true; };
  const onSelected = (ev) => {
    if (!mine.drawing) return;  // plotly's own, after an update
    mine.drawing = false;
    if (!ev || !ev.points) return;  // a drag that selected nothing
    const ids = new Set();
    ev.points.forEach(p => { if (p.data && p.data.name === 'highlighted') return;
                             const id = idOf({points: [p]}); if (id !== null) ids.add(id); });
    setTriggerValue('select', Array.from(ids).sort((a, b) => a - b));
  };
  const onDeselect = () => {
    mine.drawing = false;
    if (performance.now() - window.__lsDoubleClick < 1000) setTriggerValue('select', []);
  };
  const handlers = {plotly_hover: onHover, plotly_unhover: onUnhover, plotly_click: onClick,
                    plotly_selecting: onSelecting, plotly_selected: onSelected, plotly_deselect: onDeselect};
  // The plot may outlive many figures (app/plotly_view.py updates it in place), and a full redraw
  // gives it a new event emitter (gd._ev) without our handlers: bound means bound to today's emitter.
  const dom = {mousedown: onDomDown, click: onDomClick};
  const unbind = (gd) => {
    if (!gd || !gd.__lsHandlers) return;
    if (gd.__lsEmitter === gd._ev && gd.removeListener)
      Object.entries(gd.__lsHandlers).forEach(([name, fn]) => gd.removeListener(name, fn));
    Object.entries(gd.__lsDom || {}).forEach(([name, fn]) => gd.removeEventListener(name, fn, true));
    gd.__lsHandlers = null;
    gd.__lsEmitter = null;
    gd.__lsDom = null;
  };
  const bind = () => {
    const gd = document.querySelector(selector);
    if (!gd || !gd._ev || typeof gd.on !== 'function') return;
    if (gd.__lsHandlers === handlers && gd.__lsEmitter === gd._ev) return;
    unbind(gd);
    Object.entries(handlers).forEach(([name, fn]) => gd.on(name, fn));
    Object.entries(dom).forEach(([name, fn]) => gd.addEventListener(name, fn, true));
    gd.__lsHandlers = handlers;
    gd.__lsDom = dom;
    gd.__lsEmitter = gd._ev;
    // once a page: the map is drawn, so the server may start work that would have slowed the first draw
    if (!window.__lsMapDrawnSent) { window.__lsMapDrawnSent = true; setTriggerValue('drawn', true); }
  };
  // A new plot (another layer, a pin) must be bound as soon as plotly draws it: a hover in the first
  // moments would otherwise be lost, and the pointer resting on that point sends no second one. So the
  // page's mutations bind it at once; the poll is a fallback.
  clearInterval(mine.timer);
  if (mine.observer) mine.observer.disconnect();
  bind();
  mine.timer = setInterval(bind, 200);
  mine.observer = new MutationObserver(bind);
  mine.observer.observe(document.body, {childList: true, subtree: true});
  const timer = mine.timer, observer = mine.observer;
  return () => {
    if (mine.timer !== timer) return;  // a later run has taken over
    clearInterval(timer);
    observer.disconnect();
    unbind(document.querySelector(selector));
  };
}
