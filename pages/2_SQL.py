"""SQL: read-only queries over one catalog's views, run in a bounded worker process (same rules as the CLI).

Only the capped result is kept in session state, and its table shows the head that the results budget counts
for showing it (the CSV download has every row); every failure is shown as a short message, and the full
error goes to the server log.
"""
from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from app import brand, catalogs, settings, sql_results
from app.markup import counted
from app.style import load_css
from catalog.sql_limits import SqlLimits
from catalog.sql_result import mask_text, path_masks
from core.errors import LayerScopeError

log = logging.getLogger(__name__)

st.set_page_config(page_title="LayerScope · SQL", page_icon=brand.PAGE_ICON, layout="wide")
load_css()
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
    "One image's path through the depth (trajectories)": """
SELECT l.position, l.name, t.vote_class, t.vote_class_share, t.vote_group, t.vote_group_share
FROM trajectories t JOIN layers l USING (layer_id)
WHERE t.sample_id = (SELECT min(sample_id) FROM samples) ORDER BY l.position""",
    "The misclassified images that were lost earliest (settling)": """
SELECT s.sample_id, s.key, s.label_name, p.class_name AS predicted, st.level,
       ll.position AS lost_position, ll.name AS lost_at, ls.name AS settled_at
FROM settling st JOIN samples s USING (sample_id)
JOIN predictions p ON p.sample_id = st.sample_id AND p.rank = 1
JOIN layers ll ON ll.layer_id = st.lost_layer
LEFT JOIN layers ls ON ls.layer_id = st.settled_layer
WHERE NOT st.correct ORDER BY ll.position, s.sample_id LIMIT 20""",
    "Most alike pairs of distinct layers (layer_similarity)": """
SELECT a.name AS layer_a, b.name AS layer_b, round(m.cka, 3) AS cka
FROM layer_similarity m JOIN layers a ON a.layer_id = m.layer_a JOIN layers b ON b.layer_id = m.layer_b
WHERE a.position + 1 < b.position ORDER BY m.cka DESC LIMIT 20""",
    "Which clusters are impure at this layer (clusters)": """
SELECT c.method, c.perplexity, c.cluster, c.label, round(c.purity, 2) AS purity, c.size
FROM clusters c JOIN layers l USING (layer_id)
WHERE l.position = (SELECT max(position) // 2 FROM layers) AND c.purity < 0.6
ORDER BY c.purity, c.size DESC""",
    "What each cluster of the last layer's PCA map holds (cluster_members)": """
SELECT m.cluster, any_value(c.label) AS named, s.group_name, count(*) AS n
FROM cluster_members m JOIN samples s USING (sample_id)
LEFT JOIN clusters c ON c.layer_id = m.layer_id AND c.method = m.method AND c.cluster = m.cluster
WHERE m.method = 'pca' AND m.layer_id = (SELECT max(layer_id) FROM layers)
GROUP BY ALL ORDER BY m.cluster, n DESC""",
    "Least confident correct predictions": """
SELECT s.sample_id, s.key, s.label_name, p.prob
FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
WHERE p.class_idx = s.label_idx ORDER BY p.prob LIMIT 20""",
    "Most faithful explanation method per group (faithfulness)": """
SELECT s.group_name, f.method, round(avg(f.value), 3) AS road_combined, count(*) AS samples
FROM faithfulness f JOIN samples s ON s.sample_id = f.sample_id
WHERE f.metric = 'road_combined'
GROUP BY s.group_name, f.method
QUALIFY rank() OVER (PARTITION BY s.group_name ORDER BY avg(f.value) DESC) = 1
ORDER BY s.group_name""",
}

found, damaged = catalogs.scan_catalogs()
for damaged_path, reason in damaged:
    st.warning(catalogs.skipped(damaged_path, reason), icon=":material/warning:")
if not found:
    st.warning(catalogs.none_found())
    st.stop()
try:
    LIMITS = SqlLimits.from_env()
except LayerScopeError as exc:
    log.error("SQL limits misconfigured: %s", exc)
    st.error("The SQL page is misconfigured; the server log says why.", icon=":material/block:")
    st.stop()
labels = {str(p): catalogs.choice_label(p, m) for p, m in found}
path = st.selectbox("Catalog", list(labels), format_func=labels.get, key="sql_catalog")

st.markdown(
    "One `SELECT` over the views **samples, predictions, layers, embeddings, channels, explanations, images, "
    "separability, trajectories, settling, layer_similarity, faithfulness, thumbnails, clusters, cluster_members, skipped** (see the README for their columns). The catalog is read-only: writing, "
    "`ATTACH`, `INSTALL`/`LOAD`, `COPY`, changing settings and reading any file outside the catalog are "
    f"refused. A query may use {LIMITS.describe()}; a longer result is cut. "
    + ("On this public deployment DuckDB's settings cannot be read, and table functions are those that "
       "read the catalog's files or describe its views." if settings.public_mode() else
       "The same rules apply to `python -m catalog.sql`."))


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



def _run(query: str) -> dict:
    """What the page keeps for one run: the capped result and why it was cut, or a short error.

    A visitor of a public deployment sees catalog names where results and errors hold server folders.
    """
    masks = path_masks(path, Path(path).parent) if settings.public_mode() else []
    try:
        return {"result": sql_results.run_for_this_session(path, query, LIMITS, masks)}
    except LayerScopeError as exc:
        return {"error": mask_text(str(exc), masks)}
    except Exception:  # noqa: BLE001  (a visitor sees a short message; the server log gets the traceback)
        log.exception("SQL page failed on %r", query[:500])
        return {"error": "the query could not be run (an internal error, logged on the server)"}


if run:
    sql_results.forget("sql_result")  # drop the previous result (and its budget) before making the next
    with st.spinner("Running the query…", show_time=True):  # a query may take seconds: say it runs
        st.session_state.sql_result = _run(st.session_state.sql_query)

result = st.session_state.get("sql_result")
if result is not None:
    if "error" in result:
        st.error(result["error"], icon=":material/block:")
    else:
        table, cut = result["result"].table, result["result"].cut
        head = sql_results.shown(table)
        st.caption(counted(table.num_rows, "row") + (f" ({cut})" if cut else "")
                   + (f"; the table shows the first {head.num_rows:,} ({head.nbytes / 1e6:.1f} MB), "
                      "Download CSV has every row" if head.num_rows < table.num_rows else ""))
        st.dataframe(head, hide_index=True, width="stretch", key="sql_table")
        st.download_button("Download CSV", lambda: table.to_pandas().to_csv(index=False).encode(),
                           file_name="layerscope-query.csv", mime="text/csv", key="sql_download")
