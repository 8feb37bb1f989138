"""The queries the app needs, over a connection from `catalog.open` (no caching here: the UI caches).

Every function takes the shared read-only connection and queries through its own cursor, so that
several app sessions (threads) can use one connection at once.
"""
from __future__ import annotations

import duckdb
import pandas as pd


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return con.cursor()


def layers(con) -> pd.DataFrame:
    """The layer graph in execution order: layer_id, name, kind, channels, height, width, ..."""
    return _cursor(con).execute("SELECT * FROM layers ORDER BY position").df()


def samples(con) -> pd.DataFrame:
    """One row per sample that made it into the catalog, with its top-1 prediction and correctness."""
    return _cursor(con).execute("""
        SELECT s.sample_id, s.key, s.label_idx, s.label_name, s.group_name, s.path,
               p.class_idx AS pred_idx, p.class_name AS pred_name, p.prob AS confidence,
               (p.class_idx = s.label_idx) AS correct
        FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
        ORDER BY s.sample_id""").df()


def perplexities(con) -> list[tuple[float, float]]:
    """(requested, used) t-SNE perplexities present in the catalog, by requested value."""
    rows = _cursor(con).execute("""
        SELECT DISTINCT perplexity_requested, perplexity FROM embeddings
        WHERE method = 'tsne' ORDER BY perplexity_requested""").fetchall()
    return [(float(r), float(u)) for r, u in rows]


def embedding(con, layer_id: int, method: str, perplexity_requested: float | None = None) -> pd.DataFrame:
    """sample_id, x, y (and the perplexity used) of one layer's map, by sample_id."""
    if method == "tsne":
        return _cursor(con).execute("""
            SELECT sample_id, x, y, perplexity FROM embeddings
            WHERE layer_id = ? AND method = 'tsne' AND perplexity_requested = ?
            ORDER BY sample_id""", [int(layer_id), float(perplexity_requested)]).df()
    return _cursor(con).execute("""
        SELECT sample_id, x, y, perplexity FROM embeddings
        WHERE layer_id = ? AND method = 'pca' ORDER BY sample_id""", [int(layer_id)]).df()


def top_predictions(con, sample_id: int) -> pd.DataFrame:
    """rank, class_idx, class_name, prob of one sample, most probable first."""
    return _cursor(con).execute("""
        SELECT rank, class_idx, class_name, prob FROM predictions WHERE sample_id = ? ORDER BY rank""",
                                [int(sample_id)]).df()


def image(con, sample_id: int) -> bytes | None:
    """The stored model-view JPEG of one sample."""
    row = _cursor(con).execute("SELECT image FROM images WHERE sample_id = ?", [int(sample_id)]).fetchone()
    return bytes(row[0]) if row else None


def explanations(con, sample_id: int) -> dict | None:
    """class_idx and the encoded gradcam, guided and guided_gradcam maps of one sample."""
    row = _cursor(con).execute("""
        SELECT class_idx, gradcam, guided, guided_gradcam FROM explanations WHERE sample_id = ?""",
                               [int(sample_id)]).fetchone()
    if row is None:
        return None
    return {"class_idx": int(row[0]), "gradcam": bytes(row[1]), "guided": bytes(row[2]),
            "guided_gradcam": bytes(row[3])}


def channel_stats(con, sample_id: int, layer_id: int) -> pd.DataFrame:
    """channel, mean, entropy, score of one sample at one conv-type layer (empty for vectors)."""
    return _cursor(con).execute("""
        SELECT channel, mean, entropy, score FROM channels
        WHERE sample_id = ? AND layer_id = ? ORDER BY channel""", [int(sample_id), int(layer_id)]).df()


def separability(con) -> tuple[pd.DataFrame, str]:
    """Per layer in network order: layer_id, position, name, kind, k, both accuracies, and `accuracy`,
    the one worth showing; returned with which labels that is of: 'class' or 'coarse group'.

    The class figure needs classes with 2+ samples; when no class has them (the bundled sample has one
    image per class) it says nothing, so the coarse-group figure is chosen instead.
    """
    frame = _cursor(con).execute("""
        SELECT l.layer_id, l.position, l.name, l.kind, r.k, r.knn_accuracy, r.knn_accuracy_group
        FROM separability r JOIN layers l USING (layer_id) ORDER BY l.position""").df()
    by = "class" if largest_class(con) >= 2 else "coarse group"
    frame["accuracy"] = frame["knn_accuracy"] if by == "class" else frame["knn_accuracy_group"]
    return frame, by


def largest_class(con) -> int:
    """How many samples the largest class has: at 1 (the bundled sample: one image per class) nothing
    that compares fine labels (neighbours sharing a label, k-NN accuracy, a colour per class) means
    anything, so the app falls back to coarse groups."""
    return int(_cursor(con).execute("""
        SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM samples GROUP BY label_name)""").fetchone()[0])
