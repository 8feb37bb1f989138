"""A new image lands on the existing maps; a catalog image placed again lands on its own point."""
import numpy as np
import pytest
from PIL import Image

import catalog
from core.layers import TracedModel
from core.models import load_model
from core.placement import neighbours_of, place, read_image


@pytest.fixture(scope="module")
def model():
    return TracedModel.trace(load_model("efficientnet_lite0"))


def _sample(path, sample_id):
    con = catalog.open(path)
    return con.execute(f"SELECT path, label_idx FROM samples WHERE sample_id = {sample_id}").fetchone()


def test_a_catalog_image_placed_again_lands_on_its_own_point(small_catalog, model):
    path, _ = small_catalog
    con = catalog.open(path)
    layer_id = con.execute("SELECT max(layer_id) FROM layers WHERE kind IN ('conv', 'block')").fetchone()[0]
    sample_id = 5
    image_path, label = _sample(path, sample_id)
    reading = read_image(model, Image.open(image_path))
    stored_top1 = con.execute(f"SELECT class_idx FROM predictions WHERE sample_id = {sample_id} AND rank = 1").fetchone()[0]
    assert reading.top_classes[0] == stored_top1

    reference = catalog.load_reference(path, layer_id)
    placement = place(reference, reading.vectors[layer_id])
    own = con.execute(f"""SELECT method, perplexity, x, y FROM embeddings
                          WHERE layer_id = {layer_id} AND sample_id = {sample_id}""").fetchall()
    pca = next((x, y) for m, _, x, y in own if m == "pca")
    assert np.allclose(placement.pca, pca, atol=1e-3)
    assert placement.neighbours[0][0] == sample_id and placement.neighbours[0][1] < 1e-2
    assert len(placement.neighbours) == 8
    for method, perplexity, x, y in own:
        if method != "tsne":
            continue
        coords = np.array(con.execute(f"""SELECT x, y FROM embeddings WHERE layer_id = {layer_id}
                                          AND method = 'tsne' AND perplexity = {perplexity}""").fetchall())
        tenth = np.sort(np.linalg.norm(coords - np.array([x, y]), axis=1))[10]
        assert np.linalg.norm(placement.tsne[perplexity] - np.array([x, y])) <= tenth, perplexity


def test_neighbours_of_a_sample_exclude_itself_and_are_sorted(small_catalog):
    path, _ = small_catalog
    reference = catalog.load_reference(path, 3)
    found = neighbours_of(reference, 0)
    assert len(found) == 8 and all(sample_id != 0 for sample_id, _ in found)
    distances = [d for _, d in found]
    assert distances == sorted(distances)
    features = reference.features
    row = list(reference.sample_id).index(0)
    a = features / np.linalg.norm(features, axis=1, keepdims=True)
    by_hand = np.sort(1 - a @ a[row])[1]  # cosine distance; [0] is the sample itself
    assert distances[0] == pytest.approx(by_hand, rel=1e-4, abs=1e-6)


def test_an_upload_analysed_in_one_forward_matches_the_catalog_and_its_explanations(small_catalog, model):
    """The upload path (one forward serving statistics and explanations, as the builder's) gives the
    same predictions and reduction inputs as a plain forward, lands on the catalog image's own point,
    and brings its explanations; no gradient is left on the model's parameters."""
    from core.analysis import analyse_image
    path, _ = small_catalog
    con = catalog.open(path)
    layer_id = con.execute("SELECT max(layer_id) FROM layers WHERE kind IN ('conv', 'block')").fetchone()[0]
    image_path, _ = _sample(path, 5)
    image = Image.open(image_path)
    analysis = analyse_image(model, image)
    reading = read_image(model, image)
    assert list(analysis.top_classes) == list(reading.top_classes)
    assert np.allclose(analysis.top_probs, reading.top_probs, atol=1e-5)
    assert set(analysis.vectors) == set(reading.vectors)
    assert all(np.allclose(analysis.vectors[i], reading.vectors[i], atol=1e-4) for i in reading.vectors)
    assert set(analysis.pictures) == {"image", "gradcam", "guided", "guided_gradcam"}
    assert all(len(b) > 500 for b in analysis.pictures.values())
    assert all(p.grad is None for p in model.loaded.model.parameters())

    placement = place(catalog.load_reference(path, layer_id), analysis.vectors[layer_id])
    x, y = con.execute(f"""SELECT x, y FROM embeddings WHERE layer_id = {layer_id} AND sample_id = 5
                           AND method = 'pca'""").fetchone()
    assert np.allclose(placement.pca, (x, y), atol=1e-3)


def test_the_grad_cam_layer_is_probed_for_once_per_model(model, monkeypatch):
    """Finding the Grad-CAM layer runs a probing forward; each upload after the first reuses its answer."""
    import weakref

    from core import analysis, explain
    probes = []
    probe = explain.default_target_layer
    monkeypatch.setattr(analysis, "_targets", weakref.WeakKeyDictionary())
    monkeypatch.setattr(explain, "default_target_layer", lambda *a, **k: probes.append(1) or probe(*a, **k))
    first = analysis.target_layer(model)
    assert first is not None and any(first is m for m in model.loaded.model.modules())
    assert analysis.target_layer(model) is first
    assert len(probes) == 1
