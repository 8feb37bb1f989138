"""Neighbours: the pinned sample's nearest samples in the layer's PCA space, and how many share its label
(its coarse group where every class has one image: a label can then never repeat)."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import cached
from app.markup import escape
from app.sample_grid import pickable_thumbs
from app.view import View


def compared_column(path: str) -> tuple[str, str]:
    """Which sample column neighbours are compared on, and what the page calls it."""
    return ("group_name", "coarse group") if cached.one_image_per_class(path) else ("label_name", "label")


def render(view: View, layer_name: str, on_pin: Callable[[int], None]) -> None:
    """`on_pin(sample_id)`: what a click on a neighbour does (pin it)."""
    found = cached.neighbours(view.catalog, view.layer_id, view.pinned)
    if not found:
        st.info("This layer has no stored PCA reference for the pinned sample.")
        return
    samples = cached.samples(view.catalog).set_index("sample_id")
    column, called = compared_column(view.catalog)
    own = str(samples[column].get(view.pinned, "?"))
    same = {sid for sid, _ in found if samples[column].get(sid) == own}
    why = (" Every class has one image in this catalog, so neighbours are counted by coarse group."
           if column == "group_name" else "")
    st.markdown(f"<div data-testid='neighbours-summary'>The {len(found)} nearest neighbours of "
                f"<b>#{view.pinned}</b> ({escape(str(samples.label_name.get(view.pinned, '?')))}) at "
                f"<b>{escape(layer_name)}</b> (cosine distance in PCA space): <b class='ls-same'>{len(same)} of {len(found)}</b> "
                f"share its {called} <b>{escape(own)}</b> (green frame).{why}</div>", unsafe_allow_html=True)
    captions = [f"#{sid} {samples.label_name.get(sid, '?')} · d={d:.2f}" for sid, d in found]
    pickable_thumbs(view.catalog, [sid for sid, _ in found], captions, "neighbour-thumbs", "neighbour_thumbs",
                    on_pin, marked=same, marked_title=f"same {called}")
    st.caption("Click a neighbour to pin it.")
