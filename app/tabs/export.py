"""Export: the current map's coordinates, labels and clusters, as CSV or Parquet, and the link that opens
the same view (its switches too: the URL's parameters, app/urlstate.py)."""
from __future__ import annotations

import io
import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from app import cached, urlstate
from app.cluster_names import name_text
from app.markup import escape
from app.view import View
from catalog import pictures

COLUMNS = ["sample_id", "key", "x", "y", "label_name", "group_name", "pred_name", "confidence", "correct"]


def export_frame(view: View, layer_name: str) -> pd.DataFrame:
    """Every sample of the view's map (the show filter does not apply: an export is the whole map)."""
    points = cached.embedding(view.catalog, view.layer_id, view.method, view.perplexity_requested).merge(
        cached.samples(view.catalog), on="sample_id")
    frame = points[COLUMNS].copy()
    frame.insert(0, "layer", layer_name)
    frame.insert(1, "method", view.method)
    frame.insert(2, "perplexity", points["perplexity"] if view.method == "tsne" else None)
    return with_clusters(frame, view)


def with_clusters(frame: pd.DataFrame, view: View) -> pd.DataFrame:
    """The frame with each point's cluster on this map (-1: in none) and that cluster's name."""
    con = cached.connection(view.catalog)
    members = pictures.cluster_of_points(con, view.layer_id, view.method, view.perplexity_requested)
    named = cached.clusters(view.catalog, view.layer_id, view.method, view.perplexity_requested)
    names = {int(r.cluster): name_text(str(r.label), float(r.purity)) for r in named.itertuples()}
    cluster = frame[["sample_id"]].merge(members, on="sample_id", how="left").cluster.fillna(-1).astype("int32")
    return frame.assign(cluster=cluster.to_numpy(), cluster_name=[names.get(int(c), "") for c in cluster])


def file_stem(view: View, layer_name: str) -> str:
    """`<catalog>-<layer>-<method>[-p<perplexity used>]`, so that files from several catalogs, layers and
    maps do not overwrite each other in a downloads folder; other than letters, digits and ".-_" is "_"."""
    parts = [view.catalog_name, layer_name, view.method]
    if view.method == "tsne" and view.perplexity_used is not None:
        parts.append(f"p{view.perplexity_used:g}")
    return "-".join(re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("_") or "_" for part in parts)


def render(view: View, layer_name: str) -> None:
    frame = export_frame(view, layer_name)
    stem = file_stem(view, layer_name)
    st.markdown(f"The current map: **{len(frame)}** points of **{escape(layer_name)}** ({view.method}), with labels.")
    if view.show != "all":  # the map hides points; the files keep them, and say which are which
        shown = "correctly" if view.show == "correct" else "wrongly"
        st.info(f"The map shows only the {shown} predicted samples; the export holds all {len(frame)} points. "
                f"Its `correct` column tells them apart.", icon=":material/filter_alt:")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    left, right = st.columns(2)
    left.download_button("Download CSV", frame.to_csv(index=False).encode(), file_name=f"{stem}.csv",
                         mime="text/csv", key="export_csv")
    right.download_button("Download Parquet", buffer.getvalue(), file_name=f"{stem}.parquet",
                          mime="application/octet-stream", key="export_parquet")
    st.dataframe(frame.head(20), hide_index=True, key="export_preview")
    st.caption("The link to this view (layer, map, pinned sample, colours, filter, cluster names, pictures):")
    st.code(urlstate.link(replace(view, channel=st.session_state.get("channel"))), language=None, wrap_lines=True)
