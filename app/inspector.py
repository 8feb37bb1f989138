"""The inspector: one sample's image, labels, top-10 and stored explanations.

A hover reruns only the inspector fragment, and the inspector is one HTML block (pictures inline as
data URLs): its body (pictures and top-10) is made once per sample (three DuckDB lookups and a
Grad-CAM overlay, about 10 ms) and kept in a bounded process-wide store; its head (id, labels, pinned
or hovered) is formatted from a per-catalog dict of the samples table, so pinned and hovered share
one body. (Streamlit's gc.collect() after every run would cost a hover more than the fragment itself:
it is off in .streamlit/config.toml.)
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cached
from app.bounded import BoundedStore
from app.markup import data_url, escape
from core import heatmaps
from core.pictures import overlay_jpeg

PICTURE_CAPTIONS = {
    "image": "Image: the crop the model sees",
    "gradcam": "Grad-CAM: where the evidence for the prediction lies",
    "guided": "Guided backprop: pixels that raise the class score",
    "guided_gradcam": "Guided Grad-CAM: those pixels, where Grad-CAM is high",
}
KINDS = ("image", "gradcam", "guided", "guided_gradcam")
STORE_SIZE = 1200  # inspector bodies kept (about 90 kB each: ~100 MB at most), all catalogs together


def pictures(image: bytes | None, explanations: dict | None) -> dict:
    """Encoded bytes of the four pictures of one sample: the stored image, the Grad-CAM overlay (made
    here, JPEG), and the stored guided maps (WebP) as they are."""
    out = {"image": image}
    if image and explanations:
        out["gradcam"] = overlay_jpeg(image, heatmaps.decode(explanations["gradcam"]))
        out["guided"] = explanations["guided"]
        out["guided_gradcam"] = explanations["guided_gradcam"]
    return out


def top10_html(top) -> str:
    rows = []
    for r in top.itertuples():
        width = max(0.5, float(r.prob) * 100)
        rows.append(f'<div class="ls-bar"><span class="ls-bar-name">{int(r.rank)}. {escape(str(r.class_name))}</span>'
                    f'<span class="ls-bar-track"><span class="ls-bar-fill" style="width:{width:.1f}%"></span></span>'
                    f'<span class="ls-bar-val">{float(r.prob):.1%}</span></div>')
    return '<div class="ls-top10" data-testid="top10">' + "".join(rows) + "</div>"


def body_html(pics: dict, top: pd.DataFrame) -> str:
    """The pictures and the top-10: everything of the inspector that does not depend on pinned/hovered."""
    cells = []
    for name in KINDS:
        if pics.get(name):
            cells.append(f'<figure class="ls-pic" data-kind="{name}"><img src="{data_url(pics[name])}" '
                         f'alt="{name}"><figcaption>{escape(PICTURE_CAPTIONS[name])}</figcaption></figure>')
        else:
            cells.append(f'<figure class="ls-pic missing" data-kind="{name}"><div class="ls-none">not in this '
                         f'catalog</div><figcaption>{escape(PICTURE_CAPTIONS[name])}</figcaption></figure>')
    return '<div class="ls-pics">' + "".join(cells) + "</div>" + top10_html(top)


# --- the process-wide store of bodies, and the per-catalog rows for the heads ---------------------------

_store: BoundedStore[str] = BoundedStore(STORE_SIZE)
_rows: dict[str, dict[int, tuple]] = {}


def _stored(path: str, sample_id: int) -> str | None:
    return _store.get((path, int(sample_id)))


def _keep(path: str, sample_id: int, body: str) -> None:
    _store.put((path, int(sample_id)), body)


def _row(path: str, sample_id: int) -> tuple | None:
    rows = _rows.get(path)
    if rows is None:
        table = cached.samples(path)
        rows = {int(r.sample_id): (str(r.key), str(r.label_name), str(r.pred_name), float(r.confidence),
                                   bool(r.correct)) for r in table.itertuples()}
        _rows[path] = rows
    return rows.get(int(sample_id))


def body(path: str, sample_id: int) -> str:
    """One sample's inspector body: from the store, else made now (three queries) and stored."""
    found = _stored(path, sample_id)
    if found is None:
        stored = cached.sample_view(path, sample_id)
        found = body_html(pictures(stored["image"], stored["explanations"]), stored["top"])
        _keep(path, sample_id, found)
    return found


def inspector_html(path: str, sample_id: int, how: str) -> str | None:
    """The whole inspector as one HTML block: one delta per hover, pictures inline (no extra requests)."""
    row = _row(path, sample_id)
    if row is None:
        return None
    key, label, predicted, confidence, correct = row
    verdict = '<span class="ls-ok">correct</span>' if correct else '<span class="ls-bad">wrong</span>'
    head = (f'<div class="ls-inspector-head" data-sample-id="{int(sample_id)}">'
            f'<span class="ls-sid">#{int(sample_id)}</span> <span class="ls-key">{escape(key)}</span>'
            f' <span class="ls-how">{escape(how)}</span><br>'
            f'true: <b>{escape(label)}</b> · predicted: <b>{escape(predicted)}</b> '
            f'({confidence:.0%}) {verdict}</div>')
    return head + body(path, sample_id)


def render(path: str, sample_id: int, how: str) -> None:
    block = inspector_html(path, sample_id, how)
    if block is None:
        st.info("No sample selected: hover a point in the data map.")
        return
    st.html(block)
