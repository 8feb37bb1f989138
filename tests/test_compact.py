"""A compact publish (`scripts.publish --compact`, the committed demo): smaller, and every view reads what
the build computed to the precision it is shown at."""
from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import catalog
from catalog.compact import compact_table, round_significant
from catalog.layout import reference_layer_ids
from catalog.publish import publish
from catalog.reader import load_reference, load_reference_arrays
from core import mapspace
from scripts import publish as publish_command


@pytest.fixture(scope="module")
def compact_copy(small_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("compact")
    return publish(small_catalog[0], name="small", root=root, compact=True).path


def _bytes(folder) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_rounding_keeps_eleven_significant_bits_and_what_is_not_a_number():
    values = np.array([1.0, 1 + 2**-10, 1 + 2**-12, 3.14159265, -2.5e-7, 6.0e7, np.nan, np.inf, 0.0], np.float32)
    rounded = round_significant(values)
    assert rounded[0] == 1.0 and rounded[1] == 1 + 2**-10  # exactly representable: kept
    assert rounded[2] == 1.0  # below half the last kept bit: rounded off
    finite = np.isfinite(values)
    assert np.all(np.abs(rounded[finite] - values[finite]) <= np.abs(values[finite]) * 2.0**-11)
    assert np.isnan(rounded[6]) and rounded[7] == np.inf and rounded[8] == 0.0
    assert np.array_equal(round_significant(rounded), rounded, equal_nan=True)  # again: nothing changes


def test_a_compact_copy_is_smaller_and_says_what_it_rounded(small_catalog, compact_copy, tmp_path):
    exact = publish(small_catalog[0], name="exact", root=tmp_path).path
    assert _bytes(compact_copy) < 0.8 * _bytes(exact)
    manifest = json.loads((compact_copy / "manifest.json").read_text())
    assert set(manifest["published"]["compact"]) == {"channels", "explanations", "reference"}
    assert "compact" not in json.loads((exact / "manifest.json").read_text())["published"]


def test_channel_statistics_keep_three_digits_and_every_other_table_is_exact(small_catalog, compact_copy):
    original, compact = catalog.open(small_catalog[0]), catalog.open(compact_copy)
    query = "SELECT sample_id, layer_id, channel, mean, entropy, score FROM channels ORDER BY ALL"
    before, after = original.execute(query).fetchnumpy(), compact.execute(query).fetchnumpy()
    for column in ("sample_id", "layer_id", "channel"):
        np.testing.assert_array_equal(after[column], before[column])
    for column in ("mean", "entropy", "score"):
        np.testing.assert_allclose(after[column], before[column], rtol=2.0**-11, atol=0)
    for table in ("embeddings", "predictions", "layers", "separability", "images", "thumbnails", "clusters"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert compact.execute(query).fetchall() == original.execute(query).fetchall(), table


def test_guided_pictures_look_the_same_and_grad_cam_is_untouched(small_catalog, compact_copy):
    query = "SELECT gradcam, guided, guided_gradcam FROM explanations ORDER BY sample_id"
    before = catalog.open(small_catalog[0]).execute(query).fetchall()
    after = catalog.open(compact_copy).execute(query).fetchall()
    for (cam_b, *rgb_b), (cam_a, *rgb_a) in zip(before, after, strict=True):
        assert cam_a == cam_b
        for old, new in zip(rgb_b, rgb_a):
            a = np.asarray(Image.open(io.BytesIO(old)).convert("RGB"), np.float64)
            b = np.asarray(Image.open(io.BytesIO(new)).convert("RGB"), np.float64)
            assert a.shape == b.shape
            assert 10 * np.log10(255**2 / max(np.mean((a - b) ** 2), 1e-9)) > 28  # PSNR in dB


def test_an_upload_lands_where_it_lands_on_the_exact_catalog(small_catalog, compact_copy):
    """The PCA basis as float16 moves a new image's place by a small fraction of the map, and its
    nearest samples stay the same."""
    rng = np.random.default_rng(0)
    for layer_id in reference_layer_ids(small_catalog[0])[::5]:
        exact, compact = load_reference(small_catalog[0], layer_id), load_reference(compact_copy, layer_id)
        assert load_reference_arrays(compact_copy, layer_id)["pca_components"].dtype == np.float16
        assert compact.pca_components.dtype == np.float32 and compact.pca_mean.dtype == np.float32
        np.testing.assert_array_equal(compact.features, exact.features)
        spread = float(np.ptp(exact.features, axis=0).max())
        for row in (0, 7, 15):  # an image like a catalog sample: its reconstruction, a little noise added
            image = exact.pca_mean + exact.features[row] @ exact.pca_components
            image = image + rng.normal(scale=0.01 * float(np.abs(image).mean()) + 1e-6, size=image.shape)
            here, there = mapspace.project(exact, image), mapspace.project(compact, image)
            assert np.abs(here - there).max() < 0.01 * spread
            assert [i for i, _ in mapspace.nearest(exact, here, 3)] == [i for i, _ in mapspace.nearest(compact, there, 3)]


def test_the_command_publishes_compact_on_request(small_catalog, tmp_path, capsys):
    publish_command.main([str(small_catalog[0]), "--name", "c", "--out", str(tmp_path), "--compact"])
    assert "published" in capsys.readouterr().out
    assert "compact" in json.loads((tmp_path / "c" / "manifest.json").read_text())["published"]


def test_a_compact_catalog_published_again_is_not_encoded_twice(compact_copy, tmp_path):
    again = publish(compact_copy, name="again", root=tmp_path, compact=True).path
    query = "SELECT guided, guided_gradcam FROM explanations ORDER BY sample_id"
    assert catalog.open(again).execute(query).fetchall() == catalog.open(compact_copy).execute(query).fetchall()


def test_tables_without_lossy_columns_pass_through():
    table = pa.table({"sample_id": pa.array([1, 2], pa.int32()), "score": pa.array([0.1, 0.2], pa.float32())})
    assert compact_table("separability", table).equals(table)
