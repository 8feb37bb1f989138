// Catalog samples as thumbnails, mounted by app/sample_grid.py (components v2): a click reports the
// sample's id, which the page pins. The markup comes ready from the server; a rerun with the same markup
// leaves the DOM alone, and the one listener is removed when Streamlit runs this again.
export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.ls-pickable');
  if (!root) { root = document.createElement('div'); root.className = 'ls-pickable'; parentElement.appendChild(root); }
  if (root.dataset.key !== data.key) {
    root.dataset.key = data.key;
    root.innerHTML = data.html;
  }
  const onClick = (e) => {
    const cell = e.target.closest('[data-sample-id]');
    if (cell) setTriggerValue('pin', Number(cell.dataset.sampleId));
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
