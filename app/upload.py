"""Your own image: checked by the bad-image policy, run through the model once, explained, and placed.

The bytes are checked with `core.images.load_rgb_bytes` (size and mode from the header, before any
decoding), so an enormous PNG is refused without being decoded. One forward gives the predictions and
every layer's reduction input; PCA placement is a projection (instant, any layer); t-SNE placement is
openTSNE's transform against the stored reference, computed only for the layer and perplexity on
screen and cached per (image, layer, perplexity).
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app import cached, state
from app.bounded import BoundedStore
from core.errors import BadImage
from core.images import load_rgb_bytes

HELP = "Use a JPEG or PNG photo in colour, at least 32 px on each side and at most 40 megapixels."


@dataclass(frozen=True)
class Analysis:
    digest: str
    name: str
    top: pd.DataFrame  # rank, class_idx, class_name, prob
    pictures: dict[str, bytes]  # image, gradcam, guided, guided_gradcam (encoded)
    vectors: dict[int, np.ndarray]  # layer_id -> reduction input


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def check(data: bytes):
    """The RGB image, or a BadImage whose message says what is wrong and what to use instead."""
    try:
        return load_rgb_bytes(data)
    except BadImage as exc:
        raise BadImage(f"This file cannot be used: {exc.reason}. {HELP}") from None


@st.cache_resource(show_spinner=False, max_entries=8)
def analyse(path: str, digest: str, name: str, _data: bytes) -> Analysis:
    """Predictions, explanations and every layer's reduction input of one image (cached per digest)."""
    from PIL import Image

    from core import explain
    from core.imagenet import by_index
    from core.placement import read_image
    image = check(_data)
    loaded, layer_infos, modules = state.model_for(path)
    reading = read_image(loaded, layer_infos, modules, image)
    top = pd.DataFrame({"rank": np.arange(1, len(reading.top_classes) + 1),
                        "class_idx": reading.top_classes.astype(int),
                        "class_name": [by_index(int(c)).name for c in reading.top_classes],
                        "prob": reading.top_probs.astype(float)})
    view = loaded.preprocess.view(image)
    buffer = io.BytesIO()
    view.save(buffer, format="JPEG", quality=90)
    pictures = {"image": buffer.getvalue()}
    try:
        target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
        maps = explain.explain_batch(loaded.model, target, loaded.preprocess.normalize(view)[None],
                                     [int(reading.top_classes[0])])
        encoded = explain.encode(maps, 0)
        rgb = np.asarray(view.convert("RGB"))
        overlay = explain.overlay(rgb, explain.decode(encoded["gradcam"]))
        buffer = io.BytesIO()
        Image.fromarray(overlay).save(buffer, format="JPEG", quality=88)
        pictures.update(gradcam=buffer.getvalue(), guided=encoded["guided"],
                        guided_gradcam=encoded["guided_gradcam"])
    except (ValueError, RuntimeError):  # a model without a conv map to explain: predictions still shown
        pass
    return Analysis(digest, name, top, pictures, reading.vectors)


class _NotRemembered(LookupError):
    """The upload is no longer in the registry (raised, so that the cache never stores a miss)."""


def placement(path: str, digest: str, layer_id: int, perplexity_used: float | None) -> dict | None:
    """PCA point, t-SNE point (at one used perplexity, or None) and 8 nearest samples at one layer;
    None when the upload is not remembered (any more) or the layer has no reduction input."""
    try:
        return _placement(path, digest, layer_id, perplexity_used)
    except _NotRemembered:
        return None


@st.cache_data(show_spinner=False, max_entries=512)
def _placement(path: str, digest: str, layer_id: int, perplexity_used: float | None) -> dict | None:
    from core.placement import nearest, place_on_tsne, project
    analysis = _find(path, digest)
    if analysis is None:
        raise _NotRemembered(digest)
    if layer_id not in analysis.vectors:
        return None
    ref = cached.reference(path, layer_id)
    point = project(ref, analysis.vectors[layer_id])
    if ref["features"].shape[1] > len(point):
        point = np.pad(point, (0, ref["features"].shape[1] - len(point)))
    out = {"pca": tuple(float(v) for v in point[:2]), "neighbours": nearest(ref, point, 8), "tsne": None}
    if perplexity_used is not None and f"tsne_{perplexity_used:g}" in ref:
        out["tsne"] = tuple(float(v) for v in place_on_tsne(ref, float(perplexity_used), point))
    return out


# The analyses that sessions currently show, by (catalog, digest): shared by every session of the process,
# so bounded (least recently used out). A session whose upload was evicted re-analyses it on its next run
# (analyse() is cached too) or shows no marker until then.
REGISTRY_SIZE = 16
_REGISTRY: BoundedStore[Analysis] = BoundedStore(REGISTRY_SIZE)


def remember(path: str, analysis: Analysis) -> None:
    _REGISTRY.put((path, analysis.digest), analysis)


def _find(path: str, digest: str) -> Analysis | None:
    return _REGISTRY.get((path, digest))


