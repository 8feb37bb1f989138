"""Explain at this layer: class activation maps by the grad-cam package's methods, their faithfulness
against a random map, and the layer's concepts, for the pinned sample (the Explain tab) or an upload.

Nothing is computed until a person asks: the first map waits for a button, and from then on a switch
of method or class computes the new map at once (Score-CAM, slow, always waits for its own button).
The slow runs, Score-CAM and the faithfulness scores, show their progress and a Stop button
(`_progress_with_stop`). What was computed before is shown without asking (`app.layer_explain`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import streamlit as st

from app import cached, fragments, layer_explain, settings
from app.layer_map import kind_and_shape
from app.layer_explain import FAST, METHOD_LABELS, METRIC_LABELS, RANDOM, Busy, Subject
from app.markup import data_url, escape
from core.pictures import overlay_jpeg

log = logging.getLogger(__name__)

HOW_TO_READ = ("Higher is more faithful in every column: the map points at pixels the model really uses for "
               "this class. **ROAD**: ROAD combined, the summary; **conf. Δ**: the confidence change when the "
               "image is multiplied by the map; **MoRF**, **LeRF**: ROAD with the most, the least relevant "
               "pixels removed first. A method that does not beat the **random** map's ROAD is not to be "
               "trusted for this image at this layer.")


def sample_subject(path: str, sample_id: int) -> Subject | None:
    """The pinned catalog sample, or None when the catalog keeps no image of it."""
    stored = cached.sample_view(path, int(sample_id))
    if not stored["image"]:
        return None
    return Subject(f"sample-{int(sample_id)}", f"#{int(sample_id)}", stored["image"], stored["top"], int(sample_id))


def render(path: str, layer: pd.Series, subject: Subject | None, prefix: str = "explain") -> None:
    layer_id, layer_name = int(layer["layer_id"]), str(layer["name"])
    if subject is None:
        st.info("This catalog keeps no image of this sample, so there is nothing to explain.")
        return
    st.markdown(f"**Explain {escape(subject.title)} at {escape(layer_name)}**: where the layer finds the evidence "
                "for a class, by the grad-cam package's methods.", unsafe_allow_html=True)
    if not layer_explain.spatial(layer):
        what = "is the image itself" if layer_name == "input" else f"has no spatial map ({kind_and_shape(layer)})"
        st.info(f"**{layer_name}** {what}, so there is no class activation map to draw at it. Pick a layer "
                "with a spatial map: any convolutional layer or block before the pooling.", icon=":material/info:")
        return
    missing = layer_explain.model_missing()
    if missing:
        st.info(f"Explanations at a layer need the model, and this server cannot run it ({missing}): "
                "it serves the catalog's stored pictures only. Run LayerScope on your own machine to "
                "explain any layer.", icon=":material/info:")
        return
    picker, chooser = st.columns([3, 2], gap="small")
    # persist_state: Streamlit keeps the choice while another tab or page runs (it drops it otherwise)
    method = picker.segmented_control("Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get,
                                      default="gradcam", key=f"{prefix}_method", persist_state="session",
                                      wrap=True) or "gradcam"
    class_idx = _class_choice(chooser, subject, prefix)
    with st.container(key=f"{prefix}_results"):  # side by side where wide enough, else stacked (style.css)
        maps_col, scores_col = st.columns([1, 1], gap="medium")
        with maps_col, st.container(key=f"{prefix}_map"):
            _map(path, subject, layer_id, layer_name, class_idx, method, prefix)
        with scores_col, st.container(key=f"{prefix}_scores"):
            _scores(path, subject, layer_id, layer_name, class_idx, prefix)
    with st.container(key=f"{prefix}_concepts"):
        _concepts(path, subject, layer_id, layer_name, prefix)


def _class_choice(column, subject: Subject, prefix: str) -> int:
    """The class to explain among the subject's top-10 (the predicted one by default)."""
    top = subject.top.sort_values("rank")
    names = {int(r.class_idx): f"{int(r.rank)}. {r.class_name} ({float(r.prob):.0%})"
             + (" · predicted" if int(r.rank) == 1 else "") for r in top.itertuples()}
    key = f"{prefix}_class_{subject.key}"
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    chosen = column.selectbox("Class", list(names), format_func=lambda c: names.get(c, str(c)), key=key,
                              persist_state="session",
                              help="The class whose evidence the maps show: the prediction, or any of its top-10.")
    return int(chosen)


def _requested_key(prefix: str) -> str:
    return f"{prefix}_asked"


def _asked(key: str, token: tuple, label: str, **button) -> bool:
    """True once in the run after the button was clicked for `token` (what it asks for); the button
    is drawn only while not asked, so it never stays beside its result (a click sets the state, the
    rerun computes)."""
    if st.session_state.get(key) == token:
        del st.session_state[key]  # one attempt per click: a stopped or refused run does not repeat
        return True
    st.button(label, key=f"{key}_button", on_click=fragments.page_widget(lambda: st.session_state.__setitem__(key, token)), **button)
    return False


