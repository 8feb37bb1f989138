"""A compact publish (`scripts.publish --compact`, the committed demo): smaller, and every view reads what
the build computed to the precision it is shown at."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import catalog
from catalog.compact import GRID_TOLERANCE, _grid_png, bilinear_grid, compact_table, round_significant
from catalog.compare import compare_catalogs
from catalog.layout import reference_layer_ids
from catalog.publish import publish
from catalog.reader import load_reference, load_reference_arrays
from core import heatmaps, mapspace
from core.pictures import rgb_of
from scripts import publish as publish_command


@pytest.fixture(scope="module")
def compact_copy(small_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("compact")
    return publish(small_catalog[0], name="small", root=root, compact=True).path


def _bytes(folder) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _psnr(old: bytes, new: bytes) -> float:
    a, b = rgb_of(old).astype(np.float64), rgb_of(new).astype(np.float64)
    assert a.shape == b.shape
    return 10 * np.log10(255**2 / max(np.mean((a - b) ** 2), 1e-9))


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
    assert set(manifest["published"]["compact"]) == {"channels", "explanations", "images", "reference"}
    assert "compact" not in json.loads((exact / "manifest.json").read_text())["published"]


def test_channel_statistics_keep_three_digits_and_every_other_table_is_exact(small_catalog, compact_copy):
    original, compact = catalog.open(small_catalog[0]), catalog.open(compact_copy)
    query = "SELECT sample_id, layer_id, channel, mean, entropy, score FROM channels ORDER BY ALL"
    before, after = original.execute(query).fetchnumpy(), compact.execute(query).fetchnumpy()
    for column in ("sample_id", "layer_id", "channel"):
        np.testing.assert_array_equal(after[column], before[column])
    for column in ("mean", "entropy", "score"):
        np.testing.assert_allclose(after[column], before[column], rtol=2.0**-11, atol=0)
    for table in ("embeddings", "predictions", "layers", "separability", "thumbnails", "clusters"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert compact.execute(query).fetchall() == original.execute(query).fetchall(), table


def test_guided_pictures_look_the_same(small_catalog, compact_copy):
    query = "SELECT guided, guided_gradcam FROM explanations ORDER BY sample_id"
    before = catalog.open(small_catalog[0]).execute(query).fetchall()
    after = catalog.open(compact_copy).execute(query).fetchall()
    for old_row, new_row in zip(before, after, strict=True):
        for old, new in zip(old_row, new_row):
            assert new[8:12] == b"WEBP" and _psnr(old, new) > 28  # dB


def test_the_model_views_are_webp_that_look_the_same_at_half_the_bytes(small_catalog, compact_copy):
    query = "SELECT image FROM images ORDER BY sample_id"
    before = [b for (b,) in catalog.open(small_catalog[0]).execute(query).fetchall()]
    after = [b for (b,) in catalog.open(compact_copy).execute(query).fetchall()]
    assert len(after) == len(before) == 24 and all(b[8:12] == b"WEBP" for b in after)
    psnr = [_psnr(old, new) for old, new in zip(before, after)]
    assert min(psnr) > 31 and np.mean(psnr) > 34, psnr  # dB against the build's JPEG 90
    assert sum(map(len, after)) < 0.7 * sum(map(len, before))


def test_grad_cam_is_stored_as_its_grid_and_the_inspector_draws_the_same_overlay(small_catalog, compact_copy):
    """EfficientNet-Lite0's Grad-CAM is a 7 x 7 map enlarged to 224 px: the compact copy keeps the 7 x 7,
    and the overlay the inspector draws from it is the build's within a few levels."""
    query = "SELECT e.gradcam, i.image FROM explanations e JOIN images i USING (sample_id) ORDER BY sample_id"
    before = catalog.open(small_catalog[0]).execute(query).fetchall()
    after = catalog.open(compact_copy).execute(query).fetchall()
    for (cam_b, view), (cam_a, _) in zip(before, after, strict=True):
        full, grid = heatmaps.decode(cam_b), heatmaps.decode(cam_a)
        assert full.shape == (224, 224) and grid.shape == (7, 7) and len(cam_a) < len(cam_b) / 10
        enlarged = cv2.resize(grid, (224, 224), interpolation=cv2.INTER_LINEAR).astype(int)
        assert np.abs(enlarged - full).max() <= GRID_TOLERANCE and np.abs(enlarged - full).mean() < 0.5
        image = rgb_of(view)
        drawn_before, drawn_after = heatmaps.overlay(image, full), heatmaps.overlay(image, grid)
        assert drawn_after.shape == drawn_before.shape
        assert np.abs(drawn_after.astype(int) - drawn_before).max() <= 2 * GRID_TOLERANCE


