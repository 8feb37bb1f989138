"""Catalog samples as thumbnails a click pins (its script and style: `sample_grid.js`, `sample_grid.css`).

The Failures and Neighbours tabs show samples a person wants to look at next: a click on one pins it, as
a click on its point of the data map does.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app import cached, fragments
from app.browser_values import known_int
from app.markup import sample_thumbs

_HERE = Path(__file__).parent
_grid = st.components.v2.component(
    "layerscope.sample_grid", js=(_HERE / "sample_grid.js").read_text(encoding="utf-8"),
    css=(_HERE / "sample_grid.css").read_text(encoding="utf-8"))


def pickable_thumbs(path: str, ids: list[int], captions: list[str], testid: str, key: str,
                    on_pin: Callable[[int], None], pinned: int | None = None,
                    marked: set[int] | None = None, marked_title: str = "same label") -> None:
    """Thumbnails of `ids` with `captions`; a click on one calls `on_pin(sample_id)` with a sample of
    the catalog (whatever else the browser sends is dropped). The pinned one, if shown, is framed white."""
    html = sample_thumbs(path, ids, captions, testid, marked, marked_title, pinned)

    def picked() -> None:
        value = st.session_state.get(key)
        sent = value.get("pin") if isinstance(value, dict) else getattr(value, "pin", None)
        sample_id = known_int(sent, cached.sample_ids(path))
        if sample_id is not None:
            on_pin(sample_id)

    _grid(data={"html": html, "key": hashlib.sha1(html.encode()).hexdigest()[:12]}, key=key,
          on_pin_change=fragments.page_widget(picked))
