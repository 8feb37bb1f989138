"""Explanations at a layer for the Explorer: what is already computed, and computing the rest on request.

The maps and scores come from `catalog.layer_explanations` (the grad-cam package on a twin of the
shared model, `core.twins`, so no run holds the lock other sessions' forwards wait on; a catalog
sample's results kept on disk per build by `catalog.layer_cam_cache`); an upload's are kept only in a
small process-wide store. Reading what is stored needs no torch, so a page can show a
computed map without importing it; everything that runs the model imports torch here, lazily.

Public mode bounds what a visitor can spend: every computation runs under a time limit
(`core.layer_cams.deadline_after`), each session runs one at a time, and the process runs at most
`PUBLIC_RUNS` at once (`Gate`).
"""
from __future__ import annotations

import importlib.util
import io
import os
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app import settings, state
from app.bounded import BoundedStore
from app.cached import manifest
from catalog.activation_cache import build_id
from catalog.layer_cam_cache import LayerCamCache, default_limit_bytes
from catalog.layer_cam_cache import default_root as layer_cam_root

# The grad-cam package's methods by the names people know them by (keys: `core.layer_cams.METHODS`).
METHOD_LABELS = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "hirescam": "HiResCAM", "xgradcam": "XGradCAM",
    "layercam": "LayerCAM", "eigencam": "EigenCAM", "scorecam": "Score-CAM",
}
SLOW = ("scorecam",)  # `core.layer_cams.SLOW_METHODS`, named here so that drawing the picker imports no torch
FAST = tuple(name for name in METHOD_LABELS if name not in SLOW)
RANDOM = "random"
METRIC_LABELS = {  # the faithfulness table's columns, the summary first
    "road_combined": "ROAD combined", "cam_mult_confidence_change": "confidence change",
    "road_morf": "ROAD most relevant first", "road_lerf": "ROAD least relevant first",
}
CONCEPTS = 4

LIMIT_ENV = "LAYERSCOPE_EXPLAIN_LIMIT_S"  # public mode: seconds one computation may run (default 60)
PUBLIC_LIMIT_S = 60.0
OWNER_LIMIT_S = 600.0  # the owner's own machine: a limit only against a run left going by mistake
PUBLIC_RUNS = 2  # computations running at once in the whole process, public mode
HANDOVER_S = 30.0  # the longest a session's run waits for its interrupted previous run to end (`Gate`)


@dataclass(frozen=True, eq=False)
class Subject:
    """What is explained: a catalog sample (kept on disk by id) or an upload (`sample_id` None)."""

    key: str  # "sample-12" or "upload-<digest>": names its widgets and its results
    title: str  # "#12" or "your image"
    view: bytes  # the model-view JPEG: the 224 px crop the model sees
    top: pd.DataFrame = field(repr=False)  # rank, class_idx, class_name, prob
    sample_id: int | None = None


def time_limit_s() -> float:
    """How long one computation may run: a visitor's is bounded (`LAYERSCOPE_EXPLAIN_LIMIT_S`)."""
    if not settings.public_mode():
        return OWNER_LIMIT_S
    try:
        return max(float(os.environ.get(LIMIT_ENV) or PUBLIC_LIMIT_S), 0.0)
    except ValueError:
        return PUBLIC_LIMIT_S


@st.cache_resource(show_spinner=False)
def model_missing() -> str | None:
    """Why this server cannot run explanations (no torch or grad-cam package), or None. Asked of the
    import system, never by importing them: browsing stays torch-free."""
    absent = [name for name in ("torch", "pytorch_grad_cam") if importlib.util.find_spec(name) is None]
    return f"{' and '.join(absent)} not installed" if absent else None


def spatial(layer: pd.Series) -> bool:
    """Whether the layer has a spatial map a CAM can be drawn on: a module's (C, H, W) output."""
    return (str(layer["name"]) not in ("input", "output") and int(layer["channels"]) > 1
            and int(layer["height"]) > 1 and int(layer["width"]) > 1)


# --- what is stored: no torch ---------------------------------------------------------------------------

_maps: BoundedStore[np.ndarray] = BoundedStore(256)  # float16 [224, 224]: ~100 kB each
_scores: BoundedStore[dict] = BoundedStore(256)
_concepts: BoundedStore[list] = BoundedStore(32)


@st.cache_resource(show_spinner=False, max_entries=64)
def _disk_cache(path: str, build: str, root: str, limit_bytes: int) -> LayerCamCache:
    return LayerCamCache.for_catalog(path, manifest(path), Path(root), limit_bytes)


def disk_cache(path: str) -> LayerCamCache:
    """The catalog build's cache of layer CAMs and scores (`.cache/layer_cams/`)."""
    return _disk_cache(path, build_id(manifest(path)), str(layer_cam_root()), default_limit_bytes())


def _build(path: str) -> str:
    """The catalog's build: results kept in memory are keyed by it, so a rebuilt catalog shows new ones."""
    return build_id(manifest(path))


def stored_map(path: str, subject: Subject, layer_id: int, class_idx: int, method: str) -> np.ndarray | None:
    """A map computed before (by this process, or for a catalog sample on disk), float32 [H, W]."""
    found = _maps.get((_build(path), subject.key, layer_id, class_idx, method))
    if found is None and subject.sample_id is not None:
        found = disk_cache(path).get_cams(subject.sample_id, layer_id, class_idx, [method]).get(method)
        if found is not None:
            _maps.put((_build(path), subject.key, layer_id, class_idx, method), found.astype(np.float16))
    return None if found is None else found.astype(np.float32)


