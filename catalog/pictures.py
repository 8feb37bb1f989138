"""The queries a map needs to draw pictures and name its clusters, over a connection from `catalog.open`.

Only the thumbnails of the points in view are asked for (`thumbnails`), so a 50,000-point map sends the
browser what it shows. Maps are named as in `catalog.queries.embedding`: layer, method, and for t-SNE
the requested perplexity (the catalog resolves it to the one used). Nothing here imports torch, so a
published catalog answers in public mode.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

_MAP = """layer_id = ? AND method = ? AND perplexity IS NOT DISTINCT FROM (
              SELECT any_value(perplexity) FROM embeddings
              WHERE layer_id = ? AND method = ? AND perplexity_requested IS NOT DISTINCT FROM ?)"""


def _map_args(layer_id: int, method: str, perplexity_requested: float | None) -> list:
    requested = None if method != "tsne" or perplexity_requested is None else float(perplexity_requested)
    return [int(layer_id), method, int(layer_id), method, requested]


def thumbnails(con, sample_ids: Iterable[int]) -> dict[int, bytes]:
    """sample_id -> its thumbnail (WebP bytes) for the given samples; ids without one are left out."""
    ids = sorted({int(i) for i in sample_ids})
    if not ids:
        return {}
    rows = con.cursor().execute("""
        SELECT t.sample_id, t.thumb FROM thumbnails t
        WHERE t.sample_id BETWEEN ? AND ? AND list_contains(?::INTEGER[], t.sample_id)""",
                                [ids[0], ids[-1], ids]).fetchall()
    return {int(sample_id): bytes(thumb) for sample_id, thumb in rows}


def clusters(con, layer_id: int, method: str, perplexity_requested: float | None = None) -> pd.DataFrame:
    """One map's clusters, largest first: cluster, label, purity (0-1), size, and x, y to draw the label at."""
    return con.cursor().execute(f"""
        SELECT cluster, label, purity, size, x, y FROM clusters WHERE {_MAP}
        ORDER BY size DESC, cluster""", _map_args(layer_id, method, perplexity_requested)).df()


def cluster_of_points(con, layer_id: int, method: str, perplexity_requested: float | None = None) -> pd.DataFrame:
    """sample_id, cluster (-1: in none) of every point of one map, by sample_id."""
    return con.cursor().execute(f"""
        SELECT sample_id, cluster FROM cluster_members WHERE {_MAP}
        ORDER BY sample_id""", _map_args(layer_id, method, perplexity_requested)).df()


def impure_clusters(con, layer_id: int, below: float = 0.5) -> pd.DataFrame:
    """The clusters of a layer's maps whose majority label holds for under `below` of their members,
    least pure first: method, perplexity (used), cluster, label, purity, size."""
    return con.cursor().execute("""
        SELECT method, perplexity, cluster, label, purity, size FROM clusters
        WHERE layer_id = ? AND purity < ? ORDER BY purity, size DESC""", [int(layer_id), float(below)]).df()