@contextmanager
def _progress_with_stop(key: str, label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar and a Stop button while the body runs; yields the progress report (done, total).
    A Stop click reruns the page, which interrupts the run at its next report (Streamlit stops a script
    at its next call once a rerun is asked for); the next run learns of it from `_stop_clicked(key)`."""
    bar = st.progress(0.0, text=f"{label}: starting…")
    stop = st.empty()
    stop.button("Stop", key=f"{key}_stop", on_click=fragments.page_widget(
        lambda: st.session_state.__setitem__(f"{key}_stopped", True)))

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{label}: {done} of {total} {unit}")

    yield progress
    bar.empty()
    stop.empty()


def _stop_clicked(key: str) -> bool:
    """Whether Stop was clicked on `_progress_with_stop(key, ...)` since the last run: true once, in the
    run right after the click (one that came after the run ended finds its result kept, and says nothing)."""
    return st.session_state.pop(f"{key}_stopped", False)


def _say_stopped(message: str) -> None:
    st.info(message, icon=":material/stop_circle:")


def _map(path: str, subject: Subject, layer_id: int, layer_name: str, class_idx: int, method: str,
         prefix: str) -> None:
    label = METHOD_LABELS[method]
    stopped = _stop_clicked(prefix)
    cam = layer_explain.stored_map(path, subject, layer_id, class_idx, method)
    if cam is None:
        if method in FAST:
            # once asked for this image, every switch of method, class or layer computes at once
            if st.session_state.get(_requested_key(prefix)) != subject.key:
                st.caption("Maps are computed on request (about a second each, kept on disk for catalog samples).")
                st.button("Explain at this layer", key=f"{prefix}_explain", type="primary",
                          on_click=fragments.page_widget(
                              lambda: st.session_state.__setitem__(_requested_key(prefix), subject.key)))
            else:
                with st.spinner(f"{label} at {layer_name}…"):
                    cam = _guarded(label, lambda: layer_explain.compute_map(path, subject, layer_name, layer_id,
                                                                            class_idx, method))
        else:
            cam = _slow_map(path, subject, layer_id, layer_name, class_idx, method, prefix, stopped)
    if cam is not None:
        st.html(_figure(overlay_jpeg(subject.view, np.clip(cam, 0, 1)), method,
                        f"{label} · {_class_name(subject, class_idx)} · {layer_name}"))


def _slow_map(path: str, subject: Subject, layer_id: int, layer_name: str, class_idx: int, method: str,
              prefix: str, stopped: bool) -> np.ndarray | None:
    """Score-CAM: on its own button, with a progress bar and a Stop button, under the time limit."""
    label = METHOD_LABELS[method]
    if stopped:
        _say_stopped(f"{label} stopped: nothing was kept. Run it again when you like.")
    limit = layer_explain.time_limit_s()
    bound = f" This server stops it after {limit:g} s." if settings.public_mode() else ""
    st.caption(f"{label} masks the image by each channel of the layer and runs the model on each masked image: "
               f"slow (seconds to minutes).{bound}")
    if not _asked(f"{prefix}_run_slow", (subject.key, layer_id, class_idx), f"Run {label}", type="primary"):
        return None
    with _progress_with_stop(prefix, label, "model passes") as progress:
        return _guarded(label, lambda: layer_explain.compute_map(path, subject, layer_name, layer_id, class_idx,
                                                                 method, progress=progress))


def _scores(path: str, subject: Subject, layer_id: int, layer_name: str, class_idx: int, prefix: str) -> None:
    st.markdown("**Faithfulness** of each method for this image and class")
    key = f"{prefix}_measure"
    scores = layer_explain.stored_scores(path, subject, layer_id, class_idx)
    stopped = _stop_clicked(key)
    if scores is None:
        if stopped:  # a stopped run kept no score: only a whole measurement, every method's, is stored
            _say_stopped("Faithfulness stopped before every method was scored: no score was kept. "
                         "Measure it again when you like.")
        st.caption("Every fast method's map is scored by the grad-cam package's metrics, beside a random map "
                   "(10 to 60 s).")
        if not _asked(key, (subject.key, layer_id, class_idx), "Measure faithfulness"):
            return
        with _progress_with_stop(key, "Faithfulness", "steps") as progress:
            scores = _guarded("Faithfulness", lambda: layer_explain.compute_scores(
                path, subject, layer_name, layer_id, class_idx, progress=progress))
        if scores is None:
            return
    st.dataframe(score_table(scores), key=f"{prefix}_score_table", width="stretch", column_config=COLUMNS)
    st.caption(HOW_TO_READ)


# The table's columns keep the metrics' full names (a download has them); on screen, short labels
# with the full name in their help, so that the table fits the tab's half column without scrolling.
COLUMNS = {
    "beats random": st.column_config.CheckboxColumn(
        "beats random", help="Its ROAD combined is above the random map's: the map is better than chance here."),
    "ROAD combined": st.column_config.NumberColumn(
        "ROAD", format="%.3f",
        help="ROAD combined: half of (least relevant first) minus (most relevant first). The summary score."),
    "confidence change": st.column_config.NumberColumn(
        "conf. Δ", format="%.3f",
        help="Confidence change: the class probability's change when the image is multiplied by the map."),
    "ROAD most relevant first": st.column_config.NumberColumn(
        "MoRF", format="%.3f",
        help="ROAD, most relevant first: the probability's drop when the map's most relevant pixels are "
             "blurred away (stored negated: a larger drop is higher)."),
    "ROAD least relevant first": st.column_config.NumberColumn(
        "LeRF", format="%.3f",
        help="ROAD, least relevant first: the probability's change when the least relevant pixels are "
             "blurred away (near zero is best)."),
}


def score_table(scores: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per method (the random baseline last), one column per metric, and whether the method's
    ROAD combined beats the random map's."""
    methods = [m for m in METHOD_LABELS if m in scores]
    rows = [*methods, RANDOM] if RANDOM in scores else methods
    table = pd.DataFrame([{label: scores[m].get(metric, np.nan) for metric, label in METRIC_LABELS.items()}
                          for m in rows], index=[METHOD_LABELS.get(m, "random (baseline)") for m in rows])
    table.index.name = "method"
    if RANDOM in scores:
        baseline = scores[RANDOM].get("road_combined", np.nan)
        table.insert(0, "beats random", [None if m == RANDOM else bool(scores[m].get("road_combined", np.nan) > baseline)
                                         for m in rows])
    return table


def _concepts(path: str, subject: Subject, layer_id: int, layer_name: str, prefix: str) -> None:
    st.markdown(f"**Concepts at {escape(layer_name)}**: the layer's activations split into "
                f"{layer_explain.CONCEPTS} parts (Deep Feature Factorization), each with the classes it supports.",
                unsafe_allow_html=True)
    found = layer_explain.stored_concepts(path, subject, layer_id)
    if found is None:
        if not _asked(f"{prefix}_find_concepts", (subject.key, layer_id), "Find concepts"):
            return
        with st.spinner(f"Factorising {layer_name}…"):
            found = _guarded("Concepts", lambda: layer_explain.compute_concepts(path, subject, layer_name, layer_id))
        if found is None:
            return
    cells = []
    for number, concept in enumerate(found, start=1):
        classes = " · ".join(f"{_imagenet_name(c)} {p:.0%}" for c, p in concept.classes)
        cells.append(_figure(overlay_jpeg(subject.view, np.clip(concept.heatmap, 0, 1)), f"concept-{number}",
                             f"Concept {number}: {classes}", wrap=False))
    st.html('<div class="ls-pics ls-concepts" data-testid="concepts">' + "".join(cells) + "</div>")


def _figure(picture: bytes, kind: str, caption: str, wrap: bool = True) -> str:
    figure = (f'<figure class="ls-pic" data-kind="{escape(kind)}"><img src="{data_url(picture)}" '
              f'alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>')
    return f'<div class="ls-layer-cam" data-testid="layer-cam" data-method="{escape(kind)}">{figure}</div>' if wrap \
        else figure


def _class_name(subject: Subject, class_idx: int) -> str:
    names = dict(zip(subject.top.class_idx.astype(int), subject.top.class_name.astype(str)))
    return names.get(int(class_idx)) or _imagenet_name(class_idx)


def _imagenet_name(class_idx: int) -> str:
    from core.imagenet import by_index
    try:
        return by_index(int(class_idx)).name
    except IndexError:
        return f"class {int(class_idx)}"


def _guarded(what: str, compute):
    """`compute()`, or None with a message a person can act on: busy, stopped at the time limit, or no
    model on this server."""
    from core.layer_cams import Cancelled
    try:
        return compute()
    except Busy as exc:
        st.warning(str(exc), icon=":material/hourglass_top:")
    except Cancelled:
        limit = layer_explain.time_limit_s()
        where = "This public server limits" if settings.public_mode() else "LayerScope limits"
        st.warning(f"{what} stopped: it ran past the time limit. {where} each explanation to {limit:g} s; "
                   "nothing unfinished was kept.", icon=":material/timer_off:")
    except (ImportError, OSError) as exc:
        log.exception("the model for explanations could not be loaded")
        st.error(f"{what} needs the model, which could not be loaded on this server ({type(exc).__name__}).")
    return None
