"""A layer's reference: the builder's file reads back as a LayerReference, and the file format holds."""
import numpy as np

import catalog
from catalog.layout import reference_file
from catalog.reader import load_reference_arrays
from core.reference import LayerReference


def test_a_reference_the_builder_wrote_reads_back_as_a_layer_reference(small_catalog):
    path, manifest = small_catalog
    con = catalog.open(path)
    layer_id = con.execute("SELECT max(layer_id) FROM layers WHERE kind = 'conv'").fetchone()[0]
    reference = catalog.load_reference(path, layer_id)
    assert isinstance(reference, LayerReference)
    ids = [i for (i,) in con.execute("SELECT sample_id FROM samples ORDER BY sample_id").fetchall()]
    assert sorted(reference.sample_id.tolist()) == ids
    assert reference.features.shape == (len(ids), reference.pca_components.shape[0])
    assert reference.perplexities == sorted(set(manifest["perplexities"]["used"].values()))
    for perplexity in reference.perplexities:
        stored = con.execute("""SELECT sample_id, x, y FROM embeddings WHERE layer_id = ? AND method = 'tsne'
                                AND perplexity = ?""", [layer_id, perplexity]).fetchall()
        by_id = {sample_id: (x, y) for sample_id, x, y in stored}
        expected = np.array([by_id[int(i)] for i in reference.sample_id])
        np.testing.assert_allclose(reference.tsne_map(perplexity), expected, atol=1e-5)
    on_disk = load_reference_arrays(path, layer_id)
    again = reference.to_arrays()
    assert again.keys() == on_disk.keys()
    assert all(np.array_equal(again[k], on_disk[k]) and again[k].dtype == on_disk[k].dtype for k in on_disk)


def test_a_reference_file_is_read_by_its_array_names(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"pca_mean": rng.normal(size=5).astype(np.float32),
              "pca_components": rng.normal(size=(2, 5)).astype(np.float32),
              "explained_variance_ratio": np.array([0.6, 0.3], np.float32),
              "features": rng.normal(size=(3, 2)).astype(np.float32),
              "tsne_7.5": rng.normal(size=(3, 2)).astype(np.float32),
              "tsne_30": rng.normal(size=(3, 2)).astype(np.float32),
              "sample_id": np.array([4, 2, 9], np.int32)}
    file = reference_file(tmp_path, 3)
    file.parent.mkdir(parents=True)
    np.savez(file, **arrays)
    reference = catalog.load_reference(tmp_path, 3)
    assert reference.perplexities == [7.5, 30.0]
    assert np.array_equal(reference.tsne_map(30), arrays["tsne_30"])
    assert np.array_equal(reference.explained_variance_ratio, arrays["explained_variance_ratio"])
    assert reference.row_of(9) == 2 and reference.row_of(5) is None
    saved = reference.to_arrays()
    assert saved.keys() == arrays.keys()
    assert all(np.array_equal(saved[k], arrays[k]) for k in arrays)


def test_a_used_perplexity_read_from_the_catalog_as_float32_finds_its_map():
    """The embeddings table keeps the perplexity used as float32: 7.3 comes back as 7.300000190734863."""
    coords = np.zeros((3, 2), np.float32)
    reference = LayerReference(np.zeros(4), np.zeros((2, 4)), np.zeros(2), np.zeros((3, 2)),
                               np.arange(3, dtype=np.int32), {7.3: coords})
    assert reference.tsne_map(float(np.float32(7.3))) is coords
    assert reference.tsne_map(7.4) is None
    assert reference.to_arrays().keys() >= {"tsne_7.3"}
