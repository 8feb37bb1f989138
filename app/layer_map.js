// The layer map in the browser, mounted by app/layer_map.py (components v2; data: svg, key, selected).
// A choice (a click, an arrow key) goes to the server as the state {selected: id, choice: n}, n new for each
// choice: the server acts on a choice even of the layer its state already holds (chosen here before another
// control moved the page away from it), since components v2 call back only for keys whose value changed.
export default function(component) {
  const { data, parentElement, setStateValue } = component;
  let wrap = parentElement.querySelector('.lm-wrap');
  if (!wrap || wrap.dataset.svgKey !== data.key) {
    if (wrap) wrap.remove();
    wrap = document.createElement('div');
    wrap.className = 'lm-wrap';
    wrap.tabIndex = 0;
    wrap.dataset.svgKey = data.key;
    wrap.innerHTML = data.svg + '<div class="lm-tip"></div><div class="lm-status"></div>';
    parentElement.appendChild(wrap);
  }
  const tip = wrap.querySelector('.lm-tip');
  const status = wrap.querySelector('.lm-status');
  const groups = Array.from(wrap.querySelectorAll('[data-layer-id]'));
  const ids = groups.map(g => Number(g.dataset.layerId));
  const describe = g => `${g.dataset.name} · ${g.dataset.kind} · ${g.dataset.shape}`;
  const mark = (id) => {
    groups.forEach(g => g.classList.toggle('selected', Number(g.dataset.layerId) === id));
    const g = groups.find(g => Number(g.dataset.layerId) === id);
    status.textContent = g ? ('selected: ' + describe(g) + '  (click a layer, or use ← → with the map focused)') : '';
  };
  wrap.__selected = data.selected;
  mark(data.selected);
  const select = (id) => {
    if (id === wrap.__selected) return;
    wrap.__selected = id;
    mark(id);
    window.__lsLayerChoice = (window.__lsLayerChoice || 0) + 1;
    setStateValue('selected', id);
    setStateValue('choice', window.__lsLayerChoice);
  };
  const onOver = (e) => {
    const g = e.target.closest('[data-layer-id]');
    groups.forEach(x => x.classList.toggle('hover', x === g));
    if (!g) { tip.style.display = 'none'; return; }
    tip.textContent = describe(g);
    const box = wrap.getBoundingClientRect();
    tip.style.display = 'block';
    const left = Math.min(e.clientX - box.left + 12, box.width - tip.offsetWidth - 4);
    tip.style.left = Math.max(0, left) + 'px';
    tip.style.top = (e.clientY - box.top + 14) + 'px';
  };
  const onLeave = () => { groups.forEach(x => x.classList.remove('hover')); tip.style.display = 'none'; };
  const onClick = (e) => {
    const g = e.target.closest('[data-layer-id]');
    wrap.focus({preventScroll: true});
    if (g) select(Number(g.dataset.layerId));
  };
  const onKey = (e) => {
    const i = ids.indexOf(wrap.__selected);
    let j = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(ids.length - 1, i + 1);
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = ids.length - 1;
    if (j !== null) { e.preventDefault(); select(ids[j]); }
  };
  // this script runs again on every rerun while `wrap` survives: replace the previous run's
  // listeners, or every arrow key would move once per listener
  const listeners = {mousemove: onOver, mouseleave: onLeave, click: onClick, keydown: onKey};
  const unbind = () => {
    Object.entries(wrap.__lsListeners || {}).forEach(([type, fn]) => wrap.removeEventListener(type, fn));
    wrap.__lsListeners = null;
  };
  unbind();
  Object.entries(listeners).forEach(([type, fn]) => wrap.addEventListener(type, fn));
  wrap.__lsListeners = listeners;
  return () => { if (wrap.__lsListeners === listeners) unbind(); };
}
