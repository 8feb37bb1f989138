"""How faithful each explanation map is to the model, by the grad-cam package's own metrics.

For one image, one class and a set of maps (any method's, at any layer), every map is scored by
`pytorch_grad_cam.metrics` on the softmax probability of the class:

- `road_morf`: ROAD, most relevant first: the most relevant pixels (by the map) are replaced by noisy
  linear imputation; the package returns the probability change, which falls the more the map found
  what the model needs, so it is stored negated.
- `road_lerf`: ROAD, least relevant first: the least relevant pixels are imputed instead; the
  probability change (stays high when the map kept what matters).
- `road_combined`: the package's `ROADCombined`, (lerf - morf) / 2 over the same percentiles.
- `cam_mult_confidence_change`: `CamMultImageConfidenceChange`: the probability change when the
  image is multiplied by the map.

Every value is oriented so that higher means more faithful. A `random` map (uniform noise at the
layer's resolution, upscaled like the CAMs are) is scored beside them as the baseline.

The metrics are the package's classes, composed as its `ROADCombined` composes them; how they are
called is tuned for speed, since ROAD's imputation (a sparse solve per map and threshold) is most of
the cost. All maps go through each metric call as one batch. The least- and most-relevant-first
averagers run side by side in two threads (scipy's sparse solve releases the GIL). Each threshold's
imputer draws the package's noise (`ROAD_NOISE`) from a generator of its own, seeded from `seed`,
the ordering and the threshold, so the scores repeat whatever the threads' interleaving and the
caller's random state is untouched. The cyclic garbage collector is paused while the metrics run:
the package builds each system as a `lil_matrix`, one Python list per row, and with a loaded model in
the process the collections those lists trigger cost more than the solve. The unperturbed batch, the
baseline every metric call scores first, is forwarded once. Each metric forward holds the model's lock
(`core.forward`): it adds no hooks, but another run's hooks, on the model while that run holds the
lock, must never see it; the lock is taken per forward, so the imputations between forwards still run
side by side. The app scores on a twin of the shared model (`core.twins`), whose lock no other session
takes. `should_stop` is checked before every forward, and by the caller's thread while it waits for the
two averagers. `progress` counts the perturbed images (`steps`), reported from the caller's thread only
(a Streamlit page's progress bar lives there, and a Stop click interrupts the run at a report): if a report
or a stop ends the run there, the averagers stop before their next image.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager

import cv2
import numpy as np
import torch
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.metrics.perturbation_confidence import (
    AveragerAcrossThresholds,
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from core.forward import model_lock
from core.layer_cams import Cancelled, Progress, ShouldStop, as_batch

METRICS = ("road_morf", "road_lerf", "road_combined", "cam_mult_confidence_change")
RANDOM = "random"
# ROAD's thresholds (the percentage of pixels kept): each is one imputation per map for each ordering, a
# sparse solve that grows with the pixels imputed. The package's default is every tenth. On bundled
# images, 30 and 70 % separate the CAMs from their inverted maps as well as every tenth does, while 20 %
# (80 % imputed, the costliest solve) barely separates them; docs/PERFORMANCE.md has the figures.
ROAD_PERCENTILES = (30, 70)
ROAD_NOISE = NoisyLinearImputer().noise  # the package's default noise, added to each imputed pixel
ROAD_WORKERS = 2  # the least- and most-relevant-first averagers side by side
POLL_S = 0.2  # how often the caller's thread reports progress and asks `should_stop` while the averagers run


def random_map(size: tuple[int, int], layer_size: tuple[int, int] = (7, 7), seed: int = 0) -> np.ndarray:
    """Uniform noise drawn at `layer_size` (height, width), upscaled bilinearly to `size` and scaled to
    [0, 1]: a baseline as smooth as a CAM at that layer, but blind to the image."""
    noise = np.random.default_rng(seed).random(layer_size).astype(np.float32)
    height, width = size
    upscaled = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    upscaled -= upscaled.min()
    return upscaled / max(float(upscaled.max()), 1e-8)


def steps(maps: int, percentiles: Sequence[int] = ROAD_PERCENTILES) -> int:
    """The perturbed images `faithfulness` scores for `maps` maps (the random one included): each map's
    image multiplied by it, and imputed at each of ROAD's thresholds in each of its two orderings."""
    return maps * (1 + 2 * len(percentiles))


def faithfulness(model: nn.Module, image: torch.Tensor, class_idx: int, maps: dict[str, np.ndarray], *,
                 layer_size: tuple[int, int] = (7, 7), with_random: bool = True,
                 percentiles: Sequence[int] = ROAD_PERCENTILES, seed: int = 0,
                 should_stop: ShouldStop | None = None, workers: int = ROAD_WORKERS,
                 progress: Progress | None = None) -> dict[str, dict[str, float]]:
    """method -> metric -> value (higher: more faithful) for each map of `image` for `class_idx`,
    plus `random` (see `random_map`) unless `with_random` is false. `workers` 1 runs ROAD's two
    orderings one after the other (the same scores). `progress(done, total)`: perturbed images scored
    (`steps`), from the caller's thread."""
    batch = as_batch(image)
    height, width = batch.shape[-2:]
    named = dict(maps)
    if with_random:
        named[RANDOM] = random_map((height, width), layer_size, seed)
    names = list(named)
    cams = np.stack([_checked_map(named[name], (height, width), name) for name in names])
    inputs = batch.expand(len(names), -1, -1, -1).contiguous()
    targets = [ClassifierOutputSoftmaxTarget(int(class_idx)) for _ in names]
    counter = _Steps(steps(len(names), percentiles), progress)
    forward = _Forward(model, inputs, should_stop, counter)
    with torch.no_grad(), torch.random.fork_rng(devices=[]), _gc_paused():
        counter.report()
        mult = CamMultImageConfidenceChange()(inputs, cams, targets, forward)
        counter.add(len(names))
        lerf, morf = _road(inputs, cams, targets, forward, percentiles, seed, workers, counter, should_stop)
    combined = (lerf - morf) / 2  # ROADCombined's formula, from the same two averages
    return {name: {"road_morf": float(-morf[i]), "road_lerf": float(lerf[i]),
                   "road_combined": float(combined[i]), "cam_mult_confidence_change": float(mult[i])}
            for i, name in enumerate(names)}


