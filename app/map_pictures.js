// Pictures on the data map, mounted by app/map_pictures.py (components v2; data: selector, map, layout,
// thumbs, generation, size).
// Server to browser: `layout` (as JSON: pictures [id, x, y, colour index, selected], colours, size, frame,
// hoverdistance) says how the map named `map` (its layout's meta.map) draws its visible points, sized for
// a plot area of `size` pixels; `thumbs` are the thumbnails (base64 WebP by sample id) this page has not
// had yet: it keeps them (window.__lsThumbs, dropped when `generation` changes). Each picture becomes a
// plotly layout image, its thumbnail, over a square of its colour a little larger (drawFrames); applied with
// Plotly.relayout, and kept in window.__lsMapPictures so that app/plotly_view.js adds them to every later
// Plotly.react of that map.
// The points of a trace hidden by a click on the legend are not pictured: left out here at once, and the
// server told (so that they do not count against its cap).
// Browser to server: when a zoom or pan ends (plotly_relayout changing an axis) or the legend hides or
// shows a trace, the trigger `view` carries the map, its visible x and y ranges, the plot area's size in
// pixels and the names of the hidden traces; `missing`, the ids of pictures whose thumbnails this page
// lacks.
// Performance marks (benchmarks/browser_latency.py reads them): `ls-pictures:zoomed` a zoom or pan ends,
// `:reported` the view is sent, `:received` the server's answer runs this script, `:relayout` the
// pictures go to plotly, `:drawn` plotly has drawn them.
const RANGE_CHANGE = /^[xy]axis\d*(\.(range|autorange)(\[\d\])?)?$/;
const mark = (name) => { if (window.performance && performance.mark) performance.mark('ls-pictures:' + name); };

// The frames: one SVG path per colour (a square per picture, a little larger than it, in the plot's
// pixels) in plotly's upper image layer, under the thumbnails and clipped like them. Plotly redraws its
// layout images at every zoom, pan step and redraw, each clipped on its own: frames as layout images
// doubled that work. The frames follow the images plotly shows: each image's frame is looked up by
// sample id in gd.__lsFrames (set with the images by pictureLayout).
const SVG = 'http://www.w3.org/2000/svg', SELECTED = '#ffffff';  // a selected point's frame: over the others
const drawFrames = (gd) => {
  const fl = gd && gd._fullLayout, layer = fl && fl._imageUpperLayer && fl._imageUpperLayer.node();
  if (!layer || !fl.xaxis || !fl.yaxis) return;
  let group = layer.querySelector(':scope > g.ls-frames');
  const xa = fl.xaxis, ya = fl.yaxis, frames = gd.__lsFrames || new Map(), paths = new Map();
  (fl.images || []).forEach((image) => {
    const frame = image.visible !== false && frames.get(Number(image.name));
    if (!frame) return;
    const [x, y, sx, sy, outer, colour] = frame;
    const cx = xa._offset + xa.l2p(x), cy = ya._offset + ya.l2p(y);
    const w = Math.abs(xa.l2p(sx) - xa.l2p(0)), h = Math.abs(ya.l2p(sy) - ya.l2p(0));
    const ow = w * outer, oh = h * outer;
    const square = `M${(cx - ow / 2).toFixed(1)} ${(cy - oh / 2).toFixed(1)}h${ow.toFixed(1)}v${oh.toFixed(1)}` +
      `h${(-ow).toFixed(1)}Z`;
    paths.set(colour, (paths.get(colour) || '') + square);
  });
  if (!paths.size) { if (group) group.remove(); return; }
  if (paths.has(SELECTED)) { const d = paths.get(SELECTED); paths.delete(SELECTED); paths.set(SELECTED, d); }
  if (!group) {
    group = document.createElementNS(SVG, 'g');
    group.setAttribute('class', 'ls-frames');
    group.setAttribute('pointer-events', 'none');
  }
  if (layer.firstChild !== group) layer.insertBefore(group, layer.firstChild);  // under the thumbnails
  const clip = `url(#clip${fl._uid}xy)`;
  if (group.getAttribute('clip-path') !== clip) group.setAttribute('clip-path', clip);
  while (group.childNodes.length > paths.size) group.lastChild.remove();
  let i = 0;
  paths.forEach((d, colour) => {
    const path = group.childNodes[i++] || group.appendChild(document.createElementNS(SVG, 'path'));
    if (path.getAttribute('fill') !== colour) path.setAttribute('fill', colour);
    if (path.getAttribute('d') !== d) path.setAttribute('d', d);  // unchanged: nothing to paint again
  });
};

// the traces of the plot that a legend click hid (those with points: sample ids in customdata)
const hiddenTraces = (gd) => ((gd && gd._fullData) || []).filter((t) => t.visible !== true && t.customdata);
const hiddenNames = (gd) => hiddenTraces(gd).map((t) => String(t.name)).sort();

// the sample ids of the hidden traces' points
const hiddenIds = (gd) => {
  const ids = new Set();
  hiddenTraces(gd).forEach((t) => { for (let i = 0; i < t.customdata.length; i++) {
    const row = t.customdata[i];
    if (row != null) ids.add(Number(row[0] !== undefined ? row[0] : row));
  } });
  return ids;
};

