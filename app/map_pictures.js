// Pictures on the data map, mounted by app/map_pictures.py (components v2; data: selector, map, layout,
// thumbs, generation, size).
// Server to browser: `layout` (as JSON: pictures [id, x, y, colour index, selected], colours, size, frame,
// hoverdistance) says how the map named `map` (its layout's meta.map) draws its visible points, sized for
// a plot area of `size` pixels; `thumbs` are the thumbnails (base64 WebP by sample id) this page has not
// had yet: it keeps them (window.__lsThumbs, dropped when `generation` changes). Each picture is its
// thumbnail over a square of its colour a little larger, drawn over the plot by drawPictures; what to draw
// is kept in window.__lsMapPictures so that app/plotly_view.js sets it (and the hover distance) with every
// later Plotly.react of that map.
// The points of a trace hidden by a click on the legend are not pictured: left out here at once, and the
// server told (so that they do not count against its cap).
// Browser to server: when a zoom or pan ends (plotly_relayout changing an axis) or the legend hides or
// shows a trace, the trigger `view` carries the map, its visible x and y ranges, the plot area's size in
// pixels and the names of the hidden traces; `missing`, the ids of pictures whose thumbnails this page
// lacks.
// Performance marks (benchmarks/browser_latency.py reads them): `ls-pictures:zoomed` a zoom or pan ends,
// `:reported` the view is sent, `:received` the server's answer runs this script, `:layout` the
// pictures are laid out, `:drawn` they are in the page.
const RANGE_CHANGE = /^[xy]axis\d*(\.(range|autorange)(\[\d\])?)?$/;
const RESEND_MS = 1500;  // a report unanswered this long is sent again
const mark = (name) => { if (window.performance && performance.mark) performance.mark('ls-pictures:' + name); };