def test_a_map_is_stored_as_its_own_grid_and_one_with_finer_detail_as_it_is():
    rows, columns = np.mgrid[0:5, 0:8]
    bump = np.exp(-((rows - 1.5) ** 2 + (columns - 5) ** 2) / 4).astype(np.float32)
    smooth = cv2.resize(bump, (96, 60))  # enlarged, then scaled to 0-255 as the builder does
    smooth = np.uint8(np.round(255 * (smooth - smooth.min()) / (smooth.max() - smooth.min())))
    grid = bilinear_grid(smooth)
    assert grid.shape == (5, 8)  # the map's own grid, the smallest that fits
    enlarged = cv2.resize(grid, (96, 60), interpolation=cv2.INTER_LINEAR)
    assert np.abs(enlarged.astype(int) - smooth).max() <= GRID_TOLERANCE
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (60, 96), dtype=np.uint8)
    assert bilinear_grid(noise) is None
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    assert _grid_png(buffer.getvalue()) == buffer.getvalue()


def test_an_upload_lands_where_it_lands_on_the_exact_catalog(small_catalog, compact_copy):
    """The PCA basis and features as float16 move a new image's place by a small fraction of the map,
    and its nearest samples stay the same."""
    rng = np.random.default_rng(0)
    for layer_id in reference_layer_ids(small_catalog[0])[::5]:
        exact, compact = load_reference(small_catalog[0], layer_id), load_reference(compact_copy, layer_id)
        stored = load_reference_arrays(compact_copy, layer_id)
        assert all(stored[key].dtype == np.float16 for key in ("pca_components", "pca_mean", "features"))
        assert compact.pca_components.dtype == compact.pca_mean.dtype == compact.features.dtype == np.float32
        np.testing.assert_allclose(compact.features, exact.features, rtol=2.0**-11, atol=2.0**-24)
        assert compact.perplexities == exact.perplexities
        for perplexity in exact.perplexities:
            np.testing.assert_array_equal(compact.tsne_map(perplexity), exact.tsne_map(perplexity))
        spread = float(np.ptp(exact.features, axis=0).max())
        for row in (0, 7, 15):  # an image like a catalog sample: its reconstruction, a little noise added
            image = exact.pca_mean + exact.features[row] @ exact.pca_components
            image = image + rng.normal(scale=0.01 * float(np.abs(image).mean()) + 1e-6, size=image.shape)
            here, there = mapspace.project(exact, image), mapspace.project(compact, image)
            assert np.abs(here - there).max() < 0.01 * spread
            assert [i for i, _ in mapspace.nearest(exact, here, 3)] == [i for i, _ in mapspace.nearest(compact, there, 3)]


def test_every_sample_keeps_its_neighbours_and_layers_compare_as_before(small_catalog, compact_copy):
    """Features as float16 keep nearly every sample's 5 nearest neighbours; where one changes places,
    it was as near (by the build's features) as the one it replaced, to the third digit: a near tie.
    Layers compare (CKA) as before to the third digit."""
    same = total = 0
    for layer_id in reference_layer_ids(small_catalog[0]):
        exact, compact = load_reference(small_catalog[0], layer_id), load_reference(compact_copy, layer_id)
        for sample_id in exact.sample_id:
            here = mapspace.neighbours_of(exact, int(sample_id), 5)
            there = [i for i, _ in mapspace.neighbours_of(compact, int(sample_id), 5)]
            same, total = same + (there == [i for i, _ in here]), total + 1
            distance = dict(mapspace.nearest(exact, exact.features[exact.row_of(int(sample_id))], len(exact.sample_id)))
            np.testing.assert_allclose([distance[i] for i in there], [d for _, d in here], atol=1e-3)
    assert same >= 0.95 * total, (same, total)
    before = compare_catalogs(small_catalog[0], small_catalog[0], min_matched=1).cka
    after = compare_catalogs(compact_copy, small_catalog[0], min_matched=1).cka
    np.testing.assert_allclose(after, before, atol=1e-3)


def test_the_command_publishes_compact_on_request(small_catalog, tmp_path, capsys):
    publish_command.main([str(small_catalog[0]), "--name", "c", "--out", str(tmp_path), "--compact"])
    assert "published" in capsys.readouterr().out
    assert "compact" in json.loads((tmp_path / "c" / "manifest.json").read_text())["published"]


def test_a_compact_catalog_published_again_is_not_encoded_twice(compact_copy, tmp_path):
    again = publish(compact_copy, name="again", root=tmp_path, compact=True).path
    for query in ("SELECT gradcam, guided, guided_gradcam FROM explanations ORDER BY sample_id",
                  "SELECT image FROM images ORDER BY sample_id"):
        assert catalog.open(again).execute(query).fetchall() == catalog.open(compact_copy).execute(query).fetchall()
    for layer_id in reference_layer_ids(compact_copy):
        first, second = load_reference_arrays(compact_copy, layer_id), load_reference_arrays(again, layer_id)
        assert all(np.array_equal(first[key], second[key]) and first[key].dtype == second[key].dtype
                   for key in first)


def test_tables_without_lossy_columns_pass_through():
    table = pa.table({"sample_id": pa.array([1, 2], pa.int32()), "score": pa.array([0.1, 0.2], pa.float32())})
    assert compact_table("separability", table).equals(table)
