// Run by an st.html script tag among the page's first elements (app/plotly_view.py `preload`): defines the
// page's one plotly.js loader, window.__lsLoadPlotly(src), and starts it while the rest of the page still
// renders. The charts' script (plotly_view.js) runs only once the whole page is rendered, and calls the same
// loader, which hands it the load under way. The tag runs again when a visitor comes back to the page: the
// loader is defined once per page load, and plotly.js loaded once.
(() => {
  if (!window.__lsLoadPlotly) {
    // A failed request (a dropped connection) is tried again once, a moment later, before the load fails:
    // every chart waiting on it, whenever it mounted, gets the second try's plotly.js.
    const RETRY_MS = 500;
    let loading = null;  // the load under way, or done; null again after a failed one, so a later call retries
    window.__lsLoadPlotly = (src) => {
      if (window.Plotly) return Promise.resolve(window.Plotly);
      if (!loading) {
        loading = new Promise((resolve, reject) => {
          const attempt = (retries) => {
            const script = document.createElement('script');
            script.src = src;
            script.onload = () => resolve(window.Plotly);
            script.onerror = () => {
              script.remove();
              if (retries > 0) { setTimeout(() => attempt(retries - 1), RETRY_MS); return; }
              loading = null;
              reject(new Error('plotly.js could not be loaded from ' + src));
            };
            document.head.appendChild(script);
          };
          attempt(1);
        });
      }
      return loading;
    };
    window.dispatchEvent(new Event('ls-plotly-loader'));
  }
  const src = document.currentScript && document.currentScript.dataset.src;
  if (src) window.__lsLoadPlotly(src).catch(() => {});  // a chart shows the error in its place
})();
