// benchmarks/bare_page/app.py's element: notes when a components-v2 script first runs on the page.
export default function() {
  if (window.__bareScriptRan === undefined) window.__bareScriptRan = performance.now();
}
