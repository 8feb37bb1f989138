// The activation gallery's grid, mounted by app/gallery.py (components v2; a click reports the channel).
export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.gal-root');
  if (!root) { root = document.createElement('div'); root.className = 'gal-root'; parentElement.appendChild(root); }
  if (root.dataset.key !== data.key) {
    root.dataset.key = data.key;
    const cells = data.items.map(it =>
      `<div class="cell" data-channel="${it.c}" title="channel ${it.c} · score ${it.s.toFixed(2)}` +
      ` (score = entropy × mean |activation|) · click to open">` +
      `<img src="${it.src}" alt="channel ${it.c}"><div class="meta"><span>#${it.c}</span>` +
      (data.compact ? '' : `<span>${it.s.toFixed(2)}</span>`) + '</div></div>').join('');
    root.innerHTML = `<div class="gal-legend"><div class="scale"><span class="lo">${data.lo.toPrecision(3)}</span>` +
      `<span class="bar"></span><span class="hi">${data.hi.toPrecision(3)}</span></div>` +
      '<div class="what">colour: activation (one scale for the layer) · ' +
      (data.compact ? 'hover a channel for its score' : 'number under a tile: score') +
      ' (score = entropy × mean |activation|: strong and spread-out responses rank first)</div></div>' +
      `<div class="gal" style="--cell:${data.cell}px">${cells}</div>`;
  }
  const onClick = (e) => {
    const cell = e.target.closest('[data-channel]');
    if (cell) setTriggerValue('channel', Number(cell.dataset.channel));
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
