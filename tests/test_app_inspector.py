"""The inspector's store: warmed in the background in chunks, the same HTML as made on demand, bounded."""
from __future__ import annotations

import catalog


def test_warmed_bodies_match_the_ones_made_on_demand(small_catalog, monkeypatch):
    from app import inspector
    monkeypatch.setattr(inspector, "_store", type(inspector._store)())
    path, manifest = small_catalog
    ids = [int(r[0]) for r in catalog.open(path).execute("SELECT sample_id FROM samples ORDER BY 1").fetchall()]
    on_demand = {i: inspector.body(str(path), i) for i in ids[:5]}
    monkeypatch.setattr(inspector, "_store", type(inspector._store)())
    thread = inspector.warm(str(path), ids, pause=0)
    assert thread is not None
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(inspector._store) == len(ids)
    assert inspector.warm(str(path), ids) is None  # nothing left to do
    for i, html in on_demand.items():
        assert inspector._stored(str(path), i) == html
    page = inspector.inspector_html(str(path), ids[0], "pinned")
    assert f'data-sample-id="{ids[0]}"' in page and "pinned" in page
    assert page.count('<figure class="ls-pic"') == 4 and page.count('class="ls-bar"') == 10
    assert inspector.inspector_html(str(path), 10 ** 6, "pinned") is None


def test_the_store_is_bounded(monkeypatch):
    from app import inspector
    monkeypatch.setattr(inspector, "_store", type(inspector._store)())
    monkeypatch.setattr(inspector, "STORE_SIZE", 10)
    for i in range(25):
        inspector._keep("cat", i, f"body {i}")
        assert len(inspector._store) <= 10
    assert inspector._stored("cat", 14) is None and inspector._stored("cat", 24) == "body 24"
