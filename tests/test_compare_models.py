"""Two catalogs' layers compared on their shared images (catalog/compare.py, scripts/compare_models.py):
samples matched by key whatever their ids, the CKA of the matched rows, each layer's best match printed,
the matrix written as Parquet, and a one-line refusal when too few images are shared."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import catalog
from catalog import compare
from catalog.compare import compare_catalogs
from core.cka import linear_cka
from core.errors import CatalogError
from scripts import compare_models


@pytest.fixture
def shuffled(small_catalog, tmp_path):
    """The small catalog again, its keys dealt to other sample ids and four samples left out."""
    path, _ = small_catalog
    other = tmp_path / "shuffled"
    shutil.copytree(path, other)
    samples = pq.read_table(other / "samples.parquet").to_pandas()
    order = np.random.default_rng(0).permutation(len(samples))
    samples["key"] = samples["key"].to_numpy()[order]
    samples = samples.iloc[4:]
    schema = pq.read_schema(path / "samples.parquet")
    pq.write_table(pa.Table.from_pandas(samples, schema=schema, preserve_index=False), other / "samples.parquet")
    return path, other


def test_samples_are_matched_by_key_not_by_id(shuffled):
    path, other = shuffled
    result = compare_catalogs(path, other, min_matched=10)
    n = len(catalog.open(path).execute("SELECT key FROM samples").fetchall())
    assert (result.matched, result.n_a, result.n_b) == (n - 4, n, n - 4)
    ids_a = dict(catalog.open(path).execute("SELECT key, sample_id FROM samples").fetchall())
    ids_b = dict(catalog.open(other).execute("SELECT key, sample_id FROM samples").fetchall())
    keys = sorted(ids_b)
    a_layer, b_layer = 3, 15
    ref_a, ref_b = catalog.load_reference(path, a_layer), catalog.load_reference(other, b_layer)
    rows_a = {int(s): i for i, s in enumerate(ref_a.sample_id)}
    rows_b = {int(s): i for i, s in enumerate(ref_b.sample_id)}
    x = ref_a.features[[rows_a[ids_a[k]] for k in keys]]
    y = ref_b.features[[rows_b[ids_b[k]] for k in keys]]
    index = list(result.layers_a["layer_id"]).index
    assert result.cka[index(a_layer), index(b_layer)] == pytest.approx(linear_cka(x, y), rel=1e-6)
    # the keys now name other images' features: a layer no longer matches its own copy
    assert result.cka[index(a_layer), index(a_layer)] < 0.9


def test_a_catalog_against_itself_matches_every_layer_to_an_equal_one(small_catalog, tmp_path, monkeypatch, capsys):
    path, _ = small_catalog
    monkeypatch.setattr(compare, "MIN_MATCHED", 20)  # the small catalog holds 24 samples
    out = tmp_path / "cka.parquet"
    assert compare_models.main([str(path), str(path), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    layers = catalog.open(path).execute("SELECT name FROM layers ORDER BY position").df()["name"].tolist()
    assert lines[0].startswith(f"matched {24} samples by key")
    best = lines[1:1 + len(layers)]
    assert [line.split()[0] for line in best] == layers
    assert all(line.endswith("(CKA 1.000)") for line in best)
    matrix = pd.read_parquet(out)
    assert list(matrix.columns) == ["layer_a", "name_a", "layer_b", "name_b", "cka"]
    assert len(matrix) == len(layers) ** 2
    square = matrix.pivot(index="layer_a", columns="layer_b", values="cka").to_numpy()
    stored = catalog.open(path).execute("SELECT layer_a, layer_b, cka FROM layer_similarity").df()
    np.testing.assert_allclose(square, stored.pivot(index="layer_a", columns="layer_b", values="cka").to_numpy(),
                               atol=1e-5)  # the same CKA the build stored, from the stored features


def test_too_few_shared_images_is_refused_in_one_line(small_catalog, tmp_path, capsys):
    path, _ = small_catalog
    out = tmp_path / "cka.parquet"
    assert compare_models.main([str(path), str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "share 24 samples by key" in err and "at least 50" in err
    assert not out.exists()
    with pytest.raises(CatalogError, match="not a LayerScope catalog"):
        compare_catalogs(path, tmp_path)
