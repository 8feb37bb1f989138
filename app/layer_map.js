// The layer map in the browser, mounted by app/layer_map.py (components v2; data: svg, key, selected, title).
// A choice (a click, an arrow key) goes to the server as the state {selected: id, choice: n}, n new for each
// choice: the server acts on a choice even of the layer its state already holds (chosen here before another
// control moved the page away from it), since components v2 call back only for keys whose value changed.
// A choice the page has not shown after RESEND_MS is sent once more: under load the message, or the run
// that answers it, can be lost (app/plot_bridge.js does the same for hovers and clicks). Shown: a run after
// the choice gave this component that layer as data.selected, and the page's titles (data.title, a CSS
// selector: the data map's, "name · method") begin with its name. A run still going when RESEND_MS is up
// may be the answer: the check waits for its end, up to RUN_WAIT_MS more, rather than interrupt it.
const RESEND_MS = 2500;
const RUN_WAIT_MS = 10000;
const POLL_MS = 250;

const running = () => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.dataset.testScriptState : '';
  return state === 'running' || state === 'rerunRequested';
};

export default function(component) {
  const { data, parentElement, setStateValue } = component;
  // What must outlive one run (the pending choice, its timer) lives on the element; the timers send
  // through the newest run's setStateValue.
  const mine = parentElement.__lsLayerMap = parentElement.__lsLayerMap || {choice: null};
  mine.send = setStateValue;
  const cancel = () => {
    const c = mine.choice;
    if (!c) return;
    clearTimeout(c.timer);
    c.observer.disconnect();
    mine.choice = null;
  };
  let wrap = parentElement.querySelector('.lm-wrap');
  if (!wrap || wrap.dataset.svgKey !== data.key) {
    cancel();  // another catalog's layers
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
  const titled = (name) => {
    const titles = data.title ? Array.from(document.querySelectorAll(data.title)) : [];
    return !data.title || (titles.length > 0 && titles.every(t => t.textContent.startsWith(`${name} ·`)));
  };
  const shown = (c) => c.answered && titled(c.name);
  const send = (c) => {
    window.__lsLayerChoicesSent = (window.__lsLayerChoicesSent || 0) + 1;
    mine.send('selected', c.id);
    mine.send('choice', c.n);
  };
  // this run answers the pending choice; a layer neither chosen nor shown before it: another control chose
  if (mine.choice) {
    const c = mine.choice;
    if (data.selected === c.id) c.answered = true;
    else if (!c.before.has(data.selected)) cancel();
    if (mine.choice && shown(c)) cancel();
  }
  const check = () => {
    const c = mine.choice;
    if (!c) return;
    if (!wrap.isConnected || shown(c)) { cancel(); return; }
    if (running() && performance.now() - c.at < RESEND_MS + RUN_WAIT_MS) {
      c.timer = setTimeout(check, POLL_MS);
      return;
    }
    cancel();
    send(c);  // once: this choice is no longer pending
  };
  const select = (id) => {
    if (id === wrap.__selected) return;
    // runs already on their way may still show the layers before this choice (a pending one's too)
    const prev = mine.choice, before = new Set(prev ? [...prev.before, prev.id] : []);
    before.add(wrap.__selected);
    cancel();  // a newer choice replaces a pending one
    wrap.__selected = id;
    mark(id);
    const g = groups.find(g => Number(g.dataset.layerId) === id);
    window.__lsLayerChoice = (window.__lsLayerChoice || 0) + 1;
    const c = {id, before, n: window.__lsLayerChoice, name: g ? g.dataset.name : '', at: performance.now(),
               answered: false};
    // the page showing the layer ends the wait at once, so no timer outlives the answer
    c.observer = new MutationObserver(() => { if (mine.choice === c && shown(c)) cancel(); });
    c.observer.observe(document.body, {childList: true, subtree: true, characterData: true});
    c.timer = setTimeout(check, RESEND_MS);
    mine.choice = c;
    send(c);
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
  const run = mine.run = {};
  return () => {
    if (wrap.__lsListeners === listeners) unbind();
    // unmounted: no re-send. Streamlit also calls a run's cleanup at once when a newer run superseded it
    // while its module loaded; the element stays then, and so does the pending choice.
    if (mine.run === run && !parentElement.isConnected) cancel();
  };
}
