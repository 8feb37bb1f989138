// benchmarks/first_looks.py's page clock: when the data map, a pinned sample's gallery and the Channel tab's
// maps first show (window.__lsShown.map / gallery / channel, performance.now()), and the latest mousedown
// (pressed). Checked at every animation frame: the gallery's cells lie in a shadow root.
window.__lsShown = {};
document.addEventListener('mousedown', () => {
  window.__lsShown.pressed = performance.now();
  delete window.__lsShown.gallery;
  delete window.__lsShown.channel;
}, true);
const galleryCells = () => Array.from(document.querySelectorAll('.st-key-gallery *'))
  .some((e) => e.shadowRoot && e.shadowRoot.querySelector('.gal .cell'));
const look = () => {
  const shown = window.__lsShown, now = performance.now();
  if (shown.map === undefined && document.querySelector('.st-key-datamap .js-plotly-plot .gtitle')) shown.map = now;
  if (shown.pressed !== undefined && shown.gallery === undefined && galleryCells()) shown.gallery = now;
  if (shown.pressed !== undefined && shown.channel === undefined
      && document.querySelector("[data-testid='channel-top'] .ls-thumb")) shown.channel = now;
  requestAnimationFrame(look);
};
requestAnimationFrame(look);
