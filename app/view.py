"""What the Explorer shows, as one value: the URL, the session state and the data map all speak View.

A frozen dataclass so that it can be a cache key (st.cache_data hashes dataclasses by their fields)
and so that a change is always an explicit `dataclasses.replace`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

METHOD_LABELS = {"tsne": "t-SNE", "pca": "PCA"}  # the value everywhere -> what the user reads
SHOW_FILTERS = {"all": None, "correct": True, "incorrect": False}  # show -> required `correct` value


@dataclass(frozen=True)
class View:
    catalog: str  # the catalog folder's path
    layer_id: int
    method: str = "tsne"  # 'tsne' | 'pca'
    perplexity_requested: float | None = None  # t-SNE only: the value the catalog was asked for
    perplexity_used: float | None = None  # t-SNE only: the value it ran at (capped for small N)
    pinned: int | None = None
    channel: int | None = None
    colour_by: str = "class"
    show: str = "all"  # 'all' | 'correct' | 'incorrect'
    cluster_names: bool = True  # each cluster's name drawn on the map (app/cluster_names.py)
    pictures: bool = True  # visible points drawn as their thumbnails where few enough (app/map_pictures.py)

    def __post_init__(self) -> None:
        if self.method not in METHOD_LABELS:
            raise ValueError(f"method must be one of {sorted(METHOD_LABELS)}, not {self.method!r}")
        if self.show not in SHOW_FILTERS:
            raise ValueError(f"show must be one of {sorted(SHOW_FILTERS)}, not {self.show!r}")

    @property
    def catalog_name(self) -> str:
        """The name the URL uses for the catalog: its folder's name."""
        return Path(self.catalog).name
