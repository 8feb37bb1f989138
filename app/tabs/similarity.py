"""Layer similarity: linear CKA between every pair of the catalog's layers; a click on a cell opens
Compare layers with those two."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cached, fragments, plotly_view, similarity
from app.view import View

KEY = "similarity_chart"
COMPARE_TAB = "Compare layers"


def render(view: View, table: pd.DataFrame) -> None:
    """`table`: the catalog's layers in network order."""
    matrix = cached.layer_similarity(view.catalog)
    if matrix.empty:
        st.info("This catalog holds no layer similarity: rebuild it to compare its layers.")
        return
    id_of = {str(n): int(i) for i, n in zip(table.layer_id, table.name)}
    layers = [(id_of[str(n)], str(n)) for n in matrix.index]
    ids = [i for i, _ in layers]

    def clicked() -> None:
        pair = similarity.clicked_pair(KEY, ids, ids)
        if pair is not None:  # Compare layers opens with the row's layer left, the column's right
            st.session_state.update(compare_left=pair[0], compare_right=pair[1], explorer_tab=COMPARE_TAB)

    st.caption("Linear CKA of every pair of layers (1: they place the samples alike, up to a rotation and a "
               "uniform scale). A bright block on the diagonal is a stage of layers that changes little; "
               "click a cell to open *Compare layers* with those two.")
    with st.container(key="similarity_box"):
        plotly_view.draw(similarity.heatmap(matrix.to_numpy(float), layers, layers, "layer", "layer"), key=KEY,
                         on_click=fragments.page_widget(clicked), config={"displayModeBar": False})
