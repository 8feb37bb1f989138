"""The Ray engine: the builder's one pass and reductions spread over a Ray cluster (`--engine ray`).

A thin second driver around the functions both engines share (builder/batch.py), so the catalog
means the same:
- the one pass (decode, forward, statistics, explanations) is Ray Data `map_batches` over a pool of
  actors, each loading the model once (one GPU each with `--device cuda`). An actor runs the shared
  `batches` and `one_batch` on its batch against a collector instead of the catalog writer and sends
  back the batch's rows and reduction inputs; this process writes the rows as Parquet parts of each
  per-sample table (catalog/layout.py) and the inputs into the same scratch arrays as the local engine.
- each layer's PCA, t-SNE and separability is one Ray task, the same calls as the local engine's.
- the catalog is committed by the same atomic writer, here.
A killed actor is restarted by Ray and its batches retried, each actor at most ACTOR_RESTARTS times
(Ray Data's default is forever: a node that kills every actor, out of memory say, would hang the
build); a reduction task whose worker dies is retried (Ray's default, 3 times). Past that the build
stops with one line and the previous catalog stays.
Images must be readable at the same path on every node (a shared or copied folder).
Ray is optional: this module is the only one importing it, and only when a build asks for it.
"""
from __future__ import annotations

import logging
import pickle
import socket
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa

from builder.batch import (
    BuildState,
    IdentityCheck,
    batches,
    collect,
    fused_batch_size,
    layer_info,
    layer_inputs,
    one_batch,
    prepare_one_pass,
    release_pages,
    separability,
)
from builder.config import BuildConfig
from builder.memory import GrowthLimit, freed_memory_kept
from builder.progress import ProgressFactory
from catalog import rows
from catalog.schema import TABLES
from catalog.writer import CatalogWriter
from core import explain
from core.datasets import Dataset, Sample
from core.errors import LayerScopeError
from core.layers import trace_layers
from core.models import load_model
from core.reduce import (
    InlineExecutor,
    pca_layer,
    perplexities_to_run,
    resolve_perplexities,
    tsne_maps,
)

PER_SAMPLE_TABLES = ("predictions", "channels", "images", "explanations", "thumbnails")
PART_SAMPLES = 1024  # samples per Parquet part of each per-sample table
CONNECT_TIMEOUT_S = 5
INSTALL_HINT = "--engine ray needs Ray: pip install -r requirements-ray.txt"
ACTOR_RESTARTS = 3  # per model actor, and retries per batch: enough for a lost node, not a loop
PACKAGES = ("core", "catalog", "builder")  # shipped to a cluster that was started elsewhere


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as missing:
        raise LayerScopeError(INSTALL_HINT) from missing
    return ray


