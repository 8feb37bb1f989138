"""Per-layer dimensionality reduction: PCA to 90 % of the variance, then 2D PCA and openTSNE maps.

Every layer gets its own PCA and its own t-SNE runs. Settings that depend on the data ("auto" in
openTSNE's sense) are resolved in one place, `resolve_perplexities` and `_pca_solver`, and the
perplexity actually used is what the catalog stores and the app shows.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from core.neighbors import EXACT_LIMIT, exact_neighbors
from core.reference import LayerReference

VARIANCE_KEPT = 0.90
MAX_COMPONENTS = 50  # t-SNE's customary input size; more adds cost, not structure
DEFAULT_PERPLEXITIES = (10, 30, 90)
MIN_SAMPLES_FOR_TSNE = 4
EARLY_ITERATIONS = 125  # early exaggeration, half openTSNE's 250 (see tsne_settings)
TSNE_ITERATIONS = 150  # after the early exaggeration; openTSNE's default is 500
LARGE_TSNE = 5000  # from here on FFT gradients, below it Barnes-Hut


def max_perplexity(n: int) -> int:
    """openTSNE needs perplexity < n/3 (3 * perplexity neighbours per point)."""
    return (n - 1) // 3


def resolve_perplexities(requested: tuple[float, ...], n: int) -> dict[float, float]:
    """Requested perplexity -> the one used for n samples; empty when n is too small for t-SNE."""
    if n < MIN_SAMPLES_FOR_TSNE:
        return {}
    ceiling = max_perplexity(n)
    return {float(p): float(min(p, ceiling)) for p in requested}


@dataclass
class LayerReduction:
    """What the maps need, and what a later step needs to place a new image into them."""

    pca_mean: np.ndarray  # (D,)
    pca_components: np.ndarray  # (k, D)
    explained_variance_ratio: np.ndarray  # (k,)
    features: np.ndarray  # (N, k): the PCA coordinates, t-SNE's input and reference
    tsne: dict[float, np.ndarray] = field(default_factory=dict)  # used perplexity -> (N, 2)

    @property
    def pca2(self) -> np.ndarray:
        return self.features[:, :2]

    @property
    def variance_kept(self) -> float:
        return float(self.explained_variance_ratio.sum())

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Place new reduction inputs (M, D) into this layer's PCA space (M, k)."""
        return (vectors - self.pca_mean) @ self.pca_components.T

    def reference(self, sample_id: np.ndarray) -> LayerReference:
        """What the catalog stores of this reduction, its rows being these samples (int32)."""
        return LayerReference(self.pca_mean, self.pca_components, self.explained_variance_ratio,
                              self.features, sample_id, self.tsne)


def _pca_solver(n: int, d: int) -> str:
    return "full" if min(n, d) <= 1000 else "randomized"


def fit_pca(x: np.ndarray) -> tuple[PCA, int]:
    """Fit up to MAX_COMPONENTS components; keep the fewest (at least 2) reaching VARIANCE_KEPT."""
    pca, _, keep = _fit_transform_pca(x, overwrite=False)
    return pca, keep


def _fit_transform_pca(x: np.ndarray, overwrite: bool) -> tuple[PCA, np.ndarray, int]:
    """The fitted PCA, the coordinates of `x` on its components, and how many to keep. The
    coordinates come from the SVD itself (U S), so no centred N x D copy is made for them; with
    `overwrite` the fit centres (and then squares) `x` in place instead of in a copy."""
    n, d = x.shape
    limit = max(1, min(MAX_COMPONENTS, n, d))
    pca = PCA(n_components=limit, svd_solver=_pca_solver(n, d), random_state=0, copy=not overwrite)
    coordinates = pca.fit_transform(x)
    cumulative = np.cumsum(pca.explained_variance_ratio_)
    reached = np.flatnonzero(cumulative >= VARIANCE_KEPT - 1e-6)
    keep = int(reached[0]) + 1 if reached.size else limit
    return pca, coordinates, max(keep, min(2, limit))


def reduce_layer(x: np.ndarray, perplexities: dict[float, float], seed: int = 0,
                 n_jobs: int = 1) -> LayerReduction:
    """PCA of one layer's (N, D) reduction inputs, then t-SNE at each used perplexity."""
    reduction = pca_layer(x)
    reduction.tsne = tsne_maps(reduction.features, perplexities_to_run(perplexities), seed, n_jobs)
    return reduction


def perplexities_to_run(used: dict[float, float]) -> list[float]:
    """The distinct used perplexities of `resolve_perplexities`, largest first (the kNN graph is built
    once, for the largest)."""
    return sorted(set(used.values()), reverse=True)


def pca_layer(x: np.ndarray, overwrite: bool = False) -> LayerReduction:
    """The PCA part of a layer's reduction; its `features` are t-SNE's input. `overwrite`: `x` is the
    caller's to lose (it is centred and squared in place), which saves an N x D copy (115 MB for a
    VGG16 layer at 7000 images)."""
    x = np.asarray(x, dtype=np.float32)
    if not np.any(x != x[:1]):  # every sample identical here (a dead layer): a map of one point
        return LayerReduction(x[0].copy(), np.zeros((2, x.shape[1]), np.float32), np.zeros(2, np.float32),
                              np.zeros((len(x), 2), np.float32))
    pca, coordinates, keep = _fit_transform_pca(x, overwrite=overwrite and x.flags.writeable)
    features = coordinates[:, :keep].astype(np.float32)
    if keep < 2:  # a one-number layer still gets a 2D map
        features = np.hstack([features, np.zeros((len(x), 2 - keep), np.float32)])
    return LayerReduction(pca.mean_.astype(np.float32), pca.components_[:keep].astype(np.float32),
                          pca.explained_variance_ratio_[:keep].astype(np.float32), features)


