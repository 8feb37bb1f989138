// Run by an st.html script tag among the page's first elements (app/plotly_view.py `preload`): starts
// loading plotly.js while the rest of the page still renders. The charts' script (plotly_view.js) runs
// only once the whole page is rendered, and takes this promise instead of starting plotly.js itself.
// Once per page load: the tag runs again when a visitor comes back to the page.
(() => {
  const src = document.currentScript && document.currentScript.dataset.src;
  if (!src || window.Plotly || window.__lsPlotlyLoading) return;
  window.__lsPlotlyLoading = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => { window.__lsPlotlyLoading = null;
                             reject(new Error('plotly.js could not be loaded from ' + src)); };
    document.head.appendChild(script);
  });
})();
