"""Pictures on the maps: each sample's thumbnail and each map's named clusters, built into the catalog and
read back by the queries a map uses (catalog/pictures.py)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import catalog
from catalog import depth, pictures, queries
from core import clusters as clustering
from core.clusters import NOISE, cluster_points, name_clusters
from core.thumbnails import THUMB_PX, thumbnail


def blobs(centres, per: int, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([np.asarray(c) + spread * rng.normal(size=(per, 2)) for c in centres])


def test_a_thumbnail_is_a_small_webp_of_the_view_keeping_its_shape():
    view = Image.new("RGB", (224, 112), (200, 30, 30))
    small = Image.open(io.BytesIO(thumbnail(view)))
    assert small.format == "WEBP" and small.size == (THUMB_PX, THUMB_PX // 2)
    assert np.abs(np.asarray(small.convert("RGB"), float).mean(axis=(0, 1)) - (200, 30, 30)).max() < 12


def test_well_separated_islands_are_found_and_named_by_their_majority():
    xy = blobs([(0, 0), (20, 0), (0, 20)], per=40)
    assignment = cluster_points(xy)
    islands = [set(assignment[i * 40:(i + 1) * 40]) for i in range(3)]
    assert all(len(found) == 1 and NOISE not in found for found in islands)
    assert len(set.union(*islands)) == 3
    labels = ["dog"] * 30 + ["cat"] * 10 + ["car"] * 40 + ["bird"] * 40
    named = {c.label: c for c in name_clusters(xy, assignment, labels)}
    assert set(named) == {"dog", "car", "bird"}
    assert named["dog"].purity == pytest.approx(0.75) and named["dog"].size == 40
    assert named["car"].purity == 1.0
    # the label sits on a member of its island
    assert np.hypot(named["car"].x - 20, named["car"].y) < 1.5


def test_a_large_map_is_fitted_on_a_subsample_and_every_point_joins_its_island(monkeypatch):
    monkeypatch.setattr(clustering, "MAX_FIT", 150)
    xy = blobs([(0, 0), (30, 0), (0, 30), (30, 30)], per=200, seed=1)
    assignment = cluster_points(xy)
    for i in range(4):
        found, counts = np.unique(assignment[i * 200:(i + 1) * 200], return_counts=True)
        assert found[np.argmax(counts)] != NOISE and counts.max() >= 190
    assert len(set(assignment) - {NOISE}) == 4


def test_too_few_points_form_no_cluster():
    assert (cluster_points(np.zeros((6, 2))) == NOISE).all()
    assert name_clusters(np.zeros((6, 2)), np.full(6, NOISE), ["a"] * 6) == []


def test_every_sample_has_one_thumbnail_and_the_query_returns_only_those_asked(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    ids = queries.samples(con)["sample_id"].tolist()
    assert con.execute("SELECT count(*), count(DISTINCT sample_id) FROM thumbnails").fetchone() == (len(ids),) * 2
    asked = ids[::3] + [10_000]
    got = pictures.thumbnails(con, asked)
    assert sorted(got) == sorted(ids[::3])
    assert max(Image.open(io.BytesIO(got[ids[0]])).size) == THUMB_PX
    assert pictures.thumbnails(con, []) == {}


def test_every_map_point_has_a_cluster_row_and_sizes_and_purities_match_its_members(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    maps = con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    distinct = con.execute("""SELECT count(*) FROM (SELECT DISTINCT sample_id, layer_id, method, perplexity
                              FROM embeddings)""").fetchone()[0]
    assert con.execute("SELECT count(*) FROM cluster_members").fetchone()[0] == distinct <= maps
    level = depth.level(con)
    label = "label_name" if level == "class" else "group_name"
    recomputed = con.execute(f"""
        WITH counted AS (
            SELECT m.layer_id, m.method, m.perplexity, m.cluster, s.{label} AS label, count(*) AS n
            FROM cluster_members m JOIN samples s USING (sample_id) WHERE m.cluster >= 0 GROUP BY ALL)
        SELECT layer_id, method, perplexity, cluster, arg_max(label, n) AS label, max(n) / sum(n) AS purity,
               sum(n) AS size
        FROM counted GROUP BY ALL ORDER BY ALL""").fetchall()
    stored = con.execute("""SELECT layer_id, method, perplexity, cluster, label, purity, size FROM clusters
                            ORDER BY ALL""").fetchall()
    assert len(stored) == len(recomputed) > 0
    for mine, theirs in zip(stored, recomputed):
        assert mine[:4] == theirs[:4] and mine[6] == theirs[6]
        assert mine[5] == pytest.approx(theirs[5], abs=1e-6)


def test_a_cluster_label_is_drawn_on_one_of_its_members(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    far = con.execute("""
        SELECT c.layer_id, c.method, c.cluster, min(abs(e.x - c.x) + abs(e.y - c.y)) AS nearest
        FROM clusters c
        JOIN cluster_members m ON m.layer_id = c.layer_id AND m.method = c.method AND m.cluster = c.cluster
             AND m.perplexity IS NOT DISTINCT FROM c.perplexity
        JOIN embeddings e ON e.sample_id = m.sample_id AND e.layer_id = m.layer_id AND e.method = m.method
             AND e.perplexity IS NOT DISTINCT FROM m.perplexity
        GROUP BY ALL HAVING nearest > 1e-4""").fetchall()
    assert far == []


def test_map_queries_resolve_the_requested_perplexity_and_agree_with_the_tables(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    (requested, used), *_ = [p for p in queries.perplexities(con) if p[0] != p[1]]  # 30 runs as 7 at 24 samples
    layer_id = int(queries.layers(con)["layer_id"].iloc[-1])
    members = pictures.cluster_of_points(con, layer_id, "tsne", requested)
    assert members["sample_id"].tolist() == queries.embedding(con, layer_id, "tsne", requested)["sample_id"].tolist()
    named = pictures.clusters(con, layer_id, "tsne", requested)
    expected = con.execute("""SELECT cluster, count(*) FROM cluster_members
                              WHERE layer_id = ? AND method = 'tsne' AND perplexity = ? AND cluster >= 0
                              GROUP BY 1 ORDER BY 1""", [layer_id, used]).fetchall()
    assert sorted(zip(named["cluster"], named["size"])) == expected
    pca = pictures.cluster_of_points(con, layer_id, "pca")
    assert len(pca) == len(members) and set(pictures.clusters(con, layer_id, "pca")["cluster"]) <= set(pca["cluster"])


def test_impure_clusters_lists_those_under_the_threshold_least_pure_first(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    everything = con.execute("SELECT layer_id, purity FROM clusters").fetchall()
    layer_id, _ = min(everything, key=lambda r: r[1])
    impure = pictures.impure_clusters(con, layer_id, below=1.0)
    expected = sorted(p for lid, p in everything if lid == layer_id and p < 1.0)
    assert impure["purity"].tolist() == pytest.approx(expected) and len(expected) > 0
    assert pictures.impure_clusters(con, layer_id, below=0.0).empty


def _sql_page_examples() -> dict[str, str]:
    """The SQL page's example queries, read from the page's source (importing it would run the page)."""
    import ast
    from pathlib import Path
    tree = ast.parse((Path(__file__).resolve().parent.parent / "pages" / "2_SQL.py").read_text())
    found = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", "") == "EXAMPLES")
    return ast.literal_eval(found)


def test_the_sql_page_examples_about_clusters_answer_through_the_checked_runner(small_catalog):
    from catalog.sql import run_query
    path, _ = small_catalog
    con = catalog.open(path)
    examples = {title: sql for title, sql in _sql_page_examples().items() if "cluster" in title}
    assert len(examples) == 2
    columns, impure = run_query(con.cursor(), next(sql for title, sql in examples.items() if "impure" in title))
    middle = con.cursor().execute("SELECT layer_id FROM layers WHERE position = (SELECT max(position) // 2 FROM layers)").fetchone()[0]
    expected = pictures.impure_clusters(con, middle, below=0.6)
    assert [row[columns.index("purity")] for row in impure] == pytest.approx(expected["purity"].tolist(), abs=0.006)
    columns, held = run_query(con.cursor(), next(sql for title, sql in examples.items() if "holds" in title))
    assert sum(row[columns.index("n")] for row in held) == len(queries.samples(con))


def test_a_catalog_built_before_the_pictures_is_refused_with_the_rebuild_line(small_catalog, tmp_path):
    import json
    import shutil

    from catalog.schema import MANIFEST, SCHEMA_VERSION
    from core.errors import CatalogError
    older = tmp_path / "older"
    shutil.copytree(small_catalog[0], older)
    manifest = json.loads((older / MANIFEST).read_text())
    (older / MANIFEST).write_text(json.dumps({**manifest, "schema_version": SCHEMA_VERSION - 1}))
    with pytest.raises(CatalogError, match=f"schema {SCHEMA_VERSION - 1}.*rebuild it") as refused:
        catalog.open(older)
    assert "\n" not in str(refused.value)
