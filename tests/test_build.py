"""The batch builder end to end: what the catalog holds, bad input, interruption, and VGG16."""
import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

import catalog
from builder import BuildConfig, NoProgress, build_catalog
from builder.batch import fused_batch_size
from catalog.schema import MANIFEST
from core import explain
from core.datasets import SAMPLE_DIR
from core.errors import LayerScopeError
from core.layers import LayerInfo
from core.reduce import EARLY_ITERATIONS, TSNE_ITERATIONS, max_perplexity
from scripts import build_catalog as cli
from tests.pictures import malformed_pngs, photocd_behind, png_claiming_size

REPO = Path(__file__).resolve().parents[1]


def query(path, sql):
    return catalog.open(path).execute(sql).fetchall()


def test_every_sample_has_ten_ranked_predictions(small_catalog):
    path, manifest = small_catalog
    n = manifest["n_samples"]
    assert query(path, "SELECT count(DISTINCT sample_id), count(*) FROM predictions") == [(n, 10 * n)]
    rows = query(path, "SELECT sample_id, rank, prob FROM predictions ORDER BY sample_id, rank")
    probs = np.array([r[2] for r in rows]).reshape(n, 10)
    assert (np.diff(probs, axis=1) <= 0).all() and (probs.sum(axis=1) <= 1 + 1e-5).all()
    assert manifest["top1_accuracy"] >= 0.6  # real weights on real ImageNet images


def test_every_layer_has_pca_and_every_perplexity_used(small_catalog):
    path, manifest = small_catalog
    n, layers = manifest["n_samples"], manifest["n_layers"]
    assert max_perplexity(n) == 7
    assert manifest["perplexities"]["used"] == {"3": 3.0, "30": 7.0}
    rows = query(path, """SELECT method, perplexity, perplexity_requested, count(*), count(DISTINCT layer_id)
                          FROM embeddings GROUP BY ALL ORDER BY ALL""")
    assert rows == [("pca", None, None, n * layers, layers), ("tsne", 3.0, 3.0, n * layers, layers),
                    ("tsne", 7.0, 30.0, n * layers, layers)]


def test_no_two_layers_share_a_map_unless_one_is_an_identity(small_catalog):
    path, _ = small_catalog
    rows = query(path, """SELECT e.layer_id, l.identity, list(x ORDER BY sample_id), list(y ORDER BY sample_id)
                          FROM embeddings e JOIN layers l USING (layer_id)
                          WHERE method = 'tsne' AND perplexity = 3 GROUP BY ALL ORDER BY 1""")
    seen = {}
    for layer_id, identity, xs, ys in rows:
        key = tuple(np.round(xs, 4)) + tuple(np.round(ys, 4))
        assert key not in seen or identity, f"layer {layer_id} repeats layer {seen.get(key)}"
        seen.setdefault(key, layer_id)


def test_channel_statistics_cover_every_map_layer(small_catalog):
    path, manifest = small_catalog
    expected = query(path, "SELECT sum(channels) FROM layers WHERE height > 1 OR kind = 'input'")[0][0]
    per_sample = query(path, "SELECT count(*) FROM channels GROUP BY sample_id")
    assert {row[0] for row in per_sample} == {expected}
    low, high = query(path, "SELECT min(entropy), max(entropy) FROM channels")[0]
    assert 0 <= low and high <= np.log2(10) + 1e-5


def test_explanations_and_images_decode_at_model_resolution(small_catalog):
    path, manifest = small_catalog
    row = query(path, "SELECT gradcam, guided, guided_gradcam, class_idx, sample_id FROM explanations LIMIT 1")[0]
    top1 = query(path, f"SELECT class_idx FROM predictions WHERE sample_id = {row[4]} AND rank = 1")[0][0]
    assert row[3] == top1
    assert explain.decode(row[0]).shape == (224, 224)
    assert explain.decode(row[1]).shape == explain.decode(row[2]).shape == (224, 224, 3)
    image = query(path, "SELECT image FROM images LIMIT 1")[0][0]
    assert Image.open(io.BytesIO(image)).size == (224, 224)


