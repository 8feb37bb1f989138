"""LayerScope: how an ImageNet CNN sees its data, layer by layer."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from app import brand, state

st.set_page_config(page_title="LayerScope", page_icon=brand.PAGE_ICON, layout="wide")
state.load_css()

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
root = state.catalog_root()
catalogs = state.list_catalogs()


def _when(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(text or "?")


if catalogs:
    rows = [{"catalog": p.name, "model": state.model_label(m), "weights": m["model"]["weights"],
             "dataset": m["dataset"]["name"], "N": m["n_samples"],
             "top-1 accuracy": f"{m['top1_accuracy']:.1%}" if m.get("top1_accuracy") is not None else "?",
             "built": _when(m.get("created_at"))} for p, m in catalogs]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="catalog_table")
    st.caption(f"Found under `{root}` (set LAYERSCOPE_CATALOG_DIR to look elsewhere).")
    st.page_link("pages/1_Explorer.py", label="Open the Explorer", icon=":material/scatter_plot:")
else:
    st.info(f"No catalog under `{root}` yet. Build the bundled sample (400 ImageNet images through "
            "EfficientNet-Lite0; about 2 minutes on 2 cores), or run `python -m scripts.build_catalog`.")
    if st.button("Build the bundled sample catalog", type="primary", key="build_sample"):
        from core.build import BuildConfig, build_catalog
        from core.errors import LayerScopeError

        class StreamlitProgress:
            """core.build's Progress protocol, drawn as a Streamlit progress bar."""

            def __init__(self, desc: str, total: int, unit: str = "img"):
                self.desc, self.total, self.unit, self.done = desc, max(int(total), 1), unit, 0
                self.bar = st.progress(0.0, text=f"{desc}: 0/{total} {unit}")

            def update(self, n: int = 1) -> None:
                self.done = min(self.total, self.done + n)
                self.bar.progress(self.done / self.total, text=f"{self.desc}: {self.done}/{self.total} {self.unit}")

            def close(self) -> None:
                self.bar.progress(1.0, text=f"{self.desc}: done")

        log = st.empty()
        try:
            with st.status("Building the sample catalog…", expanded=True) as status:
                path, manifest = build_catalog(BuildConfig(out=root / "efficientnet_lite0-sample-all"),
                                               progress=StreamlitProgress, log=lambda line: log.write(line))
                status.update(label=f"Built {path.name}", state="complete")
        except LayerScopeError as exc:
            st.error(str(exc))
        else:
            st.success(f"Built {path.name}: {manifest['n_samples']} images.")
            st.rerun()

st.divider()
st.caption("Pages: **Explorer** (layer map, data map, inspector, gallery, your own image, channels, selections) · **SQL** (read-only queries, CSV download) · **About**.")