def load(path: str, data: bytes, name: str) -> Analysis:
    """Check, analyse and remember one upload; BadImage (with a clear message) when it cannot be used."""
    check(data)  # refuse before touching the model (a bad file costs nothing)
    analysis = analyse(path, digest_of(data), name, data)
    remember(path, analysis)
    return analysis


# --- the "Your image" panel -----------------------------------------------------------------------------

def _on_file() -> None:
    st.session_state.upload_source = "file"


def _on_pick() -> None:
    st.session_state.upload_source = "pick"


def _source(path: str) -> tuple[bytes, str] | None:
    if st.session_state.get("upload_source") == "pick" and st.session_state.get("upload_pick") is not None:
        table = cached.samples(path).set_index("key")
        file = table.path.get(st.session_state.upload_pick)
        try:
            from pathlib import Path
            return Path(file).read_bytes(), Path(file).name
        except (OSError, TypeError):
            return None
    file = st.session_state.get("upload_file")
    if file is not None:
        return file.getvalue(), file.name
    return None


def render(path: str, layer_id: int, layer_name: str, method: str, used: float | None) -> None:
    from app import inspector
    from app.markup import data_url, escape, sample_thumbs
    left, right = st.columns([1, 1])
    left.file_uploader("Upload a JPEG or PNG", type=["jpg", "jpeg", "png"], key="upload_file", on_change=_on_file)
    table = cached.samples(path)
    keys = [k for k, p in zip(table.key, table.path) if isinstance(p, str) and p]
    right.selectbox("…or pick one from the catalog's folder", keys, index=None, key="upload_pick",
                    on_change=_on_pick, placeholder="a file of this catalog's dataset")
    source = _source(path)
    if source is None:
        if st.session_state.get("upload_digest"):
            st.session_state.upload_digest = None
            st.rerun()
        st.caption(HELP + " The model runs once on it; the image is then placed on every layer's maps.")
        return
    data, name = source
    try:
        with st.spinner("Running the model on your image…"):
            analysis = load(path, data, name)
    except BadImage as exc:
        with st.container(key="upload_error"):
            st.error(str(exc), icon=":material/block:")
        if st.session_state.get("upload_digest"):
            st.session_state.upload_digest = None
            st.rerun()
        return
    if st.session_state.get("upload_digest") != analysis.digest:
        st.session_state.upload_digest = analysis.digest
        st.rerun()  # redraw the data map with the image's point
    with st.spinner("Placing your image on this layer's map…"):
        placed = placement(path, analysis.digest, layer_id, used if method == "tsne" else None)
    top = analysis.top.iloc[0]
    where = ""
    if placed is not None:
        point = placed["tsne"] if method == "tsne" and placed["tsne"] is not None else placed["pca"]
        where = (f" · placed on <b>{escape(layer_name)}</b> ({'t-SNE' if method == 'tsne' else 'PCA'}) at "
                 f"({point[0]:.2f}, {point[1]:.2f}): the yellow star on the data map")
    st.markdown(f"<div class='ls-upload-head' data-testid='upload-result' data-digest='{analysis.digest}'>"
                f"<b>{escape(name)}</b> · predicted <b>{escape(str(top.class_name))}</b> ({float(top.prob):.0%})"
                f"{where}</div>", unsafe_allow_html=True)
    st.checkbox("Show it on the data map", value=True, key="show_upload")
    cells = []
    for kind in ("image", "gradcam", "guided", "guided_gradcam"):
        if analysis.pictures.get(kind):
            cells.append(f'<figure class="ls-pic" data-kind="{kind}"><img src="{data_url(analysis.pictures[kind])}" '
                         f'alt="{kind}"><figcaption>{escape(inspector.PICTURE_CAPTIONS[kind])}</figcaption></figure>')
    pics, bars = st.columns([3, 2])
    pics.html('<div class="ls-pics" data-testid="upload-pictures">' + "".join(cells) + "</div>")
    bars.html(inspector.top10_html(analysis.top))
    if placed is not None:
        labels = table.set_index("sample_id").label_name
        ids = [sid for sid, _ in placed["neighbours"]]
        st.markdown(f"**Its 8 nearest catalog samples at {escape(layer_name)}** (PCA space)")
        st.html(sample_thumbs(path, ids, [f"#{s} {labels.get(s, '?')} · d={d:.2f}" for s, d in placed["neighbours"]],
                              "upload-neighbours"))


def marker(path: str, layer_id: int, method: str, used: float | None) -> tuple[float, float, str] | None:
    """Where the current upload sits on this map (None when there is none, or it is hidden)."""
    digest = st.session_state.get("upload_digest")
    if not digest or not st.session_state.get("show_upload", True) or _find(path, digest) is None:
        return None
    placed = placement(path, digest, layer_id, used if method == "tsne" else None)
    if placed is None:
        return None
    point = placed["tsne"] if method == "tsne" else placed["pca"]
    if point is None:
        return None
    return (point[0], point[1], "your image")
