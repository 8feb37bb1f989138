"""LayerScope: how an ImageNet CNN sees its data, layer by layer."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from app import brand, catalogs, navigation, settings
from app.style import load_css

st.set_page_config(page_title="LayerScope", page_icon=brand.PAGE_ICON, layout="wide")
load_css()

st.title(":material/travel_explore: LayerScope")
st.markdown(
    "See how an ImageNet CNN sees its data, **layer by layer**. A *catalog* holds one model run over one "
    "dataset: every image's predictions, per-channel activation statistics, and a 2-D map (PCA and "
    "t-SNE) of every layer's activations.")
st.markdown("""
**How to read the Explorer**
- **Layer map** (top): one box per layer, drawn from the model's traced graph. The face is the layer's
  spatial size, the thickness its channel count (log scale). Click a layer or use the arrow keys; the
  selection drives every other view.
- **Data map** (left): each dot is an image, placed by that layer's activations. Images that the layer
  sees as similar lie close together; watch classes separate as you move deeper.
- **Inspector** (middle): hover a dot to see the image, its true and predicted labels, the top-10 and
  the stored explanations; click to pin it.
- **Activation gallery** (right): the pinned image's activation at the selected layer, channel by
  channel; click a channel to zoom into it.
""")

st.subheader("Catalogs")
found, damaged = catalogs.scan_catalogs()
for damaged_path, reason in damaged:
    st.warning(catalogs.skipped(damaged_path, reason), icon=":material/warning:")


def _when(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(text or "?")


if found and settings.public_mode():
    st.markdown("This deployment holds " + ("this catalog:" if len(found) == 1 else f"{len(found)} catalogs:"))
    for path, manifest in found:
        st.markdown(f"- `{path.name}`: {catalogs.summary(manifest)}")
    st.caption("Browse it in the Explorer, or query it with SQL. You can upload your own image in the Explorer's "
               "*Your image* tab; catalogs are built by the app's owner, not here.")
    links = st.columns(2)
    links[0].page_link(navigation.link("pages/1_Explorer.py"), label="Open the Explorer", icon=":material/scatter_plot:")
    links[1].page_link(navigation.link("pages/2_SQL.py"), label="Query it with SQL", icon=":material/database:")
elif found:
    rows = [{"catalog": p.name, "model": catalogs.model_label(m), "weights": m["model"]["weights"],
             "dataset": m["dataset"]["name"], "N": m["n_samples"],
             "top-1 accuracy": f"{m['top1_accuracy']:.1%}" if m.get("top1_accuracy") is not None else "?",
             "built": _when(m.get("created_at"))} for p, m in found]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="catalog_table")
    st.caption(f"Found under {catalogs.folders_text()} ({catalogs.FOLDERS_HINT}).")
    st.page_link(navigation.link("pages/1_Explorer.py"), label="Open the Explorer", icon=":material/scatter_plot:")
    if len(found) > 1:
        st.page_link(navigation.link("pages/4_Compare_models.py"), label="Compare two models layer by layer",
                     icon=":material/compare:")
elif settings.builds_allowed():
    st.info(f"No catalog under {catalogs.folders_text()} yet. Build the bundled sample (400 ImageNet images through "
            "EfficientNet-Lite0; about 2 minutes on 2 cores), or run `python -m scripts.build_catalog`.")
    if st.button("Build the bundled sample catalog", type="primary", key="build_sample"):
        from app.building import build_sample
        from core.errors import LayerScopeError
        try:
            built = build_sample(catalogs.build_folder() / "efficientnet_lite0-sample-all")
        except LayerScopeError as exc:
            st.error(str(exc))
        else:
            if built is None:
                st.warning("Another session is building a catalog right now; reload this page when it is done.")
            else:
                st.success(f"Built {built[0].name}: {built[1]['n_samples']} images.")
                st.rerun()
else:
    st.info("This deployment has no catalog yet. Its owner builds one (`python -m scripts.build_catalog`), "
            "publishes it (`python -m scripts.publish`) and commits `published/`; nothing is built from a shared app.")

st.divider()
st.caption("Pages: **Explorer** (layer map, data map, inspector, gallery, your own image, channels, selections) · **SQL** (read-only queries, CSV download) · **About**.")
