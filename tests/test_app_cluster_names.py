"""Cluster names in the Explorer (AppTest, the small catalog): the map names the current map's clusters
as the catalog does, never over the pinned sample; the switch turns them off, the URL and the export's
link carry it and it outlives a trip to another page; the Selection tab selects a whole cluster."""
from __future__ import annotations

from html import escape

import catalog
from streamlit.testing.v1 import AppTest

from app.cluster_names import name_text
from catalog import pictures, queries
from tests.apptest_tools import APP_TIMEOUT, chart_spec, page_text, rerun
from tests.paths import REPO

EXPLORER = "pages/1_Explorer.py"


def clustered_map_params(path, **more) -> dict:
    """URL parameters opening the catalog's last map that has clusters (a small catalog's maps may have
    none: HDBSCAN leaves 24 scattered points unclustered)."""
    layer_id, method, requested = catalog.open(path).execute("""
        SELECT DISTINCT c.layer_id, c.method, e.perplexity_requested FROM clusters c JOIN embeddings e
        ON e.layer_id = c.layer_id AND e.method = c.method AND e.perplexity IS NOT DISTINCT FROM c.perplexity
        ORDER BY c.layer_id DESC, c.method DESC, e.perplexity_requested LIMIT 1""").fetchone()
    params = {"catalog": path.name, "layer": str(layer_id), "method": method}
    if requested is not None:
        params["perplexity"] = f"{requested:g}"
    return {**params, **more}


def _map(at, path) -> tuple[int, str, float | None]:
    method = at.session_state.method
    requested = at.session_state[f"perplexity::{path}"] if method == "tsne" else None
    return int(at.session_state.layer_id), method, requested


def _names(at) -> list[dict]:
    return [a for a in chart_spec(at)["layout"].get("annotations") or [] if a.get("name", "").startswith("cluster ")]


def _params(at) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in ((k, at.query_params[k]) for k in at.query_params)}


def test_the_map_names_its_clusters_as_the_catalog_does_and_the_switch_hides_them(app_env, app_test):
    at = app_test(EXPLORER, params=clustered_map_params(app_env.path))
    con = catalog.open(app_env.path)
    clusters = pictures.clusters(con, *_map(at, app_env.path))
    names = _names(at)
    expected = {f"cluster {int(r.cluster)}": escape(name_text(r.label, r.purity)) for r in clusters.itertuples()}
    assert names and {a["name"]: a["text"] for a in names}.items() <= expected.items()
    assert f"cluster {int(clusters.cluster.iloc[0])}" in {a["name"] for a in names}  # the largest is named
    assert at.toggle(key="cluster_names").value is True and "labels" not in _params(at)

    rerun(at.toggle(key="cluster_names").set_value(False))
    assert _names(at) == []
    assert _params(at)["labels"] == "0"
    rerun(at.toggle(key="cluster_names").set_value(True))
    assert len(_names(at)) == len(names) and "labels" not in _params(at)


def test_a_name_drawn_where_the_pinned_sample_lies_moves_off_it(app_env, app_test):
    at = app_test(EXPLORER, params=clustered_map_params(app_env.path))
    con = catalog.open(app_env.path)
    layer_id, method, requested = _map(at, app_env.path)
    largest = pictures.clusters(con, layer_id, method, requested).iloc[0]
    points = queries.embedding(con, layer_id, method, requested)
    # the name's place is one of the cluster's members (its medoid): pin that sample
    medoid = points[(abs(points.x - largest.x) < 1e-4) & (abs(points.y - largest.y) < 1e-4)].sample_id
    assert len(medoid)
    at.session_state.pinned = int(medoid.iloc[0])
    rerun(at)
    ring = next(s for s in chart_spec(at)["layout"]["shapes"] if s.get("name") == "pinned")
    name = next(a for a in _names(at) if a["name"] == f"cluster {int(largest.cluster)}")
    assert abs(name["y"] - ring["yanchor"]) > 0  # moved above or below the ring
    span = chart_spec(at)["layout"]["yaxis"]["range"]
    assert abs(name["y"] - ring["yanchor"]) < (span[1] - span[0]) / 10  # and stays beside its cluster


def test_a_url_with_labels_0_opens_the_map_unnamed(app_env, app_test):
    at = app_test(EXPLORER, params={"catalog": app_env.path.name, "labels": "0"})
    assert at.toggle(key="cluster_names").value is False and _names(at) == []
    assert _params(at)["labels"] == "0"


def test_picking_a_cluster_selects_its_members_and_the_map_rings_them(app_env, app_test):
    at = app_test(EXPLORER, params=clustered_map_params(app_env.path), tab="Selection")
    con = catalog.open(app_env.path)
    layer_id, method, requested = _map(at, app_env.path)
    clusters = pictures.clusters(con, layer_id, method, requested)
    picker = at.selectbox(key="cluster_pick")
    assert picker.value is None and picker.options == [f"#{int(r.cluster)} {r.label} · {r.purity:.0%} pure · "
                                                       f"{int(r.size)} points" for r in clusters.itertuples()]
    chosen = clusters.iloc[-1]  # the smallest
    size = int(chosen["size"])
    rerun(picker.set_value(int(chosen.cluster)))
    members = con.execute("SELECT sample_id FROM cluster_members m JOIN clusters c USING (layer_id, method, cluster) "
                          "WHERE m.layer_id = ? AND m.method = ? AND m.cluster = ? AND "
                          "m.perplexity IS NOT DISTINCT FROM c.perplexity AND c.x = ? ORDER BY sample_id",
                          [layer_id, method, int(chosen.cluster), float(chosen.x)]).fetchall()
    assert len(members) == size
    assert sorted(at.session_state.selection_ids) == [m[0] for m in members]
    assert f"<b>{size}</b> sample" in page_text(at) and f"(cluster #{int(chosen.cluster)}" in page_text(at)
    ringed = [t for t in chart_spec(at)["data"] if t["name"] == "highlighted"]
    assert len(ringed) == 1 and len(ringed[0]["x"]) == size
    assert at.selectbox(key="cluster_pick").value is None  # ready for the next pick


def test_the_export_holds_each_points_cluster_and_links_the_switch(app_env, app_test):
    at = app_test(EXPLORER, params=clustered_map_params(app_env.path, labels="0"), tab="Export")
    con = catalog.open(app_env.path)
    layer_id, method, requested = _map(at, app_env.path)
    preview = at.dataframe[0].value
    members = pictures.cluster_of_points(con, layer_id, method, requested).set_index("sample_id").cluster
    assert [members[s] for s in preview.sample_id] == preview.cluster.tolist()
    names = {int(r.cluster): name_text(r.label, r.purity) for r in pictures.clusters(con, layer_id, method, requested).itertuples()}
    assert preview.cluster_name.tolist() == [names.get(int(c), "") for c in preview.cluster]
    link = at.code[0].value
    assert "labels=0" in link and f"layer={layer_id}" in link


def test_the_switch_outlives_a_trip_to_another_page(app_env):
    at = rerun(AppTest.from_file(str(REPO / "Home.py"), default_timeout=APP_TIMEOUT))
    at.switch_page(EXPLORER)
    rerun(at)
    rerun(at.toggle(key="cluster_names").set_value(False))
    at.switch_page("pages/3_About.py")
    rerun(at)
    at.switch_page(EXPLORER)
    rerun(at)
    assert at.toggle(key="cluster_names").value is False and _names(at) == []
