"""The upload registry is bounded (least recently used out), and a miss is never cached as a placement."""
from __future__ import annotations

import numpy as np
import pandas as pd

import catalog
from app.bounded import BoundedStore


def _analysis(digest: str, vectors: dict | None = None):
    from app import upload
    top = pd.DataFrame({"rank": [1], "class_idx": [0], "class_name": ["tench"], "prob": [1.0]})
    return upload.Analysis(digest, f"{digest}.jpg", top, {"image": b""}, vectors or {})


def test_the_upload_registry_keeps_at_most_its_size(monkeypatch):
    from app import upload
    monkeypatch.setattr(upload, "_REGISTRY", BoundedStore(upload.REGISTRY_SIZE))
    size = upload.REGISTRY_SIZE
    for i in range(size):
        upload.remember("cat", _analysis(f"d{i:03d}"))
    assert upload._find("cat", "d000") is not None  # read: now the most recently used
    for i in range(size, 5 * size):
        upload.remember("cat", _analysis(f"d{i:03d}"))
        assert len(upload._REGISTRY) <= size
        if i < 2 * size - 1:
            assert upload._find("cat", "d000") is not None  # kept alive by being used
    assert len(upload._REGISTRY) == size
    assert upload._find("cat", "d001") is None  # the oldest unused ones went first
    assert [upload._find("cat", f"d{i:03d}") is not None for i in range(4 * size, 5 * size)] == [True] * size
    upload.remember("other", _analysis("d001"))  # same digest, other catalog: its own entry
    assert upload._find("other", "d001") is not None and upload._find("cat", "d001") is None


def test_a_forgotten_upload_is_not_cached_as_unplaced(small_catalog, monkeypatch):
    from app import upload
    monkeypatch.setattr(upload, "_REGISTRY", BoundedStore(upload.REGISTRY_SIZE))
    path, _ = small_catalog
    layer_id = catalog.open(path).execute(
        "SELECT max(layer_id) FROM layers WHERE kind IN ('conv', 'block')").fetchone()[0]
    ref = catalog.load_reference(path, int(layer_id))
    analysis = _analysis("feedface", {int(layer_id): ref.pca_mean.astype(np.float32)})
    assert upload.placement(str(path), analysis.digest, int(layer_id), None) is None  # not remembered yet
    upload.remember(str(path), analysis)
    placed = upload.placement(str(path), analysis.digest, int(layer_id), None)
    assert placed is not None and len(placed["neighbours"]) == 8
    assert np.allclose(placed["pca"], 0.0, atol=1e-4)  # the PCA mean projects onto the origin
    for i in range(upload.REGISTRY_SIZE):  # evicted by newer uploads: no marker, no error
        upload.remember(str(path), _analysis(f"other{i}"))
    assert upload._find(str(path), analysis.digest) is None


def test_each_upload_is_decoded_once_however_often_the_page_reruns(small_catalog, monkeypatch):
    from pathlib import Path

    import pytest
    from PIL import ImageFile

    from app import upload
    from core.errors import BadImage
    monkeypatch.setattr(upload, "_REGISTRY", BoundedStore(upload.REGISTRY_SIZE))
    monkeypatch.setattr(upload, "_REFUSED", BoundedStore(8))
    path, _ = small_catalog
    file = Path(catalog.open(path).execute("SELECT path FROM samples WHERE sample_id = 3").fetchone()[0])
    data = file.read_bytes()
    decodes = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self):
        decodes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    first = upload.load(str(path), data, file.name)
    assert decodes and set(first.pictures) == {"image", "gradcam", "guided", "guided_gradcam"}
    decodes.clear()
    for _ in range(3):  # reruns of the page with the same file
        again = upload.load(str(path), data, file.name)
        assert again.digest == first.digest and again.top.equals(first.top)
    assert decodes == []
    truncated = data[: len(data) // 2]
    for _ in range(3):
        with pytest.raises(BadImage, match="truncated"):
            upload.load(str(path), truncated, "half.jpg")
    assert len(decodes) == 1  # refused once, remembered by digest
