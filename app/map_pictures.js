// Pictures on the data map, mounted by app/map_pictures.py (components v2; data: selector, map, layout, size).
// Server to browser: `layout` ({images, hoverdistance}, as JSON) is what the map named `map` (its layout's
// meta.map) adds to draw its visible points as pictures, sized for a plot area of `size` pixels; applied
// with Plotly.relayout, and kept in window.__lsMapPictures so that app/plotly_view.js adds it to every
// later Plotly.react of that map.
// Browser to server: when a zoom or pan ends (plotly_relayout changing an axis), the trigger `view`
// carries the map, its visible x and y ranges and the plot area's size in pixels.
const RANGE_CHANGE = /^[xy]axis\d*(\.(range|autorange)(\[\d\])?)?$/;

const mapOf = (gd) => (gd && gd.layout && gd.layout.meta && gd.layout.meta.map) || null;

export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  // This script runs again on every rerun of its fragment; what outlives a run lives on the element.
  const mine = parentElement.__lsPictures = parentElement.__lsPictures || {lastSent: null, timer: null};
  mine.send = setTriggerValue;
  window.__lsMapPictures = {map: data.map, layout: data.layout};

  const apply = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !window.Plotly || !gd._fullLayout || mapOf(gd) !== data.map) return;  // plotly_view adds it
    if (gd.__lsPicturesShown === data.layout) return;
    gd.__lsPicturesShown = data.layout;
    window.Plotly.relayout(gd, JSON.parse(data.layout)).catch(() => { gd.__lsPicturesShown = null; });
  };

  const report = () => {
    const gd = document.querySelector(data.selector);
    const fl = gd && gd._fullLayout, map = mapOf(gd);
    if (!fl || !fl.xaxis || !fl.yaxis || !map) return;
    const view = {map, x: fl.xaxis.range.map(Number), y: fl.yaxis.range.map(Number),
                  width: Math.round(fl.xaxis._length), height: Math.round(fl.yaxis._length)};
    const key = JSON.stringify(view);
    if (key === mine.lastSent) return;
    mine.lastSent = key;
    mine.send('view', view);
  };
  // the plot's handler, bound once, calls the newest run's
  mine.onRelayout = (changed) => {
    if (changed && Object.keys(changed).some((k) => RANGE_CHANGE.test(k))) report();  // not pictures, shapes
  };
  // pictures sized for another plot size (the server's guess before the first report, a resized
  // window): the plot reports its own, and the pictures come back sized for it
  const checkSize = () => {
    const gd = document.querySelector(data.selector), fl = gd && gd._fullLayout;
    if (!data.size || !fl || !fl.xaxis || mapOf(gd) !== data.map || gd.__lsPicturesShown !== data.layout) return;
    const off = (drawn, meant) => Math.abs(drawn - meant) > 0.1 * meant;
    if (off(fl.xaxis._length, data.size[0]) || off(fl.yaxis._length, data.size[1])) report();
  };

  // bound once to the plot's event emitter of the day (a full redraw gives the plot a new one)
  const bind = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !gd._ev || typeof gd.on !== 'function' || gd.__lsPicturesEmitter === gd._ev) return;
    gd.__lsPicturesEmitter = gd._ev;
    gd.on('plotly_relayout', (changed) => mine.onRelayout(changed));
  };
  clearInterval(mine.timer);
  const tick = () => { bind(); apply(); checkSize(); };
  tick();
  mine.timer = setInterval(tick, 250);
  const timer = mine.timer;
  return () => { if (mine.timer === timer) clearInterval(timer); };
}
