"""SQL: read-only queries over one catalog's views, through catalog.sql.run_query (same rules as the CLI)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import brand, state
from catalog.sql import MAX_ROWS, TIME_LIMIT_S, run_query
from core.errors import LayerScopeError

st.set_page_config(page_title="LayerScope · SQL", page_icon=brand.PAGE_ICON, layout="wide")
state.load_css()
st.title("SQL over the catalog")

EXAMPLES = {
    "Top channels of a class (last conv-type map)": """
SELECT c.channel, avg(c.mean) AS mean_activation, count(*) AS samples
FROM channels c JOIN samples s USING (sample_id)
WHERE s.group_name = (SELECT group_name FROM samples GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
  AND c.layer_id = (SELECT max(layer_id) FROM channels)
GROUP BY c.channel ORDER BY mean_activation DESC LIMIT 10""",
    "Most confused pairs": """
SELECT s.label_name AS true_label, p.class_name AS predicted, count(*) AS n
FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
WHERE p.class_idx <> s.label_idx
GROUP BY ALL ORDER BY n DESC, true_label LIMIT 20""",
    "Per-layer separability": """
SELECT l.layer_id, l.name, l.kind, r.k, round(r.knn_accuracy, 3) AS knn_accuracy,
       round(r.knn_accuracy_group, 3) AS knn_accuracy_group
FROM separability r JOIN layers l USING (layer_id) ORDER BY l.position""",
    "Least confident correct predictions": """
SELECT s.sample_id, s.key, s.label_name, p.prob
FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
WHERE p.class_idx = s.label_idx ORDER BY p.prob LIMIT 20""",
}

catalogs = state.list_catalogs()
if not catalogs:
    st.warning(f"No catalog found under `{state.catalog_root()}`. Build the bundled sample on the Home page.")
    st.stop()
labels = {str(p): f"{p.name} · {m['dataset']['name']}, N={m['n_samples']}" for p, m in catalogs}
path = st.selectbox("Catalog", list(labels), format_func=labels.get, key="sql_catalog")

st.markdown(
    "One `SELECT` over the views **samples, predictions, layers, embeddings, channels, explanations, images, "
    "separability, skipped** (see the README for their columns). The catalog is read-only: writing, "
    "`ATTACH`, `INSTALL`/`LOAD`, `COPY`, changing settings and reading any file outside the catalog are "
    f"refused. A query stops after {TIME_LIMIT_S:g} s and returns at most {MAX_ROWS:,} rows. "
    "The same rules apply to `python -m catalog.sql`.")


def _use_example() -> None:
    name = st.session_state.get("sql_example")
    if name in EXAMPLES:
        st.session_state.sql_query = EXAMPLES[name].strip()


if "sql_query" not in st.session_state:
    st.session_state.sql_query = EXAMPLES["Most confused pairs"].strip()
st.selectbox("Example queries", list(EXAMPLES), index=None, placeholder="Pick an example…", key="sql_example",
             on_change=_use_example)
st.text_area("Query", key="sql_query", height=180)
run = st.button("Run query", type="primary", key="sql_run")

if run:
    try:
        con = state.connection(path).cursor()  # a cursor per query: interrupting it stops only this one
        columns, rows = run_query(con, st.session_state.sql_query)
    except LayerScopeError as exc:
        st.session_state.sql_result = {"error": str(exc)}
    else:
        frame = pd.DataFrame.from_records(rows, columns=columns)
        for column in frame.columns:  # binary columns (images, maps) shown by size, not as bytes
            if frame[column].map(lambda v: isinstance(v, (bytes, bytearray))).any():
                frame[column] = frame[column].map(lambda v: f"<{len(v)} bytes>" if v is not None else None)
        st.session_state.sql_result = {"frame": frame, "truncated": len(rows) >= MAX_ROWS}

result = st.session_state.get("sql_result")
if result is not None:
    if "error" in result:
        st.error(result["error"], icon=":material/block:")
    else:
        frame = result["frame"]
        st.caption(f"{len(frame):,} rows" + (f" (stopped at the {MAX_ROWS:,}-row limit)" if result["truncated"] else ""))
        st.dataframe(frame, hide_index=True, width="stretch", key="sql_table")
        st.download_button("Download CSV", frame.to_csv(index=False).encode(), file_name="layerscope-query.csv",
                           mime="text/csv", key="sql_download")