def test_every_sample_has_one_picture_and_one_explanation_of_its_top1(small_catalog):
    """Pictures are encoded in the background, a batch behind the model: none may be lost or doubled,
    and each belongs to its own sample (its class is that sample's top-1)."""
    path, manifest = small_catalog
    n = manifest["n_samples"]
    for table in ("images", "explanations"):
        assert query(path, f"SELECT count(*), count(DISTINCT sample_id) FROM {table}")[0] == (n, n)
    mismatched = query(path, "SELECT count(*) FROM explanations e JOIN predictions p USING (sample_id) "
                             "WHERE p.rank = 1 AND p.class_idx <> e.class_idx")[0][0]
    assert mismatched == 0


def test_reference_places_the_samples_back_onto_the_pca_map(small_catalog):
    path, _ = small_catalog
    layer_id = query(path, "SELECT max(layer_id) FROM layers WHERE kind = 'conv'")[0][0]
    ref = catalog.load_reference(path, layer_id)
    pca = query(path, f"SELECT x, y FROM embeddings WHERE layer_id = {layer_id} AND method = 'pca' ORDER BY sample_id")
    assert np.allclose(ref.features[:, :2], np.array(pca), atol=1e-4)
    assert ref.pca_components.shape[1] == ref.pca_mean.shape[0]


def test_manifest_records_what_was_built(small_catalog):
    _, manifest = small_catalog
    assert manifest["model"]["name"] == "efficientnet_lite0" and manifest["model"]["trained"]
    assert manifest["dataset"]["name"] == "sample" and manifest["n_samples"] == 24
    assert set(manifest["stage_seconds"]) >= {"model", "one_pass", "explanations", "reduction", "total"}
    assert manifest["packages"]["torch"] and manifest["packages"]["openTSNE"]
    # how the t-SNE maps were made, as resolved for 24 samples: Barnes-Hut, the shortened early exaggeration
    assert manifest["tsne"] == {"gradient": "bh", "iterations": TSNE_ITERATIONS, "early_exaggeration_iterations": EARLY_ITERATIONS}


