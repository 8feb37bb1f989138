"""The manifest: what a catalog holds and how it was made (written last, so its presence means done)."""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata

import torch

from builder.config import BuildConfig
from catalog.schema import SCHEMA_VERSION
from core.distance import METRIC as DISTANCE_METRIC
from core.faithfulness import ROAD_PERCENTILES
from core.reduce import max_perplexity, resolve_perplexities, tsne_settings
from core.separability import K as KNN_K

PACKAGES = ("torch", "torchvision", "timm", "grad-cam", "openTSNE", "scikit-learn", "numpy", "duckdb",
            "pyarrow", "pillow")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def manifest(config: BuildConfig, state) -> dict:
    """`state` is the finished build's `builder.build.BuildState`."""
    n = len(state.kept)
    used = resolve_perplexities(tuple(config.perplexities), n)
    loaded = state.loaded
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": loaded.name, "display_name": loaded.display_name, "label": loaded.label,
                  "weights": loaded.weights, "trained": loaded.trained, "preprocess": loaded.preprocess.as_dict()},
        "dataset": {"name": state.dataset.name, "source": state.dataset.source, "spec": config.dataset,
                    "requested_samples": config.samples, "seed": config.seed,
                    "classes": len(state.dataset.class_wnids)},
        "n_samples": n,
        "n_skipped": len(state.skipped),
        "skipped": [{"key": s.key, "path": str(s.path), "reason": r} for s, r in state.skipped],
        "top1_accuracy": state.correct / n if n else None,
        "n_layers": len(state.layers),
        "layers": [layer.name for layer in state.layers],
        "perplexities": {"requested": list(config.perplexities), "used": {f"{k:g}": v for k, v in used.items()},
                         "max_for_n": max_perplexity(n)},
        "tsne": dict(zip(("gradient", "iterations", "early_exaggeration_iterations"), tsne_settings(n))),
        "explanations": {"target_layer": state.target_layer},
        "faithfulness": {"samples": config.faithfulness, "percentiles": list(ROAD_PERCENTILES)},
        "separability": {"k": KNN_K, "metric": DISTANCE_METRIC},
        "stage_seconds": state.times,
        "device": config.device,
        "engine": config.engine,
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "torch_threads": torch.get_num_threads()},
        "packages": package_versions(),
    }
