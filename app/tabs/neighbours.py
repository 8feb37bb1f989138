"""Neighbours: the pinned sample's nearest samples in the layer's PCA space, and how many share its label."""
from __future__ import annotations

import streamlit as st

from app import cached
from app.markup import escape, sample_thumbs
from app.view import View


def render(view: View, layer_name: str) -> None:
    found = cached.neighbours(view.catalog, view.layer_id, view.pinned)
    if not found:
        st.info("This layer has no stored PCA reference for the pinned sample.")
        return
    labels = cached.samples(view.catalog).set_index("sample_id").label_name
    label = str(labels.get(view.pinned, "?"))
    same = {sid for sid, _ in found if labels.get(sid) == label}
    st.markdown(f"<div data-testid='neighbours-summary'>The {len(found)} nearest neighbours of "
                f"<b>#{view.pinned}</b> ({escape(label)}) at <b>{escape(layer_name)}</b> (cosine distance in PCA space): "
                f"<b class='ls-same'>{len(same)} of {len(found)}</b> share its label (green frame).</div>",
                unsafe_allow_html=True)
    captions = [f"#{sid} {labels.get(sid, '?')} · d={d:.2f}" for sid, d in found]
    st.html(sample_thumbs(view.catalog, [sid for sid, _ in found], captions, "neighbour-thumbs", marked=same))
