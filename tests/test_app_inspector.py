"""The inspector's store: one body per sample shared by pinned and hovered, the same HTML every time,
bounded."""
from __future__ import annotations

import catalog
from app.bounded import BoundedStore


def test_bodies_are_made_once_and_shared_by_pinned_and_hovered(small_catalog, monkeypatch):
    from app import inspector
    monkeypatch.setattr(inspector, "_store", BoundedStore(inspector.STORE_SIZE))
    path, manifest = small_catalog
    ids = [int(r[0]) for r in catalog.open(path).execute("SELECT sample_id FROM samples ORDER BY 1").fetchall()]
    pinned = inspector.inspector_html(str(path), ids[0], "pinned")
    assert len(inspector._store) == 1
    hovered = inspector.inspector_html(str(path), ids[0], "hovered · click to pin")
    assert len(inspector._store) == 1  # the same body
    assert f'data-sample-id="{ids[0]}"' in pinned and "pinned" in pinned and "click to pin" in hovered
    assert pinned.count('<figure class="ls-pic"') == 4 and pinned.count('class="ls-bar"') == 10
    body = inspector._stored(str(path), ids[0])
    assert pinned.endswith(body) and hovered.endswith(body)
    monkeypatch.setattr(inspector, "_store", BoundedStore(inspector.STORE_SIZE))
    assert inspector.body(str(path), ids[0]) == body  # made again: identical
    assert inspector.inspector_html(str(path), 10 ** 6, "pinned") is None


def test_the_store_is_bounded(monkeypatch):
    from app import inspector
    monkeypatch.setattr(inspector, "_store", BoundedStore(10))
    for i in range(25):
        inspector._keep("cat", i, f"body {i}")
        assert len(inspector._store) <= 10
    assert inspector._stored("cat", 14) is None and inspector._stored("cat", 24) == "body 24"