class SeededImputer(NoisyLinearImputer):
    """The package's noisy linear imputation, its noise drawn from a generator of its own: the package
    solves the system without noise, then `noise` times standard normal noise is added to the imputed
    pixels, as the package adds it (it draws from torch's global generator, which threads share)."""

    def __init__(self, seed: int, noise: float | None = None, counter: _Steps | None = None):
        super().__init__(noise=0.0)
        self.scale = ROAD_NOISE if noise is None else noise
        self.generator = torch.Generator().manual_seed(seed)
        self.counter = counter

    def __call__(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.counter is not None:
            self.counter.check()  # a run ended by the caller's thread imputes nothing more
        infilled = super().__call__(img, mask)
        imputed = mask.reshape(-1) == 0
        flat = infilled.view(img.shape[0], -1)
        noise = torch.randn((img.shape[0], int(imputed.sum())), generator=self.generator)
        flat[:, imputed] += self.scale * noise
        if self.counter is not None:
            self.counter.add(1)
        return infilled


def road_averager(removal: type, percentiles: Sequence[int], seed: int,
                  counter: _Steps | None = None) -> AveragerAcrossThresholds:
    """The package's ROAD average over `percentiles` for one ordering (`RemoveMostRelevantFirst` or
    `RemoveLeastRelevantFirst`), as its `ROAD*RelevantFirstAverage` builds it, with seeded imputers."""
    ordering = 0 if removal is RemoveLeastRelevantFirst else 1

    def metric(percentile: int) -> PerturbationConfidenceMetric:
        imputer_seed = int(np.random.SeedSequence([seed, ordering, percentile]).generate_state(1)[0])
        return PerturbationConfidenceMetric(removal(percentile, SeededImputer(imputer_seed, counter=counter)))

    return AveragerAcrossThresholds(metric, list(percentiles))


def _road(inputs: torch.Tensor, cams: np.ndarray, targets: list, forward: Callable, percentiles: Sequence[int],
          seed: int, workers: int, counter: _Steps, should_stop: ShouldStop | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """ROAD's least- and most-relevant-first averages, in two threads unless `workers` is 1; meanwhile the
    caller's thread reports progress and asks `should_stop`, and whatever ends it there (a stop, an
    exception from the report) ends the two threads before their next image."""
    averagers = [road_averager(removal, percentiles, seed, counter)
                 for removal in (RemoveLeastRelevantFirst, RemoveMostRelevantFirst)]
    if workers <= 1:
        lerf, morf = (averager(inputs, cams, targets, forward) for averager in averagers)
        return lerf, morf
    with ThreadPoolExecutor(2, thread_name_prefix="road") as pool:
        futures = [pool.submit(averager, inputs, cams, targets, forward) for averager in averagers]
        try:
            while True:
                finished = wait(futures, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                failed = [f.exception() for f in finished.done if f.exception() is not None]
                if failed:
                    raise failed[0]
                if not finished.not_done:
                    break
                counter.report()
                if should_stop is not None and should_stop():
                    raise Cancelled("faithfulness: stopped while ROAD ran")
        except BaseException:
            counter.cancel()  # the other averager stops before its next image; the pool waits for it
            raise
        lerf, morf = (future.result() for future in futures)
    counter.report()
    return lerf, morf


class _Steps:
    """The perturbed images scored so far, counted from any thread and reported to `progress` from the
    caller's thread only; `cancel` (from the caller's thread) makes the other threads' next `check` raise."""

    def __init__(self, total: int, progress: Progress | None):
        self.total, self.progress, self.done = total, progress, 0
        self.owner = threading.current_thread()
        self.lock = threading.Lock()
        self.cancelled = threading.Event()

    def add(self, count: int) -> None:
        with self.lock:
            self.done += count
        if threading.current_thread() is self.owner:
            self.report()

    def report(self) -> None:
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def cancel(self) -> None:
        self.cancelled.set()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("faithfulness: stopped by the caller")


_gc_pauses = 0
_gc_pauses_lock = threading.Lock()
_gc_was_enabled = True


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (process-wide) until the last overlapping pause ends; reference
    counting still frees everything the metrics make."""
    global _gc_pauses, _gc_was_enabled
    with _gc_pauses_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_pauses_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _checked_map(cam: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    cam = np.asarray(cam, dtype=np.float32)
    if cam.shape != tuple(size):
        raise ValueError(f"the {name} map is {cam.shape}, the image {tuple(size)}")
    return cam


class _Forward:
    """The model as the metrics call it: asks `should_stop` before each forward, and answers the
    unperturbed batch (each metric call's baseline) from its first forward."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor, should_stop: Callable[[], bool] | None,
                 counter: _Steps | None = None):
        self.model, self.inputs, self.should_stop, self.counter = model, inputs, should_stop, counter
        self.baseline: torch.Tensor | None = None
        self.lock = threading.Lock()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x is not self.inputs:
            return self._forward(x)
        with self.lock:
            if self.baseline is None:
                self.baseline = self._forward(x)
            return self.baseline

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.counter is not None:
            self.counter.check()
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("faithfulness: stopped before the next forward")
        with model_lock(self.model), torch.no_grad():
            return self.model(x)
