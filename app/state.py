"""The model cache, thin wrappers over the disk cache of activations (computed on request by
core.activations, kept by catalog.activation_cache outside the read-only catalog), and the worker
thread that runs the gallery's forwards (and warms the Channel tab's).

Cached catalog queries live in app.cached, session setup in app.session, CSS in app.style, catalog
listing and model labels in app.catalogs.
"""
from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from app import settings
from app.cached import manifest, sample_view
from catalog.activation_cache import ActivationCache, build_id, default_limit_bytes
from catalog.activation_cache import default_root as activation_cache_root

log = logging.getLogger(__name__)

_models: dict[tuple[str, str], object] = {}
_models_lock = threading.Lock()


def model(name: str, weights: str):
    """The model and its traced layer graph (a `core.layers.TracedModel`), loaded once per process.

    A plain dict under a lock rather than st.cache_resource, so that the preloading thread (no script
    run of its own) fills the same cache, and a run that asks meanwhile waits for that one load."""
    with _models_lock:
        if (name, weights) not in _models:
            from core.layers import TracedModel
            from core.models import load_model
            _models[name, weights] = TracedModel.trace(load_model(name, weights))
        return _models[name, weights]


def _model_of(path: str) -> tuple[str, str]:
    m = manifest(path)["model"]
    return m["name"], "default" if m.get("trained", True) else "random"


PRELOAD_WAIT_S = 8.0  # the longest a preload waits for a browser to report the data map drawn
_map_drawn = threading.Event()


def map_drawn() -> None:
    """A browser has drawn the Explorer's data map (the plot bridge says so once a page): a preload
    waiting for it may start."""
    _map_drawn.set()


def preload_model(path: str) -> None:
    """Load the catalog's model in a background thread (once per process and model), so that the first
    gallery, Channel tab or upload finds it loaded instead of waiting seconds for it.

    The load (importing torch, reading the weights, tracing) takes seconds of CPU, which on a small
    machine would delay the first map's drawing in the browser: the thread waits until a browser has
    drawn the map (`map_drawn`), or PRELOAD_WAIT_S where none says so. A run that needs the model
    meanwhile loads it itself. At normal priority: a run that needs the model waits on this load, and
    torch's worker threads started by its trace forward would inherit a lowered one. Owner mode only:
    public browsing never imports torch."""
    if not settings.builds_allowed():
        return
    key = _model_of(path)
    with _preloads_lock:
        if key in _preloads:
            return
        _preloads.add(key)

    def load() -> None:
        _map_drawn.wait(PRELOAD_WAIT_S)
        if _exiting.is_set():
            return
        try:
            model(*key)
        except Exception:  # a run that needs the model loads it again and reports what fails
            log.exception("preloading the model %s failed", key)

    thread = threading.Thread(target=load, name="layerscope-model-preload", daemon=True)
    _preload_threads.append(thread)
    thread.start()


_preloads: set[tuple[str, str]] = set()
_preloads_lock = threading.Lock()
_preload_threads: list[threading.Thread] = []
_exiting = threading.Event()


@atexit.register
def _finish_preloads() -> None:
    """At the process's exit: a preload still waiting gives up, one under way ends first. The interpreter
    stops daemon threads where they stand, and one stopped inside torch's import or trace aborts the
    process ("terminate called without an active exception"). Atexit runs before that."""
    _exiting.set()
    _map_drawn.set()
    for thread in _preload_threads:
        thread.join(timeout=120)


def model_for(path: str):
    return model(*_model_of(path))


# --- activations: computed on request (core.activations), kept by catalog.activation_cache ----------------

@st.cache_resource(show_spinner=False, max_entries=64)
def activation_cache(path: str, build: str, root: str, limit_bytes: int) -> ActivationCache:
    """One cache object per catalog build and setting (opening it removes older builds' folders)."""
    return ActivationCache.for_catalog(path, manifest(path), Path(root), limit_bytes)


def _cache(path: str) -> ActivationCache:
    return activation_cache(path, build_id(manifest(path)), str(activation_cache_root()), default_limit_bytes())


def cached_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray | None:
    return _cache(path).get(sample_id, layer_id)


def _forward_and_keep(model_key: tuple[str, str], image: bytes, cache: ActivationCache, sample_id: int) -> None:
    """One forward for the sample's stored model-view image; every layer's map saved (float16). On one
    thread: a single image's ops are too small to share (`core.forward.intra_op_threads`)."""
    from core.activations import view_activations
    from core.forward import intra_op_threads
    traced = model(*model_key)
    with intra_op_threads(1):
        maps = view_activations(traced, image)
    cache.put_many(sample_id, maps)


# The gallery's forwards run on a worker thread, not in the visitor's script run: a session runs one script
# at a time, so a forward in its run (seconds for VGG16, longer while other visitors' forwards hold the
# model) would hold back every hover and click of that visitor until it ends.
_jobs: dict[tuple[str, int], Future] = {}
_jobs_lock = threading.RLock()  # a job done before its callback is added forgets itself at once
_workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="layerscope-activations")  # one model lock


def activations_job(path: str, sample_id: int) -> Future:
    """The forward that computes and saves the sample's activations: the one under way (any session's),
    or a new one. A finished one forgets itself: the cache holds its result, and a failure is for the
    sessions that hold the job to report (app.gallery keeps it in its session), so a failure nobody
    views again is not kept here."""
    key = (path, int(sample_id))
    with _jobs_lock:
        job = _jobs.get(key)
        if job is None:
            # what the worker needs is read here, in the script run (the catalog's caches are Streamlit's)
            job = _workers.submit(_forward_and_keep, _model_of(path), sample_view(path, int(sample_id))["image"],
                                  _cache(path), int(sample_id))
            _jobs[key] = job
            job.add_done_callback(lambda done: forget_job(key, done))
        return job


