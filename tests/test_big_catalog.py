"""The generated catalog (benchmarks/big_catalog.py) is a catalog like a built one: the reader opens it, it
has every table a build writes, EfficientNet-Lite0's real layers, a map of every sample for every layer,
method and perplexity, and the Explorer shows it, its data map sent as typed arrays."""
from __future__ import annotations

import catalog
from app import datamap
from catalog import pictures, queries
from catalog.schema import TABLES
from tests.apptest_tools import chart_json, chart_spec

EXPLORER = "pages/1_Explorer.py"


def test_a_generated_catalog_has_what_a_build_writes(generated_catalog):
    manifest = catalog.load_manifest(generated_catalog)
    n = manifest["n_samples"]
    assert n == 3000 and manifest["generated"]["by"] == "benchmarks.big_catalog"
    assert manifest["model"]["name"] == "efficientnet_lite0"
    con = catalog.open(generated_catalog)
    for table in TABLES:
        con.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()  # every table is there and readable
    layers = queries.layers(con)
    assert list(layers.name) == manifest["layers"]
    assert layers.name.iloc[0] == "input" and "blocks.6.0" in set(layers.name) and layers.name.iloc[-1] == "output"
    perplexities = queries.perplexities(con)
    assert [r for r, _ in perplexities] == [10.0, 30.0, 90.0]
    for layer_id in (0, int(layers.layer_id.iloc[-1])):
        assert len(queries.embedding(con, layer_id, "pca")) == n
        for requested, _ in perplexities:
            assert len(queries.embedding(con, layer_id, "tsne", requested)) == n
    samples = queries.samples(con)
    assert samples.label_name.nunique() == 60 and 0.6 < samples.correct.mean() < 0.95
    # every sample has its picture, its explanations and its top-10
    assert con.execute("SELECT count(DISTINCT sample_id) FROM images").fetchone()[0] == n
    assert queries.explanations(con, n - 1)["gradcam"][:4] == b"\x89PNG"
    assert len(queries.top_predictions(con, n - 1)) == 10
    # every sample has its thumbnail; the deepest t-SNE map's clusters are named by class and hold its points
    assert len(pictures.thumbnails(con, range(0, n, 7))) == len(range(0, n, 7))
    last = int(layers.layer_id.iloc[-1])
    named = pictures.clusters(con, last, "tsne", 30)
    members = pictures.cluster_of_points(con, last, "tsne", 30)
    assert len(named) >= 5 and set(named.label) <= set(samples.label_name) and named.purity.between(0, 1).all()
    assert len(members) == n and named["size"].sum() == (members.cluster >= 0).sum() > n / 2
    # channel statistics of a conv layer, one row per channel
    conv = layers[layers.height > 1].iloc[3]
    assert len(queries.channel_stats(con, 5, int(conv.layer_id))) == int(conv.channels)
    # the reference places a new image: PCA basis of the layer's reduction size, a t-SNE map per perplexity
    reference = catalog.load_reference(generated_catalog, int(conv.layer_id))
    assert reference.pca_components.shape[1] == int(conv.reduction_dim)
    assert reference.features.shape[0] == n and reference.tsne_map(30).shape == (n, 2)
    # deeper layers separate the classes better (the separability line rises)
    separability, by = queries.separability(con)
    assert by == "class" and separability.accuracy.iloc[-1] > separability.accuracy.iloc[1] + 0.3


def test_the_explorer_shows_a_generated_catalog_with_its_map_as_typed_arrays(generated_catalog, catalog_dir_env,
                                                                              monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_tools import APP_TIMEOUT
    from tests.paths import ACTIVATION_CACHE_ENV, REPO
    catalog_dir_env(generated_catalog.parent)
    monkeypatch.setenv(ACTIVATION_CACHE_ENV, str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / EXPLORER), default_timeout=APP_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    # 60 classes: a trace per colour (at most MAX_COLOURS), no plotly legend (an HTML one lists all 60),
    # every per-point array base64-encoded
    raw = chart_json(at, "datamap_chart")
    points = [t for t in raw["data"] if t["name"] != "pinned"]
    assert len(points) == datamap.MAX_COLOURS == 48 and not any(t.get("showlegend", True) for t in points)
    for trace in points:
        for key in ("x", "y", "customdata"):
            assert set(trace[key]) >= {"dtype", "bdata"}, key  # typed arrays, not JSON lists
    longest = max((len(v) for t in raw["data"] for v in t.values() if isinstance(v, list)), default=0)
    assert longest < 10  # no per-point list anywhere
    spec = chart_spec(at)
    ids = [c[0] for t in spec["data"] if t["name"] != "pinned" for c in t["customdata"]]
    assert len(ids) == len(set(ids)) == 3000
    assert any("data-testid=\"class-legend\"" in h.proto.body and "(60)" in h.proto.body for h in at.get("html"))
    assert "N=3000" in "\n".join(m.value for m in at.markdown)