def tsne_settings(n: int, method: str = "auto", n_iter: int | None = None,
                  early_iter: int | None = None) -> tuple[str, int, int]:
    """The gradient method, the iterations after early exaggeration, and the early-exaggeration
    iterations for n samples ("auto" and None resolved here).

    Barnes-Hut below LARGE_TSNE samples, FFT from there on (at 7000 points FFT with 250 iterations cost
    half of Barnes-Hut with 500; FFT's cost grows as the map spreads, so its later iterations are its
    dearest). At every size EARLY_ITERATIONS (125) then TSNE_ITERATIONS (150), where openTSNE's default
    is 250 then 500: with its learning rate of N/12 the maps have found their neighbourhoods by then,
    and later iterations mostly spread them (benchmarks/tsne_scale.py; docs/PERFORMANCE.md, sessions 7,
    12 and 13). Mean 10-NN preservation of the maps against longer schedules: the bundled sample's 24
    layers (400 points), 0.3500 with 150 after against 0.3513 with 250 after (session 7); four EfficientNet-Lite0
    layers at 3000 points, every layer and perplexity within 0.007 of 250 after 250, for 42 % less
    CPU; at 7000 points, four VGG16 layers: within 0.004 of 250 after 250 at perplexities 30 and 10,
    within 0.009 at 90, for 55 % less CPU (four EfficientNet-Lite0 layers: within 0.003 of 250 after 125).
    """
    if method == "auto":
        method = "bh" if n < LARGE_TSNE else "fft"
    early_iter = EARLY_ITERATIONS if early_iter is None else early_iter
    n_iter = TSNE_ITERATIONS if n_iter is None else n_iter
    return method, int(n_iter), int(early_iter)


def tsne_maps(features: np.ndarray, perplexities: list[float], seed: int, n_jobs: int,
              method: str = "auto", n_iter: int | None = None,
              early_iter: int | None = None) -> dict[float, np.ndarray]:
    """openTSNE at each perplexity, sharing one kNN graph built for the largest (descending order).

    `method` ("bh", "fft" or "auto"), `n_iter` and `early_iter` (None: the default) are resolved by
    `tsne_settings`."""
    if not perplexities:
        return {}
    from openTSNE import TSNE, initialization

    n = len(features)
    if not np.any(features != features[:1]):  # one point: nothing for t-SNE to arrange
        return {p: np.zeros((n, 2), np.float32) for p in perplexities}
    logging.getLogger("openTSNE").setLevel(logging.ERROR)
    affinities = _affinities(features, perplexities[0], seed, n_jobs)
    start = initialization.pca(features, random_state=seed)
    method, n_iter, early_iter = tsne_settings(n, method, n_iter, early_iter)
    maps = {}
    for perplexity in perplexities:
        affinities.set_perplexity(perplexity)
        tsne = TSNE(n_jobs=n_jobs, random_state=seed, negative_gradient_method=method, n_iter=n_iter,
                    early_exaggeration_iter=early_iter)
        maps[perplexity] = np.asarray(tsne.fit(affinities=affinities, initialization=start), np.float32)
    return maps


def _affinities(features: np.ndarray, perplexity: float, seed: int, n_jobs: int):
    """openTSNE's affinities for the largest perplexity, on the exact kNN graph (core/neighbors.py) up
    to EXACT_LIMIT samples, on openTSNE's approximate index beyond."""
    from openTSNE import affinity
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    n = len(features)
    if n > EXACT_LIMIT:
        return affinity.PerplexityBasedNN(features, perplexity=perplexity, n_jobs=n_jobs, random_state=seed)
    indices, distances = exact_neighbors(features, min(n - 1, int(3 * perplexity)))  # openTSNE's k
    return affinity.PerplexityBasedNN(knn_index=PrecomputedNeighbors(indices, distances),
                                      perplexity=perplexity, n_jobs=n_jobs)


class InlineExecutor(Executor):
    """Runs each job at once in this process: the one-core case, without a pool's start-up."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def tsne_pool(workers: int | None = None) -> Iterator[Executor]:
    """Layers run t-SNE side by side, one single-threaded openTSNE per core, in threads.

    openTSNE's own threads collapse when a core is busy (measured in docs/PERFORMANCE.md), while
    separate layers are independent, and its gradient kernels run without the GIL. Threads, not
    processes: a spawned process re-runs the caller's main script (a Streamlit page, for one), and
    forking after torch has started its threads is unsafe.

    While the pool runs, BLAS keeps to one thread in the whole process: the layers already fill the
    cores, and scikit-learn's nearest-neighbour search sets BLAS to one thread around its OpenMP loops
    and back afterwards, process-wide, so two layers doing so at once let one loop call a threaded
    BLAS (OpenBLAS then prints "Detect OpenMP Loop and this application may hang").
    """
    workers = available_cores() if workers is None else workers
    if workers <= 1:
        yield InlineExecutor()
        return
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers, thread_name_prefix="tsne") as pool:
        yield pool