def _check_reachable(address: str) -> None:
    """One line, quickly, for an address nothing listens on (ray.init would retry for minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise LayerScopeError(f"no Ray cluster answers at --ray-address {address} ({exc}); start one with "
                              "`ray start --head` or leave --ray-address out to start a local one") from exc


class RayEngine:
    """Joins (`config.ray_address`) or starts a Ray cluster for one build; `close` leaves it as found."""

    def __init__(self, config: BuildConfig, log: Callable[[str], None]):
        ray = _import_ray()
        self.ray, self.log = ray, log
        self.driver_device = "cpu"  # this process only traces layers; the actors run the model
        self.started = not ray.is_initialized()
        if self.started:
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if config.ray_address:
                _check_reachable(config.ray_address)
                root = Path(__file__).resolve().parents[1]
                options["runtime_env"] = {"py_modules": [str(root / p) for p in PACKAGES],
                                          "excludes": ["__pycache__"]}
            try:
                ray.init(address=config.ray_address, **options)
            except ConnectionError as exc:
                raise LayerScopeError(f"could not join the Ray cluster at --ray-address "
                                      f"{config.ray_address}: {exc}") from exc
        try:
            self._size(config)
        except BaseException:
            self.close()
            raise

    def _size(self, config: BuildConfig) -> None:
        ray, log = self.ray, self.log
        resources = ray.cluster_resources()
        self.gpu = config.device.startswith("cuda")
        available = int(resources.get("GPU" if self.gpu else "CPU", 0))
        if available < 1:
            raise LayerScopeError("--device cuda was asked for, but the Ray cluster has no GPU; use --device cpu"
                                  if self.gpu else "the Ray cluster offers no CPU to run the model on")
        self.actors = config.ray_actors or available
        if self.actors > available:
            log(f"ray: {self.actors} actors asked for, the cluster has {available} "
                f"{'GPUs' if self.gpu else 'CPUs'} now; the rest wait for nodes to join")
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        log(f"ray: {nodes} nodes, {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs; "
            f"{self.actors} model actors")

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()

    # --- the one pass ------------------------------------------------------------------------------

    def one_pass(self, writer: CatalogWriter, state: BuildState, config: BuildConfig,
                 progress: ProgressFactory) -> float:
        """Every batch through one of the actors; returns the stage's seconds spent explaining (the
        actors' explaining share of their busy time, so the manifest's stages still add up)."""
        ray = self.ray
        started = time.perf_counter()
        n = len(state.dataset.samples)
        prepare_one_pass(writer, state)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours below, as with the local engine
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # not a line per execution step
        items = ray.data.from_items([{"position": p} for p in range(n)])
        resources = {"num_gpus": 1, "num_cpus": 1} if self.gpu else {"num_cpus": 1}
        retries = {"max_restarts": ACTOR_RESTARTS, "max_task_retries": ACTOR_RESTARTS}
        with warnings.catch_warnings():  # Ray 2.60 (pinned) has no named parameter for these yet
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            results = items.map_batches(
                ImagePass, batch_size=fused_batch_size(state.layers, config.batch_size),
                compute=ray.data.ActorPoolStrategy(size=self.actors), batch_format="numpy",
                fn_constructor_kwargs={"config": config, "dataset": state.dataset}, **resources, **retries)
        parts = _Parts(writer)
        busy = explaining = 0.0
        bar = progress("one pass", n)
        try:
            for row in results.iter_rows():
                batch = pickle.loads(row["payload"])
                parts.add(batch["tables"], len(batch["kept"]))
                _store_features(state, batch)
                busy += batch["seconds"]
                explaining += batch["explaining"]
                bar.update(batch["read"])
        except ray.exceptions.RayError as exc:
            raise _failed("the one pass", exc) from exc
        finally:
            bar.close()
        parts.flush(final=True)
        state.kept.sort()
        order = {sample.key: position for position, sample in enumerate(state.dataset.samples)}
        state.skipped.sort(key=lambda skipped: order[skipped[0].key])
        return (time.perf_counter() - started) * explaining / busy if busy else 0.0

    # --- the reductions ----------------------------------------------------------------------------

    def reduce(self, writer: CatalogWriter, state: BuildState, config: BuildConfig,
               progress: ProgressFactory) -> dict[int, dict]:
        """One task per layer, at most two per CPU in flight (each holds its layer's inputs)."""
        ray = self.ray
        kept = np.asarray(sorted(state.kept))
        used = resolve_perplexities(tuple(config.perplexities), len(kept))
        samples = ray.put([state.dataset.samples[p] for p in kept])
        task = ray.remote(num_cpus=1)(_reduce_layer)
        limit = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        bar = progress("reduction", len(state.layers), unit="layer")
        pending: dict = {}  # ref -> layer id
        done: dict[int, tuple] = {}
        same_as: dict[int, int] = {}  # an identity layer -> the layer whose maps it shares
        try:
            identity = IdentityCheck(lambda layer_id: layer_inputs(state, layer_id, kept))
            previous_id = None
            for layer in state.layers:
                x = layer_inputs(state, layer.layer_id, kept)
                if identity.same_as_previous(layer.layer_id, x):
                    same_as[layer.layer_id] = same_as.get(previous_id, previous_id)
                    bar.update(1)
                else:
                    while len(pending) >= limit:
                        self._collect(pending, done, bar)
                    ref = task.remote(x, perplexities_to_run(used), config.seed, samples)
                    pending[ref] = layer.layer_id
                previous_id = layer.layer_id
            while pending:
                self._collect(pending, done, bar)
        finally:
            bar.close()
        info = {}
        for layer in state.layers:
            reduction, separability = done[same_as.get(layer.layer_id, layer.layer_id)]
            info[layer.layer_id] = layer_info(reduction, separability)
            writer.save_reference(layer.layer_id, reduction.reference(kept.astype(np.int32)).to_arrays())
            writer.append("embeddings", rows.embeddings(layer.layer_id, kept, reduction, used))
        return info

    def _collect(self, pending: dict, done: dict, bar) -> None:
        finished, _ = self.ray.wait(list(pending), num_returns=1)
        for ref in finished:
            try:
                done[pending.pop(ref)] = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:
                raise _failed("a layer's reduction", exc) from exc
            bar.update(1)


def _failed(stage: str, exc: Exception) -> LayerScopeError:
    """What failed on the cluster, in one line (after Ray's own retries); the full trace is chained."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, LayerScopeError):  # bad input found on a worker: its own message
        return cause
    last = next((line for line in reversed(str(exc).strip().splitlines()) if line.strip()), type(exc).__name__)
    return LayerScopeError(f"the Ray cluster failed {stage}: {last.strip()}")


def _reduce_layer(x: np.ndarray, perplexities: list[float], seed: int, samples: list[Sample]):
    """What the local engine does for one layer: PCA, single-threaded t-SNE per perplexity, separability."""
    reduction = pca_layer(x)  # in a worker the inputs are the object store's, read-only: PCA copies them
    reduction.tsne = tsne_maps(reduction.features, perplexities, seed, 1)
    return reduction, separability(reduction.features, samples)


def _store_features(state: BuildState, batch: dict) -> None:
    ids = np.asarray(batch["kept"], dtype=np.int64)
    for layer_id, features in batch["features"].items():
        state.features[layer_id][ids] = features
        release_pages(state.features[layer_id])
    state.kept.extend(batch["kept"])
    state.top1.update(batch["top1"])
    state.correct += batch["correct"]
    state.skipped.extend(batch["skipped"])


class _Parts:
    """Rows of the per-sample tables gathered into Parquet parts of about PART_SAMPLES samples."""

    def __init__(self, writer: CatalogWriter):
        self.writer = writer
        self.tables: dict[str, list[pa.Table]] = defaultdict(list)
        self.samples = 0

    def add(self, tables: dict[str, pa.Table], samples: int) -> None:
        for name, table in tables.items():
            self.tables[name].append(table)
        self.samples += samples
        if self.samples >= PART_SAMPLES:
            self.flush()

    def flush(self, final: bool = False) -> None:
        for name in PER_SAMPLE_TABLES:
            if self.tables[name]:
                self.writer.write_part(name, pa.concat_tables(self.tables[name]))
            elif final and not (self.writer.staging / name).exists():  # the table exists even if no batch had rows
                self.writer.write_part(name, TABLES[name].empty_table())
        self.tables.clear()
        self.samples = 0


class _Collector:
    """Stands in for the CatalogWriter inside an actor: keeps the batch's rows to send back."""

    def __init__(self):
        self.tables: dict[str, list[pa.Table]] = defaultdict(list)

    def append(self, name: str, rows: dict) -> None:
        self.tables[name].append(pa.table(rows, schema=TABLES[name]))

    def collected(self) -> dict[str, pa.Table]:
        return {name: pa.concat_tables(parts) for name, parts in self.tables.items()}


class _Features:
    """Stands in for a layer's scratch array inside an actor: keeps what `_store_batch` writes."""

    def __init__(self):
        self.values: np.ndarray | None = None

    def __setitem__(self, ids, values) -> None:
        self.values = np.asarray(values, dtype=np.float32)


class ImagePass:
    """A Ray Data actor: the model loaded once, then the shared batch functions (builder/batch.py) per batch."""

    def __init__(self, config: BuildConfig, dataset: Dataset):
        # the actor's process serves batches and nothing else: freed memory stays in its heap for the
        # next batch for the actor's whole life, as it does for the local engine's one pass
        self._memory = ExitStack()
        self._memory.enter_context(freed_memory_kept())
        self._heap = GrowthLimit()
        loaded = load_model(config.model, config.weights, config.device)
        layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
        self.target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
        self.state = BuildState(loaded, layers, modules, dataset)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        state = self.state
        state.features = {layer.layer_id: _Features() for layer in state.layers}
        state.kept, state.top1, state.correct, state.skipped = [], {}, 0, []
        collector = _Collector()
        loaded, read = next(batches(state, [int(p) for p in batch["position"]], len(batch["position"])))
        explaining = 0.0
        if loaded is not None:  # one batch per call: its pictures are encoded here, before it returns
            seconds, encoding = one_batch(collector, state, loaded, self.target, InlineExecutor())
            explaining = seconds + collect(collector, encoding)
        self._heap.check()
        payload = {"tables": collector.collected(), "kept": state.kept, "top1": state.top1,
                   "correct": state.correct, "read": read, "explaining": explaining,
                   "seconds": time.perf_counter() - started,
                   "skipped": state.skipped,
                   "features": {lid: sink.values for lid, sink in state.features.items() if sink.values is not None}}
        return {"payload": np.array([pickle.dumps(payload, protocol=5)], dtype=object)}