// The pictures are drawn here, not as plotly layout images: plotly runs its defaults over the whole figure
// and redraws every layout image, each clipped on its own, at each relayout (a zoom, each step of a pan,
// the pictures themselves): about half of a zoom's time once the server answered. Here they are a group
// of our own in the plot's upper layer, above the points and under the shapes (the pinned ring, the
// uploaded image's star), clipped to the plot once: an SVG image per thumbnail, kept by sample id (its
// picture is decoded once while it stays in view) and only moved at a zoom, and under them one SVG path
// per colour holding a square a little larger per picture: the frames.
// gd.__lsPictureList ({key, pictures: [{id, x, y, href, outer, colour}], size}) says what to draw, set by
// pictureLayout with its key (gd.__lsPicturesShown): the pictures of another map or an older answer are
// never drawn.
const SVG = 'http://www.w3.org/2000/svg', SELECTED = '#ffffff';  // a selected point's frame: over the others
const drawPictures = (gd) => {
  const fl = gd && gd._fullLayout, above = fl && fl._imageUpperLayer && fl._imageUpperLayer.node();
  if (!above || !above.parentNode || !fl.xaxis || !fl.yaxis) return;
  const list = gd.__lsPictureList, pictures = list && list.key === gd.__lsPicturesShown ? list.pictures : [];
  let group = above.parentNode.querySelector(':scope > g.ls-pictures');
  if (!pictures.length) { if (group) group.remove(); return; }
  if (!group) {
    group = document.createElementNS(SVG, 'g');
    group.setAttribute('class', 'ls-pictures');
    group.setAttribute('pointer-events', 'none');  // plotly's hover and click find the points beneath
    group.appendChild(document.createElementNS(SVG, 'g')).setAttribute('class', 'ls-frames');
  }
  if (above.nextSibling !== group) above.parentNode.insertBefore(group, above.nextSibling);
  const clip = `url(#clip${fl._uid}xy)`;
  if (group.getAttribute('clip-path') !== clip) group.setAttribute('clip-path', clip);
  // square pictures: the size in data units maps to the same pixels on both axes only where the plot is
  // as large as the server assumed and zoomed alike on both (not before the first report, after a resize
  // or a box zoom); the smaller side keeps them as far apart as the server planned
  const xa = fl.xaxis, ya = fl.yaxis, [sx, sy] = list.size;
  const side = Math.min(Math.abs(xa.l2p(sx) - xa.l2p(0)), Math.abs(ya.l2p(sy) - ya.l2p(0)));
  const framesGroup = group.firstChild, paths = new Map(), kept = new Map();
  for (let node = framesGroup.nextSibling; node; node = node.nextSibling) kept.set(node.__lsId, node);
  const order = pictures.map((p) => p.id).join(',');
  pictures.forEach((p) => {
    const cx = xa._offset + xa.l2p(p.x), cy = ya._offset + ya.l2p(p.y), outer = side * p.outer;
    paths.set(p.colour, (paths.get(p.colour) || '') + `M${(cx - outer / 2).toFixed(1)} ${(cy - outer / 2).toFixed(1)}` +
      `h${outer.toFixed(1)}v${outer.toFixed(1)}h${(-outer).toFixed(1)}Z`);
    let image = kept.get(p.id);
    if (!image) {
      image = document.createElementNS(SVG, 'image');
      image.__lsId = p.id;
      image.setAttribute('data-id', String(p.id));
      image.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    }
    kept.delete(p.id);
    if (image.__lsHref !== p.href) { image.setAttribute('href', p.href); image.__lsHref = p.href; }
    const box = [(cx - side / 2).toFixed(1), (cy - side / 2).toFixed(1), side.toFixed(1), side.toFixed(1)];
    if (image.__lsBox !== box.join()) {  // unmoved (the plot's tick redraws): nothing to paint again
      image.__lsBox = box.join();
      ['x', 'y', 'width', 'height'].forEach((name, k) => image.setAttribute(name, box[k]));
    }
    if (!image.parentNode) group.appendChild(image);
  });
  kept.forEach((image) => image.remove());
  if (group.__lsOrder !== order) {  // the pinned and the selected last, on top of their neighbours
    group.__lsOrder = order;
    const byId = new Map();
    for (let node = framesGroup.nextSibling; node; node = node.nextSibling) byId.set(node.__lsId, node);
    pictures.forEach((p) => group.appendChild(byId.get(p.id)));
  }
  if (paths.has(SELECTED)) { const d = paths.get(SELECTED); paths.delete(SELECTED); paths.set(SELECTED, d); }
  while (framesGroup.childNodes.length > paths.size) framesGroup.lastChild.remove();
  let i = 0;
  paths.forEach((d, colour) => {
    const path = framesGroup.childNodes[i++] || framesGroup.appendChild(document.createElementNS(SVG, 'path'));
    if (path.getAttribute('fill') !== colour) path.setAttribute('fill', colour);
    if (path.getAttribute('d') !== d) path.setAttribute('d', d);
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

// What draws `sent` (the server's layout) on gd: the list drawPictures draws, and the hover distance that
// lets a picture's whole square hover and click its point (set on the plot as it stands, no relayout).
const pictureLayout = (sent, gd, key) => {
  const thumbs = window.__lsThumbs ? window.__lsThumbs.thumbs : new Map(), pictures = [];
  const hidden = hiddenIds(gd);
  sent.pictures.forEach(([id, x, y, colour, selected]) => {
    const thumb = thumbs.get(id);
    if (!thumb || hidden.has(id)) return;
    pictures.push({id, x, y, href: 'data:image/webp;base64,' + thumb, outer: 1 + 2 * sent.frame * (selected ? 2 : 1),
                   colour: selected ? SELECTED : sent.colours[colour]});
  });
  gd.__lsPictureList = {key, pictures, size: sent.size};
  return {hoverdistance: sent.hoverdistance};
};

const mapOf = (gd) => (gd && gd.layout && gd.layout.meta && gd.layout.meta.map) || null;

export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  // This script runs again on every rerun of its fragment; what outlives a run lives on the element.
  mark('received');
  const mine = parentElement.__lsPictures = parentElement.__lsPictures || {lastSent: null, timer: null, runs: 0};
  mine.runs += 1;
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
  window.__lsMapPictures = {map: data.map, key: keyOf,
                            layout: (gd) => pictureLayout(JSON.parse(data.layout), gd, keyOf(gd))};

  const apply = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !window.Plotly || !gd._fullLayout || mapOf(gd) !== data.map) return;  // plotly_view adds it
    const key = keyOf(gd);
    if (gd.__lsPicturesShown === key) return;
    gd.__lsPicturesShown = key;
    mark('layout');
    const {hoverdistance} = window.__lsMapPictures.layout(gd);
    gd.layout.hoverdistance = gd._fullLayout.hoverdistance = hoverdistance;  // read at each hover
    drawPictures(gd);
    mark('drawn');
  };

  const report = (resent) => {
    const gd = document.querySelector(data.selector);
    const fl = gd && gd._fullLayout, map = mapOf(gd);
    if (!fl || !fl.xaxis || !fl.yaxis || !map) return;
    const view = {map, x: fl.xaxis.range.map(Number), y: fl.yaxis.range.map(Number),
                  width: Math.round(fl.xaxis._length), height: Math.round(fl.yaxis._length),
                  hidden: hiddenNames(gd)};
    const reported = JSON.stringify(view);
    if (reported === mine.lastSent) return;
    mine.lastSent = reported;
    mine.pending = {at: performance.now(), runs: mine.runs, again: !!resent};
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
    gd.on('plotly_relayout', (changed) => { drawPictures(gd); mine.onRelayout(changed); });
    gd.on('plotly_restyle', () => mine.onRestyle());
    // the pictures follow the plot through each step of a drag and every redraw
    gd.on('plotly_relayouting', () => drawPictures(gd));
    gd.on('plotly_afterplot', () => drawPictures(gd));
  };
  // traces hidden otherwise than by a click (plotly keeping a legend's choice across a redraw): reported
  const checkHidden = () => {
    const gd = document.querySelector(data.selector);
    if (!gd || !gd._fullData || mapOf(gd) !== data.map) return;
    const names = JSON.stringify(hiddenNames(gd));
    if (mine.lastHidden !== undefined && names !== mine.lastHidden) report();
    mine.lastHidden = names;
  };
  // a report that brought no run of this fragment (Streamlit may fold its rerun into another fragment's,
  // one of the inspector's on a hover ending as a pan starts): sent again, once (an answer the same as
  // the last brings no run either)
  const checkAnswered = () => {
    const pending = mine.pending;
    if (!pending || pending.runs !== mine.runs || performance.now() - pending.at < RESEND_MS) return;
    mine.pending = null;
    if (pending.again) return;
    mine.lastSent = null;
    report(true);
  };
  clearInterval(mine.timer);
  const tick = () => {
    bind(); apply(); checkSize(); checkHidden(); checkAnswered();
    drawPictures(document.querySelector(data.selector));
  };
  tick();
  mine.timer = setInterval(tick, 250);
  const timer = mine.timer;
  return () => { if (mine.timer === timer) clearInterval(timer); };
}
