"""Compare models: any two catalogs found, layer against layer by linear CKA on the images they share;
a click on a cell shows the two layers' maps side by side with linked highlighting."""
from __future__ import annotations

import streamlit as st

from app import brand, catalogs, model_compare, plotly_view
from app.navigation import link
from app.style import load_css
from core.errors import LayerScopeError

st.set_page_config(page_title="LayerScope · Compare models", page_icon=brand.PAGE_ICON, layout="wide")
load_css()
plotly_view.preload()
st.title("Compare models")

found, _ = catalogs.scan_catalogs()
if not found:
    st.warning(catalogs.none_found())
    st.page_link(link("Home.py"), label="Home", icon=":material/home:")
    st.stop()

labels = {str(p): catalogs.choice_label(p, m) for p, m in found}
options = list(labels)
if st.session_state.get("models_a") not in options:
    st.session_state.models_a = options[0]
if st.session_state.get("models_b") not in options:
    st.session_state.models_b = options[1] if len(options) > 1 else options[0]


def _forget_pair() -> None:  # another catalog: its layers and images are other ones
    st.session_state.update(models_pair=None, models_keys=[])


left, right, method_col = st.columns([2, 2, 1])
path_a = left.selectbox("Catalog A (rows)", options, format_func=labels.get, key="models_a", on_change=_forget_pair)
path_b = right.selectbox("Catalog B (columns)", options, format_func=labels.get, key="models_b",
                         on_change=_forget_pair)
method = method_col.radio("Maps", ["tsne", "pca"], format_func={"tsne": "t-SNE", "pca": "PCA"}.get,
                          horizontal=True, key="models_method")
if len(options) == 1:
    st.caption("One catalog found: it is compared with itself (build another on the same images to compare "
               "two models).")
st.caption("Linear CKA of every layer of A against every layer of B, on the images both hold (matched by "
           "key): 1 where two layers place the images alike up to a rotation and a uniform scale. Click a "
           "cell to see those two layers' maps side by side.")

try:
    result = model_compare.compare(path_a, path_b)
except LayerScopeError as exc:
    st.error(str(exc))
    st.stop()
name_a, name_b = labels[path_a], labels[path_b]
note = model_compare.shared_note(result, name_a, name_b)
if result.matched < model_compare.MIN_MATCHED:  # `scripts.compare_models` refuses these; the page says why
    st.warning(note, icon=":material/warning:")
else:
    st.caption(note)
model_compare.render_heatmap(result, name_a, name_b)
pair = st.session_state.get("models_pair")
if pair and pair[0] in set(result.layers_a.layer_id) and pair[1] in set(result.layers_b.layer_id):
    model_compare.render_maps((path_a, path_b), tuple(pair), method)
else:
    st.info("Click a cell of the heatmap to see its two layers' maps side by side.")
