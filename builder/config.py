"""What a build is asked to do: one dataclass, filled by the command line, the app or a test."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.paths import default_name, default_root
from core.models import DEFAULT_MODEL
from core.reduce import DEFAULT_PERPLEXITIES


@dataclass
class BuildConfig:
    model: str = DEFAULT_MODEL
    dataset: str = "sample"
    samples: int | None = None  # None: every image of the dataset
    perplexities: tuple[float, ...] = DEFAULT_PERPLEXITIES  # requested; capped per N when used
    weights: str = "default"  # default (pretrained), random (untrained) or a state-dict path
    device: str = "cpu"
    data_dir: Path | None = None  # an already downloaded Imagenette/Imagewoof archive or folder
    out: Path | None = None
    size: str = "160"
    batch_size: int = 16
    seed: int = 0
    workers: int | None = None  # layers in t-SNE at once; None: one per core
    engine: str = "local"  # local (this process) or ray (builder/ray_engine.py)
    ray_address: str | None = None  # an existing Ray cluster to join; None: start a local one
    ray_actors: int | None = None  # model copies in the Ray cluster; None: one per GPU (cuda) or CPU
    faithfulness: int = 0  # samples whose stored explanations are scored (builder/faithfulness.py)

    def target(self) -> Path:
        """The catalog folder: `out`, else catalogs/<model>-<dataset>-<N>[-weights]."""
        if self.out is not None:
            return Path(self.out)
        return default_root() / default_name(self.model, self.dataset, self.samples, self.weights)