const pictureLayout = (sent, gd) => {
  const thumbs = window.__lsThumbs ? window.__lsThumbs.thumbs : new Map(), images = [];
  const hidden = hiddenIds(gd);
  const [sx, sy] = sent.size;
  const frames = new Map();
  sent.pictures.forEach(([id, x, y, colour, selected]) => {
    const thumb = thumbs.get(id);
    if (!thumb || hidden.has(id)) return;
    const grow = 1 + 2 * sent.frame * (selected ? 2 : 1);
    frames.set(id, [x, y, sx, sy, grow, selected ? SELECTED : sent.colours[colour]]);
    images.push({source: 'data:image/webp;base64,' + thumb, name: String(id), x, y, sizex: sx, sizey: sy,
                 xref: 'x', yref: 'y', xanchor: 'center', yanchor: 'middle', sizing: 'contain', layer: 'above'});
  });
  gd.__lsFrames = frames;  // drawn by drawFrames once plotly has drawn the images
  return {images, hoverdistance: sent.hoverdistance};
};

const mapOf = (gd) => (gd && gd.layout && gd.layout.meta && gd.layout.meta.map) || null;

export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  // This script runs again on every rerun of its fragment; what outlives a run lives on the element.
  mark('received');
  const mine = parentElement.__lsPictures = parentElement.__lsPictures || {lastSent: null, timer: null};
  mine.send = setTriggerValue;
  const kept = window.__lsThumbs && window.__lsThumbs.generation === data.generation ? window.__lsThumbs
    : (window.__lsThumbs = {generation: data.generation, thumbs: new Map()});
  Object.entries(data.thumbs || {}).forEach(([id, b64]) => kept.thumbs.set(Number(id), b64));
  // thumbnails the server counts as sent that this page lacks (an update it never drew): asked for again
  const missing = JSON.parse(data.layout).pictures.map((p) => p[0]).filter((id) => !kept.thumbs.has(id));
  if (missing.length && JSON.stringify(missing) !== mine.lastMissing) {
    mine.lastMissing = JSON.stringify(missing);
    setTriggerValue('missing', missing);
  }
  // what is drawn: these pictures, with as many thumbnails as the page holds, less the hidden traces'
  const base = data.layout + '|' + missing.length;
  const keyOf = (gd) => base + '|' + hiddenNames(gd).join('\u0000');
  window.__lsMapPictures = {map: data.map, key: keyOf, layout: (gd) => pictureLayout(JSON.parse(data.layout), gd)};

  const apply = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !window.Plotly || !gd._fullLayout || mapOf(gd) !== data.map) return;  // plotly_view adds it
    const key = keyOf(gd);
    if (gd.__lsPicturesShown === key) return;
    gd.__lsPicturesShown = key;
    mark('relayout');
    window.Plotly.relayout(gd, window.__lsMapPictures.layout(gd))
      .then(() => { drawFrames(gd); mark('drawn'); }).catch(() => { gd.__lsPicturesShown = null; });
  };

  const report = () => {
    const gd = document.querySelector(data.selector);
    const fl = gd && gd._fullLayout, map = mapOf(gd);
    if (!fl || !fl.xaxis || !fl.yaxis || !map) return;
    const view = {map, x: fl.xaxis.range.map(Number), y: fl.yaxis.range.map(Number),
                  width: Math.round(fl.xaxis._length), height: Math.round(fl.yaxis._length),
                  hidden: hiddenNames(gd)};
    const reported = JSON.stringify(view);
    if (reported === mine.lastSent) return;
    mine.lastSent = reported;
    mark('reported');
    mine.send('view', view);
  };
  // the plot's handler, bound once, calls the newest run's
  mine.onRelayout = (changed) => {
    if (changed && Object.keys(changed).some((k) => RANGE_CHANGE.test(k))) {  // not pictures, shapes
      mark('zoomed');
      report();
    }
  };
  mine.onRestyle = () => { apply(); report(); };  // a legend click: the pictures of what it hid go at once
  // pictures sized for another plot size (the server's guess before the first report, a resized
  // window): the plot reports its own, and the pictures come back sized for it
  const checkSize = () => {
    const gd = document.querySelector(data.selector), fl = gd && gd._fullLayout;
    if (!data.size || !fl || !fl.xaxis || mapOf(gd) !== data.map || gd.__lsPicturesShown !== keyOf(gd)) return;
    const off = (drawn, meant) => Math.abs(drawn - meant) > 0.1 * meant;
    if (off(fl.xaxis._length, data.size[0]) || off(fl.yaxis._length, data.size[1])) report();
  };

  // bound once to the plot's event emitter of the day (a full redraw gives the plot a new one)
  const bind = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !gd._ev || typeof gd.on !== 'function' || gd.__lsPicturesEmitter === gd._ev) return;
    gd.__lsPicturesEmitter = gd._ev;
    gd.on('plotly_relayout', (changed) => { drawFrames(gd); mine.onRelayout(changed); });
    gd.on('plotly_restyle', () => mine.onRestyle());
    // the frames follow the images through a drag (plotly redraws them at each step) and any redraw
    gd.on('plotly_relayouting', () => drawFrames(gd));
    gd.on('plotly_afterplot', () => drawFrames(gd));
  };
  // traces hidden otherwise than by a click (plotly keeping a legend's choice across a redraw): reported
  const checkHidden = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !gd._fullData || mapOf(gd) !== data.map) return;
    const names = JSON.stringify(hiddenNames(gd));
    if (mine.lastHidden !== undefined && names !== mine.lastHidden) report();
    mine.lastHidden = names;
  };
  clearInterval(mine.timer);
  const tick = () => {
    bind(); apply(); checkSize(); checkHidden();
    drawFrames(document.querySelector(data.selector));
  };
  tick();
  mine.timer = setInterval(tick, 250);
  const timer = mine.timer;
  return () => { if (mine.timer === timer) clearInterval(timer); };
}
