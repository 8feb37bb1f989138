"""Two catalogs' layers compared on the images they share: linear CKA (core/cka.py) of every layer of
one against every layer of the other, on the per-layer PCA features each keeps in `reference/`.

Samples are matched by `key` (the image's stable id), so the catalogs may hold different subsets of
a dataset, in any order; only the shared ones count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from catalog.reader import load_reference_arrays, open_catalog
from core.cka import cka_matrix
from core.errors import CatalogError

MIN_MATCHED = 50  # fewer shared samples than this say little about a layer's geometry


@dataclass
class Comparison:
    """CKA (len(layers_a), len(layers_b)) between two catalogs' layers over `matched` shared samples."""

    matched: int
    n_a: int
    n_b: int
    layers_a: pd.DataFrame  # layer_id, name in network order
    layers_b: pd.DataFrame
    cka: np.ndarray

    def frame(self) -> pd.DataFrame:
        """Every pair: layer_a, name_a, layer_b, name_b, cka."""
        a, b = self.layers_a, self.layers_b
        return pd.DataFrame({"layer_a": np.repeat(a["layer_id"].to_numpy(np.int32), len(b)),
                             "name_a": np.repeat(a["name"].to_numpy(), len(b)),
                             "layer_b": np.tile(b["layer_id"].to_numpy(np.int32), len(a)),
                             "name_b": np.tile(b["name"].to_numpy(), len(a)),
                             "cka": self.cka.reshape(-1).astype(np.float32)})

    def best_matches(self) -> pd.DataFrame:
        """For each layer of A, the layer of B most like it: layer_a, name_a, layer_b, name_b, cka."""
        best = np.nanargmax(np.where(np.isnan(self.cka), -np.inf, self.cka), axis=1)
        return pd.DataFrame({"layer_a": self.layers_a["layer_id"].to_numpy(),
                             "name_a": self.layers_a["name"].to_numpy(),
                             "layer_b": self.layers_b["layer_id"].to_numpy()[best],
                             "name_b": self.layers_b["name"].to_numpy()[best],
                             "cka": self.cka[np.arange(len(best)), best]})


def compare_catalogs(path_a: Path, path_b: Path, min_matched: int | None = None) -> Comparison:
    """The layer-by-layer CKA of two catalogs over the samples whose keys both hold; CatalogError (one
    line) when fewer than `min_matched` (default MIN_MATCHED) are shared."""
    min_matched = MIN_MATCHED if min_matched is None else min_matched
    keys_a, layers_a = _keys_and_layers(path_a)
    keys_b, layers_b = _keys_and_layers(path_b)
    shared = sorted(keys_a.keys() & keys_b.keys())
    if len(shared) < min_matched:
        raise CatalogError(f"{Path(path_a).name} and {Path(path_b).name} share {len(shared)} samples by key; "
                           f"comparing layers needs at least {min_matched} (build both on the same dataset)")
    features_a = _features(path_a, layers_a, [keys_a[k] for k in shared])
    features_b = _features(path_b, layers_b, [keys_b[k] for k in shared])
    return Comparison(len(shared), len(keys_a), len(keys_b), layers_a, layers_b,
                      cka_matrix(features_a, features_b))


def _keys_and_layers(path: Path) -> tuple[dict[str, int], pd.DataFrame]:
    con = open_catalog(path)
    try:
        keys = dict(con.execute("SELECT key, sample_id FROM samples").fetchall())
        layers = con.execute("SELECT layer_id, name FROM layers ORDER BY position").df()
    finally:
        con.close()
    return keys, layers


def _features(path: Path, layers: pd.DataFrame, sample_ids: list[int]) -> list[np.ndarray]:
    """Each layer's PCA features of `sample_ids`, rows in that order."""
    found = []
    for layer_id in layers["layer_id"]:
        stored = load_reference_arrays(path, int(layer_id), names=("features", "sample_id"))
        row_of = {int(s): i for i, s in enumerate(stored["sample_id"])}
        # float32 as a build stores them (a compact publish keeps them as float16)
        found.append(np.asarray(stored["features"], np.float32)[[row_of[s] for s in sample_ids]])
    return found
