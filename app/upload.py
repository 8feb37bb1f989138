"""Your own image: checked once, analysed once (by `core.analysis`), and placed (by `core.placement`).

The bytes are checked with `core.images.load_rgb_bytes` (JPEG, PNG or WebP by content; size and mode
from the header, before any decoding), so an enormous PNG is refused without being decoded. Each
upload is checked and analysed once per digest: a rerun of the page finds the analysis (or the
refusal) and decodes nothing. PCA placement is a projection (instant, any layer); t-SNE placement is
openTSNE's transform against the stored reference, computed only for the layer and perplexity on
screen and cached per (image, layer, perplexity).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app import cached, fragments, separability_chart, state
from app.bounded import BoundedStore
from app.view import METHOD_LABELS
from core.errors import BadImage
from core.images import UPLOAD_FORMATS, UPLOAD_MAX_PIXELS, load_rgb_bytes

MAX_UPLOAD_MB = 10  # keep equal to [server] maxUploadSize in .streamlit/config.toml
HELP = (f"Use a {UPLOAD_FORMATS} photo in colour, at least 32 px on each side, at most "
        f"{UPLOAD_MAX_PIXELS / 1e6:g} megapixels and {MAX_UPLOAD_MB} MB.")


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
def analyse(path: str, digest: str, name: str, _image) -> Analysis:
    """Predictions, explanations and every layer's reduction input of one checked image (per digest)."""
    from core.analysis import analyse_image
    from core.imagenet import by_index
    result = analyse_image(state.model_for(path), _image)
    top = pd.DataFrame({"rank": np.arange(1, len(result.top_classes) + 1),
                        "class_idx": result.top_classes.astype(int),
                        "class_name": [by_index(int(c)).name for c in result.top_classes],
                        "prob": result.top_probs.astype(float)})
    return Analysis(digest, name, top, result.pictures, result.vectors)


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
    from core.placement import NEIGHBOURS, place
    analysis = _find(path, digest)
    if analysis is None:
        raise _NotRemembered(digest)
    if layer_id not in analysis.vectors:
        return None
    ref = cached.reference(path, layer_id)
    on_tsne = perplexity_used is not None and ref.tsne_map(perplexity_used) is not None
    placed = place(ref, analysis.vectors[layer_id], [float(perplexity_used)] if on_tsne else [], k=NEIGHBOURS)
    return {"pca": tuple(float(v) for v in placed.pca), "neighbours": placed.neighbours,
            "tsne": tuple(float(v) for v in placed.tsne[float(perplexity_used)]) if on_tsne else None}


# The analyses that sessions currently show, by (catalog, digest): shared by every session of the process,
# so bounded (least recently used out). A session whose upload was evicted re-analyses it on its next run
# (analyse() is cached too) or shows no marker until then. Refused uploads are remembered by digest, so
# a rerun with a bad file does not decode it again either.
REGISTRY_SIZE = 16
_REGISTRY: BoundedStore[Analysis] = BoundedStore(REGISTRY_SIZE)
_REFUSED: BoundedStore[str] = BoundedStore(64)


def remember(path: str, analysis: Analysis) -> None:
    _REGISTRY.put((path, analysis.digest), analysis)


def _find(path: str, digest: str) -> Analysis | None:
    return _REGISTRY.get((path, digest))


def load(path: str, data: bytes, name: str) -> Analysis:
    """Check, analyse and remember one upload; BadImage (with a clear message) when it cannot be used.

    Each file is decoded once: a rerun with the same bytes finds its analysis (or its refusal) by digest.
    """
    digest = digest_of(data)
    found = _find(path, digest)
    if found is not None:
        return found if found.name == name else dataclasses.replace(found, name=name)
    refused = _REFUSED.get(digest)
    if refused is not None:
        raise BadImage(refused)
    try:
        image = check(data)  # refuse before touching the model (a bad file costs nothing)
    except BadImage as exc:
        _REFUSED.put(digest, str(exc))
        raise
    analysis = analyse(path, digest, name, image)
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


MAX_PICK = 2000  # files offered to pick: 50,000 options would cost every rerun of the Explorer ~0.2 s


def render(path: str, layer_id: int, layer_name: str, method: str, used: float | None) -> None:
    from app import inspector
    from app.markup import data_url, escape, sample_thumbs
    left, right = st.columns([1, 1])
    left.file_uploader(f"Upload a {UPLOAD_FORMATS} image", type=["jpg", "jpeg", "png", "webp"], key="upload_file",
                       on_change=fragments.page_widget(_on_file), help=HELP)
    table = cached.samples(path)
    keys = cached.readable_keys(path)
    keys = keys[::-(-len(keys) // MAX_PICK)] if len(keys) > MAX_PICK else keys  # every k-th: all classes, few options
    right.selectbox("…or pick one from the catalog's folder", keys, index=None, key="upload_pick",
                    on_change=fragments.page_widget(_on_pick), placeholder="a file of this catalog's dataset")
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
        where = (f" · placed on <b>{escape(layer_name)}</b> ({METHOD_LABELS[method]}) at "
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
    _explain(path, layer_id, analysis)
    if placed is not None:
        labels = table.set_index("sample_id").label_name
        ids = [sid for sid, _ in placed["neighbours"]]
        st.markdown(f"**Its 8 nearest catalog samples at {escape(layer_name)}** (cosine distance in PCA space)")
        st.html(sample_thumbs(path, ids, [f"#{s} {labels.get(s, '?')} · d={d:.2f}" for s, d in placed["neighbours"]],
                              "upload-neighbours"))
        hint = separability_chart.depth_hint(*cached.separability(path), layer_id)
        if hint:
            st.caption(hint, help=separability_chart.help_text(cached.separability(path)[1]))


def _explain(path: str, layer_id: int, analysis: Analysis) -> None:
    """The image's class activation maps, faithfulness and concepts at this layer, on request."""
    from app import explain_panel
    from app.layer_explain import Subject
    layers = cached.layers(path)
    layer = layers[layers.layer_id == layer_id].iloc[0]
    subject = Subject(f"upload-{analysis.digest}", "your image", analysis.pictures["image"], analysis.top)
    with st.expander(f"Explain your image at {layer['name']}", icon=":material/visibility:"):
        explain_panel.render(path, layer, subject, prefix="upload_explain")


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
