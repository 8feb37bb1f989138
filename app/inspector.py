"""The inspector: one sample's image, labels, top-10 and stored explanations."""
from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import streamlit as st
from PIL import Image

from app import state
from core import explain

LINES = {
    "image": "Image: the crop the model sees",
    "gradcam": "Grad-CAM: where the evidence for the prediction lies",
    "guided": "Guided backprop: pixels that raise the class score",
    "guided_gradcam": "Guided Grad-CAM: those pixels, where Grad-CAM is high",
}


@st.cache_data(show_spinner=False, max_entries=2048)
def panels(path: str, sample_id: int) -> dict:
    """PNG/JPEG bytes for the four pictures of one sample (decoded and overlaid once, then cached)."""
    view = state.sample_view(path, sample_id)
    out = {"image": view["image"]}
    ex = view["explanations"]
    if view["image"] and ex:
        rgb = np.asarray(Image.open(io.BytesIO(view["image"])).convert("RGB"))
        cam = explain.decode(ex["gradcam"])
        out["gradcam"] = _png(explain.overlay(rgb, cam))
        out["guided"] = ex["guided"]
        out["guided_gradcam"] = ex["guided_gradcam"]
    return out


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def top10_html(top) -> str:
    rows = []
    for r in top.itertuples():
        width = max(0.5, float(r.prob) * 100)
        rows.append(f'<div class="ls-bar"><span class="ls-bar-name">{int(r.rank)}. {escape(str(r.class_name))}</span>'
                    f'<span class="ls-bar-track"><span class="ls-bar-fill" style="width:{width:.1f}%"></span></span>'
                    f'<span class="ls-bar-val">{float(r.prob):.1%}</span></div>')
    return '<div class="ls-top10" data-testid="top10">' + "".join(rows) + "</div>"


def _data_url(data: bytes) -> str:
    kind = "png" if data[:4] == b"\x89PNG" else "webp" if data[8:12] == b"WEBP" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


@st.cache_data(show_spinner=False, max_entries=4096)
def inspector_html(path: str, sample_id: int, how: str) -> str | None:
    """The whole inspector as one HTML block: one delta per hover, pictures inline (no extra requests)."""
    table = state.samples(path)
    row = table[table.sample_id == sample_id]
    if row.empty:
        return None
    row = row.iloc[0]
    view = state.sample_view(path, sample_id)
    verdict = ('<span class="ls-ok">correct</span>' if row.correct else '<span class="ls-bad">wrong</span>')
    head = (f'<div class="ls-inspector-head" data-sample-id="{int(sample_id)}">'
            f'<span class="ls-sid">#{int(sample_id)}</span> <span class="ls-key">{escape(str(row.key))}</span>'
            f' <span class="ls-how">{escape(how)}</span><br>'
            f'true: <b>{escape(str(row.label_name))}</b> · predicted: <b>{escape(str(row.pred_name))}</b> '
            f'({float(row.confidence):.0%}) {verdict}</div>')
    pics = panels(path, sample_id)
    cells = []
    for name in ("image", "gradcam", "guided", "guided_gradcam"):
        if pics.get(name):
            cells.append(f'<figure class="ls-pic" data-kind="{name}"><img src="{_data_url(pics[name])}" '
                         f'alt="{name}"><figcaption>{escape(LINES[name])}</figcaption></figure>')
        else:
            cells.append(f'<figure class="ls-pic missing" data-kind="{name}"><div class="ls-none">not in this '
                         f'catalog</div><figcaption>{escape(LINES[name])}</figcaption></figure>')
    return head + '<div class="ls-pics">' + "".join(cells) + "</div>" + top10_html(view["top"])


def render(path: str, sample_id: int, how: str) -> None:
    html = inspector_html(path, sample_id, how)
    if html is None:
        st.info("No sample selected: hover a point in the data map.")
        return
    st.html(html)