def begin_activations(path: str, sample_id: int, layer_id: int) -> Future | None:
    """Start the sample's forward now, unless its map of `layer_id` is on disk (None): a person pinned
    it, and the rerun that follows rebuilds the page above the gallery (map, depth strip, inspector)
    meanwhile, so the gallery finds the maps computed or nearly."""
    if cached_activation(path, sample_id, layer_id) is None:
        return activations_job(path, sample_id)
    return None


def has_activations_job(path: str, sample_id: int) -> bool:
    """A forward of the sample is under way."""
    with _jobs_lock:
        return (path, int(sample_id)) in _jobs


def activations_job_running(path: str, sample_id: int) -> bool:
    with _jobs_lock:
        job = _jobs.get((path, int(sample_id)))
    return job is not None and not job.done()


def forget_job(key: tuple[str, int], job: Future) -> None:
    """Drop `job` (done) so that the next request for its sample starts a new one."""
    with _jobs_lock:
        if _jobs.get(key) is job:
            del _jobs[key]


def layer_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray:
    """One layer's full activation of one sample: from the disk cache, else one forward (saved)."""
    return layer_activations(path, [sample_id], layer_id)[0]


def _batch_and_keep(model_key: tuple[str, str], views: list[bytes], cache: ActivationCache,
                    sample_ids: list[int], layer_id: int) -> list[np.ndarray]:
    """One batched forward of these stored model-view images up to one layer, its maps saved (float16) and
    returned (float32). On one thread, as a single image's forward (`_forward_and_keep`)."""
    from core.activations import views_activations
    from core.forward import intra_op_threads
    traced = model(*model_key)
    with intra_op_threads(1):
        computed = [found[layer_id] for found in views_activations(traced, views, [layer_id])]
    cache.put_entries((sample_id, layer_id, array) for sample_id, array in zip(sample_ids, computed))
    return [array.astype(np.float32) for array in computed]


WARM_WAIT_S = 30.0  # the longest a run waits for the worker's forward of the maps it asks for
# A warm-up waits this long before it reads or computes anything: it is asked for as a gallery goes out,
# and on a small machine the browser drawing that gallery shares the CPU with it.
WARM_DELAY_S = 1.5
_warming: dict[tuple[str, int, tuple[int, ...]], Future] = {}
_warm_timers: dict[tuple[str, int], threading.Timer] = {}


def warm_layer_activations(path: str, layer_id: int, sample_ids_of: Callable[[], list[int] | None],
                           delay_s: float | None = None) -> None:
    """`delay_s` (WARM_DELAY_S) from now, queue on the worker one batched forward of the samples
    `sample_ids_of()` names at one layer (the Channel tab's nine maps), unless their maps are on disk or
    queued already: the tab then opens without its forward. Everything, `sample_ids_of` included, runs
    after the delay, on a timer thread that shares the calling script run's context (Streamlit's caches);
    a run that asks for maps of this layer meanwhile calls it off (`layer_activations`). A failed one is
    forgotten; the tab computes its maps and says what fails."""
    layer_key = (path, int(layer_id))

    def queue(timer: threading.Timer | None = None) -> None:
        with _jobs_lock:
            if timer is not None and _warm_timers.pop(layer_key, None) is not timer:
                return  # called off: a run computes this layer's maps itself
        ids = sample_ids_of()
        if not ids:
            return
        key, cache = (path, int(layer_id), tuple(int(s) for s in ids)), _cache(path)
        with _jobs_lock:
            missing = [s for s in key[2] if not cache.file(s, key[1]).is_file()]
            if key in _warming or not missing:
                return
        views = [sample_view(path, s)["image"] for s in missing]
        with _jobs_lock:
            if key in _warming:
                return
            job = _workers.submit(_batch_and_keep, _model_of(path), views, cache, missing, key[1])
            _warming[key] = job
            job.add_done_callback(lambda done: _forget_warming(key, done))

    delay_s = WARM_DELAY_S if delay_s is None else delay_s
    if delay_s <= 0:
        queue()
        return
    timer = threading.Timer(delay_s, lambda: queue(timer))
    timer.daemon = True
    add_script_run_ctx(timer, get_script_run_ctx())
    with _jobs_lock:
        if layer_key in _warm_timers:
            return
        _warm_timers[layer_key] = timer
    timer.start()


def _forget_warming(key: tuple[str, int, tuple[int, ...]], job: Future) -> None:
    with _jobs_lock:
        if _warming.get(key) is job:
            del _warming[key]


def layer_activations(path: str, sample_ids: list[int], layer_id: int) -> list[np.ndarray]:
    """One layer's full activation of each sample (float32, in order): those on disk read, all the others
    computed together in one batched forward and saved. Maps the worker is computing already
    (`warm_layer_activations`) are waited for, not computed twice."""
    key = (path, int(layer_id), tuple(int(s) for s in sample_ids))
    with _jobs_lock:
        warming = _warming.get(key)
        waiting = _warm_timers.pop(key[:2], None)  # not begun: this run computes them, the warm-up is called off
    if waiting is not None:
        waiting.cancel()
    if warming is not None:
        try:
            warming.result(timeout=WARM_WAIT_S)
        except Exception:  # failed or slow: the maps still missing are computed below
            pass
    maps = [cached_activation(path, int(sample_id), layer_id) for sample_id in sample_ids]
    missing = [i for i, found in enumerate(maps) if found is None]
    if missing:
        computed = _batch_and_keep(_model_of(path), [sample_view(path, int(sample_ids[i]))["image"] for i in missing],
                                   _cache(path), [int(sample_ids[i]) for i in missing], int(layer_id))
        for i, array in zip(missing, computed):
            maps[i] = array
    return maps