def stored_scores(path: str, subject: Subject, layer_id: int, class_idx: int) -> dict | None:
    """method -> metric -> value scored before (at least every fast method and `random`), or None."""
    found = _scores.get((_build(path), subject.key, layer_id, class_idx))
    if found is None and subject.sample_id is not None:
        found = disk_cache(path).get_scores(subject.sample_id, layer_id, class_idx)
    if found is None or not all(name in found for name in (*FAST, RANDOM)):
        return None
    return found


def stored_concepts(path: str, subject: Subject, layer_id: int) -> list | None:
    return _concepts.get((_build(path), subject.key, layer_id))


# --- computing: the model, under the limits ------------------------------------------------------------

class Busy(Exception):
    """This session already has a computation running, or the server has as many as it allows."""


class Gate:
    """One computation at a time per session, and at most `runs` in the process (None: no process cap).

    A session's new run can begin while its previous one is still unwinding: a Stop click (any rerun)
    interrupts a computation only at its next progress report, seconds later, and Streamlit starts the
    rerun meanwhile. The new run waits up to `handover_s` for the old one to give its place back."""

    def __init__(self, runs: int | None, handover_s: float = HANDOVER_S):
        self._slots = None if runs is None else threading.BoundedSemaphore(runs)
        self._running: set[str] = set()
        self._changed = threading.Condition()
        self.handover_s = handover_s

    def enter(self, session: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: session not in self._running, timeout=self.handover_s):
                raise Busy("Your previous explanation is still running: wait for it, or stop it.")
            if self._slots is not None and not self._slots.acquire(blocking=False):
                raise Busy("The server is explaining other visitors' images right now: try again in a minute.")
            self._running.add(session)

    def leave(self, session: str) -> None:
        with self._changed:
            if session in self._running:
                self._running.discard(session)
                if self._slots is not None:
                    self._slots.release()
                self._changed.notify_all()


_public_gate = Gate(PUBLIC_RUNS)
_owner_gate = Gate(None)


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


class _Run:
    """The model, the target layer and the image of one computation, with its stop rule; entered, it
    holds a place at the gate and a twin of the shared model (`core.twins`: the same weights, hooks and
    a lock of its own), so that its forwards, up to the time limit's worth, keep no other session's
    gallery, Channel tab or upload waiting, and no other session's hooks see them."""

    def __init__(self, path: str, subject: Subject, layer_name: str):
        self.path, self.subject, self.layer_name = path, subject, layer_name
        self.gate = _public_gate if settings.public_mode() else _owner_gate
        self.session = _session_id()
        self.limit_s = time_limit_s()

    def __enter__(self) -> _Run:
        self.gate.enter(self.session)
        with ExitStack() as held:  # given back in reverse order when the run ends, or if this fails
            held.callback(self.gate.leave, self.session)
            from core import twins
            from core.layer_cams import deadline_after
            traced = state.model_for(self.path)
            shared = traced.loaded.model
            self.model = held.enter_context(twins.borrowed(shared))
            self.layer = twins.counterpart(shared, self.model, traced.modules[self.layer_name])
            self.image = _tensor(traced, self.subject.view)
            # the time limit; a Stop click interrupts the run at its next progress report instead
            self.should_stop = deadline_after(self.limit_s)
            self._held = held.pop_all()
        return self

    def __exit__(self, *_exc) -> None:
        self._held.close()

    @property
    def cache(self) -> LayerCamCache | None:
        return disk_cache(self.path) if self.subject.sample_id is not None else None


def _tensor(traced, view: bytes):
    """The stored model view, normalised only (never resized again), as `core.activations` reads it."""
    from PIL import Image
    with Image.open(io.BytesIO(view)) as image:
        return traced.loaded.preprocess.normalize(image.convert("RGB"))


def compute_map(path: str, subject: Subject, layer_name: str, layer_id: int, class_idx: int, method: str, *,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """One method's map (computed, or from the disk cache); raises `Busy`, or `core.layer_cams.Cancelled`
    at the time limit."""
    from catalog.layer_explanations import cams_at_layer
    with _Run(path, subject, layer_name) as run:
        _, maps = cams_at_layer(run.model, run.layer, run.image, layer_id, class_idx, [method], cache=run.cache,
                                sample_id=subject.sample_id, progress=progress, should_stop=run.should_stop)
    kept = maps[method].astype(np.float16)  # as the caches keep it, so a later look shows the same picture
    _maps.put((_build(path), subject.key, layer_id, class_idx, method), kept)
    return kept.astype(np.float32)


def compute_scores(path: str, subject: Subject, layer_name: str, layer_id: int, class_idx: int, *,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Each fast method's faithfulness and the random baseline's (Score-CAM's too when its map is stored);
    `progress(done, total)` in steps (`catalog.layer_explanations.faithfulness_at_layer`)."""
    from catalog.layer_explanations import faithfulness_at_layer
    methods = list(FAST)
    if subject.sample_id is not None and stored_map(path, subject, layer_id, class_idx, "scorecam") is not None:
        methods.append("scorecam")  # scored from its stored map, never computed for the table
    with _Run(path, subject, layer_name) as run:
        _, scores = faithfulness_at_layer(run.model, run.layer, run.image, layer_id, class_idx, methods,
                                          cache=run.cache, sample_id=subject.sample_id, progress=progress,
                                          should_stop=run.should_stop)
    _scores.put((_build(path), subject.key, layer_id, class_idx), scores)
    return scores


def compute_concepts(path: str, subject: Subject, layer_name: str, layer_id: int) -> list:
    """`CONCEPTS` concepts of the image at the layer (`core.concepts.Concept`: heat map, top classes)."""
    from core.concepts import concepts
    with _Run(path, subject, layer_name) as run:
        found = concepts(run.model, run.layer, run.image, CONCEPTS, should_stop=run.should_stop)
    _concepts.put((_build(path), subject.key, layer_id), found)
    return found