@pytest.mark.slow
def test_bad_images_are_skipped_with_reasons_and_the_build_goes_on(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted(SAMPLE_DIR.glob("*.jpg"))[:6]
    for source in good:
        shutil.copy(source, folder / source.name)
    wnid = good[0].name[:9]
    photo = Image.open(good[0]).convert("RGB")
    photo.convert("CMYK").save(folder / f"{wnid}_cmyk.jpg")
    photo.convert("L").save(folder / f"{wnid}_gray.jpg")
    Image.new("I;16", (64, 64)).save(folder / f"{wnid}_deep.png")
    photo.resize((10, 10)).save(folder / f"{wnid}_tiny.jpg")
    (folder / f"{wnid}_empty.jpg").write_bytes(b"")
    (folder / f"{wnid}_noise.jpg").write_bytes(np.random.default_rng(0).bytes(2000))
    (folder / f"{wnid}_cut.jpg").write_bytes(good[1].read_bytes()[:3000])
    (folder / f"{wnid}_huge.png").write_bytes(png_claiming_size(30000, 30000))
    path, manifest = build_catalog(BuildConfig(dataset=str(folder), perplexities=(30,), out=tmp_path / "c"),
                                   progress=NoProgress, log=lambda _: None)
    reasons = {Path(s["path"]).stem.split("_", 1)[1]: s["reason"] for s in manifest["skipped"]}
    assert set(reasons) == {"cmyk", "gray", "deep", "tiny", "empty", "noise", "cut", "huge"}
    assert len(set(reasons.values())) == 8  # each says what is wrong in its own words
    assert manifest["n_samples"] == 6 and manifest["perplexities"]["used"] == {"30": 1.0}
    assert len(pq.read_table(path / "skipped.parquet")) == 8
    assert query(path, "SELECT count(DISTINCT sample_id) FROM embeddings") == [(6,)]
    assert query(path, "SELECT count(*) FROM samples") == [(6,)]  # skipped files are not samples


def test_a_malformed_png_or_a_disguised_file_is_skipped_and_the_build_finishes(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted(SAMPLE_DIR.glob("*.jpg"))[:4]
    for source in good:
        shutil.copy(source, folder / source.name)
    wnid = good[0].name[:9]
    for kind, data in malformed_pngs().items():
        (folder / f"{wnid}_{kind}.png").write_bytes(data)
    (folder / f"{wnid}_photocd.png").write_bytes(photocd_behind(b"\x89PNG\r\n\x1a\n"))
    path, manifest = build_catalog(BuildConfig(dataset=str(folder), perplexities=(30,), out=tmp_path / "c"),
                                   progress=NoProgress, log=lambda _: None)
    reasons = {Path(s["path"]).stem.split("_", 1)[1]: s["reason"] for s in manifest["skipped"]}
    assert reasons == {"ztxt": "corrupt image data", "iccp": "corrupt image data", "trns": "corrupt image data",
                       "photocd": "not an image"}
    assert manifest["n_samples"] == 4
    assert query(path, "SELECT count(*) FROM samples") == [(4,)]


def test_command_line_errors_are_clear_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "c"
    assert cli.main(["--dataset", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert cli.main(["--weights", str(tmp_path / "none.pth"), "--samples", "2", "--out", str(out)]) == 2
    assert "no weights file" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit):
        cli.main(["--perplexities", "ten"])


def test_a_folder_of_only_bad_images_fails_with_the_reasons(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "n01440764_empty.jpg").write_bytes(b"")
    with pytest.raises(LayerScopeError, match="n01440764_empty.jpg: empty file"):
        build_catalog(BuildConfig(dataset=str(folder), out=tmp_path / "c"), progress=NoProgress, log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_a_build_killed_midway_keeps_the_old_catalog_and_a_rerun_finishes(small_catalog, tmp_path):
    out = tmp_path / "c"
    shutil.copytree(small_catalog[0], out)
    before = (out / MANIFEST).read_text()
    command = [sys.executable, "-m", "scripts.build_catalog", "--samples", "8", "--perplexities", "2",
               "--batch-size", "2", "--out", str(out)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not any((p / "channels.parquet").exists() for p in tmp_path.glob(".c.tmp-*")):
            assert process.poll() is None and time.time() < deadline, "the build ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        process.kill()
    assert (out / MANIFEST).read_text() == before
    assert query(out, "SELECT count(*) FROM samples") == [(small_catalog[1]["n_samples"],)]  # still readable
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    assert catalog.load_manifest(out)["n_samples"] == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


@pytest.mark.slow
def test_vgg16_random_on_100_images_maps_every_layer(tmp_path):
    """The acceptance run: VGG16 (untrained) on a folder, 100 samples, every layer and perplexity."""
    path, manifest = build_catalog(
        BuildConfig(model="vgg16", weights="random", dataset=str(SAMPLE_DIR), samples=100, out=tmp_path / "v"),
        progress=NoProgress, log=lambda _: None)
    assert manifest["n_layers"] >= 37 and manifest["model"]["label"] == "VGG16 (untrained)"
    assert manifest["perplexities"]["used"] == {"10": 10.0, "30": 30.0, "90": 33.0}
    counts = query(path, """SELECT method, perplexity, count(DISTINCT sample_id), count(DISTINCT layer_id)
                            FROM embeddings GROUP BY ALL ORDER BY ALL""")
    assert [(m, p) for m, p, *_ in counts] == [("pca", None), ("tsne", 10.0), ("tsne", 30.0), ("tsne", 33.0)]
    assert all(samples == 100 and layers == manifest["n_layers"] for *_, samples, layers in counts)
    rows = query(path, """SELECT layer_id, identity, list(x ORDER BY sample_id) FROM embeddings
                          JOIN layers USING (layer_id) WHERE method = 'pca' GROUP BY ALL ORDER BY 1""")
    distinct = {tuple(np.round(xs, 5)) for _, identity, xs in rows if not identity}
    assert len(distinct) == sum(not identity for _, identity, _ in rows)


@pytest.mark.slow
def test_command_line_builds_imagenette_from_a_local_archive(tmp_path, capsys, download_cache):
    from tests.test_datasets import _fake_imagenette

    archive = _fake_imagenette(tmp_path)
    out = tmp_path / "nette"
    code = cli.main(["--dataset", "imagenette", "--data-dir", str(archive), "--samples", "6",
                     "--perplexities", "1", "--out", str(out)])
    assert code == 0
    summary = capsys.readouterr().out
    assert "samples" in summary and "top-1 accuracy" in summary and "time:" in summary
    rows = query(out, "SELECT DISTINCT wnid, dataset_class FROM samples ORDER BY 2")
    assert len(rows) == 3 and [r[1] for r in rows] == [0, 1, 2]
    assert catalog.load_manifest(out)["dataset"]["name"] == "imagenette"
    assert (download_cache / "extracted" / "imagenette2-160" / "val").is_dir()  # unpacked into the cache


def test_separability_is_stored_for_every_layer(small_catalog):
    path, manifest = small_catalog
    rows = query(path, "SELECT layer_id, k, knn_accuracy, knn_accuracy_group FROM separability ORDER BY 1")
    assert [r[0] for r in rows] == list(range(manifest["n_layers"]))
    assert all(r[1] == 10 and 0 <= r[2] <= 1 and 0 <= r[3] <= 1 for r in rows)
    # 24 samples of 24 different classes: no sample has a same-class neighbour
    assert all(r[2] == 0 for r in rows)


def test_separability_is_ranked_by_the_distance_the_neighbour_views_use(small_catalog):
    """The curve, the Neighbours tab and uploads agree: the stored accuracy is recomputed here from the
    stored PCA coordinates with core.distance, the measure placement.nearest ranks by."""
    from core.distance import distances
    path, manifest = small_catalog
    assert manifest["separability"] == {"k": 10, "metric": "cosine"}
    groups = dict(query(path, "SELECT sample_id, group_name FROM samples"))
    for layer_id, stored in query(path, "SELECT layer_id, knn_accuracy_group FROM separability ORDER BY 1")[::6]:
        ref = catalog.load_reference(path, layer_id)
        ids, features = ref.sample_id, ref.features
        right = 0
        for row in range(len(ids)):
            order = [j for j in np.argsort(distances(features, features[row]), kind="stable") if j != row][:10]
            votes = [groups[int(ids[j])] for j in order]
            counts = {g: votes.count(g) for g in votes}
            best = max(counts.values())
            right += next(g for g in votes if counts[g] == best) == groups[int(ids[row])]
        assert stored == pytest.approx(right / len(ids), abs=1 / len(ids) + 1e-6), layer_id


def test_pooled_features_group_their_neighbours_above_a_measured_floor(small_catalog):
    """At global_pool the 24 sample images' coarse groups are found among their 10 nearest neighbours
    more often by cosine distance (measured 0.21) than Euclidean distance ranked them (0.04)."""
    path, _ = small_catalog
    accuracy = query(path, """SELECT knn_accuracy_group FROM separability JOIN layers USING (layer_id)
                              WHERE name = 'global_pool'""")[0][0]
    assert accuracy >= 0.15


def test_the_fused_batch_fits_its_activation_budget():
    # Two layers of 3x10x10 and 50 numbers: 350 floats, 1400 bytes an image.
    layers = [LayerInfo(0, "input", "input", (3, 10, 10), 0, "Tensor"), LayerInfo(1, "output", "output", (50,), 0, "Tensor")]
    assert fused_batch_size(layers, 16, budget=1400 * 5) == 5
    assert fused_batch_size(layers, 4, budget=1400 * 5) == 4
    assert fused_batch_size(layers, 16, budget=100) == 1
