// Mounted by app/style.py on every page (components v2). On a window too narrow for the sidebar and the
// page side by side, the sidebar starts folded, as Streamlit folds it on a phone; once per page load, and
// never against the visitor's own choice (Streamlit keeps it in localStorage as stSidebarCollapsed-*).
const NARROW_PX = 1100;
const TRIES = 40;  // the sidebar may not be drawn yet: look again each 50 ms, 2 s at most

const chosen = () => {
  try { return Object.keys(window.localStorage).some((k) => k.startsWith('stSidebarCollapsed-')); }
  catch (e) { return true; }  // no storage to read: leave the sidebar as Streamlit has it
};

const fold = (tries) => {
  const open = document.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
  const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (open && button) button.click();
  else if (!open && document.querySelector('[data-testid="stSidebar"]')) return;  // already folded
  else if (tries > 0) setTimeout(() => fold(tries - 1), 50);
};

export default function() {
  if (window.__lsSidebarLooked) return;
  window.__lsSidebarLooked = true;
  if (window.innerWidth <= NARROW_PX && !chosen()) fold(TRIES);
}
